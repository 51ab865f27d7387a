#!/usr/bin/env bash
# pipeline_test.sh: `cfx run`, `cfx ls`, `cfx lineage` end to end on a slice
# of the taxi CSV: the metadata recorded (checked with Python's sqlite3,
# independently of our reader), cache reuse on an unchanged rerun, a rerun
# after the data changes, failure cleanup, config errors.
set -euo pipefail
CFX=${CFX:?path to cfx}
SRC=${CFX_SOURCE_DIR:?}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

head -n 1501 "$SRC/examples/taxi/data.csv" > "$T/data.csv"
touch -d '2024-01-02 03:04:05 UTC' "$T/data.csv"
cp "$SRC/examples/taxi/transform.json" "$T/transform.json"

# Which components this build has: a step whose library is missing says
# "not available"; the test covers the prefix of the pipeline that exists.
cat > "$T/p1.json" <<'EOF'
{"pipeline_name": "t", "pipeline_root": "root", "data": "data.csv",
 "serving_dir": "serving", "model_name": "taxi",
 "components": {"ExampleGen": {"splits": "train:2,eval:1"},
   "StatisticsGen": false, "SchemaGen": false, "ExampleValidator": false,
   "Transform": false, "Trainer": false, "Evaluator": false,
   "InfraValidator": false, "Pusher": false}}
EOF

echo "== first run"
"$CFX" run "$T/p1.json" > "$T/run1.txt" || { cat "$T/run1.txt"; fail "first run"; }
cat "$T/run1.txt"
grep -Eq '^ExampleGen +execution 1 +COMPLETE .*1500 examples' "$T/run1.txt" ||
  fail "ExampleGen did not complete with 1500 examples"
grep -q "StatisticsGen    skipped" "$T/run1.txt" || fail "disabled step not reported"
EX="$T/root/ExampleGen/examples/1"
ls "$EX"/Split-train/*.gz "$EX"/Split-eval/*.gz > /dev/null || fail "no splits in $EX"

echo "== unchanged rerun: cached, under 1 s"
start=$(date +%s%N)
"$CFX" run "$T/p1.json" > "$T/run2.txt" || fail "second run"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$T/run2.txt"
grep -Eq '^ExampleGen +execution 2 +CACHED .*1500 examples' "$T/run2.txt" ||
  fail "rerun not served from the cache"
grep -q "ExampleGen/examples/1$" "$T/run2.txt" || fail "cached run does not point at the first output"
[ "$ms" -lt 1000 ] || fail "cached rerun took $ms ms"
echo "cached rerun: $ms ms"

echo "== the store, read with Python's sqlite3"
python3 - "$T/root/metadata.sqlite" <<'EOF' || fail "store contents"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = lambda s: db.execute(s).fetchall()
assert q("SELECT schema_version FROM MLMDEnv") == [(10,)]
ex = q("SELECT e.id, t.name, e.last_known_state FROM Execution e JOIN Type t ON t.id=e.type_id ORDER BY e.id")
assert ex == [(1, "ExampleGen", 3), (2, "ExampleGen", 5)], ex
arts = q("SELECT a.id, t.name, a.state FROM Artifact a JOIN Type t ON t.id=a.type_id ORDER BY a.id")
assert arts == [(1, "ExternalArtifact", 2), (2, "Examples", 2)], arts
ev = q("SELECT artifact_id, execution_id, type FROM Event ORDER BY id")
assert ev == [(1, 1, 3), (2, 1, 4), (1, 2, 3), (2, 2, 4)], ev
paths = q("SELECT step_key FROM EventPath WHERE is_index_step=0 ORDER BY event_id")
assert [p[0] for p in paths] == ["input", "examples", "input", "examples"], paths
fp = q("SELECT string_value FROM ArtifactProperty WHERE artifact_id=2 AND name='input_fingerprint'")[0][0]
import os
st = os.stat(os.path.join(os.path.dirname(sys.argv[1]), "..", "data.csv"))
want = "split:single_split,num_files:1,total_bytes:%d,xor_checksum:%d,sum_checksum:%d" % (
    st.st_size, int(st.st_mtime), int(st.st_mtime))
assert fp == want, (fp, want)
split = q("SELECT string_value FROM ArtifactProperty WHERE artifact_id=2 AND name='split_names'")
assert split == [('["train","eval"]',)], split
ctx = sorted(r[0] for r in q("SELECT t.name FROM Context c JOIN Type t ON t.id=c.type_id"))
assert ctx.count("pipeline") == 1 and ctx.count("pipeline_run") == 2 and ctx.count("node") == 1, ctx
assert ctx.count("execution_cache") == 1, ctx
assert q("SELECT count(*) FROM Association WHERE execution_id=2") == [(4,)]
print("store ok")
EOF

echo "== changed data: ExampleGen reruns"
touch -d '2024-02-03 04:05:06 UTC' "$T/data.csv"
"$CFX" run "$T/p1.json" > "$T/run3.txt" || fail "third run"
grep -Eq '^ExampleGen +execution 3 +COMPLETE' "$T/run3.txt" || fail "touched data was served from the cache"
"$CFX" run --no-cache "$T/p1.json" > "$T/run4.txt" || fail "--no-cache run"
grep -Eq '^ExampleGen +execution 4 +COMPLETE' "$T/run4.txt" || fail "--no-cache used the cache"

echo "== cfx ls"
"$CFX" ls --pipeline-root "$T/root" > "$T/ls.txt" || fail "ls"
cat "$T/ls.txt"
grep -Eq '^ +2 +ExampleGen +CACHED .*from #1' "$T/ls.txt" || fail "ls: cached execution"
grep -Eq '^ +2 +Examples +LIVE +ExampleGen/examples/1 .*split_names=\["train","eval"\]' "$T/ls.txt" ||
  fail "ls: examples artifact"
CFX_PIPELINE_ROOT="$T/root" "$CFX" ls > /dev/null || fail "ls with CFX_PIPELINE_ROOT"
if "$CFX" ls --pipeline-root "$T/nothing" 2> "$T/err.txt"; then fail "ls of a missing root"; fi
grep -q "no metadata store" "$T/err.txt" || fail "ls error: $(cat "$T/err.txt")"

echo "== cfx lineage"
"$CFX" lineage --pipeline-root "$T/root" "$EX/" > "$T/lin.txt" || fail "lineage"
cat "$T/lin.txt"
grep -q "^Examples #2 ExampleGen/examples/1" "$T/lin.txt" || fail "lineage: root artifact"
grep -q "ExampleGen execution 1 COMPLETE" "$T/lin.txt" || fail "lineage: producer"
grep -q "input: ExternalArtifact #1 $T/data.csv" "$T/lin.txt" || fail "lineage: the data"
if "$CFX" lineage --pipeline-root "$T/root" "$T/elsewhere" 2> "$T/err.txt"; then
  fail "lineage of an unknown dir"; fi
grep -q "no artifact recorded" "$T/err.txt" || fail "lineage error: $(cat "$T/err.txt")"

echo "== standalone commands with --pipeline-root chain in cfx lineage"
"$CFX" examplegen --input "$T/data.csv" --pipeline-root "$T/sroot" > /dev/null || fail "examplegen"
"$CFX" statistics --examples "$T/sroot/ExampleGen/examples/1" --pipeline-root "$T/sroot" \
  > /dev/null || fail "statistics"
"$CFX" lineage --pipeline-root "$T/sroot" "$T/sroot/StatisticsGen/statistics/2" > "$T/slin.txt" ||
  fail "lineage of a standalone run"
cat "$T/slin.txt"
grep -q "^ExampleStatistics #3 StatisticsGen/statistics/2" "$T/slin.txt" || fail "slin: root"
grep -q "examples: Examples #2 ExampleGen/examples/1" "$T/slin.txt" || fail "slin: not chained"
grep -q "└─ ExampleGen execution 1 COMPLETE" "$T/slin.txt" || fail "slin: producer"
python3 - "$T/sroot/metadata.sqlite" <<'EOF' || fail "standalone artifact properties"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def props(t):
    rows = db.execute("SELECT p.name, p.is_custom_property, p.int_value, p.string_value FROM Artifact a "
                      "JOIN Type t ON t.id=a.type_id JOIN ArtifactProperty p ON p.artifact_id=a.id "
                      "WHERE t.name=? ORDER BY a.id", (t,)).fetchall()
    return {(n, c): i if i is not None else s for n, c, i, s in rows}
ex = props("Examples")
assert ex[("split_names", 0)] == '["train","eval"]' and ex[("span", 0)] == 0, ex
assert ex[("payload_format", 1)] == "FORMAT_TF_EXAMPLE" and ex[("file_format", 1)] == "tfrecords_gzip", ex
assert ex[("input_fingerprint", 1)].startswith("split:single_split,num_files:1,"), ex
st = props("ExampleStatistics")
assert st[("split_names", 0)] == '["train","eval"]' and st[("span", 0)] == 0, st
print("standalone: Examples and ExampleStatistics carry split_names, span (and the Examples formats)")
EOF

echo "== a failing step leaves no output behind"
printf 'a,b\n1,2\n3\n' > "$T/bad.csv"
sed 's/"data.csv"/"bad.csv"/' "$T/p1.json" > "$T/p2.json"
if "$CFX" run "$T/p2.json" > "$T/run5.txt" 2> "$T/err.txt"; then fail "bad CSV accepted"; fi
cat "$T/run5.txt" "$T/err.txt"
grep -Eq "^ExampleGen +execution 5 +FAILED" "$T/run5.txt" || fail "failure not reported"
[ ! -e "$T/root/ExampleGen/examples/5" ] || fail "failed output dir left behind"
python3 -c "
import sqlite3,sys
db=sqlite3.connect(sys.argv[1])
assert db.execute('SELECT last_known_state FROM Execution WHERE id=5').fetchall()==[(4,)]
" "$T/root/metadata.sqlite" || fail "failed execution not FAILED"

echo "== config errors name the file and member"
echo '{"pipeline_root": "r"}' > "$T/bad1.json"
if "$CFX" run "$T/bad1.json" 2> "$T/err.txt"; then fail "config without data accepted"; fi
grep -q "bad1.json: member 'data' is required" "$T/err.txt" || fail "error: $(cat "$T/err.txt")"
echo '{"pipeline_root": "r", "data": "d", "pipline_name": "x"}' > "$T/bad2.json"
if "$CFX" run "$T/bad2.json" 2> "$T/err.txt"; then fail "unknown member accepted"; fi
grep -q "unknown member 'pipline_name'" "$T/err.txt" || fail "error: $(cat "$T/err.txt")"

echo "== the whole pipeline, small training, a low bar: pushed"
cat > "$T/trainer.json" <<'EOF'
{"model_name": "taxi", "first_dnn_layer_size": 16, "num_dnn_layers": 2,
 "dnn_decay_factor": 0.7, "deep_categorical": true, "learning_rate": 0.001,
 "batch_size": 40, "train_steps": 50, "eval_steps": 50, "log_every_steps": 50,
 "eval_every_steps": 50, "seed": 42}
EOF
# low: accuracy >= 0.5 (the small model reaches about 0.79); high: AUC >= 0.999
for bar in low:BinaryAccuracy:0.5 high:AUC:0.999; do
  IFS=: read -r name metric bound <<< "$bar"
  cat > "$T/eval_$name.json" <<EOF
{"model_specs": [{"signature_name": "serving_default", "label_key": "tips_xf",
   "preprocessing_function_names": ["transform_features"]}],
 "slicing_specs": [{}],
 "metrics_specs": [{"metrics": [{"class_name": "$metric",
   "threshold": {"value_threshold": {"lower_bound": $bound}}}]}]}
EOF
done
cat > "$T/p3.json" <<'EOF'
{"pipeline_name": "full", "pipeline_root": "root3", "data": "data.csv",
 "serving_dir": "serving", "model_name": "taxi",
 "components": {"Transform": {"spec": "transform.json"},
   "Trainer": {"config": "trainer.json"}, "Evaluator": {"config": "eval_low.json"},
   "InfraValidator": {"num_requests": 3}}}
EOF
full_run() {
  local out=$1 rc=0
  "$CFX" run "$T/p3.json" > "$out" 2> "$T/err.txt" || rc=$?
  [ $rc -eq 0 ] || cat "$out" "$T/err.txt"
  return $rc
}
full_run "$T/full1.txt" || fail "full run"
grep -v '^    ' "$T/full1.txt"
for c in ExampleGen StatisticsGen SchemaGen ExampleValidator Transform Trainer Evaluator \
         InfraValidator Pusher; do
  grep -Eq "^$c +execution [0-9]+ +COMPLETE" "$T/full1.txt" || fail "$c did not complete"
done
grep -Eq "^Pusher .* pushed version 1 to $T/serving/taxi/1$" "$T/full1.txt" || fail "push line"
[ -f "$T/serving/taxi/1/manifest.json" ] || fail "no bundle at serving/taxi/1"
python3 - "$T/root3/metadata.sqlite" <<'EOF' || fail "artifact properties (TFX)"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def props(component, key):
    aid = db.execute("SELECT ev.artifact_id FROM Event ev JOIN Execution e ON e.id=ev.execution_id "
                     "JOIN Type t ON t.id=e.type_id JOIN EventPath p ON p.event_id=ev.id "
                     "WHERE t.name=? AND ev.type=4 AND p.is_index_step=0 AND p.step_key=? "
                     "ORDER BY ev.id LIMIT 1", (component, key)).fetchone()[0]
    rows = db.execute("SELECT name, is_custom_property, int_value, string_value FROM ArtifactProperty "
                      "WHERE artifact_id=?", (aid,)).fetchall()
    return aid, {(n, c): i if i is not None else s for n, c, i, s in rows}
_, ex = props("ExampleGen", "examples")
assert ex[("split_names", 0)] == '["train","eval"]' and ex[("span", 0)] == 0, ex
assert ex[("payload_format", 1)] == "FORMAT_TF_EXAMPLE" and ex[("file_format", 1)] == "tfrecords_gzip", ex
assert ex[("input_fingerprint", 1)].startswith("split:single_split,num_files:1,"), ex
for comp, key in (("StatisticsGen", "statistics"), ("ExampleValidator", "anomalies")):
    _, p = props(comp, key)
    assert p.get(("split_names", 0)) == '["train","eval"]' and p.get(("span", 0)) == 0, (comp, p)
model, _ = props("Trainer", "model")
for comp in ("Evaluator", "InfraValidator"):
    _, p = props(comp, "blessing")
    assert p[("blessed", 1)] == 1 and p[("current_model_id", 1)] == model, (comp, p, model)
    assert p[("current_model", 1)].endswith("/Trainer/model/6"), (comp, p)
print("store: Examples, ExampleStatistics, ExampleAnomalies carry split_names and span; "
      "both blessings name Model #%d" % model)
EOF
sum=$(sha256sum "$T/root3/Trainer/model/6/manifest.json" | cut -d' ' -f1)
for b in Evaluator/blessing InfraValidator/blessing; do
  grep -q "\"manifest_sha256\": \"$sum\"" "$T/root3/$b"/*/model.json ||
    fail "$b/*/model.json does not name the trained model"
done
full_run "$T/full2.txt" || fail "full rerun"
cached=$(grep -Ec '^[A-Za-z]+ +execution [0-9]+ +CACHED' "$T/full2.txt")
[ "$cached" -eq 9 ] || fail "rerun: $cached of 9 steps cached"
[ ! -e "$T/serving/taxi/2" ] || fail "an unchanged rerun pushed again"
echo "rerun: all $cached steps cached"

echo "== cfx lineage of the pushed version"
"$CFX" lineage --config "$T/p3.json" "$T/serving/taxi/1/" > "$T/lin3.txt" || fail "lineage"
cat "$T/lin3.txt"
head -n 1 "$T/lin3.txt" | grep -q "^PushedModel #[0-9]* $T/serving/taxi/1 .*pushed_version=1" ||
  fail "lineage: not the PushedModel"
for c in Pusher Trainer Transform SchemaGen StatisticsGen ExampleGen Evaluator InfraValidator; do
  grep -q "└─ $c execution [0-9]* COMPLETE" "$T/lin3.txt" || fail "lineage: no $c"
done
grep -q "model_blessing: ModelBlessing #[0-9]* Evaluator/blessing/[0-9]*  blessed=1" "$T/lin3.txt" ||
  fail "lineage: blessing"
grep -q "input: ExternalArtifact #1 $T/data.csv" "$T/lin3.txt" || fail "lineage: the data"

# A whitespace edit of the transform spec changes its digest: Transform and
# what follows rerun (the evaluator now against the first model as its
# baseline), the steps before it stay cached, version 2 is pushed.
echo >> "$T/transform.json"
full_run "$T/full3.txt" || fail "run after editing the spec"
grep -v '^    ' "$T/full3.txt"
for c in ExampleGen StatisticsGen SchemaGen ExampleValidator; do
  # cached from a cached execution: still with the original result line
  grep -Eq "^$c +execution [0-9]+ +CACHED +[0-9.]+ s  [a-z0-9]" "$T/full3.txt" ||
    fail "$c not cached (with its result) after a spec edit"
done
for c in Transform Trainer Evaluator InfraValidator Pusher; do
  grep -Eq "^$c +execution [0-9]+ +COMPLETE" "$T/full3.txt" || fail "$c cached after the spec changed"
done
grep -Eq "^    in  baseline_model +Model #[0-9]+ $T/root3/Trainer/model/6$" "$T/full3.txt" ||
  fail "evaluator baseline is not the first model"
[ -f "$T/serving/taxi/2/manifest.json" ] || fail "version 2 not pushed"

echo "== a model under the bar is not pushed (also when cached)"
sed 's/eval_low.json/eval_high.json/' "$T/p3.json" > "$T/p6.json"
for i in 1 2; do
  rc=0; "$CFX" run "$T/p6.json" > "$T/nb$i.txt" 2>&1 || rc=$?
  grep -v '^    ' "$T/nb$i.txt"
  [ $rc -eq 3 ] || fail "not blessed: exit status $rc, want 3"
  grep -q "^rollout stopped: Evaluator: model not blessed" "$T/nb$i.txt" || fail "no stop reason"
  if grep -q "^Pusher " "$T/nb$i.txt"; then fail "ran the Pusher"; fi
done
grep -Eq "^Evaluator +execution [0-9]+ +CACHED .*NOT_BLESSED" "$T/nb2.txt" || fail "evaluator not cached"
[ ! -e "$T/serving/taxi/3" ] || fail "an unblessed model was pushed"

echo "== a curated schema the data breaks: the rollout stops (also when cached)"
SCHEMA=$(ls -d "$T"/root3/SchemaGen/schema/* | head -n 1)/schema.pbtxt
sed 's/name: "company"/name: "company_x"/' "$SCHEMA" > "$T/curated.pbtxt"
grep -q company_x "$T/curated.pbtxt" || fail "could not make the curated schema"
cat > "$T/p4.json" <<'EOF'
{"pipeline_root": "root4", "data": "data.csv",
 "components": {"SchemaGen": {"schema": "curated.pbtxt"},
   "Transform": {"spec": "transform.json"}, "Trainer": {"config": "trainer.json"}}}
EOF
for i in 1 2; do
  rc=0; "$CFX" run "$T/p4.json" > "$T/an$i.txt" 2>&1 || rc=$?
  grep -v '^    ' "$T/an$i.txt"
  [ $rc -eq 3 ] || fail "anomalies: exit status $rc, want 3"
  grep -Eq "^rollout stopped: ExampleValidator: [0-9]+ data anomalies of severity ERROR" "$T/an$i.txt" ||
    fail "no stop reason"
  if grep -q "^Transform " "$T/an$i.txt"; then fail "ran past the anomalies"; fi
done
grep -Eq "^ExampleValidator +execution [0-9]+ +CACHED" "$T/an2.txt" || fail "validator not cached"
sed 's/"schema": "curated.pbtxt"}/"schema": "curated.pbtxt"}, "ExampleValidator": {"stop_on_anomalies": false}/' \
  "$T/p4.json" > "$T/p5.json"
rc=0; "$CFX" run "$T/p5.json" > "$T/an3.txt" 2> "$T/err.txt" || rc=$?
[ $rc -ne 3 ] || fail "stop_on_anomalies false still stopped"
grep -Eq "^Transform +execution" "$T/an3.txt" || { cat "$T/an3.txt" "$T/err.txt"; fail "did not go on"; }

echo "PASS"
