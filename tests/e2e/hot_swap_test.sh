#!/usr/bin/env bash
# hot_swap_test.sh: cfx-serve keeps answering while new versions are
# published under load. wrk drives POST :predict for several seconds while
# versions 2..5 appear by atomic rename (3 of them good, one corrupt):
#   - 0 failed requests (non-2xx or socket errors),
#   - the corrupt version is refused (END + its error in the status) and the
#     previous version keeps serving,
#   - each good version serves within the poll interval + load time
#     (inotify makes it prompt),
#   - old versions end cleanly (END, OK),
#   - the status page and its JSON twin, read all along (the workers
#     record the requests it counts while it reads them), answer 200.
# Then SIGTERM under load: the server drains and exits 0, no 5xx answered.
#
# TSan: build cfx-serve with -DCFX_TSAN=ON in its own build directory and run
# this script with CFX_SERVE pointing at that binary (docs/serving.md).
set -eEuo pipefail
command -v wrk >/dev/null || { echo "hot_swap_test: wrk not installed"; exit 1; }
FAIL_LOG_LINES=30
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"

taxi_data
for s in 1 2 3 4; do
    taxi_train "$T/train$s" 200 20 "$s"
done
# A corrupt bundle: its weights no longer match the manifest's checksum.
cp -r "$T/train1/model" "$T/corrupt"
printf 'x' >>"$T/corrupt/variables/model.safetensors"

B="$T/models/taxi"
mkdir -p "$B"
publish() { # SRC VERSION: copy into a hidden temp dir, then rename (atomic)
    cp -r "$1" "$B/.tmp-$2"
    sync "$B/.tmp-$2" 2>/dev/null || true
    mv "$B/.tmp-$2" "$B/$2"
}
publish "$T/train1/model" 1

echo 'prometheus_config { enable: true path: "/metrics" }' >"$T/monitoring.txt"
serve_start "$T/serve.log" --num_threads=2 --model_name=taxi --model_base_path="$B" \
    --file_system_poll_wait_seconds=1 --monitoring_config_file="$T/monitoring.txt"
serve_ports "$T/serve.log" "$SPID"
U="http://127.0.0.1:$RPORT"

ROW=$(sed -n 1p "$B/1/assets.extra/warmup.jsonl")
BODY="{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}"
$PY -c 'import json,sys
print("wrk.method = \"POST\"\nwrk.body = " + json.dumps(sys.argv[1]) + "\nwrk.headers[\"Content-Type\"] = \"application/json\"")' "$BODY" >"$T/post.lua"
curl -sf -d "$BODY" "$U/v1/models/taxi:predict" >/dev/null || fail "first predict"

wrk -t2 -c8 -d7s -s "$T/post.lua" "$U/v1/models/taxi:predict" >"$T/wrk.txt" 2>&1 &
WPID=$!
# the status page while wrk runs: one HTTP status per line
(end=$((SECONDS + 6)); while [ "$SECONDS" -lt "$end" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' "$U/"
    curl -s -o "$T/status-twin.json" -w '%{http_code}\n' "$U/v1/status"
    sleep 0.1
done) >"$T/status-codes.txt" &
SPPID=$!
sleep 1
publish "$T/train2/model" 2
MS2=$(wait_served 2 10)
sleep 0.5
publish "$T/corrupt" 3
for _ in $(seq 1 200); do
    ST=$(curl -s "$U/v1/models/taxi/versions/3")
    case "$ST" in *'"state": "END"'*) break ;; esac
    sleep 0.025
done
case "$ST" in *'"state": "END"'*'"error_code": "DATA_LOSS"'*) ;; *) fail "corrupt version status: $ST" ;; esac
[ "$(served)" = 2 ] || fail "version 2 must keep serving after a failed load"
curl -s "$U/v1/models/taxi/versions/2" | grep -q '"state": "AVAILABLE"' || fail "v2 not AVAILABLE"
sleep 0.5
publish "$T/train3/model" 4
MS4=$(wait_served 4 10)
sleep 0.5
publish "$T/train4/model" 5
MS5=$(wait_served 5 10)
wait "$WPID" || fail "wrk failed: $(cat "$T/wrk.txt")"
wait "$SPPID"
NSP=$(grep -c . "$T/status-codes.txt")
[ "$NSP" -gt 10 ] && [ "$(grep -cx 200 "$T/status-codes.txt")" = "$NSP" ] ||
    fail "status page under load: $(sort "$T/status-codes.txt" | uniq -c)"
$PY - "$T/status-twin.json" <<'PYEOF' || fail "status twin under load: $(cat "$T/status-twin.json")"
import json, sys
d = json.load(open(sys.argv[1]))
r = [r for r in d["requests"] if (r["model"], r["api"]) == ("taxi", "predict")][0]
assert r["count"] > 100 and r["rate_per_second_1m"] > 0, r
PYEOF
cat "$T/wrk.txt"
grep -q 'Non-2xx' "$T/wrk.txt" && fail "failed requests during the swaps"
grep -q 'Socket errors' "$T/wrk.txt" && fail "socket errors during the swaps"
NREQ=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$T/wrk.txt")
[ "${NREQ:-0}" -gt 100 ] || fail "too few requests under load: $NREQ"
echo "swaps under load: $NREQ requests, 0 failed; new version served after $MS2, $MS4, $MS5"

curl -s "$U/v1/models/taxi" >"$T/status.json"
$PY - "$T/status.json" <<'PYEOF' || fail "final status: $(cat "$T/status.json")"
import json, sys
s = {v["version"]: v for v in json.load(open(sys.argv[1]))["model_version_status"]}
assert [v for v in s] == sorted(s, key=int, reverse=True), "descending order"
assert s["5"]["state"] == "AVAILABLE", s["5"]
for v in ("1", "2", "4"):
    assert s[v]["state"] == "END" and s[v]["status"]["error_code"] == "OK", s[v]
assert s["3"]["state"] == "END" and s["3"]["status"]["error_code"] == "DATA_LOSS", s["3"]
assert "model.safetensors" in s["3"]["status"]["error_message"], s["3"]
PYEOF
# Unloaded versions were freed (the log says so once their last reference ended).
for v in 1 2 4; do
    grep -q "Done unloading servable version {name: taxi version: $v}" "$T/serve.log" || fail "version $v not freed"
done

# The version gauges follow the swaps: one version loaded, 5 AVAILABLE,
# the others (the corrupt 3 too) END.
curl -s "$U/metrics" >"$T/metrics.txt"
for want in ':cfx:serving:loaded_versions{model_name="taxi"} 1' \
    ':cfx:serving:model_version_state{model_name="taxi",version="5",state="AVAILABLE"} 1' \
    ':cfx:serving:model_version_state{model_name="taxi",version="3",state="END"} 1' \
    ':cfx:serving:model_version_state{model_name="taxi",version="1",state="END"} 1'; do
    grep -qxF "$want" "$T/metrics.txt" || fail "metrics lack '$want': $(grep cfx: "$T/metrics.txt")"
done

# SIGTERM under load: drain, exit 0, never a 5xx.
wrk -t2 -c8 -d3s -s "$T/post.lua" "$U/v1/models/taxi:predict" >"$T/wrk2.txt" 2>&1 &
WPID=$!
sleep 1
kill -TERM "$SPID"
RC=0; wait "$SPID" || RC=$?
wait "$WPID" || true
[ "$RC" = 0 ] || fail "exit status $RC after SIGTERM under load"
grep -q 'Non-2xx' "$T/wrk2.txt" && fail "non-2xx answers while draining: $(cat "$T/wrk2.txt")"
echo "hot_swap_test: OK"
