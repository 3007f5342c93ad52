#!/usr/bin/env bash
# Exact Ward end to end against the Python Birch pipeline, on one table, in one run.
# Usage: bench/exact.sh [--rows 100000] [--clusters 5] [--seed 42] [--before BINARY]
#
# Times `segmentiq cluster` (release build, exact Ward) and bench/birch_pipeline.py (pandas +
# Birch(threshold=1.0, n_clusters=AgglomerativeClustering(k, linkage="ward")) + silhouette_score
# on a 10,000-row sample) on the same `segmentiq sample-data` table, each as a whole process
# under /usr/bin/time -v, and prints both wall times, peak memory and the ratio. The goal:
# SegmentIQ / Birch <= 2 at 100,000 rows. `--before` also times another segmentiq binary
# (say, a release build of an earlier commit) on the same table, for before/after figures.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=100000
clusters=5
seed=42
before=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --clusters) clusters="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --before) before="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/common.sh
. bench/common.sh
python_env
# The same targets as bench/run.sh, so the two scripts share one build.
cargo build --release --example time_linkage --bin segmentiq
target="${CARGO_TARGET_DIR:-target}"
segmentiq="$target/release/segmentiq"

out=bench/out/large_$rows
mkdir -p "$out"
table="$out/customers.csv"
"$segmentiq" sample-data --rows "$rows" --seed "$seed" --out "$table"


echo "# $(lscpu | awk -F': *' '/Model name/ { print $2 }'), $(nproc) cores;" \
  "$("$venv/bin/python" -c 'import sklearn, pandas; print("scikit-learn", sklearn.__version__, "pandas", pandas.__version__)');" \
  "$rows rows, $clusters segments, seed $seed"

# Runs a segmentiq binary on the table; its report goes to $out/$2.stderr.
cluster() {
  /usr/bin/time -v "$1" cluster "$table" --linkage ward --clusters "$clusters" \
    --out "$out/$2" 2> "$out/$2.stderr"
  sed -n '/^timings:/,/total/p' "$out/$2.stderr" | sed "s/^/$2: /"
}
if [ -n "$before" ]; then cluster "$before" before; fi
cluster "$segmentiq" segmentiq

/usr/bin/time -v "$venv/bin/python" bench/birch_pipeline.py "$table" --clusters "$clusters" \
  > "$out/birch.stdout" 2> "$out/birch.stderr"
sed 's/^/birch: /' "$out/birch.stdout"

ours=$(wall "$out/segmentiq.stderr")
theirs=$(wall "$out/birch.stderr")
if [ -n "$before" ]; then
  printf 'before: %s s (%s s of CPU), %s MiB, %s x the Birch pipeline\n' \
    "$(wall "$out/before.stderr")" "$(cpu "$out/before.stderr")" "$(peak "$out/before.stderr")" \
    "$(ratio "$(wall "$out/before.stderr")" "$theirs")"
fi
printf '| %s | %s s (%s s CPU) | %s MiB | %s s (%s s CPU) | %s MiB | %s |\n' "$rows" \
  "$ours" "$(cpu "$out/segmentiq.stderr")" "$(peak "$out/segmentiq.stderr")" \
  "$theirs" "$(cpu "$out/birch.stderr")" "$(peak "$out/birch.stderr")" \
  "$(ratio "$ours" "$theirs")"
echo "(rows | segmentiq cluster, exact Ward | peak | Birch pipeline | peak | segmentiq / Birch, wall)"
