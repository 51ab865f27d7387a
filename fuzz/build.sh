#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (address + undefined
# sanitizers) into ${OUT:-build-fuzz}/: a CMake build with CFX_FUZZ=ON, so
# each target links the same libraries as cfx and cfx-serve (CMakeLists.txt).
# Not part of the default build. Needs clang and libFuzzer (Debian:
# clang, libclang-rt-dev; scripts/install-deps.sh installs both).
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
CXX=${CXX:-clang++}
for c in "$CC" "$CXX"; do
  if ! command -v "$c" >/dev/null; then
    echo "fuzz/build.sh: $c not found; libFuzzer targets need clang" >&2
    exit 1
  fi
done
cmake -S . -B "$OUT" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_BUILD_TYPE=Debug -DCFX_FUZZ=ON -DCFX_WERROR=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$OUT" --target cfx_fuzz -j"$(nproc)"
for t in fuzz/*_fuzz.c; do
  echo "built $OUT/$(basename "$t" .c)"
done
