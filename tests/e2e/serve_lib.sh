# serve_lib.sh: the setup the cfx-serve end-to-end tests share, sourced by
# them right after `set -eEuo pipefail` (not a test itself: ctest runs only
# *_test.sh). It gives a temporary folder T (removed on exit, with every
# process in PIDS killed first), PY (Debian's python3, which has grpcio),
# fail MESSAGE (prints it and the end of $T/serve.log, exits 1; an ERR trap
# names the failing line), and the taxi data prepared once:
#   taxi_data                       examples in $T/ex, transformed in $T/tf
#   taxi_train OUT STEPS EVALS SEED a bundle at OUT/model from a short run
: "${CFX:?}" "${CFX_SERVE:?}" "${CFX_SOURCE_DIR:?}"
PY=/usr/bin/python3
T=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND (exit status $?)" >&2' ERR
fail() {
    echo "FAIL: $*" >&2
    [ -f "$T/serve.log" ] && tail -"${FAIL_LOG_LINES:-20}" "$T/serve.log" >&2
    exit 1
}

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
