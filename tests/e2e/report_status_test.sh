#!/usr/bin/env bash
# report_status_test.sh: the status page of cfx-serve (GET /) and its JSON
# twin (GET /v1/status), looked at in headless Chromium: a served taxi
# model (version 1) and a corrupt version 2 that fails to load, requests
# over two APIs. The page must load with no console error and no request
# but itself, show the versions with their states and the load error that
# GetModelStatus answers, the request counts the test sent (REST, and gRPC
# with the token as call metadata) and agree with
# the Prometheus metrics; the recent rate of the predict calls times its
# window is the 25 calls sent within it (the shift of the window past old
# requests is tests/unit/serve/status_page_test.c's, on a clock it moves);
# with an inference token it answers 401 to a
# request without the token and never shows the token or a file path that
# GetModelStatus does not. Screenshots go to $OUT.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
OUT=${CFX_E2E_OUT:-${CFX_BUILD_DIR:-$PWD}/e2e-out}/report_status
rm -rf "$OUT" && mkdir -p "$OUT"
export E2E_DIR=$CFX_SOURCE_DIR/tests/e2e

taxi_model 200 50 7
ROW=$(sed -n 1p "$T/models/taxi/1/assets.extra/warmup.jsonl")
printf 'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }\n' >"$T/monitoring.txt"
TOKEN=status-page-secret-$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"

serve_start "$T/serve.log" --num_threads=2 \
    --model_name=taxi --model_base_path="$T/models/taxi" \
    --monitoring_config_file="$T/monitoring.txt" --inference_token_file="$T/token" \
    --file_system_poll_wait_seconds=1
on_exit() { kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null; }
serve_ports "$T/serve.log" "$SPID"
U="http://127.0.0.1:$RPORT"
AUTH="Authorization: Bearer $TOKEN"

code=$(curl -s -o /dev/null -w '%{http_code}' "$U/")
[ "$code" = 401 ] || fail "status page without the token: HTTP $code, want 401"

# a corrupt version 2: its weights no longer match the manifest
cp -r "$T/train/model" "$T/v2"
printf 'x' >>"$T/v2/variables/model.safetensors"
mv "$T/v2" "$T/models/taxi/2"
for _ in $(seq 1 200); do
    curl -s -H "$AUTH" "$U/v1/models/taxi" >"$T/st.json"
    grep -q '"END"' "$T/st.json" && break
    sleep 0.05
done
grep -q '"END"' "$T/st.json" || fail "version 2 never failed: $(cat "$T/st.json")"

T_FIRST=$(date +%s.%N) # before the first of the 25 predict calls
for i in $(seq 1 25); do
    curl -sf -o /dev/null -H "$AUTH" -X POST "$U/v1/models/taxi:predict" \
        -d "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}"
done
for i in $(seq 1 7); do
    curl -sf -o /dev/null -H "$AUTH" -X POST "$U/v1/models/taxi:classify" -d "{\"examples\": [$ROW]}"
done
curl -s -o /dev/null -H "$AUTH" -X POST "$U/v1/models/taxi:predict" -d '{"instances": "nope"}'
# 4 gRPC Classify calls of the same row, with the token (API "Classify",
# entrypoint "GRPC", as TF Serving labels them)
CFX_INFERENCE_TOKEN=$TOKEN $PY - "$GPORT" "$ROW" <<'EOF2' || fail "gRPC Classify with the token"
import json, os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
from grpc_client import PS, Client, example_from_row, example_list_input, ld, model_spec
port, row = int(sys.argv[1]), json.loads(sys.argv[2])
req = ld(1, model_spec("taxi", signature="classify")) + ld(2, example_list_input([example_from_row(row)]))
c = Client(port)
for _ in range(4):
    code, det, _ = c.call(PS + "Classify", req)
    assert code == 0, (code, det)
EOF2
curl -s -H "$AUTH" "$U/monitoring/prometheus/metrics" >"$T/prom.txt"
curl -sf -H "$AUTH" "$U/v1/status" >"$OUT/status.json"
curl -sf -H "$AUTH" "$U/" >"$OUT/status.html"
T_LAST=$(date +%s.%N) # after the page was fetched (the browser's comes later)

$PY - "$U" "$TOKEN" "$T" "$OUT" "$T_FIRST" "$T_LAST" <<'EOF2' || fail "status page checks"
import json, os, re, sys, time
sys.path.insert(0, os.environ["E2E_DIR"])
from browser import Browser
u, token, t, out = sys.argv[1:5]
t_first, t_last = float(sys.argv[5]), float(sys.argv[6])
status = json.load(open(t + "/st.json"))  # GetModelStatus, REST
twin = json.load(open(out + "/status.json"))
prom = open(t + "/prom.txt").read()

def prom_value(name, **labels):
    want = ",".join('%s="%s"' % kv for kv in labels.items())
    for line in prom.splitlines():
        if line.startswith(name + "{") and line[len(name) + 1:].split("}")[0] == want:
            return float(line.rsplit(" ", 1)[1])
    return 0.0

with Browser() as b:
    # the token travels as a header, as an operator's proxy would add it
    page = b.open(u + "/", headers={"Authorization": "Bearer " + token})
    page.check_clean()
    text = page.eval("document.body.innerText")
    html = page.eval("document.documentElement.outerHTML")
    assert token not in html, "token shown"
    # versions: states and the load error, as GetModelStatus has them
    rows = page.eval("Array.from(document.querySelectorAll('#models tr[data-model]')).map(r => Array.from(r.cells).map(c => c.textContent))")
    got = {int(r[1]): (r[2], r[6]) for r in rows}
    want = {int(v["version"]): (v["state"], v["status"].get("error_message", ""))
            for v in status["model_version_status"]}
    assert got == want, (got, want)
    assert got[1][0] == "AVAILABLE" and got[2][0] == "END" and got[2][1], got
    # no file path but the ones GetModelStatus answers
    stripped = html
    for _, msg in want.values():
        stripped = stripped.replace(msg.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;"), "")
    assert t not in stripped, "a file path beyond GetModelStatus's shown"
    # requests per API: the counts sent, and Prometheus's
    req = page.eval("Array.from(document.querySelectorAll('#requests tr')).slice(1).map(r => Array.from(r.cells).map(c => c.textContent))")
    by = {(r[0], r[1], r[2]): r for r in req}
    assert int(by[("taxi", "predict", "REST")][3]) == 25, by
    assert int(by[("taxi", "classify", "REST")][3]) == 7, by
    assert int(by[("taxi", "Classify", "GRPC")][3]) == 4, by
    def hist_quantile(q, model, api, entry):
        """Prometheus's histogram_quantile over the cumulative buckets."""
        b = []
        for line in prom.splitlines():
            m = re.match(r':tensorflow:serving:request_latency_bucket\{model_name="(.*?)",API="(.*?)",'
                         r'entrypoint="(.*?)",le="(.*?)"\} (\S+)', line)
            if m and m.group(1) == model and m.group(2) == api and m.group(3) == entry:
                b.append((float("inf") if m.group(4) == "+Inf" else float(m.group(4)), float(m.group(5))))
        total = b[-1][1]
        rank, lo, below = q * total, 0.0, 0.0
        for le, cum in b:
            if cum >= rank:
                return lo if le == float("inf") else lo + (le - lo) * (rank - below) / (cum - below)
            lo, below = le, cum
    for r in req:
        p50, p90, p99 = (float(x) for x in r[7:10])
        assert 0 < p50 <= p90 <= p99, r
        assert float(r[4]) > 0 and float(r[5]) > 0, r
        if r[1] in ("predict", "classify", "Classify"):
            for q, shown in ((0.5, p50), (0.9, p90), (0.99, p99)):
                expect = hist_quantile(q, "taxi", r[1], r[2]) / 1000  # µs -> ms
                assert abs(shown - expect) <= 0.0005 + 1e-3 * expect, (r[1], q, shown, expect)
    outcomes = page.eval("Array.from(document.querySelectorAll('#outcomes tr')).slice(1).map(r => Array.from(r.cells).map(c => c.textContent))")
    oc = {(r[0], r[1]): int(r[2]) for r in outcomes}
    ok = prom_value(":tensorflow:serving:request_count", model_name="taxi", status="OK")
    assert oc[("taxi", "OK")] == ok, (oc, ok)
    # every successful request in the table: 25 + 7 + 4 + the status polls
    assert sum(int(r[3]) for r in req if r[0] == "taxi") == ok, (req, ok)
    assert oc[("taxi", "INVALID_ARGUMENT")] == 1, oc
    # the JSON twin says the same
    jr = {(r["model"], r["api"], r["entrypoint"]): r for r in twin["requests"]}
    assert jr[("taxi", "predict", "REST")]["count"] == 25
    assert jr[("taxi", "Classify", "GRPC")]["count"] == 4
    assert twin["build"]["version"] and twin["uptime_seconds"] > 0 and twin["ready"] is True
    # the recent rate: the 25 predict calls all fall in the window (the
    # current second and the 60 before it) when they were sent less than
    # 59 s before the page was read; rate x window gives them back, to the
    # 6 significant digits the document prints (HTML: 3, and the window's
    # 0.1 s)
    assert time.time() - t_first < 59, "the test took too long to check the window"
    up, win = twin["uptime_seconds"], twin["rate_window_seconds"]
    pr = jr[("taxi", "predict", "REST")]
    # the uptime while under a minute (counted from the metrics' start, a
    # little after the process's), else 60 to 61 s
    assert min(up, 60) - 2 < win <= min(up + 0.05, 61), (win, up)
    n = pr["rate_per_second_1m"] * win
    assert abs(n - 25) <= 25e-5, (n, pr, win)
    assert abs(pr["rate_per_second"] * up - 25) <= 0.5, (pr, up)
    th = page.eval("document.getElementById('rate-window').textContent")
    m = re.fullmatch(r"per second, last ([0-9.]+) s( \(since start\))?", th)
    assert m and (float(m.group(1)) == 60) != bool(m.group(2)), th
    html_n = float(by[("taxi", "predict", "REST")][4]) * float(m.group(1))
    assert abs(html_n - 25) <= 25 * 0.005 + 0.05 * float(by[("taxi", "predict", "REST")][4]), (th, by)
    print("recent rate: window %.2f s, predict %.4g/s (x window = %.4f calls); "
          "%.1f s from the first call to the page" % (win, pr["rate_per_second_1m"], n, t_last - t_first))
    jv = {v["version"]: v for v in twin["models"][0]["versions"]}
    assert jv[2]["state"] == "END" and jv[2]["error_message"] == want[2][1]
    assert jv[1]["load_ms"] > 0 and jv[1]["load_attempts_ok"] == 1, jv[1]
    assert token not in json.dumps(twin)
    refresh = page.eval("document.querySelector('meta[http-equiv=refresh]').content")
    assert refresh == "5", refresh
    page.screenshot(out + "/status.png")
    print("status page: versions", got, "requests", {k[1]: v[3] for k, v in by.items()})
EOF2
echo "PASS"
