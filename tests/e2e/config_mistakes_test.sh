#!/usr/bin/env bash
# config_mistakes_test.sh: mistakes in what a person writes are refused
# before any work, naming the file, the key path and the closest valid
# name, with a non-zero exit; a baseline that answers another question
# (another label or pipeline) is never compared with the candidate, and the
# evaluation says so.
set -euo pipefail

: "${CFX:?path of the cfx binary}"
: "${CFX_SOURCE_DIR:?source tree}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
taxi=$CFX_SOURCE_DIR/examples/taxi
bc=$CFX_SOURCE_DIR/examples/breast_cancer

# refused WHAT EXPECTED-TEXT CMD...: CMD exits non-zero and its stderr holds
# EXPECTED-TEXT (a fixed string).
refused() {
    local what=$1 want=$2
    shift 2
    local rc=0
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "$what: accepted (exit 0)"
    grep -qF -- "$want" "$T/err" || fail "$what: message: $(cat "$T/err")"
    echo "ok   $what (exit $rc): $(tail -1 "$T/err")"
}

# the first 4,000 taxi trips: enough for every check, quick under ASan
head -4001 "$taxi/data.csv" >"$T/data.csv"

# pipeline ARGS...: examples/taxi/pipeline.json with its root, data and
# serving folder in $T, through the sed expressions ARGS, as $T/p/pipeline.json
mkdir -p "$T/p"
cp "$taxi"/*.json "$T/p/"
pipeline() {
    sed "s|\"../../out/pipeline/taxi\"|\"$T/root\"|; s|\"data.csv\"|\"$T/data.csv\"|; s|\"../../out/serving\"|\"$T/serving\"|" \
        "$taxi/pipeline.json" | sed "$@" >"$T/p/pipeline.json"
}

# 1. pipeline.json: a misspelt setting would switch the anomaly gate off
pipeline -e 's/"stop_on_anomalies"/"stop_on_anomalys"/'
refused "pipeline.json: misspelt setting" \
    "$T/p/pipeline.json: components.ExampleValidator: unknown setting 'stop_on_anomalys' (did you mean 'stop_on_anomalies'?)" \
    "$CFX" run "$T/p/pipeline.json"
[ ! -e "$T/root" ] || fail "the run started before refusing the config"
pipeline -e 's/"Evaluator"/"Evaluater"/'
refused "pipeline.json: misspelt component" \
    "$T/p/pipeline.json: components: unknown component 'Evaluater' (did you mean 'Evaluator'?)" \
    "$CFX" run "$T/p/pipeline.json"
[ ! -e "$T/root" ] || fail "the run started before refusing the config"

# 2. transform.json inputs and the label against the schema, before any work
"$CFX" examplegen --input "$T/data.csv" --output "$T/ex" >/dev/null
"$CFX" statistics --examples "$T/ex" --output "$T/st" >/dev/null
"$CFX" schema --statistics "$T/st" --output "$T/sc" >/dev/null
sed 's/"input": "fare"}/"input": "fair"}/' "$taxi/transform.json" >"$T/fair.json"
refused "transform input not in the schema" \
    "$T/fair.json: outputs[0] ('fare_xf'): input 'fair' is not a feature of the schema $T/sc/schema.pbtxt (did you mean 'fare'?)" \
    "$CFX" transform --examples "$T/ex" --schema "$T/sc/schema.pbtxt" --spec "$T/fair.json" --output "$T/x1"
[ ! -e "$T/x1/transform_graph/transform.json" ] || fail "a graph was written"
refused "transform input in no example (no schema)" \
    "$T/fair.json: outputs[0] ('fare_xf'): input 'fair' is a feature of no example in $T/ex/Split-train (did you mean 'fare'?)" \
    "$CFX" transform --examples "$T/ex" --spec "$T/fair.json" --output "$T/x2"
sed 's/"input": "tips"/"input": "tip"/' "$taxi/transform.json" >"$T/tip.json"
refused "label column not in the schema" \
    "$T/tip.json: label ('tips_xf'): input 'tip' is not a feature of the schema $T/sc/schema.pbtxt (did you mean 'tips'?)" \
    "$CFX" transform --examples "$T/ex" --schema "$T/sc/schema.pbtxt" --spec "$T/tip.json" --output "$T/x3"
sed 's/{"input": "fare", "scale"/{"input": "fares", "scale"/' "$taxi/transform.json" >"$T/fares.json"
refused "label threshold column in no example" \
    "$T/fares.json: label.threshold: input 'fares' is a feature of no example in $T/ex/Split-train (did you mean 'fare'?)" \
    "$CFX" transform --examples "$T/ex" --spec "$T/fares.json" --output "$T/x4"
sed 's/"top_k": 1000, "num_oov_buckets": 10}/"top_k": 1000, "num_oov_bucket": 10}/' "$taxi/transform.json" >"$T/key.json"
refused "transform.json: misspelt key" \
    "unknown key 'num_oov_bucket' (did you mean 'num_oov_buckets'?)" \
    "$CFX" transform --examples "$T/ex" --spec "$T/key.json" --output "$T/x5"

# ... and in a pipeline, the Transform step stops the run naming the file
pipeline -e 's/"stop_on_anomalies": true/"stop_on_anomalies": false/; s/"transform.json"/"tip.json"/'
cp "$T/tip.json" "$T/p/tip.json"
refused "cfx run: label column missing" \
    "$T/p/tip.json: label ('tips_xf'): input 'tip' is not a feature of the schema" \
    "$CFX" run "$T/p/pipeline.json"
! grep -q '^Trainer' "$T/out" || fail "the Trainer ran after the Transform failed"

# 3. trainer.json and eval.json
printf '{"train_step": 100}' >"$T/trainer.json"
refused "trainer.json: misspelt key" \
    "$T/trainer.json: unknown key 'train_step' (did you mean 'train_steps'?)" \
    "$CFX" train --examples "$T/ex" --transform-graph "$T/ex" --config "$T/trainer.json" --output "$T/m0"

# 4. a label used as the class directly: 0/1 only; greater_than makes a
#    column binary on purpose
"$PY" - "$T/lab.csv" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("x,y,z\n")
    for i in range(300):
        f.write("%d,%d,%d\n" % (i, i % 2, i % 3))
PYEOF
"$CFX" examplegen --input "$T/lab.csv" --output "$T/lex" >/dev/null
for col in y z; do
    printf '{"outputs": [{"name": "x_xf", "op": "z_score", "input": "x"}], "label": {"name": "l", "op": "identity", "input": "%s"}}' "$col" >"$T/id_$col.json"
done
printf '{"outputs": [{"name": "x_xf", "op": "z_score", "input": "x"}], "label": {"name": "l", "op": "greater_than", "input": "z", "threshold": 0.5}}' >"$T/gt_z.json"
refused "identity label over a column of three values" \
    "$T/id_z.json: label ('l'): \"op\": \"identity\" takes column 'z' as the class (0 or 1), but a row holds 2" \
    "$CFX" transform --examples "$T/lex" --spec "$T/id_z.json" --output "$T/lz"
"$CFX" transform --examples "$T/lex" --spec "$T/id_y.json" --output "$T/ly" >/dev/null ||
    fail "identity label over a 0/1 column refused"
"$CFX" transform --examples "$T/lex" --spec "$T/gt_z.json" --output "$T/lg" >/dev/null ||
    fail "greater_than over a column of three values refused"
# the identity label is the column itself, row by row (an independent read
# of the TFRecords)
"$PY" - "$T/lex" "$T/ly/transformed_examples" <<'PYEOF' || fail "identity label values"
import glob, os, sys
sys.path.insert(0, os.environ["CFX_SOURCE_DIR"] + "/tests/e2e")
from tfrecord_reader import example_values, records
def read(d, split):
    return [example_values(r) for p in sorted(glob.glob(d + "/Split-%s/*" % split))
            for r in records(p)]
for split in ("train", "eval"):
    raw, xf = read(sys.argv[1], split), read(sys.argv[2], split)
    assert len(raw) == len(xf) > 0, (split, len(raw), len(xf))
    for r, t in zip(raw, xf):
        assert t["l"] == r["y"], (split, r, t)
print("ok   identity label equals the 0/1 column on %d+ rows" % len(raw))
PYEOF

# 5. a baseline with another label, or from another pipeline, is not
#    compared: the evaluation runs as with no baseline and says why
"$CFX" transform --examples "$T/ex" --schema "$T/sc/schema.pbtxt" \
    --spec "$taxi/transform.json" --output "$T/xf" >/dev/null
"$CFX" examplegen --input "$bc/data.csv" --output "$T/bex" >/dev/null
"$CFX" transform --examples "$T/bex" --spec "$bc/transform.json" --output "$T/bxf" >/dev/null
printf '{"train_steps": 300, "eval_steps": 50}' >"$T/tr.json"
train() { # OUT EXAMPLES TRANSFORMED [ARGS...]
    local out=$1 raw=$2 xf=$3
    shift 3
    "$CFX" train --examples "$xf/transformed_examples" --transform-graph "$xf/transform_graph" \
        --raw-examples "$raw" --config "$T/tr.json" --quiet "$@" --output "$out" >/dev/null ||
        fail "train $out"
}
# a tree base_score that a binary label cannot take: refused naming the
# file and the key, before anything is written
printf '{"model": "gbt", "gbt": {"base_score": 1.5}}' >"$T/gbt_bs.json"
refused "trainer.json: gbt base_score for a binary label" \
    "$T/gbt_bs.json: 'gbt'.'base_score' 1.5: a binary label needs a probability in (0, 1)" \
    "$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$T/gbt_bs.json" --output "$T/gbt_bs"
[ ! -e "$T/gbt_bs" ] || fail "gbt base_score refusal left $T/gbt_bs behind"
train "$T/taxi1" "$T/ex" "$T/xf"
train "$T/taxi2" "$T/ex" "$T/xf"
train "$T/bc" "$T/bex" "$T/bxf"
mkdir -p "$T/rootA" "$T/rootB"
train "$T/a" "$T/ex" "$T/xf" --pipeline-root "$T/rootA"
train "$T/b" "$T/ex" "$T/xf" --pipeline-root "$T/rootB"
# a change threshold a baseline would be compared on: AUC at least the
# baseline's minus 1 (any baseline passes it)
cat >"$T/eval.json" <<'JSON'
{"metrics_specs": [{"metrics": [{"class_name": "AUC", "threshold": {
  "value_threshold": {"lower_bound": 0.5},
  "change_threshold": {"direction": "HIGHER_IS_BETTER", "absolute": -1}}}]}]}
JSON
evaluate() { # CANDIDATE BASELINE OUT
    "$CFX" evaluate --model "$1/model" --baseline "$2/model" --examples "$T/ex" \
        --config "$T/eval.json" --output "$3" >"$3.log" 2>&1 ||
        fail "evaluate $1 against $2: $(cat "$3.log")"
}
evaluate "$T/taxi1" "$T/bc" "$T/e_bc"
evaluate "$T/a" "$T/b" "$T/e_pipe"
evaluate "$T/taxi1" "$T/taxi2" "$T/e_same"
"$PY" - "$T" <<'PYEOF' || fail "baseline checks"
import json, sys
t = sys.argv[1]
def load(d):
    return (json.load(open(d + "/evaluation/metrics.json")),
            json.load(open(d + "/evaluation/validations.json")),
            open(d + ".log").read())
for d, model, why in (("e_bc", "bc", "another label: the candidate's is 'tips_xf' = tips > 0.2 * fare, "
                                     "the baseline's 'malignant_xf' = malignant > 0.5"),
                      ("e_pipe", "b", "another pipeline: the candidate was trained by pipeline 'rootA', "
                                      "the baseline by 'rootB'")):
    m, v, log = load(t + "/" + d)
    want = {"model": t + "/" + model + "/model", "reason": why}
    assert m["baseline"] is None, (d, m["baseline"])
    assert m.get("baseline_dropped") == want, (d, m.get("baseline_dropped"))
    assert v.get("baseline_dropped") == want and v["baseline"] is False, (d, v)
    assert not any("baseline_metrics" in s for s in m["slices"]), d
    # the change threshold was not checked: only the value threshold was
    assert v["thresholds_checked"] == len(m["slices"]), (d, v["thresholds_checked"])
    assert "not compared: " + why in log, (d, log)
    print("ok   %s: baseline not compared (%s)" % (d, why))
m, v, log = load(t + "/e_same")
assert m["baseline"] == t + "/taxi2/model" and "baseline_dropped" not in m, m.get("baseline_dropped")
assert all("baseline_metrics" in s for s in m["slices"]) and v["baseline"] is True
assert v["thresholds_checked"] == 2 * len(m["slices"]), v["thresholds_checked"]
print("ok   a baseline of the same label and pipeline is compared")
PYEOF
refused "eval.json: misspelt member" \
    "$T/eval2.json: metrics_specs[0].metrics[0]: unknown member 'treshold' (did you mean 'threshold'?)" \
    bash -c 'sed "s/\"threshold\"/\"treshold\"/" "$1/eval.json" >"$1/eval2.json" &&
        exec "$2" evaluate --model "$1/taxi1/model" --examples "$1/ex" --config "$1/eval2.json" --output "$1/e2"' _ "$T" "$CFX"

# 6. two pipelines sharing one root: the latest blessed model of the store
#    is the other pipeline's, and the store says so
mkdir -p "$T/s"
cp "$taxi/transform.json" "$T/eval.json" "$T/s/"
for p in a b; do
    printf '{"train_steps": %d, "eval_steps": 50}' $([ $p = a ] && echo 300 || echo 301) >"$T/s/trainer_$p.json"
    cat >"$T/s/$p.json" <<JSON
{"pipeline_name": "taxi_$p", "pipeline_root": "$T/shared", "data": "$T/data.csv",
 "components": {"ExampleGen": {}, "StatisticsGen": {}, "SchemaGen": {},
  "ExampleValidator": {"stop_on_anomalies": false},
  "Transform": {"spec": "transform.json"}, "Trainer": {"config": "trainer_$p.json"},
  "Evaluator": {"config": "eval.json"}, "InfraValidator": false, "Pusher": false}}
JSON
    "$CFX" run "$T/s/$p.json" >"$T/s/$p.log" 2>&1 || fail "cfx run $p: $(cat "$T/s/$p.log")"
done
grep -q '^Evaluator .*BLESSED: .*auc' "$T/s/a.log" || fail "pipeline a: $(grep ^Evaluator "$T/s/a.log")"
grep -q "^Evaluator .*(baseline $T/shared/Trainer/model/[0-9]* not compared: another pipeline: the baseline (artifact [0-9]*) was not produced by a run of pipeline 'taxi_b', the candidate was)" "$T/s/b.log" ||
    fail "pipeline b compared another pipeline's model: $(grep ^Evaluator "$T/s/b.log")"
echo "ok   another pipeline's blessed model in a shared root is not compared"
