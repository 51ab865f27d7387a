#!/usr/bin/env bash
# The test command: builds cfx with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs every unit and end-to-end test with ctest.
set -euo pipefail
cd "$(dirname "$0")"
BUILD=${BUILD:-build-asan}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCFX_SANITIZE=ON -DCFX_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
