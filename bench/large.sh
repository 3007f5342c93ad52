#!/usr/bin/env bash
# The large-table path against exact Ward and scikit-learn's Birch, measured side by side.
#
# 1. Honest: on sample customers (seed 42) of each --ari-sizes size, the adjusted Rand index of
#    the large-table path's 5 segments and of Birch's against exact Ward's 5 segments, and the
#    yardstick for both: exact Ward's own 5 segments of the table without every 1,000th customer
#    (0.1 %), against its segments of the whole table on the customers both have.
# 2. A million: `segmentiq cluster` end to end (default settings and --no-k-sweep) against the
#    Python Birch pipeline (bench/birch_pipeline.py), wall time and peak RSS from /usr/bin/time -v.
#
# Usage: [SEGMENTIQ=binary] bench/large.sh [--ari-sizes "100000 200000"] [--rows 1000000]
# Exact Ward at 200,000 rows takes several minutes (its exact silhouette is O(n²)).
set -euo pipefail
cd "$(dirname "$0")/.."
ari_sizes="100000 200000"
big=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --ari-sizes) ari_sizes="$2"; shift 2 ;;
    --rows) big="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/common.sh
. bench/common.sh
python_env
# SEGMENTIQ=path/to/segmentiq uses that binary instead of building one.
bin="${SEGMENTIQ:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin segmentiq
  bin="${CARGO_TARGET_DIR:-target}/release/segmentiq"
fi
out=bench/out/large
mkdir -p "$out"


# Runs a command under /usr/bin/time -v; prints "seconds peak_MiB".
measure() {
  local log="$1"; shift
  /usr/bin/time -v "$@" 2>"$log" >/dev/null
  echo "$(wall "$log") $(peak "$log")"
}

echo "## Agreement with exact Ward (5 segments, sample customers, seed 42)"
echo
echo "| rows | large-table path vs exact | Birch vs exact | large-table path / Birch | exact without 0.1 % of rows vs exact |"
echo "|---|---|---|---|---|"
for n in $ari_sizes; do
  csv="$out/customers_$n.csv"
  [ -s "$csv" ] || "$bin" sample-data --rows "$n" --seed 42 --out "$csv"
  "$bin" cluster "$csv" --clusters 5 --no-k-sweep --max-exact-rows "$n" \
    --out "$out/exact_$n" 2>"$out/exact_$n.log"
  "$bin" cluster "$csv" --clusters 5 --no-k-sweep --max-exact-rows $((n / 2)) \
    --out "$out/large_$n" 2>"$out/large_$n.log"
  "$py" bench/birch_pipeline.py "$csv" --clusters 5 --labels "$out/birch_$n.txt" >"$out/birch_$n.log" 2>&1
  ours=$("$py" bench/large.py ari "$out/exact_$n/assignments.csv" "$out/large_$n/assignments.csv")
  theirs=$("$py" bench/large.py ari "$out/exact_$n/assignments.csv" "$out/birch_$n.txt")
  "$py" bench/large.py thin "$csv" 1000 "$out/thinned_$n.csv"
  "$bin" cluster "$out/thinned_$n.csv" --clusters 5 --no-k-sweep --max-exact-rows "$n" \
    --out "$out/exact_thinned_$n" 2>"$out/exact_thinned_$n.log"
  itself=$("$py" bench/large.py ari-thinned "$out/exact_$n/assignments.csv" \
    "$out/exact_thinned_$n/assignments.csv" 1000)
  echo "| $n | $ours | $theirs | $(ratio "$ours" "$theirs")x | $itself |"
done
echo

csv="$out/customers_$big.csv"
[ -s "$csv" ] || "$bin" sample-data --rows "$big" --seed 42 --out "$csv"
read -r py_s py_mib < <(measure "$out/time_birch_$big.log" "$py" bench/birch_pipeline.py "$csv" --clusters 5 --labels "$out/birch_$big.txt")
read -r our_s our_mib < <(measure "$out/time_segmentiq_$big.log" "$bin" cluster "$csv" --clusters 5 --out "$out/large_$big")
read -r lean_s lean_mib < <(measure "$out/time_segmentiq_nosweep_$big.log" "$bin" cluster "$csv" --clusters 5 --no-k-sweep --out "$out/large_nosweep_$big")
ari_big=$("$py" bench/large.py ari "$out/large_$big/assignments.csv" "$out/birch_$big.txt")
echo "## $big rows end to end (one run, side by side)"
echo
echo "| pipeline | seconds | peak RSS MiB | time / Birch pipeline |"
echo "|---|---|---|---|"
echo "| Python: pandas + preprocessing + Birch + silhouette_score(sample_size=10000) | $py_s | $py_mib | 1.00 |"
echo "| segmentiq cluster --clusters 5 (k sweep on, the default) | $our_s | $our_mib | $(ratio "$our_s" "$py_s") |"
echo "| segmentiq cluster --clusters 5 --no-k-sweep | $lean_s | $lean_mib | $(ratio "$lean_s" "$py_s") |"
echo
echo "Adjusted Rand index of SegmentIQ's and Birch's segments at $big rows: $ari_big"
echo "SegmentIQ's own account of the run:"
grep -E "approximate|silhouette|^  [a-z_]+ +[0-9.]+ s" "$out/time_segmentiq_$big.log" || true
