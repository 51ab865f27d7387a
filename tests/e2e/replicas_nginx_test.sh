#!/usr/bin/env bash
# replicas_nginx_test.sh: three cfx-serve replicas reading one shared model
# base path behind nginx (proxy_pass for REST, grpc_pass for gRPC over
# h2c) running deploy/nginx/cfx-serve.conf (docs/deploy.md) with the
# test's replicas and ports in place of its example addresses. Under
# continuous load through nginx (wrk POSTing :predict over REST, `cfx
# perf` calling Predict over gRPC):
#   - a new version published into the base path (an atomic rename, as
#     `cfx push` does) is served by every replica within 5 s (each replica
#     polled directly: /v1/models/taxi/versions/2:predict answers 200);
#   - one replica stopped (SIGTERM: it drains) and restarted, then another
#     killed (SIGKILL) and restarted on its ports: nginx retries on the
#     others what failed there, and the restarted replicas take traffic
#     again. REST: 0 requests fail (no non-2xx, no socket error). gRPC: 0
#     fail at the graceful stop; at the kill only calls nginx had already
#     sent to the killed replica may fail (502 in nginx's log with that
#     replica the only upstream, at most the 4 in flight): grpc_pass
#     streams request bodies unbuffered, so nginx cannot retry those; cfx
#     perf's error count must equal them. nginx's log shows that retries
#     happened.
set -eEuo pipefail
for c in nginx wrk; do
    command -v "$c" >/dev/null || { echo "replicas_nginx_test: $c not installed"; exit 1; }
done
NGINX_V=$(nginx -V 2>&1)
if grep -q -- '--without-http_grpc_module' <<<"$NGINX_V"; then
    echo "replicas_nginx_test: nginx built without grpc_pass"; exit 1
fi
FAIL_LOG_LINES=30
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
LOAD_S=${REPLICAS_LOAD_SECONDS:-20}
PUSH_BOUND_MS=5000

taxi_data
taxi_train "$T/train1" 60 10 1
taxi_train "$T/train2" 60 10 2
B=$T/models/taxi
mkdir -p "$B"
publish() { # SRC VERSION: copy into a hidden folder, then rename (atomic)
    cp -r "$1" "$B/.tmp-$2"
    mv "$B/.tmp-$2" "$B/$2"
}
publish "$T/train1/model" 1

REST=() GRPC=() SPIDS=()
start_replica() { # I [REST_PORT GRPC_PORT]: starts replica I, logs to $T/serve$I.log
    local i=$1 rp=${2:-auto} gp=${3:-0}
    : >>"$T/serve$i.log"
    "$CFX_SERVE" --port="$gp" --rest_api_port="$rp" --num_threads=1 --model_name=taxi \
        --model_base_path="$B" --file_system_poll_wait_seconds=1 >>"$T/serve$i.log" 2>&1 &
    SPIDS[i]=$!
    PIDS+=("$!")
}
wait_ports() { # I: waits until replica I, first started, logs both ports; sets REST[I], GRPC[I]
    serve_ports "$T/serve$1.log" "${SPIDS[$1]}"
    REST[$1]=$RPORT GRPC[$1]=$GPORT
}
for i in 0 1 2; do start_replica $i; done
for i in 0 1 2; do wait_ports $i; done

# nginx in front, on two free ports.
read -r NR NG < <($PY -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
N=$T/nginx
mkdir -p "$N"
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
# deploy/nginx/cfx-serve.conf as shipped, its replicas and ports replaced by
# the test's (each replacement must happen exactly where expected).
$PY - "$CFX_SOURCE_DIR/deploy/nginx/cfx-serve.conf" "$N/cfx-serve.conf" "$NR" "$NG" \
    "${REST[0]} ${REST[1]} ${REST[2]}" "${GRPC[0]} ${GRPC[1]} ${GRPC[2]}" <<'PYEOF' || fail "deploy/nginx/cfx-serve.conf"
import re, sys
src, dst, nr, ng, rest, grpc = sys.argv[1:7]
text = open(src).read()
rest, grpc = iter(rest.split()), iter(grpc.split())
text, n1 = re.subn(r"server 10\.0\.0\.1[123]:8501 ", lambda m: "server 127.0.0.1:%s " % next(rest), text)
text, n2 = re.subn(r"server 10\.0\.0\.1[123]:8500 ", lambda m: "server 127.0.0.1:%s " % next(grpc), text)
text, n3 = re.subn(r"listen 8501;", "listen 127.0.0.1:%s;" % nr, text)
text, n4 = re.subn(r"listen 8500 http2;", "listen 127.0.0.1:%s http2;" % ng, text)
assert (n1, n2, n3, n4) == (3, 3, 1, 1), (n1, n2, n3, n4)
open(dst, "w").write(text)
PYEOF
{
    echo "$USER_LINE"
    cat <<EOF
worker_processes 2;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    log_format up '\$server_port \$status "\$upstream_addr" "\$upstream_status" \$request_time';
    access_log $N/access.log up;

    include $N/cfx-serve.conf;
}
EOF
} >"$N/nginx.conf"
nginx -t -p "$N" -c "$N/nginx.conf" >"$N/t.log" 2>&1 || fail "nginx -t: $(cat "$N/t.log")"
nginx -p "$N" -c "$N/nginx.conf" >"$N/stdout.log" 2>>"$N/error.log" &
NPID=$!
PIDS+=("$NPID")
# SIGTERM: the master stops its workers and waits for them (a SIGKILL of
# the master alone would leave them running).
on_exit() {
    kill -TERM "$NPID" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$NPID" 2>/dev/null || return 0
        sleep 0.05
    done
}
U=http://127.0.0.1:$NR
for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/ready")" = 200 ] && break
    kill -0 "$NPID" 2>/dev/null || fail "nginx exited: $(cat "$N/error.log")"
    sleep 0.05
done

ROW=$(sed -n 1p "$B/1/assets.extra/warmup.jsonl")
BODY="{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}"
$PY -c 'import json,sys
print("wrk.method = \"POST\"\nwrk.body = " + json.dumps(sys.argv[1]) + "\nwrk.headers[\"Content-Type\"] = \"application/json\"")' "$BODY" >"$T/post.lua"
P=$(curl -sf -d "$BODY" "$U/v1/models/taxi:predict") || fail "predict through nginx"
grep -q predictions <<<"$P" || fail "predict through nginx: $P"
"$CFX" perf --target "grpc://127.0.0.1:$NG" --model taxi --data "$B/1/assets.extra/warmup.jsonl" \
    --requests 20 >"$T/perf0.txt" 2>&1 || fail "gRPC through nginx: $(cat "$T/perf0.txt")"

# --- continuous load through nginx ------------------------------------------
# wrk's --timeout 10s: on a machine shared with builds a request may wait
# seconds for a CPU; slow is not failed (wrk's default gives up after 2 s).
wrk -t1 -c6 -d"${LOAD_S}s" --timeout 10s -s "$T/post.lua" "$U/v1/models/taxi:predict" >"$T/wrk.txt" 2>&1 &
WPID=$!
"$CFX" perf --target "grpc://127.0.0.1:$NG" --model taxi --data "$B/1/assets.extra/warmup.jsonl" \
    --concurrency 4 --duration "$LOAD_S" >"$T/perf.txt" 2>&1 &
GPID=$!
sleep 2

# A new version: each replica serves it (version-pinned predict) within the bound.
T0=$(date +%s%N)
publish "$T/train2/model" 2
MAXMS=0
for i in 0 1 2; do
    for _ in $(seq 1 400); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -d "$BODY" \
            "http://127.0.0.1:${REST[i]}/v1/models/taxi/versions/2:predict")" = 200 ] && break
        sleep 0.01
    done
    MS=$((($(date +%s%N) - T0) / 1000000))
    [ "$MS" -le "$PUSH_BOUND_MS" ] || fail "replica $i served version 2 only after $MS ms (bound $PUSH_BOUND_MS)"
    [ "$MS" -gt "$MAXMS" ] && MAXMS=$MS
done
echo "version 2 served by all 3 replicas ${MAXMS} ms after the rename"
sleep 1

# restart_replica I: starts replica I again on its ports, waits until it is
# ready and serves version 2.
restart_replica() {
    local i=$1
    start_replica "$i" "${REST[i]}" "${GRPC[i]}"
    for _ in $(seq 1 400); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${REST[i]}/v1/ready")" = 200 ] && break
        kill -0 "${SPIDS[i]}" 2>/dev/null || { cp "$T/serve$i.log" "$T/serve.log"; fail "restarted replica $i exited"; }
        sleep 0.05
    done
    ST=$(curl -s "http://127.0.0.1:${REST[i]}/v1/models/taxi")
    grep -q '"version": "2"' <<<"$ST" || fail "restarted replica $i does not serve version 2: $ST"
}

# Replica 0 stopped gracefully (SIGTERM: it drains), then restarted.
TERM_FROM=$(($(wc -l <"$N/access.log") + 1))
kill -TERM "${SPIDS[0]}"
RC=0; wait "${SPIDS[0]}" || RC=$?
[ "$RC" = 0 ] || fail "replica 0 exit status $RC after SIGTERM under load"
sleep 1
restart_replica 0
sleep 1
TERM_TO=$(wc -l <"$N/access.log")

# Replica 1 killed (SIGKILL: what it had in flight is lost to it), then
# restarted on the same ports.
KILL_FROM=$((TERM_TO + 1))
kill -9 "${SPIDS[1]}"
wait "${SPIDS[1]}" 2>/dev/null || true
sleep 1
restart_replica 1
KILL_BACK=$(wc -l <"$N/access.log")
sleep 1

wait "$WPID" || fail "wrk: $(cat "$T/wrk.txt")"
GRC=0
wait "$GPID" || GRC=$?
[ "$GRC" = 0 ] || fail "cfx perf (gRPC through nginx) exit status $GRC: $(cat "$T/perf.txt")"

cat "$T/wrk.txt"
cat "$T/perf.txt"
grep -q 'Non-2xx' "$T/wrk.txt" && fail "REST: non-2xx answers through nginx"
grep -q 'Socket errors' "$T/wrk.txt" && fail "REST: socket errors through nginx"
NREQ=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$T/wrk.txt")
[ "${NREQ:-0}" -gt 200 ] || fail "REST: too few requests under load: $NREQ"
GOK=$(awk '$1 ~ /^[0-9]+$/ && NF >= 3 { print $2; exit }' "$T/perf.txt")
GERR=$(awk '$1 ~ /^[0-9]+$/ && NF >= 3 { print $3; exit }' "$T/perf.txt")
[ "${GOK:-0}" -gt 200 ] || fail "gRPC: too few requests under load: ${GOK:-none}"

# nginx's log, one line per request: port, status, upstream address(es),
# upstream status(es). REST: every answer 200. gRPC: every answer 200 but
# those nginx cannot retry. grpc_pass streams the request body to the
# upstream unbuffered, so a call nginx has already sent cannot go to
# another replica: one in flight on the killed replica ends 502 with that
# replica its only upstream (docs/deploy.md). The stopped replica loses
# none: it refuses new connections and serves calls that crossed its
# GOAWAY notice. Nothing else may fail, and cfx perf's error count must be
# exactly those.
L=$N/access.log
# 499 is nginx's note that the client left: wrk and cfx perf leave with
# requests in flight when their time is up (and would report a request they
# gave up on themselves, as a timeout or an error).
BAD_R=$(awk -v p="$NR" '$1 == p && $2 != 200 && $2 != 499' "$L" | wc -l)
[ "$BAD_R" = 0 ] || fail "nginx answered $BAD_R REST requests with non-200: $(awk -v p="$NR" '$1 == p && $2 != 200 && $2 != 499' "$L" | head -5)"
BAD_G=$(awk -v p="$NG" '$1 == p && $2 != 200 && $2 != 499' "$L" | wc -l)
sent_to() { # FROM TO I: gRPC calls answered 502 in lines FROM..TO whose only upstream was replica I
    awk -v p="$NG" -v k="\"127.0.0.1:${GRPC[$3]}\"" -v a="$1" -v b="$2" \
        'NR >= a && NR <= b && $1 == p && $2 == 502 && $3 == k && $4 == "\"502\""' "$L" | wc -l
}
LOST_TERM=$(sent_to "$TERM_FROM" "$TERM_TO" 0)
LOST_KILL=$(sent_to "$KILL_FROM" "$KILL_BACK" 1)
[ "$LOST_TERM" = 0 ] || fail "gRPC: $LOST_TERM calls failed while replica 0 drained"
[ "$BAD_G" = "$LOST_KILL" ] ||
    fail "gRPC: $BAD_G failed through nginx, only $LOST_KILL of them already sent to the killed replica: $(awk -v p="$NG" '$1 == p && $2 != 200 && $2 != 499' "$L" | head -5)"
# cfx perf keeps 4 calls in flight: no more can be caught by the kill.
[ "$LOST_KILL" -le 4 ] || fail "gRPC: $LOST_KILL calls lost at the kill (at most 4 in flight)"
[ "${GERR:-0}" = "$LOST_KILL" ] || fail "gRPC: cfx perf counts ${GERR:-0} errors, nginx $LOST_KILL"
RETRIED=$(grep -c '", *[0-9]\|, 127' "$L" || true)
[ "$RETRIED" -ge 1 ] || fail "no request was retried: the stop and the kill did not hit live traffic"
for i in 0 1; do
    case $i in 0) from=$TERM_FROM ;; 1) from=$KILL_FROM ;; esac
    n_r=$(tail -n +"$from" "$L" | grep -c "^$NR 200 \"127.0.0.1:${REST[i]}\"" || true)
    n_g=$(tail -n +"$from" "$L" | grep -c "^$NG 200 \"127.0.0.1:${GRPC[i]}\"" || true)
    [ "$n_r" -gt 0 ] && [ "$n_g" -gt 0 ] || fail "restarted replica $i took $n_r REST, $n_g gRPC requests"
done
TOTAL=$(wc -l <"$L")
echo "replicas_nginx_test: OK ($NREQ REST + $GOK gRPC requests under load: 0 REST failed; gRPC: 0 failed at the stop, $LOST_KILL already sent to the killed replica failed (nginx cannot retry them), 0 other; $RETRIED of $TOTAL requests retried by nginx; version 2 on all replicas ${MAXMS} ms after the rename)"
