#!/usr/bin/env bash
# Exact Ward as a whole process against pandas + fastcluster.linkage_vector + scikit-learn's
# exact silhouette, on one numeric table, in one run (issue 13's goal: SegmentIQ <= 0.3x).
# Usage: bench/ward40k.sh [--rows 40000] [--clusters 4]
#
# The table is bench/compare.py's blobs (seeded points around 8 centres in 12 features) written
# once to a CSV; SegmentIQ runs `segmentiq cluster` on it (everything included: k sweep,
# profiles, charts), Python runs bench/fastcluster_pipeline.py, each under /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=40000
clusters=4
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --clusters) clusters="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/common.sh
. bench/common.sh
python_env
cargo build --release --bin segmentiq
segmentiq="${CARGO_TARGET_DIR:-target}/release/segmentiq"

out=bench/out/ward_$rows
mkdir -p "$out"
table="$out/blobs.csv"
"$venv/bin/python" - "$rows" "$table" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "bench")
from compare import FEATURES, customers
rows, path = int(sys.argv[1]), sys.argv[2]
np.savetxt(path, customers(rows), delimiter=",", fmt="%.17g",
           header=",".join(f"f{i}" for i in range(FEATURES)), comments="")
PY

/usr/bin/time -v "$segmentiq" cluster "$table" --linkage ward --clusters "$clusters" \
  --out "$out/segmentiq" 2> "$out/segmentiq.stderr"
sed -n '/^timings:/,/total/p' "$out/segmentiq.stderr" | sed 's/^/segmentiq: /'
grep -o 'silhouette [0-9.]*' "$out/segmentiq.stderr" | head -1 | sed 's/^/segmentiq: /'
/usr/bin/time -v "$venv/bin/python" bench/fastcluster_pipeline.py "$table" --clusters "$clusters" \
  > "$out/python.stdout" 2> "$out/python.stderr"
sed 's/^/python: /' "$out/python.stdout"

ours=$(wall "$out/segmentiq.stderr")
theirs=$(wall "$out/python.stderr")
echo "| rows | segmentiq cluster | peak | pandas + fastcluster + silhouette_score | peak | segmentiq / python |"
printf '| %s | %s s (%s s CPU) | %s MiB | %s s (%s s CPU) | %s MiB | %s |\n' "$rows" \
  "$ours" "$(cpu "$out/segmentiq.stderr")" "$(peak "$out/segmentiq.stderr")" \
  "$theirs" "$(cpu "$out/python.stderr")" "$(peak "$out/python.stderr")" "$(ratio "$ours" "$theirs")"
