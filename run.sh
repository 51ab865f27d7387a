#!/usr/bin/env bash
# The main job: install what cfx needs, build it, run the whole taxi pipeline
# (CSV -> validated data -> transform -> train -> evaluate -> infra-validate ->
# push), then serve the pushed model with cfx-serve and show a prediction.
#
#   ./run.sh            serve in the foreground afterwards (Ctrl-C stops)
#   CFX_DEMO_EXIT=1 ./run.sh   stop the server after the sample prediction
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

./build/cfx run examples/taxi/pipeline.json

SERVING=$(sed -n 's/.*"serving_dir" *: *"\([^"]*\)".*/\1/p' examples/taxi/pipeline.json)
MODEL=$(sed -n 's/.*"model_name" *: *"\([^"]*\)".*/\1/p' examples/taxi/pipeline.json)
case "$SERVING" in /*) ;; *) SERVING="$PWD/examples/taxi/$SERVING" ;; esac
SERVING=$(realpath -m "$SERVING")
REST=${CFX_REST_PORT:-8501}
GRPC=${CFX_GRPC_PORT:-8500}

./build/cfx-serve --model_name="$MODEL" --model_base_path="$SERVING/$MODEL" \
  --rest_api_port="$REST" --port="$GRPC" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$REST/v1/models/$MODEL" >/dev/null 2>&1 && break
  sleep 0.1
done
echo
echo "== cfx-serve: model status"
curl -s "http://127.0.0.1:$REST/v1/models/$MODEL"; echo
echo "== a prediction from a raw taxi trip (REST, TF Serving's API)"
REQ=$(head -n 1 "$SERVING/$MODEL/$(ls "$SERVING/$MODEL" | grep -E '^[0-9]+$' | sort -n | tail -1)/assets.extra/warmup.jsonl")
echo "POST /v1/models/$MODEL:predict {\"signature_name\":\"predict_raw\",\"instances\":[$REQ]}"
curl -s -X POST "http://127.0.0.1:$REST/v1/models/$MODEL:predict" \
  -d "{\"signature_name\":\"predict_raw\",\"instances\":[$REQ]}"; echo
if [ "${CFX_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
echo "cfx-serve is serving $MODEL on REST :$REST and gRPC :$GRPC (Ctrl-C stops)"
wait $SERVER
