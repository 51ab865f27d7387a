# init_lib.sh: the end-to-end run of a new CSV that the `cfx init` tests
# share (not a test itself: ctest runs only *_test.sh). Sourced after `set
# -eEuo pipefail`; on top of serve_lib.sh it gives
#   init_e2e NAME LABEL TASK
# which, for examples/NAME/data.csv:
#   1. cfx init --csv ... --label LABEL --output $T/NAME: the task it prints
#      must be TASK, the four files must be written with their comments;
#   2. cfx run $T/NAME/pipeline.json, unedited: nine steps COMPLETE,
#      BLESSED, version 1 pushed;
#   3. cfx predict over the eval split with the pushed bundle; the test
#      metric against scikit-learn on the same split (init_check.py quality);
#   4. cfx-serve on the pushed versions: REST (curl) :predict and :classify
#      or :regress, gRPC Predict and Classify or Regress, all equal to
#      cfx predict (init_check.py rest / grpc).
# The output of cfx init is left in $T/init.txt for the test's own checks.
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
CHECK="$CFX_SOURCE_DIR/tests/e2e/init_check.py"
SPID=
on_exit() { # stop the server gently (lib.sh kills what is left)
    [ -n "$SPID" ] || return 0
    kill -TERM "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
}

init_e2e() {
    local name=$1 label=$2 task=$3 D="$T/$1"
    echo "== cfx init --csv examples/$name/data.csv --label $label"
    cp "$CFX_SOURCE_DIR/examples/$name/data.csv" "$T/$name.csv"
    "$CFX" init --csv "$T/$name.csv" --label "$label" --output "$D" >"$T/init.txt" 2>&1 ||
        { cat "$T/init.txt"; fail "cfx init"; }
    cat "$T/init.txt"
    grep -qx "task: $task" "$T/init.txt" || fail "task is not $task"
    grep -qx "  cfx run $D/pipeline.json" "$T/init.txt" || fail "no run command printed"
    for f in pipeline transform trainer eval; do
        [ -s "$D/$f.json" ] || fail "no $f.json"
    done
    local extra
    extra=$(ls -A "$D" | grep -cv '\.json$' || true)
    [ "$extra" = 0 ] || fail "cfx init left more than its files: $(ls -A "$D")"
    "$PY" - "$D" "$label" "$task" <<'EOF' || fail "the written configuration"
import json, sys
d, label, task = sys.argv[1:]
p = json.load(open(d + "/pipeline.json"))
assert p["data"] == "../%s.csv" % d.rsplit("/", 1)[1], p["data"]
x = json.load(open(d + "/transform.json"))
assert x["label"] == {"comment": x["label"]["comment"], "name": label + "_xf",
                      "input": label, "task": task}, x["label"]
assert all(o["comment"] for o in x["outputs"]), "an output without its reason"
assert label not in [o["input"] for o in x["outputs"]], "the label is a feature"
assert json.load(open(d + "/trainer.json"))["comment"]
e = json.load(open(d + "/eval.json"))
assert e["model_specs"][0]["label_key"] == label + "_xf"
# a first model on unknown data must be blessable: a value bound only a
# broken model fails (multiclass: accuracy 1/N; regression: twice the
# label's variance), and a change threshold against the baseline
gated = [m for m in e["metrics_specs"][0]["metrics"] if "per_slice_thresholds" in m]
assert len(gated) == 1, gated
t = gated[0]["per_slice_thresholds"][0]["threshold"]
assert "change_threshold" in t, t
if task == "multiclass":
    assert gated[0]["class_name"] == "SparseCategoricalAccuracy"
    assert t["value_threshold"]["lower_bound"] <= 1 / 3 + 1e-9, t
if task == "regression":
    assert gated[0]["class_name"] == "MeanSquaredError"
    assert set(t["value_threshold"]) == {"upper_bound"}, t
print("configuration ok: %d transform outputs" % len(x["outputs"]))
EOF

    echo "== cfx run $name/pipeline.json"
    local rc=0
    "$CFX" run "$D/pipeline.json" >"$T/run.txt" 2>"$T/run.err" || rc=$?
    grep -v "^    " "$T/run.txt" || true
    [ $rc -eq 0 ] || { cat "$T/run.err"; fail "cfx run exited $rc"; }
    for c in ExampleGen StatisticsGen SchemaGen ExampleValidator Transform Trainer Evaluator \
             InfraValidator Pusher; do
        grep -Eq "^$c +execution [0-9]+ +COMPLETE" "$T/run.txt" || fail "$c did not complete"
    done
    grep -Eq '^Evaluator .* BLESSED' "$T/run.txt" || fail "not blessed"
    B="$D/serving/$name/1"
    [ -f "$B/manifest.json" ] || fail "nothing pushed to serving/$name/1"

    echo "== cfx predict over the eval split; quality against scikit-learn"
    EX=$(ls -d "$D"/pipeline_root/ExampleGen/examples/* | head -n 1)
    METRICS=$(ls -d "$D"/pipeline_root/Evaluator/evaluation/* | head -n 1)/metrics.json
    "$CFX" predict --bundle "$B" --input "$EX/Split-eval" --output "$T/pred.csv" 2>"$T/err.txt" ||
        { cat "$T/err.txt"; fail "cfx predict"; }
    "$PY" "$CHECK" quality "$EX" "$label" "$task" "$T/pred.csv" "$METRICS" || fail "quality"

    echo "== cfx-serve: REST (curl) and gRPC answers equal cfx predict"
    serve_start "$T/serve.log" --num_threads=2 --model_name="$name" --model_base_path="$D/serving/$name"
    serve_ports "$T/serve.log" "$SPID"
    local port=$RPORT gport=$GPORT code
    local U="http://127.0.0.1:$port/v1/models/$name"
    for _ in $(seq 1 400); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$U") || true
        [ "$code" = 200 ] && break
        sleep 0.05
    done
    [ "$code" = 200 ] || fail "model $name not available over REST ($code)"
    "$PY" "$CHECK" rest-bodies "$EX" "$label" "$T"
    code=$(curl -s -o "$T/predict.out" -w '%{http_code}' --data-binary @"$T/predict.json" "$U:predict")
    [ "$code" = 200 ] || fail ":predict HTTP $code: $(head -c 300 "$T/predict.out")"
    local other=classify
    [ "$task" = regression ] && other=regress
    code=$(curl -s -o "$T/other.out" -w '%{http_code}' --data-binary @"$T/examples.json" "$U:$other")
    [ "$code" = 200 ] || fail ":$other HTTP $code: $(head -c 300 "$T/other.out")"
    "$PY" "$CHECK" rest "$task" "$T/pred.csv" "$T/predict.out" "$T/other.out" || fail "REST answers"
    "$PY" "$CHECK" grpc "$gport" "$name" "$task" "$EX" "$T/pred.csv" || fail "gRPC answers"
}
