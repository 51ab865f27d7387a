#!/usr/bin/env bash
# serve_rest_test.sh: cfx-serve's TF-Serving-compatible REST API against a
# real bundle built by the real commands (examplegen -> transform -> train):
# every endpoint, the error cases and their HTTP statuses, gzip bodies, body
# limits, readiness, Prometheus metrics, a config file with version labels,
# a failed startup, and SIGTERM.
#
# The same raw rows are sent through predict_raw (JSON features), through
# serving_default (serialized tf.Example, encoded by an independent
# Python encoder, tests/e2e/grpc_client.py), and through classify and
# regress: every path must give the same probability.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"

# --- a real bundle -------------------------------------------------------------
taxi_model 300 50 7
WARM="$T/models/taxi/1/assets.extra/warmup.jsonl"
[ -s "$WARM" ] || fail "bundle has no warmup rows"
ROW1=$(sed -n 1p "$WARM")
ROW2=$(sed -n 2p "$WARM")

# --- start ---------------------------------------------------------------------
cat >"$T/monitoring.txt" <<'M'
prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }
M
# sd_notify: a datagram socket standing in for systemd records what is sent.
export NOTIFY_SOCKET="$T/notify.sock"
$PY - "$NOTIFY_SOCKET" "$T/notify.log" <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
PYEOF
PIDS+=($!)
disown $!
for _ in $(seq 1 100); do [ -S "$NOTIFY_SOCKET" ] && break; sleep 0.02; done
notified() { # MESSAGE: waits until the fake systemd got it
    for _ in $(seq 1 500); do
        grep -qx "$1" "$T/notify.log" 2>/dev/null && return 0
        sleep 0.02
    done
    fail "sd_notify $1 not received: $(cat "$T/notify.log" 2>/dev/null)"
}
start_server() { # args...; sets PORT, GPORT, SPID
    serve_start "$T/serve.log" --num_threads=2 "$@"
    serve_ports "$T/serve.log" "$SPID"
    PORT=$RPORT
}
start_server --model_name=taxi --model_base_path="$T/models/taxi" \
    --monitoring_config_file="$T/monitoring.txt" --max_body_bytes=65536
U="http://127.0.0.1:$PORT"
notified READY=1

# --- a second server on the same ports refuses to start ----------------------------
for ports in "--rest_api_port=$PORT --port=0" "--rest_api_port=auto --port=$GPORT"; do
    RC=0
    # shellcheck disable=SC2086 # two flags
    NOTIFY_SOCKET= "$CFX_SERVE" $ports --num_threads=1 --model_name=taxi \
        --model_base_path="$T/models/taxi" >"$T/second.log" 2>&1 || RC=$?
    [ "$RC" != 0 ] || fail "a second server started on ports in use ($ports)"
    grep -Eq "Failed to bind (HTTP/REST|gRPC) server to 0.0.0.0 port ($PORT|$GPORT): Address already in use" \
        "$T/second.log" || fail "second server's message: $(cat "$T/second.log")"
done
CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/models/taxi")
[ "$CODE" = 200 ] || fail "first server after a refused second one: HTTP $CODE"

# req METHOD PATH [BODY] -> $CODE, $BODY
req() {
    local args=(-s -o "$T/body" -w '%{http_code}' -X "$1" "$U$2")
    [ $# -ge 3 ] && args+=(--data-binary "$3")
    local rc=0
    CODE=$(curl "${args[@]}") || rc=$?
    [ "$rc" = 0 ] || fail "curl $1 $2: exit status $rc"
    BODY=$(cat "$T/body")
}
expect() { # CODE SUBSTRING what
    [ "$CODE" = "$1" ] || fail "$3: HTTP $CODE, want $1: $BODY"
    case "$BODY" in *"$2"*) ;; *) fail "$3: body lacks '$2': $BODY" ;; esac
}

# --- status, metadata, readiness -------------------------------------------------
req GET /v1/models/taxi
expect 200 '"state": "AVAILABLE"' "status"
expect 200 '"version": "1"' "status version"
expect 200 '"error_code": "OK"' "status code"
req GET /v1/models/taxi/versions/1;   expect 200 '"version": "1"' "status of v1"
req GET /v1/models/taxi/versions/9;   expect 404 'Could not find version 9 of model taxi' "status of v9"
req GET /v1/models/nope;              expect 404 'Could not find any versions of model nope' "status of unknown"
req GET /v1/models/taxi/labels/whatever; expect 200 '"version": "1"' "status ignores label"
req GET /v1/models/taxi/metadata
expect 200 '"predict_raw"' "metadata"
expect 200 '"method_name": "tensorflow/serving/classify"' "metadata classify"
expect 200 '"trip_seconds": {"dtype": "DT_INT64"' "metadata raw input"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["model_spec"]["version"]=="1"; s=d["metadata"]["signature_def"]["signature_def"]; assert set(s)=={"serving_default","predict_raw","classify","regress"}, s.keys()' "$T/body" \
    || fail "metadata JSON shape"
req GET /v1/ready;  expect 200 'true' "ready"
req GET /healthz;   expect 200 'true' "healthz"

# --- predict / classify / regress agree ---------------------------------------------
req POST /v1/models/taxi:predict "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}"
expect 200 '"predictions": [[' "predict_raw rows"
P_RAW=$BODY
req POST /v1/MODELS/taxi/VERSIONS/1:PREDICT "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}"
expect 200 '"predictions"' "case-insensitive path"
[ "$BODY" = "$P_RAW" ] || fail "versioned predict differs: $BODY vs $P_RAW"
COLS=$($PY -c 'import json,sys
r=[json.loads(sys.argv[1]), json.loads(sys.argv[2])]
keys=sorted(set(r[0])&set(r[1]))
print(json.dumps({"signature_name":"predict_raw","inputs":{k:[x[k] for x in r] for k in keys}}))' "$ROW1" "$ROW2")
# Columnar only carries features both rows have, so compare against rows with the same keys.
ROWS_SAME=$($PY -c 'import json,sys
r=[json.loads(sys.argv[1]), json.loads(sys.argv[2])]
keys=set(r[0])&set(r[1])
print(json.dumps({"signature_name":"predict_raw","instances":[{k:x[k] for k in x if k in keys} for x in r]}))' "$ROW1" "$ROW2")
req POST /v1/models/taxi:predict "$ROWS_SAME"; expect 200 predictions "rows, common keys"
P_SAME=$($PY -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["predictions"]))' "$BODY")
req POST /v1/models/taxi:predict "$COLS"; expect 200 '"outputs": [' "predict_raw columnar"
P_COLS=$($PY -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["outputs"]))' "$BODY")
[ "$P_COLS" = "$P_SAME" ] || fail "columnar $P_COLS != rows $P_SAME"

# Serialized tf.Example, encoded by hand (wire format) in Python
# (tests/e2e/grpc_client.py).
B64=$(E2E_DIR="$CFX_SOURCE_DIR/tests/e2e" $PY - "$ROW1" "$ROW2" <<'PYEOF'
import base64, json, os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from grpc_client import example_from_row
print(json.dumps([{"b64": base64.b64encode(example_from_row(json.loads(r))).decode()} for r in sys.argv[1:]]))
PYEOF
)
req POST /v1/models/taxi:predict "{\"instances\": $B64}"
expect 200 '"predictions": [[' "serving_default b64 rows"
[ "$BODY" = "$P_RAW" ] || fail "serving_default $BODY != predict_raw $P_RAW"
req POST /v1/models/taxi:predict "{\"inputs\": {\"examples\": $B64}}"
expect 200 '"outputs"' "serving_default columnar"
P1=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["predictions"][0][0])' "$P_RAW")
req POST /v1/models/taxi:classify "{\"examples\": [$ROW1]}"
expect 200 '"results": [[["0", ' "classify"
$PY -c 'import json,sys
r=json.loads(sys.argv[1])["results"][0]; p=float(sys.argv[2])
assert r[1][0]=="1" and abs(r[1][1]-p)<=1e-6*max(1,abs(p)), (r,p)
assert abs(r[0][1]-(1-p))<=1e-6, (r,p)' "$BODY" "$P1" || fail "classify scores disagree with predict: $BODY vs $P1"
req POST /v1/models/taxi:regress "{\"examples\": [$ROW1]}"
expect 200 '"results": [' "regress"
$PY -c 'import json,sys
r=json.loads(sys.argv[1])["results"]; p=float(sys.argv[2])
assert len(r)==1 and abs(r[0]-p)<=1e-6*max(1,abs(p)), (r,p)' "$BODY" "$P1" || fail "regress disagrees: $BODY vs $P1"
# context: features move from the example into context, result unchanged.
CTX=$($PY -c 'import json,sys
r=json.loads(sys.argv[1]); c={k:r.pop(k) for k in ["company","payment_type"] if k in r}
print(json.dumps({"context":c,"examples":[r]}))' "$ROW1")
req POST /v1/models/taxi:regress "$CTX"; expect 200 '"results"' "regress with context"
$PY -c 'import json,sys
r=json.loads(sys.argv[1])["results"]; p=float(sys.argv[2]); assert abs(r[0]-p)<=1e-6*max(1,abs(p)), (r,p)' "$BODY" "$P1" \
    || fail "context merge changed the result: $BODY vs $P1"
# gzip request body
printf '%s' "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" | gzip -c >"$T/body.gz"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Encoding: gzip' --data-binary @"$T/body.gz" "$U/v1/models/taxi:predict")
BODY=$(cat "$T/body")
expect 200 predictions "gzip body"
[ "$BODY" = "$P_RAW" ] || fail "gzip predict differs"

# --- errors ---------------------------------------------------------------------
req POST /v1/models/taxi:predict '';                  expect 400 'JSON Parse error: The document is empty' "empty body"
req POST /v1/models/taxi:predict '{"instances": [1';  expect 400 'JSON Parse error' "bad JSON"
req POST /v1/models/taxi:predict '[1]';               expect 400 'JSON Value: [1] Is not object' "non-object JSON"
req POST /v1/models/taxi:predict '{"signature_name": "predict_raw", "instances": [{"trip_seconds": 1.5}]}'
expect 400 'JSON Value: 1.5 Type: Number is not of expected type: int64' "wrong type"
req POST /v1/models/taxi:predict '{"signature_name": "predict_raw", "instances": [{"bogus": 1}]}'
expect 400 'does not have named input: bogus' "unknown input"
req POST /v1/models/taxi:predict '{"signature_name": "nope", "instances": [1]}'
expect 400 'Serving signature name: \"nope\" not found in signature def' "unknown signature"
req POST /v1/models/taxi:predict '{"signature_name": 3, "instances": [1]}'; expect 400 "'signature_name'" "non-string signature"
req POST /v1/models/taxi:predict '{"instances": [], "inputs": []}';  expect 400 "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist" "both keys"
req POST /v1/models/taxi:predict '{"x": 1}';          expect 400 "Missing 'inputs' or 'instances' key" "neither key"
req POST /v1/models/taxi:predict '{"instances": []}'; expect 400 "No values in 'instances' array" "empty instances"
req POST /v1/models/taxi:predict '{"instances": [{"b64": "!!!"}]}'; expect 400 "base64" "bad b64"
# valid base64, not a tf.Example (field 1 claims 5 bytes, 3 follow): the client's error
req POST /v1/models/taxi:predict '{"instances": [{"b64": "CgUKAw=="}]}'; expect 400 "Could not parse example input" "b64 non-Example"
req POST /v1/models/taxi:predict '{"inputs": {"examples": [{"b64": "CgUKAw=="}]}}'; expect 400 "Could not parse example input" "b64 non-Example, columns"
req POST /v1/models/taxi:predict '{"signature_name": "predict_raw", "instances": [{"fare": [1.0, 2.0]}]}'
expect 400 "input fare has shape [-1] (one scalar per instance) but got a list of 2 values" "list for a [-1] input"
req POST /v1/models/taxi:predict '{"signature_name": "predict_raw", "inputs": {"fare": [[1.0, 2.0]]}}'
expect 400 "input fare has shape [-1]" "nested list for a [-1] column"
req POST /v1/models/taxi:predict '{"signature_name": "predict_raw", "inputs": {"fare": [1.0, 2.0]}}'
expect 200 '"outputs": [' "a flat column is two rows"
req POST /v1/models/nope:predict '{"instances": [1]}'; expect 404 'Servable not found for request: Latest(nope)' "unknown model"
req POST /v1/models/taxi/versions/7:predict '{"instances": [1]}'; expect 404 'Servable not found for request: Specific(taxi, 7)' "unknown version"
req POST /v1/models/taxi/versions/99999999999999999999:predict '{}'; expect 400 'Failed to convert version' "version overflow"
req POST /v1/models/taxi/labels/nope:predict '{"instances": [1]}'; expect 400 'Unrecognized servable version label: nope' "unknown label"
req POST /v1/models/taxi:classify '{"instances": [1]}'; expect 400 "key 'examples' is expected" "classify without examples"
req POST /v1/models/taxi:classify '{"examples": [{"a": [1, "x"]}]}'; expect 400 "Unexpected element type in feature" "mixed list"
req POST /v1/models/taxi:classify '{"signature_name": "serving_default", "examples": [{}]}'
expect 400 "Expected classification signature method_name to be tensorflow/serving/classify" "classify on predict signature"
req GET /v1/models/taxi:predict;      expect 400 'Malformed request: GET /v1/models/taxi:predict' "GET on predict"
req POST /v1/models/taxi/metadata '{}'; expect 400 'Malformed request: POST /v1/models/taxi/metadata' "POST on metadata"
req PUT /v1/models/taxi '{}';         expect 400 'Malformed request: PUT /v1/models/taxi' "PUT"
req DELETE /v1/models/taxi;           expect 400 'Malformed request: DELETE' "DELETE"
req GET /v1/models;                   expect 400 'Missing model name in request.' "no model name"
req GET /v1/models/taxi/versions/1/labels/x; expect 400 'Malformed request' "version and label"
req GET /v1;                          expect 404 '<HTML>' "outside /v1/" || true
[ "$CODE" = 404 ] || fail "/v1 should be 404, got $CODE"
req GET /foo;                         [ "$CODE" = 404 ] || fail "/foo should be 404, got $CODE"
CT=$(curl -s -o /dev/null -w '%{content_type}' "$U/v1/models/taxi")
[ "$CT" = "application/json" ] || fail "content type $CT"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/big" "$U/v1/models/taxi:predict")
[ "$CODE" = 413 ] || fail "oversized body: HTTP $CODE, want 413"
# gzip bomb: small compressed, over the limit uncompressed
head -c 200000 /dev/zero | gzip -c >"$T/bomb.gz"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Encoding: gzip' --data-binary @"$T/bomb.gz" "$U/v1/models/taxi:predict")
[ "$CODE" = 429 ] || fail "oversized gzip body: HTTP $CODE ($(cat "$T/body")), want 429 RESOURCE_EXHAUSTED"

# --- HTTP/1.1 details: pipelining, split bodies, 100-continue, HTTP/1.0, limits ---
$PY - "$PORT" "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" "$P_RAW" <<'PYEOF' || fail "HTTP/1.1 details"
import socket, sys, time
port, body, want = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5); return s
def read_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d: raise AssertionError("closed before a response: %r" % buf)
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        d = s.recv(65536)
        if not d: raise AssertionError("short body")
        rest += d
    return head, rest[:n], rest[n:]
post = (b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
# two pipelined requests in one write
s = conn(); s.sendall(post + post)
h1, b1, rest = read_response(s); h2, b2, rest = read_response(s, rest)
assert b" 200 " in h1 and b" 200 " in h2 and b1 == want and b2 == want, (h1, b1, h2, b2)
# a body arriving in three pieces
s.sendall(post[:20]); time.sleep(0.05); s.sendall(post[20:len(post) - 5]); time.sleep(0.05); s.sendall(post[-5:])
h, b, _ = read_response(s); assert b == want, b
# Expect: 100-continue
s.sendall(b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
d = s.recv(4096); assert d.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), d
s.sendall(body); h, b, _ = read_response(s, d[25:]); assert b == want, (h, b)
s.close()
# HTTP/1.0 without keep-alive: answered, then closed
s = conn(); s.sendall(b"GET /v1/models/taxi HTTP/1.0\r\n\r\n")
h, b, rest = read_response(s); assert b" 200 " in h, h
assert rest == b"" and s.recv(10) == b"", "HTTP/1.0 must close"
# ambiguous framing (chunked beside Content-Length; serve_chunked_test.sh has the rest) is
# refused with 400, a bad request line with 400, an unknown version with 505
for req, code in ((b"POST /v1/models/taxi:predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", b" 400 "),
                  (b"GARBAGE\r\n\r\n", b" 400 "), (b"GET /v1/models/taxi HTTP/2.0\r\n\r\n", b" 505 "),
                  (b"GET /v1/models/taxi HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b" 431 ")):
    s = conn(); s.sendall(req); h, _, _ = read_response(s); assert code in h.split(b"\r\n")[0], (req[:40], h); s.close()
PYEOF

# --- metrics ----------------------------------------------------------------------
req GET /monitoring/prometheus/metrics
expect 200 ':tensorflow:serving:request_count{model_name="taxi",status="OK"}' "metrics count"
expect 200 ':tensorflow:serving:request_count{model_name="taxi",status="INVALID_ARGUMENT"}' "metrics errors"
expect 200 ':tensorflow:serving:request_latency_bucket{model_name="taxi",API="predict",entrypoint="REST",le="10"}' "metrics latency"
expect 200 ':tensorflow:serving:request_example_count_total{model="taxi"}' "metrics examples"
expect 200 ':tensorflow:cc:saved_model:load_attempt_count{model_path=' "metrics load"
expect 200 ':cfx:serving:loaded_versions{model_name="taxi"} 1' "metrics loaded versions"
expect 200 ':cfx:serving:model_version_state{model_name="taxi",version="1",state="AVAILABLE"} 1' "metrics version state"
# the exposition format as `promtool check metrics` parses it (its naming lint
# aside), checked by our own reader whether or not promtool is installed
printf '%s\n' "$BODY" | "$PY" "$CFX_SOURCE_DIR/tests/e2e/prom_check.py" - ||
    fail "the metrics are not valid Prometheus text format"

# --- SIGTERM: exit 0; a request partly received is still answered ----------------------
$PY - "$PORT" "$SPID" "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" "$P_RAW" <<'PYEOF' || fail "drain"
import os, signal, socket, sys, time
port, pid, body, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(3); return s
def read_all(s):
    buf = b""
    while True:
        d = s.recv(65536)
        if not d: return buf
        buf += d
idle = conn()
idle.sendall(b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\n\r\n")
assert b" 200 " in idle.recv(65536)
busy = conn()
post = (b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
half = len(post) - len(body) // 2
busy.sendall(post[:half])
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
time.sleep(0.3)
assert idle.recv(10) == b"", "idle keep-alive connection not closed on SIGTERM"
busy.sendall(post[half:half + 10])  # still not the whole body
time.sleep(0.1)
busy.sendall(post[half + 10:])
resp = read_all(busy)
head, _, got = resp.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200 "), resp[:200]
assert b"\r\nConnection: close" in head, head
assert got == want, (got, want)
PYEOF
RC=0; wait "$SPID" || RC=$?
[ "$RC" = 0 ] || fail "exit status $RC after SIGTERM"
grep -q draining "$T/serve.log" || fail "no drain on SIGTERM"
notified STOPPING=1

# --- config file: two versions, policy all, labels ------------------------------------
cp -r "$T/models/taxi/1" "$T/models/taxi/.2.tmp" && mv "$T/models/taxi/.2.tmp" "$T/models/taxi/2"
cat >"$T/models.config" <<C
model_config_list {
  config {
    name: "taxi" base_path: "$T/models/taxi" model_platform: "tensorflow"
    model_version_policy { all {} }
    version_labels { key: "stable" value: 1 }
    version_labels { key: "canary" value: 2 }
  }
}
C
start_server --model_config_file="$T/models.config" --model_config_file_poll_wait_seconds=1
U="http://127.0.0.1:$PORT"
req GET /v1/models/taxi
$PY -c 'import json,sys; v=[(s["version"],s["state"]) for s in json.load(open(sys.argv[1]))["model_version_status"]]; assert v==[("2","AVAILABLE"),("1","AVAILABLE")], v' "$T/body" \
    || fail "policy all: $BODY"
req GET /v1/models/taxi/labels/stable/metadata; expect 200 '"version": "1"' "label stable"
req GET /v1/models/taxi/labels/canary/metadata; expect 200 '"version": "2"' "label canary"
req POST /v1/models/taxi/labels/canary:predict "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}"
expect 200 predictions "predict by label"
[ "$BODY" = "$P_RAW" ] || fail "label predict differs"
req GET /monitoring/prometheus/metrics; [ "$CODE" = 404 ] || fail "metrics must be off without a monitoring config (got $CODE)"
# SIGHUP re-reads the config: drop version 1 with a specific policy.
sed -i 's/model_version_policy { all {} }/model_version_policy { specific { versions: 2 } }/; /stable/d' "$T/models.config"
kill -HUP "$SPID"
notified RELOADING=1
for _ in $(seq 1 400); do
    req GET /v1/models/taxi/versions/1
    case "$BODY" in *'"state": "END"'*) break ;; esac
    sleep 0.05
done
expect 200 '"state": "END"' "SIGHUP reload unloads version 1"
req GET /v1/models/taxi/labels/stable/metadata; expect 400 'Unrecognized servable version label: stable' "label removed by reload"
# A label on a version that is not AVAILABLE (TF Serving: FAILED_PRECONDITION):
# the reload logs the error and the labels in force stay.
sed -i 's/version_labels { key: "canary" value: 2 }/version_labels { key: "canary" value: 9 }/' "$T/models.config"
kill -HUP "$SPID"
for _ in $(seq 1 200); do
    grep -q 'config reload: Request to assign label to version 9 of model taxi, which is not currently available for inference' \
        "$T/serve.log" && break
    sleep 0.05
done
grep -q 'config reload: Request to assign label to version 9 of model taxi, which is not currently available for inference' \
    "$T/serve.log" || fail "reload with a label on version 9 not refused: $(tail -3 "$T/serve.log")"
req GET /v1/models/taxi/labels/canary/metadata; expect 200 '"version": "2"' "label kept after a refused reload"
sed -i 's/value: 9 }/value: 2 }/' "$T/models.config"
# Config polling (no signal): back to version 1 only.
sed -i 's/specific { versions: 2 }/specific { versions: 1 }/' "$T/models.config"
for _ in $(seq 1 400); do
    req GET /v1/models/taxi/versions/2
    case "$BODY" in *'"state": "END"'*) break ;; esac
    sleep 0.05
done
expect 200 '"state": "END"' "config polling unloads version 2"
req GET /v1/models/taxi/versions/1; expect 200 '"state": "AVAILABLE"' "config polling reloads version 1"
kill -TERM "$SPID"; wait "$SPID" || fail "second server exit status"

# --- connection limit and access log -------------------------------------------------
start_server --model_name=taxi --model_base_path="$T/models/taxi" --max_connections=2 \
    --access_log="$T/access.log" --rest_api_enable_cors_support --enable_batching=true \
    --idle_timeout_seconds=1 --request_read_timeout_seconds=1
U="http://127.0.0.1:$PORT"
grep -q 'enable_batching=true is a tensorflow_model_server flag cfx-serve does not use' "$T/serve.log" \
    || fail "ignored TF flag not reported"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://app.example' "$U/v1/models/taxi:predict")
[ "$CODE" = 200 ] || fail "CORS preflight: HTTP $CODE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: file://x' "$U/v1/models/taxi:predict")
[ "$CODE" = 400 ] || fail "CORS preflight from a non-http origin: HTTP $CODE, want 400"
curl -s -D - -o /dev/null "$U/v1/models/taxi" | grep -qi '^Access-Control-Allow-Origin: \*' || fail "no CORS header"
$PY - "$PORT" <<'PYEOF' || fail "--max_connections"
import socket, sys
port = int(sys.argv[1])
def get(s):
    s.sendall(b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
for s in held:
    assert b" 200 " in get(s), "first two connections"
third = socket.create_connection(("127.0.0.1", port))
line = get(third)
assert b" 503 " in line, line
held[0].close()
# --idle_timeout_seconds=1: an idle connection is closed by the server.
import time
time.sleep(1.6)
held[1].settimeout(2)
assert held[1].recv(10) == b"", "idle connection not closed"
PYEOF
# --request_read_timeout_seconds=1: clients trickling a request (a byte per
# 0.2 s, so the idle timeout never fires) get 408 and lose their
# connections, and a normal client gets in again.
$PY - "$PORT" <<'PYEOF' || fail "--request_read_timeout_seconds"
import socket, sys, time
port = int(sys.argv[1])
req = b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n"
slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
for s in slow:
    s.setblocking(False)
t0 = time.monotonic()
answers = [b"", b""]
done = [False, False]
i = 0
while not all(done) and time.monotonic() - t0 < 4:
    for k, s in enumerate(slow):
        if done[k]:
            continue
        try:
            s.send(req[i:i + 1])
        except OSError:
            done[k] = True
            continue
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    done[k] = True
                    break
                answers[k] += d
        except BlockingIOError:
            pass
        except OSError:
            done[k] = True
    i = min(i + 1, len(req) - 2)  # never complete the request
    time.sleep(0.2)
took = time.monotonic() - t0
assert all(done), "trickling clients still connected after %.1f s" % took
assert 0.9 <= took <= 2.5, took
for a in answers:
    assert a.startswith(b"HTTP/1.1 408 "), a[:80]
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(3)
s.sendall(b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\n\r\n")
line = s.recv(65536).split(b"\r\n", 1)[0]
assert b" 200 " in line, line
PYEOF
grep -q ' GET /v1/models/taxi 503 ' "$T/access.log" || fail "access log: $(cat "$T/access.log")"
grep -q ' GET /v1/models/taxi 200 ' "$T/access.log" || fail "access log lacks the 200s"
kill -TERM "$SPID"; wait "$SPID" || fail "third server exit status"

# --- a failed initial load exits non-zero with TF Serving's message ---------------------
# A label on a version that does not exist fails startup (labels are
# applied once the models are AVAILABLE), unless allowed by the flag.
cat >"$T/labels.config" <<C
model_config_list {
  config {
    name: "taxi" base_path: "$T/models/taxi" model_platform: "tensorflow"
    version_labels { key: "stable" value: 5 }
  }
}
C
RC=0
"$CFX_SERVE" --port=0 --rest_api_port=auto --model_config_file="$T/labels.config" >"$T/bad.log" 2>&1 || RC=$?
[ "$RC" = 255 ] || fail "startup with a label on a missing version: exit $RC, want 255"
grep -q 'Failed to start server. Error: Request to assign label to version 5 of model taxi, which is not currently available for inference' \
    "$T/bad.log" || fail "label startup message: $(cat "$T/bad.log")"
start_server --model_config_file="$T/labels.config" --allow_version_labels_for_unavailable_models
U="http://127.0.0.1:$PORT"
req GET /v1/models/taxi/labels/stable/metadata; expect 404 'Servable not found' "allowed label on a missing version"
kill -TERM "$SPID"; wait "$SPID" || fail "server with an allowed label: exit status"
mkdir -p "$T/bad/m"
cp -r "$T/models/taxi/1" "$T/bad/m/3"
printf 'x' >>"$T/bad/m/3/variables/model.safetensors"
RC=0
"$CFX_SERVE" --port=0 --rest_api_port=auto --model_name=m --model_base_path="$T/bad/m" >"$T/bad.log" 2>&1 || RC=$?
[ "$RC" != 0 ] || fail "startup with a corrupt bundle must fail"
grep -q 'Failed to start server. Error: .*1 model(s) did not become available: {{name: m version: 3} due to error' "$T/bad.log" \
    || fail "startup failure message: $(cat "$T/bad.log")"
RC=0
"$CFX_SERVE" --rest_api_port=auto >"$T/bad.log" 2>&1 || RC=$?
[ "$RC" = 2 ] || fail "missing base path flag must be a usage error (got $RC)"
echo "serve_rest_test: OK"
