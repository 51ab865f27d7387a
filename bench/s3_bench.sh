#!/usr/bin/env bash
# s3_bench.sh: what serving from S3 costs against serving from a folder,
# both measured in the same run on the same machine (docs/s3.md):
#   push       N pushes of the taxi bundle with `cfx push`, to a local
#              folder and to s3:// (s3rver on localhost, SigV4 checked);
#   cold start cfx-serve from launch to its first answered :predict, with
#              the base path a folder, s3:// with an empty cache, and s3://
#              again with the cache the previous start left;
#   pick-up    a push to a running server until :predict answers from the
#              new version, folder (inotify) and s3:// (polling, 1 s).
#
#   bench/s3_bench.sh [BUILD_DIR] [N]       (defaults: build, 10)
#
# Needs s3rver (scripts/install-deps.sh). Results go to docs/BENCHMARKS.md
# ("## Serving from S3") by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
N=${2:-10}
CFX=$BUILD/cfx
CFX_SERVE=$BUILD/cfx-serve
[ -x "$CFX" ] && [ -x "$CFX_SERVE" ] || { echo "no $CFX or $CFX_SERVE: build first" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/cfx-s3-bench.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
fail() { echo "s3_bench: $*" >&2; exit 1; }
CFX_SOURCE_DIR=$ROOT
. "$ROOT/tests/e2e/s3_lib.sh"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

"$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/ex" >/dev/null
"$CFX" transform --examples "$T/ex" --spec "$ROOT/examples/taxi/transform.json" --output "$T/xf" >/dev/null
"$CFX" train --quiet --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$ROOT/examples/taxi/trainer.json" --raw-examples "$T/ex" --output "$T/run" >/dev/null
M=$T/run/model
s3_bless "$M" "$T/ev"
echo "bundle: $(du -sb "$M" | cut -f1) bytes in $(find "$M" -type f | wc -l) files; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
s3_start

echo "== push ($N each)"
for dest in "$T/local/taxi" s3://models/taxi; do
    t0=$(now_ms)
    for _ in $(seq 1 "$N"); do
        "$CFX" push --model "$M" --blessing "$T/ev/blessing" --to "$dest" >/dev/null
    done
    t1=$(now_ms)
    case $dest in s3://*) label="s3:      " ;; *) label="folder:  " ;; esac
    echo "$label $(((t1 - t0) / N)) ms per push"
done

ROW=$(sed -n 1p "$M/assets.extra/warmup.jsonl")
echo "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}" >"$T/body.json"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() { # BASE: starts cfx-serve; prints ms from launch to the first 200
    local t0 t1
    t0=$(now_ms)
    "$CFX_SERVE" --port=0 --rest_api_port="$PORT" --model_name=taxi --model_base_path="$1" \
        --model_cache_dir="$T/cache" --file_system_poll_wait_seconds=1 >"$T/serve.log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 1 2000); do
        curl -sf -o /dev/null --data-binary @"$T/body.json" "http://127.0.0.1:$PORT/v1/models/taxi:predict" && break
        kill -0 "$SPID" 2>/dev/null || fail "cfx-serve exited: $(tail -3 "$T/serve.log")"
        sleep 0.005
    done
    t1=$(now_ms)
    echo $((t1 - t0))
}
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; }
version() { curl -s "http://127.0.0.1:$PORT/v1/models/taxi/metadata" | sed -n 's/.*"version": "\([0-9]*\)".*/\1/p' | head -1; }
pickup() { # DEST: pushes to DEST; prints ms from the push's end to the new version served
    local want t0 t1
    want=$(("$(version)" + 1))
    "$CFX" push --model "$M" --blessing "$T/ev/blessing" --to "$1" >/dev/null
    t0=$(now_ms)
    for _ in $(seq 1 4000); do [ "$(version)" = "$want" ] && break; sleep 0.005; done
    t1=$(now_ms)
    [ "$(version)" = "$want" ] || fail "version $want not served"
    echo $((t1 - t0))
}

echo "== cold start to the first answered :predict (median of 5)"
median() { sort -n | sed -n 3p; }
for i in 1 2 3 4 5; do start "$T/local/taxi"; stop; done | median | sed 's/^/folder:          /; s/$/ ms/'
for i in 1 2 3 4 5; do rm -rf "$T/cache"; start s3://models/taxi; stop; done | median | sed 's/^/s3, empty cache: /; s/$/ ms/'
for i in 1 2 3 4 5; do start s3://models/taxi; stop; done | median | sed 's/^/s3, warm cache:  /; s/$/ ms/'

echo "== pick-up of a new version (median of 5)"
start "$T/local/taxi" >/dev/null
for i in 1 2 3 4 5; do pickup "$T/local/taxi"; done | median | sed 's/^/folder (inotify): /; s/$/ ms/'
stop
start s3://models/taxi >/dev/null
for i in 1 2 3 4 5; do pickup s3://models/taxi; done | median | sed 's/^/s3 (poll 1 s):   /; s/$/ ms/'
stop
