/*
 * metadata_test.c: the metadata store — MLMD tables and numbers,
 * properties, events, transactions, the latest-blessed-model resolver —
 * on SQLite, and on PostgreSQL under tests/with_postgres.sh (md_fixture.h).
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "md_fixture.h"
#include "mlmd/metadata.h"
#include "test_util.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    int rc = cfx_test_tmpdir_make(tmpdir, sizeof tmpdir, "cfx-md");
    return rc ? rc : md_fixture_fresh_store();
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(tmpdir);
}

static cfx_metadata_t *open_store(void) {
    cfx_metadata_t *md = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_metadata_open_root(&md, tmpdir, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    return md;
}

/* One integer from the raw store, read with SQLite (or libpq) directly. */
static long long sql_int(const char *sql) {
    char path[512];
    sqlite3 *db;
    sqlite3_stmt *st;
    if (md_fixture_is_pg())
        return md_fixture_pg_int(sql);
    snprintf(path, sizeof path, "%s/metadata.sqlite", tmpdir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_schema(void **state) {
    (void)state;
    cfx_metadata_t *md = open_store();
    cfx_metadata_close(md);
    assert_int_equal(sql_int("SELECT schema_version FROM MLMDEnv"), 10);
    /* All MLMD tables exist (PostgreSQL folds the unquoted names). */
    assert_int_equal(
        sql_int(md_fixture_is_pg()
                    ? "SELECT count(*) FROM information_schema.tables"
                      " WHERE table_schema='public' AND table_name IN"
                      " ('type','parenttype','typeproperty','artifact',"
                      "'artifactproperty','execution','executionproperty',"
                      "'context','contextproperty','parentcontext','event',"
                      "'eventpath','association','attribution','mlmdenv')"
                    : "SELECT count(*) FROM sqlite_master WHERE type='table'"
                      " AND name IN ('Type','ParentType','TypeProperty',"
                      "'Artifact','ArtifactProperty','Execution',"
                      "'ExecutionProperty','Context','ContextProperty',"
                      "'ParentContext','Event','EventPath','Association',"
                      "'Attribution','MLMDEnv')"),
        15);
    if (md_fixture_is_pg()) {
        assert_int_equal(sql_int("UPDATE MLMDEnv SET schema_version=7"), 1);
    } else {
        char path[512];
        sqlite3 *db;
        sqlite3_stmt *st;
        snprintf(path, sizeof path, "%s/metadata.sqlite", tmpdir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), 0);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        assert_int_equal(
            sqlite3_exec(db, "UPDATE MLMDEnv SET schema_version=7", 0, 0, 0),
            0);
        sqlite3_close(db);
    }
    /* A store of another schema version is refused. */
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_metadata_open_root(&md, tmpdir, &err),
                     CFX_EUNSUPPORTED);
    assert_null(md);
    assert_non_null(strstr(err.msg, "schema_version 7"));
}

static void test_artifacts_and_properties(void **state) {
    (void)state;
    cfx_metadata_t *md = open_store();
    cfx_error_t err;
    cfx_error_init(&err);
    int64_t t1, t2, a, b;
    assert_int_equal(
        cfx_metadata_put_type(md, CFX_MD_ARTIFACT_TYPE, "Examples", &t1, &err),
        0);
    assert_int_equal(
        cfx_metadata_put_type(md, CFX_MD_ARTIFACT_TYPE, "Examples", &t2, &err),
        0);
    assert_int_equal(t1, t2);
    assert_int_equal(
        cfx_metadata_put_artifact(md, "Examples", "/r/ExampleGen/examples/1/",
                                  CFX_MD_ARTIFACT_PENDING, &a, &err),
        0);
    assert_int_equal(cfx_metadata_put_artifact(md, "Schema",
                                               "/r/SchemaGen/schema/3",
                                               CFX_MD_ARTIFACT_LIVE, &b, &err),
                     0);
    assert_true(b > a);

    cfx_md_artifact_t art;
    assert_int_equal(cfx_metadata_get_artifact(md, a, &art, &err), 0);
    assert_string_equal(art.type, "Examples");
    assert_string_equal(art.uri,
                        "/r/ExampleGen/examples/1"); /* trailing / dropped */
    assert_int_equal(art.state, CFX_MD_ARTIFACT_PENDING);
    assert_true(art.create_time_ms > 1600000000000LL);

    assert_int_equal(
        cfx_metadata_set_artifact_state(md, a, CFX_MD_ARTIFACT_LIVE, &err), 0);
    assert_int_equal(cfx_metadata_find_artifact_by_uri(
                         md, "/r/ExampleGen/examples/1//", &art, &err),
                     0);
    assert_int_equal(art.id, a);
    assert_int_equal(art.state, CFX_MD_ARTIFACT_LIVE);
    assert_int_equal(cfx_metadata_find_artifact_by_uri(md, "/nope", &art, &err),
                     CFX_ENOTFOUND);
    assert_int_equal(cfx_metadata_set_artifact_state(md, 999, 2, &err),
                     CFX_ENOTFOUND);

    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = "[\"train\",\"eval\"]"};
    assert_int_equal(
        cfx_metadata_set_artifact_property(md, a, "split_names", 0, &v, &err),
        0);
    v = (cfx_md_value_t){.kind = CFX_MD_INT, .i = -42};
    assert_int_equal(
        cfx_metadata_set_artifact_property(md, a, "span", 0, &v, &err), 0);
    v = (cfx_md_value_t){.kind = CFX_MD_DOUBLE, .d = 0.25};
    assert_int_equal(
        cfx_metadata_set_artifact_property(md, a, "rate", 1, &v, &err), 0);
    v = (cfx_md_value_t){.kind = CFX_MD_INT, .i = 7};
    assert_int_equal(
        cfx_metadata_set_artifact_property(md, a, "span", 0, &v, &err), 0);

    char buf[64];
    assert_int_equal(cfx_metadata_get_artifact_property(
                         md, a, "split_names", &v, buf, sizeof buf, &err),
                     0);
    assert_int_equal(v.kind, CFX_MD_STRING);
    assert_string_equal(v.s, "[\"train\",\"eval\"]");
    assert_int_equal(cfx_metadata_get_artifact_property(md, a, "span", &v, buf,
                                                        sizeof buf, &err),
                     0);
    assert_int_equal(v.kind, CFX_MD_INT);
    assert_int_equal(v.i, 7); /* replaced, not duplicated */
    assert_int_equal(cfx_metadata_get_artifact_property(md, a, "rate", &v, buf,
                                                        sizeof buf, &err),
                     0);
    assert_int_equal(v.kind, CFX_MD_DOUBLE);
    assert_true(v.d == 0.25);
    assert_int_equal(cfx_metadata_get_artifact_property(md, a, "split_names",
                                                        &v, buf, 4, &err),
                     CFX_ETOOBIG);
    assert_int_equal(cfx_metadata_get_artifact_property(md, a, "missing", &v,
                                                        buf, sizeof buf, &err),
                     CFX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing"));
    cfx_metadata_close(md);

    /* Raw rows: the MLMD layout (non-custom properties declared by the type).
     */
    assert_int_equal(
        sql_int("SELECT count(*) FROM ArtifactProperty WHERE name='span'"
                " AND is_custom_property=0 AND int_value=7"),
        1);
    assert_int_equal(
        sql_int("SELECT count(*) FROM ArtifactProperty WHERE name='rate'"
                " AND is_custom_property=1"),
        1);
    assert_int_equal(
        sql_int("SELECT count(*) FROM TypeProperty WHERE name='span'"), 1);
    assert_int_equal(sql_int("SELECT type_kind FROM Type WHERE name='Schema'"),
                     1);

    /* Bounds. */
    md = open_store();
    char *big = malloc(CFX_MD_URI_MAX + 10);
    memset(big, 'a', CFX_MD_URI_MAX + 9);
    big[CFX_MD_URI_MAX + 9] = 0;
    assert_int_equal(
        cfx_metadata_put_artifact(md, "Examples", big, 1, &a, &err),
        CFX_ETOOBIG);
    free(big);
    cfx_metadata_close(md);
}

static int count_events(void *ud, const cfx_md_event_t *ev) {
    int *n = ud;
    if (ev->type == CFX_MD_EVENT_OUTPUT) {
        assert_string_equal(ev->key, "model");
        assert_int_equal(ev->index, 0);
    } else {
        assert_int_equal(ev->type, CFX_MD_EVENT_INPUT);
        assert_string_equal(ev->key, "examples");
        assert_int_equal(ev->index, 1);
    }
    (*n)++;
    return 0;
}

static int first_exec(void *ud, const cfx_md_execution_t *e) {
    *(int64_t *)ud = e->id;
    return 1; /* stop */
}

static void test_executions_events_contexts(void **state) {
    (void)state;
    cfx_metadata_t *md = open_store();
    cfx_error_t err;
    cfx_error_init(&err);
    int64_t e1, e2, a, m, c1, c2, c3;
    assert_int_equal(cfx_metadata_put_execution(
                         md, "Trainer", CFX_MD_EXECUTION_RUNNING, &e1, &err),
                     0);
    assert_int_equal(cfx_metadata_put_execution(
                         md, "Trainer", CFX_MD_EXECUTION_RUNNING, &e2, &err),
                     0);
    assert_int_equal(cfx_metadata_set_execution_state(
                         md, e1, CFX_MD_EXECUTION_COMPLETE, &err),
                     0);
    cfx_md_execution_t ex;
    assert_int_equal(cfx_metadata_get_execution(md, e1, &ex, &err), 0);
    assert_string_equal(ex.type, "Trainer");
    assert_int_equal(ex.state, CFX_MD_EXECUTION_COMPLETE);
    assert_string_equal(cfx_md_execution_state_name(ex.state), "COMPLETE");

    assert_int_equal(
        cfx_metadata_put_artifact(md, "Examples", "/e", 2, &a, &err), 0);
    assert_int_equal(cfx_metadata_put_artifact(md, "Model", "/m", 2, &m, &err),
                     0);
    assert_int_equal(cfx_metadata_put_event(md, a, e1, CFX_MD_EVENT_INPUT,
                                            "examples", 1, &err),
                     0);
    assert_int_equal(cfx_metadata_put_event(md, m, e1, CFX_MD_EVENT_OUTPUT,
                                            "model", 0, &err),
                     0);
    /* Idempotent: the same event twice is one event. */
    assert_int_equal(cfx_metadata_put_event(md, m, e1, CFX_MD_EVENT_OUTPUT,
                                            "model", 0, &err),
                     0);
    int n = 0;
    assert_int_equal(
        cfx_metadata_list_events(md, e1, -1, count_events, &n, &err), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(
        cfx_metadata_list_events(md, -1, m, count_events, &n, &err), 0);
    assert_int_equal(n, 1);

    assert_int_equal(
        cfx_metadata_put_context(md, "pipeline", "taxi", &c1, &err), 0);
    assert_int_equal(
        cfx_metadata_put_context(md, "pipeline", "taxi", &c2, &err), 0);
    assert_int_equal(c1, c2);
    assert_int_equal(
        cfx_metadata_put_context(md, "node", "taxi.Trainer", &c3, &err), 0);
    assert_true(c3 != c1);
    assert_int_equal(cfx_metadata_find_context(md, "node", "nope", &c2, &err),
                     CFX_ENOTFOUND);
    assert_int_equal(cfx_metadata_associate(md, c1, e1, &err), 0);
    assert_int_equal(cfx_metadata_associate(md, c1, e2, &err), 0);
    assert_int_equal(cfx_metadata_associate(md, c1, e2, &err), 0);
    int64_t newest = 0;
    assert_int_equal(
        cfx_metadata_list_context_executions(md, c1, first_exec, &newest, &err),
        1);
    assert_int_equal(newest, e2);

    /* Transactions: a rollback leaves nothing. */
    assert_int_equal(cfx_metadata_begin(md, &err), 0);
    assert_int_equal(cfx_metadata_begin(md, &err), 0); /* nested */
    int64_t gone;
    assert_int_equal(
        cfx_metadata_put_artifact(md, "Examples", "/gone", 2, &gone, &err), 0);
    assert_int_equal(cfx_metadata_commit(md, &err),
                     0); /* inner: no effect yet */
    cfx_metadata_rollback(md);
    cfx_md_artifact_t art;
    assert_int_equal(cfx_metadata_get_artifact(md, gone, &art, &err),
                     CFX_ENOTFOUND);
    cfx_metadata_close(md);
    assert_int_equal(sql_int("SELECT count(*) FROM Association"), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM EventPath"), 4);
}

static int64_t add(cfx_metadata_t *md, const char *type, int state) {
    cfx_error_t err;
    int64_t id;
    assert_int_equal(
        cfx_metadata_put_artifact(md, type, "/x", state, &id, &err), 0);
    return id;
}

static void bless(cfx_metadata_t *md, int64_t model, int blessed, int state) {
    cfx_error_t err;
    int64_t b = add(md, "ModelBlessing", state);
    cfx_md_value_t v = {.kind = CFX_MD_INT, .i = blessed};
    assert_int_equal(
        cfx_metadata_set_artifact_property(md, b, "blessed", 1, &v, &err), 0);
    v.i = model;
    assert_int_equal(cfx_metadata_set_artifact_property(
                         md, b, "current_model_id", 1, &v, &err),
                     0);
}

static void test_latest_blessed_model(void **state) {
    (void)state;
    cfx_metadata_t *md = open_store();
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_md_artifact_t model, blessing;
    assert_int_equal(
        cfx_metadata_latest_blessed_model(md, &model, &blessing, &err),
        CFX_ENOTFOUND);
    int64_t m1 = add(md, "Model", CFX_MD_ARTIFACT_LIVE);
    int64_t m2 = add(md, "Model", CFX_MD_ARTIFACT_LIVE);
    int64_t m3 = add(md, "Model", CFX_MD_ARTIFACT_LIVE);
    int64_t m4 = add(md, "Model", CFX_MD_ARTIFACT_LIVE);
    assert_int_equal(cfx_metadata_latest_blessed_model(md, &model, NULL, &err),
                     CFX_ENOTFOUND);
    bless(md, m1, 1, CFX_MD_ARTIFACT_LIVE);
    bless(md, m2, 1, CFX_MD_ARTIFACT_ABANDONED); /* not LIVE: ignored */
    bless(md, m3, 0, CFX_MD_ARTIFACT_LIVE);      /* NOT_BLESSED */
    assert_int_equal(
        cfx_metadata_latest_blessed_model(md, &model, &blessing, &err), 0);
    assert_int_equal(model.id, m1);
    assert_string_equal(blessing.type, "ModelBlessing");
    bless(md, m4, 1, CFX_MD_ARTIFACT_LIVE);
    assert_int_equal(
        cfx_metadata_latest_blessed_model(md, &model, &blessing, &err), 0);
    assert_int_equal(model.id, m4);
    /* the candidate is never its own baseline */
    assert_int_equal(
        cfx_metadata_latest_blessed_model_excluding(md, m4, &model, NULL, &err),
        0);
    assert_int_equal(model.id, m1);
    assert_int_equal(
        cfx_metadata_latest_blessed_model_excluding(md, m3, &model, NULL, &err),
        0);
    assert_int_equal(model.id, m4);
    assert_int_equal(
        cfx_metadata_latest_blessed_model(md, &model, &blessing, &err), 0);
    cfx_md_value_t v;
    assert_int_equal(cfx_metadata_get_artifact_property(md, blessing.id,
                                                        "current_model_id", &v,
                                                        NULL, 0, &err),
                     0);
    assert_int_equal(v.i, m4);
    /* latest_artifact: newest LIVE of a type. */
    cfx_md_artifact_t a;
    assert_int_equal(cfx_metadata_latest_artifact(md, "Model", &a, &err), 0);
    assert_int_equal(a.id, m4);
    assert_int_equal(
        cfx_metadata_set_artifact_state(md, m4, CFX_MD_ARTIFACT_DELETED, &err),
        0);
    assert_int_equal(cfx_metadata_latest_artifact(md, "Model", &a, &err), 0);
    assert_int_equal(a.id, m3);
    /* A model no longer LIVE is not a baseline. */
    assert_int_equal(
        cfx_metadata_latest_blessed_model(md, &model, &blessing, &err), 0);
    assert_int_equal(model.id, m1);
    assert_int_equal(cfx_metadata_latest_artifact(md, "Nothing", &a, &err),
                     CFX_ENOTFOUND);
    cfx_metadata_close(md);
}

static int count_cb(void *ud, const cfx_md_execution_t *e) {
    (void)e;
    ++*(int *)ud;
    return 0;
}

/* Registration by uri is idempotent; a state changes only from the state
 * expected; a published output's PENDING_OUTPUT event becomes OUTPUT. */
static void test_find_or_put_and_states(void **state) {
    (void)state;
    cfx_metadata_t *md = open_store();
    cfx_error_t err;
    cfx_md_artifact_t a, b;
    int created = -1, changed = -1, n = 0;
    cfx_error_init(&err);
    assert_int_equal(cfx_metadata_find_or_put_artifact(
                         md, "ExternalArtifact", "/data/x.csv",
                         CFX_MD_ARTIFACT_LIVE, &a, &created, &err),
                     0);
    assert_int_equal(created, 1);
    assert_string_equal(a.type, "ExternalArtifact");
    assert_int_equal(a.state, CFX_MD_ARTIFACT_LIVE);
    /* the same uri (trailing '/' ignored), any type asked: the same one */
    assert_int_equal(cfx_metadata_find_or_put_artifact(
                         md, "Other", "/data/x.csv/", 1, &b, &created, &err),
                     0);
    assert_int_equal(created, 0);
    assert_int_equal(b.id, a.id);
    assert_string_equal(b.type, "ExternalArtifact");
    assert_int_equal(sql_int("SELECT count(*) FROM Artifact"), 1);

    int64_t e1, e2, art;
    assert_int_equal(cfx_metadata_put_execution(
                         md, "Gen", CFX_MD_EXECUTION_RUNNING, &e1, &err),
                     0);
    assert_int_equal(cfx_metadata_put_execution(
                         md, "Gen", CFX_MD_EXECUTION_COMPLETE, &e2, &err),
                     0);
    assert_int_equal(cfx_metadata_list_executions_in_state(
                         md, CFX_MD_EXECUTION_RUNNING, count_cb, &n, &err),
                     0);
    assert_int_equal(n, 1);
    /* e2 is not RUNNING: untouched */
    assert_int_equal(cfx_metadata_replace_execution_state(
                         md, e2, CFX_MD_EXECUTION_RUNNING,
                         CFX_MD_EXECUTION_FAILED, &changed, &err),
                     0);
    assert_int_equal(changed, 0);
    assert_int_equal(cfx_metadata_replace_execution_state(
                         md, e1, CFX_MD_EXECUTION_RUNNING,
                         CFX_MD_EXECUTION_FAILED, &changed, &err),
                     0);
    assert_int_equal(changed, 1);
    assert_int_equal(cfx_metadata_replace_execution_state(
                         md, e1, CFX_MD_EXECUTION_RUNNING,
                         CFX_MD_EXECUTION_CANCELED, &changed, &err),
                     0);
    assert_int_equal(changed, 0); /* the second of two recoverers */
    assert_int_equal(sql_int("SELECT last_known_state FROM Execution WHERE "
                             "id=1"),
                     CFX_MD_EXECUTION_FAILED);
    assert_int_equal(sql_int("SELECT last_known_state FROM Execution WHERE "
                             "id=2"),
                     CFX_MD_EXECUTION_COMPLETE);

    assert_int_equal(
        cfx_metadata_put_artifact(md, "Examples", "/out", 1, &art, &err), 0);
    assert_int_equal(cfx_metadata_put_event(md, art, e2,
                                            CFX_MD_EVENT_PENDING_OUTPUT,
                                            "examples", 0, &err),
                     0);
    assert_int_equal(sql_int("SELECT type FROM Event"), 7);
    assert_int_equal(cfx_metadata_put_event(md, art, e2, CFX_MD_EVENT_OUTPUT,
                                            "examples", 0, &err),
                     0);
    /* one event, now OUTPUT, its path kept */
    assert_int_equal(sql_int("SELECT count(*) FROM Event"), 1);
    assert_int_equal(sql_int("SELECT type FROM Event"), 4);
    assert_int_equal(sql_int("SELECT count(*) FROM EventPath"), 2);
    cfx_metadata_close(md);
}

/* PROCS processes released at the same instant on a store that does not
 * exist yet, ROUNDS times: each creates or opens it (the WAL switch of a
 * new file is refused at once while another process holds it; opening
 * retries), registers the same uri and records an execution. None may fail;
 * they all get one artifact. */
static void test_concurrent_open(void **state) {
    (void)state;
    enum { PROCS = 16, ROUNDS = 20 };
    for (int round = 0; round < ROUNDS; round++) {
        char root[320];
        pid_t pids[PROCS];
        int gate[2];
        snprintf(root, sizeof root, "%s/r%d", tmpdir, round);
        assert_int_equal(md_fixture_fresh_store(), 0); /* PostgreSQL */
        assert_int_equal(pipe(gate), 0);
        for (int p = 0; p < PROCS; p++) {
            pids[p] = fork();
            assert_true(pids[p] >= 0);
            if (pids[p] != 0)
                continue;
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 0)
                _exit(3);
            cfx_error_t err;
            cfx_metadata_t *md = NULL;
            cfx_md_artifact_t a;
            int64_t id;
            cfx_error_init(&err);
            int rc = cfx_metadata_open_root(&md, root, &err);
            if (!rc)
                rc = cfx_metadata_find_or_put_artifact(
                    md, "ExternalArtifact", "/shared/data.csv",
                    CFX_MD_ARTIFACT_LIVE, &a, NULL, &err);
            if (!rc)
                rc = cfx_metadata_put_execution(
                    md, "Gen", CFX_MD_EXECUTION_COMPLETE, &id, &err);
            if (rc)
                fprintf(stderr, "round %d process %d: %s\n", round, p, err.msg);
            cfx_metadata_close(md);
            _exit(rc != 0);
        }
        close(gate[0]);
        close(gate[1]); /* go */
        for (int p = 0; p < PROCS; p++) {
            int st = 0;
            assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 0);
        }
        cfx_metadata_t *md = NULL;
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(cfx_metadata_open_root(&md, root, &err), 0);
        int n = 0;
        assert_int_equal(cfx_metadata_list_executions(md, count_cb, &n, &err),
                         0);
        assert_int_equal(n, PROCS);
        cfx_md_artifact_t a;
        assert_int_equal(
            cfx_metadata_find_artifact_by_uri(md, "/shared/data.csv", &a, &err),
            0);
        assert_int_equal(a.id, 1); /* the first registration, and only it */
        cfx_metadata_close(md);
    }
}

/* PostgreSQL: a connection the server drops between calls (a restart, an
 * administrator) is opened again by the next call; nothing is lost. */
static void test_pg_reconnect(void **state) {
    (void)state;
    if (!md_fixture_is_pg())
        return; /* SQLite has no connection to lose */
    cfx_metadata_t *md = open_store();
    cfx_error_t err;
    cfx_error_init(&err);
    int64_t a, b;
    CFX_TEST_OK(cfx_metadata_put_artifact(md, "Examples", "/r/a",
                                          CFX_MD_ARTIFACT_LIVE, &a, &err),
                err);
    assert_int_equal(
        md_fixture_pg_int("SELECT count(pg_terminate_backend(pid)) FROM"
                          " pg_stat_activity WHERE datname = current_database()"
                          " AND pid <> pg_backend_pid()"),
        1);
    CFX_TEST_OK(cfx_metadata_put_artifact(md, "Examples", "/r/b",
                                          CFX_MD_ARTIFACT_LIVE, &b, &err),
                err);
    assert_true(b > a);
    cfx_md_artifact_t art;
    CFX_TEST_OK(cfx_metadata_find_artifact_by_uri(md, "/r/a", &art, &err), err);
    assert_int_equal(art.id, a);
    /* dropped again, then a write that is the call's first statement */
    assert_int_equal(
        md_fixture_pg_int("SELECT count(pg_terminate_backend(pid)) FROM"
                          " pg_stat_activity WHERE datname = current_database()"
                          " AND pid <> pg_backend_pid()"),
        1);
    CFX_TEST_OK(
        cfx_metadata_set_artifact_state(md, a, CFX_MD_ARTIFACT_DELETED, &err),
        err);
    CFX_TEST_OK(cfx_metadata_get_artifact(md, a, &art, &err), err);
    assert_int_equal(art.state, CFX_MD_ARTIFACT_DELETED);
    cfx_metadata_close(md);
}

/* A PostgreSQL location that cannot be reached: CFX_EUNAVAILABLE and a
 * message naming the store without its password. */
static void test_pg_unreachable(void **state) {
    (void)state;
    cfx_metadata_t *md = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_true(cfx_md_is_postgres_url("postgresql://h/db"));
    assert_true(cfx_md_is_postgres_url("postgres://h/db"));
    assert_false(cfx_md_is_postgres_url("/r/metadata.sqlite"));
    int rc =
        cfx_metadata_open(&md,
                          "postgresql://cfx:s3cret@/nodb?host=/nonexistent-"
                          "cfx-socket-dir&connect_timeout=2",
                          &err);
    assert_int_equal(rc, CFX_EUNAVAILABLE);
    assert_null(md);
    assert_null(strstr(err.msg, "s3cret"));
    assert_non_null(strstr(err.msg, "postgresql://cfx:***@/nodb?host="));
    assert_non_null(strstr(err.msg, "cannot connect"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_artifacts_and_properties, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_executions_events_contexts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_latest_blessed_model, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_find_or_put_and_states, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_open, setup, teardown),
        cmocka_unit_test(test_pg_unreachable),
        cmocka_unit_test_setup_teardown(test_pg_reconnect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
