/*
 * component_test.c: recording component runs — output layout, states,
 * events, cache hits and misses, failure cleanup, standalone mode, the cache
 * key and fingerprint helpers against values computed with Python's hashlib,
 * and a component spec run as a standalone command does
 * (cfx_component_run_cli).
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include "formats/file.h"
#include "md_fixture.h"
#include "mlmd/component.h"
#include "test_util.h"

MD_TEST_FIXTURE(root, 256, "cfx-comp")

#define OK(call) CFX_TEST_OK(call, err)

/* Runs a fake ExampleGen over csv; returns its examples artifact id. */
static int64_t run_examplegen(const char *csv, int *hit_out,
                              int64_t *exec_out) {
    cfx_error_t err;
    cfx_component_run_t run;
    char fp[512], props[1024];
    cfx_error_init(&err);
    OK(cfx_component_input_fingerprint(csv, "single_split", fp, sizeof fp,
                                       &err));
    snprintf(props, sizeof props,
             "{\"input_base\":\"%s\",\"input_fingerprint\":\"%s\"}", csv, fp);
    OK(cfx_component_begin(&run, root, "ExampleGen", props, NULL, 0, &err));
    int hit = 0;
    OK(cfx_component_cached(&run, &hit, &err));
    if (!hit) {
        const char *dir = cfx_component_output_dir(&run, "examples", &err);
        assert_non_null(dir);
        char want[512], f[600];
        snprintf(want, sizeof want, "%s/ExampleGen/examples/%lld", root,
                 (long long)run.execution_id);
        assert_string_equal(dir, want);
        assert_true(cfx_test_exists(dir));
        snprintf(f, sizeof f, "%s/data.txt", dir);
        cfx_test_write_file(f, "examples");
        OK(cfx_component_set_property(&run, "examples", "split_names",
                                      "[\"train\",\"eval\"]", &err));
        OK(cfx_component_set_property(&run, "examples", "span", "0", &err));
        OK(cfx_component_set_string(&run, "examples", "input_fingerprint", 1,
                                    fp, &err));
    }
    OK(cfx_component_finish(&run, 1, &err));
    int64_t id = cfx_component_output_id(&run, "examples");
    assert_true(id > 0);
    if (hit_out)
        *hit_out = hit;
    if (exec_out)
        *exec_out = run.execution_id;
    cfx_component_run_free(&run);
    return id;
}

static int64_t run_stats(int64_t examples, int *hit_out, int64_t *exec_out) {
    cfx_error_t err;
    cfx_component_run_t run;
    cfx_error_init(&err);
    cfx_component_input_t in[] = {{"examples", examples, NULL, NULL}};
    OK(cfx_component_begin(&run, root, "StatisticsGen",
                           "{\"num_top_values\":20}", in, 1, &err));
    int hit = 0;
    OK(cfx_component_cached(&run, &hit, &err));
    if (!hit)
        assert_non_null(cfx_component_output_dir(&run, "statistics", &err));
    OK(cfx_component_finish(&run, 1, &err));
    int64_t id = cfx_component_output_id(&run, "statistics");
    *hit_out = hit;
    if (exec_out)
        *exec_out = run.execution_id;
    cfx_component_run_free(&run);
    return id;
}

static void test_run_and_cache(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    char csv[512];
    snprintf(csv, sizeof csv, "%s/data.csv", root);
    cfx_test_write_file(csv, "a,b\n1,2\n");
    struct utimbuf ut = {1700000000, 1700000000};
    utime(csv, &ut);

    int hit;
    int64_t e1, e2, e3, s1e, s2e;
    int64_t ex1 = run_examplegen(csv, &hit, &e1);
    assert_false(hit);
    int64_t st1 = run_stats(ex1, &hit, &s1e);
    assert_false(hit);

    /* Unchanged: both come from the cache, pointing at the same artifacts. */
    int64_t ex2 = run_examplegen(csv, &hit, &e2);
    assert_true(hit);
    assert_int_equal(ex2, ex1);
    int64_t st2 = run_stats(ex2, &hit, &s2e);
    assert_true(hit);
    assert_int_equal(st2, st1);

    cfx_metadata_t *md;
    OK(cfx_metadata_open_root(&md, root, &err));
    cfx_md_execution_t ex;
    OK(cfx_metadata_get_execution(md, e1, &ex, &err));
    assert_int_equal(ex.state, CFX_MD_EXECUTION_COMPLETE);
    assert_string_equal(ex.type, "ExampleGen");
    OK(cfx_metadata_get_execution(md, e2, &ex, &err));
    assert_int_equal(ex.state, CFX_MD_EXECUTION_CACHED);
    cfx_md_value_t v;
    char buf[600];
    OK(cfx_metadata_get_execution_property(md, e2, "cached_from", &v, buf,
                                           sizeof buf, &err));
    assert_int_equal(v.i, e1);
    OK(cfx_metadata_get_execution_property(md, e1, "input_base", &v, buf,
                                           sizeof buf, &err));
    assert_string_equal(v.s, csv);
    cfx_md_artifact_t a;
    OK(cfx_metadata_get_artifact(md, ex1, &a, &err));
    assert_int_equal(a.state, CFX_MD_ARTIFACT_LIVE);
    assert_string_equal(a.type, "Examples");
    OK(cfx_metadata_get_artifact_property(md, ex1, "split_names", &v, buf,
                                          sizeof buf, &err));
    assert_int_equal(v.kind, CFX_MD_STRING);
    assert_string_equal(v.s, "[\"train\",\"eval\"]");
    OK(cfx_metadata_get_artifact_property(md, ex1, "span", &v, buf, sizeof buf,
                                          &err));
    assert_int_equal(v.kind, CFX_MD_INT);
    assert_int_equal(v.i, 0);
    OK(cfx_metadata_get_artifact(md, st1, &a, &err));
    assert_string_equal(a.type, "ExampleStatistics");
    int64_t ctx;
    char node[300];
    snprintf(node, sizeof node, "%s.ExampleGen", strrchr(root, '/') + 1);
    OK(cfx_metadata_find_context(md, "node", node, &ctx, &err));
    cfx_metadata_close(md);

    /* Changed input file (mtime): ExampleGen runs again, and so does the
     * statistics over the new examples. */
    ut.modtime = 1700000100;
    utime(csv, &ut);
    int64_t ex3 = run_examplegen(csv, &hit, &e3);
    assert_false(hit);
    assert_true(ex3 != ex1);
    int64_t st3 = run_stats(ex3, &hit, NULL);
    assert_false(hit);
    assert_true(st3 != st1);

    /* An output deleted from disk is not reused. */
    OK(cfx_metadata_open_root(&md, root, &err));
    OK(cfx_metadata_get_artifact(md, st3, &a, &err));
    cfx_metadata_close(md);
    cfx_file_remove_tree(a.uri, NULL);
    int64_t st4 = run_stats(ex3, &hit, NULL);
    assert_false(hit);
    assert_true(st4 != st3);
}

static void test_failure_cleans_up(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_component_run_t run;
    OK(cfx_component_begin(&run, root, "Trainer", "{\"steps\":5}", NULL, 0,
                           &err));
    const char *dir = cfx_component_output_dir(&run, "model", &err);
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s", dir);
    /* Asking twice gives the same dir. */
    assert_ptr_equal(cfx_component_output_dir(&run, "model", &err), dir);
    assert_true(cfx_test_exists(path));
    int64_t mid = cfx_component_output_id(&run, "model");
    int64_t eid = run.execution_id;
    OK(cfx_component_finish(&run, 0, &err));
    cfx_component_run_free(&run);
    assert_false(cfx_test_exists(path));

    cfx_metadata_t *md;
    OK(cfx_metadata_open_root(&md, root, &err));
    cfx_md_execution_t ex;
    OK(cfx_metadata_get_execution(md, eid, &ex, &err));
    assert_int_equal(ex.state, CFX_MD_EXECUTION_FAILED);
    cfx_md_artifact_t a;
    OK(cfx_metadata_get_artifact(md, mid, &a, &err));
    assert_int_equal(a.state, CFX_MD_ARTIFACT_ABANDONED);
    cfx_metadata_close(md);

    /* A failed run is never a cache hit; a run freed without finish fails. */
    OK(cfx_component_begin(&run, root, "Trainer", "{\"steps\":5}", NULL, 0,
                           &err));
    int hit = 1;
    OK(cfx_component_cached(&run, &hit, &err));
    assert_false(hit);
    eid = run.execution_id;
    cfx_component_run_free(&run);
    OK(cfx_metadata_open_root(&md, root, &err));
    OK(cfx_metadata_get_execution(md, eid, &ex, &err));
    assert_int_equal(ex.state, CFX_MD_EXECUTION_FAILED);
    cfx_metadata_close(md);

    /* Bad exec properties are refused, naming the component. */
    assert_int_equal(
        cfx_component_begin(&run, root, "Trainer", "[1,2]", NULL, 0, &err),
        CFX_EPARSE);
    assert_non_null(strstr(err.msg, "Trainer"));
    cfx_component_run_free(&run);
    assert_int_equal(
        cfx_component_begin(&run, root, "Trainer", "{", NULL, 0, &err),
        CFX_EPARSE);
    cfx_component_run_free(&run);
    /* Unknown input id. */
    cfx_component_input_t in[] = {{"examples", 12345, NULL, NULL}};
    assert_int_equal(
        cfx_component_begin(&run, root, "Trainer", NULL, in, 1, &err),
        CFX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "input 'examples'"));
    cfx_component_run_free(&run);
}

static void test_standalone(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_component_run_t run;
    OK(cfx_component_begin(&run, NULL, "SchemaGen", "{}", NULL, 0, &err));
    assert_null(cfx_component_output_dir(&run, "schema", &err));
    assert_int_equal(err.code, 0);
    int hit = 1;
    OK(cfx_component_cached(&run, &hit, &err));
    assert_false(hit);
    OK(cfx_component_set_property(&run, "schema", "x", "1", &err));
    OK(cfx_component_finish(&run, 1, &err));
    cfx_component_run_free(&run);
    char p[512];
    snprintf(p, sizeof p, "%s/metadata.sqlite", root);
    assert_false(cfx_test_exists(p));
}

static void test_cache_key_and_output_at(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_component_run_t run;
    /* hashlib.sha256(b'cfx-component-cache-v1\0Foo\0exec_properties\0'
     *                b'{"a":"x","b":1}\0').hexdigest() */
    OK(cfx_component_begin(&run, root, "Foo", "{\"b\":1,\"a\":\"x\"}", NULL, 0,
                           &err));
    assert_string_equal(
        run.cache_key,
        "a5e9791927a33eed03c1aa11fdb42bc6cf08bf8fdda643603b07dacb2a90f2f5");
    /* An output at a chosen uri, with an input given by uri (registered as
     * an external artifact). */
    OK(cfx_component_output_at(&run, "pushed_model", NULL,
                               "/srv/models/taxi/17/", &err));
    assert_string_equal(cfx_component_output_uri(&run, "pushed_model"),
                        "/srv/models/taxi/17");
    assert_int_equal(
        cfx_component_output_at(&run, "pushed_model", NULL, "/x", &err),
        CFX_EEXIST);
    OK(cfx_component_finish(&run, 1, &err));
    int64_t pm = cfx_component_output_id(&run, "pushed_model");
    cfx_component_run_free(&run);

    cfx_component_input_t in[] = {{"model", 0, "/srv/models/taxi/17", NULL},
                                  {"config", 0, "/etc/cfx/serve.conf", NULL}};
    OK(cfx_component_begin(&run, root, "Bar", NULL, in, 2, &err));
    assert_int_equal(run.inputs[0].artifact.id, pm);
    assert_string_equal(run.inputs[0].artifact.type, "PushedModel");
    assert_string_equal(run.inputs[1].artifact.type, "ExternalArtifact");
    assert_int_equal(run.inputs[1].artifact.state, CFX_MD_ARTIFACT_LIVE);
    char k1[65];
    memcpy(k1, run.cache_key, 65);
    cfx_component_run_free(&run);
    /* Input order does not change the key. */
    cfx_component_input_t rev[] = {in[1], in[0]};
    OK(cfx_component_begin(&run, root, "Bar", "{}", rev, 2, &err));
    assert_string_equal(run.cache_key, k1);
    cfx_component_run_free(&run);

    cfx_metadata_t *md;
    cfx_md_artifact_t a;
    OK(cfx_metadata_open_root(&md, root, &err));
    OK(cfx_metadata_get_artifact(md, pm, &a, &err));
    assert_int_equal(a.state, CFX_MD_ARTIFACT_LIVE);
    assert_string_equal(a.type, "PushedModel");
    cfx_metadata_close(md);
}

static void test_helpers(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    char p[512], out[256];
    snprintf(p, sizeof p, "%s/abc", root);
    cfx_test_write_file(p, "abc");
    OK(cfx_component_file_digest(p, out, &err));
    assert_string_equal(
        out,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Directory: two files of 3 and 5 bytes, mtimes 1000 and 3000:
     * xor 1000^3000 = 2128, sum 4000. */
    char d[512];
    snprintf(d, sizeof d, "%s/in", root);
    mkdir(d, 0777);
    snprintf(p, sizeof p, "%s/in/a.csv", root);
    cfx_test_write_file(p, "abc");
    struct utimbuf ut = {1000, 1000};
    utime(p, &ut);
    snprintf(p, sizeof p, "%s/in/b.csv", root);
    cfx_test_write_file(p, "12345");
    ut.modtime = 3000;
    utime(p, &ut);
    OK(cfx_component_input_fingerprint(d, "single_split", out, sizeof out,
                                       &err));
    assert_string_equal(out, "split:single_split,num_files:2,total_bytes:8,"
                             "xor_checksum:2128,sum_checksum:4000");
    OK(cfx_component_input_fingerprint(p, "train", out, sizeof out, &err));
    assert_string_equal(out, "split:train,num_files:1,total_bytes:5,"
                             "xor_checksum:3000,sum_checksum:3000");
    assert_int_equal(cfx_component_input_fingerprint(p, "train", out, 10, &err),
                     CFX_ETOOBIG);
    snprintf(p, sizeof p, "%s/none", root);
    assert_int_equal(cfx_component_file_digest(p, out, &err), CFX_EIO);
    assert_non_null(strstr(err.msg, "none"));
}

static int count_state(void *ud, const cfx_md_execution_t *e) {
    int *n = ud;
    n[0]++;
    if (e->state == CFX_MD_EXECUTION_COMPLETE ||
        e->state == CFX_MD_EXECUTION_CACHED)
        n[1]++;
    return 0;
}

static int count_external(void *ud, const cfx_md_artifact_t *a) {
    (void)a;
    ++*(int *)ud;
    return 0;
}

/* One process of test_concurrent_processes: waits until the gate opens,
 * then records RUNS runs of "Gen" reading the same external file; exits 0
 * when every call succeeded. */
static void concurrent_child(const char *r, int gate, int p, const char *csv) {
    enum { RUNS = 6 };
    char c;
    int bad = 0;
    if (read(gate, &c, 1) != 0) /* EOF: the parent let everyone go */
        _exit(3);
    for (int i = 0; i < RUNS && !bad; i++) {
        cfx_error_t err;
        cfx_component_run_t run;
        cfx_component_input_t in[] = {{"input", 0, csv, NULL}};
        char props[64];
        int hit = 0;
        cfx_error_init(&err);
        snprintf(props, sizeof props, "{\"k\":%d}", i % 3); /* some hits */
        bad = cfx_component_begin(&run, r, "Gen", props, in, 1, &err) ||
              cfx_component_cached(&run, &hit, &err) ||
              (!hit && !cfx_component_output_dir(&run, "out", &err)) ||
              cfx_component_finish(&run, 1, &err);
        if (bad)
            fprintf(stderr, "process %d run %d: %s\n", p, i, err.msg);
        cfx_component_run_free(&run);
    }
    _exit(bad);
}

/* PROCS processes released at the same instant on one pipeline root, each
 * recording runs: none may fail for locking. Rounds alternate a new root
 * (every process races to create the file, switch it to WAL and make the
 * tables) and a root that already has a history; every process registers
 * the same external input, and they must all get one artifact. */
static void test_concurrent_processes(void **state) {
    (void)state;
    enum { PROCS = 8, ROUNDS = 6, RUNS = 6 };
    char csv[300];
    snprintf(csv, sizeof csv, "%s/data.csv", root);
    cfx_test_write_file(csv, "a,b\n1,2\n");
    for (int round = 0; round < ROUNDS; round++) {
        char r[320];
        pid_t pids[PROCS];
        int gate[2];
        /* even rounds: a new root; odd rounds: the previous one again */
        snprintf(r, sizeof r, "%s/root%d", root, round / 2);
        if (round % 2 == 0) /* a new store (PostgreSQL: md_fixture.h) */
            assert_int_equal(md_fixture_fresh_store(), 0);
        assert_int_equal(pipe(gate), 0);
        for (int p = 0; p < PROCS; p++) {
            pids[p] = fork();
            assert_true(pids[p] >= 0);
            if (pids[p] == 0) {
                close(gate[1]);
                concurrent_child(r, gate[0], p, csv);
            }
        }
        close(gate[0]);
        close(gate[1]); /* go */
        for (int p = 0; p < PROCS; p++) {
            int st = 0;
            assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 0);
        }
        cfx_error_t err;
        cfx_metadata_t *md;
        int n[2] = {0, 0}, ext = 0;
        OK(cfx_metadata_open_root(&md, r, &err));
        OK(cfx_metadata_list_executions(md, count_state, n, &err));
        OK(cfx_metadata_list_artifacts(md, "ExternalArtifact", count_external,
                                       &ext, &err));
        cfx_metadata_close(md);
        int runs = (round % 2 + 1) * PROCS * RUNS;
        assert_int_equal(n[0], runs);
        assert_int_equal(n[1], runs); /* every one COMPLETE or CACHED */
        assert_int_equal(ext, 1);
    }
}

/* A spec: copies its "text" setting into <out>/copy.txt and records "n". */
static int echo_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                     cfx_error_t *err) {
    const char *dir = cfx_component_exec_output_dir(ctx, "out", err);
    if (!dir)
        return err->code;
    const char *text = cfx_component_prop_string(ctx, "text");
    if (!text)
        return cfx_error_set(err, CFX_EINVAL, "no text");
    char p[512];
    int rc = cfx_file_mkdirs(dir, err);
    if (rc)
        return rc;
    snprintf(p, sizeof p, "%s/copy.txt", dir);
    cfx_test_write_file(p, text);
    snprintf(summary, cap, "%s from %s", text,
             cfx_component_input_uri(ctx->run, "in"));
    return cfx_component_set_int(ctx->run, "out", "n", 1,
                                 cfx_component_prop_int(ctx, "n", -1), err);
}

static const cfx_component_spec_t echo_spec = {
    .name = "Echo",
    .inputs = {{"in", "ExternalArtifact", 0}},
    .outputs = {{"out", "Out", 0}},
    .exec = echo_exec,
};

static void test_spec_run_cli(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_component_run_t run;
    char summary[256], p[1024], rec[512], buf[256];
    json_t *props = json_pack("{s:s, s:i}", "text", "hello", "n", 7);
    assert_non_null(props);

    /* Standalone: the input as given, the output where --output says. */
    snprintf(p, sizeof p, "%s/given", root);
    cfx_component_input_t in[] = {{"in", 0, root, "given/file.txt"}};
    cfx_component_output_path_t out[] = {{"out", p}};
    cfx_component_cli_t cli = {.props = props,
                               .inputs = in,
                               .n_inputs = 1,
                               .outputs = out,
                               .n_outputs = 1};
    OK(cfx_component_run_cli(&run, &echo_spec, &cli, summary, sizeof summary,
                             &err));
    assert_string_equal(summary, "hello from given/file.txt");
    assert_string_equal(cfx_component_output_uri(&run, "out"), p);
    assert_int_equal(cfx_component_input_id(&run, "in"), 0);
    assert_int_equal(cfx_component_output_int(&run, "out", "n", -1), -1);
    cfx_component_run_free(&run);
    snprintf(p, sizeof p, "%s/given/copy.txt", root);
    assert_true(cfx_test_exists(p));
    snprintf(p, sizeof p, "%s/metadata.sqlite", root);
    assert_false(cfx_test_exists(p));

    /* Recorded, no --output: in the root; settings stored on the execution;
     * the input is read where given, recorded as its artifact. */
    snprintf(rec, sizeof rec, "%s/rec", root);
    cli.root = rec;
    cli.n_outputs = 0;
    OK(cfx_component_run_cli(&run, &echo_spec, &cli, summary, sizeof summary,
                             &err));
    snprintf(p, sizeof p, "%s/Echo/out/%lld", rec, (long long)run.execution_id);
    assert_string_equal(cfx_component_output_uri(&run, "out"), p);
    assert_string_equal(cfx_component_input_uri(&run, "in"), "given/file.txt");
    assert_string_equal(run.inputs[0].artifact.uri, root);
    assert_int_equal(cfx_component_output_int(&run, "out", "n", -1), 7);
    cfx_md_value_t v;
    OK(cfx_metadata_get_execution_property(run.store, run.execution_id, "text",
                                           &v, buf, sizeof buf, &err));
    assert_string_equal(v.s, "hello");
    cfx_component_run_free(&run);
    snprintf(p, sizeof p, "%s/Echo/out/1/copy.txt", rec);
    assert_true(cfx_test_exists(p));

    /* Recorded with --output: registered at that path. */
    snprintf(p, sizeof p, "%s/elsewhere", root);
    out[0].path = p;
    cli.n_outputs = 1;
    OK(cfx_component_run_cli(&run, &echo_spec, &cli, summary, sizeof summary,
                             &err));
    assert_string_equal(cfx_component_output_uri(&run, "out"), p);
    assert_int_equal(cfx_component_output_int(&run, "out", "n", -1), 7);
    cfx_component_run_free(&run);

    /* A failing exec: its error, the execution FAILED, the dir removed. */
    json_object_del(props, "text");
    cli.n_outputs = 0;
    assert_int_equal(cfx_component_run_cli(&run, &echo_spec, &cli, summary,
                                           sizeof summary, &err),
                     CFX_EINVAL);
    assert_string_equal(err.msg, "no text");
    cfx_md_execution_t e;
    OK(cfx_metadata_get_execution(run.store, run.execution_id, &e, &err));
    assert_int_equal(e.state, CFX_MD_EXECUTION_FAILED);
    snprintf(p, sizeof p, "%s/Echo/out/%lld", rec, (long long)run.execution_id);
    assert_false(cfx_test_exists(p));
    cfx_component_run_free(&run);

    /* A spec without exec is not in this build. */
    static const cfx_component_spec_t absent = {.name = "Absent"};
    assert_int_equal(cfx_component_run_cli(&run, &absent, &cli, summary,
                                           sizeof summary, &err),
                     CFX_EUNSUPPORTED);
    assert_string_equal(err.msg, "Absent: not available in this build");
    cfx_component_run_free(&run);
    json_decref(props);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_cleans_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_standalone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_key_and_output_at, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_processes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_spec_run_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
