#!/usr/bin/env bash
# metadata_pg_test.sh: pipelines of several processes against one
# PostgreSQL metadata store (docs/metadata.md, PostgreSQL). A server of the
# test's own (tests/with_postgres.sh); PROCS `cfx run` processes of the taxi
# pipeline (a slice of the data, a short Trainer) start together, each with
# a pipeline root and serving folder of its own, all recording in one
# database: half name it in pipeline.json ("metadata"), half with
# --metadata. ROUNDS rounds of that. No run may fail; afterwards, read with
# psql (not our reader), the lineage is complete: every execution COMPLETE
# or CACHED, associated with the pipeline's context and its run's; no
# pending output left; every execution but ExampleGen has INPUT events and
# every one OUTPUT events; every input of an execution is some execution's
# output (or a CSV, each registered once); every run pushed a model that
# `cfx lineage` traces back to the CSV. Then `cfx ls --config` of one
# pipeline reads the store through the config's "metadata".
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
if [ -z "${CFX_TEST_PG:-}" ]; then
    exec bash "$CFX_SOURCE_DIR/tests/with_postgres.sh" bash "$0" "$@"
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROCS=${PROCS:-4}
ROUNDS=${ROUNDS:-2}
PGB=$(dirname "$(command -v createdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/createdb | tail -1)")
export PATH=$PGB:$PATH

createdb -h "$CFX_TEST_PG_HOST" -p "$CFX_TEST_PG_PORT" -U cfx metadata
URL="postgresql://cfx@/metadata?host=$CFX_TEST_PG_HOST&port=$CFX_TEST_PG_PORT"
q() { psql "$URL" -AtX -v ON_ERROR_STOP=1 -c "$1"; }

head -n 601 "$CFX_SOURCE_DIR/examples/taxi/data.csv" >"$T/data.csv"
cp "$CFX_SOURCE_DIR/examples/taxi/transform.json" "$CFX_SOURCE_DIR/examples/taxi/eval.json" "$T/"
sed 's/"train_steps": [0-9]*/"train_steps": 100/; s/"eval_steps": [0-9]*/"eval_steps": 50/' \
    "$CFX_SOURCE_DIR/examples/taxi/trainer.json" >"$T/trainer.json"
for p in $(seq 1 "$PROCS"); do
    md=""
    [ $((p % 2)) = 1 ] && md=", \"metadata\": \"${URL//&/\\&}\""
    sed -e "s#\"../../out/pipeline/taxi\"#\"root$p\"$md#" \
        -e "s#\"../../out/serving\"#\"serving$p\"#" \
        "$CFX_SOURCE_DIR/examples/taxi/pipeline.json" >"$T/p$p.json"
done
# pipeline 1 reads a CSV of its own that changes every round, so later
# rounds both reuse (CACHED) and redo (COMPLETE) work
sed -i 's#"data.csv"#"data1.csv"#' "$T/p1.json"

for r in $(seq 1 "$ROUNDS"); do
    head -n $((602 - r)) "$CFX_SOURCE_DIR/examples/taxi/data.csv" >"$T/data1.csv"
    pids=()
    for p in $(seq 1 "$PROCS"); do
        flag=()
        [ $((p % 2)) = 0 ] && flag=(--metadata "$URL")
        "$CFX" run "${flag[@]}" "$T/p$p.json" >"$T/run.$r.$p" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || fail "round $r, process $((i + 1)) failed: $(tail -5 "$T/run.$r.$((i + 1))")"
    done
    echo "round $r: $PROCS pipelines done"
done
[ ! -e "$T/root1/metadata.sqlite" ] && [ ! -e "$T/root2/metadata.sqlite" ] ||
    fail "a SQLite store was made beside the PostgreSQL one"

runs=$((PROCS * ROUNDS))
n=$(q "SELECT count(*) FROM Execution")
[ "$n" = $((runs * 9)) ] || fail "$n executions, expected $((runs * 9))"
bad=$(q "SELECT count(*) FROM Execution WHERE last_known_state NOT IN (3, 5)")
[ "$bad" = 0 ] || fail "$bad executions neither COMPLETE nor CACHED"
pend=$(q "SELECT (SELECT count(*) FROM Event WHERE type = 7) +
                 (SELECT count(*) FROM Artifact WHERE state = 1)")
[ "$pend" = 0 ] || fail "$pend pending outputs left"
ext=$(q "SELECT count(*) FROM Artifact a JOIN Type t ON t.id = a.type_id
         WHERE t.name = 'ExternalArtifact'")
[ "$ext" = 2 ] || fail "the two CSVs registered $ext times"
# contexts: one pipeline context, one per run, each run with 9 executions
ctx=$(q "SELECT count(*) FROM Context c JOIN Type t ON t.id = c.type_id
         WHERE t.name = 'pipeline_run'")
[ "$ctx" = "$runs" ] || fail "$ctx run contexts, expected $runs"
per=$(q "SELECT DISTINCT count(*) FROM Association s JOIN Context c ON c.id = s.context_id
         JOIN Type t ON t.id = c.type_id WHERE t.name = 'pipeline_run' GROUP BY c.id")
[ "$per" = 9 ] || fail "executions per run context: $per"
noctx=$(q "SELECT count(*) FROM Execution e WHERE (SELECT count(*) FROM Association s
           JOIN Context c ON c.id = s.context_id JOIN Type t ON t.id = c.type_id
           WHERE s.execution_id = e.id AND t.name IN ('pipeline', 'pipeline_run')) <> 2")
[ "$noctx" = 0 ] || fail "$noctx executions not in their pipeline's and run's contexts"
# events: outputs everywhere, inputs everywhere but ExampleGen's CSV input
noout=$(q "SELECT count(*) FROM Execution e WHERE NOT EXISTS
           (SELECT 1 FROM Event v WHERE v.execution_id = e.id AND v.type = 4)")
[ "$noout" = 0 ] || fail "$noout executions without an OUTPUT event"
noin=$(q "SELECT count(*) FROM Execution e WHERE NOT EXISTS
          (SELECT 1 FROM Event v WHERE v.execution_id = e.id AND v.type = 3)")
[ "$noin" = 0 ] || fail "$noin executions without an INPUT event"
orphan=$(q "SELECT count(*) FROM Event v JOIN Artifact a ON a.id = v.artifact_id
            JOIN Type t ON t.id = a.type_id WHERE v.type = 3
            AND t.name <> 'ExternalArtifact' AND NOT EXISTS
            (SELECT 1 FROM Event o WHERE o.artifact_id = v.artifact_id AND o.type = 4)")
[ "$orphan" = 0 ] || fail "$orphan inputs that no execution output"
nopath=$(q "SELECT count(*) FROM Event v WHERE (SELECT count(*) FROM EventPath p
            WHERE p.event_id = v.id) <> 2")
[ "$nopath" = 0 ] || fail "$nopath events without their [key, index] path"
# ids: ascending with time, as the SQLite store's
order=$(q "SELECT count(*) FROM Execution a JOIN Execution b ON b.id > a.id
           WHERE b.create_time_since_epoch < a.create_time_since_epoch")
[ "$order" = 0 ] || fail "$order executions with a higher id created earlier"
echo "store: $n executions, $(q 'SELECT count(*) FROM Artifact') artifacts, $(q 'SELECT count(*) FROM Event') events; lineage complete"

for p in $(seq 1 "$PROCS"); do
    v=$(ls "$T/serving$p/taxi" | sort -n | tail -1)
    [ -n "$v" ] || fail "pipeline $p pushed nothing"
    how=(--config "$T/p$p.json") # its "metadata" names the store
    [ $((p % 2)) = 0 ] && how=(--pipeline-root "$T/root$p" --metadata "$URL")
    "$CFX" lineage "${how[@]}" "$T/serving$p/taxi/$v" >"$T/lineage.$p" 2>&1 ||
        fail "lineage of pipeline $p: $(tail -3 "$T/lineage.$p")"
    grep -q "ExampleGen" "$T/lineage.$p" && grep -Eq "data1?\.csv" "$T/lineage.$p" ||
        fail "lineage of pipeline $p does not reach the CSV: $(head -20 "$T/lineage.$p")"
done
"$CFX" ls --config "$T/p1.json" >"$T/ls.txt" || fail "cfx ls --config"
[ "$(grep -Ec '^ +[0-9]+  (ExampleGen|Pusher) ' "$T/ls.txt")" = $((runs * 2)) ] ||
    fail "cfx ls through the config's store: $(head -20 "$T/ls.txt")"
echo "PASS: $ROUNDS rounds x $PROCS concurrent pipelines on one PostgreSQL store, 0 failures"
