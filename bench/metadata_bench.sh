#!/usr/bin/env bash
# metadata_bench.sh: the metadata store on PostgreSQL against SQLite, in one
# command on one machine (docs/metadata.md, PostgreSQL). A PostgreSQL server
# of its own (tests/with_postgres.sh: unix socket, fsync off, so it measures
# the protocol and locking, not a disk). Two workloads, each on SQLite (the
# root's file) and on PostgreSQL (--metadata), alternating, N times:
#   cached  `cfx run` of the taxi pipeline with everything cached (nine
#           cache lookups and recordings: pure metadata work), one process
#   burst   P processes at once, each `cfx examplegen`, `cfx statistics`,
#           `cfx schema` with --pipeline-root on a 300-row slice (the
#           writers contend for the store's one write lock)
# Prints seconds per run and the median ratio PostgreSQL / SQLite.
#   bench/metadata_bench.sh [BUILD_DIR]     (N=5 P=8 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CFX=$(cd "$BUILD" && pwd)/cfx
[ -x "$CFX" ] || { echo "build first: cmake --build $BUILD" >&2; exit 1; }
if [ -z "${CFX_TEST_PG:-}" ]; then
    exec bash tests/with_postgres.sh bash "$0" "$@"
fi
N=${N:-5}
P=${P:-8}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export PATH=$(dirname "$CFX"):$PATH
cp examples/taxi/*.json examples/taxi/data.csv "$T/"
head -n 301 examples/taxi/data.csv >"$T/small.csv"
sed -i -e 's#"pipeline_root": *"[^"]*"#"pipeline_root": "root"#' \
    -e 's#"serving_dir": *"[^"]*"#"serving_dir": "serving"#' \
    -e 's#"train_steps": [0-9]*#"train_steps": 200#' "$T/pipeline.json" "$T/trainer.json"
# each store its own root (execution ids name the output folders)
sed -e 's#"root"#"root-pg"#' -e 's#"serving"#"serving-pg"#' "$T/pipeline.json" >"$T/pipeline-pg.json"
createdb -h "$CFX_TEST_PG_HOST" -p "$CFX_TEST_PG_PORT" -U cfx bench
URL="postgresql://cfx@/bench?host=$CFX_TEST_PG_HOST&port=$CFX_TEST_PG_PORT"
now() { date +%s.%N; }
secs() { awk -v x="$1" -v y="$2" 'BEGIN{printf "%.3f", y-x}'; }

# the pipeline once per store, so later runs are all cached
"$CFX" run "$T/pipeline.json" >"$T/cold.sq" 2>&1 || { cat "$T/cold.sq"; exit 1; }
"$CFX" run --metadata "$URL" "$T/pipeline-pg.json" >"$T/cold.pg" 2>&1 || { cat "$T/cold.pg"; exit 1; }

chain() { # root, extra flags...
    local root=$1 out ex st
    shift
    out=$("$CFX" examplegen --input "$T/small.csv" --pipeline-root "$root" "$@")
    ex=$(sed -n 's/^examplegen: .* -> \(.*\) in [0-9.]* s.*/\1/p' <<<"$out")
    out=$("$CFX" statistics --examples "$ex" --pipeline-root "$root" "$@")
    st=$(sed -n 's/^statistics: .* -> \(.*\) in [0-9.]* s.*/\1/p' <<<"$out")
    "$CFX" schema --statistics "$st" --pipeline-root "$root" "$@" >/dev/null
}
burst() { # tag, extra flags...
    local tag=$1 pids=()
    shift
    for p in $(seq 1 "$P"); do
        chain "$T/burst-$tag" "$@" >"$T/burst.$tag.$p" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || { echo "burst $tag failed" >&2; exit 1; }; done
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %10s %10s %10s\n' run cached_sq cached_pg burst_sq burst_pg
: >"$T/ratios"
for i in $(seq 1 "$N"); do
    a=$(now); "$CFX" run "$T/pipeline.json" >"$T/c.sq" 2>&1; b=$(now)
    "$CFX" run --metadata "$URL" "$T/pipeline-pg.json" >"$T/c.pg" 2>&1; c=$(now)
    grep -q "0 ran, 9 cached" "$T/c.sq" && grep -q "0 ran, 9 cached" "$T/c.pg" ||
        { echo "not all cached" >&2; exit 1; }
    burst sq; d=$(now)
    burst pg --metadata "$URL"; e=$(now)
    cs=$(secs "$a" "$b") cp=$(secs "$b" "$c") bs=$(secs "$c" "$d") bp=$(secs "$d" "$e")
    printf '%-4s %10s %10s %10s %10s\n' "$i" "$cs" "$cp" "$bs" "$bp"
    echo "$cs $cp $bs $bp" >>"$T/ratios"
done
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
rc=$(awk '{printf "%.3f\n", $2/$1}' "$T/ratios" | median)
rb=$(awk '{printf "%.3f\n", $4/$3}' "$T/ratios" | median)
echo "median ratio PostgreSQL/SQLite: cached run $rc, burst of $P processes $rb"
n=$(psql "$URL" -AtX -c "SELECT count(*) FROM Execution WHERE last_known_state NOT IN (3, 5)")
[ "$n" = 0 ] || { echo "$n executions neither COMPLETE nor CACHED" >&2; exit 1; }
