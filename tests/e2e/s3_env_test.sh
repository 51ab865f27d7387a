#!/usr/bin/env bash
# s3_env_test.sh: TF Serving's S3 environment variables (docs/s3.md)
# against a real S3-compatible server speaking HTTPS with a self-signed
# certificate (s3rver, tests/e2e/s3_lib.sh):
#   - S3_USE_HTTPS unset (https): the certificate is checked, so a push is
#     refused with curl's certificate error; S3_VERIFY_SSL=0 pushes;
#   - S3_USE_HTTPS=0: plain HTTP to the TLS port fails, the scheme of an
#     S3_ENDPOINT of https://host:port wins over it and pushes;
#   - cfx-serve with S3_VERIFY_SSL=0 serves the version over HTTPS; with the
#     check on it starts, cannot list, says why and serves nothing; a
#     restart loads the cached copy without downloading it again;
#   - a malformed variable stops cfx push and cfx-serve, naming it.
set -eEuo pipefail
FAIL_LOG_LINES=40
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"
command -v openssl >/dev/null || fail "openssl missing (scripts/install-deps.sh installs it)"

taxi_data
taxi_train "$T/m1" 100 10 5
s3_bless "$T/m1/model" "$T/ev"
push() { "$CFX" push --model "$T/m1/model" --blessing "$T/ev/blessing" --to s3://models/taxi; }

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
S3_TLS_KEY=$T/key.pem S3_TLS_CERT=$T/cert.pem s3_start
[ -z "${S3_USE_HTTPS+x}" ] || fail "S3_USE_HTTPS is set"

# --- https, the certificate checked, then not ------------------------------------
rc=0
push >"$T/p.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "push over https to a self-signed server: exit $rc: $(cat "$T/p.out")"
grep -q "https://127.0.0.1:$S3_PORT: SSL certificate problem: self.signed certificate" "$T/p.out" ||
    fail "the refusal does not name the certificate: $(cat "$T/p.out")"
echo "verify on: $(cat "$T/p.out")"
OUT=$(S3_VERIFY_SSL=0 push)
[ "$OUT" = "pushed version 1: s3://models/taxi/1" ] || fail "S3_VERIFY_SSL=0 push: $OUT"

# --- the scheme: S3_USE_HTTPS=0, and a scheme in S3_ENDPOINT ----------------------
rc=0
S3_USE_HTTPS=0 push >"$T/p.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "plain HTTP to the TLS port: exit $rc: $(cat "$T/p.out")"
grep -q "GET http://127.0.0.1:$S3_PORT: " "$T/p.out" || fail "S3_USE_HTTPS=0 did not use http: $(cat "$T/p.out")"
OUT=$(S3_USE_HTTPS=0 S3_VERIFY_SSL=false S3_ENDPOINT="https://127.0.0.1:$S3_PORT/" push)
[ "$OUT" = "pushed version 2: s3://models/taxi/2" ] || fail "https:// in S3_ENDPOINT: $OUT"
echo "S3_USE_HTTPS=0: $(cut -c1-120 "$T/p.out")...; https:// in S3_ENDPOINT wins: $OUT"

# --- malformed variables, and the signed region -----------------------------------
for v in "S3_USE_HTTPS=yes" "S3_VERIFY_SSL=2" "S3_CONNECT_TIMEOUT_MSEC=soon" "AWS_REGION=Moon Base"; do
    rc=0
    env "$v" "$CFX" push --model "$T/m1/model" --blessing "$T/ev/blessing" --to s3://models/taxi \
        >"$T/p.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -q "environment variable ${v%%=*}: " "$T/p.out" ||
        fail "$v: exit $rc: $(cat "$T/p.out")"
done
rc=0
env -u AWS_SECRET_ACCESS_KEY "$CFX_SERVE" --port=0 --rest_api_port=auto --model_name=taxi \
    --model_base_path=s3://models/taxi >"$T/bad.log" 2>&1 || rc=$?
[ "$rc" = 255 ] && grep -q "model taxi: environment variable AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" "$T/bad.log" ||
    fail "cfx-serve without a secret key: exit $rc: $(cat "$T/bad.log")"
echo "malformed variables refused, naming them"

# --- cfx-serve over https ---------------------------------------------------------
start_serve() { # LOG: cfx-serve on s3://models/taxi; sets SPID
    serve_start "$1" --num_threads=2 --model_name=taxi --model_base_path=s3://models/taxi \
        --model_cache_dir="$T/cache" --file_system_poll_wait_seconds=1
}
start_serve "$T/verify.log"
for _ in $(seq 1 100); do
    grep -q "could not list base path s3://models/taxi for servable taxi: .*SSL certificate problem" "$T/verify.log" && break
    sleep 0.05
done
grep -q "could not list base path s3://models/taxi for servable taxi: .*SSL certificate problem" "$T/verify.log" ||
    fail "cfx-serve with the check on does not say why it cannot list: $(cat "$T/verify.log")"
grep -q "Successfully loaded" "$T/verify.log" && fail "a version was loaded over an unchecked connection"
kill "$SPID"
wait "$SPID" 2>/dev/null || true

S3_VERIFY_SSL=0 start_serve "$T/serve.log"
serve_ports "$T/serve.log" "$SPID"
ROW=$(sed -n 1p "$T/m1/model/assets.extra/warmup.jsonl")
curl -sf --data-binary "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}" \
    "http://127.0.0.1:$RPORT/v1/models/taxi:predict" >/dev/null || fail "predict over the https store"
curl -s "http://127.0.0.1:$RPORT/v1/models/taxi" | grep -q '"version": "2"' || fail "version 2 not served"

# --- a restart reuses the cached copy (same manifest: no download) ----------------
INODE=$(stat -c %i "$T"/cache/taxi-*/2)
kill "$SPID"
wait "$SPID" 2>/dev/null || true
S3_VERIFY_SSL=0 start_serve "$T/serve.log"
for _ in $(seq 1 400); do grep -q 'Successfully loaded servable version {name: taxi version: 2}' "$T/serve.log" && break; sleep 0.05; done
grep -q 'Successfully loaded servable version {name: taxi version: 2}' "$T/serve.log" || fail "restart: version 2 not loaded"
[ "$(stat -c %i "$T"/cache/taxi-*/2)" = "$INODE" ] || fail "restart: version 2 was downloaded again"
echo "s3_env_test: OK (served version 2 from https://127.0.0.1:$S3_PORT with S3_VERIFY_SSL=0)"
