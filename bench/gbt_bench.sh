#!/usr/bin/env bash
# gbt_bench.sh: inference time of the taxi gbt model, cfx's tree evaluator
# against XGBoost's own predictor on the same trees, in one run.
#
#   bench/gbt_bench.sh [BUILD_DIR] [TRAINER_JSON]
#       (defaults: build, examples/taxi/trainer.json; BENCH_SECONDS=2 per
#        measurement)
#
# Builds the taxi transformed examples (examplegen, transform), then
#  1. cfx-trees-bench (bench/trees_bench.c): trains the config's trees as
#     `cfx train` does and times cfx_trees_predict_rows against
#     XGBoosterPredictFromDense (XGBoost on one thread) over the eval rows,
#     one row per call and all rows in one call, and prints the largest
#     margin difference;
#  2. `cfx train` + `cfx predict --benchmark` over the raw eval rows: what a
#     served request costs (transform + trees), against the reference walk.
# Times are CPU time. Results go to docs/BENCHMARKS.md ("## Trees") by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
CONFIG=${2:-$ROOT/examples/taxi/trainer.json}
CFX=$BUILD/cfx
BENCH=$BUILD/cfx-trees-bench
for b in "$CFX" "$BENCH"; do
  [ -x "$b" ] || { echo "no $b: build first (cmake --build $BUILD)" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/cfx-gbt-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
S=${BENCH_SECONDS:-2}

"$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/examples" >/dev/null
"$CFX" transform --examples "$T/examples" --spec "$ROOT/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
echo "== cfx's evaluator vs XGBoost's predictor ($(nproc) cores, $(uname -m))"
"$BENCH" "$T/xf/transformed_examples" "$T/xf/transform_graph" "$CONFIG" "$S"
echo "== cfx train + cfx predict --benchmark over the raw eval split"
"$CFX" train --quiet --examples "$T/xf/transformed_examples" \
    --transform-graph "$T/xf/transform_graph" --config "$CONFIG" \
    --raw-examples "$T/examples" --output "$T/run"
"$CFX" predict --bundle "$T/run/model" --input "$T/examples/Split-eval" --benchmark "$S"
