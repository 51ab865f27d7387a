#!/usr/bin/env bash
# s3_version_cap_test.sh: --s3_max_version_bytes, the cap on what one
# version of an s3:// base path may download (docs/s3.md, "Bounds"),
# against the S3-compatible test server of tests/e2e/s3_lib.sh, which here
# logs every request and understates the listed sizes of versions 3 to 5.
# Two models, taxi and other, serve version 1 from S3 with a cap a little
# above the bundle's size; then versions of taxi are published:
#   (a) 2: the bundle and a 1 MiB object beside it, listed honestly: refused
#       from the listing with no request for any of its objects, the error
#       (model, version, cap, listed bytes) in the log and in the version's
#       status; retried with the load backoff (1 s, 2 s, 4 s), not every
#       poll;
#   (b) 3: its manifest lists a 1 MiB file, the listing says 1 byte each:
#       refused after the manifest alone, naming the bytes it declares;
#   (c) 4: a manifest itself larger than the cap, the listing says 1 byte
#       each: its transfer is stopped once the cap is passed;
#   (d) 5: the manifest says 10 bytes for a 1 MiB object, the listing 1
#       byte each: the files before it are downloaded, its transfer stops,
#       and nothing of the version stays in the cache;
#   (e) 6, pushed with `cfx push`, under the cap: served.
# Throughout, taxi's version 1 answers every request (until 6 replaces it)
# and other's version 1 keeps serving. A second server with
# --s3_max_version_bytes=0 (no limit) loads version 2.
set -eEuo pipefail
FAIL_LOG_LINES=40
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/s3_lib.sh"

taxi_data
taxi_train "$T/m1" 100 10 5
taxi_train "$T/m2" 100 10 6
s3_bless "$T/m1/model" "$T/ev-m1"
s3_bless "$T/m2/model" "$T/ev-m2"
export S3_SERVER_REQUEST_LOG="$T/requests.log" S3_SERVER_LIST_SIZE_LIE='^taxi/[345]/'
s3_start

bytes_of() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s}'; }
files_of() { (cd "$1" && find . -type f ! -name manifest.json | sed 's|^\./||'); }
# uploads the bundle folder $1 as taxi/$2, manifest.json last
publish() {
    files_of "$1" >"$T/files"
    while read -r f; do s3_put "$1/$f" "taxi/$2/$f"; done <"$T/files"
    s3_put "$1/manifest.json" "taxi/$2/manifest.json"
}
# waits up to 10 s for a line of the server log holding $1
wait_log() {
    for _ in $(seq 1 200); do grep -qF -- "$1" "$T/serve.log" && return 0; sleep 0.05; done
    fail "$2: no log line holding: $1"
}
# the objects of taxi/$1/ the server has asked for
gets_of() { grep -c "^GET /models/taxi/$1/" "$T/requests.log" || true; }
other_ok() {
    curl -s "http://127.0.0.1:$RPORT/v1/models/other" | grep -q '"state": "AVAILABLE"' ||
        fail "$1: model other is not AVAILABLE: $(curl -s "http://127.0.0.1:$RPORT/v1/models/other")"
    curl -sf --data-binary @"$T/body.json" "http://127.0.0.1:$RPORT/v1/models/other:predict" >/dev/null ||
        fail "$1: model other does not answer"
}
cache_clean() {
    ls -A "$T"/cache/taxi-*/ | grep -qx "$1" && fail "$2: version $1 is in the cache"
    ls -A "$T"/cache/taxi-*/ | grep -q '^\.tmp-' && fail "$2: a download folder is left: $(ls -A "$T"/cache/taxi-*/)"
    return 0
}

B1=$(bytes_of "$T/m1/model")
B2=$(bytes_of "$T/m2/model")
CAP=$(((B1 > B2 ? B1 : B2) + 65536))
OUT=$("$CFX" push --model "$T/m1/model" --blessing "$T/ev-m1/blessing" --to s3://models/taxi)
[ "$OUT" = "pushed version 1: s3://models/taxi/1" ] || fail "push taxi: $OUT"
OUT=$("$CFX" push --model "$T/m1/model" --blessing "$T/ev-m1/blessing" --to s3://models/other)
[ "$OUT" = "pushed version 1: s3://models/other/1" ] || fail "push other: $OUT"
cat >"$T/models.config" <<'EOF'
model_config_list {
  config { name: "taxi" base_path: "s3://models/taxi" model_platform: "tensorflow" }
  config { name: "other" base_path: "s3://models/other" model_platform: "tensorflow" }
}
EOF
serve_start "$T/serve.log" --num_threads=2 --model_config_file="$T/models.config" \
    --model_cache_dir="$T/cache" --s3_max_version_bytes="$CAP" --file_system_poll_wait_seconds=1
serve_ports "$T/serve.log" "$SPID"
U="http://127.0.0.1:$RPORT"
[ "$(served)" = 1 ] || fail "taxi version 1 not served under a cap of $CAP bytes: $(curl -s "$U/v1/models/taxi")"
ROW=$(sed -n 1p "$T/m1/model/assets.extra/warmup.jsonl")
echo "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}" >"$T/body.json"
other_ok "start"
predict_loop "$T/body.json"
echo "bundles of $B1 and $B2 bytes, cap $CAP bytes: both models serve version 1"

# --- (a) listed over the cap: nothing requested ---------------------------------
head -c 1048576 /dev/urandom >"$T/pad.bin"
s3_put "$T/pad.bin" taxi/2/assets.extra/pad.bin
publish "$T/m1/model" 2
WANT="model taxi version 2: its objects under s3://models/taxi/2/ are listed with $((B1 + 1048576)) bytes, more than --s3_max_version_bytes=$CAP; nothing downloaded"
wait_log "Loading servable: {name: taxi version: 2} failed: $WANT" "(a)"
[ "$(state_of 2)" = END ] || fail "(a) version 2 is $(state_of 2), want END"
curl -s "$U/v1/models/taxi/versions/2" >"$T/status2.json"
grep -qF "$WANT" "$T/status2.json" && grep -q '"error_code": "RESOURCE_EXHAUSTED"' "$T/status2.json" ||
    fail "(a) the status of version 2 does not say why: $(cat "$T/status2.json")"
wait_log "Will retry servable version {name: taxi version: 2} in 4 s (failure 3 in a row)" "(a) backoff"
sleep 1
[ "$(count 'Loading servable version {name: taxi version: 2}')" = 3 ] ||
    fail "(a) version 2 was tried $(count 'Loading servable version {name: taxi version: 2}') times by 1 s after the third failure, want 3 (1 s, then 2 s backoff)"
[ "$(gets_of 2)" = 0 ] || fail "(a) objects of version 2 were requested: $(grep '/taxi/2/' "$T/requests.log")"
[ "$(served)" = 1 ] && [ "$(state_of 1)" = AVAILABLE ] || fail "(a) version 1 must keep serving"
cache_clean 2 "(a)"
other_ok "(a)"
codes_ok "(a)"
echo "(a) refused from the listing, no object requested, 3 tries in 5 s: $(grep -F "$WANT" "$T/serve.log" | head -1 | cut -c1-160)..."

# padded DIR [N]: a copy of m1's bundle in DIR with assets.extra/pad.bin
# added to its manifest, declared whole, or (N) as its first N bytes only.
padded() {
    cp -r "$T/m1/model" "$1"
    cp "$T/pad.bin" "$1/assets.extra/pad.bin"
    "$PY" - "$1" "${2:-}" <<'EOF'
import hashlib, json, sys
d, n = sys.argv[1], sys.argv[2]
with open(d + "/manifest.json") as f:
    m = json.load(f)
with open(d + "/assets.extra/pad.bin", "rb") as f:
    pad = f.read(int(n)) if n else f.read()
m["files"]["assets.extra/pad.bin"] = {"sha256": hashlib.sha256(pad).hexdigest(), "size": len(pad)}
with open(d + "/manifest.json", "w") as f:
    json.dump(m, f)
EOF
}

# --- (b) the listing lies, the manifest declares over the cap -------------------
padded "$T/b3"
publish "$T/b3" 3
WANT="model taxi version 3: s3://models/taxi/3/manifest.json and the files it lists hold $(bytes_of "$T/b3") bytes, more than --s3_max_version_bytes=$CAP; no file downloaded"
wait_log "Loading servable: {name: taxi version: 3} failed: $WANT" "(b)"
[ "$(state_of 3)" = END ] || fail "(b) version 3 is $(state_of 3), want END"
[ "$(grep "^GET /models/taxi/3/" "$T/requests.log" | sort -u)" = "GET /models/taxi/3/manifest.json" ] ||
    fail "(b) requests for version 3 other than its manifest: $(grep '/taxi/3/' "$T/requests.log" | sort -u)"
[ "$(served)" = 1 ] || fail "(b) version 1 must keep serving"
cache_clean 3 "(b)"
other_ok "(b)"
codes_ok "(b)"
echo "(b) a listing of 1-byte objects, refused by the manifest's sizes: OK"

# --- (c) the listing lies, the manifest alone passes the cap --------------------
cp -r "$T/m1/model" "$T/b4"
"$PY" - "$T/b4/manifest.json" "$CAP" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    m = json.load(f)
m["padding"] = "x" * int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    json.dump(m, f)
EOF
M4=$(stat -c %s "$T/b4/manifest.json")
publish "$T/b4" 4
wait_log "Loading servable: {name: taxi version: 4} failed: model taxi version 4: " "(c)"
LINE=$(grep -F "Loading servable: {name: taxi version: 4} failed: " "$T/serve.log" | head -1)
GOT=$(sed -n "s/.* failed: model taxi version 4: \([0-9]*\) bytes received (its listing gave $(files_of "$T/b4" | wc -l | awk '{print $1 + 1}')), more than --s3_max_version_bytes=$CAP; download stopped, nothing kept$/\1/p" <<<"$LINE")
[ -n "$GOT" ] && [ "$GOT" -gt "$CAP" ] && [ "$GOT" -le "$M4" ] ||
    fail "(c) want the bytes received past the cap $CAP and within the manifest's $M4: $LINE"
[ "$(grep "^GET /models/taxi/4/" "$T/requests.log" | sort -u)" = "GET /models/taxi/4/manifest.json" ] ||
    fail "(c) requests for version 4 other than its manifest: $(grep '/taxi/4/' "$T/requests.log" | sort -u)"
[ "$(state_of 4)" = END ] && [ "$(served)" = 1 ] || fail "(c) version 4 is $(state_of 4), version 1 must keep serving"
cache_clean 4 "(c)"
other_ok "(c)"
codes_ok "(c)"
echo "(c) manifest transfer stopped at $GOT of $M4 bytes (cap $CAP): OK"

# --- (d) the manifest lies about a file: stopped mid-version, nothing kept -------
padded "$T/b5" 10
publish "$T/b5" 5
WANT="Loading servable: {name: taxi version: 5} failed: s3://models/taxi/5/assets.extra/pad.bin: size expected 10, found more; the object does not match manifest.json"
wait_log "$WANT" "(d)"
grep -qx "GET /models/taxi/5/variables/model.safetensors" "$T/requests.log" ||
    fail "(d) the files before the lying one were not downloaded: $(grep '/taxi/5/' "$T/requests.log" | sort -u)"
[ "$(state_of 5)" = END ] && [ "$(served)" = 1 ] || fail "(d) version 5 is $(state_of 5), version 1 must keep serving"
cache_clean 5 "(d)"
other_ok "(d)"
codes_ok "(d)"
echo "(d) a file larger than its manifest says: transfer stopped, nothing of version 5 kept"

# --- (e) under the cap: served ---------------------------------------------------
OUT=$("$CFX" push --model "$T/m2/model" --blessing "$T/ev-m2/blessing" --to s3://models/taxi)
[ "$OUT" = "pushed version 6: s3://models/taxi/6" ] || fail "(e) push: $OUT"
echo "(e) version 6 ($B2 bytes) served $(wait_served 6 10) after its push"
for _ in $(seq 1 100); do # the prune after the next scan
    [ "$(ls "$T"/cache/taxi-*/)" = 6 ] && break
    sleep 0.1
done
[ "$(ls "$T"/cache/taxi-*/)" = 6 ] || fail "(e) the cache holds $(ls -A "$T"/cache/taxi-*/ | tr '\n' ' '), want only 6"
other_ok "(e)"
touch "$T/stop"
wait "$LPID" 2>/dev/null || true
codes_ok "(e)"

# --- 0: no limit -----------------------------------------------------------------
sed 's/model_platform: "tensorflow" }/model_platform: "tensorflow" model_version_policy { specific { versions: 2 } } }/; /other/d' \
    "$T/models.config" >"$T/models0.config"
serve_start "$T/serve0.log" --model_config_file="$T/models0.config" --model_cache_dir="$T/cache0" \
    --s3_max_version_bytes=0 --file_system_poll_wait_seconds=1
serve_ports "$T/serve0.log" "$SPID"
curl -s "http://127.0.0.1:$RPORT/v1/models/taxi/versions/2" | grep -q '"state": "AVAILABLE"' ||
    fail "(0) version 2 not served with --s3_max_version_bytes=0: $(curl -s "http://127.0.0.1:$RPORT/v1/models/taxi")"
echo "s3_version_cap_test: OK ($(wc -l <"$T/codes") requests, all 200; with no limit version 2 serves)"
