#!/usr/bin/env bash
# serve_hostile_test.sh: cfx-serve against clients that try to make it
# spend CPU or memory out of proportion to what they send
# (docs/serving.md, "Limits"). Each attack is followed by a normal request
# that must be answered. Bounds are stated where they are checked; they
# hold for the ASan build test.sh runs (whose memory figures are larger:
# shadow memory and a quarantine of freed blocks, capped at 16 MiB for the
# server here so that freed memory shows as reused) and for a Release
# build. The figures they guard, measured before the fix on a Release
# build: a 100k-feature Predict took 12-70 s of CPU, the classify body
# below held ~0.5 GB per request, the zero-window client ~500 MB.
#   1. one gRPC Predict holding a single tf.Example with 100k features
#      (2 MB), two at once: each answered or refused within 3 s, at most
#      2 s of server CPU each, while GET /v1/models/taxi keeps answering
#      (each probe within 2 s: the bound allows for a loaded test machine;
#      the stall it guards against was 12-70 s);
#   2. a :classify body of 100k tiny examples, 16 times: RSS grows at most
#      48 MiB from after the first to after the last;
#   3. an HTTP/2 client with SETTINGS_INITIAL_WINDOW_SIZE=0 that sends 128
#      Classify calls of 20000 examples and never opens a window (it reads
#      frames, but no DATA can come): the answers past
#      the per-connection bound (16 MiB) are reset (ENHANCE_YOUR_CALM) and
#      RSS stays within 96 MiB of where it started;
#   4. --max_inflight_bytes: a big request that arrives while another is
#      in flight and would pass the budget gets 429 (REST) /
#      RESOURCE_EXHAUSTED (gRPC); each side is driven until it sees its
#      refusal, so the check does not hang on how requests interleave.
set -euo pipefail
CFX=${CFX:?path to cfx}
CFX_SERVE=${CFX_SERVE:?path to cfx-serve}
SRC=${CFX_SOURCE_DIR:?}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HC="$SRC/tests/e2e/hostile_client.py"

if ! "$CFX" train --help >/dev/null 2>&1; then
    echo "SKIP: this cfx has no train command, no bundle to serve"
    exit 0
fi

echo "== bundle from 3000 taxi rows"
head -n 3001 "$SRC/examples/taxi/data.csv" >"$T/data.csv"
"$CFX" examplegen --input "$T/data.csv" --output "$T/ex" >"$T/log" 2>&1 ||
    fail "examplegen: $(cat "$T/log")"
"$CFX" transform --examples "$T/ex" --spec "$SRC/examples/taxi/transform.json" \
    --output "$T/xf" >"$T/log" 2>&1 || fail "transform: $(cat "$T/log")"
sed -e 's/"train_steps": *[0-9]*/"train_steps": 50/' \
    -e 's/"eval_steps": *[0-9]*/"eval_steps": 10/' \
    -e 's/"eval_every_steps": *[0-9]*/"eval_every_steps": 50/' \
    "$SRC/examples/taxi/trainer.json" >"$T/trainer.json"
"$CFX" train --examples "$T/xf/transformed_examples" \
    --transform-graph "$T/xf/transform_graph" --config "$T/trainer.json" \
    --raw-examples "$T/ex" --output "$T/train" --quiet >"$T/log" 2>&1 ||
    fail "train: $(cat "$T/log")"
mkdir -p "$T/models/taxi"
cp -r "$T/train/model" "$T/models/taxi/1"

SPID=
start_server() { # args...; sets RPORT, GPORT, SPID
    [ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true; }
    : >"$T/serve.log"
    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16" \
        "$CFX_SERVE" --port=0 --rest_api_port=auto --num_threads=2 --model_name=taxi \
        --model_base_path="$T/models/taxi" "$@" >"$T/serve.log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    RPORT= GPORT=
    for _ in $(seq 1 600); do
        RPORT=$(sed -n 's/.*Exporting HTTP\/REST API at:localhost:\([0-9]*\).*/\1/p' "$T/serve.log" 2>/dev/null || true)
        GPORT=$(sed -n 's/.*Running gRPC ModelServer at [0-9.]*:\([0-9]*\).*/\1/p' "$T/serve.log" 2>/dev/null || true)
        [ -n "$RPORT" ] && [ -n "$GPORT" ] && return 0
        kill -0 "$SPID" 2>/dev/null || fail "cfx-serve exited"
        sleep 0.05
    done
    fail "cfx-serve did not open its ports"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SPID/stat"; } # utime + stime
HZ=$(getconf CLK_TCK)
normal_request() { # a request any client makes must still be answered
    local what=$1 code
    code=$(curl -s -m 5 -o "$T/normal.json" -w '%{http_code}' \
        -H 'content-type: application/json' \
        -d '{"signature_name": "predict_raw", "instances": [{"trip_miles": 1.5, "payment_type": "Cash"}]}' \
        "http://127.0.0.1:$RPORT/v1/models/taxi:predict") || true
    [ "$code" = 200 ] && grep -q predictions "$T/normal.json" ||
        fail "after $what: a normal predict got $code: $(cat "$T/normal.json")"
    echo "ok   normal predict answered after $what"
}

start_server

echo "== 1. a 100k-feature tf.Example over gRPC"
# Health probes every 0.1 s while two such requests run at once.
: >"$T/probes"
(
    while :; do
        curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}\n' \
            "http://127.0.0.1:$RPORT/v1/models/taxi" >>"$T/probes" || echo "000 5" >>"$T/probes"
        sleep 0.1
    done
) &
PROBER=$!
PIDS+=("$PROBER")
c0=$(cpu_ticks)
"$PY" "$HC" bigexample "$GPORT" taxi 100000 >"$T/big1" &
B1=$!
"$PY" "$HC" bigexample "$GPORT" taxi 100000 >"$T/big2"
wait "$B1"
c1=$(cpu_ticks)
sleep 0.3
kill "$PROBER"
wait "$PROBER" 2>/dev/null || true
for f in big1 big2; do
    read -r code secs _ <"$T/$f"
    { [ "$code" = 0 ] || [ "$code" = 8 ]; } || fail "100k features: status $code ($(cat "$T/$f"))"
    awk -v s="$secs" 'BEGIN {exit !(s < 3.0)}' || fail "100k features: answered in $secs s (bound 3 s)"
    echo "ok   100k-feature Predict: status $code in $secs s"
done
cpu=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz / 2}')
awk -v c="$cpu" 'BEGIN {exit !(c <= 2.0)}' || fail "100k features: $cpu s of CPU per request (bound 2 s)"
echo "ok   CPU per 100k-feature request: $cpu s (bound 2 s)"
[ -s "$T/probes" ] || fail "no health probe ran"
awk '$1 != 200 || $2 > 2.0 {bad++} END {exit bad > 0}' "$T/probes" ||
    fail "GET /v1/models/taxi during the attack: $(sort -k2 -n "$T/probes" | tail -3 | tr '\n' ' ')"
echo "ok   $(wc -l <"$T/probes") status probes during it, slowest $(sort -k2 -n "$T/probes" | tail -1 | cut -d' ' -f2) s (bound 2 s)"
normal_request "the 100k-feature Predict"

echo "== 2. 100k tiny examples in one :classify body, 16 times"
"$PY" "$HC" classify_body 100000 >"$T/classify.json"
c0=$(cpu_ticks)
first=
for i in $(seq 1 16); do
    code=$(curl -s -m 60 -o "$T/cls.out" -w '%{http_code}' -H 'content-type: application/json' \
        --data-binary @"$T/classify.json" "http://127.0.0.1:$RPORT/v1/models/taxi:classify") || true
    [ "$code" = 200 ] || fail "classify body $i: HTTP $code: $(head -c 300 "$T/cls.out")"
    [ -z "$first" ] && first=$(rss_kb)
done
c1=$(cpu_ticks)
last=$(rss_kb)
grow=$(((last - first) / 1024))
echo "RSS after the first: $((first / 1024)) MiB, after the 16th: $((last / 1024)) MiB"
[ "$grow" -le 48 ] || fail "RSS grew $grow MiB over 15 repeats of the classify body (bound 48 MiB)"
echo "ok   RSS growth over 15 repeats: $grow MiB (bound 48 MiB)"
cpu=$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz / 16}')
awk -v c="$cpu" 'BEGIN {exit !(c <= 5.0)}' || fail "classify body: $cpu s of CPU per request (bound 5 s)"
echo "ok   CPU per 100k-example classify: $cpu s (bound 5 s)"
normal_request "the classify bodies"

echo "== 3. an HTTP/2 client that never opens its flow-control window"
base=$(rss_kb)
"$PY" "$HC" zerowindow "$GPORT" taxi 128 20000 240 >"$T/zw" &
ZW=$!
peak=$base
while kill -0 "$ZW" 2>/dev/null; do
    r=$(rss_kb)
    [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.2
done
wait "$ZW" || fail "zero-window client failed"
read -r sent begun calm <"$T/zw"
echo "sent $sent bytes; $begun answers begun, $calm streams reset; RSS $((base / 1024)) -> peak $((peak / 1024)) MiB"
[ "$calm" -gt 0 ] || fail "no stream was reset: answers are held without bound"
[ $((begun + calm)) = 128 ] || fail "$begun answers begun + $calm resets: want all 128 calls settled"
[ $(((peak - base) / 1024)) -le 96 ] || fail "RSS grew $(((peak - base) / 1024)) MiB under the zero-window client (bound 96 MiB)"
echo "ok   zero-window client: $calm of 128 answers refused, RSS growth $(((peak - base) / 1024)) MiB (bound 96 MiB)"
normal_request "the zero-window client"

echo "== 4. --max_inflight_bytes"
# 4 MB: any one classify body (0.8 MB, charged 64x) is over it on its own,
# so it runs only when nothing else does.
start_server --max_inflight_bytes=4000000
U="http://127.0.0.1:$RPORT/v1/models/taxi:classify"
rest_body() { # FILE: prints the HTTP code of one classify body
    curl -s -m 60 -o "$1" -w '%{http_code}\n' -H 'content-type: application/json' \
        --data-binary @"$T/classify.json" "$U" || echo 000
}
# How REST bodies and gRPC calls interleave depends on the machine's load,
# so each side is driven until the refusal it waits for is seen (or a bound
# of tries passes): a refusal needs another request in flight.
# 4a. A gRPC client sends Classify calls of 100k examples (0.2 MB, charged
# 12.8 MB) 5 ms apart until told to stop; REST bodies go until one is
# refused with 429.
rm -f "$T/stop"
while [ ! -e "$T/stop" ]; do
    "$PY" "$HC" classify_calls "$GPORT" taxi 100000 10 0.005
done >"$T/grpc_bg" &
GBG=$!
ok=0 busy=0
for _ in $(seq 1 60); do
    code=$(rest_body "$T/r.out")
    case $code in
    200) ok=$((ok + 1)) ;;
    429) busy=$((busy + 1))
         grep -q 'max_inflight_bytes' "$T/r.out" || fail "429 without a reason: $(cat "$T/r.out")"
         [ "$ok" -ge 1 ] && break ;;
    *) fail "budget: HTTP $code: $(head -c 300 "$T/r.out")" ;;
    esac
done
touch "$T/stop" # each loop ends its call in flight, then stops
wait "$GBG" 2>/dev/null || true
echo "REST bodies beside gRPC calls: $ok answered, $busy refused with 429 (gRPC: $(grep -c '^0 ' "$T/grpc_bg" || true) answered, $(grep -c '^8 ' "$T/grpc_bg" || true) refused)"
[ "$ok" -ge 1 ] && [ "$busy" -ge 1 ] || fail "budget: want REST bodies answered and refused"
# 4b. A keeper sends REST bodies back to back; gRPC calls go until one is
# refused with RESOURCE_EXHAUSTED.
rm -f "$T/stop"
for _ in $(seq 1 40); do [ -e "$T/stop" ] || rest_body /dev/null; done >"$T/keeper" &
KEEPER=$!
sleep 0.3
: >"$T/grpc_budget"
grpc_refused=0
for _ in $(seq 1 60); do
    "$PY" "$HC" classify_calls "$GPORT" taxi 100000 5 0.05 >>"$T/grpc_budget"
    grep -q '^8 .*max_inflight_bytes' "$T/grpc_budget" && { grpc_refused=1; break; }
    kill -0 "$KEEPER" 2>/dev/null || break
done
touch "$T/stop"
wait "$KEEPER" 2>/dev/null || true
awk '$1 != 0 && $1 != 8 {bad++} END {exit bad > 0}' "$T/grpc_budget" ||
    fail "budget: gRPC Classify: $(sort -u "$T/grpc_budget" | head -3)"
awk '$0 != "200" && $0 != "429" {bad++} END {exit bad > 0}' "$T/keeper" ||
    fail "budget: keeper got $(sort -u "$T/keeper" | head -3 | tr '\n' ' ')"
echo "gRPC beside REST bodies: $(grep -c '^0 ' "$T/grpc_budget" || true) answered, $(grep -c '^8 ' "$T/grpc_budget" || true) RESOURCE_EXHAUSTED"
[ "$grpc_refused" = 1 ] || fail "budget: gRPC Classify never got RESOURCE_EXHAUSTED while REST bodies ran"
echo "ok   over the budget: REST 429 and gRPC RESOURCE_EXHAUSTED, each naming --max_inflight_bytes"
normal_request "the budget refusals"

kill "$SPID"
wait "$SPID" 2>/dev/null || true
echo "PASS"
