/*
 * md_pg.c: the PostgreSQL backend of the metadata store (md_backend.h), on
 * libpq, for pipelines on several machines sharing one store
 * (docs/metadata.md, PostgreSQL).
 *
 * Concurrency: the SQLite store serialises writers with its file lock; here
 * the same lock is a transaction-level advisory lock (MD_PG_LOCK_KEY) that
 * every write transaction takes right after BEGIN and that a write
 * statement outside a transaction takes around itself (BEGIN, lock,
 * statement, COMMIT, sent together in libpq's pipeline mode: one round
 * trip). So writes are serialised as in SQLite: "find, else
 * insert" in one transaction cannot race another process's, and one lock
 * means no lock-order deadlock between writers. Transactions run at READ
 * COMMITTED on purpose: each statement reads a snapshot taken when it
 * starts, after the lock was granted, so a writer sees everything the
 * previous holder committed (REPEATABLE READ would keep the snapshot of
 * the first statement, taken before the wait, and miss it). Reads take no
 * lock and see committed data, as readers of a WAL file do. Should a
 * statement outside a transaction still meet a serialization failure or a
 * deadlock (40001, 40P01: another client of the database, say), it is run
 * again with randomised backoff, for at most MD_LOCK_WAIT_MS; inside a
 * caller's transaction that cannot be done for it, and the error
 * (CFX_EUNAVAILABLE) is returned. lock_timeout bounds each wait for a lock.
 *
 * Statements: metadata.c's `?` and `?N` parameters become `$N`; values go
 * as text with their types (int8, float8, text), unbound ones as NULL (as
 * SQLite treats them); the inserts whose id metadata.c reads get
 * "RETURNING id". A statement runs at its first step and its rows are
 * read whole, so a callback of a listing may run other statements on the
 * same connection (as with SQLite).
 */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "formats/clock.h"
#include "mlmd/md_backend.h"

/* The store's write lock: pg_advisory_xact_lock of this key ("cfx-md"),
 * one per database. */
#define MD_PG_LOCK_KEY "109291754057060"
#define MD_PG_MAX_PARAMS 16

/* Type OIDs (pg_type.h). */
#define INT8OID 20
#define FLOAT8OID 701
#define TEXTOID 25

struct md_conn {
    PGconn *pg;
    char *label;
    int in_tx;
    int64_t changes;
    int64_t last_id; /* of the last INSERT ... RETURNING id; */
    int have_last_id;
    unsigned seed;
};

struct md_stmt {
    md_conn_t *c;
    char *sql;
    int nparams;
    int is_write;
    int returning; /* "RETURNING id" appended: the inserted id comes back */
    char *vals[MD_PG_MAX_PARAMS];
    Oid types[MD_PG_MAX_PARAMS];
    PGresult *res;
    int row, nrows, ran;
};

static void quiet_notices(void *arg, const char *msg) {
    (void)arg;
    (void)msg; /* "relation already exists, skipping" and the like */
}

static int code_of_state(const char *state) {
    if (!state)
        return CFX_EUNAVAILABLE; /* no result: the connection is gone */
    if (!strncmp(state, "23", 2))
        return CFX_EEXIST;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") ||
        !strcmp(state, "55P03") || !strncmp(state, "08", 2) ||
        !strncmp(state, "57P", 3) || !strcmp(state, "53300"))
        return CFX_EUNAVAILABLE;
    if (!strncmp(state, "53", 2))
        return CFX_ENOMEM;
    if (!strcmp(state, "22001"))
        return CFX_ETOOBIG;
    return CFX_EIO;
}

/* Whether running the same statement again may succeed. */
static int retryable(const char *state) {
    return state && (!strcmp(state, "40001") || !strcmp(state, "40P01"));
}

/* The error of a failed result (or of the connection when res is NULL). */
static int pg_fail(md_conn_t *c, PGresult *res, cfx_error_t *err,
                   const char *what) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
    if (!msg || !*msg)
        msg = PQerrorMessage(c->pg);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return cfx_error_set(
        err, code_of_state(state), "%s: %s: %.*s%s%s%s", c->label, what, (int)n,
        msg, state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

/* Runs a command without parameters or rows; 0 or the failed result's
 * SQLSTATE class in *state (static storage, may be NULL). */
static int command(md_conn_t *c, const char *sql, const char *what,
                   cfx_error_t *err, int *retry) {
    PGresult *res = PQexec(c->pg, sql);
    int ret = 0;
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        if (retry)
            *retry =
                res && retryable(PQresultErrorField(res, PG_DIAG_SQLSTATE));
        ret = pg_fail(c, res, err, what);
    }
    PQclear(res);
    return ret;
}

static int session_settings(md_conn_t *c, cfx_error_t *err) {
    char set[128];
    PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
    snprintf(set, sizeof set,
             "SET client_min_messages = warning; SET lock_timeout = %d",
             MD_LOCK_WAIT_MS);
    return command(c, set, "session settings", err, NULL);
}

/* Outside a transaction, a connection the server dropped (a restart, an
 * idle timeout, an administrator) is opened again: before a statement when
 * libpq already knows it is gone, and after a statement that found it gone
 * before the server ran anything of it (a read; a write whose BEGIN never
 * ran), which is then sent once more. Inside a transaction the transaction
 * is lost and the call fails. */
static int reconnect_if_lost(md_conn_t *c, cfx_error_t *err) {
    if (c->in_tx || PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK)
        return pg_fail(c, NULL, err, "reconnecting");
    return session_settings(c, err);
}

static int lock_store(md_conn_t *c, cfx_error_t *err, int *retry) {
    return command(c, "SELECT pg_advisory_xact_lock(" MD_PG_LOCK_KEY ")",
                   "waiting for the store's write lock", err, retry);
}

static int pg_begin(md_conn_t *c, cfx_error_t *err) {
    uint64_t deadline = 0;
    unsigned delay = 0;
    for (;;) {
        int retry = 0;
        int ret = reconnect_if_lost(c, err);
        if (ret || (ret = command(c, "BEGIN ISOLATION LEVEL READ COMMITTED",
                                  "begin transaction", err, NULL)))
            return ret;
        if (!(ret = lock_store(c, err, &retry))) {
            c->in_tx = 1;
            return 0;
        }
        command(c, "ROLLBACK", "rollback", NULL, NULL);
        if (!retry || !cfx_md_retry_wait(&c->seed, &deadline, &delay))
            return ret;
        cfx_error_init(err);
    }
}

/* COMMIT of a transaction that had failed answers ROLLBACK, not an error:
 * that is reported as one. */
static int pg_commit(md_conn_t *c, cfx_error_t *err) {
    PGresult *res = PQexec(c->pg, "COMMIT");
    int ret = 0;
    c->in_tx = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        ret = pg_fail(c, res, err, "commit");
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        ret = cfx_error_set(err, CFX_ESTATE,
                            "%s: commit: the transaction was rolled back",
                            c->label);
    PQclear(res);
    return ret;
}

static void pg_rollback(md_conn_t *c) {
    command(c, "ROLLBACK", "rollback", NULL, NULL);
    c->in_tx = 0;
}

static int pg_exec(md_conn_t *c, const char *sql, const char *what,
                   cfx_error_t *err) {
    return command(c, sql, what, err, NULL);
}

/* The inserts whose id metadata.c asks for: they return it (saving the
 * round trip of lastval()). */
static int returns_id(const char *sql) {
    static const char *const t[] = {"INSERT INTO Artifact(",
                                    "INSERT INTO Execution(",
                                    "INSERT INTO Event("};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strncmp(sql, t[i], strlen(t[i])))
            return 1;
    return 0;
}

static int is_write_sql(const char *sql) {
    while (*sql == ' ' || *sql == '\n' || *sql == '(')
        sql++;
    return strncasecmp(sql, "SELECT", 6) != 0;
}

/* `?` -> `$k` (k counting), `?N` -> `$N`, outside quoted text. */
static int pg_prepare(md_conn_t *c, const char *sql, md_stmt_t **out,
                      cfx_error_t *err) {
    *out = NULL;
    md_stmt_t *s = calloc(1, sizeof *s);
    size_t n = strlen(sql);
    if (!s || !(s->sql = malloc(n * 3 + 16))) {
        free(s);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    char *o = s->sql;
    int next = 0, quoted = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (*p != '?' || quoted) {
            *o++ = *p;
            continue;
        }
        int k;
        if (p[1] >= '1' && p[1] <= '9') {
            k = p[1] - '0';
            p++;
        } else {
            k = ++next;
        }
        if (k > MD_PG_MAX_PARAMS) {
            free(s->sql);
            free(s);
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: prepare: more than %d parameters",
                                 c->label, MD_PG_MAX_PARAMS);
        }
        if (k > s->nparams)
            s->nparams = k;
        o += sprintf(o, "$%d", k);
    }
    *o = 0;
    if ((s->returning = returns_id(sql)))
        strcpy(o, " RETURNING id");
    s->c = c;
    s->is_write = is_write_sql(sql);
    *out = s;
    return 0;
}

static void set_param(md_stmt_t *s, int i, Oid type, const char *text) {
    if (i < 1 || i > MD_PG_MAX_PARAMS)
        return;
    free(s->vals[i - 1]);
    s->vals[i - 1] = strdup(text); /* NULL on failure: sent as NULL */
    s->types[i - 1] = type;
}

static void pg_bind_int64(md_stmt_t *s, int i, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    set_param(s, i, INT8OID, buf);
}

static void pg_bind_double(md_stmt_t *s, int i, double v) {
    char buf[40];
    if (isnan(v))
        snprintf(buf, sizeof buf, "NaN");
    else if (isinf(v))
        snprintf(buf, sizeof buf, v > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(buf, sizeof buf, "%.17g", v); /* round-trips exactly */
    set_param(s, i, FLOAT8OID, buf);
}

static void pg_bind_text(md_stmt_t *s, int i, const char *v) {
    set_param(s, i, TEXTOID, v);
}

static PGresult *run_params(md_stmt_t *s) {
    return PQexecParams(s->c->pg, s->sql, s->nparams, s->types,
                        (const char *const *)s->vals, NULL, NULL, 0);
}

static int ok_result(PGresult *res) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* One try of a write outside a transaction: BEGIN, the lock, the
 * statement and COMMIT sent together in pipeline mode, one round trip. The
 * server skips what follows a failure up to the sync; a ROLLBACK then ends
 * the transaction the failure left open. On success the statement's result
 * is s->res. */
static int run_locked_once(md_stmt_t *s, const char *what, cfx_error_t *err,
                           int *retry, int *lost) {
    md_conn_t *c = s->c;
    PGconn *pg = c->pg;
    static const char *const wrap[3] = {
        "BEGIN ISOLATION LEVEL READ COMMITTED",
        "SELECT pg_advisory_xact_lock(" MD_PG_LOCK_KEY ")", "COMMIT"};
    static const char *const step_name[4] = {
        "begin transaction", "waiting for the store's write lock", NULL,
        "commit"};
    PGresult *res[4] = {NULL, NULL, NULL, NULL};
    int ret = 0;
    *retry = *lost = 0;
    if (!PQenterPipelineMode(pg))
        return pg_fail(c, NULL, err, what);
    if (!PQsendQueryParams(pg, wrap[0], 0, NULL, NULL, NULL, NULL, 0) ||
        !PQsendQueryParams(pg, wrap[1], 0, NULL, NULL, NULL, NULL, 0) ||
        !PQsendQueryParams(pg, s->sql, s->nparams, s->types,
                           (const char *const *)s->vals, NULL, NULL, 0) ||
        !PQsendQueryParams(pg, wrap[2], 0, NULL, NULL, NULL, NULL, 0) ||
        !PQpipelineSync(pg)) {
        ret = pg_fail(c, NULL, err, what);
        *lost = PQstatus(pg) == CONNECTION_BAD;
        PQexitPipelineMode(pg);
        return ret;
    }
    for (int q = 0; q < 4; q++) {
        res[q] = PQgetResult(pg);
        PGresult *more;
        while ((more = PQgetResult(pg)) != NULL) /* each query ends with NULL */
            PQclear(more);
    }
    PGresult *sync = PQgetResult(pg);
    int synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    PQexitPipelineMode(pg);
    for (int q = 0; q < 4 && !ret; q++) {
        if (ok_result(res[q]))
            continue;
        *retry =
            res[q] && retryable(PQresultErrorField(res[q], PG_DIAG_SQLSTATE));
        ret = pg_fail(c, res[q], err, step_name[q] ? step_name[q] : what);
    }
    if (!ret && !synced)
        ret = pg_fail(c, NULL, err, what);
    if (!ret && strcmp(PQcmdStatus(res[3]), "COMMIT") != 0)
        ret = cfx_error_set(err, CFX_ESTATE,
                            "%s: commit: the transaction was rolled back",
                            c->label);
    /* nothing ran when even BEGIN found the connection gone */
    *lost = ret && !ok_result(res[0]) && PQstatus(pg) == CONNECTION_BAD;
    if (ret && !*lost)
        command(c, "ROLLBACK", "rollback", NULL, NULL);
    else if (!ret)
        s->res = res[2], res[2] = NULL;
    for (int q = 0; q < 4; q++)
        PQclear(res[q]);
    return ret;
}

/* A write outside a transaction, again after a serialization failure or
 * deadlock. */
static int run_locked(md_stmt_t *s, const char *what, cfx_error_t *err) {
    uint64_t deadline = 0;
    unsigned delay = 0;
    int reconnected = 0;
    for (;;) {
        int retry = 0, lost = 0;
        int ret = run_locked_once(s, what, err, &retry, &lost);
        if (ret && lost && !reconnected) {
            reconnected = 1;
            cfx_error_init(err);
            if ((ret = reconnect_if_lost(s->c, err)))
                return ret;
            continue;
        }
        if (!ret || !retry ||
            !cfx_md_retry_wait(&s->c->seed, &deadline, &delay))
            return ret;
        cfx_error_init(err);
    }
}

static int pg_step(md_stmt_t *s, const char *what, cfx_error_t *err) {
    md_conn_t *c = s->c;
    if (!s->ran) {
        s->ran = 1;
        int lost = reconnect_if_lost(c, err);
        if (lost)
            return lost;
        if (s->is_write && !c->in_tx) {
            int ret = run_locked(s, what, err);
            if (ret)
                return ret;
        } else {
            uint64_t deadline = 0;
            unsigned delay = 0;
            int reconnected = 0;
            for (;;) {
                s->res = run_params(s);
                if (ok_result(s->res))
                    break;
                if (!c->in_tx && !s->is_write && !reconnected &&
                    PQstatus(c->pg) == CONNECTION_BAD) {
                    /* a read: sent again on a new connection */
                    PQclear(s->res);
                    s->res = NULL;
                    reconnected = 1;
                    int lost = reconnect_if_lost(c, err);
                    if (lost)
                        return lost;
                    continue;
                }
                int retry =
                    !c->in_tx && s->res &&
                    retryable(PQresultErrorField(s->res, PG_DIAG_SQLSTATE));
                if (!retry || !cfx_md_retry_wait(&c->seed, &deadline, &delay)) {
                    int ret = pg_fail(c, s->res, err, what);
                    PQclear(s->res);
                    s->res = NULL;
                    return ret;
                }
                PQclear(s->res);
            }
        }
        if (s->returning) { /* a write: its rows are the ids inserted */
            c->changes = PQntuples(s->res);
            c->have_last_id = c->changes == 1;
            if (c->have_last_id)
                c->last_id = strtoll(PQgetvalue(s->res, 0, 0), NULL, 10);
            s->nrows = 0;
            s->row = -1;
        } else if (PQresultStatus(s->res) == PGRES_TUPLES_OK) {
            s->nrows = PQntuples(s->res);
            s->row = -1;
        } else {
            s->nrows = 0;
            s->row = -1;
            c->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
            c->have_last_id = 0;
        }
    }
    if (s->row + 1 < s->nrows) {
        s->row++;
        return MD_ROW;
    }
    return MD_DONE;
}

static int pg_column_null(md_stmt_t *s, int col) {
    return !s->res || s->row < 0 || PQgetisnull(s->res, s->row, col);
}

static int64_t pg_column_int64(md_stmt_t *s, int col) {
    if (pg_column_null(s, col))
        return 0;
    return strtoll(PQgetvalue(s->res, s->row, col), NULL, 10);
}

static double pg_column_double(md_stmt_t *s, int col) {
    if (pg_column_null(s, col))
        return 0;
    return strtod(PQgetvalue(s->res, s->row, col), NULL);
}

static const char *pg_column_text(md_stmt_t *s, int col) {
    if (pg_column_null(s, col))
        return NULL;
    return PQgetvalue(s->res, s->row, col);
}

static size_t pg_column_bytes(md_stmt_t *s, int col) {
    if (pg_column_null(s, col))
        return 0;
    return (size_t)PQgetlength(s->res, s->row, col);
}

static void pg_finalize(md_stmt_t *s) {
    if (!s)
        return;
    PQclear(s->res);
    for (int i = 0; i < MD_PG_MAX_PARAMS; i++)
        free(s->vals[i]);
    free(s->sql);
    free(s);
}

static int64_t pg_changes(md_conn_t *c) {
    return c->changes;
}

static int pg_last_insert_id(md_conn_t *c, int64_t *id, cfx_error_t *err) {
    if (c->have_last_id) {
        *id = c->last_id;
        return 0;
    }
    PGresult *res = PQexec(c->pg, "SELECT lastval()");
    int ret = 0;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        ret = pg_fail(c, res, err, "lastval");
    else
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return ret;
}

static void pg_close(md_conn_t *c) {
    if (!c)
        return;
    if (c->pg) {
        if (c->in_tx)
            command(c, "ROLLBACK", "rollback", NULL, NULL);
        PQfinish(c->pg);
    }
    free(c->label);
    free(c);
}

static int pg_open(md_conn_t **out, const char *url, const char *label,
                   cfx_error_t *err) {
    *out = NULL;
    int ret = 0;
    md_conn_t *c = calloc(1, sizeof *c);
    if (!c || !(c->label = strdup(label))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", label);
        goto out;
    }
    c->seed = (unsigned)getpid() ^ (unsigned)cfx_clock_mono_ns();
    c->pg = PQconnectdb(url);
    if (!c->pg) {
        ret = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", label);
        goto out;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(c->pg);
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
            n--;
        ret = cfx_error_set(err, CFX_EUNAVAILABLE, "%s: cannot connect: %.*s",
                            label, (int)n, msg);
        goto out;
    }
    if ((ret = session_settings(c, err)))
        goto out;
    *out = c;
    c = NULL;
out:
    pg_close(c);
    return ret;
}

const md_backend_t cfx_md_pg_backend = {
    .dialect = MD_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .step = pg_step,
    .column_null = pg_column_null,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_bytes = pg_column_bytes,
    .finalize = pg_finalize,
    .changes = pg_changes,
    .last_insert_id = pg_last_insert_id,
};
