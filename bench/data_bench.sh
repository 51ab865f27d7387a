#!/usr/bin/env bash
# data_bench.sh: examplegen + statistics throughput and peak memory at 100k
# and 1M rows. The inputs are made by resampling examples/taxi/data.csv
# with replacement, deterministically (a fixed LCG in awk), so every run
# sees the same rows. Prints a Markdown table (docs/BENCHMARKS.md).
#
#   bench/data_bench.sh [ROWS...]        default: 100000 1000000
#   CFX=path/to/cfx  (default: build/cfx under the source tree)
#   BENCH_DIR=dir    (scratch space, default: a temporary directory)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CFX=${CFX:-$ROOT/build/cfx}
CSV=$ROOT/examples/taxi/data.csv
[ -x "$CFX" ] || { echo "no cfx binary at $CFX (set CFX=)" >&2; exit 2; }
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time" >&2; exit 2; }
ROWS=("$@")
[ ${#ROWS[@]} -gt 0 ] || ROWS=(100000 1000000)
W=${BENCH_DIR:-$(mktemp -d /tmp/cfx-data-bench-XXXXXX)}
mkdir -p "$W"
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$W"' EXIT

resample() { # rows out
  awk -v rows="$1" 'NR == 1 { print; next } { r[n++] = $0 }
    END { s = 42; for (i = 0; i < rows; i++) {
            s = (s * 1103515245 + 12345) % 2147483648; print r[int(s / 65536) % n] } }' \
    "$CSV" > "$2"
}

# runs "$@" under GNU time; sets WALL (s), CPU (user+sys s), RSS (MiB)
measure() {
  "$TIME" -f '%e %U %S %M' -o "$W/time.txt" "$@" > "$W/cmd.out"
  read -r wall user sys kb < "$W/time.txt"
  WALL=$wall
  CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  RSS=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
}

echo "| rows | step | wall s | CPU s | rows/s (wall) | peak RSS MiB |"
echo "|---:|---|---:|---:|---:|---:|"
for n in "${ROWS[@]}"; do
  csv="$W/taxi_$n.csv"
  [ -s "$csv" ] || resample "$n" "$csv"
  rm -rf "$W/ex_$n" "$W/st_$n"
  measure "$CFX" examplegen --input "$csv" --output "$W/ex_$n"
  ew=$WALL
  ec=$CPU
  echo "| $n | examplegen | $WALL | $CPU | $(awk -v n="$n" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }') | $RSS |"
  measure "$CFX" statistics --examples "$W/ex_$n" --output "$W/st_$n"
  sw=$WALL
  echo "| $n | statistics | $WALL | $CPU | $(awk -v n="$n" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }') | $RSS |"
  # CPU time as well: on a shared machine the wall time mostly measures
  # the other load (see the load average printed below)
  echo "| $n | **both** | $(awk -v a="$ew" -v b="$sw" 'BEGIN { printf "%.2f", a + b }') | $(awk -v a="$ec" -v b="$CPU" 'BEGIN { printf "%.2f", a + b }') | | |"
done
echo
echo "machine: $(nproc) CPUs, load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
