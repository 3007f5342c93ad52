#!/usr/bin/env bash
# Service throughput: times a 100,000-row upload (parse + profile + batched row inserts) and a
# Ward run's assignment write against the local PostgreSQL, and prints rows per second.
#
#   bench/service.sh [ROWS]        (default 100000; needs PostgreSQL on localhost:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
ADMIN_URL=${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
DB="segmentiq_bench_$$"
OUT=$(mktemp -d)
cargo build --release --bin segmentiq -q
BIN=${CARGO_TARGET_DIR:-target}/release/segmentiq
"$BIN" sample-data --rows "$ROWS" --seed 11 --out "$OUT/customers.csv"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="$ADMIN_URL/$DB" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=segmentiq=info \
  "$BIN" serve >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; psql "$ADMIN_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

size=$(stat -c %s "$OUT/customers.csv")
start=$(date +%s.%N)
id=$(curl -fsS -F "file=@$OUT/customers.csv" "http://127.0.0.1:$PORT/api/v1/datasets/upload" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
end=$(date +%s.%N)
upload=$(python3 -c "print(f'{$end - $start:.2f}')")

curl -fsS -H 'Content-Type: application/json' -d "{\"dataset_id\": $id, \"linkage\": \"ward\", \"n_clusters\": 4}" \
  "http://127.0.0.1:$PORT/api/v1/clustering/train?wait=600" >"$OUT/run.json"

python3 - "$OUT/server.log" "$ROWS" "$size" "$upload" "$OUT/run.json" <<'PY'
import json, re, sys
log, rows, size, upload, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
text = open(log).read()
def field(message, name):
    for line in text.splitlines():
        if message in line:
            m = re.search(name + r"=([0-9.e+-]+)", line)
            if m:
                return float(m.group(1))
    return float("nan")
stored = field("stored dataset", "seconds")
assigned = field("stored results and assignments", "seconds")
timings = json.load(open(run)).get("timings") or []
print(f"rows: {rows}   file: {size / 2**20:.1f} MiB")
print(f"upload, end to end (HTTP, parse, profile, insert): {upload:6.2f} s  {rows / upload:10.0f} rows/s")
print(f"  of which the row inserts (one transaction):      {stored:6.2f} s  {rows / stored:10.0f} rows/s")
print(f"assignment write (one transaction with the status): {assigned:6.2f} s  {rows / assigned:10.0f} rows/s")
for t in timings:
    print(f"  engine {t['stage']:<14} {t['seconds']:7.2f} s")
PY
