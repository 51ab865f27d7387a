#!/usr/bin/env bash
# gbt_test.sh: the gbt model type end to end on the taxi data with
# examples/taxi/trainer.json: the bundle carries variables/trees.json and
# no network; an independent tree walk in python3 over the transformed eval
# rows gives cfx predict's probabilities (within 1e-6); raw rows and
# transformed rows predict the same; cfx infravalidate finds cfx-serve's
# REST and gRPC answers equal to the offline ones; one seed, one model; a
# mistyped gbt key is refused naming the file and the key.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
SRC=$CFX_SOURCE_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$CFX" examplegen --input "$SRC/examples/taxi/data.csv" --output "$T/examples" >/dev/null
"$CFX" transform --examples "$T/examples" --spec "$SRC/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
grep -q '"model": "gbt"' "$SRC/examples/taxi/trainer.json" || fail "the taxi config is not gbt"
for r in run run2; do
    "$CFX" train --quiet --examples "$T/xf/transformed_examples" \
        --transform-graph "$T/xf/transform_graph" --config "$SRC/examples/taxi/trainer.json" \
        --raw-examples "$T/examples" --output "$T/$r" > "$T/$r.out" 2> "$T/$r.err" ||
        { cat "$T/$r.err"; fail "cfx train"; }
done
cmp "$T/run/model/variables/trees.json" "$T/run2/model/variables/trees.json" ||
    fail "two runs of one config and seed gave different trees"
M=$T/run/model
[ -f "$M/variables/trees.json" ] || fail "bundle lacks variables/trees.json"
[ -e "$M/variables/model.safetensors" ] && fail "a gbt bundle has network weights"
ls "$T/run/logs/train/" | grep -q tfevents || fail "no TensorBoard events"
grep -q '^eval,' "$T/run/logs/metrics.csv" || fail "no eval metrics in metrics.csv"

"$CFX" predict --bundle "$M" --input "$T/xf/transformed_examples/Split-eval" --transformed \
    --output "$T/p_xf.csv" 2>/dev/null
"$CFX" predict --bundle "$M" --input "$T/examples/Split-eval" --output "$T/p_raw.csv" 2>/dev/null
cmp "$T/p_xf.csv" "$T/p_raw.csv" || fail "raw and transformed rows predict differently"

# An independent evaluator of trees.json: the manifest's files, then each
# tree walked from its arrays (x < value goes left, NaN to default_left),
# base_margin plus the leaves, through the sigmoid.
"$PY" - "$M" "$T/xf/transformed_examples/Split-eval" "$T/p_xf.csv" <<'PY'
import glob, hashlib, json, math, os, struct, sys
m, split, pred = sys.argv[1:4]
man = json.load(open(os.path.join(m, "manifest.json")))
assert "network" not in man and man["trees"]["type"] == "gbt", man.get("trees")
assert man["trees"]["file"] == "variables/trees.json"
for rel, e in man["files"].items():
    data = open(os.path.join(m, rel), "rb").read()
    assert hashlib.sha256(data).hexdigest() == e["sha256"] and len(data) == e["size"], rel
tr = json.load(open(os.path.join(m, "variables/trees.json")))
assert tr["format"] == "cfx-trees" and tr["num_outputs"] == 1
assert len(tr["trees"]) == man["trees"]["num_trees"]
feats = tr["features"]

sys.path.insert(0, os.path.join(os.environ["CFX_SOURCE_DIR"], "tests", "e2e"))
from tfrecord_reader import example, records
rows = []
for p in sorted(glob.glob(os.path.join(split, "*"))):
    for r in records(p):  # the transformed features, numbers only
        rows.append({k: float(v[0]) for k, (kind, v) in example(r).items() if kind in (2, 3) and v})
f32 = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]
got = [float(l.split(",")[0]) for l in open(pred).read().splitlines()[1:]]
assert len(got) == len(rows), (len(got), len(rows))
worst = 0
for r, g in zip(rows, got):
    x = [r[f] for f in feats]
    z = tr["base_margin"][0]
    for t in tr["trees"]:
        i = 0
        while t["left"][i] >= 0:
            v = x[t["feature"][i]]
            left = bool(t["default_left"][i]) if math.isnan(v) else v < f32(t["value"][i])
            i = t["left"][i] if left else t["right"][i]
        z += t["value"][i]
    worst = max(worst, abs(1 / (1 + math.exp(-z)) - g))
assert worst < 1e-6, "cfx predict differs from the python walk by %g" % worst
print("python tree walk agrees with cfx predict on %d rows (max |diff| %.2g)" % (len(rows), worst))
PY

"$CFX" infravalidate --model "$M" --output "$T/infra" --num-requests 20 > "$T/infra.out" 2>&1 ||
    { cat "$T/infra.out"; fail "cfx infravalidate"; }
[ -f "$T/infra/INFRA_BLESSED" ] || fail "not infra-blessed: $(cat "$T/infra/reason")"
grep -q "over gRPC" "$T/infra/reason" || fail "no gRPC comparison: $(cat "$T/infra/reason")"

sed 's/"max_depth"/"max_dept"/' "$SRC/examples/taxi/trainer.json" > "$T/bad.json"
if "$CFX" train --quiet --examples "$T/xf/transformed_examples" \
    --transform-graph "$T/xf/transform_graph" --config "$T/bad.json" --output "$T/bad" \
    2> "$T/bad.err"; then fail "a mistyped gbt key was accepted"; fi
grep -q "bad.json: 'gbt': unknown key 'max_dept'" "$T/bad.err" || fail "error: $(cat "$T/bad.err")"
echo "gbt_test: ok"
