#!/usr/bin/env bash
# serve_tls_bench.sh: what TLS (--ssl_config_file) costs cfx-serve, next to
# what it costs nginx on the same machine with the same certificate.
#
#   REST: wrk over keep-alive connections, four servers per round in one
#         run: nginx static file (plain, TLS), cfx-serve :predict (plain,
#         TLS). Ratios per round: TLS / plain for each server, and
#         cfx-serve TLS / nginx TLS; the median of ROUNDS is reported.
#   REST, a new connection per request (wrk with "Connection: close"): the
#         handshake's cost, cfx-serve TLS / nginx TLS.
#   gRPC: h2load Predict, cfx-serve over h2c and over TLS (h2 by ALPN),
#         beside nginx's static file over h2c and h2 TLS.
#
# One ECDSA P-256 certificate made by `openssl` for both servers; the
# negotiated protocol and cipher of each are printed.
#
# usage: bench/serve_tls_bench.sh [BUILD_DIR]   (default: build)
# env:   THREADS (2), CONNS (32), CLIENTS (8), STREAMS (16), SECS (5),
#        ROUNDS (3), SERVER_THREADS (2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
. "$ROOT/bench/lib.sh"
need "$CFX" "$CFX_SERVE" "$NGINX" wrk h2load curl openssl

echo "# building the taxi bundle (short training: throughput does not depend on it)"
taxi_bundle 500
ROW=$(sed -n 1p "$T/models/taxi/1/assets.extra/warmup.jsonl")
BODY="{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}"

# --- one certificate for every server -----------------------------------------
C=$T/certs
mkdir -p "$C"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=cfx bench CA" -keyout "$C/ca.key" -out "$C/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$C/server.key" -out "$C/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$C/server.ext"
openssl x509 -req -in "$C/server.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
    -days 2 -extfile "$C/server.ext" -out "$C/server.pem" 2>/dev/null
chmod 644 "$C"/* # nginx workers may run as another user
{
    echo "server_key:"; sed 's/.*/  "&\\n"/' "$C/server.key"
    echo "server_cert:"; sed 's/.*/  "&\\n"/' "$C/server.pem"
} >"$T/ssl.conf"

# --- nginx: plain and TLS, HTTP/1.1 and HTTP/2 ----------------------------------
NP=$(free_port) NS=$(free_port) NH=$(free_port) NHS=$(free_port)
chmod 755 "$C"
nginx_run "$NGINX_H2    ssl_certificate $C/server.pem;
    ssl_certificate_key $C/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
" "127.0.0.1:$NP" "127.0.0.1:$NS ssl" "127.0.0.1:$NH http2" "127.0.0.1:$NHS ssl http2"

# --- cfx-serve: plain, then TLS ----------------------------------------------------
serve_start --port=0 --rest_api_port=auto
serve_wait both
CR=$RPORT CG=$GPORT
mv "$T/serve.log" "$T/plain.log"
serve_start --port=0 --rest_api_port=auto --ssl_config_file="$T/ssl.conf"
serve_wait both
SR=$RPORT SG=$GPORT

for u in "http://127.0.0.1:$NP/small.json" "https://localhost:$NS/small.json"; do
    curl -sf --cacert "$C/ca.pem" "$u" >/dev/null || { echo "nginx: $u failed" >&2; cat "$T/nginx/error.log" >&2; exit 1; }
done
curl -sf -d "$BODY" "http://127.0.0.1:$CR/v1/models/taxi:predict" >/dev/null
curl -sf --cacert "$C/ca.pem" -d "$BODY" "https://localhost:$SR/v1/models/taxi:predict" >/dev/null
for p in "nginx $NS" "cfx-serve $SR"; do
    set -- $p
    openssl s_client -connect "127.0.0.1:$2" -CAfile "$C/ca.pem" </dev/null 2>/dev/null |
        sed -n "s/^New, \(.*\)/$1 TLS: \1/p"
done

wrk_post_lua "$BODY" >"$T/post.lua"
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
clean() { # wrk output FILE had no errors, or exit
    if grep -qE 'Non-2xx|Socket errors' "$1"; then echo "errors in $1:" >&2; cat "$1" >&2; exit 1; fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

WRK=(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s")
echo "# REST keep-alive: ${WRK[*]}, $ROUNDS rounds; servers use $SERVER_THREADS threads/workers"
: >"$T/r_cfx" ; : >"$T/r_ngx"; : >"$T/r_vs"; : >"$T/r_vsplain"
for r in $(seq 1 "$ROUNDS"); do
    "${WRK[@]}" "http://127.0.0.1:$NP/small.json" >"$T/np.txt"
    "${WRK[@]}" "https://localhost:$NS/small.json" >"$T/ns.txt"
    "${WRK[@]}" -s "$T/post.lua" "http://127.0.0.1:$CR/v1/models/taxi:predict" >"$T/cp.txt"
    "${WRK[@]}" -s "$T/post.lua" "https://localhost:$SR/v1/models/taxi:predict" >"$T/cs.txt"
    for f in np ns cp cs; do clean "$T/$f.txt"; done
    A=$(rps "$T/np.txt") B=$(rps "$T/ns.txt") X=$(rps "$T/cp.txt") Y=$(rps "$T/cs.txt")
    echo "round $r: nginx static plain $A, TLS $B req/s; cfx-serve :predict plain $X, TLS $Y req/s"
    ratio "$Y" "$X" >>"$T/r_cfx"; echo >>"$T/r_cfx"
    ratio "$B" "$A" >>"$T/r_ngx"; echo >>"$T/r_ngx"
    ratio "$Y" "$B" >>"$T/r_vs"; echo >>"$T/r_vs"
    ratio "$X" "$A" >>"$T/r_vsplain"; echo >>"$T/r_vsplain"
done
echo "median TLS / plain: cfx-serve $(median <"$T/r_cfx") (rounds: $(tr '\n' ' ' <"$T/r_cfx")), nginx $(median <"$T/r_ngx") (rounds: $(tr '\n' ' ' <"$T/r_ngx"))"
echo "median cfx-serve / nginx: over TLS $(median <"$T/r_vs") (rounds: $(tr '\n' ' ' <"$T/r_vs")), plain $(median <"$T/r_vsplain")"

echo "# REST, a new TLS connection per request (wrk -H 'Connection: close'), $ROUNDS rounds"
: >"$T/r_hs"
for r in $(seq 1 "$ROUNDS"); do
    "${WRK[@]}" -H 'Connection: close' "https://localhost:$NS/small.json" >"$T/ns.txt"
    "${WRK[@]}" -H 'Connection: close' -s "$T/post.lua" "https://localhost:$SR/v1/models/taxi:predict" >"$T/cs.txt"
    B=$(rps "$T/ns.txt") Y=$(rps "$T/cs.txt")
    echo "round $r: nginx static TLS $B, cfx-serve :predict TLS $Y connections+requests/s"
    ratio "$Y" "$B" >>"$T/r_hs"; echo >>"$T/r_hs"
done
echo "median cfx-serve / nginx, a handshake per request: $(median <"$T/r_hs") (rounds: $(tr '\n' ' ' <"$T/r_hs"))"

# --- gRPC: a framed PredictRequest for h2load, made through the plain port.
"$PY" "$ROOT/bench/grpc_predict_body.py" "$CG" "$T/models/taxi/1/assets.extra/warmup.jsonl" "$T/predict.bin"
H2=(h2load -t"$THREADS" -c"$CLIENTS" -m"$STREAMS" -D "$SECS")
GRPC=(-d "$T/predict.bin" -H 'content-type: application/grpc' -H 'te: trailers')
h2rps() { sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$1"; }
h2ok() {
    grep -q " 0 failed, 0 errored, 0 timeout" "$1" && grep -q "status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" "$1" ||
        { echo "errors in $1:" >&2; cat "$1" >&2; exit 1; }
}
echo "# gRPC Predict: ${H2[*]}, $ROUNDS rounds"
: >"$T/g_cfx"; : >"$T/g_ngx"
for r in $(seq 1 "$ROUNDS"); do
    "${H2[@]}" "http://127.0.0.1:$NH/small.json" >"$T/nh.txt" 2>&1
    "${H2[@]}" "https://127.0.0.1:$NHS/small.json" >"$T/nhs.txt" 2>&1
    "${H2[@]}" "${GRPC[@]}" "http://127.0.0.1:$CG/tensorflow.serving.PredictionService/Predict" >"$T/cg.txt" 2>&1
    "${H2[@]}" "${GRPC[@]}" "https://127.0.0.1:$SG/tensorflow.serving.PredictionService/Predict" >"$T/sg.txt" 2>&1
    for f in nh nhs cg sg; do h2ok "$T/$f.txt"; done
    grep -q 'Application protocol: h2' "$T/sg.txt" || { echo "no h2 by ALPN:" >&2; cat "$T/sg.txt" >&2; exit 1; }
    A=$(h2rps "$T/nh.txt") B=$(h2rps "$T/nhs.txt") X=$(h2rps "$T/cg.txt") Y=$(h2rps "$T/sg.txt")
    echo "round $r: nginx static h2c $A, h2 TLS $B req/s; cfx-serve gRPC Predict h2c $X, TLS $Y req/s"
    ratio "$Y" "$X" >>"$T/g_cfx"; echo >>"$T/g_cfx"
    ratio "$B" "$A" >>"$T/g_ngx"; echo >>"$T/g_ngx"
done
echo "median gRPC TLS / h2c: cfx-serve $(median <"$T/g_cfx") (rounds: $(tr '\n' ' ' <"$T/g_cfx")), nginx $(median <"$T/g_ngx") (rounds: $(tr '\n' ' ' <"$T/g_ngx"))"
