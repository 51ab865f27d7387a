#!/usr/bin/env bash
# s3_serve_test.sh: the model repository on S3 (docs/s3.md), against a real
# S3-compatible server started here (s3rver, a fork that verifies SigV4
# signatures; tests/e2e/s3_lib.sh):
#   (a) a request signed with a wrong secret is refused by the server, so
#       the accepted requests below were really signed;
#   (b) `cfx push --to s3://models/taxi` publishes version 1; 1,100 other
#       objects sort before it, so cfx-serve finds it only by paging the
#       listing; cfx-serve serves it from s3://models/taxi, and its cache
#       holds the very bytes of the bundle;
#   (c) under a continuous curl loop of :predict requests that must all
#       answer 200: a second version pushed is served within 10 s;
#   (d) a version whose weights do not match its manifest's sha256 is
#       refused, with a log line naming the object and both digests, and
#       version 2 keeps serving;
#   (e) a version uploaded without its manifest is not listed (nor are
#       bundles under 05/, 5x/ and 5.0/); once the manifest lands last it
#       is served;
#   (f) the store stopped: still serving, the outage logged (the store
#       cannot be reached) and shown by :cfx:serving:model_store_outage;
#       the store back on the same port ends the outage.
set -eEuo pipefail
FAIL_LOG_LINES=40
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

taxi_data
taxi_train "$T/m1" 100 10 5
taxi_train "$T/m2" 100 10 6
s3_bless "$T/m1/model" "$T/ev-m1"
s3_bless "$T/m2/model" "$T/ev-m2"
s3_start

# --- (a) signatures are checked -------------------------------------------------
rc=0
AWS_SECRET_ACCESS_KEY=WRONG "$CFX" push --model "$T/m1/model" --blessing "$T/ev-m1/blessing" \
    --to s3://models/taxi >"$T/wrong.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "(a) push with a wrong secret: exit $rc: $(cat "$T/wrong.out")"
grep -q 'answered HTTP 403 SignatureDoesNotMatch' "$T/wrong.out" ||
    fail "(a) the refusal does not name the signature: $(cat "$T/wrong.out")"
echo "(a) a wrong secret is refused: $(head -c 160 "$T/wrong.out")"

# --- (b) push, then serve from s3:// (the listing paged) ------------------------
: >"$T/empty"
for i in $(seq 1 1100); do
    echo "url = \"http://$S3_ENDPOINT/models/taxi/0pad/$i\""
    echo "upload-file = \"$T/empty\""
done >"$T/pad.curl"
E=$(sha256sum "$T/empty" | cut -d' ' -f1)
curl -sSf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: $E" -K "$T/pad.curl" -o /dev/null || fail "(b) padding objects"
OUT=$("$CFX" push --model "$T/m1/model" --blessing "$T/ev-m1/blessing" --to s3://models/taxi)
[ "$OUT" = "pushed version 1: s3://models/taxi/1" ] || fail "(b) push: $OUT"

echo 'prometheus_config { enable: true path: "/metrics" }' >"$T/monitoring.txt"
serve_start "$T/serve.log" --num_threads=2 --model_name=taxi \
    --model_base_path=s3://models/taxi --model_cache_dir="$T/cache" \
    --file_system_poll_wait_seconds=1 --monitoring_config_file="$T/monitoring.txt"
serve_ports "$T/serve.log" "$SPID"
U="http://127.0.0.1:$RPORT"
[ "$(served)" = 1 ] || fail "(b) version 1 not served: $(curl -s "$U/v1/models/taxi")"
CACHED=$(ls -d "$T"/cache/taxi-*/1)
diff -r "$T/m1/model" "$CACHED" >/dev/null || fail "(b) the cached version differs from the bundle pushed"
ROW=$(sed -n 1p "$T/m1/model/assets.extra/warmup.jsonl")
echo "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}" >"$T/body.json"
curl -sf --data-binary @"$T/body.json" "$U/v1/models/taxi:predict" >"$T/p1.json" || fail "(b) first predict"
echo "(b) pushed and served from s3://models/taxi past 1,100 other objects: OK"

# --- (c) a second version pushed under load --------------------------------------
predict_loop "$T/body.json"
sleep 1
OUT=$("$CFX" push --model "$T/m2/model" --blessing "$T/ev-m2/blessing" --to s3://models/taxi)
[ "$OUT" = "pushed version 2: s3://models/taxi/2" ] || fail "(c) push: $OUT"
echo "(c) version 2 served $(wait_served 2 10) after its push"
curl -sf --data-binary @"$T/body.json" "$U/v1/models/taxi:predict" >"$T/p2.json"
cmp -s "$T/p1.json" "$T/p2.json" && fail "(c) version 2 predicts exactly as version 1 (another seed)"
sleep 1
codes_ok "(c)"
echo "(c) pushed under load: OK ($(wc -l <"$T/codes") requests, all 200)"

# --- (d) a tampered version is refused -------------------------------------------
cp -r "$T/m2/model" "$T/bad"
W="$T/bad/variables/model.safetensors"
OFF=$(($(stat -c %s "$W") - 4))
B4=$(dd if="$W" bs=1 skip="$OFF" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $(((B4 + 1) % 256)))" | dd of="$W" bs=1 seek="$OFF" conv=notrunc 2>/dev/null
cmp -s "$W" "$T/m2/model/variables/model.safetensors" && fail "(d) the weights were not changed"
GOOD=$(sha256sum "$T/m2/model/variables/model.safetensors" | cut -d' ' -f1)
BAD=$(sha256sum "$W" | cut -d' ' -f1)
(cd "$T/bad" && find . -type f ! -name manifest.json | sed 's|^\./||') >"$T/bad.files"
while read -r f; do s3_put "$T/bad/$f" "taxi/3/$f"; done <"$T/bad.files"
s3_put "$T/bad/manifest.json" taxi/3/manifest.json
LINE="Loading servable: {name: taxi version: 3} failed: s3://models/taxi/3/variables/model.safetensors: sha256 expected $GOOD, found $BAD; the object does not match manifest.json"
for _ in $(seq 1 100); do grep -qF "$LINE" "$T/serve.log" && break; sleep 0.05; done
grep -qF "$LINE" "$T/serve.log" || fail "(d) no log line naming the tampered object"
[ "$(state_of 3)" = END ] || fail "(d) version 3 is $(state_of 3), want END"
curl -s "$U/v1/models/taxi/versions/3" | grep -qF "sha256 expected $GOOD, found $BAD" ||
    fail "(d) the status of version 3 does not say why"
[ "$(served)" = 2 ] && [ "$(state_of 2)" = AVAILABLE ] || fail "(d) version 2 must keep serving"
ls "$T"/cache/taxi-*/ | grep -qx 3 && fail "(d) the refused version stays in the cache"
codes_ok "(d)"
echo "(d) tampered weights refused: $(grep -F "$LINE" "$T/serve.log" | head -1 | cut -c1-150)..."

# --- (e) no manifest, no version ------------------------------------------------
(cd "$T/m1/model" && find . -type f ! -name manifest.json | sed 's|^\./||') >"$T/m1.files"
while read -r f; do s3_put "$T/m1/model/$f" "taxi/4/$f"; done <"$T/m1.files"
# whole bundles under names that are not plain numbers: never versions
for d in 05 5x 5.0; do
    while read -r f; do s3_put "$T/m1/model/$f" "taxi/$d/$f"; done <"$T/m1.files"
    s3_put "$T/m1/model/manifest.json" "taxi/$d/manifest.json"
done
sleep 2.5 # two polls
[ "$(count 'Loading servable version {name: taxi version: 4}')" = 0 ] ||
    fail "(e) a version without its manifest was loaded"
[ "$(count 'Loading servable version {name: taxi version: 5}')" = 0 ] ||
    fail "(e) 05, 5x or 5.0 was taken for version 5"
[ "$(served)" = 2 ] || fail "(e) version 2 must keep serving"
s3_put "$T/m1/model/manifest.json" taxi/4/manifest.json
echo "(e) version 4 served $(wait_served 4 10) after its manifest, uploaded last"
codes_ok "(e)"

# --- (f) the store stopped, then back --------------------------------------------
OUTAGE='Model store outage for servable taxi: cannot list base path s3://models/taxi: '
s3_stop
for _ in $(seq 1 100); do [ "$(count "$OUTAGE")" -ge 1 ] && break; sleep 0.05; done
# a transport error (connection refused, or reset when the stop caught a
# request), not an HTTP answer
grep -F "$OUTAGE" "$T/serve.log" | grep -q "(listing): GET http://$S3_ENDPOINT: " ||
    fail "(f) the outage log does not say the store cannot be reached"
[ "$(metric model_store_outage)" = 1 ] || fail "(f) outage gauge: $(metric model_store_outage)"
sleep 3
[ "$(served)" = 4 ] && [ "$(state_of 4)" = AVAILABLE ] || fail "(f) version 4 must keep serving"
[ "$(count "$OUTAGE")" = 1 ] || fail "(f) the outage is logged $(count "$OUTAGE") times, want once"
codes_ok "(f) during the outage"
echo "(f) store down 3 s: still serving; $(grep -F "$OUTAGE" "$T/serve.log" | cut -c1-160)..."
s3_start "$S3_PORT"
for _ in $(seq 1 100); do [ "$(metric model_store_outage)" = 0 ] && break; sleep 0.05; done
[ "$(metric model_store_outage)" = 0 ] || fail "(f) the outage gauge stays set with the store back"
grep -q 'Model store of servable taxi is back: base path s3://models/taxi lists 4 version(s)' "$T/serve.log" ||
    fail "(f) the end of the outage is not logged"
[ "$(count 'Unloading servable version {name: taxi version: 4}')" = 0 ] || fail "(f) version 4 was unloaded"
[ "$(ls "$T"/cache/taxi-*/)" = 4 ] || fail "(f) the cache holds $(ls "$T"/cache/taxi-*/ | tr '\n' ' '), want only 4"

touch "$T/stop"
wait "$LPID" 2>/dev/null || true
codes_ok "(f)"
echo "s3_serve_test: OK ($(wc -l <"$T/codes") requests under load, all 200)"
