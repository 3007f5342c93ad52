#!/usr/bin/env bash
# The service at a million customers: one release server against the local PostgreSQL, timed
# and measured phase by phase (upload, run, CSV export, every assignment paged over GraphQL),
# with the server's peak memory per phase, and the two bulk writes set beside `psql \copy` of
# the same rows into an equivalent table, in the same run.
#
#   bench/service.sh [ROWS]        (default 1000000; needs PostgreSQL on localhost:5432, psql)
#
# Peak memory is the server process's VmHWM, reset before each phase (clear_refs 5), so each
# phase's figure is its own.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
ADMIN_URL=${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
DB="segmentiq_bench_$$"
OUT=$(mktemp -d)
cargo build --release --bin segmentiq -q
BIN=${CARGO_TARGET_DIR:-target}/release/segmentiq
"$BIN" sample-data --rows "$ROWS" --seed 11 --out "$OUT/customers.csv"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
DATABASE_URL="$ADMIN_URL/$DB" BIND_ADDR="127.0.0.1:$PORT" RUST_LOG=segmentiq=info \
  "$BIN" serve >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; psql "$ADMIN_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 1 100); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

now() { date +%s.%N; }
peak_reset() { echo 5 >"/proc/$PID/clear_refs"; }
peak() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }  # KiB
echo "phase seconds peak_kib" >"$OUT/phases"
phase() { echo "$1 $(python3 -c "print(f'{$3 - $2:.2f}')") $(peak)" >>"$OUT/phases"; }

peak_reset; t0=$(now)
id=$(curl -fsS -F "file=@$OUT/customers.csv" "$URL/api/v1/datasets/upload" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
phase upload "$t0" "$(now)"

peak_reset; t0=$(now)
curl -fsS -H 'Content-Type: application/json' \
  -d "{\"dataset_id\": $id, \"linkage\": \"ward\", \"n_clusters\": 5}" \
  "$URL/api/v1/clustering/train?wait=3600" >"$OUT/run.json"
phase run "$t0" "$(now)"
run=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["status"]=="succeeded", r; print(r["id"])' "$OUT/run.json")

peak_reset; t0=$(now)
curl -fsS "$URL/api/v1/clustering/runs/$run/assignments.csv" -o "$OUT/assignments.csv"
phase export_csv "$t0" "$(now)"

peak_reset; t0=$(now)
python3 - "$URL" "$run" "$ROWS" <<'PY'
import json, sys, urllib.request
url, run, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
query = """query($run: ID!, $after: String) {
  assignments(runId: $run, first: 1000, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { rowIndex cluster } } } }"""
after, seen = None, 0
while True:
    body = json.dumps({"query": query, "variables": {"run": run, "after": after}}).encode()
    req = urllib.request.Request(url + "/graphql", body, {"Content-Type": "application/json"})
    page = json.load(urllib.request.urlopen(req))["data"]["assignments"]
    seen += len(page["edges"])
    if not page["pageInfo"]["hasNextPage"]:
        break
    after = page["pageInfo"]["endCursor"]
assert seen == rows, (seen, rows)
PY
phase graphql_pages "$t0" "$(now)"

# The run's customers page, sorted by a column: the one view that orders every row's payload.
peak_reset; t0=$(now)
curl -fsS "$URL/runs/$run/customers?sort=column:total_spend&dir=desc" -o /dev/null
phase customers_page_sorted "$t0" "$(now)"

# The references: psql \copy of the very rows the server stored, into tables equivalent to the
# server's (same columns, keys, indexes and foreign keys: LIKE ... INCLUDING ALL plus the foreign
# key), and into bare tables with only the primary key, to show what the keys cost.
psql -q "$ADMIN_URL/$DB" <<SQL
\copy (SELECT dataset_id, row_index, payload FROM dataset_rows WHERE dataset_id = $id) TO '$OUT/rows.tsv'
\copy (SELECT run_id, row_index, cluster_label, silhouette FROM cluster_assignments WHERE run_id = $run) TO '$OUT/assignments.tsv'
CREATE TABLE bench_rows (LIKE dataset_rows INCLUDING ALL,
  FOREIGN KEY (dataset_id) REFERENCES datasets (id) ON DELETE CASCADE);
CREATE TABLE bench_assignments (LIKE cluster_assignments INCLUDING ALL,
  FOREIGN KEY (run_id) REFERENCES clustering_runs (id) ON DELETE CASCADE);
CREATE TABLE bare_rows (dataset_id BIGINT, row_index INTEGER, payload JSONB NOT NULL,
  PRIMARY KEY (dataset_id, row_index));
CREATE TABLE bare_assignments (run_id BIGINT, row_index INTEGER, cluster_label INTEGER NOT NULL,
  silhouette DOUBLE PRECISION, PRIMARY KEY (run_id, row_index));
SQL
reference() {
  local t0 t1
  t0=$(now); psql -q "$ADMIN_URL/$DB" -c "\\copy $2 FROM '$3'"; t1=$(now)
  echo "$1 $(python3 -c "print(f'{$t1 - $t0:.2f}')") -" >>"$OUT/phases"
}
reference psql_copy_rows bench_rows "$OUT/rows.tsv"
reference psql_copy_assignments bench_assignments "$OUT/assignments.tsv"
reference psql_copy_rows_bare bare_rows "$OUT/rows.tsv"
reference psql_copy_assignments_bare bare_assignments "$OUT/assignments.tsv"

python3 - "$OUT/phases" "$OUT/server.log" "$ROWS" "$(stat -c %s "$OUT/customers.csv")" "$OUT/run.json" <<'PY'
import json, re, sys
phases_file, log, rows, size, run = sys.argv[1:6]
rows, size = int(rows), int(size)
phases = {}
for line in open(phases_file).read().splitlines()[1:]:
    name, seconds, peak = line.split()
    phases[name] = (float(seconds), None if peak == "-" else int(peak) / 1024)
text = open(log).read()
def logged(message, name):
    for line in text.splitlines():
        if message in line:
            m = re.search(name + r"=([0-9.e+-]+)", line)
            if m:
                return float(m.group(1))
    return float("nan")
stored = logged("stored dataset", "seconds")
assigned = logged("stored results and assignments", "seconds")
print(f"rows: {rows}   file: {size / 2**20:.1f} MiB")
print(f"{'phase':<34} {'seconds':>8} {'peak MiB':>9}")
for name, (seconds, peak) in phases.items():
    print(f"{name:<34} {seconds:8.2f} {'' if peak is None else f'{peak:9.0f}'}")
print(f"server peak over every phase: {max(p for _, p in phases.values() if p):.0f} MiB")
print(f"upload, database part (insert + COPY, one transaction): {stored:.2f} s")
print(f"assignments, database part (status + COPY):            {assigned:.2f} s")
rows_ref, assign_ref = phases["psql_copy_rows"][0], phases["psql_copy_assignments"][0]
print("ratios to psql \\copy of the same rows into an equivalent table (and into a bare one):")
rows_bare = phases["psql_copy_rows_bare"][0]
assign_bare = phases["psql_copy_assignments_bare"][0]
print(f"  upload end to end:            {phases['upload'][0] / rows_ref:5.2f}  ({phases['upload'][0] / rows_bare:.2f})")
print(f"  upload, database part:        {stored / rows_ref:5.2f}  ({stored / rows_bare:.2f})")
print(f"  assignment write:             {assigned / assign_ref:5.2f}  ({assigned / assign_bare:.2f})")
for t in json.load(open(run)).get("timings") or []:
    print(f"  engine {t['stage']:<14} {t['seconds']:7.2f} s")
PY
