#!/usr/bin/env bash
# init_wine_test.sh: three classes from an integer label column (0, 1, 2)
# to a served model with `cfx init` and `cfx run` and no edit in between
# (tests/e2e/init_lib.sh): the class label strings are the integers' decimal
# form ("0", "1", "2") in every answer, every column a z-score (malic acid
# is right-skewed but spans no order of magnitude), test accuracy >= 0.95
# and at most one eval row below scikit-learn's multinomial logistic
# regression on the same split, and REST and gRPC answers equal to
# `cfx predict`.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/init_lib.sh"

init_e2e wine cultivar multiclass
grep -q "multiclass: the label is an integer column with only 3 distinct values" "$T/init.txt" ||
    fail "no reason for the task"
# malic acid: 0.74 to 5.8, median about 1.9 (skewness 3 (mean - median) /
# std about 1.3), but the largest is not 10 x the median
n=$(grep -Ec "^  [a-z0-9_]+ +z_score: a numeric column" "$T/init.txt")
[ "$n" = 13 ] || fail "$n of 13 columns are z-scores"
head -n 1 "$T/pred.csv" | grep -qx "probability:0,probability:1,probability:2,class" ||
    fail "cfx predict header: $(head -n 1 "$T/pred.csv")"
echo "PASS"
