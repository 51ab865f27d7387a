#!/usr/bin/env bash
# eval_push_test.sh: evaluate, infravalidate and push on the taxi data.
#  - per-slice metrics of `cfx evaluate` equal metrics recomputed by python3
#    (plain loops) from `cfx predict` output on the eval split and labels
#    read from the raw TFRecords (tolerance 1e-6);
#  - the first model (no baseline) is blessed by the value thresholds only,
#    which examples/taxi/eval.json puts on the overall slice ({}), so the
#    hour and day x payment slices it also computes do not gate it;
#  - a deliberately worse model (10 training steps) is NOT_BLESSED by the
#    change threshold against the latest blessed model resolved from the
#    metadata store; the reason names the threshold and both values;
#    nothing is pushed;
#  - infra validation in a real cfx-serve blesses the good model and fails
#    with a broken server binary; push refuses without the blessings and
#    records the PushedModel;
#  - every blessing folder names its model (model.json: manifest sha256);
#    push refuses a blessing of another model, from the files and, with
#    --pipeline-root, from the store's current_model_id;
#  - a corrupt bundle is INFRA_NOT_BLESSED (exit 4) with the load error as
#    reason; --num-requests N sends N requests, cycling the warm-up rows.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
SRC=$CFX_SOURCE_DIR
# the shared independent TFRecord/tf.Example reader (tfrecord_reader.py)
export E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
R=$T/root
CFG=$SRC/examples/taxi/eval.json

"$CFX" examplegen --input "$SRC/examples/taxi/data.csv" --output "$T/ex" >/dev/null
"$CFX" transform --examples "$T/ex" --spec "$SRC/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
echo '{"model_name": "taxi", "train_steps": 1500, "eval_steps": 50, "seed": 7}' >"$T/good.json"
echo '{"model_name": "taxi", "train_steps": 10, "eval_steps": 10, "seed": 7}' >"$T/bad.json"
# on this data 500 steps rank better than 1500 (auc 0.9409 vs 0.9391)
echo '{"model_name": "taxi", "train_steps": 500, "eval_steps": 50, "seed": 7}' >"$T/better.json"
for m in good bad better; do
    "$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
        --config "$T/$m.json" --raw-examples "$T/ex" --output "$T/$m" --pipeline-root "$R" \
        --quiet >/dev/null || fail "cfx train $m"
done

# --- 1. the first model: no baseline, value thresholds only -------------------
rc=0
"$CFX" evaluate --model "$T/good/model" --examples "$T/ex" --config "$CFG" --output "$T/ev1" \
    --pipeline-root "$R" >"$T/ev1.out" 2>&1 || rc=$?
cat "$T/ev1.out"
[ "$rc" = 0 ] || fail "good model: exit $rc"
grep -q '^BLESSED: binary_accuracy [0-9.]* >= lower bound 0.6 on Overall; auc [0-9.]* >= lower bound 0.9 on Overall$' "$T/ev1.out" ||
    fail "one-line result: $(head -1 "$T/ev1.out")"
[ -f "$T/ev1/blessing/BLESSED" ] && [ ! -s "$T/ev1/blessing/BLESSED" ] || fail "no empty BLESSED"
[ -e "$T/ev1/blessing/NOT_BLESSED" ] && fail "both BLESSED and NOT_BLESSED"
grep -q change_threshold "$T/ev1/evaluation/eval_config.json" &&
    fail "no baseline: change thresholds must be dropped"
grep -q '"baseline": false' "$T/ev1/evaluation/validations.json" || fail "validations.json"
grep -q '"thresholds_checked": 2,' "$T/ev1/evaluation/validations.json" ||
    fail "two bounds on the overall slice: $(cat "$T/ev1/evaluation/validations.json")"
# the blessing names the model it is about
sum_good=$(sha256sum "$T/good/model/manifest.json" | cut -d' ' -f1)
$PY - "$T/ev1/blessing/model.json" "$sum_good" "$(cd "$T/good/model" && pwd -P)" <<'PY' || fail "ev1 model.json"
import json, sys
m = json.load(open(sys.argv[1]))
assert m == {"manifest_sha256": sys.argv[2], "model": sys.argv[3]}, m
PY

# --- 2. per-slice metrics against an independent computation ------------------
"$CFX" predict --bundle "$T/good/model" --input "$T/ex/Split-eval" --output "$T/pred.csv" >/dev/null
$PY - "$T/ex/Split-eval" "$T/pred.csv" "$T/ev1/evaluation/metrics.json" <<'PY'
import glob, gzip, json, math, os, struct, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example_values as example, records

exs = [example(r) for p in sorted(glob.glob(sys.argv[1] + "/*")) for r in records(p)]
preds = [float(l.split(",")[0]) for l in open(sys.argv[2]).read().split("\n")[1:] if l]
assert len(exs) == len(preds), (len(exs), len(preds))
def first(e, k, d):
    v = e.get(k) or [d]
    return v[0]
# the taxi label: tip more than 20% of the fare, in float32 as TF computes
# tf.greater(tips, tf.multiply(fare, 0.2)) (missing values are 0)
# (a float32 product is exact in float64; rounding it to float32 once gives
# the IEEE float32 product)
f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
labels = [1 if first(e, "tips", 0.0) > f32(f32(0.2) * first(e, "fare", 0.0)) else 0 for e in exs]

def metrics(idx):
    p = [preds[i] for i in idx]; y = [labels[i] for i in idx]
    n = len(p); P = sum(y); N = n - P
    wins = 0.0
    for a in range(n):
        if y[a] != 1: continue
        for b in range(n):
            if y[b] == 0:
                wins += 1.0 if p[a] > p[b] else 0.5 if p[a] == p[b] else 0.0
    order = sorted(range(n), key=lambda i: -p[i])
    tp = fp = 0; ap = 0.0; k = 0
    while k < n:
        j = k; gt = 0
        while j < n and p[order[j]] == p[order[k]]:
            if y[order[j]]: gt += 1; tp += 1
            else: fp += 1
            j += 1
        if gt: ap += gt * tp / (tp + fp)
        k = j
    yhat = [1 if q > 0.5 else 0 for q in p]
    tp5 = sum(1 for a, b in zip(yhat, y) if a and b)
    fp5 = sum(1 for a, b in zip(yhat, y) if a and not b)
    fn5 = sum(1 for a, b in zip(yhat, y) if not a and b)
    eps = 1e-7
    ll = -sum(b * math.log(min(max(a, eps), 1 - eps)) + (1 - b) * math.log(1 - min(max(a, eps), 1 - eps)) for a, b in zip(p, y)) / n
    return {
        "example_count": n,
        "binary_accuracy": sum(1 for a, b in zip(yhat, y) if a == b) / n,
        "auc": wins / (P * N) if P and N else None,
        "auc_precision_recall": ap / P if P else None,
        "precision": tp5 / (tp5 + fp5) if tp5 + fp5 else 0.0,
        "recall": tp5 / (tp5 + fn5) if tp5 + fn5 else 0.0,
        "binary_crossentropy": ll,
        "calibration": sum(p) / P if P else None,
        "mean_label": P / n,
        "mean_prediction": sum(p) / n,
    }

slices = {}
for i, e in enumerate(exs):
    slices.setdefault("Overall", []).append(i)
    if e.get("trip_start_hour"):
        slices.setdefault("trip_start_hour:%d" % e["trip_start_hour"][0], []).append(i)
    if e.get("trip_start_day") and e.get("payment_type"):
        slices.setdefault("trip_start_day_X_payment_type:%d_X_%s" % (e["trip_start_day"][0], e["payment_type"][0]), []).append(i)

got = {s["slice"]: s["metrics"] for s in json.load(open(sys.argv[3]))["slices"]}
assert set(got) == set(slices), sorted(set(got) ^ set(slices))
worst = 0.0
for name, idx in slices.items():
    want = metrics(idx)
    for k, v in want.items():
        g = got[name][k]
        if v is None:
            assert g is None, (name, k, g)
            continue
        d = abs(g - v)
        worst = max(worst, d)
        assert d <= 1e-6, (name, k, g, v)
print("per-slice metrics: %d slices agree with python3, largest |diff| %.2g; overall auc %.4f, mean_label %.4f"
      % (len(slices), worst, got["Overall"]["auc"], got["Overall"]["mean_label"]))
PY

# --- 3. infra validation and push ----------------------------------------------
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv1" --pipeline-root "$R" >"$T/iv1.out" ||
    fail "infravalidate good: $(cat "$T/iv1.out")"
cat "$T/iv1.out"
[ -f "$T/iv1/INFRA_BLESSED" ] || fail "no INFRA_BLESSED"
ls -a "$T/iv1" | grep -q '^\.infra' && fail "infravalidate left its temporary folder"
rc=0
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv2" --serve-binary /bin/false \
    >"$T/iv2.out" || rc=$?
[ "$rc" = 4 ] || fail "a server that exits: infravalidate exit $rc, want 4"
[ -f "$T/iv2/INFRA_NOT_BLESSED" ] || fail "no INFRA_NOT_BLESSED"
grep -q 'exited before serving' "$T/iv2/reason" || fail "infra reason: $(cat "$T/iv2/reason")"

# a server that answers, but not what the model computes
cat >"$T/fake-serve" <<'FAKE'
#!/usr/bin/python3
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(b'{"model_version_status": [{"version": "1", "state": "AVAILABLE"}]}')
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(json.dumps({"predictions": [[0.123]]}).encode())
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("cfx-serve: Exporting HTTP/REST API at:localhost:%d ..." % s.server_address[1], file=sys.stderr, flush=True)
s.serve_forever()
FAKE
chmod +x "$T/fake-serve"
rc=0
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv3" --serve-binary "$T/fake-serve" \
    >"$T/iv3.out" || rc=$?
[ "$rc" = 4 ] || fail "a server answering wrong values: exit $rc, want 4"
grep -q '^REST request 1 (warm-up row 1): served 0.123, offline .*, |diff| .* > 1e-05$' "$T/iv3/reason" ||
    fail "wrong-answer reason: $(cat "$T/iv3/reason")"
grep -q 'over gRPC' "$T/iv1.out" && grep -q '10/10 over gRPC' "$T/iv1.out" || fail "gRPC replay: $(cat "$T/iv1.out")"
grep -q "\"manifest_sha256\": \"$sum_good\"" "$T/iv1/model.json" || fail "iv1 model.json: $(cat "$T/iv1/model.json")"

# --num-requests is the number of requests: 25 from the 10 warm-up rows
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv5" --num-requests 25 >"$T/iv5.out" ||
    fail "infravalidate 25 requests: $(cat "$T/iv5.out")"
grep -q ' 25/25 warm-up requests over REST and 25/25 over gRPC' "$T/iv5.out" ||
    fail "25 requests: $(cat "$T/iv5.out")"

# --load-check: cfx perf against the candidate's server, its checks decide
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv6" --load-check 'errors<=0,rps>=50' \
    --load-seconds 1 --load-concurrency 2 >"$T/iv6.out" || fail "load check: $(cat "$T/iv6.out")"
grep -q '; load check errors<=0,rps>=50 held: [0-9]* req/s' "$T/iv6.out" || fail "load summary: $(cat "$T/iv6.out")"
"$PY" - "$T/iv6/load.json" <<'PY' || fail "load.json: $(cat "$T/iv6/load.json")"
import json, sys
lv = json.load(open(sys.argv[1]))[0]
assert lv["concurrency"] == 2 and lv["errors"] == 0 and lv["ok"] >= 50, lv
assert abs(lv["rps"] - lv["ok"] / lv["seconds"]) <= 0.01 * lv["rps"] + 1, lv
assert 0 < lv["p50_us"] <= lv["p99_us"] <= lv["max_us"], lv
PY
rc=0
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv7" --load-check 'p50<1ns' \
    --load-seconds 1 >"$T/iv7.out" || rc=$?
[ "$rc" = 4 ] && [ -f "$T/iv7/INFRA_NOT_BLESSED" ] || fail "missed load check: exit $rc, want 4"
grep -q '^load test (4 in flight, 1.0 s over REST): check failed at concurrency 4: p50<1ns (measured p50 = [0-9.e-]* ms)$' \
    "$T/iv7/reason" || fail "load check reason: $(cat "$T/iv7/reason")"
rc=0
"$CFX" infravalidate --model "$T/good/model" --output "$T/iv8" --load-check 'p42<1ms' >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && [ ! -e "$T/iv8" ] || fail "a bad --load-check must be a usage error before anything runs"

# a corrupt bundle (one weight byte flipped) is a verdict, not a failure
cp -r "$T/good/model" "$T/corrupt"
W=$T/corrupt/variables/model.safetensors
off=$(( $(stat -c %s "$W") - 5 ))
b=$(od -An -tu1 -j "$off" -N1 "$W" | tr -d ' ')
printf "$(printf '\\%03o' $(( b ^ 1 )))" | dd of="$W" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$W" "$T/good/model/variables/model.safetensors" && fail "the byte was not flipped"
rc=0
"$CFX" infravalidate --model "$T/corrupt" --output "$T/iv4" --pipeline-root "$R" \
    >"$T/iv4.out" 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "corrupt bundle: infravalidate exit $rc, want 4: $(cat "$T/iv4.out")"
[ -f "$T/iv4/INFRA_NOT_BLESSED" ] && [ ! -e "$T/iv4/INFRA_BLESSED" ] || fail "corrupt: no INFRA_NOT_BLESSED"
grep -q 'model.safetensors.*sha256 expected' "$T/iv4/reason" || fail "corrupt reason: $(cat "$T/iv4/reason")"
grep -q '^INFRA_NOT_BLESSED: .*sha256 expected' "$T/iv4.out" || fail "corrupt summary: $(cat "$T/iv4.out")"
grep -q "\"manifest_sha256\": \"$sum_good\"" "$T/iv4/model.json" || fail "iv4 model.json"

S=$T/serving/taxi
rc=0
"$CFX" push --model "$T/good/model" --blessing "$T/ev1/blessing" --infra-blessing "$T/iv2" \
    --to "$S" 2>"$T/push.err" || rc=$?
[ "$rc" = 4 ] || fail "push with INFRA_NOT_BLESSED: exit $rc"
grep -q 'infra validation' "$T/push.err" || fail "push refusal: $(cat "$T/push.err")"
[ -e "$S/1" ] && fail "a refused push published a version"
"$CFX" push --model "$T/good/model" --blessing "$T/ev1/blessing" --infra-blessing "$T/iv1" \
    --to "$S" --pipeline-root "$R" >"$T/push.out" || fail "push good"
grep -q "pushed version 1: $S/1" "$T/push.out" || fail "push output: $(cat "$T/push.out")"
diff -r "$T/good/model" "$S/1" >/dev/null || fail "pushed version differs from the bundle"

# --- 4. a worse model against the latest blessed one (from metadata) ---------
rc=0
"$CFX" evaluate --model "$T/bad/model" --examples "$T/ex" --config "$CFG" --output "$T/ev2" \
    --pipeline-root "$R" >"$T/ev2.out" 2>&1 || rc=$?
cat "$T/ev2.out"
[ "$rc" = 4 ] || fail "worse model: exit $rc, want 4"
[ -f "$T/ev2/blessing/NOT_BLESSED" ] && [ ! -e "$T/ev2/blessing/BLESSED" ] || fail "no NOT_BLESSED"
grep -q "baseline $T/good/model" "$T/ev2.out" || fail "baseline not resolved from metadata"
$PY - "$T/ev2/evaluation/metrics.json" "$T/ev2/blessing/reason" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
o = [s for s in m["slices"] if s["slice"] == "Overall"][0]
c, b = o["metrics"]["auc"], o["baseline_metrics"]["auc"]
assert abs(o["diff"]["auc"] - (c - b)) < 1e-9
reason = open(sys.argv[2]).read()
want = "Overall: auc change %.6g (candidate %.6g, baseline %.6g) < absolute -1e-10 (HIGHER_IS_BETTER)" % (c - b, c, b)
assert want in reason.split("\n"), (want, reason)
print("NOT_BLESSED reason names the change threshold: " + want)
PY
"$CFX" show "$T/ev2" >"$T/show.out" || fail "cfx show of an evaluation"
grep -q '^Blessing: NOT_BLESSED' "$T/show.out" && grep -q 'FAILED: Overall: auc change' "$T/show.out" &&
    grep -q '^Overall  *4966 ' "$T/show.out" && grep -q '^trip_start_hour:23 ' "$T/show.out" ||
    fail "cfx show: $(head -12 "$T/show.out")"
rc=0
"$CFX" push --model "$T/bad/model" --blessing "$T/ev2/blessing" --to "$S" --pipeline-root "$R" \
    2>"$T/push2.err" || rc=$?
[ "$rc" = 4 ] || fail "push of a NOT_BLESSED model: exit $rc"
grep -q 'not blessed' "$T/push2.err" || fail "refusal message: $(cat "$T/push2.err")"
[ "$(ls -A "$S")" = 1 ] || fail "after a refused push BASE holds: $(ls -A "$S")"
# two failed bounds make one summary line joined by "; "
grep -q '^NOT_BLESSED: Overall: auc .* < lower bound 0.9; Overall: auc change ' "$T/ev2.out" ||
    fail "NOT_BLESSED summary: $(head -1 "$T/ev2.out")"
grep -q '^NOT_BLESSED: .*;[^ ]' "$T/ev2.out" && fail "';' without a space: $(head -1 "$T/ev2.out")"

# the blessing of another model: refused from the files, naming both
sum_bad=$(sha256sum "$T/bad/model/manifest.json" | cut -d' ' -f1)
rc=0
"$CFX" push --model "$T/bad/model" --blessing "$T/ev1/blessing" --infra-blessing "$T/iv1" \
    --to "$S" 2>"$T/push3.err" || rc=$?
[ "$rc" = 4 ] || fail "push with another model's blessing: exit $rc, want 4"
grep -q "blessing $T/ev1/blessing is for model .*/good/model (manifest sha256 $sum_good), not for $T/bad/model (manifest sha256 $sum_bad)" \
    "$T/push3.err" || fail "wrong-model refusal: $(cat "$T/push3.err")"
# a blessing that names no model (no model.json) is refused
mkdir "$T/old-blessing" && : >"$T/old-blessing/BLESSED"
rc=0
"$CFX" push --model "$T/good/model" --blessing "$T/old-blessing" --to "$S" 2>"$T/push4.err" || rc=$?
[ "$rc" = 4 ] && grep -q "blessing $T/old-blessing names no model" "$T/push4.err" ||
    fail "blessing without model.json: exit $rc: $(cat "$T/push4.err")"
# same bytes at another path: the files agree, but the store recorded the
# blessing for the model artifact at $T/good/model
cp -r "$T/good/model" "$T/good-copy"
rc=0
"$CFX" push --model "$T/good-copy" --blessing "$T/ev1/blessing" --to "$S" --pipeline-root "$R" \
    2>"$T/push5.err" || rc=$?
[ "$rc" = 4 ] && grep -q "the metadata store records blessing .*ev1/blessing (artifact [0-9]*) for model artifact [0-9]*, not for .*good-copy" \
    "$T/push5.err" || fail "store check: exit $rc: $(cat "$T/push5.err")"
[ "$(ls -A "$S")" = 1 ] || fail "after refused pushes BASE holds: $(ls -A "$S")"

# a model that passes the value thresholds but is worse than its baseline:
# NOT_BLESSED by the change threshold alone
rc=0
"$CFX" evaluate --model "$T/good/model" --examples "$T/ex" --config "$CFG" --output "$T/ev4" \
    --baseline "$T/better/model" >"$T/ev4.out" || rc=$?
[ "$rc" = 4 ] || fail "good vs better baseline: exit $rc, want 4: $(cat "$T/ev4.out")"
[ "$(wc -l <"$T/ev4/blessing/reason")" = 1 ] && grep -q '^Overall: auc change -.* (candidate .*, baseline .*) < absolute -1e-10 (HIGHER_IS_BETTER)$' \
    "$T/ev4/blessing/reason" || fail "change-only reason: $(cat "$T/ev4/blessing/reason")"
head -1 "$T/ev4.out"

# the same model as its own baseline passes "not worse than the baseline"
"$CFX" evaluate --model "$T/good/model" --examples "$T/ex" --config "$CFG" --output "$T/ev3" \
    --baseline "$T/good/model" >"$T/ev3.out" || fail "good vs itself: $(cat "$T/ev3.out")"
grep -q 'auc .* >= baseline .* on Overall' "$T/ev3.out" || fail "change threshold not checked: $(cat "$T/ev3.out")"

# --- 5. metadata: blessings and the PushedModel ---------------------------------
$PY - "$R/metadata.sqlite" "$S/1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def props(aid):
    return {r[0]: r[1] if r[1] is not None else r[2] for r in db.execute(
        "select name, int_value, string_value from ArtifactProperty where artifact_id=?", (aid,))}
def of_type(t):
    return [r[0] for r in db.execute("select a.id from Artifact a join Type t on a.type_id=t.id where t.name=? order by a.id", (t,))]
pushed = of_type("PushedModel")
# the push of version 1, then two refused with --pipeline-root (NOT_BLESSED,
# and a blessing the store records for another model): as TFX's Pusher,
# completed executions whose PushedModel says pushed = 0
assert len(pushed) == 3, pushed
p = props(pushed[0])
assert p["pushed"] == 1 and p["pushed_version"] == "1" and p["pushed_destination"] == sys.argv[2], p
for a in pushed[1:]:
    q = props(a)
    assert q == {"pushed": 0}, q
    uri, state = db.execute("select uri, state from Artifact where id=?", (a,)).fetchone()
    assert "/Pusher/pushed_model/" in uri and not uri.startswith(sys.argv[2]), uri
    ex = db.execute("select e.last_known_state from Event v join Execution e on e.id=v.execution_id "
                    "where v.artifact_id=? and v.type=4", (a,)).fetchone()
    assert ex == (3,), ex  # COMPLETE
bl = [props(a) for a in of_type("ModelBlessing")]
assert [b["blessed"] for b in bl] == [1, 0], bl
assert "baseline_model_id" not in bl[0] and bl[1]["baseline_model_id"] == bl[0]["current_model_id"], bl
ib = [props(a) for a in of_type("InfraBlessing")]
assert [b["blessed"] for b in ib] == [1, 0], ib
# both name their model: the good one (as the first ModelBlessing), then
# the corrupt copy
assert ib[0]["current_model_id"] == bl[0]["current_model_id"], (ib, bl)
assert ib[1]["current_model"].endswith("/corrupt") and ib[1]["current_model_id"] > 0, ib
print("metadata: blessings %s, PushedModel %s" % ([b["blessed"] for b in bl], p))
PY
echo "PASS eval_push_test"
