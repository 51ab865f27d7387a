#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (address + undefined
# sanitizers) into ${OUT:-build-fuzz}/; not part of the default CMake build.
#
#   fuzz/build.sh                    build every target
#   build-fuzz/example_fuzz fuzz/corpus/example -max_total_time=60
#
# Seeds from real data are in fuzz/corpus/<target>/; a run writes new inputs
# into the first corpus directory given, so copy it first to keep the
# committed seeds small.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-fuzz}
CC=${CC:-clang}
if ! command -v "$CC" >/dev/null; then
  echo "fuzz/build.sh: $CC not found; libFuzzer targets need clang" >&2
  exit 1
fi
mkdir -p "$OUT/proto" "$OUT/obj"
for p in example schema cfx_test cfx_test2 path wrappers types tensor_shape tensor model predict statistics; do
  protoc-c -Iproto --c_out="$OUT/proto" "proto/$p.proto"
done
FLAGS=(-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I. -I"$OUT/proto")
objs=()
for src in formats/tfrecord.c formats/example.c formats/arena.c formats/buf.c \
           formats/err.c formats/base64.c formats/pbcodec_field.c formats/safetensors.c \
           formats/pbcodec_text.c formats/pbcodec_json.c \
           pipeline/csv.c pipeline/csv_value.c pipeline/quantiles.c pipeline/statistics.c; do
  o="$OUT/obj/$(basename "$src" .c).o"
  "$CC" "${FLAGS[@]}" -Wall -Wextra -Werror -c "$src" -o "$o"
  objs+=("$o")
done
for pc in "$OUT"/proto/*.pb-c.c; do
  o="$OUT/obj/$(basename "$pc" .c).o"
  "$CC" "${FLAGS[@]}" -w -c "$pc" -o "$o"
  objs+=("$o")
done
LIBS=(-lprotobuf-c -ljansson -lz -lpthread -lm)
for t in fuzz/*_fuzz.c; do
  n=$(basename "$t" .c)
  "$CC" "${FLAGS[@]}" -fsanitize=fuzzer -Wall -Wextra -Werror "$t" "${objs[@]}" \
    "${LIBS[@]}" -o "$OUT/$n"
  echo "built $OUT/$n"
done
