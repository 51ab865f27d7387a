#!/usr/bin/env bash
# perf_bench.sh: checks `cfx perf` against independent load generators on
# the same server and the same load, in one run:
#   1. REST :predict (one raw instance): cfx perf vs wrk (Lua POST body);
#      gRPC Predict (one raw row): cfx perf vs h2load (-d with the same
#      gRPC-framed bytes). Same threads, connections/streams and seconds;
#      throughput, p50 and p99 of each pair and the difference. wrk 4
#      corrects its closed-loop latencies for coordinated omission, h2load
#      does not: against wrk cfx perf runs with --co-correct (the same
#      correction), against h2load without.
#   2. cfx perf --rate at 2x the closed-loop peak (REST), next to the
#      closed-loop figures: latency from each request's due time must grow.
#   3. Client overhead: cfx perf (plain GET, http://HOST:PORT/PATH) vs wrk
#      against nginx serving a small static file, same threads/connections.
# Every run is bounded by SECS; pairs run back to back (in alternating order),
# ROUNDS times, and the summary gives medians of the per-round differences.
# The load average is printed before each round, and each client's CPU time
# per request (user + system, from bash's time).
#
# usage: bench/perf_bench.sh [BUILD_DIR]   (default: build)
# env:   THREADS (1), CONNS (32), CLIENTS (8), STREAMS (16), SECS (3),
#        ROUNDS (5), SERVER_THREADS (1), SERVER_CPUS and CLIENT_CPUS (taskset
#        CPU lists; default 0 and 1: the servers and the clients each on a
#        core of their own, so the client's cost does not take the server's
#        CPU; set both empty for no pinning). One thread per side by
#        default: two threads time-sharing a core stall each other for a
#        scheduler slice, and the p50 of the resulting bimodal latency
#        distribution jumps between the modes from round to round for every
#        tool (docs/BENCHMARKS.md, "cfx perf").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
THREADS=${THREADS:-1}
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-5}
SERVER_THREADS=${SERVER_THREADS:-1}
if [ "$(nproc)" -ge 2 ]; then
    SERVER_CPUS=${SERVER_CPUS-0} CLIENT_CPUS=${CLIENT_CPUS-1}
fi
SRUN=() CRUN=()
[ -n "${SERVER_CPUS:-}" ] && SRUN=(taskset -c "$SERVER_CPUS")
[ -n "${CLIENT_CPUS:-}" ] && CRUN=(taskset -c "$CLIENT_CPUS")
echo "# server threads $SERVER_THREADS on CPUs ${SERVER_CPUS:-any}, client threads $THREADS on CPUs ${CLIENT_CPUS:-any}"
. "$ROOT/bench/lib.sh"
need "$CFX" "$CFX_SERVE" "$NGINX" wrk h2load curl "$PY"
load() { cut -d' ' -f1 /proc/loadavg; }

echo "# building the taxi bundle (short training: serving cost does not depend on it)"
taxi_bundle 200
# One row: every client sends exactly the same request.
head -n 2 "$ROOT/examples/taxi/data.csv" >"$T/row.csv"

# --- servers ----------------------------------------------------------------
nginx_start
serve_start --port=0 --rest_api_port=auto
serve_wait both
nginx_check

# The exact request bytes cfx perf sends, for wrk and h2load.
"$CFX" perf --target "rest://127.0.0.1:$RPORT" --model taxi --data "$T/row.csv" --dump-request "$T/rest.json"
"$CFX" perf --target "grpc://127.0.0.1:$GPORT" --model taxi --data "$T/row.csv" --dump-request "$T/grpc.bin"
curl -sf -H 'Content-Type: application/json' --data-binary @"$T/rest.json" \
    "http://127.0.0.1:$RPORT/v1/models/taxi:predict" >/dev/null
"$PY" -c 'import json,sys
print("wrk.method = \"POST\"\nwrk.body = " + json.dumps(open(sys.argv[1]).read()) +
      "\nwrk.headers[\"Content-Type\"] = \"application/json\"")' "$T/rest.json" >"$T/post.lua"

# --- parsers: every figure as "rps p50_us p99_us" (then client CPU us/req) ------------------------------
# wrk --latency prints 50% and 99% with a unit (us, ms, s).
wrk_fig() {
    "$PY" - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
if re.search(r"Non-2xx|Socket errors", t):
    sys.exit("wrk errors:\n" + t)
def us(s):
    m = re.match(r"([0-9.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", t).group(1))
p50 = us(re.search(r"^\s*50%\s+(\S+)", t, re.M).group(1))
p99 = us(re.search(r"^\s*99%\s+(\S+)", t, re.M).group(1))
print(f"{rps:.0f} {p50:.1f} {p99:.1f}")
EOF
}
# h2load prints no percentiles: they come from its --log-file (one line per
# request: start us, status, microseconds to the end of the response).
h2_fig() {
    "$PY" - "$1" "$2" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
if not re.search(r" 0 failed, 0 errored, 0 timeout", t):
    sys.exit("h2load errors:\n" + t)
rps = float(re.search(r"finished in .*?, ([0-9.]+) req/s", t).group(1))
lat = sorted(int(l.split("\t")[2]) for l in open(sys.argv[2]) if l.strip())
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{rps:.0f} {q(0.5):.1f} {q(0.99):.1f}")
EOF
}
# cfx perf --format csv: concurrency,rate,seconds,ok,errors,rps,p50_us,p90_us,p99_us,...
perf_fig() {
    awk -F, 'NR == 2 { if ($5 != 0) { print "cfx perf errors: " $0 > "/dev/stderr"; exit 1 }
                       printf "%.0f %.1f %.1f\n", $6, $7, $9 }' "$1"
}
# timed CPUFILE CMD...: runs CMD; its user+system CPU seconds go to CPUFILE.
timed() {
    local cpu=$1 TIMEFORMAT='%U %S'
    shift
    { time "$@" 2>&3; } 3>&2 2>"$cpu"
}
# Client CPU per request, us: CPUFILE REQS_PER_S.
cpu_us() { awk -v r="$2" -v s="$SECS" '{ printf "%.1f", ($1 + $2) * 1e6 / (r * s) }' "$1"; }
# pair REF OURS ROUND: both runs, the reference tool first in odd rounds and
# second in even ones, so a load trend does not favour either.
pair() {
    if [ $(($3 % 2)) -eq 1 ]; then "$1"; "$2"; else "$2"; "$1"; fi
}
PERF_ARGS=(--no-progress --format csv --warmup 0 --duration "$SECS" --threads "$THREADS")

# --- 1. REST and gRPC pairs ------------------------------------------------------
echo "# 1. same server, same load: wrk vs cfx perf (REST, -t$THREADS -c$CONNS), h2load vs cfx perf (gRPC, -t$THREADS -c$CLIENTS -m$STREAMS), ${SECS}s each"
: >"$T/rest.rows"
: >"$T/grpc.rows"
GURL=http://127.0.0.1:$GPORT/tensorflow.serving.PredictionService/Predict
for r in $(seq 1 "$ROUNDS"); do
    L=$(load)
    ref_rest() {
        timed "$T/c1" "${CRUN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$T/post.lua" \
            "http://127.0.0.1:$RPORT/v1/models/taxi:predict" >"$T/wrk.txt"
    }
    ours_rest() {
        timed "$T/c2" "${CRUN[@]}" "$CFX" perf --target "rest://127.0.0.1:$RPORT" --model taxi --data "$T/row.csv" \
            --concurrency "$CONNS" --co-correct "${PERF_ARGS[@]}" >"$T/perf.csv"
    }
    pair ref_rest ours_rest "$r"
    W=$(wrk_fig "$T/wrk.txt"); P=$(perf_fig "$T/perf.csv")
    W="$W $(cpu_us "$T/c1" "${W%% *}")"; P="$P $(cpu_us "$T/c2" "${P%% *}")"
    echo "$W $P" >>"$T/rest.rows"
    echo "REST round $r (load $L): wrk rps p50 p99 cpu/req = $W | cfx perf = $P"
    L=$(load)
    ref_grpc() {
        rm -f "$T/h2.log"
        timed "$T/c1" "${CRUN[@]}" h2load -t"$THREADS" -c"$CLIENTS" -m"$STREAMS" -D "$SECS" -d "$T/grpc.bin" \
            -H 'content-type: application/grpc' -H 'te: trailers' --log-file="$T/h2.log" \
            "$GURL" >"$T/h2.txt" 2>&1
    }
    ours_grpc() {
        timed "$T/c2" "${CRUN[@]}" "$CFX" perf --target "grpc://127.0.0.1:$GPORT" --model taxi --data "$T/row.csv" \
            --concurrency $((CLIENTS * STREAMS)) --connections "$CLIENTS" "${PERF_ARGS[@]}" >"$T/perf.csv"
    }
    pair ref_grpc ours_grpc "$r"
    H=$(h2_fig "$T/h2.txt" "$T/h2.log"); P=$(perf_fig "$T/perf.csv")
    H="$H $(cpu_us "$T/c1" "${H%% *}")"; P="$P $(cpu_us "$T/c2" "${P%% *}")"
    echo "$H $P" >>"$T/grpc.rows"
    echo "gRPC round $r (load $L): h2load rps p50 p99 cpu/req = $H | cfx perf = $P"
done
# Medians per column, and the median of the per-round differences of cfx
# perf from the reference tool (rounds are back to back, so a round's pair
# shares the machine's load; medians of columns taken apart would not).
summary() {
    "$PY" - "$1" "$2" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
med = [statistics.median(c) for c in zip(*rows)]
ref = sys.argv[2]
for i, name in enumerate(["req/s", "p50 us", "p99 us", "cpu us/req"]):
    a, b = med[i], med[i + 4]
    ds = [(r[i + 4] - r[i]) / r[i] * 100 for r in rows if r[i]]
    d = statistics.median(ds)
    print(f"  {name:10s} {ref} {a:10.1f}   cfx perf {b:10.1f}   per-round diff "
          + " ".join(f"{x:+.1f}%" for x in ds) + f", median {d:+.1f}%"
          + ("" if i == 3 or abs(d) <= 10 else "   (over 10%)"))
EOF
}
# One connection, one request at a time: no batching or scheduling among
# connections, so this isolates how each tool times a request.
: >"$T/one.rows"
for r in $(seq 1 "$ROUNDS"); do
    L=$(load)
    ref_one() {
        timed "$T/c1" "${CRUN[@]}" wrk -t1 -c1 -d"${SECS}s" --latency -s "$T/post.lua" \
            "http://127.0.0.1:$RPORT/v1/models/taxi:predict" >"$T/wrk.txt"
    }
    ours_one() {
        timed "$T/c2" "${CRUN[@]}" "$CFX" perf --target "rest://127.0.0.1:$RPORT" --model taxi --data "$T/row.csv" \
            --concurrency 1 --co-correct --no-progress --format csv --warmup 0 --duration "$SECS" --threads 1 >"$T/perf.csv"
    }
    pair ref_one ours_one "$r"
    W=$(wrk_fig "$T/wrk.txt"); P=$(perf_fig "$T/perf.csv")
    W="$W $(cpu_us "$T/c1" "${W%% *}")"; P="$P $(cpu_us "$T/c2" "${P%% *}")"
    echo "$W $P" >>"$T/one.rows"
    echo "REST 1 connection round $r (load $L): wrk rps p50 p99 cpu/req = $W | cfx perf = $P"
done
echo "REST medians of $ROUNDS rounds:"; summary "$T/rest.rows" wrk
echo "REST, one connection (-t1 -c1), medians of $ROUNDS rounds:"; summary "$T/one.rows" wrk
echo "gRPC medians of $ROUNDS rounds:"; summary "$T/grpc.rows" h2load

# --- 2. open loop beyond the peak ------------------------------------------------
PEAK=$(awk '{ print $5 }' "$T/rest.rows" | sort -n | tail -1)
echo "# 2. REST open loop (load $(load)): closed-loop peak $PEAK req/s; --rate at 1/2 and 2x, $CONNS connections"
for f in 0.5 2; do
    R=$(awk -v p="$PEAK" -v f="$f" 'BEGIN { printf "%d", p * f }')
    "${CRUN[@]}" "$CFX" perf --target "rest://127.0.0.1:$RPORT" --model taxi --data "$T/row.csv" \
        --rate "$R" --connections "$CONNS" --no-progress --format csv --warmup 0.5 \
        --duration "$SECS" --threads "$THREADS" >"$T/open.csv"
    awk -F, -v f="$f" 'NR == 2 { printf "  rate %sx = %d: done %.0f req/s, p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us, errors %s %s\n",
        f, $2, $6, $7, $8, $9, $11, $5, $12 }' "$T/open.csv"
done

# --- 3. client overhead against nginx -----------------------------------------
echo "# 3. nginx static GET, -t$THREADS -c$CONNS, ${SECS}s: wrk vs cfx perf (http:// GET)"
: >"$T/ng.rows"
for r in $(seq 1 "$ROUNDS"); do
    L=$(load)
    ref_ng() {
        timed "$T/c1" "${CRUN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency \
            "http://127.0.0.1:$NPORT/small.json" >"$T/wrk.txt"
    }
    ours_ng() {
        timed "$T/c2" "${CRUN[@]}" "$CFX" perf --target "http://127.0.0.1:$NPORT/small.json" \
            --concurrency "$CONNS" --co-correct "${PERF_ARGS[@]}" >"$T/perf.csv"
    }
    pair ref_ng ours_ng "$r"
    W=$(wrk_fig "$T/wrk.txt"); P=$(perf_fig "$T/perf.csv")
    W="$W $(cpu_us "$T/c1" "${W%% *}")"; P="$P $(cpu_us "$T/c2" "${P%% *}")"
    echo "$W $P" >>"$T/ng.rows"
    echo "nginx round $r (load $L): wrk rps p50 p99 cpu/req = $W | cfx perf = $P"
done
echo "nginx medians of $ROUNDS rounds:"; summary "$T/ng.rows" wrk
