#!/usr/bin/env bash
# pipeline_bench.sh: the whole taxi pipeline, CSV to pushed bundle, with
# `cfx run` (cold: fresh pipeline root), then an unchanged re-run (all nine
# steps from the cache). Prints wall times; repeat with N=3 for medians.
#   bench/pipeline_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CFX=$BUILD/cfx
[ -x "$CFX" ] || { echo "build first: cmake --build $BUILD" >&2; exit 1; }
N=${N:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cp examples/taxi/*.json examples/taxi/data.csv "$T/"
# Pipeline root and serving dir inside the temp dir.
sed -i -e 's#"pipeline_root": *"[^"]*"#"pipeline_root": "root"#' \
       -e 's#"serving_dir": *"[^"]*"#"serving_dir": "serving"#' "$T/pipeline.json"
now() { date +%s.%N; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %10s\n' run cold_s cached_s
for i in $(seq 1 "$N"); do
  rm -rf "$T/root" "$T/serving"
  a=$(now); "$CFX" run "$T/pipeline.json" >"$T/cold.log" 2>&1; b=$(now)
  "$CFX" run "$T/pipeline.json" >"$T/cached.log" 2>&1; c=$(now)
  grep -q "pushed version 1" "$T/cold.log" || { cat "$T/cold.log"; exit 1; }
  grep -q "0 ran, 9 cached" "$T/cached.log" || { cat "$T/cached.log"; exit 1; }
  printf '%-4s %10.2f %10.3f\n' "$i" "$(awk -v x="$a" -v y="$b" "BEGIN{print y-x}")" "$(awk -v x="$b" -v y="$c" "BEGIN{print y-x}")"
done
grep -E '^(ExampleGen|StatisticsGen|SchemaGen|ExampleValidator|Transform|Trainer|Evaluator|InfraValidator|Pusher) ' "$T/cold.log" |
  awk '{printf "  %-16s %s s\n", $1, $5}'
