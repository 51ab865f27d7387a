/*
 * md_sqlite.c: the SQLite backend of the metadata store (md_backend.h), a
 * file in the pipeline root.
 *
 * Concurrency (docs/metadata.md): any number of processes may use one
 * store. WAL journal (readers never block the writer), synchronous=NORMAL
 * (a crash may lose the last commits, never corrupt the file), and every
 * write transaction takes the write lock up front (BEGIN IMMEDIATE), so a
 * transaction never has to upgrade a read lock, which SQLite refuses with
 * SQLITE_BUSY at once. A writer waits for the lock: the busy handler for
 * most waits, and an explicit retry with randomised exponential backoff for
 * the places where SQLite answers SQLITE_BUSY without calling the handler
 * (the switch to WAL of a new file, a first statement racing WAL recovery or
 * another process's schema creation). Both wait at most MD_LOCK_WAIT_MS.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/clock.h"
#include "mlmd/md_backend.h"

struct md_conn {
    sqlite3 *db;
    char *label;
    unsigned seed;          /* jitter of the waits for the lock */
    uint64_t busy_since_ns; /* start of the busy handler's current wait */
};

struct md_stmt {
    md_conn_t *c;
    sqlite3_stmt *st;
};

static int code_of(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CFX_EUNAVAILABLE;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return CFX_ECORRUPT;
    case SQLITE_NOMEM:
        return CFX_ENOMEM;
    case SQLITE_TOOBIG:
        return CFX_ETOOBIG;
    case SQLITE_CONSTRAINT:
        return CFX_EEXIST;
    default:
        return CFX_EIO;
    }
}

static int is_busy(int rc) {
    return (rc & 0xff) == SQLITE_BUSY;
}

static int db_fail(md_conn_t *c, int rc, cfx_error_t *err, const char *what) {
    if (is_busy(rc))
        return cfx_error_set(err, code_of(rc),
                             "%s: %s: %s (gave up after %d s waiting for "
                             "another process's write)",
                             c->label, what, sqlite3_errmsg(c->db),
                             MD_LOCK_WAIT_MS / 1000);
    return cfx_error_set(err, code_of(rc), "%s: %s: %s", c->label, what,
                         sqlite3_errmsg(c->db));
}

/* The busy handler: SQLite calls it while another connection holds the
 * lock it needs, count = 0, 1, ... for one wait. Short randomised sleeps
 * (SQLite's own handler sleeps up to 100 ms at a time, long next to
 * transactions of a millisecond or two); 0 gives up. */
static int busy_handler(void *ud, int count) {
    md_conn_t *c = ud;
    uint64_t now = cfx_clock_mono_ns();
    if (count == 0)
        c->busy_since_ns = now;
    else if (now - c->busy_since_ns >= (uint64_t)MD_LOCK_WAIT_MS * 1000000u)
        return 0;
    unsigned cap = count < 10 ? 200u << (count / 2) : 5000u; /* us */
    unsigned d = cap / 2 + (unsigned)rand_r(&c->seed) % (cap / 2 + 1);
    struct timespec ts = {0, (long)d * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* sqlite3_step, retrying a statement's first step while it is refused with
 * SQLITE_BUSY: a first step has read nothing yet, so running it again is
 * safe, and it is where SQLite takes its locks. */
static int raw_step(md_conn_t *c, sqlite3_stmt *st) {
    int fresh = !sqlite3_stmt_busy(st);
    int rc = sqlite3_step(st);
    uint64_t deadline = 0;
    unsigned delay = 0;
    while (fresh && is_busy(rc) &&
           cfx_md_retry_wait(&c->seed, &deadline, &delay)) {
        sqlite3_reset(st);
        rc = sqlite3_step(st);
    }
    return rc;
}

/* sqlite3_exec of statements without rows (BEGIN, COMMIT, the DDL),
 * retried while SQLITE_BUSY. A COMMIT refused so leaves the transaction
 * open (SQLite's documented behaviour), so it may be retried too. */
static int exec_retry(md_conn_t *c, const char *sql) {
    uint64_t deadline = 0;
    unsigned delay = 0;
    int rc;
    while (is_busy(rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL)) &&
           cfx_md_retry_wait(&c->seed, &deadline, &delay))
        ;
    return rc;
}

static int sq_prepare(md_conn_t *c, const char *sql, md_stmt_t **out,
                      cfx_error_t *err) {
    uint64_t deadline = 0;
    unsigned delay = 0;
    int rc;
    sqlite3_stmt *st = NULL;
    *out = NULL;
    /* preparing reads the schema, which needs a read lock */
    while (is_busy(rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL)) &&
           cfx_md_retry_wait(&c->seed, &deadline, &delay))
        ;
    if (rc != SQLITE_OK)
        return db_fail(c, rc, err, "prepare");
    if (!(*out = malloc(sizeof **out))) {
        sqlite3_finalize(st);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    (*out)->c = c;
    (*out)->st = st;
    return 0;
}

static void sq_bind_int64(md_stmt_t *s, int i, int64_t v) {
    sqlite3_bind_int64(s->st, i, v);
}

static void sq_bind_double(md_stmt_t *s, int i, double v) {
    sqlite3_bind_double(s->st, i, v);
}

static void sq_bind_text(md_stmt_t *s, int i, const char *v) {
    sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT);
}

static int sq_step(md_stmt_t *s, const char *what, cfx_error_t *err) {
    int rc = raw_step(s->c, s->st);
    if (rc == SQLITE_ROW)
        return MD_ROW;
    if (rc == SQLITE_DONE)
        return MD_DONE;
    return db_fail(s->c, rc, err, what);
}

static int sq_column_null(md_stmt_t *s, int col) {
    return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

static int64_t sq_column_int64(md_stmt_t *s, int col) {
    return sqlite3_column_int64(s->st, col);
}

static double sq_column_double(md_stmt_t *s, int col) {
    return sqlite3_column_double(s->st, col);
}

static const char *sq_column_text(md_stmt_t *s, int col) {
    return (const char *)sqlite3_column_text(s->st, col);
}

static size_t sq_column_bytes(md_stmt_t *s, int col) {
    return (size_t)sqlite3_column_bytes(s->st, col);
}

static void sq_finalize(md_stmt_t *s) {
    if (!s)
        return;
    sqlite3_finalize(s->st);
    free(s);
}

static int64_t sq_changes(md_conn_t *c) {
    return sqlite3_changes(c->db);
}

static int sq_last_insert_id(md_conn_t *c, int64_t *id, cfx_error_t *err) {
    (void)err;
    *id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

static int sq_begin(md_conn_t *c, cfx_error_t *err) {
    int rc = exec_retry(c, "BEGIN IMMEDIATE");
    return rc == SQLITE_OK ? 0 : db_fail(c, rc, err, "begin transaction");
}

static int sq_commit(md_conn_t *c, cfx_error_t *err) {
    int rc = exec_retry(c, "COMMIT");
    if (rc != SQLITE_OK) {
        int ret = db_fail(c, rc, err, "commit");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return ret;
    }
    return 0;
}

static void sq_rollback(md_conn_t *c) {
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_exec(md_conn_t *c, const char *sql, const char *what,
                   cfx_error_t *err) {
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    int ret = 0;
    if (rc != SQLITE_OK)
        ret = cfx_error_set(err, code_of(rc), "%s: %s: %s", c->label, what,
                            msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return ret;
}

static void sq_close(md_conn_t *c) {
    if (!c)
        return;
    if (c->db) {
        if (!sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(c->db);
    }
    free(c->label);
    free(c);
}

/* WAL mode, set once per file and kept in it. Switching a new file needs an
 * exclusive lock, and SQLite refuses a switch that finds the file busy with
 * SQLITE_BUSY without calling the busy handler: raw_step() retries it. A
 * file system without shared memory keeps the rollback journal, which is
 * slower for concurrent readers but just as correct. */
static int set_journal(md_conn_t *c, cfx_error_t *err) {
    md_stmt_t *st = NULL;
    int ret = sq_prepare(c, "PRAGMA journal_mode=WAL", &st, err);
    if (ret)
        return ret;
    int rc = sq_step(st, "journal_mode=WAL", err);
    sq_finalize(st);
    if (rc < 0)
        return rc;
    return sq_exec(c, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;",
                   "pragmas", err);
}

static int sq_open(md_conn_t **out, const char *path, const char *label,
                   cfx_error_t *err) {
    *out = NULL;
    int ret = 0;
    md_conn_t *c = calloc(1, sizeof *c);
    if (!c || !(c->label = strdup(label))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", label);
        goto out;
    }
    c->seed = (unsigned)getpid() ^ (unsigned)cfx_clock_mono_ns();
    int rc = sqlite3_open_v2(
        path, &c->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ret = cfx_error_set(err, code_of(rc), "%s: cannot open: %s", label,
                            c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_busy_handler(c->db, busy_handler, c);
    if ((ret = set_journal(c, err)))
        goto out;
    *out = c;
    c = NULL;
out:
    sq_close(c);
    return ret;
}

const md_backend_t cfx_md_sqlite_backend = {
    .dialect = MD_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .step = sq_step,
    .column_null = sq_column_null,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_bytes = sq_column_bytes,
    .finalize = sq_finalize,
    .changes = sq_changes,
    .last_insert_id = sq_last_insert_id,
};
