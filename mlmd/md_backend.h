/*
 * md_backend.h: the database under the metadata store (metadata.c), as a
 * table of functions, so that one implementation of metadata.h runs on
 * SQLite (md_sqlite.c: the default, a file in the pipeline root) or on
 * PostgreSQL (md_pg.c: a server several machines share). docs/metadata.md
 * describes both.
 *
 * The SQL that metadata.c hands over is written once: `?` parameters
 * (numbered `?N` where one is used twice), the MLMD table names, and the
 * statements both databases read alike. The few places where the dialects
 * differ (the tables' DDL, insert-if-absent, insert-or-replace) pick their
 * text by md_backend_t.dialect.
 *
 * Locking model (both backends): a write transaction holds the store's one
 * write lock from begin to commit, and a write statement outside a
 * transaction takes it for the statement alone; reads never wait for it.
 * SQLite's lock is its database file lock (BEGIN IMMEDIATE); PostgreSQL's
 * is a transaction-level advisory lock. Waits for the lock are retried by
 * the backend, for at most MD_LOCK_WAIT_MS.
 *
 * Internal to mlmd/: callers use metadata.h.
 */
#ifndef CFX_MLMD_MD_BACKEND_H
#define CFX_MLMD_MD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

/* How long one statement or transaction waits for the store's lock (ms):
 * transactions last milliseconds, so only a writer stopped while holding
 * the lock makes another wait this long. */
#define MD_LOCK_WAIT_MS 120000

/* step() results besides a negative cfx error code. */
enum { MD_ROW = 1, MD_DONE = 2 };

typedef enum md_dialect { MD_SQLITE = 0, MD_POSTGRES = 1 } md_dialect_t;

typedef struct md_conn md_conn_t; /* one connection */
typedef struct md_stmt md_stmt_t; /* one statement of a connection */

typedef struct md_backend {
    md_dialect_t dialect;
    /* Opens the database at location (a file path, a postgresql:// URL);
     * messages name `label`. Does not create the tables. */
    int (*open)(md_conn_t **out, const char *location, const char *label,
                cfx_error_t *err);
    void (*close)(md_conn_t *c); /* rolls back an open transaction */
    /* Begins a write transaction holding the write lock (waits for it). */
    int (*begin)(md_conn_t *c, cfx_error_t *err);
    int (*commit)(md_conn_t *c, cfx_error_t *err);
    void (*rollback)(md_conn_t *c);
    /* Runs statements without parameters or rows (the DDL). */
    int (*exec)(md_conn_t *c, const char *sql, const char *what,
                cfx_error_t *err);
    int (*prepare)(md_conn_t *c, const char *sql, md_stmt_t **out,
                   cfx_error_t *err);
    /* Parameters are numbered from 1; text is copied. */
    void (*bind_int64)(md_stmt_t *st, int i, int64_t v);
    void (*bind_double)(md_stmt_t *st, int i, double v);
    void (*bind_text)(md_stmt_t *st, int i, const char *s);
    /* MD_ROW (a row to read with the column calls), MD_DONE, or a negative
     * code with err set ("<label>: <what>: <database's message>"). */
    int (*step)(md_stmt_t *st, const char *what, cfx_error_t *err);
    int (*column_null)(md_stmt_t *st, int col); /* columns from 0 */
    int64_t (*column_int64)(md_stmt_t *st, int col);
    double (*column_double)(md_stmt_t *st, int col);
    const char *(*column_text)(md_stmt_t *st, int col); /* NULL for NULL */
    size_t (*column_bytes)(md_stmt_t *st, int col);
    void (*finalize)(md_stmt_t *st); /* NULL is fine */
    /* Rows changed by the last write statement, and the id it inserted
     * last (meaningful only when it inserted one). */
    int64_t (*changes)(md_conn_t *c);
    int (*last_insert_id)(md_conn_t *c, int64_t *id, cfx_error_t *err);
} md_backend_t;

/* One wait of an explicit retry (md_retry.c): sleeps a random time in
 * [d/2, d] with d doubling from 0.5 ms to 50 ms, so processes that collided
 * once do not collide again in step; seed is the caller's rand_r state.
 * Returns 0, without sleeping, once MD_LOCK_WAIT_MS have passed since the
 * first wait of *deadline_ns (0 before it; *delay_us is set then). */
int cfx_md_retry_wait(unsigned *seed, uint64_t *deadline_ns,
                      unsigned *delay_us);

extern const md_backend_t cfx_md_sqlite_backend;
extern const md_backend_t cfx_md_pg_backend;

#endif
