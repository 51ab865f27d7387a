# serve_lib.sh: the setup the cfx-serve end-to-end tests share, sourced by
# them right after `set -eEuo pipefail` (not a test itself: ctest runs only
# *_test.sh). On top of lib.sh (T, PIDS, fail, PY) it adds an ERR trap that
# names the failing line, and the taxi data prepared once:
#   taxi_data                       examples in $T/ex, transformed in $T/tf
#   taxi_train OUT STEPS EVALS SEED a bundle at OUT/model from a short run
: "${CFX:?}" "${CFX_SERVE:?}" "${CFX_SOURCE_DIR:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND (exit status $?)" >&2' ERR

taxi_data() {
    "$CFX" examplegen --input "$CFX_SOURCE_DIR/examples/taxi/data.csv" --output "$T/ex" >/dev/null
    "$CFX" transform --examples "$T/ex" --spec "$CFX_SOURCE_DIR/examples/taxi/transform.json" \
        --output "$T/tf" >/dev/null
}

taxi_train() {
    local out=$1 steps=$2 evals=$3 seed=$4
    echo "{\"model_name\": \"taxi\", \"train_steps\": $steps, \"eval_steps\": $evals, \"seed\": $seed}" \
        >"$out.trainer.json"
    "$CFX" train --examples "$T/tf/transformed_examples" --transform-graph "$T/tf/transform_graph" \
        --config "$out.trainer.json" --raw-examples "$T/ex" --output "$out" --quiet >/dev/null
}
