#!/usr/bin/env bash
# crash_test.sh: `cfx run` of the taxi pipeline killed with SIGKILL at
# several points (after 0.3 s, 1 s, 2 s, 3 s, and while the InfraValidator's
# cfx-serve is up), each time followed by a re-run (docs/pipeline.md,
# Concurrency and crashes). After every kill: no process of the killed
# run's process group is left (its cfx-serve dies with it). After every
# re-run: it succeeded, no execution is RUNNING (read with the sqlite3
# CLI; MLMD's numbers: RUNNING 2, FAILED 4), the killed execution is FAILED
# with its reason in `cfx ls`, no temporary folder is left anywhere, and
# every output folder under the root is a LIVE artifact (nothing partial).
set -euo pipefail
: "${CFX:?}" "${CFX_SERVE:?}" "${CFX_SOURCE_DIR:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CFX_SERVE
for tool in sqlite3 pgrep setsid ss; do
    command -v "$tool" >/dev/null || fail "$tool missing (scripts/install-deps.sh installs it)"
done

# The taxi pipeline with its paths in $T and a shorter training.
P=$T/taxi
mkdir -p "$P"
cp "$CFX_SOURCE_DIR"/examples/taxi/{data.csv,transform.json,eval.json} "$P/"
sed 's/"train_steps": [0-9]*/"train_steps": 3000/; s/"eval_steps": [0-9]*/"eval_steps": 1000/' \
    "$CFX_SOURCE_DIR/examples/taxi/trainer.json" >"$P/trainer.json"
sed "s#\"pipeline_root\": \"[^\"]*\"#\"pipeline_root\": \"$T/root\"#; s#\"serving_dir\": \"[^\"]*\"#\"serving_dir\": \"$T/serving\"#" \
    "$CFX_SOURCE_DIR/examples/taxi/pipeline.json" >"$P/pipeline.json"
grep -q "\"pipeline_root\": \"$T/root\"" "$P/pipeline.json" || fail "pipeline.json: root not rewritten"
DB=$T/root/metadata.sqlite
q() { sqlite3 -cmd ".timeout 60000" "$DB" "$1"; }

check_after_rerun() { # trial name
    local n dirs live
    n=$(q "SELECT count(*) FROM Execution WHERE last_known_state = 2")
    [ "$n" = 0 ] || fail "$1: $n executions still RUNNING after the re-run"
    n=$(q "SELECT count(*) FROM Artifact WHERE state = 1")
    [ "$n" = 0 ] || fail "$1: $n artifacts still PENDING after the re-run"
    # temporary folders of any kind: the bundle writer's .<id>.tmp-*, the
    # InfraValidator's .infra-<pid>, the Pusher's .tmp-*, atomic writes' .*.tmp.*
    local left
    left=$(find "$T/root" "$T/serving" -name '.*' 2>/dev/null | head -5)
    [ -z "$left" ] || fail "$1: temporary folders left: $left"
    left=$(find "$T" -maxdepth 1 -name '.*' ! -name . | head -5)
    [ -z "$left" ] || fail "$1: temporary files left in $T: $left"
    # every output folder <root>/<Component>/<key>/<id> is a LIVE artifact
    dirs=$(cd "$T/root" && find . -mindepth 3 -maxdepth 3 -type d | sed 's#^\./##' | sort)
    live=$(q "SELECT substr(uri, length('$T/root') + 2) FROM Artifact
              WHERE state = 2 AND uri LIKE '$T/root/%'" | sort)
    [ "$dirs" = "$live" ] || fail "$1: output folders that are no LIVE artifact:
$(diff <(echo "$dirs") <(echo "$live") | head -5)"
}

"$CFX" run "$P/pipeline.json" >"$T/first.log" 2>&1 || { cat "$T/first.log"; fail "first run"; }

kills=0
for point in 0.3 1 2 3 infra; do
    # --no-cache: every step really runs, so each kill lands mid-work
    setsid "$CFX" run --no-cache "$P/pipeline.json" >"$T/killed.$point.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if [ "$point" = infra ]; then
        serve=
        for _ in $(seq 1 1200); do
            serve=$(pgrep -P "$pid" -f cfx-serve || true)
            [ -n "$serve" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        [ -n "$serve" ] || fail "no InfraValidator cfx-serve appeared: $(tail -3 "$T/killed.$point.log")"
        # it listens on the loopback interface only
        for _ in $(seq 1 100); do
            [ -n "$(ss -Hltnp | grep "pid=$serve," || true)" ] && break
            sleep 0.05
        done
        listening=$(ss -Hltnp | grep "pid=$serve," | awk '{print $4}')
        [ -n "$listening" ] || fail "cfx-serve $serve listens on nothing"
        if grep -qv '^127\.0\.0\.1:' <<<"$listening"; then
            fail "the InfraValidator's cfx-serve listens beyond the loopback: $listening"
        fi
    else
        sleep "$point"
    fi
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # its children die with it (PR_SET_PDEATHSIG): give the kernel a moment
    for _ in $(seq 1 50); do
        pgrep -g "$pid" >/dev/null || break
        sleep 0.1
    done
    if pgrep -g "$pid" >/dev/null; then
        fail "after kill at $point: left running: $(pgrep -a -g "$pid")"
    fi
    failed_before=$(q "SELECT count(*) FROM Execution WHERE last_known_state = 4")
    "$CFX" run "$P/pipeline.json" >"$T/rerun.$point.log" 2>&1 ||
        { cat "$T/rerun.$point.log"; fail "re-run after the kill at $point"; }
    failed_after=$(q "SELECT count(*) FROM Execution WHERE last_known_state = 4")
    recovered=$(grep -c '^recovered execution' "$T/rerun.$point.log" || true)
    [ "$recovered" = $((failed_after - failed_before)) ] ||
        fail "after kill at $point: $recovered recovered, $((failed_after - failed_before)) newly FAILED"
    if [ "$recovered" -gt 0 ]; then
        kills=$((kills + 1))
        id=$(sed -n 's/^recovered execution \([0-9]*\) .*/\1/p' "$T/rerun.$point.log" | head -1)
        "$CFX" ls --pipeline-root "$T/root" >"$T/ls.txt"
        grep -A1 -E "^ +$id +[A-Za-z]+ +FAILED " "$T/ls.txt" |
            grep -q "reason: left RUNNING by a process that died: pid $pid " ||
            fail "cfx ls does not show execution $id FAILED with its reason"
    fi
    check_after_rerun "kill at $point"
    echo "kill at $point: $recovered execution(s) recovered"
done
[ "$kills" -ge 3 ] || fail "only $kills of 5 kills landed while a step was running"
echo "PASS: 5 kills, every re-run clean"
