#!/usr/bin/env bash
# serve_tls_test.sh: cfx-serve with --ssl_config_file (TF Serving's SSLConfig,
# PEM text inline) on both ports. Certificates are made here by `openssl`:
# a CA, a server certificate for localhost / 127.0.0.1 (subjectAltName), a
# client certificate from the CA, and one from a second, unknown CA.
#
#   TLS:  curl over HTTPS (status, predict, a large and a chunked body,
#         keep-alive) answers byte for byte what a plain server on the same
#         bundle answers; ALPN gives http/1.1 on REST and h2 on gRPC (and
#         refuses a client that offers only http/1.1 there); the full
#         python3-grpcio suite (tests/e2e/grpc_client.py, predictions
#         against `cfx predict`) and an h2load run pass over TLS.
#   mTLS: with client_verify, curl and grpcio without a client certificate,
#         or with one from the unknown CA, fail the handshake; with the
#         CA's client certificate they work.
#   Optional certificates (custom_ca, no client_verify) with
#         --inference_token_file: a verified client certificate stands in
#         for the token on both ports, one from the unknown CA does not.
#   Hostile: plain HTTP on the TLS REST port gets a plain 400, plain gRPC
#         on the TLS gRPC port fails, garbage and a truncated ClientHello
#         are dropped; after each the server answers normally.
#   Config: a key that is not PEM, a key that does not match the
#         certificate, client_verify without custom_ca: refused at start
#         with the file and the field named.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
command -v openssl >/dev/null || fail "openssl (the command) is needed (scripts/install-deps.sh)"

SERVERS=()
on_exit() {
    for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null || true; done
}

# --- a bundle ---------------------------------------------------------------
taxi_data
taxi_train "$T/train" 300 50 7
mkdir -p "$T/models/taxi"
cp -r "$T/train/model" "$T/models/taxi/1"
WARM="$T/models/taxi/1/assets.extra/warmup.jsonl"
ROW1=$(sed -n 1p "$WARM")
ROW2=$(sed -n 2p "$WARM")

# --- certificates -------------------------------------------------------------
C=$T/certs
mkdir -p "$C"
ossl() { openssl "$@" >>"$C/openssl.log" 2>&1 || fail "openssl $1: $(tail -5 "$C/openssl.log")"; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/$1.key"; }
# sign NAME CA SUBJECT EXTENSIONS
sign() {
    ossl req -new -key "$C/$1.key" -subj "$3" -out "$C/$1.csr"
    printf '%s\n' "$4" >"$C/$1.ext"
    ossl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial \
        -days 2 -extfile "$C/$1.ext" -out "$C/$1.pem"
}
for ca in ca rogue_ca; do
    newkey $ca
    ossl req -x509 -new -key "$C/$ca.key" -subj "/CN=cfx test $ca" -days 2 -out "$C/$ca.pem"
done
newkey server
sign server ca "/CN=localhost" $'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'
newkey client
sign client ca "/CN=cfx test client" "extendedKeyUsage=clientAuth"
newkey rogue
sign rogue rogue_ca "/CN=cfx rogue client" "extendedKeyUsage=clientAuth"
openssl verify -CAfile "$C/ca.pem" "$C/server.pem" "$C/client.pem" >/dev/null ||
    fail "the test certificates do not verify"

# SSLConfig text: each PEM line a string literal, adjacent literals join.
pem_field() { # FIELD FILE
    echo "$1:"
    sed 's/.*/  "&\\n"/' "$2"
}
{ pem_field server_key "$C/server.key"; pem_field server_cert "$C/server.pem"; } >"$T/tls.conf"
{ cat "$T/tls.conf"; pem_field custom_ca "$C/ca.pem"; echo "client_verify: true"; } >"$T/mtls.conf"

# --- servers --------------------------------------------------------------------
# start NAME FLAGS...: a server logging to $T/NAME.log; sets RPORT, GPORT
start() {
    local name=$1
    shift
    serve_start "$T/$name.log" --num_threads=2 --model_name=taxi --model_base_path="$T/models/taxi" "$@"
    SERVERS+=("$SPID")
    eval "${name}_PID=$SPID"
    serve_ports "$T/$name.log" "$SPID"
}
# stop NAME: SIGTERM, and it must exit 0 (under ASan: without leaks)
stop() {
    local pid
    eval "pid=\$${1}_PID"
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "cfx-serve ($1) exited with $rc after SIGTERM: $(tail -20 "$T/$1.log")"
}

start plain
PLAIN=$RPORT
start tls --ssl_config_file="$T/tls.conf"
TR=$RPORT TG=$GPORT
cp "$T/tls.log" "$T/serve.log" # what fail() shows

CURL=(curl -sS --max-time 20 --cacert "$C/ca.pem")
# same PATH [BODY]: the TLS server answers what the plain one answers
# (BODY as curl's --data-binary takes it: @FILE reads a file)
same() {
    local args=(-o "$T/a" -w '%{http_code}')
    [ $# -ge 2 ] && args+=(-H 'Content-Type: application/json' --data-binary "$2")
    local cp ct
    cp=$(curl -sS --max-time 20 "${args[@]}" "http://127.0.0.1:$PLAIN$1") || fail "plain $1"
    mv "$T/a" "$T/plain.out"
    ct=$("${CURL[@]}" "${args[@]}" "https://localhost:$TR$1") || fail "curl https $1"
    [ "$cp" = "$ct" ] || fail "$1: HTTP $ct over TLS, $cp in plain"
    cmp -s "$T/a" "$T/plain.out" || fail "$1: TLS answer differs: $(head -c 300 "$T/a")"
    echo "ok   $1 over TLS: HTTP $ct, $(wc -c <"$T/a") bytes as in plain"
}

echo "== REST over TLS"
same /v1/models/taxi
grep -q '"state": "AVAILABLE"' "$T/a" || fail "status over TLS: $(cat "$T/a")"
same /v1/models/taxi/metadata
same /v1/models/taxi:predict "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}"
grep -q '"predictions": \[\[' "$T/a" || fail "predict over TLS: $(cat "$T/a")"
# 4000 instances: a body of about 1.5 MB in and many TLS records out.
"$PY" - "$WARM" >"$T/big.json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(json.dumps({"signature_name": "predict_raw", "instances": (rows * 4000)[:4000]}))
EOF
same /v1/models/taxi:predict "@$T/big.json"
[ "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["predictions"]))' "$T/a")" = 4000 ] ||
    fail "4000 predictions expected over TLS"
# A chunked request body over TLS.
"${CURL[@]}" -o "$T/chunked" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' \
    --data-binary "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" \
    "https://localhost:$TR/v1/models/taxi:predict" || fail "chunked body over TLS"
curl -sS -o "$T/expect" --data-binary "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" \
    "http://127.0.0.1:$PLAIN/v1/models/taxi:predict" || fail "plain predict"
cmp -s "$T/chunked" "$T/expect" || fail "chunked predict over TLS: $(cat "$T/chunked")"
echo "ok   chunked request body over TLS"
# Keep-alive: three requests, one TLS connection.
"${CURL[@]}" -v -o /dev/null -o /dev/null -o /dev/null "https://localhost:$TR/v1/models/taxi" \
    "https://localhost:$TR/v1/models/taxi/metadata" "https://localhost:$TR/v1/models/taxi" 2>"$T/ka.log" ||
    fail "keep-alive over TLS: $(tail -5 "$T/ka.log")"
[ "$(grep -c 'SSL connection using' "$T/ka.log")" = 1 ] ||
    fail "keep-alive over TLS made $(grep -c 'SSL connection using' "$T/ka.log") handshakes for 3 requests"
grep -q 'Re-using existing connection' "$T/ka.log" || fail "curl did not reuse the TLS connection"
echo "ok   three keep-alive requests, one handshake"
# ALPN: REST picks http/1.1 even when h2 is offered first.
V=$("${CURL[@]}" --http2 -o /dev/null -w '%{http_version}' "https://localhost:$TR/v1/models/taxi")
[ "$V" = 1.1 ] || fail "REST over TLS with h2 offered: HTTP/$V"
echo "ok   ALPN http/1.1 on the REST port"

echo "== gRPC over TLS"
openssl s_client -connect "127.0.0.1:$TG" -alpn h2 -CAfile "$C/ca.pem" -verify_return_error \
    </dev/null >"$T/alpn.log" 2>&1 || fail "s_client h2: $(tail -5 "$T/alpn.log")"
grep -q '^ALPN protocol: h2' "$T/alpn.log" || fail "gRPC port did not select h2: $(grep -i alpn "$T/alpn.log")"
if openssl s_client -connect "127.0.0.1:$TG" -alpn http/1.1 -CAfile "$C/ca.pem" </dev/null \
    >"$T/alpn1.log" 2>&1 && grep -q '^ALPN protocol: http/1.1' "$T/alpn1.log"; then
    fail "the gRPC port accepted ALPN http/1.1"
fi
grep -qi 'no application protocol' "$T/alpn1.log" ||
    fail "ALPN http/1.1 on the gRPC port: no no_application_protocol alert: $(tail -5 "$T/alpn1.log")"
echo "ok   ALPN h2 on the gRPC port, http/1.1 alone refused"
# The full client suite, predictions checked against `cfx predict`.
{ head -n 1 "$CFX_SOURCE_DIR/examples/taxi/data.csv"; sed -n '5001,5030p' "$CFX_SOURCE_DIR/examples/taxi/data.csv"; } >"$T/rows.csv"
"$CFX" predict --bundle "$T/models/taxi/1" --input "$T/rows.csv" >"$T/expected.csv" || fail "cfx predict"
CFX_GRPC_CA="$C/ca.pem" "$PY" "$CFX_SOURCE_DIR/tests/e2e/grpc_client.py" "$TG" taxi "$T/rows.csv" \
    "$T/expected.csv" >"$T/grpc.log" 2>&1 || fail "grpc_client.py over TLS: $(tail -5 "$T/grpc.log")"
echo "ok   $(grep -c '^ok' "$T/grpc.log") grpc_client.py checks over TLS"
printf '\0\0\0\0\0' >"$T/empty.msg"
h2load -n 400 -c 4 -m 8 -H 'content-type: application/grpc' -H 'te: trailers' -d "$T/empty.msg" \
    "https://127.0.0.1:$TG/grpc.health.v1.Health/Check" >"$T/h2load.log" 2>&1 ||
    fail "h2load over TLS: $(tail -5 "$T/h2load.log")"
grep -q 'requests: 400 total, 400 started, 400 done, 400 succeeded' "$T/h2load.log" &&
    grep -q 'status codes: 400 2xx' "$T/h2load.log" || fail "h2load over TLS: $(grep -E 'requests:|status' "$T/h2load.log")"
grep -q 'ALPN.*h2' "$T/h2load.log" || grep -q 'Application protocol: h2' "$T/h2load.log" ||
    fail "h2load did not negotiate h2: $(grep -i -E 'alpn|protocol' "$T/h2load.log")"
echo "ok   h2load: 400 Health/Check over TLS (h2 by ALPN)"

echo "== hostile clients on the TLS ports"
# hostile PORT: random bytes, a truncated ClientHello, a record that is not
# a handshake; the server must drop each connection (within 10 s: a timeout
# here fails the test) and keep serving.
hostile() {
    "$PY" - "$1" <<'EOF' || fail "hostile client on port $1"
import socket, sys
port = int(sys.argv[1])
def send(data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError, OSError) as e:
        if isinstance(e, socket.timeout):
            raise
    s.close()
import random
rnd = random.Random(7)
for i in range(20):
    send(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4000))))
# A TLS record header promising a 512-byte handshake, then 3 bytes.
send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
# A record that is not a handshake (application data before any hello).
send(b"\x17\x03\x03\x00\x05hello")
print("dropped 22 hostile handshakes")
EOF
}
hostile "$TR"
hostile "$TG"
# Plain HTTP on the TLS REST port: a plain-text 400, then close.
CODE=$(curl -sS -o "$T/p" -w '%{http_code}' "http://127.0.0.1:$TR/v1/models/taxi") || fail "plain curl on TLS port"
[ "$CODE" = 400 ] && grep -q 'this port speaks HTTPS' "$T/p" || fail "plain HTTP on the TLS port: HTTP $CODE $(cat "$T/p")"
echo "ok   plain HTTP on the TLS REST port: 400 \"$(cat "$T/p")\""
# Plain gRPC (h2c) on the TLS gRPC port fails as a gRPC error.
"$PY" - "$TG" <<'EOF' || fail "plain gRPC on the TLS port"
import grpc, sys
ch = grpc.insecure_channel("127.0.0.1:%s" % sys.argv[1])
try:
    ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
    sys.exit("plain gRPC was answered on the TLS port")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.UNAVAILABLE, e.code()
    print("ok   plain gRPC on the TLS port:", e.code())
EOF
# After all that, both ports still serve.
same /v1/models/taxi:predict "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1]}"
CFX_GRPC_CA="$C/ca.pem" "$PY" "$CFX_SOURCE_DIR/tests/e2e/grpc_client.py" "$TG" taxi "$T/rows.csv" \
    "$T/expected.csv" >"$T/grpc.log" 2>&1 || fail "grpc_client.py after hostile clients: $(tail -5 "$T/grpc.log")"
echo "ok   both TLS ports serve after the hostile clients"
stop tls

echo "== mutual TLS (client_verify)"
start mtls --ssl_config_file="$T/mtls.conf"
MR=$RPORT MG=$GPORT
cp "$T/mtls.log" "$T/serve.log"
RC=0
"${CURL[@]}" -o /dev/null "https://localhost:$MR/v1/models/taxi" 2>"$T/nocert" || RC=$?
[ "$RC" != 0 ] || fail "REST answered a client without a certificate"
echo "ok   REST without a client certificate: curl exit $RC ($(head -c 120 "$T/nocert"))"
RC=0
"${CURL[@]}" --cert "$C/rogue.pem" --key "$C/rogue.key" -o /dev/null "https://localhost:$MR/v1/models/taxi" \
    2>"$T/rogue" || RC=$?
[ "$RC" != 0 ] || fail "REST answered a client certificate from an unknown CA"
echo "ok   REST with a certificate of another CA: curl exit $RC"
CODE=$("${CURL[@]}" --cert "$C/client.pem" --key "$C/client.key" -o "$T/a" -w '%{http_code}' \
    -d "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW1, $ROW2]}" \
    "https://localhost:$MR/v1/models/taxi:predict") || fail "REST with the client certificate"
[ "$CODE" = 200 ] && grep -q '"predictions": \[\[' "$T/a" || fail "mTLS predict: HTTP $CODE $(cat "$T/a")"
echo "ok   REST predict with the client certificate"
CFX_GRPC_CA="$C/ca.pem" CFX_GRPC_CERT="$C/client.pem" CFX_GRPC_KEY="$C/client.key" \
    "$PY" "$CFX_SOURCE_DIR/tests/e2e/grpc_client.py" "$MG" taxi "$T/rows.csv" "$T/expected.csv" \
    >"$T/grpc.log" 2>&1 || fail "grpc_client.py over mutual TLS: $(tail -5 "$T/grpc.log")"
echo "ok   $(grep -c '^ok' "$T/grpc.log") grpc_client.py checks over mutual TLS"
"$PY" - "$MG" "$C" <<'EOF' 2>"$T/grpc-refused.log" || fail "gRPC without a valid client certificate"
import grpc, sys
port, c = sys.argv[1], sys.argv[2]
ca = open(c + "/ca.pem", "rb").read()
for what, key, cert in (("no client certificate", None, None),
                        ("a certificate of another CA", "rogue.key", "rogue.pem"),
                        ("the CA's client certificate", "client.key", "client.pem")):
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=open(c + "/" + key, "rb").read() if key else None,
        certificate_chain=open(c + "/" + cert, "rb").read() if cert else None)
    ch = grpc.secure_channel("localhost:%s" % port, creds)
    try:
        ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()
    ch.close()
    want = grpc.StatusCode.OK if key == "client.key" else grpc.StatusCode.UNAVAILABLE
    assert code == want, "%s: %s, want %s" % (what, code, want)
    print("ok   gRPC with %s: %s" % (what, code))
EOF
stop mtls

echo "== optional client certificates: a verified one stands in for the token"
# custom_ca without client_verify: a certificate is asked for, not required;
# with --inference_token_file a verified certificate passes without the token
# (docs/serving.md, Security), an unverified one does not.
{ cat "$T/tls.conf"; pem_field custom_ca "$C/ca.pem"; } >"$T/optional.conf"
(umask 077; echo "s3cret-token-for-tls-test" >"$T/inference.token")
start optional --ssl_config_file="$T/optional.conf" --inference_token_file="$T/inference.token"
OR=$RPORT OG=$GPORT
cp "$T/optional.log" "$T/serve.log"
status_code() { "${CURL[@]}" -o "$T/a" -w '%{http_code}' "$@" "https://localhost:$OR/v1/models/taxi"; }
CODE=$(status_code) || fail "curl without a certificate (optional)"
[ "$CODE" = 401 ] || fail "no certificate, no token: HTTP $CODE $(cat "$T/a")"
CODE=$(status_code --cert "$C/client.pem" --key "$C/client.key") || fail "curl with the client certificate (optional)"
[ "$CODE" = 200 ] || fail "verified certificate, no token: HTTP $CODE $(cat "$T/a")"
CODE=$(status_code --cert "$C/rogue.pem" --key "$C/rogue.key") || fail "curl with the rogue certificate (optional)"
[ "$CODE" = 401 ] || fail "unverified certificate, no token: HTTP $CODE $(cat "$T/a")"
CODE=$(status_code -H "Authorization: Bearer s3cret-token-for-tls-test") || fail "curl with the token"
[ "$CODE" = 200 ] || fail "token, no certificate: HTTP $CODE $(cat "$T/a")"
echo "ok   REST: no credentials 401, verified certificate 200, other CA's certificate 401, token 200"
"$PY" - "$OG" "$C" <<'EOF' || fail "gRPC with an optional client certificate"
import grpc, sys
port, c = sys.argv[1], sys.argv[2]
ca = open(c + "/ca.pem", "rb").read()
status = b"\x0a\x06\x0a\x04taxi"  # GetModelStatusRequest{model_spec{name: "taxi"}}
for what, key, cert, want in (("no certificate", None, None, grpc.StatusCode.UNAUTHENTICATED),
                              ("another CA's certificate", "rogue.key", "rogue.pem",
                               grpc.StatusCode.UNAUTHENTICATED),
                              ("the CA's certificate", "client.key", "client.pem", grpc.StatusCode.OK)):
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=open(c + "/" + key, "rb").read() if key else None,
        certificate_chain=open(c + "/" + cert, "rb").read() if cert else None)
    ch = grpc.secure_channel("localhost:%s" % port, creds)
    try:
        ch.unary_unary("/tensorflow.serving.ModelService/GetModelStatus")(status, timeout=10)
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()
    ch.close()
    assert code == want, "%s: %s, want %s" % (what, code, want)
    print("ok   gRPC GetModelStatus with %s: %s" % (what, code))
EOF
stop optional

echo "== bad SSL configs are refused at start"
# refused NAME CONFIG EXPECTED...: cfx-serve must exit non-zero naming them
refused() {
    local name=$1 conf=$2
    shift 2
    local rc=0
    "$CFX_SERVE" --port=0 --rest_api_port=auto --num_threads=1 --model_name=taxi \
        --model_base_path="$T/models/taxi" --ssl_config_file="$conf" >"$T/$name.log" 2>&1 &
    local pid=$!
    SERVERS+=("$pid")
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then fail "$name: cfx-serve is still running"; fi
    wait "$pid" || rc=$?
    [ "$rc" != 0 ] || fail "$name: cfx-serve exited 0"
    for want in "$@"; do
        grep -q -- "$want" "$T/$name.log" || fail "$name: no '$want' in: $(cat "$T/$name.log")"
    done
    echo "ok   $name refused: $(grep -m1 -- "$name.conf" "$T/$name.log")"
}
{ echo 'server_key: "not a key"'; pem_field server_cert "$C/server.pem"; } >"$T/badkey.conf"
refused badkey "$T/badkey.conf" "badkey.conf" "server_key"
{ pem_field server_key "$C/client.key"; pem_field server_cert "$C/server.pem"; } >"$T/mismatch.conf"
refused mismatch "$T/mismatch.conf" "mismatch.conf" "server_key" "does not match"
{ cat "$T/tls.conf"; echo "client_verify: true"; } >"$T/noca.conf"
refused noca "$T/noca.conf" "noca.conf" "custom_ca"
{ cat "$T/tls.conf"; echo 'custom_ca: "junk"'; } >"$T/badca.conf"
refused badca "$T/badca.conf" "badca.conf" "custom_ca"

stop plain
echo "PASS"
