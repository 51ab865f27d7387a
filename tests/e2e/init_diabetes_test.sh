#!/usr/bin/env bash
# init_diabetes_test.sh: a regression CSV (an integer target with many
# values) to a served model with `cfx init` and `cfx run` and no edit in
# between (tests/e2e/init_lib.sh): the task chosen and its reason, a
# two-valued integer column as a vocabulary, test R² at most 0.02 below
# scikit-learn's HistGradientBoostingRegressor on the same split, and REST
# (:predict, :regress) and gRPC (Predict, Regress) answers equal to
# `cfx predict`.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/init_lib.sh"

init_e2e diabetes progression regression
grep -Eq "regression: the label is an integer column with [0-9]+ distinct values" "$T/init.txt" ||
    fail "no reason for the task"
grep -Eq "^  sex +vocabulary: an integer column with only 2 distinct values" "$T/init.txt" ||
    fail "sex is not a vocabulary"
grep -Eq "^  bmi +(z_score|log_z_score): " "$T/init.txt" || fail "bmi is not a z-score"
echo "PASS"
