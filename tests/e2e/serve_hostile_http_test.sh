#!/usr/bin/env bash
# serve_hostile_http_test.sh: cfx-serve exposed to hostile clients
# (docs/serving.md, "Security"), against a real bundle built by the real
# commands.
#
# 1. Strict HTTP/1.1 (RFC 9112): a repeated or conflicting Content-Length,
#    Content-Length with Transfer-Encoding, whitespace before a colon,
#    obs-fold, bytes outside tchar / field-value: each 400 and the
#    connection closed, and a normal request answered right after.
# 2. 2,500 idle connections (more than --max_connections) do not lock a
#    normal client out for longer than the first-byte timeout, and the
#    silent ones are closed by it; 1,000 silent gRPC connections are
#    closed by it too, while a gRPC call goes through.
# 3. The admin RPC (HandleReloadConfigRequest): PERMISSION_DENIED by
#    default even with a token; with --enable_admin_rpc UNAUTHENTICATED
#    without or with a wrong token, accepted with the token, and accepted
#    over the unix socket (--grpc_socket_path, mode 0600) without one; the
#    model keeps being served throughout.
# 4. --inference_token_file: REST 401 / gRPC UNAUTHENTICATED without the
#    token, answers with it; health checks stay open.
# 5. Started as root with --user=nobody: every uid and gid of the process
#    is nobody's and it has no supplementary groups.
# 6. tensorflow_model_server flags without a meaning here warn and start;
#    a config file with an unknown field fails naming file:line and field.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$CFX_SOURCE_DIR

# --- a real bundle ---------------------------------------------------------------
taxi_model 50 10 7
ROW=$(sed -n 1p "$T/models/taxi/1/assets.extra/warmup.jsonl")
printf '{"signature_name": "predict_raw", "instances": [%s]}' "$ROW" >"$T/predict.json"
chmod -R a+rX "$T" # readable by the unprivileged user of part 5

# start NAME ARGS...: starts cfx-serve logging to $T/NAME.log; sets SPID,
# RPORT and GPORT once both ports are open and the model is ready.
start() {
    local name=$1
    shift
    serve_start "$T/$name.log" --num_threads=2 --model_name=taxi --model_base_path="$T/models/taxi" "$@"
    serve_ports "$T/$name.log" "$SPID"
    cp "$T/$name.log" "$T/serve.log"
}
stop() {
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
}

# The hostile HTTP client, the idle flood and the gRPC calls, in python.
cat >"$T/hostile.py" <<'PYEOF'
import os
import socket
import sys
import time

sys.path.insert(0, os.environ["E2E_DIR"])
import grpc  # noqa: E402
from grpc_client import ld, model_spec  # noqa: E402

MS = "/tensorflow.serving.ModelService/"


def raw(port, data, timeout=5.0):
    """Sends data, reads until the server closes: (answer, closed)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    s.sendall(data)
    out = b""
    closed = False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out, closed


def normal(port, body, token=None, path="/v1/models/taxi:predict"):
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n" if token else b""
    req = (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + auth +
           b"Content-Type: application/json\r\nConnection: close\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    out, _ = raw(port, req)
    return out


HOSTILE = [
    ("two different Content-Length",
     b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Content-Length: 40\r\n\r\n{}"),
    ("repeated equal Content-Length",
     b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Content-Length: 2\r\n\r\n{}"),
    ("Content-Length list",
     b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}"),
    ("Content-Length with Transfer-Encoding",
     b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("space before colon",
     b"POST /v1/models/taxi:predict HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}"),
    ("tab before colon",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost\t: x\r\n\r\n"),
    ("obs-fold",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"),
    ("bad character in a name",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX[A]: 1\r\n\r\n"),
    ("control character in a value",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"),
    ("bare LF inside a value",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX-A: a\nContent-Length: 9\r\n\r\n"),
    ("NUL in a value",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX-A: a\x00\r\n\r\n"),
    ("DEL in a value",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n"),
    ("two Host fields",
     b"GET /v1/models/taxi HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
]


def cmd_http(port, body_path):
    body = open(body_path, "rb").read()
    for name, req in HOSTILE:
        out, closed = raw(port, req)
        if not out.startswith(b"HTTP/1.1 400 "):
            sys.exit("%s: expected 400, got %r" % (name, out[:60]))
        if not closed:
            sys.exit("%s: the connection stayed open after the 400" % name)
        ok = normal(port, body)
        if not ok.startswith(b"HTTP/1.1 200 ") or b'"predictions"' not in ok:
            sys.exit("%s: the next normal request got %r" % (name, ok[:120]))
        print("ok  %s: 400 + close; next request 200" % name)


def cmd_flood(port, n, body_path, limit):
    """n idle connections, then one normal request: it must be answered
    within limit seconds; then the silent ones must have been closed."""
    body = open(body_path, "rb").read()
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(0.5)  # let the server accept them
    t0 = time.monotonic()
    out = normal(port, body)
    took = time.monotonic() - t0
    if not out.startswith(b"HTTP/1.1 200 "):
        sys.exit("normal client during an idle flood of %d: %r after %.2f s"
                 % (n, out[:80], took))
    if took > limit:
        sys.exit("normal client waited %.2f s behind %d idle connections "
                 "(limit %.1f s)" % (took, n, limit))
    print("ok  normal request answered in %.3f s behind %d idle connections"
          % (took, n))
    time.sleep(limit + 0.5)
    closed = 0
    for s in socks:
        try:
            s.setblocking(True)
            s.settimeout(0.01)
            if s.recv(1) == b"":
                closed += 1
        except (ConnectionResetError, BrokenPipeError):
            closed += 1
        except (socket.timeout, BlockingIOError, OSError):
            pass
        s.close()
    if closed < n:
        sys.exit("only %d of %d silent connections were closed after the "
                 "first-byte timeout" % (closed, n))
    print("ok  all %d silent connections closed by the server" % closed)


def cmd_grpcflood(port, n, limit):
    """n silent connections to the gRPC port: a gRPC call still works, and
    the server closes them all after the first-byte timeout."""
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    t0 = time.monotonic()
    got = call("127.0.0.1:%d" % port, MS + "GetModelStatus",
               ld(1, model_spec("taxi")))
    if got != "OK":
        sys.exit("gRPC call behind %d silent connections: %s" % (n, got))
    print("ok  gRPC call answered in %.3f s behind %d silent connections"
          % (time.monotonic() - t0, n))
    time.sleep(limit + 0.5)
    closed = 0
    for s in socks:
        s.settimeout(0.05)
        try:  # the server's SETTINGS come first, then end of stream
            while True:
                if s.recv(65536) == b"":
                    closed += 1
                    break
        except (ConnectionResetError, BrokenPipeError):
            closed += 1
        except (socket.timeout, OSError):
            pass
        s.close()
    if closed < n:
        sys.exit("only %d of %d silent gRPC connections closed" % (closed, n))
    print("ok  all %d silent gRPC connections closed by the server" % closed)


def reload_request(base):
    cfg = ld(1, ld(1, ld(1, "taxi") + ld(2, base) + ld(4, "tensorflow")))
    return ld(1, cfg)


def call(target, method, req, token=None):
    ch = grpc.insecure_channel(target)
    fn = ch.unary_unary(method, request_serializer=None,
                        response_deserializer=None)
    md = [("authorization", "Bearer " + token)] if token is not None else None
    try:
        fn(req, timeout=30, metadata=md)
        return "OK"
    except grpc.RpcError as e:
        return e.code().name
    finally:
        ch.close()


def cmd_grpc(target, method, want, token=None, base=None):
    if method == "reload":
        path, req = MS + "HandleReloadConfigRequest", reload_request(base)
    else:
        path, req = MS + "GetModelStatus", ld(1, model_spec("taxi"))
    got = call(target, path, req, token)
    if got != want:
        sys.exit("%s on %s (token %r): %s, want %s" % (method, target, token,
                                                        got, want))
    print("ok  %s on %s, token %s: %s" % (method, target,
                                          "none" if token is None else "given",
                                          got))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "http":
        cmd_http(int(a[1]), a[2])
    elif a[0] == "flood":
        cmd_flood(int(a[1]), int(a[2]), a[3], float(a[4]))
    elif a[0] == "grpcflood":
        cmd_grpcflood(int(a[1]), int(a[2]), float(a[3]))
    elif a[0] == "grpc":
        tok = a[4] if len(a) > 4 and a[4] != "-" else None
        cmd_grpc(a[1], a[2], a[3], tok, a[5] if len(a) > 5 else None)
PYEOF
export E2E_DIR="$SRC/tests/e2e"
hostile() { "$PY" "$T/hostile.py" "$@"; }

# --- 1, 2, 3a: default server, TF Serving flags that do nothing here ------------
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 3000 ] || fail "need 3000 descriptors per process for the idle flood, have $(ulimit -n)"
echo "== TF Serving flags accepted with a warning"
start a --max_connections=1000 --first_byte_timeout_seconds=2 \
    --enable_batching --per_process_gpu_memory_fraction=0.5 --grpc_max_threads=8 \
    --tensorflow_session_parallelism=2 --mixed_precision=bfloat16 --skip_initialize_tpu \
    --enable_serialization_as_tensor_content=true --use_alts_credentials=false
for f in enable_batching per_process_gpu_memory_fraction grpc_max_threads \
    tensorflow_session_parallelism mixed_precision skip_initialize_tpu \
    enable_serialization_as_tensor_content use_alts_credentials; do
    [ "$(grep -c -- "--$f=.*does not use; ignored" "$T/a.log")" = 1 ] ||
        fail "no one-line warning for --$f: $(cat "$T/a.log")"
done
echo "== hostile framing"
hostile http "$RPORT" "$T/predict.json"
echo "== idle flood: 2500 silent connections, --max_connections=1000, first byte within 2 s"
hostile flood "$RPORT" 2500 "$T/predict.json" 2.0
echo "== 1000 silent gRPC connections, first byte within 2 s"
hostile grpcflood "$GPORT" 1000 2.0
echo "== admin RPC off by default"
echo "s3cret-token" >"$T/admin.token"
chmod 600 "$T/admin.token"
hostile grpc "127.0.0.1:$GPORT" reload PERMISSION_DENIED - "$T/models/taxi"
hostile grpc "127.0.0.1:$GPORT" reload PERMISSION_DENIED s3cret-token "$T/models/taxi"
hostile grpc "127.0.0.1:$GPORT" status OK
stop

# --- 3b, 4, 5: admin on, tokens, unix socket, --user ----------------------------
echo "== admin RPC enabled: token, unix socket"
echo "infer-token" >"$T/infer.token"
chmod 600 "$T/infer.token"
USERARGS=()
[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && USERARGS=(--user=nobody)
start b --enable_admin_rpc --admin_token_file="$T/admin.token" \
    --inference_token_file="$T/infer.token" --grpc_socket_path="$T/grpc.sock" \
    --grpc_bind_address=127.0.0.1 --rest_api_bind_address=127.0.0.1 "${USERARGS[@]}"
[ -S "$T/grpc.sock" ] || fail "no unix socket at $T/grpc.sock"
[ "$(stat -c %a "$T/grpc.sock")" = 600 ] || fail "socket mode $(stat -c %a "$T/grpc.sock"), want 600"
grep -q "Running gRPC ModelServer at 127.0.0.1:" "$T/b.log" || fail "gRPC not bound to 127.0.0.1"
hostile grpc "127.0.0.1:$GPORT" reload UNAUTHENTICATED - "$T/models/taxi"
hostile grpc "127.0.0.1:$GPORT" reload UNAUTHENTICATED wrong-token "$T/models/taxi"
hostile grpc "127.0.0.1:$GPORT" reload UNAUTHENTICATED infer-token "$T/models/taxi"
hostile grpc "127.0.0.1:$GPORT" reload OK s3cret-token "$T/models/taxi"
hostile grpc "unix:$T/grpc.sock" reload OK - "$T/models/taxi"
hostile grpc "unix:$T/grpc.sock" status OK
echo "== inference token"
hostile grpc "127.0.0.1:$GPORT" status UNAUTHENTICATED
hostile grpc "127.0.0.1:$GPORT" status UNAUTHENTICATED wrong-token
hostile grpc "127.0.0.1:$GPORT" status OK infer-token
code=$(curl -s -o "$T/r" -w '%{http_code}' -d @"$T/predict.json" "http://127.0.0.1:$RPORT/v1/models/taxi:predict")
[ "$code" = 401 ] || fail "REST predict without a token: HTTP $code, want 401"
code=$(curl -s -o "$T/r" -w '%{http_code}' -H 'Authorization: Bearer nope' -d @"$T/predict.json" \
    "http://127.0.0.1:$RPORT/v1/models/taxi:predict")
[ "$code" = 401 ] || fail "REST predict with a wrong token: HTTP $code, want 401"
code=$(curl -s -o "$T/r" -w '%{http_code}' -H 'Authorization: Bearer infer-token' -d @"$T/predict.json" \
    "http://127.0.0.1:$RPORT/v1/models/taxi:predict")
[ "$code" = 200 ] && grep -q predictions "$T/r" || fail "REST predict with the token: HTTP $code $(cat "$T/r")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RPORT/v1/ready")
[ "$code" = 200 ] || fail "/v1/ready must not need a token: HTTP $code"
if [ ${#USERARGS[@]} -gt 0 ]; then
    echo "== --user=nobody"
    want=$(id -u nobody)
    wantg=$(id -g nobody)
    grep -q "dropped root; running as nobody" "$T/b.log" || fail "no drop message: $(cat "$T/b.log")"
    read -r _ u1 u2 u3 u4 < <(grep '^Uid:' "/proc/$SPID/status")
    read -r _ g1 g2 g3 g4 < <(grep '^Gid:' "/proc/$SPID/status")
    [ "$u1 $u2 $u3 $u4" = "$want $want $want $want" ] || fail "Uid: $u1 $u2 $u3 $u4, want $want x4"
    [ "$g1 $g2 $g3 $g4" = "$wantg $wantg $wantg $wantg" ] || fail "Gid: $g1 $g2 $g3 $g4, want $wantg x4"
    groups=$(sed -n 's/^Groups:[[:space:]]*//p' "/proc/$SPID/status")
    [ -z "${groups// /}" ] || fail "supplementary groups kept: $groups"
    [ "$(stat -c %U "$T/grpc.sock")" = nobody ] || fail "socket not handed to nobody"
    # Still serving as nobody (the model files stay readable).
    hostile grpc "unix:$T/grpc.sock" status OK
else
    echo "SKIP --user: not root"
    grep -q "WARNING: running as root" "$T/b.log" && fail "root warning while not root"
fi
stop
if [ ${#USERARGS[@]} -gt 0 ]; then
    # Unprivileged now, it cannot remove a file from a root-owned folder;
    # the next start replaces the stale socket (a live one it refuses).
    [ -S "$T/grpc.sock" ] || fail "socket file gone after a --user run?"
    start c --grpc_socket_path="$T/grpc.sock"
    hostile grpc "unix:$T/grpc.sock" status OK
    stop
fi
[ -e "$T/grpc.sock" ] && fail "the unix socket file was left behind"

# --- root warning, refused setups, strict config files -----------------------------
if [ "$(id -u)" = 0 ]; then
    grep -q "WARNING: running as root" "$T/a.log" || fail "no root warning when started as root"
fi
expect_fail() { # expect_fail WHAT PATTERN ARGS...: cfx-serve must exit non-zero saying PATTERN
    local what=$1 pat=$2
    shift 2
    local rc=0
    timeout 20 "$CFX_SERVE" --port=0 --rest_api_port=auto "$@" >"$T/x.log" 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "$what: started"
    grep -q -- "$pat" "$T/x.log" || fail "$what: no \"$pat\" in: $(cat "$T/x.log")"
    echo "ok  $what: $(grep -m1 -- "$pat" "$T/x.log")"
}
printf 'model_config_list {\n  config {\n    name: "taxi"\n    base_path: "%s"\n    model_platform: "tensorflow"\n    versoin_policy: 1\n  }\n}\n' \
    "$T/models/taxi" >"$T/typo.config"
expect_fail "unknown field in the model config" "typo.config: 6:5: unknown field 'versoin_policy'" \
    --model_config_file="$T/typo.config"
printf 'server_key: "x"\nserver_cert: "y"\nclient_verfy: true\n' >"$T/ssl.conf"
expect_fail "unknown field in the SSL config" "ssl.conf: 3:1: unknown field 'client_verfy'" \
    --model_name=taxi --model_base_path="$T/models/taxi" --ssl_config_file="$T/ssl.conf"
expect_fail "admin RPC with no way to authenticate" "needs a way to authenticate" \
    --model_name=taxi --model_base_path="$T/models/taxi" --enable_admin_rpc
chmod 644 "$T/admin.token"
expect_fail "world-readable token file" "readable by other users" \
    --model_name=taxi --model_base_path="$T/models/taxi" --enable_admin_rpc --admin_token_file="$T/admin.token"
expect_fail "bad bind address" "bind address" \
    --model_name=taxi --model_base_path="$T/models/taxi" --rest_api_bind_address=not-an-ip
expect_fail "a flag TF Serving does not have" "unknown flag --no_such_flag" \
    --model_name=taxi --model_base_path="$T/models/taxi" --no_such_flag=1
echo "PASS"
