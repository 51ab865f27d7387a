#!/usr/bin/env bash
# init_iris_test.sh: a three-class CSV with a string label to a served model
# with `cfx init` and `cfx run` and no edit in between (tests/e2e/init_lib.sh):
# the task chosen and its reason, test accuracy >= 0.95 and at most one eval
# row below scikit-learn's multinomial logistic regression on the same split,
# and REST and gRPC answers (every class with its label string) equal to
# `cfx predict`.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/init_lib.sh"

init_e2e iris species multiclass
grep -q "multiclass: the label is a string column with 3 distinct values" "$T/init.txt" ||
    fail "no reason for the task"
for f in sepal_length sepal_width petal_length petal_width; do
    grep -Eq "^  $f +z_score: " "$T/init.txt" || fail "$f is not a z-score"
done

echo "== mistakes are refused with what to do"
rc=0; "$CFX" init --csv "$T/iris.csv" --label specis --output "$T/x" 2>"$T/err.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "no column 'specis' (did you mean 'species'?)" "$T/err.txt" ||
    fail "misspelt label: exit $rc, $(cat "$T/err.txt")"
rc=0; "$CFX" init --csv "$T/iris.csv" --label species --task regression --output "$T/x" \
    >/dev/null 2>"$T/err.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "label column 'species' is a string column, not a number" "$T/err.txt" ||
    fail "--task regression of strings: exit $rc, $(cat "$T/err.txt")"
rc=0; "$CFX" init --csv "$T/iris.csv" --label species --output "$T/iris" 2>"$T/err.txt" || rc=$?
[ $rc -eq 1 ] && grep -q "pipeline.json exists (--force to overwrite" "$T/err.txt" ||
    fail "a second init over the first: exit $rc, $(cat "$T/err.txt")"
echo "PASS"
