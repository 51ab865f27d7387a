# bench/lib.sh: the serving benchmarks' shared setup, sourced by them after
# they set ROOT (the source tree), BUILD (the build directory), where they
# differ from the defaults below THREADS, CONNS, CLIENTS, STREAMS, SECS,
# ROUNDS and SERVER_THREADS (client threads, connections, h2load clients and
# streams per client, seconds per run, rounds, server threads: 2, 32, 8, 16,
# 5, 3, 2; each also from the environment), and optionally SRUN, a taskset
# prefix for the servers. It sets CFX, CFX_SERVE (of BUILD), PY and NGINX,
# and makes a temporary directory T, removed on exit with every process
# listed in PIDS killed first. need checks for programs; nginx_start (or
# nginx_run), serve_start and serve_wait start nginx on a free port (NPORT)
# serving a small static file, and cfx-serve on the model under
# $T/models/taxi, which taxi_bundle builds; wrk_post_lua writes wrk's script
# for a POST.

CFX=$BUILD/cfx
CFX_SERVE=$BUILD/cfx-serve
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
CLIENTS=${CLIENTS:-8}
STREAMS=${STREAMS:-16}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
SERVER_THREADS=${SERVER_THREADS:-2}
PY=/usr/bin/python3
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
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# need PROGRAM...: each must be installed (a name on PATH or a path), or
# the bench stops naming the first that is not.
need() {
    local b
    for b in "$@"; do
        command -v "$b" >/dev/null || { echo "missing: $b" >&2; exit 1; }
    done
}

# nginx_run HTTP_LINES LISTEN...: nginx with SERVER_THREADS workers serving
# $T/www/small.json on each LISTEN ("127.0.0.1:PORT", flags after a space),
# HTTP_LINES (each ending in a newline) added to its http block.
nginx_run() {
    local extra=$1 l listens=''
    shift
    for l in "$@"; do listens+="        listen $l;"$'\n'; done
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
${extra}    server {
${listens}        root $T/www;
    }
}
N
    "${SRUN[@]}" "$NGINX" -c "$T/nginx/nginx.conf" -p "$T/nginx" 2>"$T/nginx/stderr" &
    PIDS+=($!)
}

# The http lines of an HTTP/2 nginx: as many requests and streams as a
# benchmark sends on one connection.
NGINX_H2=$'    http2_max_requests 1000000;\n    http2_max_concurrent_streams 128;\n'

# nginx_start [h2]: nginx_run on NPORT; h2 listens for HTTP/2 cleartext
# (prior knowledge).
nginx_start() {
    NPORT=$(free_port)
    if [ "${1:-}" = h2 ]; then
        nginx_run "$NGINX_H2" "127.0.0.1:$NPORT http2"
    else
        nginx_run '' "127.0.0.1:$NPORT"
    fi
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

# wrk_post_lua BODY: prints wrk's Lua script that POSTs BODY as JSON.
wrk_post_lua() {
    "$PY" -c 'import json,sys
print("wrk.method = \"POST\"\nwrk.body = " + json.dumps(sys.argv[1]) + "\nwrk.headers[\"Content-Type\"] = \"application/json\"")' "$1"
}

# taxi_bundle [STEPS]: the taxi pipeline (examplegen, statistics, schema,
# transform, train with examples/taxi/trainer.json, for STEPS steps when
# given) into $T/models/taxi/1.
taxi_bundle() {
    "$CFX" examplegen --input "$ROOT/examples/taxi/data.csv" --output "$T/ex" >/dev/null
    "$CFX" statistics --examples "$T/ex" --output "$T/st" >/dev/null
    "$CFX" schema --statistics "$T/st" --output "$T/sc" >/dev/null
    "$CFX" transform --examples "$T/ex" --schema "$T/sc/schema.pbtxt" \
        --spec "$ROOT/examples/taxi/transform.json" --output "$T/tf" >/dev/null
    local conf=$ROOT/examples/taxi/trainer.json
    if [ -n "${1:-}" ]; then
        sed -e "s/\"train_steps\": *[0-9]*/\"train_steps\": $1/" \
            -e "s/\"eval_every_steps\": *[0-9]*/\"eval_every_steps\": $1/" "$conf" >"$T/trainer.json"
        conf=$T/trainer.json
    fi
    "$CFX" train --examples "$T/tf/transformed_examples" --transform-graph "$T/tf/transform_graph" \
        --config "$conf" --raw-examples "$T/ex" --output "$T/train" --quiet >/dev/null
    mkdir -p "$T/models/taxi"
    cp -r "$T/train/model" "$T/models/taxi/1"
}
