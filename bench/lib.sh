# bench/lib.sh: the serving benchmarks' shared setup, sourced by them after
# they set SERVER_THREADS, CFX_SERVE and (optionally) SRUN, a taskset prefix
# for the servers. Sourcing it makes a temporary directory T, removed on exit
# with every process listed in PIDS killed first. nginx_start, serve_start
# and serve_wait start nginx on a free port (NPORT) serving a small static
# file, and cfx-serve on the model under $T/models/taxi, which taxi_bundle
# builds.

BENCH_PY=/usr/bin/python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -n "${SRUN+x}" ] || SRUN=()
T=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    rm -rf "$T"
}
trap cleanup EXIT
free_port() { "$BENCH_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx_start [h2]: nginx with SERVER_THREADS workers on NPORT, serving
# $T/www/small.json; h2 listens for HTTP/2 cleartext (prior knowledge).
nginx_start() {
    local h2conf='' listen=''
    if [ "${1:-}" = h2 ]; then
        h2conf=$'    http2_max_requests 1000000;\n    http2_max_concurrent_streams 128;\n'
        listen=' http2'
    fi
    NPORT=$(free_port)
    mkdir -p "$T/www" "$T/nginx"
    chmod 755 "$T" "$T/www" # nginx workers may run as another user
    printf '{"predictions": [[0.123456789]]}' >"$T/www/small.json"
    cat >"$T/nginx/nginx.conf" <<N
daemon off;
worker_processes $SERVER_THREADS;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    keepalive_requests 1000000;
${h2conf}    server {
        listen 127.0.0.1:$NPORT$listen;
        root $T/www;
    }
}
N
    "${SRUN[@]}" "$NGINX" -c "$T/nginx/nginx.conf" -p "$T/nginx" 2>"$T/nginx/stderr" &
    PIDS+=($!)
}

# nginx_check: one GET of the static file (HTTP/1.1), or the logs and exit.
nginx_check() {
    curl -sf "http://127.0.0.1:$NPORT/small.json" >/dev/null || { cat "$T/nginx/error.log" "$T/nginx/stderr"; exit 1; }
}

# serve_start PORT_FLAGS...: cfx-serve with SERVER_THREADS threads on the
# taxi model, its log in $T/serve.log; SPID is its process.
serve_start() {
    local ports=("$@")
    "${SRUN[@]}" "$CFX_SERVE" "${ports[@]}" --num_threads="$SERVER_THREADS" --model_name=taxi \
        --model_base_path="$T/models/taxi" >"$T/serve.log" 2>&1 &
    SPID=$!
    PIDS+=($SPID)
}

# serve_wait grpc|rest|both: waits (10 s at most) until cfx-serve has logged
# the ports asked for, sets GPORT and RPORT, or prints the log and exits.
serve_wait() {
    local ok=0
    GPORT='' RPORT=''
    for _ in $(seq 1 200); do
        GPORT=$(sed -n 's/.*Running gRPC ModelServer at [0-9.]*:\([0-9]*\).*/\1/p' "$T/serve.log" 2>/dev/null || true)
        RPORT=$(sed -n 's/.*Exporting HTTP\/REST API at:localhost:\([0-9]*\).*/\1/p' "$T/serve.log" 2>/dev/null || true)
        case $1 in
        grpc) [ -n "$GPORT" ] && ok=1 ;;
        rest) [ -n "$RPORT" ] && ok=1 ;;
        *) [ -n "$GPORT" ] && [ -n "$RPORT" ] && ok=1 ;;
        esac
        [ "$ok" = 1 ] && break
        sleep 0.05
    done
    [ "$ok" = 1 ] || { cat "$T/serve.log"; exit 1; }
    sleep 0.3
}

# taxi_bundle STEPS: the taxi pipeline (examplegen, statistics, schema,
# transform, train for STEPS steps) into $T/models/taxi/1; needs CFX, ROOT.
taxi_bundle() {
    "$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/ex" >/dev/null
    "$CFX" statistics --examples "$T/ex" --output "$T/st" >/dev/null
    "$CFX" schema --statistics "$T/st" --output "$T/sc" >/dev/null
    "$CFX" transform --examples "$T/ex" --schema "$T/sc/schema.pbtxt" \
        --spec "$ROOT/examples/taxi/transform.json" --output "$T/tf" >/dev/null
    sed -e "s/\"train_steps\": *[0-9]*/\"train_steps\": $1/" \
        -e "s/\"eval_every_steps\": *[0-9]*/\"eval_every_steps\": $1/" \
        "$ROOT/examples/taxi/trainer.json" >"$T/trainer.json"
    "$CFX" train --examples "$T/tf/transformed_examples" --transform-graph "$T/tf/transform_graph" \
        --config "$T/trainer.json" --raw-examples "$T/ex" --output "$T/train" --quiet >/dev/null
    mkdir -p "$T/models/taxi"
    cp -r "$T/train/model" "$T/models/taxi/1"
}
