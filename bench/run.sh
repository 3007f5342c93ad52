#!/usr/bin/env bash
# Compares SegmentIQ's numeric core with scipy, fastcluster and scikit-learn on the same data.
# Usage: bench/run.sh [--sizes 10000 40000] [--methods ward single average complete]
#                     [--data blobs|customers]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh
python_env
cargo build --release --example time_linkage --bin segmentiq
target="${CARGO_TARGET_DIR:-target}"
"$venv/bin/python" bench/compare.py --binary "$target/release/examples/time_linkage" \
  --segmentiq "$target/release/segmentiq" "$@"
