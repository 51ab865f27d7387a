#!/usr/bin/env bash
# quality_compare.sh: cfx's two model types against scikit-learn on the taxi
# data, same split, same label, one run.
#
#   bench/quality_compare.sh [BUILD_DIR] [TRAINER_JSON]
#       (defaults: build, examples/taxi/trainer.json)
#
# examplegen splits examples/taxi/data.csv as the taxi pipeline does (TFX's
# hash of each serialized example, train:2,eval:1; docs/data.md) and
# transform applies examples/taxi/transform.json. Then, trained on
# Split-train only and measured on Split-eval:
#   cfx wide_deep   TRAINER_JSON with "model": "wide_deep"
#   cfx gbt         TRAINER_JSON with "model": "gbt"
#   scikit-learn    HistGradientBoosting and LogisticRegression, each tuned
#                   by 5-fold cross-validation on the train rows
#                   (bench/quality_compare.py, on the same rows, read from
#                   the same split files)
# and prints AUC, log loss, accuracy and ECE (10 bins) per model. Nothing is
# chosen on the eval split. Needs Debian's python3-sklearn (/usr/bin/python3).
# Results go to docs/BENCHMARKS.md ("## Model quality") by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
CONFIG=${2:-$ROOT/examples/taxi/trainer.json}
CFX=$BUILD/cfx
[ -x "$CFX" ] || { echo "no $CFX: build first (cmake --build $BUILD)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cfx-quality.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/examples" >/dev/null
"$CFX" transform --examples "$T/examples" --spec "$ROOT/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
args=()
for m in wide_deep gbt; do
    /usr/bin/python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); c["model"] = sys.argv[2]
json.dump(c, open(sys.argv[3], "w"))' "$CONFIG" "$m" "$T/$m.json"
    "$CFX" train --quiet --examples "$T/xf/transformed_examples" \
        --transform-graph "$T/xf/transform_graph" --config "$T/$m.json" \
        --output "$T/$m" 2>/dev/null | head -1 | sed "s/^/cfx $m: /"
    "$CFX" predict --bundle "$T/$m/model" --input "$T/xf/transformed_examples/Split-eval" \
        --transformed --output "$T/$m.csv" 2>/dev/null
    args+=("cfx $m=$T/$m.csv")
done
/usr/bin/python3 "$ROOT/bench/quality_compare.py" "$T/examples" "$T/xf/transformed_examples" \
    "${args[@]}"
