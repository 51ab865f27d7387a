#!/usr/bin/env bash
# metadata_stress_test.sh: many cfx processes on one metadata store at once
# (docs/metadata.md, Concurrency). TRIALS times, PROCS processes are started
# together, each running examplegen -> statistics -> schema with
# --pipeline-root: on odd trials every process gets a new root of its own
# half of the processes share (two roots created at the same instant), on
# even trials all of them share one root that keeps growing. No command may
# fail; afterwards the store, read with the sqlite3 CLI, holds every
# execution COMPLETE or CACHED (none RUNNING or FAILED), one ExternalArtifact
# for the CSV, and one LIVE artifact per output folder on disk.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROCS=${PROCS:-8}
TRIALS=${TRIALS:-10}
command -v sqlite3 >/dev/null || fail "sqlite3 CLI missing (scripts/install-deps.sh installs it)"

head -n 301 "$CFX_SOURCE_DIR/examples/taxi/data.csv" >"$T/data.csv"

# examplegen -> statistics -> schema on root $1; output in $2.log
chain() {
    local root=$1 log=$2 out
    {
        out=$("$CFX" examplegen --input "$T/data.csv" --pipeline-root "$root" 2>&1) &&
            ex=$(sed -n 's/^examplegen: .* -> \(.*\) in [0-9.]* s.*/\1/p' <<<"$out") &&
            [ -n "$ex" ] &&
            out=$("$CFX" statistics --examples "$ex" --pipeline-root "$root" 2>&1) &&
            st=$(sed -n 's/^statistics: .* -> \(.*\) in [0-9.]* s.*/\1/p' <<<"$out") &&
            [ -n "$st" ] &&
            out=$("$CFX" schema --statistics "$st" --pipeline-root "$root" 2>&1) &&
            echo OK
    } >"$log" 2>&1 || echo "$out" >>"$log"
}

check_store() { # root, executions expected
    local db=$1/metadata.sqlite want=$2 q
    q() { sqlite3 -cmd ".timeout 60000" "$db" "$1"; }
    local n bad ext
    n=$(q "SELECT count(*) FROM Execution")
    [ "$n" = "$want" ] || fail "$1: $n executions, expected $want"
    # MLMD numbers: COMPLETE 3, CACHED 5
    bad=$(q "SELECT count(*) FROM Execution WHERE last_known_state NOT IN (3, 5)")
    [ "$bad" = 0 ] || fail "$1: $bad executions neither COMPLETE nor CACHED"
    ext=$(q "SELECT count(*) FROM Artifact a JOIN Type t ON t.id = a.type_id
             WHERE t.name = 'ExternalArtifact'")
    [ "$ext" = 1 ] || fail "$1: the CSV registered $ext times"
    # every output folder on disk is a LIVE artifact, and the other way round
    local dirs live
    dirs=$(cd "$1" && find . -mindepth 3 -maxdepth 3 -type d | sed 's#^\./##' | sort)
    live=$(q "SELECT substr(uri, length('$1') + 2) FROM Artifact
              WHERE state = 2 AND uri LIKE '$1/%'" | sort)
    [ "$dirs" = "$live" ] || fail "$1: folders and LIVE artifacts differ:
$(diff <(echo "$dirs") <(echo "$live") | head -5)"
    [ -z "$(find "$1" -name '.*' ! -name . | head -1)" ] || fail "$1: hidden leftovers"
}

runs_shared=0
for t in $(seq 1 "$TRIALS"); do
    pids=()
    for p in $(seq 1 "$PROCS"); do
        if [ $((t % 2)) = 1 ]; then
            root=$T/fresh$t-$((p % 2))
        else
            root=$T/shared
        fi
        chain "$root" "$T/log.$t.$p" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    for p in $(seq 1 "$PROCS"); do
        grep -qx OK "$T/log.$t.$p" ||
            fail "trial $t, process $p: $(tail -3 "$T/log.$t.$p")"
    done
    if [ $((t % 2)) = 1 ]; then
        check_store "$(cd "$T" && pwd -P)/fresh$t-0" $((PROCS / 2 * 3))
        check_store "$(cd "$T" && pwd -P)/fresh$t-1" $(((PROCS + 1) / 2 * 3))
    else
        runs_shared=$((runs_shared + PROCS * 3))
        check_store "$(cd "$T" && pwd -P)/shared" "$runs_shared"
    fi
done
echo "PASS: $TRIALS trials x $PROCS processes x 3 components, no failure"
