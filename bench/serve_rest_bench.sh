#!/usr/bin/env bash
# serve_rest_bench.sh: REST :predict throughput of cfx-serve against nginx
# serving a small static file, both under wrk with the same threads and
# connections in the same run (the target in docs/BENCHMARKS.md: >= 0.8x nginx), then latency at
# half of cfx-serve's peak rate, and cfx-serve's RSS with the taxi model.
#
# usage: bench/serve_rest_bench.sh [BUILD_DIR]   (default: build)
# env:   THREADS (2), CONNS (32), SECS (5), ROUNDS (3), SERVER_THREADS (2)
#
# Half-rate latency: wrk2 is not packaged in Debian; `cfx perf --rate` is
# used when the tree has it, and a paced wrk run is printed as well: wrk
# with a Lua delay() per connection (closed loop: each connection waits its share of the
# interval before its next request). It under-reports tail latency when the
# server stalls (coordinated omission); the figure is an indication.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
. "$ROOT/bench/lib.sh"
need "$CFX" "$CFX_SERVE" "$NGINX" wrk curl

echo "# building the taxi bundle"
taxi_bundle
ROW=$(sed -n 1p "$T/models/taxi/1/assets.extra/warmup.jsonl")
BODY="{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}"

# --- servers ----------------------------------------------------------------
nginx_start
serve_start --port=0 --rest_api_port=auto
serve_wait rest
CPORT=$RPORT
nginx_check
curl -sf -d "$BODY" "http://127.0.0.1:$CPORT/v1/models/taxi:predict" >/dev/null

wrk_post_lua "$BODY" >"$T/post.lua"

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
p99() { sed -n 's/^ *99% *\(.*\)$/\1/p' "$1"; }

echo "# wrk -t$THREADS -c$CONNS -d${SECS}s, $ROUNDS rounds alternating; servers use $SERVER_THREADS threads/workers"
: >"$T/ratios"
for r in $(seq 1 "$ROUNDS"); do
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$NPORT/small.json" >"$T/nginx.txt"
    wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$T/post.lua" \
        "http://127.0.0.1:$CPORT/v1/models/taxi:predict" >"$T/cfx.txt"
    if grep -E 'Non-2xx|Socket errors' "$T/cfx.txt"; then
        echo "cfx-serve had errors" >&2
        cat "$T/cfx.txt"
        exit 1
    fi
    NR=$(rps "$T/nginx.txt"); CR=$(rps "$T/cfx.txt")
    echo "round $r: nginx static $NR req/s (p99 $(p99 "$T/nginx.txt")), cfx-serve :predict $CR req/s (p99 $(p99 "$T/cfx.txt"))"
    awk -v c="$CR" -v n="$NR" 'BEGIN { printf "%.3f %s\n", c / n, c }' >>"$T/ratios"
done
sort -n "$T/ratios" >"$T/ratios.sorted"
MID=$(( (ROUNDS + 1) / 2 ))
RATIO=$(sed -n "${MID}p" "$T/ratios.sorted" | cut -d' ' -f1)
PEAK=$(sort -k2 -n "$T/ratios" | tail -1 | cut -d' ' -f2)
echo "median ratio cfx-serve / nginx: $RATIO (each round: $(cut -d' ' -f1 "$T/ratios" | tr '\n' ' '))"

# --- half the peak rate: `cfx perf --rate` (open loop, coordinated omission
# corrected) when this tree has it, else wrk paced as below.
HALF=$(awk -v c="$PEAK" 'BEGIN { printf "%d", c / 2 }')
if "$CFX" perf --help >/dev/null 2>&1; then
    echo "cfx perf --rate $HALF (open loop, half the peak):"
    "$CFX" perf --target "rest://127.0.0.1:$CPORT" --model taxi --data "$ROOT/examples/taxi/data.csv" \
        --rate "$HALF" --duration "$SECS" --threads "$THREADS" --connections 16 --no-progress | tail -2
fi
# --- half the peak rate, paced: wrk's delay() has whole-millisecond steps, so
# the rate is set by the number of connections, each sending every 10 ms.
HALF=$(awk -v c="$PEAK" 'BEGIN { printf "%d", c / 2 }')
PCONNS=$(awk -v h="$HALF" -v t="$THREADS" 'BEGIN { c = int(h / 100 + 0.5); if (c < t) c = t; printf "%d", c }')
cat "$T/post.lua" >"$T/paced.lua"
echo "function delay() return 10 end" >>"$T/paced.lua"
wrk -t"$THREADS" -c"$PCONNS" -d"${SECS}s" --latency -s "$T/paced.lua" \
    "http://127.0.0.1:$CPORT/v1/models/taxi:predict" >"$T/half.txt"
echo "paced at half the peak ($HALF req/s target, $PCONNS connections x 1 request / 10 ms): $(rps "$T/half.txt") req/s   p50 $(sed -n 's/^ *50% *\(.*\)$/\1/p' "$T/half.txt")   p99 $(p99 "$T/half.txt")"

RSS=$(awk '/VmRSS/ { print $2 }' "/proc/$SPID/status")
HWM=$(awk '/VmHWM/ { print $2 }' "/proc/$SPID/status")
echo "cfx-serve RSS with the taxi model loaded: $((RSS / 1024)) MiB now, $((HWM / 1024)) MiB peak (VmRSS $RSS kB)"
