#!/usr/bin/env bash
# serve_grpc_bench.sh: gRPC Predict throughput of cfx-serve against nginx
# serving a small static file over HTTP/2 cleartext (h2c, prior knowledge),
# both under h2load with the same threads, clients and streams, alternating
# rounds in one run (the target in docs/BENCHMARKS.md: >= 0.8x nginx). Then `cfx perf` open loop
# at 1/2 and 1/8 of cfx-serve's peak rate for latency percentiles measured
# from each request's due time.
#
# usage: bench/serve_grpc_bench.sh [BUILD_DIR]   (default: build)
# env:   THREADS (2), CLIENTS (8), STREAMS (16), SECS (5), ROUNDS (3),
#        SERVER_THREADS (2)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
. "$ROOT/bench/lib.sh"
need "$CFX" "$CFX_SERVE" "$NGINX" h2load

echo "# building the taxi bundle (short training: throughput does not depend on it)"
taxi_bundle 500

# --- servers ----------------------------------------------------------------
nginx_start h2
serve_start --port=0 --rest_api_port=0
serve_wait grpc

# One raw row (predict_raw, dtypes from the server's own metadata), as a
# gRPC-framed PredictRequest body for h2load.
"$PY" "$ROOT/bench/grpc_predict_body.py" "$GPORT" "$T/models/taxi/1/assets.extra/warmup.jsonl" "$T/predict.bin"
URL=http://127.0.0.1:$GPORT/tensorflow.serving.PredictionService/Predict
H2="-t$THREADS -c$CLIENTS -m$STREAMS -D $SECS"
rps() { sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$1"; }
checkok() {
    grep -q " 0 failed, 0 errored, 0 timeout" "$1" && grep -q "status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" "$1" ||
        { echo "errors in $1:" >&2; cat "$1" >&2; exit 1; }
}
h2load -n 10 -c 1 "http://127.0.0.1:$NPORT/small.json" >"$T/probe.txt" 2>&1
checkok "$T/probe.txt"

echo "# h2load $H2 (threads, clients, streams per client, seconds); $ROUNDS rounds alternating; servers use $SERVER_THREADS threads/workers"
: >"$T/ratios"
for r in $(seq 1 "$ROUNDS"); do
    h2load $H2 "http://127.0.0.1:$NPORT/small.json" >"$T/nginx.txt" 2>&1
    h2load $H2 -d "$T/predict.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
        "$URL" >"$T/cfx.txt" 2>&1
    checkok "$T/nginx.txt"
    checkok "$T/cfx.txt"
    NR=$(rps "$T/nginx.txt"); CR=$(rps "$T/cfx.txt")
    echo "round $r: nginx h2c static $NR req/s, cfx-serve gRPC Predict $CR req/s"
    awk -v c="$CR" -v n="$NR" 'BEGIN { printf "%.3f %s\n", c / n, c }' >>"$T/ratios"
done
sort -n "$T/ratios" >"$T/ratios.sorted"
MID=$(( (ROUNDS + 1) / 2 ))
RATIO=$(sed -n "${MID}p" "$T/ratios.sorted" | cut -d' ' -f1)
PEAK=$(sort -k2 -n "$T/ratios" | tail -1 | cut -d' ' -f2)
echo "median ratio cfx-serve gRPC / nginx h2c: $RATIO (each round: $(cut -d' ' -f1 "$T/ratios" | tr '\n' ' '))"

# --- latency at 1/2 and 1/8 of the peak rate, open loop (coordinated
# omission corrected). The client shares the machine with the server.
head -n 2001 "$ROOT/examples/taxi/data.csv" >"$T/rows.csv"
for frac in 2 8; do
    RATE=$(awk -v c="$PEAK" -v f="$frac" 'BEGIN { printf "%d", c / f }')
    echo "# cfx perf open loop at 1/$frac of the peak"
    "$CFX" perf --target "grpc://127.0.0.1:$GPORT" --model taxi --data "$T/rows.csv" \
        --rate "$RATE" --duration "$SECS" --warmup 1 --threads "$THREADS" --no-progress
done
RSS=$(awk '/VmRSS/ { print $2 }' "/proc/$SPID/status")
echo "cfx-serve RSS after the runs: $((RSS / 1024)) MiB"
