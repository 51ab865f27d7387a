#!/usr/bin/env bash
# push_crash_test.sh: `cfx push` killed with SIGKILL at random instants
# (50 trials, a 3 MB bundle). After every kill, BASE holds only complete
# versions (each equal to the bundle, byte for byte) and perhaps a hidden
# temporary folder; the next push succeeds, removes the crashed pushes'
# leftovers and publishes the next number. Prints how many kills landed
# mid-push.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
SRC=$CFX_SOURCE_DIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TRIALS=50

# A bundle of a few MB: a wide first layer, barely trained.
"$CFX" examplegen --input "$SRC/examples/taxi/data.csv" --output "$T/ex" >/dev/null
"$CFX" transform --examples "$T/ex" --spec "$SRC/examples/taxi/transform.json" \
    --output "$T/xf" >/dev/null
echo '{"model_name": "taxi", "train_steps": 5, "eval_steps": 5, "seed": 7,
       "first_dnn_layer_size": 700, "num_dnn_layers": 2, "dnn_decay_factor": 1.0}' >"$T/big.json"
"$CFX" train --examples "$T/xf/transformed_examples" --transform-graph "$T/xf/transform_graph" \
    --config "$T/big.json" --raw-examples "$T/ex" --output "$T/run" --quiet >/dev/null
M=$T/run/model
size=$(du -sk "$M" | cut -f1)
[ "$size" -gt 2000 ] || fail "bundle only ${size} KiB"
mkdir -p "$T/blessing" && : >"$T/blessing/BLESSED"
# the blessing names its model (push checks the manifest digest)
printf '{"manifest_sha256": "%s", "model": "%s"}\n' \
    "$(sha256sum "$M/manifest.json" | cut -d' ' -f1)" "$M" >"$T/blessing/model.json"
S=$T/serving/taxi

push() { "$CFX" push --model "$M" --blessing "$T/blessing" --to "$S" "$@"; }

# How long one push takes here (ms, the fastest of 3): kills are spread
# over 1.5x that.
dur_ms=
for _ in 1 2 3; do
    t0=$(date +%s%N)
    push >/dev/null
    t1=$(date +%s%N)
    d=$(( (t1 - t0) / 1000000 ))
    if [ -z "$dur_ms" ] || [ "$d" -lt "$dur_ms" ]; then dur_ms=$d; fi
done
[ "$dur_ms" -ge 1 ] || dur_ms=1
window=$(( dur_ms * 3 / 2 ))

declare -A checked=()
for v in 1 2 3; do
    diff -r "$M" "$S/$v" >/dev/null || fail "version $v differs from the bundle"
    checked[$v]=1
done

check_base() { # after a kill: only complete versions and hidden temporaries
    local e
    for e in $(ls -A "$S"); do
        case "$e" in
        .tmp-*) ;;
        *[!0-9]*) fail "unexpected entry '$e' in BASE" ;;
        *)
            if [ -z "${checked[$e]:-}" ]; then
                diff -r "$M" "$S/$e" >/dev/null || fail "version $e is partial or differs"
                checked[$e]=1
            fi
            ;;
        esac
    done
}

interrupted=0
completed=0
RANDOM=12345
for i in $(seq 1 $TRIALS); do
    before=$(ls -A "$S" | grep -c '^[0-9]*$' || true)
    # the cfx process itself (not a subshell around it) gets the SIGKILL
    "$CFX" push --model "$M" --blessing "$T/blessing" --to "$S" >/dev/null 2>&1 &
    pid=$!
    delay_ms=$(( RANDOM % (window + 1) ))
    sleep "$(printf '0.%03d' "$delay_ms")" 2>/dev/null || sleep "$(awk -v d="$delay_ms" 'BEGIN{printf "%.3f", d/1000}')"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    check_base
    after=$(ls -A "$S" | grep -c '^[0-9]*$' || true)
    if [ "$after" -gt "$before" ]; then completed=$((completed + 1)); else interrupted=$((interrupted + 1)); fi
done

# The next push succeeds, cleans every leftover and takes the next number.
latest=$(ls -A "$S" | grep '^[0-9]*$' | sort -n | tail -1)
out=$(push) || fail "push after the crashes"
want=$((latest + 1))
[ "$out" = "pushed version $want: $S/$want" ] || fail "push after crashes: '$out', want version $want"
diff -r "$M" "$S/$want" >/dev/null || fail "version $want differs"
ls -A "$S" | grep -q '^\.tmp-' && fail "leftover temporary folders: $(ls -A "$S" | grep '^\.tmp-')"
versions=$(ls -A "$S" | grep -c '^[0-9]*$')
[ "$versions" = "$want" ] || fail "$versions versions for numbers 1..$want"
# Concurrent pushers never share or replace a version.
pids=()
for _ in 1 2 3 4; do
    "$CFX" push --model "$M" --blessing "$T/blessing" --to "$S" >>"$T/concurrent.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent push failed: $(cat "$T/concurrent.out")"; done
got=$(sed -n 's/^pushed version \([0-9]*\):.*/\1/p' "$T/concurrent.out" | sort -n | tr '\n' ' ')
[ "$got" = "$((want + 1)) $((want + 2)) $((want + 3)) $((want + 4)) " ] ||
    fail "concurrent pushes got versions '$got' after $want"
for v in $got; do diff -r "$M" "$S/$v" >/dev/null || fail "concurrent version $v differs"; done

echo "push_crash_test: $TRIALS kills over ${window} ms (one push: ${dur_ms} ms, bundle ${size} KiB):" \
     "$interrupted mid-push, $completed after it finished; BASE always held complete versions only"
[ "$interrupted" -ge 5 ] || fail "only $interrupted kills landed mid-push: the test did not test much"
echo "PASS push_crash_test"
