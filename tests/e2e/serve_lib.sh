# serve_lib.sh: the setup the cfx-serve end-to-end tests share, sourced by
# them right after `set -eEuo pipefail` (not a test itself: ctest runs only
# *_test.sh). On top of lib.sh (T, PIDS, fail, PY) it adds an ERR trap that
# names the failing line, and the taxi data prepared once:
#   taxi_data                       examples in $T/ex, transformed in $T/tf
#   taxi_train OUT STEPS EVALS SEED a bundle at OUT/model from a short run
#   taxi_model STEPS EVALS SEED     taxi_data, taxi_train $T/train, and that
#                                   bundle as version 1 of $T/models/taxi
#   serve_start LOG ARGS...         cfx-serve --port=0 --rest_api_port=auto
#                                   ARGS..., stdout and stderr to LOG (an
#                                   earlier LOG is moved to LOG.old first, so
#                                   no port is read from it); sets SPID, also
#                                   added to PIDS
#   serve_ports LOG PID [SECONDS]   waits (30 s unless told) until LOG names
#                                   the REST port; sets RPORT, and GPORT from
#                                   the gRPC line logged before it; fails at
#                                   once if PID exits
# With U the base URL of a server of the model taxi (these print what they
# read; the request loop and the log are $T/codes and $T/serve.log):
#   served                          the version metadata names
#   state_of VERSION                the state of that version
#   metric NAME [LABELS]            :cfx:serving:NAME{model_name="taxi"LABELS}
#   count PATTERN                   the lines of $T/serve.log that match
#   wait_served VERSION SECONDS     waits until metadata names VERSION;
#                                   prints the wait ("N ms")
#   predict_loop BODY               :predict of the file BODY in a loop,
#                                   one status code a line to $T/codes until
#                                   $T/stop exists; sets LPID
#   codes_ok WHEN                   fails unless every code so far is 200
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

taxi_model() {
    taxi_data
    taxi_train "$T/train" "$@"
    mkdir -p "$T/models/taxi"
    cp -r "$T/train/model" "$T/models/taxi/.1.tmp"
    mv "$T/models/taxi/.1.tmp" "$T/models/taxi/1"
}

serve_start() {
    local log=$1
    shift
    [ -e "$log" ] && mv "$log" "$log.old"
    "$CFX_SERVE" --port=0 --rest_api_port=auto "$@" >"$log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
}

serve_ports() {
    local log=$1 pid=$2 i
    RPORT= GPORT=
    for ((i = 0; i < ${3:-30} * 20; i++)); do
        # the shell that runs the server may not have created LOG yet
        RPORT=$(sed -n 's/.*Exporting HTTP\/REST API at:localhost:\([0-9]*\) .*/\1/p' "$log" 2>/dev/null || true)
        if [ -n "$RPORT" ]; then
            GPORT=$(sed -n 's/.*Running gRPC ModelServer at [^ ]*:\([0-9]*\) .*/\1/p' "$log" | head -1)
            [ -n "$GPORT" ] || fail "no gRPC port in $log: $(cat "$log")"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || fail "cfx-serve exited: $(cat "$log")"
        sleep 0.05
    done
    fail "cfx-serve did not open its REST port in ${3:-30} s: $(cat "$log")"
}

served() { curl -s "$U/v1/models/taxi/metadata" | sed -n 's/.*"version": "\([0-9]*\)".*/\1/p' | head -1; }
state_of() { curl -s "$U/v1/models/taxi/versions/$1" | sed -n 's/.*"state": "\([A-Z]*\)".*/\1/p'; }
metric() { curl -s "$U/metrics" | sed -n "s/^:cfx:serving:$1{model_name=\"taxi\"${2:-}} //p"; }
count() { grep -c -- "$1" "$T/serve.log" || true; }

wait_served() {
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq 1 $(($2 * 20))); do
        [ "$(served)" = "$1" ] && { t1=$(date +%s%N); echo "$(((t1 - t0) / 1000000)) ms"; return 0; }
        sleep 0.05
    done
    fail "version $1 not served within $2 s (status: $(curl -s "$U/v1/models/taxi"))"
}

predict_loop() {
    (
        while [ ! -e "$T/stop" ]; do
            curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
                --data-binary @"$1" "$U/v1/models/taxi:predict" >>"$T/codes" || echo "curl-error" >>"$T/codes"
        done
    ) &
    LPID=$!
    PIDS+=("$LPID")
}

codes_ok() {
    local bad
    bad=$(grep -vcx 200 "$T/codes" || true)
    [ "$bad" = 0 ] || fail "$1: $bad request(s) not answered 200: $(sort "$T/codes" | uniq -c | tr '\n' ' ')"
}
