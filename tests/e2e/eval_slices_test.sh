#!/usr/bin/env bash
# eval_slices_test.sh: per-slice thresholds of `cfx evaluate` (TFMA's
# per_slice_thresholds) on the taxi data, against an independent
# computation: python3 recomputes the auc and binary_accuracy of every
# trip_start_hour slice with plain loops from `cfx predict` output and the
# labels of the raw TFRecords, and picks the bounds from them:
#  - a bound every hour slice meets: BLESSED, all 24 slices checked;
#  - a bound between two hours' values: NOT_BLESSED, and the reason, the
#    validations and `cfx show` list exactly the hours python finds below
#    it, with their values;
#  - a change threshold per slice against a baseline model: exactly the
#    hours whose accuracy gain python finds too small fail; without a
#    baseline it is dropped (no threshold left: NO BLESSING);
#  - an unsliced threshold (MetricsSpec.thresholds) is checked on every
#    computed slice, as TFMA's validator does: with hour and day x payment
#    slicing, exactly the slices python finds below the AUC bound fail, and
#    the one-class slices (AUC undefined); the same bound as a per-slice
#    threshold on {} checks the overall slice only and blesses;
#  - a slicing spec matching no computed slice fails validation (TFMA's
#    missing slice); bad configs are refused with their config path.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
SRC=$CFX_SOURCE_DIR
export E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$CFX" examplegen --input "$SRC/examples/taxi/data.csv" --output "$T/ex" >/dev/null
"$CFX" transform --examples "$T/ex" --spec "$SRC/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
echo '{"model_name": "taxi", "train_steps": 300, "eval_steps": 10, "seed": 7}' >"$T/good.json"
echo '{"model_name": "taxi", "train_steps": 20, "eval_steps": 10, "seed": 7}' >"$T/bad.json"
for m in good bad; do
    "$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
        --config "$T/$m.json" --raw-examples "$T/ex" --output "$T/$m" --quiet >/dev/null ||
        fail "cfx train $m"
    "$CFX" predict --bundle "$T/$m/model" --input "$T/ex/Split-eval" --output "$T/$m.csv" >/dev/null
done

# --- independent per-hour metrics; the configs and what each must report ------
$PY - "$T" <<'PY'
import glob, json, os, struct, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example_values as example, records

T = sys.argv[1]
exs = [example(r) for p in sorted(glob.glob(T + "/ex/Split-eval/*")) for r in records(p)]
def preds(m):
    return [float(l.split(",")[0]) for l in open("%s/%s.csv" % (T, m)).read().split("\n")[1:] if l]
good, bad = preds("good"), preds("bad")
assert len(exs) == len(good) == len(bad), (len(exs), len(good), len(bad))
first = lambda e, k: (e.get(k) or [0.0])[0]
# the taxi label, tips > 0.2 * fare in float32 as the transform graph has it
f32 = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
labels = [1 if first(e, "tips") > f32(f32(0.2) * first(e, "fare")) else 0 for e in exs]

def auc(p, y):
    pos = [a for a, b in zip(p, y) if b]; neg = [a for a, b in zip(p, y) if not b]
    if not pos or not neg:
        return None
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))
def accuracy(p, y):
    return sum(1 for a, b in zip(p, y) if (a > 0.5) == (b == 1)) / len(p)

hours, crosses = {}, {}
for i, e in enumerate(exs):
    if e.get("trip_start_hour"):
        hours.setdefault("trip_start_hour:%d" % e["trip_start_hour"][0], []).append(i)
    if e.get("trip_start_day") and e.get("payment_type"):
        crosses.setdefault("trip_start_day_X_payment_type:%d_X_%s"
                           % (e["trip_start_day"][0], e["payment_type"][0]), []).append(i)
m = {}
for h, idx in hours.items():
    y = [labels[i] for i in idx]
    m[h] = {"auc": auc([good[i] for i in idx], y),
            "acc": accuracy([good[i] for i in idx], y),
            "base_acc": accuracy([bad[i] for i in idx], y)}
assert all(v["auc"] is not None for v in m.values()), "an hour with one class"
assert "trip_start_hour:99" not in m
assert all(v["acc"] >= 0.6 for v in m.values()), "an hour below the 0.6 accuracy bound"
# every slice of the unsliced-threshold configs: overall, hours, crosses
every = {"Overall": auc(good, labels)}
every.update({h: v["auc"] for h, v in m.items()})
every.update({c: auc([good[i] for i in idx], [labels[i] for i in idx])
              for c, idx in crosses.items()})

def between(values, want):
    """A bound strictly between two neighbouring distinct values, near the
    want-th lowest, and how many values lie below it."""
    v = sorted(set(values))
    for k in sorted(range(1, len(v)), key=lambda k: abs(k - want)):
        if v[k] - v[k - 1] > 1e-6:
            return round((v[k] + v[k - 1]) / 2, 9)
    raise SystemExit("no gap")

aucs = [v["auc"] for v in m.values()]
all_pass = round(min(aucs) - 1e-3, 9)
auc_bound = between(aucs, len(aucs) // 3)
gains = [v["acc"] - v["base_acc"] for v in m.values()]
gain_bound = between(gains, len(gains) // 2)
hour_specs = [{}, {"feature_keys": ["trip_start_hour"]}]
def config(metrics_spec, specs=hour_specs):
    return {"slicing_specs": specs, "metrics_specs": [metrics_spec]}
cross_specs = hour_specs + [{"feature_keys": ["trip_start_day", "payment_type"]}]
def per_slice(threshold, specs=None):
    return {"slicing_specs": specs or [{"feature_keys": ["trip_start_hour"]}],
            "threshold": threshold}
cfgs = {
    # MetricConfig form, with an overall threshold beside it
    "pass": config({"metrics": [
        {"class_name": "BinaryAccuracy", "threshold": {"value_threshold": {"lower_bound": 0.6}}},
        {"class_name": "AUC", "per_slice_thresholds": [
            per_slice({"value_threshold": {"lower_bound": all_pass}})]}]}),
    # MetricsSpec map form
    "auc": config({"per_slice_thresholds": {"auc": {"thresholds": [
        per_slice({"value_threshold": {"lower_bound": {"value": auc_bound}}})]}}}),
    "change": config({"metrics": [{"class_name": "BinaryAccuracy", "per_slice_thresholds": [
        per_slice({"change_threshold": {"direction": "HIGHER_IS_BETTER", "absolute": gain_bound}})]}]}),
    # the same AUC bound unsliced (every slice) and on {} (overall only)
    "unsliced": config({"thresholds": {"auc": {"value_threshold": {"lower_bound": auc_bound}}}},
                       cross_specs),
    "overall": config({"per_slice_thresholds": {"auc": {"thresholds": [
        per_slice({"value_threshold": {"lower_bound": auc_bound}}, [{}])]}}}, cross_specs),
    "missing": config({"per_slice_thresholds": {"auc": {"thresholds": [
        per_slice({"value_threshold": {"lower_bound": 0.5}},
                  [{"feature_values": {"trip_start_hour": "99"}}])]}}}),
}
for k, c in cfgs.items():
    json.dump(c, open("%s/%s.cfg.json" % (T, k), "w"), indent=1)
want = {
    "hours": len(m),
    "auc": {h: v["auc"] for h, v in m.items() if v["auc"] < auc_bound},
    "auc_bound": auc_bound,
    "change": {h: [v["acc"], v["base_acc"]] for h, v in m.items()
               if v["acc"] - v["base_acc"] < gain_bound},
    "gain_bound": gain_bound,
    "unsliced": {k: v for k, v in every.items() if v is None or v < auc_bound},
    "slices": len(every),
    "overall_auc": every["Overall"],
}
assert 0 < len(want["auc"]) < len(m) and 0 < len(want["change"]) < len(m), want
# the overall AUC meets the bound: unsliced it still fails on the hours
assert every["Overall"] >= auc_bound, (every["Overall"], auc_bound)
json.dump(want, open(T + "/want.json", "w"))
print("python3: %d hour slices; auc bound %.9g fails %d of them, accuracy gain bound %.9g fails %d"
      % (len(m), auc_bound, len(want["auc"]), gain_bound, len(want["change"])))
print("python3: unsliced, the auc bound fails %d of %d slices (%d of them one-class), overall auc %.6f"
      % (len(want["unsliced"]), len(every), sum(v is None for v in want["unsliced"].values()),
         every["Overall"]))
PY

# evaluate NAME CONFIG [ARGS...]: runs cfx evaluate into $T/NAME, exit in $rc
evaluate() {
    local name=$1 cfg=$2
    shift 2
    rc=0
    "$CFX" evaluate --model "$T/good/model" --examples "$T/ex" --config "$T/$cfg.cfg.json" \
        --output "$T/$name" "$@" >"$T/$name.out" 2>&1 || rc=$?
    cat "$T/$name.out"
}
# check_failures NAME KIND: the reason, validations.json and `cfx show` (of
# the output folder and of metrics.json alone) list
# exactly the failing slices python expects, with its values
check_failures() {
    "$CFX" show "$T/$1" >"$T/$1.show" || fail "cfx show $1"
    # the metrics file alone: the failures come from validations.json
    "$CFX" show "$T/$1/evaluation/metrics.json" >"$T/$1.show2" || fail "cfx show $1 metrics"
    $PY - "$T" "$1" "$2" <<'PY'
import json, re, sys
T, name, kind = sys.argv[1:]
want = json.load(open(T + "/want.json"))
reason = open("%s/%s/blessing/reason" % (T, name)).read().rstrip("\n").split("\n")
failures = json.load(open("%s/%s/evaluation/validations.json" % (T, name)))["failures"]
assert failures == reason, (failures, reason)
for show in ("show", "show2"):
    shown = [l[len("  FAILED: "):] for l in open("%s/%s.%s" % (T, name, show)).read().split("\n")
             if l.startswith("  FAILED: ")]
    assert shown == reason, (show, shown, reason)
# one line: whole failures, then how many more the reason holds
summary = open("%s/%s.out" % (T, name)).read().split("\n")[0]
listed = summary[len("NOT_BLESSED: "):].split("; ")
if len(listed) < len(reason):
    assert listed[-1] == "(%d more in the blessing reason)" % (len(reason) - len(listed) + 1), summary
    listed = listed[:-1]
assert summary.startswith("NOT_BLESSED: ") and listed == reason[:len(listed)], summary
got = {}
for line in reason:
    if kind == "unsliced":
        r = re.fullmatch(r"(Overall|trip_start_hour:\d+|trip_start_day_X_payment_type:\d+_X_[^:]+): "
                         r"auc (?:(\S+) < lower bound (\S+)|was not computed \(value threshold\))", line)
        assert r, line
        assert r.group(2) is None or float(r.group(3)) == float("%.6g" % want["auc_bound"]), line
        assert r.group(1) not in got, ("reported twice", line)
        got[r.group(1)] = None if r.group(2) is None else float(r.group(2))
    elif kind == "auc":
        r = re.fullmatch(r"(trip_start_hour:\d+): auc (\S+) < lower bound (\S+)", line)
        assert r and float(r.group(3)) == float("%.6g" % want["auc_bound"]), line
        got[r.group(1)] = float(r.group(2))
    else:
        r = re.fullmatch(r"(trip_start_hour:\d+): binary_accuracy change (\S+) \(candidate (\S+), "
                         r"baseline (\S+)\) < absolute (\S+) \(HIGHER_IS_BETTER\)", line)
        assert r and float(r.group(5)) == float("%.6g" % want["gain_bound"]), line
        got[r.group(1)] = [float(r.group(3)), float(r.group(4))]
        assert abs(float(r.group(2)) - (got[r.group(1)][0] - got[r.group(1)][1])) < 1e-5, line
exp = want[kind]
assert sorted(got) == sorted(exp), (sorted(got), sorted(exp))
worst = 0.0
for h, v in exp.items():
    if v is None:  # a one-class slice: cfx must not have computed it either
        assert got[h] is None, (h, got[h])
        continue
    assert got[h] is not None, (h, v)
    for a, b in zip(v if isinstance(v, list) else [v], got[h] if isinstance(v, list) else [got[h]]):
        worst = max(worst, abs(a - b) / max(abs(a), 1e-12))
        assert abs(a - b) <= 5e-6 * max(abs(a), 1e-12), (h, a, b)
print("%s: %d failing slices as python3 computes them (largest relative |diff| %.2g, printed with 6 digits)"
      % (name, len(got), worst))
PY
}

# --- 1. a bound every hour meets ----------------------------------------------
evaluate pass pass
[ "$rc" = 0 ] || fail "pass: exit $rc"
hours=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["hours"])' "$T/want.json")
# the unsliced accuracy bound on the overall slice and every hour
grep -qx "BLESSED: binary_accuracy >= lower bound 0.6 on every slice ($((hours + 1)) slices); auc >= lower bound .* on trip_start_hour ($hours slices)" \
    "$T/pass.out" || fail "pass summary"
[ -f "$T/pass/blessing/BLESSED" ] && [ ! -e "$T/pass/blessing/NOT_BLESSED" ] || fail "pass: blessing"
grep -q "\"thresholds_checked\": $((2 * hours + 1))," "$T/pass/evaluation/validations.json" ||
    fail "pass: $((2 * hours + 1)) bounds checked"
grep -q per_slice_thresholds "$T/pass/evaluation/eval_config.json" || fail "pass: applied config"

# --- 2. a bound some hours miss -----------------------------------------------
evaluate auc auc
[ "$rc" = 4 ] || fail "auc: exit $rc"
[ -f "$T/auc/blessing/NOT_BLESSED" ] && [ ! -e "$T/auc/blessing/BLESSED" ] || fail "auc: blessing"
[ "$(wc -l <"$T/auc.out")" = 2 ] || fail "auc: the summary is one line"
check_failures auc auc

# --- 3. a change threshold per slice ------------------------------------------
evaluate change change --baseline "$T/bad/model"
[ "$rc" = 4 ] || fail "change: exit $rc"
check_failures change change
# no baseline: change thresholds are dropped, none is left
evaluate change1 change
[ "$rc" = 0 ] || fail "change without baseline: exit $rc"
grep -q '^NO BLESSING' "$T/change1.out" || fail "change without baseline: summary"
ls "$T/change1/blessing" | grep -q BLESSED && fail "change without baseline: a verdict"
grep -q change_threshold "$T/change1/evaluation/eval_config.json" &&
    fail "change without baseline: change threshold kept"

# --- 4. an unsliced threshold gates every slice; the same on {} the overall --
evaluate unsliced unsliced
[ "$rc" = 4 ] || fail "unsliced: exit $rc"
check_failures unsliced unsliced
slices=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["slices"])' "$T/want.json")
grep -q "\"thresholds_checked\": $slices," "$T/unsliced/evaluation/validations.json" ||
    fail "unsliced: one bound checked on each of the $slices slices"
evaluate overall overall
[ "$rc" = 0 ] || fail "overall: exit $rc"
grep -qx "BLESSED: auc [0-9.]* >= lower bound [0-9.]* on Overall" "$T/overall.out" || fail "overall summary"
grep -q '"thresholds_checked": 1,' "$T/overall/evaluation/validations.json" ||
    fail "overall: one bound checked"
$PY - "$T/overall.out" "$T/want.json" <<'PY' || fail "overall: the value shown"
import json, sys
want = json.load(open(sys.argv[2]))
shown = float(open(sys.argv[1]).read().split()[2])
assert abs(shown - want["overall_auc"]) <= 5e-6 * want["overall_auc"], (shown, want["overall_auc"])
PY

# --- 5. a slicing spec no computed slice matches (TFMA: missing slice) ---------
evaluate missing missing
[ "$rc" = 4 ] || fail "missing: exit $rc"
grep -qx 'NOT_BLESSED: metrics_specs\[0\]\.per_slice_thresholds\.auc\.thresholds\[0\]\.slicing_specs\[0\]: no computed slice matches this slicing spec (trip_start_hour=99), so auc was not checked' \
    "$T/missing.out" || fail "missing: summary"

# --- 6. bad configs, refused with their path ----------------------------------
refuse() { # NAME JSON WANTED-MESSAGE
    echo "$2" >"$T/$1.cfg.json"
    evaluate "$1" "$1"
    [ "$rc" = 1 ] || fail "$1: exit $rc, want 1"
    grep -qF "$3" "$T/$1.out" || fail "$1: message"
    [ -e "$T/$1/blessing/BLESSED" ] || [ -e "$T/$1/blessing/NOT_BLESSED" ] && fail "$1: a verdict"
    true
}
H='"slicing_specs": [{}, {"feature_keys": ["trip_start_hour"]}]'
V='"threshold": {"value_threshold": {"lower_bound": 0.5}}'
refuse unknown "{$H, \"metrics_specs\": [{\"per_slice_thresholds\": {\"acu\": {\"thresholds\": [{\"slicing_specs\": [{}], $V}]}}}]}" \
    "metrics_specs[0].per_slice_thresholds.acu.thresholds[0]: no threshold can apply to metric 'acu'"
refuse uncomputed "{$H, \"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", \"per_slice_thresholds\": [{\"slicing_specs\": [{\"feature_keys\": [\"trip_start_day\"]}], $V}]}]}]}" \
    "metrics_specs[0].metrics[0].per_slice_thresholds[0].slicing_specs[0]: matches no slice of the configured slicing_specs"
refuse malformed "{$H, \"metrics_specs\": [{\"per_slice_thresholds\": {\"auc\": {\"thresholds\": [{\"slicing_specs\": [{}], \"threshold\": {\"value_threshold\": {\"lower_bound\": \"high\"}}}]}}}]}" \
    "metrics_specs[0].per_slice_thresholds.auc.thresholds[0].threshold.value_threshold.lower_bound: expected a number"
refuse typo "{$H, \"metrics_specs\": [{\"metrics\": [{\"class_name\": \"AUC\", \"per_slice_thresholds\": [{\"slicing_spec\": [{}], $V}]}]}]}" \
    "metrics_specs[0].metrics[0].per_slice_thresholds[0]: unknown member 'slicing_spec'"
# --- a slice named by two specs holds each example once --------------------------
# feature_keys [payment_type] and feature_values {payment_type: Cash} both
# make payment_type:Cash; its count must be the number of Cash rows, not twice.
cat >"$T/dup.cfg.json" <<'JSON'
{"model_specs": [{"label_key": "tips_xf"}],
 "slicing_specs": [{"feature_keys": ["payment_type"]}, {"feature_values": {"payment_type": "Cash"}}],
 "metrics_specs": [{"metrics": [{"class_name": "ExampleCount"}]}]}
JSON
evaluate dup dup >/dev/null
[ "$rc" = 0 ] || fail "dup slices: exit $rc: $(cat "$T/dup.out")"
$PY - "$T" <<'PY' || fail "a slice from two specs counts an example twice"
import glob, json, os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from tfrecord_reader import example_values as example, records
T = sys.argv[1]
exs = [example(r) for p in sorted(glob.glob(T + "/ex/Split-eval/*")) for r in records(p)]
cash = sum(1 for e in exs if (e.get("payment_type") or [b""])[0] in (b"Cash", "Cash"))
m = {s["slice"]: s["metrics"] for s in json.load(open(T + "/dup/evaluation/metrics.json"))["slices"]}
got = m["payment_type:Cash"]["example_count"]
assert cash > 0 and got == cash, (got, cash)
print("payment_type:Cash from two specs: %d examples, python3 counts %d" % (got, cash))
PY
echo "eval_slices: ok"
