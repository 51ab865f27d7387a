/*
 * md_fixture.h: the store the mlmd unit tests run on, so the same
 * assertions hold for both backends (mlmd/md_backend.h).
 *
 * Without CFX_TEST_PG in the environment: each pipeline root's own SQLite
 * file, as in production. With it (tests/with_postgres.sh starts a server
 * and sets it): a fresh PostgreSQL database for each test, and again
 * wherever a test wants a new store (md_fixture_fresh_store), set as the
 * process's metadata location, so every cfx_metadata_open_root of the test,
 * and of the processes it forks, opens that database.
 */
#ifndef CFX_TEST_MD_FIXTURE_H
#define CFX_TEST_MD_FIXTURE_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlmd/metadata.h"
#include "test_util.h"

static inline int md_fixture_is_pg(void) {
    const char *pg = getenv("CFX_TEST_PG");
    return pg && *pg;
}

/* The URL of the current test database (valid until the next call). */
static char md_fixture_url[512];

/* Under CFX_TEST_PG: creates a new database and makes it the process's
 * store; 0, or -1 with a message on stderr. Without: nothing. */
static inline int md_fixture_fresh_store(void) {
    static int n;
    char sql[128], db[64];
    if (!md_fixture_is_pg())
        return 0;
    PGconn *c = PQconnectdb(getenv("CFX_TEST_PG"));
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "md_fixture: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    snprintf(db, sizeof db, "cfx_test_%ld_%d", (long)getpid(), n++);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "md_fixture: %s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    if (!ok)
        return -1;
    snprintf(md_fixture_url, sizeof md_fixture_url,
             "postgresql://cfx@/%s?host=%s&port=%s", db,
             getenv("CFX_TEST_PG_HOST"), getenv("CFX_TEST_PG_PORT"));
    cfx_error_t err;
    cfx_error_init(&err);
    return cfx_metadata_set_location(md_fixture_url, &err) ? -1 : 0;
}

/* One integer from the current PostgreSQL test database, read with libpq
 * directly (sql: one row, one column). Exits the test on failure. */
static inline long long md_fixture_pg_int(const char *sql) {
    PGconn *c = PQconnectdb(md_fixture_url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "md_fixture: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *r = PQexec(c, sql);
    if ((PQresultStatus(r) != PGRES_TUPLES_OK &&
         PQresultStatus(r) != PGRES_COMMAND_OK)) {
        fprintf(stderr, "md_fixture: %s: %s", sql, PQresultErrorMessage(r));
        exit(1);
    }
    long long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
                      ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                      : strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

/* CFX_TEST_TMPDIR_FIXTURE's setup and teardown, with a fresh store. */
#define MD_TEST_FIXTURE(NAME, SIZE, PREFIX)                                    \
    static char NAME[SIZE];                                                    \
    static int setup(void **state) {                                           \
        (void)state;                                                           \
        int rc_ = cfx_test_tmpdir_make(NAME, sizeof NAME, PREFIX);             \
        return rc_ ? rc_ : md_fixture_fresh_store();                           \
    }                                                                          \
    static int teardown(void **state) {                                        \
        (void)state;                                                           \
        cfx_test_rm_rf(NAME);                                                  \
        return 0;                                                              \
    }

#endif
