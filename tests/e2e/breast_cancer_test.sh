#!/usr/bin/env bash
# breast_cancer_test.sh: the pipeline on a second data set, with nothing but
# its own configuration (examples/breast_cancer/): `cfx run` of the committed
# pipeline.json (only pipeline_root and serving_dir moved into a temporary
# folder) must go CSV -> ... -> BLESSED -> pushed version 1, and the pushed
# bundle must predict from raw CSV rows. The committed CSV is checked first
# (shape, class counts), and the AUC over every row is recomputed by python3
# from `cfx predict`'s output, independently of the evaluator.
set -euo pipefail
CFX=${CFX:?path to cfx}
SRC=${CFX_SOURCE_DIR:?}
EX="$SRC/examples/breast_cancer"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

echo "== the data: 569 rows, 30 features + label, 212 malignant"
python3 - "$EX/data.csv" <<'EOF' || fail "data.csv is not the WDBC table"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
hdr, body = rows[0], rows[1:]
assert len(hdr) == 31 and hdr[0] == "mean_radius" and hdr[-1] == "malignant", hdr
assert len(body) == 569, len(body)
assert all(len(r) == 31 for r in body)
assert sum(r[-1] == "1" for r in body) == 212 and sum(r[-1] == "0" for r in body) == 357
assert body[0][:2] == ["17.99", "10.38"], body[0][:2]
print("data ok")
EOF

# The committed configs, unchanged but for where the outputs go.
cp "$EX"/{data.csv,transform.json,trainer.json,eval.json} "$T/"
sed -e 's#"pipeline_root": "[^"]*"#"pipeline_root": "root"#' \
    -e 's#"serving_dir": "[^"]*"#"serving_dir": "serving"#' \
    "$EX/pipeline.json" > "$T/pipeline.json"
grep -q '"pipeline_root": "root"' "$T/pipeline.json" || fail "could not move pipeline_root"
grep -q '"serving_dir": "serving"' "$T/pipeline.json" || fail "could not move serving_dir"

echo "== cfx run examples/breast_cancer/pipeline.json"
rc=0; "$CFX" run "$T/pipeline.json" > "$T/run.txt" 2> "$T/err.txt" || rc=$?
grep -v "^    " "$T/run.txt" || true
[ $rc -eq 0 ] || { cat "$T/err.txt"; fail "cfx run exited $rc"; }
for c in ExampleGen StatisticsGen SchemaGen ExampleValidator Transform Trainer Evaluator \
         InfraValidator Pusher; do
  grep -Eq "^$c +execution [0-9]+ +COMPLETE" "$T/run.txt" || fail "$c did not complete"
done
grep -Eq '^ExampleGen .* 569 examples, 31 columns' "$T/run.txt" || fail "ExampleGen row count"
grep -Eq '^ExampleValidator .* no anomalies' "$T/run.txt" || fail "anomalies in the data"
grep -Eq '^Transform .* 30 transformed features' "$T/run.txt" || fail "not 30 z-scores"
grep -Eq '^Evaluator .* BLESSED: .*auc [0-9.]+ >= lower bound 0.95 on Overall' "$T/run.txt" ||
  fail "evaluator did not bless on AUC"
grep -Eq "^Pusher .* pushed version 1 to $T/serving/breast_cancer/1$" "$T/run.txt" ||
  fail "push line"
BLESSING=$(ls -d "$T"/root/Evaluator/blessing/* | head -n 1)
[ -f "$BLESSING/BLESSED" ] || fail "no BLESSED file in $BLESSING"
[ ! -e "$BLESSING/NOT_BLESSED" ] || fail "NOT_BLESSED beside BLESSED"
B="$T/serving/breast_cancer/1"
[ -f "$B/manifest.json" ] || fail "no bundle at serving/breast_cancer/1"
[ ! -e "$T/serving/breast_cancer/2" ] || fail "more than one version pushed"

echo "== the evaluator's metrics: AUC >= 0.95 on the eval split"
METRICS=$(ls -d "$T"/root/Evaluator/evaluation/* | head -n 1)/metrics.json
python3 - "$METRICS" <<'EOF' || fail "evaluator metrics"
import json, sys
m = json.load(open(sys.argv[1]))
s = [x for x in m["slices"] if x["slice"] == "Overall"][0]["metrics"]
n, auc = s["example_count"], s["auc"]
# ExampleGen's 2:1 hash split leaves about a third of 569 rows for eval.
assert 150 <= n <= 230, n
assert auc >= 0.95, auc
# malignant is the minority class (212 of 569)
assert 0.25 <= s["mean_label"] <= 0.5, s["mean_label"]
print("eval: %d rows, AUC %.4f, accuracy %.4f" % (n, auc, s["binary_accuracy"]))
EOF

echo "== cfx predict from raw CSV rows with the pushed bundle"
"$CFX" predict --bundle "$B" --input "$EX/data.csv" --output "$T/pred.csv" 2> "$T/err.txt" ||
  { cat "$T/err.txt"; fail "cfx predict"; }
python3 - "$EX/data.csv" "$T/pred.csv" <<'EOF' || fail "predictions"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
pred = list(csv.DictReader(open(sys.argv[2])))
assert len(pred) == len(rows) == 569, (len(pred), len(rows))
y = [int(r["malignant"]) for r in rows]
p = [float(r["probability"]) for r in pred]
assert all(0.0 <= v <= 1.0 for v in p)
assert all(int(r["class"]) == (float(r["probability"]) > 0.5) for r in pred)
# Mann-Whitney AUC, ties counted half, over all 569 rows (train and eval).
pos = [v for v, t in zip(p, y) if t == 1]
neg = [v for v, t in zip(p, y) if t == 0]
wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
auc = wins / (len(pos) * len(neg))
acc = sum((v > 0.5) == (t == 1) for v, t in zip(p, y)) / len(y)
print("all rows: AUC %.4f, accuracy %.4f" % (auc, acc))
assert auc >= 0.98, auc
assert acc >= 0.95, acc
# Row 1 (radius 17.99, worst concave points 0.2654) is malignant in the data;
# row 20 (radius 13.54) is benign: the label points the right way round.
assert y[0] == 1 and p[0] > 0.9, p[0]
assert y[19] == 0 and p[19] < 0.1, (y[19], p[19])
EOF

echo "== a rerun is cached and pushes nothing"
"$CFX" run "$T/pipeline.json" > "$T/run2.txt" 2>&1 || { cat "$T/run2.txt"; fail "rerun"; }
cached=$(grep -Ec '^[A-Za-z]+ +execution [0-9]+ +CACHED' "$T/run2.txt")
[ "$cached" -eq 9 ] || fail "rerun: $cached of 9 steps cached"
[ ! -e "$T/serving/breast_cancer/2" ] || fail "an unchanged rerun pushed again"

echo "PASS"
