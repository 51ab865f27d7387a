#!/usr/bin/env bash
# tasks_test.sh: a multi-class model (examples/iris, three species named by
# strings) and a regression model (examples/diabetes, a numeric target) end
# to end with the real commands: examplegen -> transform (the label column
# with its task) -> train -> evaluate -> infravalidate -> serve. Checks:
#   - the evaluator's metrics (TFMA names) against scikit-learn computed on
#     `cfx predict`'s answers for the same eval rows (tolerance 1e-6), and
#     blessing on a value threshold of each task's metric;
#   - the InfraValidator blesses both;
#   - REST and gRPC (Predict, Classify or Regress, MultiInference, metadata)
#     answer bit for bit what `cfx predict` wrote (tests/e2e/task_answers.py).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$CFX_SOURCE_DIR
SERVER=
on_exit() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
}

# one_task NAME LABEL TASK METRIC LOWER_OR_UPPER BOUND STEPS LR
one_task() {
    local name=$1 label=$2 task=$3 metric=$4 side=$5 bound=$6 steps=$7 lr=$8
    local d=$T/$name data=$SRC/examples/$name/data.csv
    [ -f "$data" ] || fail "$data is missing"
    mkdir -p "$d"
    echo "== $name: $task on '$label'"
    "$CFX" examplegen --input "$data" --output "$d/ex" >"$d/log" 2>&1 ||
        fail "examplegen: $(cat "$d/log")"
    # every other column is a number: a z-score each
    "$PY" - "$data" "$label" "$task" >"$d/transform.json" <<'EOF'
import csv, json, sys
cols = next(csv.reader(open(sys.argv[1])))
outs = [{"name": c + "_xf", "op": "z_score", "input": c} for c in cols if c != sys.argv[2]]
print(json.dumps({"outputs": outs, "label": {"name": "label_xf", "input": sys.argv[2],
                                               "task": sys.argv[3]}}))
EOF
    "$CFX" transform --examples "$d/ex" --spec "$d/transform.json" --output "$d/xf" \
        >"$d/log" 2>&1 || fail "transform: $(cat "$d/log")"
    cat >"$d/trainer.json" <<EOF
{"model_name": "$name", "hidden_units": [16], "train_steps": $steps,
 "batch_size": 16, "learning_rate": $lr, "eval_every_steps": $steps}
EOF
    "$CFX" train --examples "$d/xf/transformed_examples" --transform-graph "$d/xf/transform_graph" \
        --raw-examples "$d/ex" --config "$d/trainer.json" --output "$d/train" --quiet \
        >"$d/log" 2>&1 || fail "train: $(cat "$d/log")"
    local plot=
    [ "$task" = multiclass ] && plot=', {"class_name": "MultiClassConfusionMatrixPlot"},
        {"class_name": "Precision", "config": {"class_id": 1}},
        {"class_name": "Recall", "config": {"top_k": 2}}'
    cat >"$d/eval.json" <<EOF
{"model_specs": [{"label_key": "label_xf"}],
 "slicing_specs": [{}],
 "metrics_specs": [{"metrics": [
   {"class_name": "ExampleCount"},
   {"class_name": "$metric",
    "threshold": {"value_threshold": {"$side": $bound}}}$plot]}]}
EOF
    "$CFX" evaluate --model "$d/train/model" --examples "$d/ex" --config "$d/eval.json" \
        --output "$d/eval" >"$d/log" 2>&1 || fail "evaluate: $(cat "$d/log")"
    cat "$d/log"
    [ -f "$d/eval/blessing/BLESSED" ] || fail "$name not blessed: $(cat "$d/log")"
    # the evaluator's numbers against scikit-learn on cfx predict's answers
    "$CFX" predict --bundle "$d/train/model" --input "$d/ex/Split-eval" --format jsonl \
        >"$d/eval_pred.jsonl" || fail "cfx predict on the eval split"
    E2E_DIR="$SRC/tests/e2e" "$PY" - "$d" "$task" <<'EOF' || fail "$name: metrics differ from scikit-learn"
import glob, json, os, sys
import numpy as np
from sklearn import metrics as skm
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example_values, records
d, task = sys.argv[1], sys.argv[2]
head = json.load(open(d + "/train/model/manifest.json"))["head"]
col = json.load(open(d + "/xf/transform_graph/transform.json"))["label"]["input"]
ys = []
for f in sorted(glob.glob(d + "/ex/Split-eval/*")):
    for r in records(f):
        ys.append(example_values(r)[col][0])
pred = [json.loads(l) for l in open(d + "/eval_pred.jsonl")]
m = json.load(open(d + "/eval/evaluation/metrics.json"))["slices"][0]
got = m["metrics"]
assert len(ys) == len(pred) == got["example_count"], (len(ys), len(pred), got)
def close(key, want):
    diff = abs(got[key] - want)
    print("ok   %s %.9g vs scikit-learn %.9g (|diff| %.2g <= 1e-6)" % (key, got[key], want, diff)
          if diff <= 1e-6 else "FAIL %s %.9g vs %.9g" % (key, got[key], want))
    assert diff <= 1e-6
if task == "multiclass":
    vocab = head["label_vocabulary"]
    y = np.array([vocab.index(v) for v in ys])
    P = np.array([p["probabilities"] for p in pred], dtype=np.float64)
    K = P.shape[1]
    close("sparse_categorical_accuracy", skm.accuracy_score(y, P.argmax(1)))
    close("sparse_categorical_crossentropy",
          skm.log_loss(y, np.clip(P, 1e-7, 1 - 1e-7), labels=list(range(K))))
    onehot = np.eye(K)[y]
    close("precision", skm.precision_score(onehot.ravel(), (P > 0.5).ravel(), zero_division=0))
    close("recall", skm.recall_score(onehot.ravel(), (P > 0.5).ravel(), zero_division=0))
    for k in range(K):
        close("precision/classId:%d" % k,
              skm.precision_score(y == k, P[:, k] > 0.5, zero_division=0))
        close("recall/classId:%d" % k, skm.recall_score(y == k, P[:, k] > 0.5, zero_division=0))
    top2 = np.argsort(-P, axis=1, kind="stable")[:, :2]
    hits = np.mean([y[i] in top2[i] for i in range(len(y))])
    close("recall/topK:2", hits)
    cm = skm.confusion_matrix(y, P.argmax(1), labels=list(range(K)))
    entries = m["plots"]["multi_class_confusion_matrix_plot"]["matrices"][0]["entries"]
    got_cm = np.zeros((K, K))
    for e in entries:
        got_cm[e["actual_class_id"], e["predicted_class_id"]] = e["num_weighted_examples"]
    assert (got_cm == cm).all(), (got_cm, cm)
    print("ok   multi_class_confusion_matrix_plot equals scikit-learn's confusion_matrix")
else:
    y = np.array(ys, dtype=np.float64)
    p = np.array([e["value"] for e in pred], dtype=np.float64)
    for key, want in (("mean_squared_error", skm.mean_squared_error(y, p)),
                      ("mean_absolute_error", skm.mean_absolute_error(y, p)),
                      ("root_mean_squared_error", np.sqrt(skm.mean_squared_error(y, p))),
                      ("mean_label", y.mean()), ("mean_prediction", p.mean())):
        diff = abs(got[key] - want) / max(1.0, abs(want))
        print("ok   %s %.9g vs numpy/scikit-learn %.9g (relative diff %.2g <= 1e-6)"
              % (key, got[key], want, diff))
        assert diff <= 1e-6, key
EOF
    "$CFX" infravalidate --model "$d/train/model" --output "$d/infra" >"$d/log" 2>&1 ||
        fail "infravalidate: $(cat "$d/log")"
    grep -q INFRA_BLESSED "$d/log" || fail "$name not infra-blessed: $(cat "$d/log")"

    # serving: the first 40 rows of the CSV, as cfx predict answers them
    head -n 41 "$data" >"$d/rows.csv"
    "$CFX" predict --bundle "$d/train/model" --input "$d/rows.csv" --format jsonl \
        >"$d/expected.jsonl" || fail "cfx predict"
    if [ "$task" = multiclass ]; then
        # a manifest whose head disagrees with the graph or the network is
        # refused (the manifest is not in its own checksum list)
        for edit in vocab outputs; do
            rm -rf "$d/bad_model"
            cp -r "$d/train/model" "$d/bad_model"
            "$PY" - "$d/bad_model/manifest.json" "$edit" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
if sys.argv[2] == "vocab":
    m["head"]["label_vocabulary"][0] = "rosa"
else:
    m["network"]["num_outputs"] = 2
json.dump(m, open(sys.argv[1], "w"))
EOF
            if "$CFX" predict --bundle "$d/bad_model" --input "$d/rows.csv" >/dev/null 2>"$d/log"; then
                fail "a bundle with a wrong head ($edit) loaded"
            fi
            grep -q "manifest.json: .*\(head is task multiclass\|num_outputs expected 3\)" "$d/log" ||
                fail "wrong head ($edit): $(cat "$d/log")"
        done
        echo "ok   a head that disagrees with the label or the network is refused"
    fi
    mkdir -p "$d/models/$name"
    cp -r "$d/train/model" "$d/models/$name/1"
    serve_start "$T/serve.log" --model_name="$name" --model_base_path="$d/models/$name" --num_threads=2
    SERVER=$SPID
    serve_ports "$T/serve.log" "$SERVER"
    "$PY" "$SRC/tests/e2e/task_answers.py" "$GPORT" "$RPORT" "$name" "$task" \
        "$d/rows.csv" "$d/expected.jsonl" || fail "$name: served answers differ"
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=
}

# The label vocabulary from the train split: integers in numeric order,
# strings in byte order; and the errors that name the column and value.
label_checks() {
    local d=$T/labels
    mkdir -p "$d"
    echo "== label vocabularies and label errors"
    "$PY" - "$d" <<'EOF'
import sys
d = sys.argv[1]
with open(d + "/int.csv", "w") as f:
    f.write("x,k\n")
    for i in range(60):
        f.write("%d,%d\n" % (i, (9, 10, 100)[i % 3]))
with open(d + "/three.csv", "w") as f:
    f.write("x,c\n")
    for i in range(60):
        f.write("%d,%s\n" % (i, ("b", "a", "B")[i % 3]))
with open(d + "/gap.csv", "w") as f:
    f.write("x,y\n")
    for i in range(60):
        f.write("%d,%s\n" % (i, "" if i % 20 == 7 else str(i * 0.5)))
EOF
    for f in int three gap; do
        "$CFX" examplegen --input "$d/$f.csv" --output "$d/$f" >/dev/null 2>&1 ||
            fail "examplegen $f"
    done
    spec() {
        echo "{\"outputs\": [{\"name\": \"x_xf\", \"op\": \"z_score\", \"input\": \"x\"}],
               \"label\": {\"name\": \"l_xf\", \"input\": \"$1\", \"task\": \"$2\"}}" >"$d/spec.json"
    }
    spec k multiclass
    "$CFX" transform --examples "$d/int" --spec "$d/spec.json" --output "$d/int_xf" >/dev/null ||
        fail "transform of integer classes"
    "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))["label"]["label_vocabulary"]; assert v == ["9", "10", "100"], v' \
        "$d/int_xf/transform_graph/transform.json" || fail "integer classes not in numeric order"
    spec c multiclass
    "$CFX" transform --examples "$d/three" --spec "$d/spec.json" --output "$d/three_xf" >/dev/null ||
        fail "transform of string classes"
    "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))["label"]["label_vocabulary"]; assert v == ["B", "a", "b"], v' \
        "$d/three_xf/transform_graph/transform.json" || fail "string classes not in byte order"
    spec c binary
    if "$CFX" transform --examples "$d/three" --spec "$d/spec.json" --output "$d/bin_xf" >"$d/log" 2>&1; then
        fail "a binary task over three classes was accepted"
    fi
    grep -q "exactly 2" "$d/log" || fail "binary over three classes: $(cat "$d/log")"
    spec y regression
    if "$CFX" transform --examples "$d/gap" --spec "$d/spec.json" --output "$d/gap_xf" >"$d/log" 2>&1; then
        fail "a missing regression label was accepted"
    fi
    grep -q "column 'y' is missing" "$d/log" || fail "missing label: $(cat "$d/log")"
    echo "ok   label vocabularies in order; binary of three classes and a missing label refused"
    # class labels that need quoting: in cfx predict's CSV and REST's JSON
    "$PY" - "$d" <<'EOF'
import csv, sys
with open(sys.argv[1] + "/odd.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["x", "c"])
    for i in range(90):
        w.writerow([i % 3 + 0.01 * i, ('a"b', "c\\d", "e,f")[i % 3]])
EOF
    "$CFX" examplegen --input "$d/odd.csv" --output "$d/odd" >/dev/null 2>&1 || fail "examplegen odd"
    spec c multiclass
    "$CFX" transform --examples "$d/odd" --spec "$d/spec.json" --output "$d/odd_xf" >/dev/null ||
        fail "transform of odd labels"
    echo '{"model_name": "odd", "hidden_units": [4], "train_steps": 50}' >"$d/odd_trainer.json"
    "$CFX" train --examples "$d/odd_xf/transformed_examples" --transform-graph "$d/odd_xf/transform_graph" \
        --raw-examples "$d/odd" --config "$d/odd_trainer.json" --output "$d/odd_train" --quiet \
        >/dev/null 2>&1 || fail "train on odd labels"
    "$CFX" predict --bundle "$d/odd_train/model" --input "$d/odd.csv" >"$d/odd_pred.csv" ||
        fail "predict odd labels"
    "$PY" -c 'import csv,sys; h=next(csv.reader(open(sys.argv[1]))); assert h == ["probability:a\"b", "probability:c\\d", "probability:e,f", "class"], h' \
        "$d/odd_pred.csv" || fail "cfx predict's CSV header: $(head -1 "$d/odd_pred.csv")"
    mkdir -p "$d/odd_models/odd"
    cp -r "$d/odd_train/model" "$d/odd_models/odd/1"
    serve_start "$T/serve.log" --model_name=odd --model_base_path="$d/odd_models/odd"
    SERVER=$SPID
    serve_ports "$T/serve.log" "$SERVER"
    E2E_DIR="$SRC/tests/e2e" "$PY" - "$RPORT" <<'EOF' || fail "REST classify with labels that need escaping"
import base64, http.client, json, os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from grpc_client import example
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("POST", "/v1/models/odd:classify", json.dumps({"examples": [{"x": 1.0}]}))
r = json.loads(c.getresponse().read())
labels = [x[0] for x in r["results"][0]]
assert labels == ['a"b', "c\\d", "e,f"], labels
ex = base64.b64encode(example({"x": ("float", [1.0])})).decode()
c.request("POST", "/v1/models/odd:predict",
          json.dumps({"signature_name": "classify", "instances": [{"b64": ex}]}))
r = json.loads(c.getresponse().read())
assert r["predictions"][0]["classes"] == labels, r
print("ok   labels a\"b, c\\d, e,f quoted in cfx predict's CSV and escaped in REST's JSON")
EOF
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=
}

label_checks
one_task iris species multiclass SparseCategoricalAccuracy lower_bound 0.9 1500 0.01
one_task diabetes progression regression RootMeanSquaredError upper_bound 70 1500 0.003
echo "PASS"
