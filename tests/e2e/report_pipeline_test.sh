#!/usr/bin/env bash
# report_pipeline_test.sh: `cfx report` looked at as a person would, in
# headless Chromium (tests/e2e/browser.py): the report `cfx run` writes
# for a taxi pipeline, the same root reported with `cfx report`, a run
# stopped by an impossible threshold (the not-blessed reason visible), and
# each single-artifact report. Each page must load without a console
# error, a CSP violation or any network request; the numbers shown are
# checked against the artifacts (read here with Python, independently of
# cfx's readers) and the CSV; screenshots go to $OUT.
set -euo pipefail
CFX=${CFX:?path to cfx}
SRC=${CFX_SOURCE_DIR:?}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT=${CFX_E2E_OUT:-${CFX_BUILD_DIR:-$PWD}/e2e-out}/report_pipeline
rm -rf "$OUT" && mkdir -p "$OUT"
export E2E_DIR=$SRC/tests/e2e

cp "$SRC/examples/taxi/data.csv" "$SRC/examples/taxi/transform.json" "$SRC/examples/taxi/eval.json" "$T/"
$PY - "$SRC/examples/taxi" "$T" <<'EOF2'
import json, sys
src, t = sys.argv[1:]
p = json.load(open(src + "/pipeline.json"))
p.update(pipeline_root="root", serving_dir="serving")
p["components"]["InfraValidator"] = {"num_requests": 20}
json.dump(p, open(t + "/p.json", "w"))
tr = json.load(open(src + "/trainer.json"))
tr.update(train_steps=1000, eval_every_steps=500, log_every_steps=50)
json.dump(tr, open(t + "/trainer.json", "w"))
# the same pipeline, its AUC bound on the overall slice out of reach
e = json.load(open(src + "/eval.json"))
for m in e["metrics_specs"][0]["metrics"]:
    if m["class_name"] == "AUC":
        m["per_slice_thresholds"][0]["threshold"]["value_threshold"]["lower_bound"] = 0.9999
json.dump(e, open(t + "/eval_impossible.json", "w"))
p["components"]["Evaluator"] = {"config": "eval_impossible.json"}
json.dump(p, open(t + "/p_impossible.json", "w"))
EOF2

echo "== cfx run writes the run's report and prints its path"
"$CFX" run "$T/p.json" > "$T/run1.txt" || { cat "$T/run1.txt"; fail "first run"; }
grep -q "^report: $T/root/report.html$" "$T/run1.txt" || { cat "$T/run1.txt"; fail "cfx run did not print the report's path"; }
[ -s "$T/root/report.html" ] || fail "no report.html beside the run's outputs"
RUN1=$(sed -n 's/^pipeline taxi, run //p' "$T/run1.txt")
cp "$T/root/report.html" "$OUT/run_report.html"

echo "== cfx report ROOT"
"$CFX" report "$T/root" --output "$OUT/pipeline.html" | tee "$T/report.txt"
grep -q "report of pipeline root" "$T/report.txt" || fail "kind not named"
"$CFX" report --config "$T/p.json" --run "$RUN1" --output "$OUT/run1.html" >/dev/null

echo "== a run stopped by a threshold no model can meet"
set +e
"$CFX" run "$T/p_impossible.json" > "$T/run2.txt"
rc=$?
set -e
cat "$T/run2.txt"
[ "$rc" -ne 0 ] || fail "the impossible threshold did not stop the run"
grep -q "^report: $T/root/report.html$" "$T/run2.txt" || fail "a stopped run wrote no report"
cp "$T/root/report.html" "$OUT/stopped_run.html"

echo "== single artifacts"
STATS=$(ls -d "$T"/root/StatisticsGen/statistics/* | head -1)
"$CFX" report "$STATS" --output "$OUT/statistics.html" | grep -q "report of statistics"
"$CFX" report "$(ls -d "$T"/root/SchemaGen/schema/* | head -1)" --output "$OUT/schema.html" | grep -q "report of schema"
"$CFX" report "$(ls -d "$T"/root/ExampleValidator/anomalies/* | head -1)" --output "$OUT/anomalies.html" | grep -q "report of anomalies"
"$CFX" report "$(ls -d "$T"/root/Trainer/model_run/* | head -1)" --output "$OUT/training.html" | grep -q "report of training"
EVAL_OK=$(ls -d "$T"/root/Evaluator/evaluation/* | head -1)
"$CFX" report "$EVAL_OK" --output "$OUT/evaluation.html" | grep -q "report of evaluation"
MODEL=$(ls -d "$T"/root/Trainer/model/* | head -1)
set +e
"$CFX" evaluate --model "$MODEL" --examples "$(ls -d "$T"/root/ExampleGen/examples/* | head -1)" \
    --config "$T/eval_impossible.json" --output "$T/eval_nb" > "$T/evaluate.txt"
rc=$?
set -e
[ "$rc" -eq 4 ] || fail "cfx evaluate with an impossible threshold: exit $rc, want 4"
"$CFX" report "$T/eval_nb" --output "$OUT/not_blessed.html" | grep -q "report of evaluation"
# a baseline: a short second training of the same pipeline's data
echo '{"model_name": "taxi", "train_steps": 200, "eval_steps": 50, "seed": 3}' > "$T/short.json"
"$CFX" train --examples "$(ls -d "$T"/root/Transform/transformed_examples/* | head -1)" \
    --transform-graph "$(ls -d "$T"/root/Transform/transform_graph/* | head -1)" \
    --raw-examples "$(ls -d "$T"/root/ExampleGen/examples/* | head -1)" \
    --config "$T/short.json" --output "$T/short" --quiet >/dev/null
"$CFX" evaluate --model "$MODEL" --baseline "$T/short/model" \
    --examples "$(ls -d "$T"/root/ExampleGen/examples/* | head -1)" \
    --config "$T/eval.json" --output "$T/eval_base" >/dev/null || fail "evaluate with a baseline"
"$CFX" report "$T/eval_base" --output "$OUT/baseline.html" | grep -q "report of evaluation"
if "$CFX" report "$T" --output "$T/x.html" 2> "$T/err.txt"; then fail "a folder that is no artifact was reported"; fi
grep -q "not a pipeline root or an artifact" "$T/err.txt" || fail "unclear error: $(cat "$T/err.txt")"

echo "== in the browser"
$PY - "$T" "$OUT" "$RUN1" "$EVAL_OK" <<'EOF2' || fail "browser checks"
import csv, glob, json, math, os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from browser import Browser
from tfrecord_reader import fields

t, out, run1, eval_ok = sys.argv[1:]
columns = next(csv.reader(open(t + "/data.csv")))

def stats_features(path):
    """Feature names of each dataset of a FeatureStats.pb
    (DatasetFeatureStatisticsList: datasets = 1; a dataset's features = 3,
    a feature's name = 1 or path = 8 with steps = 1)."""
    names = []
    for f, _, ds in fields(open(path, "rb").read()):
        if f != 1:
            continue
        for g, _, feat in fields(ds):
            if g != 3:
                continue
            for h, _, v in fields(feat):
                if h == 1:
                    names.append(v.decode())
                elif h == 8:
                    names.append(".".join(s.decode() for k, _, s in fields(v) if k == 1))
        break
    return names

def page_text(p, sel):
    return p.eval("(document.querySelector(%s)||{}).textContent||''" % json.dumps(sel))

def check_statistics(p, stats_dir):
    rows = p.eval("""Array.from(document.querySelectorAll('#stats-table tbody tr'))
        .map(r => ({name: r.getAttribute('data-name'),
                    hist: r.querySelectorAll('td.histogram svg rect').length,
                    bars: r.querySelectorAll('td.topvalues .bar').length,
                    count: r.cells[2].textContent}))""")
    names = [r["name"] for r in rows]
    want = stats_features(stats_dir + "/Split-train/FeatureStats.pb")
    assert len(rows) == len(want) == len(columns), (len(rows), len(want), len(columns))
    assert sorted(names) == sorted(columns), (names, columns)
    for r in rows:
        assert r["hist"] > 0 or r["bars"] > 0, "no chart for %s" % r["name"]
    # every example of each split counted: the trip_seconds row shows the
    # split sizes the examples hold (TFRecord files read here)
    from tfrecord_reader import records
    n = {s: sum(1 for f in glob.glob(t + "/root/ExampleGen/examples/*/Split-%s/*" % s)
                for _ in records(f)) for s in ("train", "eval")}
    fare = [r for r in rows if r["name"] == "fare"][0]
    assert fare["count"] == "%d%d" % (n["train"], n["eval"]), (fare["count"], n)
    print("statistics: %d features, each with a chart; counts %s" % (len(rows), n))

def check_evaluation(p, eval_dir, blessed):
    m = json.load(open(eval_dir + "/metrics.json"))
    shown = p.eval("""Array.from(document.querySelectorAll('#slices-table tbody tr'))
        .map(r => [r.getAttribute('data-slice'),
                   r.querySelector('td.m-auc').textContent,
                   r.querySelector('td.m-binary_accuracy').textContent,
                   r.querySelector('td.m-example_count').textContent])""")
    assert len(shown) == len(m["slices"]), (len(shown), len(m["slices"]))
    worst = 0
    for (name, auc, acc, cnt), s in zip(shown, m["slices"]):
        assert name == s["slice"], (name, s["slice"])
        want = s["metrics"]["auc"]
        if want is None:
            assert auc.strip() == "-", (name, auc)
        else:
            worst = max(worst, abs(float(auc) - want))
            assert abs(float(auc) - want) <= 5e-7, (name, auc, want)
        assert abs(float(acc) - s["metrics"]["binary_accuracy"]) <= 5e-7, (name, acc)
        assert int(cnt) == int(s["metrics"]["example_count"]), (name, cnt)
    overall = [x for x in shown if x[0] == "Overall"][0]
    print("evaluation: %d slices; overall AUC shown %s, artifact %.10f; largest difference %.2g (6 decimals shown)"
          % (len(shown), overall[1], m["slices"][0]["metrics"]["auc"], worst))
    # the confusion matrix at 0.5 against the artifact's own at 0.5
    cm = [c for c in m["slices"][0]["metrics"]["confusion_matrix_at_thresholds"] if c["threshold"] == 0.5][0]
    cells = p.eval("Array.from(document.querySelectorAll('#confusion td')).map(td => parseInt(td.textContent))")
    assert cells == [cm["true_positives"], cm["false_negatives"], cm["false_positives"], cm["true_negatives"]], (cells, cm)
    # the ROC drawn is the curve of plots.json, whose area is the AUC
    pl = json.load(open(eval_dir + "/plots.json"))["plots"]
    roc = pl["roc"]
    area = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(roc, roc[1:]))
    assert abs(area - m["slices"][0]["metrics"]["auc"]) < 2e-3, (area, m["slices"][0]["metrics"]["auc"])
    assert roc[0][:2] == [0, 0] and roc[-1][:2] == [1, 1], (roc[0], roc[-1])
    for sel in ("#roc svg path.line", "#pr svg path.line", "#calibration svg circle"):
        assert p.eval("document.querySelectorAll(%s).length" % json.dumps(sel)) > 0, sel
    banner = page_text(p, "#blessing")
    cls = p.eval("document.querySelector('#blessing').className")
    if blessed:
        assert "not-blessed" not in cls and "BLESSED" in banner, banner
    else:
        assert "not-blessed" in cls and "NOT BLESSED" in banner, banner
        assert "auc" in banner and "< lower bound 0.9999" in banner, banner
        fails = p.eval("Array.from(document.querySelectorAll('#thresholds tbody tr')).filter(r => r.textContent.indexOf('FAIL') >= 0).map(r => r.cells[0].textContent + ' ' + r.cells[1].textContent)")
        assert fails == ["auc Overall"], fails
    print("evaluation: ROC area %.6f vs AUC %.6f; blessing banner: %s" % (area, m["slices"][0]["metrics"]["auc"], banner[:90]))

def check_run(p, n_nodes, states):
    nodes = p.eval("Array.from(document.querySelectorAll('#graph g.node')).map(g => [g.getAttribute('data-component'), g.getAttribute('class')])")
    assert len(nodes) == n_nodes, nodes
    for comp, cls in nodes:
        assert cls.split()[1] in states, (comp, cls)
    edges = p.eval("document.querySelectorAll('#graph path.edge').length")
    assert edges >= n_nodes - 1, edges
    print("run: %d components, %d edges" % (len(nodes), edges))

stats_dir = glob.glob(t + "/root/StatisticsGen/statistics/*")[0]
with Browser() as b:
    def open_(name):
        p = b.open("file://" + out + "/" + name + ".html")
        p.check_clean()
        return p

    p = open_("pipeline")
    check_statistics(p, stats_dir)
    check_evaluation(p, eval_ok, blessed=True)
    check_run(p, 9, {"COMPLETE"})
    assert "PushedModel" in page_text(p, "#lineage"), "no lineage of the pushed version"
    curves = p.eval("Array.from(document.querySelectorAll('#training .curve')).map(c => c.getAttribute('data-tag'))")
    assert "loss" in curves and "auc" in curves, curves
    for sec in ("run", "statistics", "schema", "anomalies", "training", "evaluation"):
        p.screenshot(out + "/pipeline_%s.png" % sec, selector="#" + sec, max_height=900)
    p.screenshot(out + "/pipeline_full.png")

    p = open_("run1")  # the first run: blessed, 9 components
    check_evaluation(p, eval_ok, blessed=True)
    check_run(p, 9, {"COMPLETE"})

    p = open_("run_report")  # what cfx run wrote then: the same run
    check_run(p, 9, {"COMPLETE"})

    p = open_("stopped_run")  # stopped at the Evaluator: 7 components
    check_run(p, 7, {"COMPLETE", "CACHED"})
    latest = sorted(glob.glob(t + "/root/Evaluator/evaluation/*"),
                    key=lambda d: int(d.rsplit("/", 1)[1]))[-1]
    check_evaluation(p, latest, blessed=False)
    verdict = page_text(p, "#verdict-evaluator")  # at the top of the page
    assert "NOT_BLESSED" in verdict and "< lower bound 0.9999" in verdict, verdict
    p.screenshot(out + "/stopped_run.png")
    p.screenshot(out + "/stopped_run_evaluation.png", selector="#evaluation", max_height=900)

    p = open_("statistics")
    check_statistics(p, stats_dir)
    # filtering and sorting, as a person clicks
    p.eval("var f=document.querySelector('input.filter'); f.value='trip'; f.dispatchEvent(new Event('input'))")
    vis = p.eval("Array.from(document.querySelectorAll('#stats-table tbody tr')).filter(r => r.style.display !== 'none').map(r => r.getAttribute('data-name'))")
    assert sorted(vis) == sorted(c for c in columns if "trip" in c), vis
    p.eval("var f=document.querySelector('input.filter'); f.value=''; f.dispatchEvent(new Event('input'))")
    p.eval("document.querySelectorAll('#stats-table th')[6].click()")  # mean
    means = p.eval("Array.from(document.querySelectorAll('#stats-table tbody tr')).map(r => r.cells[6].getAttribute('data-v'))")
    nums = [float(v) for v in means if v]
    assert nums == sorted(nums), nums
    p.screenshot(out + "/statistics.png", max_height=1600)

    for name in ("schema", "anomalies", "training", "evaluation", "not_blessed"):
        p = open_(name)
        p.screenshot(out + "/%s.png" % name, max_height=1600)
    p = open_("not_blessed")
    check_evaluation(p, t + "/eval_nb/evaluation", blessed=False)
    p = open_("schema")
    assert p.eval("document.querySelectorAll('#schema-table tbody tr').length") == len(columns)

    # the baseline beside the candidate: its curves and its metrics
    p = open_("baseline")
    check_evaluation(p, t + "/eval_base/evaluation", blessed=True)
    m = json.load(open(t + "/eval_base/evaluation/metrics.json"))
    assert m["baseline"], m["baseline"]
    assert p.eval("document.querySelectorAll('#roc svg path.line').length") == 2
    base = p.eval("Array.from(document.querySelectorAll('#slices-table tbody tr')).map(r => parseFloat(r.querySelector('td.b-auc').getAttribute('data-v')))")  # NaN arrives as None
    for shown, s in zip(base, m["slices"]):
        want = s["baseline_metrics"]["auc"]
        assert (want is None and shown is None) or abs(shown - want) < 1e-12, (shown, want)
    change = p.eval("document.querySelector('#thresholds').textContent")
    assert "HIGHER_IS_BETTER" in change, change
    p.screenshot(out + "/baseline.png", selector="#evaluation", max_height=900)
print("screenshots:", sorted(os.path.basename(f) for f in glob.glob(out + "/*.png")))
EOF2
echo "PASS"
