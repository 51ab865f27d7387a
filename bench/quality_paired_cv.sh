#!/usr/bin/env bash
# quality_paired_cv.sh: cfx's taxi model against the tuned
# HistGradientBoosting recipe, fold by fold on the train split
# (bench/quality_paired_cv.py says what is compared and printed).
#
#   bench/quality_paired_cv.sh [BUILD_DIR] [TRAINER_JSON] [PARTITIONS]
#       (defaults: build, examples/taxi/trainer.json, 3: 15 folds)
#
# Needs Debian's python3-sklearn (/usr/bin/python3). Results go to
# docs/BENCHMARKS.md ("## Model quality") by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
CONFIG=${2:-$ROOT/examples/taxi/trainer.json}
PARTS=${3:-3}
CFX=$BUILD/cfx
[ -x "$CFX" ] || { echo "no $CFX: build first (cmake --build $BUILD)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cfx-paired.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/examples" >/dev/null
"$CFX" transform --examples "$T/examples" --spec "$ROOT/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
/usr/bin/python3 "$ROOT/bench/quality_paired_cv.py" "$CFX" "$CONFIG" "$T/examples" "$T/xf" \
    "$T" "$PARTS"
