#!/usr/bin/env bash
# serve_grpc_test.sh: cfx-serve's gRPC endpoint end to end. Builds a taxi
# bundle with the real commands (examplegen -> [statistics -> schema] ->
# transform -> train), serves it, and calls every method with a foreign
# client (python3-grpcio, tests/e2e/grpc_client.py), comparing predictions
# with `cfx predict` on the same rows; then malformed HTTP/2 / gRPC framing
# (nghttp), 2000 corrupted protobuf requests, an h2load smoke run of gRPC
# Predict, cfx perf against both protocols, and a SIGTERM drain.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$CFX_SOURCE_DIR
SERVER=
on_exit() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
}

if ! "$CFX" train --help >/dev/null 2>&1; then
    echo "SKIP: this cfx has no train command, no bundle to serve"
    exit 0
fi

echo "== bundle from 3000 taxi rows"
head -n 3001 "$SRC/examples/taxi/data.csv" >"$T/data.csv"
"$CFX" examplegen --input "$T/data.csv" --output "$T/ex" >"$T/log" 2>&1 ||
    fail "examplegen: $(cat "$T/log")"
if "$CFX" schema --help >/dev/null 2>&1 && "$CFX" statistics --help >/dev/null 2>&1; then
    "$CFX" statistics --examples "$T/ex" --output "$T/stats" >"$T/log" 2>&1 ||
        fail "statistics: $(cat "$T/log")"
    "$CFX" schema --statistics "$T/stats" --output "$T/schema" >"$T/log" 2>&1 ||
        fail "schema: $(cat "$T/log")"
    schema=$(find "$T/schema" -name schema.pbtxt | head -1)
else
    printf 'feature { name: "fare" type: FLOAT }\n' >"$T/schema.pbtxt"
    schema=$T/schema.pbtxt
fi
"$CFX" transform --examples "$T/ex" --schema "$schema" \
    --spec "$SRC/examples/taxi/transform.json" --output "$T/xf" >"$T/log" 2>&1 ||
    fail "transform: $(cat "$T/log")"
sed -e 's/"train_steps": *[0-9]*/"train_steps": 300/' \
    -e 's/"eval_steps": *[0-9]*/"eval_steps": 50/' \
    -e 's/"eval_every_steps": *[0-9]*/"eval_every_steps": 300/' \
    "$SRC/examples/taxi/trainer.json" >"$T/trainer.json"
"$CFX" train --examples "$T/xf/transformed_examples" \
    --transform-graph "$T/xf/transform_graph" --config "$T/trainer.json" \
    --raw-examples "$T/ex" --output "$T/train" --quiet >"$T/log" 2>&1 ||
    fail "train: $(cat "$T/log")"
mkdir -p "$T/models/taxi"
cp -r "$T/train/model" "$T/models/taxi/1"

# 40 rows the model did not train on, and what `cfx predict` says of them.
{ head -n 1 "$SRC/examples/taxi/data.csv"; sed -n '5001,5040p' "$SRC/examples/taxi/data.csv"; } >"$T/rows.csv"
"$CFX" predict --bundle "$T/models/taxi/1" --input "$T/rows.csv" >"$T/expected.csv" ||
    fail "cfx predict"

echo "== cfx-serve"
# The admin RPC (HandleReloadConfigRequest) is off unless enabled, and then
# needs the admin token (docs/serving.md, "Security").
(umask 077; echo "grpc-test-admin-token" >"$T/admin.token")
export CFX_ADMIN_TOKEN=grpc-test-admin-token
serve_start "$T/serve.log" --model_name=taxi --model_base_path="$T/models/taxi" --num_threads=2 \
    --enable_admin_rpc --admin_token_file="$T/admin.token"
SERVER=$SPID
serve_ports "$T/serve.log" "$SERVER"
PORT=$GPORT
echo "gRPC port $PORT"

echo "== every method with python3-grpcio"
"$PY" "$SRC/tests/e2e/grpc_client.py" "$PORT" taxi "$T/rows.csv" \
    "$T/expected.csv" "$T/models/taxi" || fail "grpc_client.py"

echo "== malformed framing (nghttp)"
# Requests as raw gRPC bodies: a prefix that promises more bytes than sent,
# a compressed flag without a grpc-encoding, a body that is not a protobuf.
"$PY" - "$T" <<'EOF'
import sys
t = sys.argv[1]
open(t + "/short.bin", "wb").write(b"\x00\x00\x00\x00\x09\x0a")
open(t + "/gz.bin", "wb").write(b"\x01\x00\x00\x00\x00")
open(t + "/junk.bin", "wb").write(b"\x00\x00\x00\x00\x03\x0a\x05a")
EOF
URL=http://127.0.0.1:$PORT/tensorflow.serving.PredictionService/Predict
for case in short:13 gz:13 junk:3; do
    f=${case%%:*}
    want=${case##*:}
    nghttp -v -H 'content-type: application/grpc' -H 'te: trailers' \
        -d "$T/$f.bin" "$URL" >"$T/nghttp.out" 2>&1 || true
    grep -q "grpc-status: $want" "$T/nghttp.out" ||
        { cat "$T/nghttp.out"; fail "$f: expected grpc-status $want"; }
    echo "ok   $f.bin -> grpc-status $want"
done
nghttp -v -d "$T/junk.bin" "$URL" >"$T/nghttp.out" 2>&1 || true
grep -q ":status: 415" "$T/nghttp.out" || fail "no content-type: expected HTTP 415"
echo "ok   non-gRPC content-type -> HTTP 415"
# Not HTTP/2 at all: the server drops the connection, nothing else.
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 "$PY" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read()); s.settimeout(5)
try:
    while s.recv(4096): pass
except Exception: pass' "$PORT"
kill -0 "$SERVER" 2>/dev/null || fail "cfx-serve died on malformed input"
"$PY" "$SRC/tests/e2e/grpc_client.py" --mutate 2000 "$PORT" taxi ||
    fail "corrupted requests"

echo "== h2load smoke: gRPC Predict"
"$PY" - "$T/predict.bin" "$T/rows.csv" <<'EOF'
import csv, sys
sys.path.insert(0, __import__("os").environ["CFX_SOURCE_DIR"] + "/tests/e2e")
import grpc_client as g
row = next(csv.DictReader(open(sys.argv[2])))
ex = g.example({"trip_miles": ("float", [float(row["trip_miles"] or 0)])})
msg = g.ld(1, g.model_spec("taxi")) + g.ld(2, g.ld(1, "examples") + g.ld(2, g.tensor_strings([ex])))
open(sys.argv[1], "wb").write(b"\x00" + len(msg).to_bytes(4, "big") + msg)
EOF
h2load -n 2000 -c 4 -m 8 -d "$T/predict.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "$URL" >"$T/h2load.out" 2>&1 || { cat "$T/h2load.out"; fail "h2load"; }
grep -E "^requests:|^status codes:" "$T/h2load.out"
grep -q "2000 succeeded, 0 failed, 0 errored" "$T/h2load.out" || fail "h2load had failures"
grep -q "status codes: 2000 2xx" "$T/h2load.out" || fail "h2load: non-2xx statuses"
"$PY" "$SRC/tests/e2e/grpc_client.py" "$PORT" taxi "$T/rows.csv" "$T/expected.csv" \
    >/dev/null || fail "answers changed after the load"

echo "== cfx perf (gRPC and REST)"
"$CFX" perf --target "grpc://127.0.0.1:$PORT" --model taxi --data "$T/rows.csv" \
    --concurrency 1,4 --requests 200 --format csv --check 'errors<=0' \
    --no-progress >"$T/perf.csv" || { cat "$T/perf.csv"; fail "cfx perf grpc"; }
cat "$T/perf.csv"
[ "$(awk -F, 'NR > 1 && $4 == 200 && $5 == 0' "$T/perf.csv" | wc -l)" -eq 2 ] ||
    fail "cfx perf grpc: expected 2 levels of 200 ok requests"
"$CFX" perf --target "rest://127.0.0.1:$RPORT" --model taxi --data "$T/rows.csv" \
    --api classify --batch 4 --requests 100 --format json --check 'errors<=0' \
    --no-progress >"$T/perf.json" || { cat "$T/perf.json"; fail "cfx perf rest"; }
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r[0]["ok"]==100 and r[0]["errors"]==0, r' \
    "$T/perf.json" || fail "cfx perf rest json"
"$CFX" perf --target "grpc://127.0.0.1:$PORT" --model taxi --data "$T/ex" \
    --api regress --batch 2 --requests 100 --format csv --check 'errors<=0' \
    --no-progress >"$T/perf2.csv" || { cat "$T/perf2.csv"; fail "cfx perf on an examples folder"; }
[ "$(awk -F, 'NR == 2 { print $4 }' "$T/perf2.csv")" = 100 ] || fail "cfx perf examples folder: 100 ok"
rc=0
"$CFX" perf --target "grpc://127.0.0.1:$PORT" --model taxi --data "$T/rows.csv" \
    --requests 50 --check 'p50<1ns' --no-progress >/dev/null 2>"$T/perf.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "check failed" "$T/perf.err" || fail "a failing --check must exit 1"
echo "ok   cfx perf: levels, formats, --check"

echo "== HandleReloadConfigRequest: a label on a version that is not AVAILABLE"
"$PY" - "$PORT" "$T/models/taxi" <<'EOF' || fail "reload with a label on an unavailable version"
import sys
import grpc
port, base = sys.argv[1], sys.argv[2]
def varint(v):
    out = b""
    while True:
        b = v & 0x7f; v >>= 7
        if v: out += bytes([b | 0x80])
        else: return out + bytes([b])
def ld(field, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return varint(field << 3 | 2) + varint(len(payload)) + payload
def reload(labels):
    # ReloadConfigRequest.config(1) > ModelServerConfig.model_config_list(1)
    # > ModelConfigList.config(1) > ModelConfig: name 1, base_path 2,
    # model_platform 4, version_labels 8 (map entry: key 1, value 2 varint)
    mc = ld(1, "taxi") + ld(2, base) + ld(4, "tensorflow")
    for k, v in labels:
        mc += ld(8, ld(1, k) + bytes([2 << 3]) + varint(v))
    req = ld(1, ld(1, ld(1, mc)))
    ch = grpc.insecure_channel("127.0.0.1:" + port)
    call = ch.unary_unary("/tensorflow.serving.ModelService/HandleReloadConfigRequest")
    try:
        call(req, timeout=20, metadata=[("authorization",
                                         "Bearer grpc-test-admin-token")])
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()
    finally:
        ch.close()
code, det = reload([("stable", 7)])
assert code == grpc.StatusCode.FAILED_PRECONDITION, (code, det)
want = "Request to assign label to version 7 of model taxi, which is not currently available for inference"
assert det == want, det
code, det = reload([("stable", 1)])
assert code == grpc.StatusCode.OK, (code, det)
EOF
echo "ok   label on an unavailable version refused"

echo "== SIGTERM drains and exits 0"
kill -TERM "$SERVER"
rc=0
for _ in $(seq 1 100); do
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
done
wait "$SERVER" || rc=$?
SERVER=
[ "$rc" -eq 0 ] || fail "cfx-serve exited $rc after SIGTERM"
echo "PASS serve_grpc_test"
