# s3_lib.sh: the S3-compatible server of the s3 end-to-end tests, sourced
# after serve_lib.sh (not a test itself). s3rver is installed by
# scripts/install-deps.sh into .deps/npm of the source tree (or named by
# CFX_S3RVER_DIR); a test fails at once, saying so, when it is missing:
# nothing is downloaded at test time.
#   s3_start [PORT]   starts it on PORT (0 or none: a free one) with the
#                     bucket "models", data in $T/s3data; sets S3_PORT,
#                     S3_PID and exports the S3 environment of cfx (plain
#                     HTTP); with S3_TLS_KEY and S3_TLS_CERT set (PEM
#                     files) it speaks HTTPS and S3_USE_HTTPS is left unset
#                     (S3_SERVER_REQUEST_LOG and S3_SERVER_LIST_SIZE_LIE,
#                     when exported, log its requests and understate listed
#                     sizes: tests/e2e/s3_server.js)
#   s3_stop           stops it (the data stays)
#   s3_put FILE KEY   uploads FILE as models/KEY with curl's own SigV4
#   s3_bless BUNDLE OUT  evaluates the taxi BUNDLE on the examples in $T/ex
#                     with a threshold every model meets, so that
#                     OUT/blessing lets `cfx push` publish it
S3RVER_DIR=${CFX_S3RVER_DIR:-$CFX_SOURCE_DIR/.deps/npm/node_modules/@20minutes/s3rver}
[ -e "$S3RVER_DIR/package.json" ] ||
    fail "s3rver is not installed at $S3RVER_DIR: run scripts/install-deps.sh"
command -v node >/dev/null || fail "node is not installed: run scripts/install-deps.sh"

s3_start() {
    mkdir -p "$T/s3data"
    # s3rver's continuation tokens use a cipher OpenSSL 3 keeps in its
    # legacy provider
    node --openssl-legacy-provider "$CFX_SOURCE_DIR/tests/e2e/s3_server.js" \
        "$S3RVER_DIR" "$T/s3data" "${1:-0}" models ${S3_TLS_KEY:+"$S3_TLS_KEY" "$S3_TLS_CERT"} \
        >"$T/s3rver.log" 2>&1 &
    S3_PID=$!
    PIDS+=("$S3_PID")
    S3_PORT=
    for _ in $(seq 1 200); do
        S3_PORT=$(sed -n 's/^s3rver listening on \([0-9]*\)$/\1/p' "$T/s3rver.log" 2>/dev/null || true)
        [ -n "$S3_PORT" ] && break
        kill -0 "$S3_PID" 2>/dev/null || fail "s3rver exited: $(cat "$T/s3rver.log")"
        sleep 0.05
    done
    [ -n "$S3_PORT" ] || fail "s3rver did not start: $(cat "$T/s3rver.log")"
    export AWS_REGION=us-east-1 S3_ENDPOINT="127.0.0.1:$S3_PORT" \
        AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
    if [ -n "${S3_TLS_KEY:-}" ]; then unset S3_USE_HTTPS; else export S3_USE_HTTPS=0; fi
}

s3_stop() {
    kill "$S3_PID" 2>/dev/null || true
    wait "$S3_PID" 2>/dev/null || true
}

s3_put() {
    local sha
    sha=$(sha256sum "$1" | cut -d' ' -f1)
    curl -sSf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: $sha" -T "$1" "http://$S3_ENDPOINT/models/$2" -o /dev/null # plain HTTP only
}

s3_bless() {
    cat >"$T/eval.json" <<'EOF'
{"model_specs": [{"signature_name": "serving_default", "label_key": "tips_xf",
                  "preprocessing_function_names": ["transform_features"]}],
 "slicing_specs": [{}],
 "metrics_specs": [{"metrics": [{"class_name": "BinaryAccuracy", "per_slice_thresholds": [
     {"slicing_specs": [{}], "threshold": {"value_threshold": {"lower_bound": 0.0}}}]}]}]}
EOF
    "$CFX" evaluate --model "$1" --examples "$T/ex" --config "$T/eval.json" --output "$2" >/dev/null
}
