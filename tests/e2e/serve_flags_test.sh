#!/usr/bin/env bash
# serve_flags_test.sh: TF Serving's port flags as TF Serving reads them:
# --rest_api_port=0 turns REST off (gRPC alone serves), auto picks a free
# port, and --version / unknown TF Serving flags start as TF Serving does.
set -eEuo pipefail
. "$(dirname "$0")/serve_lib.sh"

"$CFX_SERVE" --version >"$T/v.txt" 2>&1 || fail "--version: $(cat "$T/v.txt")"
grep -q '^cfx-serve ' "$T/v.txt" || fail "--version printed: $(cat "$T/v.txt")"

taxi_data
taxi_train "$T/b" 200 20 7
mkdir -p "$T/m"
cp -r "$T/b/model" "$T/m/1"
# REST off: the server waits for a first version with gRPC only
"$CFX_SERVE" --port=0 --rest_api_port=0 --model_name=m \
    --model_base_path="$T/m" >"$T/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
    grep -q 'Running gRPC ModelServer' "$T/serve.log" && break
    sleep 0.1
done
grep -q 'Running gRPC ModelServer' "$T/serve.log" || fail "gRPC did not start with REST off"
! grep -q 'HTTP/REST' "$T/serve.log" || fail "--rest_api_port=0 must turn REST off"
kill "${PIDS[0]}"

# auto: a free REST port, printed as TF Serving prints it
serve_start "$T/serve.log" --model_name=m --model_base_path="$T/m"
serve_ports "$T/serve.log" "$SPID" 10
[ "$RPORT" != 0 ] || fail "REST port 0 with auto: $(cat "$T/serve.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RPORT/v1/models/m" || true)
[ "$code" = 200 ] || fail "REST on the auto port answered $code"
echo "serve flags: OK"
