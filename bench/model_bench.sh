#!/usr/bin/env bash
# model_bench.sh: training and inference speed of the taxi model.
#
#   bench/model_bench.sh [BUILD_DIR]     (default: build)
#
# Builds the taxi bundle from examples/taxi/data.csv (examplegen, transform,
# train with examples/taxi/trainer.json: 10,000 steps x 40), then times
# inference over the raw eval rows with `cfx predict --benchmark`: one
# example per call, batches of 256, and a plain reference loop (transform +
# textbook forward) measured in the same run on the same machine. Times are
# this thread's CPU time, so a busy shared machine skews them less.
# Results go to docs/BENCHMARKS.md ("## Model") by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
CFX=$BUILD/cfx
[ -x "$CFX" ] || { echo "no $CFX: build first (cmake --build $BUILD)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cfx-model-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/examples" >/dev/null
"$CFX" transform --examples "$T/examples" --spec "$ROOT/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
echo "== train (examples/taxi/trainer.json)"
/usr/bin/time -f "wall %e s, user %U s, max RSS %M KB" \
    "$CFX" train --quiet --examples "$T/xf/transformed_examples" \
    --transform-graph "$T/xf/transform_graph" --config "$ROOT/examples/taxi/trainer.json" \
    --raw-examples "$T/examples" --output "$T/run"
echo "== inference over the raw eval split ($(nproc) cores, $(uname -m))"
"$CFX" predict --bundle "$T/run/model" --input "$T/examples/Split-eval" --benchmark "${BENCH_SECONDS:-2}"
echo "== the network alone over the transformed eval split"
"$CFX" predict --bundle "$T/run/model" --input "$T/xf/transformed_examples/Split-eval" \
    --transformed --benchmark "${BENCH_SECONDS:-2}"
