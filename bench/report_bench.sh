#!/usr/bin/env bash
# report_bench.sh: the cost of `cfx report` and of cfx-serve's status page,
# each against a reference measured in the same run.
#   - `cfx report ROOT` of a taxi pipeline root, against `cfx show` of the
#     same statistics and evaluation (the text rendering of the same
#     artifacts); N runs each, medians.
#   - GET / and GET /v1/status against GET /v1/models/taxi (GetModelStatus),
#     2,000 sequential requests each on one keep-alive connection.
#   bench/report_bench.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CFX=$BUILD/cfx
[ -x "$CFX" ] || { echo "build first: cmake --build $BUILD" >&2; exit 1; }
N=${N:-5}
T=$(mktemp -d)
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"' EXIT
cp examples/taxi/*.json examples/taxi/data.csv "$T/"
sed -i -e 's#"pipeline_root": *"[^"]*"#"pipeline_root": "root"#' \
       -e 's#"serving_dir": *"[^"]*"#"serving_dir": "serving"#' "$T/pipeline.json"
"$CFX" run "$T/pipeline.json" >"$T/run.log" 2>&1 || { cat "$T/run.log"; exit 1; }
STATS=$(ls -d "$T"/root/StatisticsGen/statistics/* | head -1)
EVAL=$(ls -d "$T"/root/Evaluator/evaluation/* | head -1)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$CFX" "$T" "$STATS" "$EVAL" "$N" <<'PY'
import statistics, subprocess, sys, time
cfx, t, stats, ev, n = sys.argv[1:]
def run(args):
    a = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - a
rep, ref = [], []
for _ in range(int(n)):
    rep.append(run([cfx, "report", t + "/root", "--output", t + "/r.html"]))
    ref.append(run([cfx, "show", stats]) + run([cfx, "show", ev]))
r, s = statistics.median(rep), statistics.median(ref)
print("cfx report ROOT      %.3f s (median of %s)" % (r, n))
print("cfx show stats+eval  %.3f s (reference)" % s)
print("ratio                %.2f" % (r / s))
PY
"$BUILD/cfx-serve" --port=0 --rest_api_port=auto \
    --model_name=taxi --model_base_path="$T/serving/taxi" >"$T/serve.log" 2>&1 &
SPID=$!
PORT=
for _ in $(seq 1 200); do
    PORT=$(sed -n 's/.*Exporting HTTP\/REST API at:localhost:\([0-9]*\).*/\1/p' "$T/serve.log" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    sleep 0.05
done
/usr/bin/python3 - "$PORT" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
def per_request(path, n=2000):
    a = time.perf_counter()
    for _ in range(n):
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        assert r.status == 200, (path, r.status)
    return (time.perf_counter() - a) / n * 1e3
ref = per_request("/v1/models/taxi")
for path in ("/", "/v1/status"):
    ms = per_request(path)
    print("GET %-16s %.3f ms, GetModelStatus %.3f ms, ratio %.2f" % (path, ms, ref, ms / ref))
PY
