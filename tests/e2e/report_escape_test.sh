#!/usr/bin/env bash
# report_escape_test.sh: data that is HTML stays text in `cfx report`. A
# CSV whose column name and values are markup (a script, an image with an
# onerror handler, an SVG with onload, a quote and an ampersand) goes
# through examplegen, statistics, schema and validate (recorded under a
# pipeline root); new values in a second CSV make anomalies. The root's
# report, opened in headless Chromium, must run no script but its own, make
# no request, show every string as the text it is, and highlight the
# features with anomalies.
set -euo pipefail
CFX=${CFX:?path to cfx}
SRC=${CFX_SOURCE_DIR:?}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT=${CFX_E2E_OUT:-${CFX_BUILD_DIR:-$PWD}/e2e-out}/report_escape
rm -rf "$OUT" && mkdir -p "$OUT"
export E2E_DIR=$SRC/tests/e2e

{
    echo 'kind,<b>x</b>,size'
    # frequent enough, and in rows that differ (the split hashes rows), to
    # be top values of each split
    for i in $(seq 1 12); do
        echo '"<script>alert(1)</script>",'"$i"',3.5'
        echo '"<img src=x onerror=alert(2)>",'"$i"',4'
        echo '"a""quoted&amp;'"'"'",'"$i"',6'
    done
    for i in $(seq 1 40); do echo "plain,$i,$i.5"; done
} > "$T/a.csv"
{
    echo 'kind,<b>x</b>,size'
    echo 'newvalue</td><td>,1,'
    echo '"<svg onload=alert(3)>",2,'
} > "$T/b.csv"
R=$T/root
"$CFX" examplegen --input "$T/a.csv" --output "$T/exa" >/dev/null
"$CFX" statistics --examples "$T/exa" --output "$T/sta" >/dev/null
"$CFX" schema --statistics "$T/sta" --output "$T/sch" >/dev/null
"$CFX" examplegen --input "$T/b.csv" --output "$T/exb" >/dev/null
"$CFX" statistics --examples "$T/exb" --pipeline-root "$R" >/dev/null
set +e
"$CFX" validate --statistics "$(ls -d "$R"/StatisticsGen/statistics/*)" \
    --schema "$T/sch/schema.pbtxt" --pipeline-root "$R" >/dev/null
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "validate: exit $rc, want 3 (anomalies)"

"$CFX" report "$R" --output "$OUT/root.html" >/dev/null
"$CFX" report "$T/sta" --output "$OUT/statistics.html" >/dev/null
"$CFX" report "$T/sch" --output "$OUT/schema.html" >/dev/null
for f in "$OUT"/*.html; do
    for bad in '<script>alert' '<img' '<svg onload' '<b>x</b>' '</td><td>,'; do
        if grep -qF -- "$bad" "$f"; then fail "$(basename "$f") holds raw $bad"; fi
    done
done

$PY - "$OUT" <<'EOF2' || fail "browser checks"
import json, os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from browser import Browser, BrowserError
out = sys.argv[1]
with Browser() as b:
    # the checks can fail: a page with a request and a console error does
    bad = out + "/bad.html"
    open(bad, "w").write('<!DOCTYPE html><meta charset="utf-8"><link rel="icon" href="data:,">'
                         '<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>')
    try:
        b.open("file://" + bad).check_clean()
        raise SystemExit("browser.py let a network request and a console error pass")
    except BrowserError as e:
        assert "network request" in str(e) and "console.error: boom" in str(e), e
    os.unlink(bad)
    for name in ("root", "statistics", "schema"):
        p = b.open("file://" + out + "/" + name + ".html")
        p.check_clean()
        # nothing but the page's own script and markup
        assert p.eval("document.scripts.length") == 1
        assert p.eval("document.querySelectorAll('img,[onerror],[onload],[onclick]').length") == 0
        assert p.eval("Array.from(document.querySelectorAll('b')).filter(e => e.textContent === 'x').length") == 0
        if name == "schema":
            names = p.eval("Array.from(document.querySelectorAll('#schema-table tbody tr')).map(r => r.getAttribute('data-name'))")
            assert sorted(names) == sorted(["kind", "<b>x</b>", "size"]), names
            text = p.eval("document.querySelector('#schema').textContent")
            for s in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "a\"quoted&amp;'"):
                assert s in text, (s, text[:500])
            continue
        feats = p.eval("Array.from(document.querySelectorAll('#stats-table tbody tr')).map(r => r.getAttribute('data-name'))")
        assert sorted(feats) == sorted(["kind", "<b>x</b>", "size"]), feats
        text = p.eval("document.querySelector('#stats-table').textContent")
        if name == "statistics":
            for s in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "a\"quoted&amp;'"):
                assert s in text, (s, text[:500])
        else:
            for s in ("newvalue</td><td>", "<svg onload=alert(3)>"):
                assert s in text, (s, text[:500])
            marked = p.eval("Array.from(document.querySelectorAll('#stats-table tr.anomaly')).map(r => r.getAttribute('data-name'))")
            assert sorted(marked) == ["kind", "size"], marked
            reasons = p.eval("Array.from(document.querySelectorAll('#anomalies table.anomalies tbody tr')).map(r => [r.cells[0].textContent, r.cells[1].textContent, r.cells[3].textContent])")
            assert [r[:2] for r in sorted(reasons)] == [["kind", "eval"], ["size", "eval"]], reasons
            assert "UNEXPECTED_STRING_VALUES" in sorted(reasons)[0][2], reasons
            assert sorted(reasons)[1][2].isupper(), reasons
            desc = p.eval("document.querySelector('#anomalies').textContent")
            assert "<svg onload=alert(3)>" in desc, desc
            p.screenshot(out + "/anomalies.png", selector="#anomalies")
            p.screenshot(out + "/statistics_anomalies.png", selector="#statistics")
        print(name, "ok:", feats)
EOF2
echo "PASS"
