#!/usr/bin/env bash
# with_postgres.sh CMD [ARGS...]: runs CMD with a PostgreSQL server of its
# own, for the tests of the PostgreSQL metadata store (docs/metadata.md).
#
# initdb makes a cluster in a fresh temporary directory; the server listens
# only on a unix socket in that directory (no TCP), on a port number not in
# use by another socket there. CMD sees
#   CFX_TEST_PG       a libpq connection string of the server's "postgres"
#                     database (superuser "cfx", trust authentication), from
#                     which a test creates databases of its own
#   CFX_TEST_PG_HOST  the socket directory, CFX_TEST_PG_PORT the port: the
#                     URL of a database DB of that server is
#                     postgresql://cfx@/DB?host=$CFX_TEST_PG_HOST&port=$CFX_TEST_PG_PORT
# and its exit status is this script's. The server is stopped and the
# directory removed afterwards, whatever happened.
#
# PostgreSQL refuses to run as root: run as root, the server runs as the
# unprivileged user nobody (setpriv), the directory is given to that user,
# and the root test connects over the socket as "cfx" all the same.
# A missing PostgreSQL is a failure (scripts/install-deps.sh installs it).
set -u
PGBIN=${CFX_PG_BIN:-}
if [[ -z "$PGBIN" ]]; then
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] && PGBIN=$d
    done
fi
if [[ -z "$PGBIN" || ! -x "$PGBIN/initdb" ]]; then
    echo "with_postgres.sh: PostgreSQL (initdb) not found: run scripts/install-deps.sh" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/cfx-pg.XXXXXX) || exit 1
as_server=()
if [[ $(id -u) == 0 ]]; then
    chown nobody "$dir"
    as_server=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
chmod 755 "$dir"

stop() {
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        (cd "$dir" && "${as_server[@]}" "$PGBIN/pg_ctl" -D "$dir/data" \
            -m immediate -w stop >/dev/null 2>&1)
    fi
    rm -rf "$dir"
}
trap stop EXIT

if ! (cd "$dir" && "${as_server[@]}" "$PGBIN/initdb" -D "$dir/data" -U cfx \
    --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1); then
    echo "with_postgres.sh: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi

started=0
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    [[ -e "$dir/.s.PGSQL.$port" ]] && continue
    if (cd "$dir" && "${as_server[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -w \
        -t 60 -l "$dir/server.log" \
        -o "-c listen_addresses= -k $dir -p $port -c fsync=off \
            -c max_connections=200 -c shared_buffers=32MB" \
        start >/dev/null 2>&1); then
        started=1
        break
    fi
done
if [[ $started != 1 ]]; then
    echo "with_postgres.sh: the server did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
fi

export CFX_TEST_PG="host=$dir port=$port user=cfx dbname=postgres"
export CFX_TEST_PG_HOST=$dir CFX_TEST_PG_PORT=$port
"$@"
rc=$?
exit $rc
