#!/usr/bin/env bash
# parts_test.sh: examplegen, statistics and the transform analyzers split
# into parts (--part I/N, in separate processes) and merged (--merge) give
# the same files, byte for byte, as one process over everything
# (docs/data.md and docs/transform.md, Across machines): the taxi CSV with
# a bad row skipped, 3 examplegen parts merged in shuffled order; statistics
# in 3 parts against one run with 3 threads; the analyzers in 3 parts (with
# a schema) and in 4 parts (no schema, quantiles past the exact budget, so
# KLL sketches merge). Then what a merge must refuse, leaving no output: a
# missing or repeated part, a part of another run, a truncated record file
# or state, another spec.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
E=$CFX_SOURCE_DIR/examples/taxi

# the taxi CSV with one malformed row (too many fields) in the middle
{ head -n 7001 "$E/data.csv"; echo "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20"
  tail -n +7002 "$E/data.csv"; } >"$T/data.csv"
EG=(--split train:3,eval:1,test:1 --num-shards 3 --skip-bad-rows)

same_tree() { # single merged what
    (cd "$1" && find . -type f | sort) >"$T/a.lst"
    (cd "$2" && find . -type f | sort) >"$T/b.lst"
    diff -q "$T/a.lst" "$T/b.lst" >/dev/null ||
        fail "$3: the files differ: $(diff "$T/a.lst" "$T/b.lst" | head -5)"
    local n=0
    while read -r f; do
        cmp -s "$1/$f" "$2/$f" || fail "$3: $f differs from the single run's"
        n=$((n + 1))
    done <"$T/a.lst"
    [ "$n" -gt 0 ] || fail "$3: no files"
    echo "$3: $n files identical"
}

echo "== examplegen"
"$CFX" examplegen --input "$T/data.csv" "${EG[@]}" --output "$T/ex" >"$T/single.txt" 2>/dev/null ||
    fail "examplegen: $(cat "$T/single.txt")"
grep -q "skipped 1 bad rows" "$T/single.txt" || fail "the bad row was not skipped: $(cat "$T/single.txt")"
for i in 0 1 2; do
    "$CFX" examplegen --input "$T/data.csv" "${EG[@]}" --part $i/3 --output "$T/exp$i" \
        >/dev/null 2>"$T/err" || fail "examplegen --part $i/3: $(cat "$T/err")"
    [ -s "$T/exp$i/part.json" ] && [ -s "$T/exp$i/Split-train/examples.tfrecord" ] ||
        fail "part $i: no manifest or records"
done
# part 1 as on another machine: a copy of the CSV at another path
mkdir "$T/elsewhere" && cp "$T/data.csv" "$T/elsewhere/copy.csv"
"$CFX" examplegen --input "$T/elsewhere/copy.csv" "${EG[@]}" --part 1/3 --output "$T/exp1b" \
    >/dev/null 2>"$T/err" || fail "examplegen --part 1/3 of the copy: $(cat "$T/err")"
"$CFX" examplegen --merge "$T/exp0" --merge "$T/exp1b" --merge "$T/exp2" --output "$T/exmb" \
    >/dev/null 2>"$T/err" || fail "merge with a part of the copy: $(cat "$T/err")"
same_tree "$T/ex" "$T/exmb" "examplegen 3 parts, one from a copy of the CSV"
"$CFX" examplegen --merge "$T/exp2" --merge "$T/exp0" --merge "$T/exp1" --output "$T/exm" \
    >"$T/merge.txt" 2>&1 || fail "examplegen --merge: $(cat "$T/merge.txt")"
same_tree "$T/ex" "$T/exm" "examplegen 3 parts"
grep -q "Split-test: $(sed -n 's/^  Split-test: \([0-9]*\) examples/\1/p' "$T/single.txt") examples" "$T/merge.txt" ||
    fail "merge counts differ: $(cat "$T/merge.txt")"

echo "== statistics"
"$CFX" statistics --examples "$T/ex" --threads 3 --output "$T/st" >/dev/null
for i in 0 1 2; do
    "$CFX" statistics --examples "$T/exm" --part $i/3 --threads 1 --output "$T/stp$i" >/dev/null
done
"$CFX" statistics --merge "$T/stp0" --merge "$T/stp1" --merge "$T/stp2" --output "$T/stm" >/dev/null
same_tree "$T/st" "$T/stm" "statistics 3 parts"
"$CFX" schema --statistics "$T/st" --output "$T/schema" >/dev/null

echo "== transform analyzers"
TF=(--examples "$T/ex" --spec "$E/transform.json")
"$CFX" transform "${TF[@]}" --schema "$T/schema/schema.pbtxt" --output "$T/tf" >/dev/null
for i in 0 1 2; do
    "$CFX" transform "${TF[@]}" --schema "$T/schema/schema.pbtxt" --part $i/3 --output "$T/tfp$i" \
        >/dev/null 2>"$T/err" || fail "transform --part $i/3: $(cat "$T/err")"
done
"$CFX" transform "${TF[@]}" --schema "$T/schema/schema.pbtxt" \
    --merge "$T/tfp1" --merge "$T/tfp2" --merge "$T/tfp0" --output "$T/tfm" >/dev/null 2>"$T/err" ||
    fail "transform --merge: $(cat "$T/err")"
same_tree "$T/tf" "$T/tfm" "transform 3 parts"
Q=(--max-quantile-values 40)
"$CFX" transform "${TF[@]}" "${Q[@]}" --output "$T/tq" >"$T/tq.txt"
grep -q "approximate quantiles" "$T/tq.txt" || fail "the budget did not force sketches"
for i in 0 1 2 3; do
    "$CFX" transform "${TF[@]}" "${Q[@]}" --part $i/4 --output "$T/tqp$i" >/dev/null
done
"$CFX" transform "${TF[@]}" "${Q[@]}" --merge "$T/tqp0" --merge "$T/tqp1" \
    --merge "$T/tqp2" --merge "$T/tqp3" --output "$T/tqm" >/dev/null
same_tree "$T/tq" "$T/tqm" "transform 4 parts, sketches, no schema"

echo "== refusals"
refused() { # name, expected message, command...
    local what=$1 msg=$2 out
    shift 2
    rm -rf "$T/bad"
    if "$@" --output "$T/bad" >"$T/err" 2>&1; then fail "$what: accepted"; fi
    grep -q -- "$msg" "$T/err" || fail "$what: message: $(cat "$T/err")"
    [ ! -e "$T/bad" ] || fail "$what: output left behind"
}
refused "a missing part" "2 parts given, the run has 3" \
    "$CFX" examplegen --merge "$T/exp0" --merge "$T/exp1"
refused "a repeated part" "part 1 given twice" \
    "$CFX" examplegen --merge "$T/exp0" --merge "$T/exp1" --merge "$T/exp1"
"$CFX" examplegen --input "$T/data.csv" --skip-bad-rows --part 2/3 --output "$T/other2" >/dev/null 2>&1
refused "a part of another run" "a part of another run" \
    "$CFX" examplegen --merge "$T/exp0" --merge "$T/exp1" --merge "$T/other2"
cp -r "$T/exp1" "$T/cut1"
f=$T/cut1/Split-eval/examples.tfrecord
head -c $(($(stat -c %s "$f") - 7)) "$f" >"$f.x" && mv "$f.x" "$f"
refused "a truncated record file" "examples.tfrecord" \
    "$CFX" examplegen --merge "$T/exp0" --merge "$T/cut1" --merge "$T/exp2"
refused "--part with --pipeline-root" "no --pipeline-root" \
    "$CFX" examplegen --input "$T/data.csv" --part 0/2 --pipeline-root "$T/root"
cp -r "$T/tfp2" "$T/tcut2"
f=$T/tcut2/analyzers.state
head -c $(($(stat -c %s "$f") - 9)) "$f" >"$f.x" && mv "$f.x" "$f"
refused "a truncated analyzer state" "analyzers.state" \
    "$CFX" transform "${TF[@]}" --schema "$T/schema/schema.pbtxt" \
    --merge "$T/tfp0" --merge "$T/tfp1" --merge "$T/tcut2"
refused "analyzer parts without the schema they were made with" "another transform spec or schema" \
    "$CFX" transform "${TF[@]}" --merge "$T/tfp0" --merge "$T/tfp1" --merge "$T/tfp2"
refused "a missing analyzer part" "but 2 parts given" \
    "$CFX" transform "${TF[@]}" --schema "$T/schema/schema.pbtxt" --merge "$T/tfp0" --merge "$T/tfp1"
echo "PASS: parts merged equal single runs (examplegen, statistics, transform); bad merges refused"
