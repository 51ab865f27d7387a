#!/usr/bin/env bash
# serve_wait_test.sh: cfx-serve started before the first push waits for it,
# as TF Serving's ServerCore::Create does (compat doc §3.3, §3.5):
#   - an empty base path, then one that does not exist yet: the server stays
#     up, logs TF Serving's warning on each poll (not more often, even with
#     inotify events in between), opens no port and sends no READY=1;
#   - a version published the way cfx push does (a hidden temporary folder
#     renamed into place) is loaded, the ports open, the status says
#     AVAILABLE and predict answers what `cfx predict` says of the same row;
#   - a startup label naming the version still to come is assigned once it
#     loads (TF Serving assigns labels after the wait);
#   - SIGTERM / SIGINT while waiting exit 0 promptly;
#   - a first version that fails to load still ends the process with TF
#     Serving's "did not become available" message;
#   - --file_system_poll_wait_seconds=0 (no later poll) fails at once;
#   - a config reload adding a model without versions answers "not
#     available" at once and the model loads when its first version appears.
set -eEuo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"

# --- a real bundle and what `cfx predict` says of one row ---------------------
taxi_data
taxi_train "$T/train" 100 10 3
BUNDLE="$T/train/model"
{ head -n 1 "$CFX_SOURCE_DIR/examples/taxi/data.csv"; sed -n 7001p "$CFX_SOURCE_DIR/examples/taxi/data.csv"; } >"$T/row.csv"
"$CFX" predict --bundle "$BUNDLE" --input "$T/row.csv" >"$T/expected.csv"
EXPECTED=$(sed -n 2p "$T/expected.csv" | cut -d, -f1)
[ -n "$EXPECTED" ] || fail "cfx predict gave nothing: $(cat "$T/expected.csv")"

# publish BASE VERSION SRC: as cfx push does, a copy in a hidden folder of the
# same file system, then one rename into place.
publish() {
    mkdir -p "$1"
    cp -r "$3" "$1/.tmp-$$-$2"
    mv "$1/.tmp-$$-$2" "$1/$2"
}

# sd_notify: a datagram socket standing in for systemd records what is sent.
export NOTIFY_SOCKET="$T/notify.sock"
$PY - "$NOTIFY_SOCKET" "$T/notify.log" <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
PYEOF
PIDS+=($!)
disown $!
for _ in $(seq 1 100); do [ -S "$NOTIFY_SOCKET" ] && break; sleep 0.02; done
[ -S "$NOTIFY_SOCKET" ] || fail "no fake systemd socket"

start() { # args...: a server in the background, SPID, log in $T/serve.log
    : >"$T/notify.log"
    STARTED=$(date +%s.%N)
    serve_start "$T/serve.log" --num_threads=1 --file_system_poll_wait_seconds=1 "$@"
}
logged() { # PATTERN [tenths]: waits until the log has it, the server alive
    for _ in $(seq 1 "${2:-100}"); do
        grep -q -- "$1" "$T/serve.log" && return 0
        kill -0 "$SPID" 2>/dev/null || fail "cfx-serve exited waiting for '$1'"
        sleep 0.1
    done
    fail "'$1' not logged"
}
# Listening TCP sockets of a process: its socket inodes in LISTEN state.
listening() {
    $PY - "$1" <<'PYEOF'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
n = 0
for tab in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(tab).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        f = l.split()
        n += f[3] == "0A" and f[9] in inodes
print(n)
PYEOF
}
waiting_checks() { # WARNING-PATTERN: up, warned each poll, no port, no READY
    logged "$1"
    # inotify events in the base path (a push's temporary folder, here made
    # and removed over and over) must not make the warning more frequent.
    for i in $(seq 1 20); do
        if [ -d "$BASE" ]; then mkdir "$BASE/.junk-$i" && rmdir "$BASE/.junk-$i"; fi
        sleep 0.1
    done
    sleep 0.5
    local t1 n max
    t1=$(date +%s.%N)
    n=$(grep -c -- "$1" "$T/serve.log" || true)
    # Every warning came after the start and they are >= 1 s apart.
    max=$($PY -c "import sys,math; print(1 + math.floor(float(sys.argv[2]) - float(sys.argv[1])))" "$STARTED" "$t1")
    [ "$n" -ge 2 ] || fail "the warning was logged $n time(s) in $max s, want one per poll"
    [ "$n" -le "$max" ] || fail "the warning was logged $n times in less than $max s"
    kill -0 "$SPID" 2>/dev/null || fail "cfx-serve exited while waiting"
    [ "$(listening "$SPID")" = 0 ] || fail "a port is open before any model is loaded"
    ! grep -q 'Exporting HTTP/REST\|Running gRPC' "$T/serve.log" || fail "ports announced while waiting"
    ! grep -q 'READY=1' "$T/notify.log" || fail "READY=1 sent while waiting"
}
rest_port() { # within 10 s of the publish
    serve_ports "$T/serve.log" "$SPID" 10
    PORT=$RPORT
}
# serves NAME: AVAILABLE, and predict_raw on the row agrees with cfx predict
serves() {
    local status
    status=$(curl -sf "http://127.0.0.1:$PORT/v1/models/$1") || fail "status of $1"
    case "$status" in *'"state": "AVAILABLE"'*) ;; *) fail "status of $1: $status" ;; esac
    curl -sf "http://127.0.0.1:$PORT/v1/models/$1/metadata" >"$T/meta.json" || fail "metadata of $1"
    # The row as a JSON instance: dtypes from the metadata, empty cells
    # filled as the transform fills a missing value (0, "").
    $PY - "$T/meta.json" "$T/row.csv" >"$T/req.json" <<'PYEOF'
import csv, json, sys
sig = json.load(open(sys.argv[1]))["metadata"]["signature_def"]["signature_def"]
row = next(csv.DictReader(open(sys.argv[2], newline="")))
inst = {}
for k, ti in sig["predict_raw"]["inputs"].items():
    v, dt = row.get(k, ""), ti["dtype"]
    if dt == "DT_INT64":
        inst[k] = int(v) if v else 0
    elif dt == "DT_FLOAT":
        inst[k] = float(v) if v else 0.0
    else:
        inst[k] = v
print(json.dumps({"signature_name": "predict_raw", "instances": [inst]}))
PYEOF
    curl -sf --data-binary @"$T/req.json" "http://127.0.0.1:$PORT/v1/models/$1:predict" >"$T/pred.json" ||
        fail "predict on $1: $(cat "$T/pred.json")"
    $PY - "$T/pred.json" "$EXPECTED" <<'PYEOF' || fail "predict on $1 disagrees with cfx predict"
import json, sys
got = json.load(open(sys.argv[1]))["predictions"][0]
got = got[0] if isinstance(got, list) else got
want = float(sys.argv[2])
assert abs(got - want) <= 1e-5, (got, want)
PYEOF
}
stop_ok() { # SIGNAL: the server exits 0 within 3 s
    kill -"$1" "$SPID"
    for _ in $(seq 1 30); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SPID" 2>/dev/null && fail "cfx-serve still running 3 s after SIG$1"
    local rc=0
    wait "$SPID" || rc=$?
    [ "$rc" = 0 ] || fail "SIG$1: exit status $rc, want 0"
}
NOVER='No versions of servable taxi found under base path .*Did you forget to name your leaf directory as a number'
NOBASE='Could not find base path .* for servable taxi'

# --- an empty base path: wait, then the first push serves ----------------------
BASE="$T/a/taxi"
mkdir -p "$BASE"
start --model_name=taxi --model_base_path="$BASE"
waiting_checks "$NOVER"
publish "$BASE" 1 "$BUNDLE"
rest_port
serves taxi
grep -qx 'READY=1' "$T/notify.log" || fail "no READY=1 once serving"
stop_ok TERM
echo "empty base path: OK"

# --- a base path that does not exist yet ---------------------------------------
BASE="$T/b/taxi"
start --model_name=taxi --model_base_path="$BASE"
waiting_checks "$NOBASE"
publish "$BASE" 7 "$BUNDLE"
rest_port
serves taxi
stop_ok TERM
echo "missing base path: OK"

# --- a label on the version still to come is assigned once it loads ----------
BASE="$T/f/taxi"
mkdir -p "$BASE"
cat >"$T/labels.config" <<C
model_config_list {
  config {
    name: "taxi" base_path: "$BASE" model_platform: "tensorflow"
    version_labels { key: "stable" value: 4 }
  }
}
C
start --model_config_file="$T/labels.config"
logged "$NOVER"
publish "$BASE" 4 "$BUNDLE"
rest_port
curl -sf "http://127.0.0.1:$PORT/v1/models/taxi/labels/stable/metadata" >"$T/body" ||
    fail "label of the first version: $(cat "$T/body")"
grep -q '"version": "4"' "$T/body" || fail "label stable does not name version 4: $(cat "$T/body")"
stop_ok TERM
echo "label on the first version: OK"

# --- SIGTERM / SIGINT while waiting ----------------------------------------------
BASE="$T/c/taxi"
mkdir -p "$BASE"
start --model_name=taxi --model_base_path="$BASE"
logged "$NOVER"
stop_ok TERM
grep -q 'STOPPING=1' "$T/notify.log" || fail "no STOPPING=1"
! grep -q 'READY=1' "$T/notify.log" || fail "READY=1 sent by a server that never served"
start --model_name=taxi --model_base_path="$T/c/nothing"
logged "Could not find base path"
stop_ok INT
echo "signals while waiting: OK"

# --- a broken first version still fails the startup ------------------------------
cp -r "$BUNDLE" "$T/corrupt"
printf 'x' >>"$T/corrupt/variables/model.safetensors"
BASE="$T/d/taxi"
mkdir -p "$BASE"
start --model_name=taxi --model_base_path="$BASE"
logged "$NOVER"
publish "$BASE" 3 "$T/corrupt"
for _ in $(seq 1 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SPID" 2>/dev/null && fail "cfx-serve still up 10 s after a broken first version"
RC=0
wait "$SPID" || RC=$?
[ "$RC" != 0 ] || fail "a broken first version: exit status 0"
grep -q 'Failed to start server. Error: .*1 model(s) did not become available: {{name: taxi version: 3} due to error: ' \
    "$T/serve.log" || fail "broken first version message: $(cat "$T/serve.log")"
grep -q 'model.safetensors' "$T/serve.log" || fail "the error does not name the bad file: $(cat "$T/serve.log")"
echo "broken first version: OK"

# --- no later poll: fail at once rather than hang ---------------------------------
RC=0
timeout 10 "$CFX_SERVE" --port=0 --rest_api_port=auto --model_name=taxi \
    --model_base_path="$T/c/taxi" --file_system_poll_wait_seconds=0 >"$T/once.log" 2>&1 || RC=$?
[ "$RC" = 255 ] || fail "poll once on an empty base path: exit $RC, want 255: $(cat "$T/once.log")"
grep -q "did not become available: {{name: taxi} due to error: no version found under $T/c/taxi}" "$T/once.log" ||
    fail "poll-once message: $(cat "$T/once.log")"
echo "poll once: OK"

# --- a reload adding a model with no version yet -------------------------------
conf() { # NAME=BASE...
    : >"$T/models.config"
    echo 'model_config_list {' >>"$T/models.config"
    for nb in "$@"; do
        echo "  config { name: \"${nb%%=*}\" base_path: \"${nb#*=}\" model_platform: \"tensorflow\" }" >>"$T/models.config"
    done
    echo '}' >>"$T/models.config"
}
conf "taxi=$T/a/taxi"
start --model_config_file="$T/models.config"
rest_port
conf "taxi=$T/a/taxi" "late=$T/e/late"
kill -HUP "$SPID"
logged 'config reload: 1 model(s) did not become available: {{name: late} due to error: no version found under'
CODE=$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/v1/models/late")
[ "$CODE" = 404 ] || fail "status of a model without versions: HTTP $CODE $(cat "$T/body")"
serves taxi
publish "$T/e/late" 2 "$BUNDLE"
for _ in $(seq 1 100); do
    curl -s "http://127.0.0.1:$PORT/v1/models/late" | grep -q '"state": "AVAILABLE"' && break
    sleep 0.1
done
serves late
stop_ok TERM
echo "reload adding a model without versions: OK"
echo "serve_wait_test: OK"
