#!/usr/bin/env bash
# rest_cpu_bench.sh: server CPU per request and req/s of REST :predict
# (predict_raw rows: 1, 10 and 100 instances per request) against nginx
# serving a small static file, all under the same wrk load in the same run.
# With a second build directory, that build's cfx-serve (e.g. the tree
# before a change) is measured in the same rounds, on the same bundle.
#
# Server CPU is the on-CPU time of every thread of the server process(es)
# (/proc/PID/task/*/schedstat: user + system, in ns) over the run, divided
# by the requests wrk completed; nginx counts its master and workers. The
# user / system split comes from the same threads' utime and stime (clock
# ticks, so coarser).
#
# usage: bench/rest_cpu_bench.sh [BUILD_DIR] [BASE_BUILD_DIR]
# env:   THREADS (2), CONNS (32), SECS (5), ROUNDS (3), SERVER_THREADS (2),
#        SIZES ("1 10 100")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
BASE=${2:-}
SIZES=${SIZES:-1 10 100}
. "$ROOT/bench/lib.sh"
need "$CFX" "$CFX_SERVE" "$NGINX" wrk curl
[ -z "$BASE" ] || need "$BASE/cfx-serve"

echo "# building the taxi bundle"
taxi_bundle

# --- servers ------------------------------------------------------------------
nginx_start
NGINX_PID=${PIDS[-1]}
serve_start --port=0 --rest_api_port=auto
serve_wait rest
NEW_PID=$SPID NEW_PORT=$RPORT
NAMES=(new)
if [ -n "$BASE" ]; then
    mv "$T/serve.log" "$T/serve.new.log"
    CFX_SERVE=$BASE/cfx-serve serve_start --port=0 --rest_api_port=auto
    serve_wait rest
    BASE_PID=$SPID BASE_PORT=$RPORT
    NAMES=(base new)
fi
nginx_check

# on-CPU ns of a process and its children's threads
cpu_ns() {
    local pids=("$1") t sum=0
    while read -r c; do pids+=("$c"); done < <(pgrep -P "$1" || true)
    for p in "${pids[@]}"; do
        for t in /proc/"$p"/task/*/schedstat; do
            sum=$((sum + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
        done
    done
    echo "$sum"
}
# utime and stime ticks of a process and its children's threads
ticks() {
    local pids=("$1") t u=0 s=0 a b
    while read -r c; do pids+=("$c"); done < <(pgrep -P "$1" || true)
    for p in "${pids[@]}"; do
        for t in /proc/"$p"/task/*/stat; do
            read -r a b < <(awk '{ print $14, $15 }' "$t" 2>/dev/null || echo "0 0")
            u=$((u + a)) s=$((s + b))
        done
    done
    echo "$u $s"
}
reqs() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1"; }
rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }

# run NAME PID URL [LUA]: one wrk run; appends "NAME us_per_req req_per_s"
run() {
    local name=$1 pid=$2 url=$3 lua=${4:-} c0 c1 u0 s0 u1 s1 args=()
    [ -n "$lua" ] && args=(-s "$lua")
    c0=$(cpu_ns "$pid")
    read -r u0 s0 < <(ticks "$pid")
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "${args[@]}" "$url" >"$T/wrk.txt"
    c1=$(cpu_ns "$pid")
    read -r u1 s1 < <(ticks "$pid")
    if grep -qE 'Non-2xx|Socket errors' "$T/wrk.txt"; then
        echo "$name had errors:" >&2
        cat "$T/wrk.txt" >&2
        exit 1
    fi
    awk -v n="$name" -v c=$((c1 - c0)) -v r="$(reqs "$T/wrk.txt")" -v s="$(rps "$T/wrk.txt")" \
        -v u=$((u1 - u0)) -v y=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%s %.2f %.0f %.2f %.2f\n", n, c / 1000 / r, s, u * 1e6 / hz / r, y * 1e6 / hz / r }' >>"$T/res"
}

echo "# wrk -t$THREADS -c$CONNS -d${SECS}s; $ROUNDS rounds, nginx and each cfx-serve alternating;" \
    "servers use $SERVER_THREADS threads/workers; $(nproc) CPUs"
for n in $SIZES; do
    BODY=$("$PY" - "$T/models/taxi/1/assets.extra/warmup.jsonl" "$n" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
print(json.dumps({"signature_name": "predict_raw", "instances": [rows[i % len(rows)] for i in range(n)]}))
PY
)
    wrk_post_lua "$BODY" >"$T/post.lua"
    for name in "${NAMES[@]}"; do
        port=NEW_PORT
        [ "$name" = base ] && port=BASE_PORT
        curl -sf -d "$BODY" "http://127.0.0.1:${!port}/v1/models/taxi:predict" >/dev/null ||
            { echo "$name: predict failed" >&2; exit 1; }
    done
    : >"$T/res"
    for _ in $(seq 1 "$ROUNDS"); do
        run nginx "$NGINX_PID" "http://127.0.0.1:$NPORT/small.json"
        [ -n "$BASE" ] && run base "$BASE_PID" "http://127.0.0.1:$BASE_PORT/v1/models/taxi:predict" "$T/post.lua"
        run new "$NEW_PID" "http://127.0.0.1:$NEW_PORT/v1/models/taxi:predict" "$T/post.lua"
    done
    # medians over the rounds
    med() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' "$T/res" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    NC=$(med nginx 2) NR=$(med nginx 3)
    line="instances=$n: nginx static ${NC} us CPU/req, ${NR} req/s"
    for name in "${NAMES[@]}"; do
        C=$(med "$name" 2) R=$(med "$name" 3)
        line+=$(awk -v n="$name" -v c="$C" -v r="$R" -v nc="$NC" -v nr="$NR" \
            'BEGIN { printf " | %s %s us CPU/req (%.2fx nginx), %s req/s (%.2fx nginx)", n, c, c / nc, r, r / nr }')
    done
    echo "$line"
    split="  user / system per request:"
    for name in nginx "${NAMES[@]}"; do
        split+=" $name $(med "$name" 4) / $(med "$name" 5) us;"
    done
    echo "$split"
done
