/*
 * runner_test.c: the `cfx run` engine with steps of its own: inputs wired
 * from earlier outputs and from the latest-blessed-model resolver, exec
 * properties with file digests, caching, gates (also on cached steps),
 * disabled components, failures, a component missing from the build.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/runner.h"
#include "test_util.h"

static char dir[256];
static int trainer_calls, evaluator_calls;
static int bless_next = 1;
static char baseline_seen[512];

static int setup(void **state) {
    (void)state;
    if (cfx_test_tmpdir_make(dir, sizeof dir, "cfx-runner"))
        return -1;
    cfx_test_write_file_in(dir, "data.csv", "a\n1\n");
    cfx_test_write_file_in(dir, "trainer.json", "{\"steps\": 1}");
    trainer_calls = evaluator_calls = 0;
    bless_next = 1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    cfx_test_rm_rf(dir);
    return 0;
}

static int trainer_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                        cfx_error_t *err) {
    trainer_calls++;
    const char *d = cfx_component_output_dir(ctx->run, "model", err);
    if (!d)
        return err->code;
    assert_non_null(cfx_component_input_uri(ctx->run, "input")); /* the data */
    snprintf(summary, cap, "trained #%d", trainer_calls);
    return 0;
}

static int evaluator_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                          cfx_error_t *err) {
    cfx_component_run_t *run = ctx->run;
    evaluator_calls++;
    const char *b = cfx_component_input_uri(run, "baseline_model");
    snprintf(baseline_seen, sizeof baseline_seen, "%s", b ? b : "");
    if (!cfx_component_output_dir(run, "blessing", err))
        return err->code;
    int rc =
        cfx_component_set_int(run, "blessing", "blessed", 1, bless_next, err);
    if (!rc)
        rc = cfx_component_set_int(run, "blessing", "current_model_id", 1,
                                   cfx_component_input_id(run, "model"), err);
    snprintf(summary, cap, "%s", bless_next ? "BLESSED" : "NOT_BLESSED");
    return rc;
}

static int failing_exec(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                        cfx_error_t *err) {
    (void)summary, (void)cap;
    assert_non_null(cfx_component_output_dir(ctx->run, "out", err));
    return cfx_error_set(err, CFX_EPARSE, "bad input at line 3");
}

static int bless_gate(cfx_component_ctx_t *ctx, char *reason, size_t cap,
                      cfx_error_t *err) {
    (void)err;
    if (cfx_component_output_int(ctx->run, "blessing", "blessed", -1) == 1)
        return 0;
    snprintf(reason, cap, "not blessed");
    return CFX_ENOTBLESSED;
}

static const cfx_component_spec_t trainer_spec = {
    .name = "Trainer", .paths = {"config"}, .exec = trainer_exec};
static const cfx_component_spec_t evaluator_spec = {
    .name = "Evaluator", .exec = evaluator_exec, .gate = bless_gate};
/* A component missing from this build: a spec without exec. */
static const cfx_component_spec_t pusher_spec = {.name = "Pusher"};
static const cfx_component_spec_t failing_spec = {.name = "ExampleGen",
                                                  .exec = failing_exec};

static const cfx_runner_step_t steps[] = {
    {&trainer_spec, {{"input", CFX_RUNNER_FROM_DATA, NULL, 0}}, NULL},
    {&evaluator_spec,
     {{"model", "Trainer", "model", 0},
      {"baseline_model", CFX_RUNNER_FROM_BLESSED, NULL, 1}},
     NULL},
    {&pusher_spec, {{"model", "Trainer", "model", 0}}, NULL},
};

static int load(cfx_pipeline_config_t *cfg, const char *json) {
    cfx_error_t err;
    cfx_test_write_file_in(dir, "p.json", json);
    char p[512];
    snprintf(p, sizeof p, "%s/p.json", dir);
    int rc = cfx_pipeline_config_load(cfg, p, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    return rc;
}

static const char *cfg_json =
    "{\"pipeline_root\": \"./x/../root\", \"data\": \"data.csv\","
    " \"components\": {\"Trainer\": {\"config\": \"trainer.json\"}, "
    "\"Pusher\": false}}";

static void test_run_cache_and_gates(void **state) {
    (void)state;
    cfx_pipeline_config_t cfg;
    cfx_runner_result_t res;
    cfx_error_t err;
    FILE *log = fopen("/dev/null", "w");
    cfx_runner_options_t opts = {.log = log};
    assert_int_equal(load(&cfg, cfg_json), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/root", dir);
    assert_string_equal(cfg.pipeline_root, want); /* resolved, normalised */
    assert_string_equal(cfg.pipeline_name, "pipeline");
    assert_string_equal(cfg.model_name, "pipeline");

    /* First run: both steps run; no baseline yet; Pusher disabled. */
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err), 0);
    assert_int_equal(res.steps_run, 2);
    assert_int_equal(res.steps_skipped, 1);
    assert_int_equal(trainer_calls, 1);
    assert_string_equal(baseline_seen, "");

    /* Unchanged: everything cached. */
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err), 0);
    assert_int_equal(res.steps_cached, 2);
    assert_int_equal(trainer_calls, 1);
    assert_int_equal(evaluator_calls, 1);

    /* Editing a file a setting names reruns the step; the evaluator now has
     * the first (blessed) model as its baseline, so it reruns too. */
    cfx_test_write_file_in(dir, "trainer.json", "{\"steps\": 2}");
    bless_next = 0;
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err),
                     CFX_ENOTBLESSED);
    assert_true(res.stopped);
    assert_string_equal(res.stop_reason, "Evaluator: not blessed");
    assert_int_equal(trainer_calls, 2);
    assert_int_equal(evaluator_calls, 2);
    snprintf(want, sizeof want, "%s/root/Trainer/model/1", dir);
    assert_string_equal(baseline_seen, want);

    /* The gate reads the store: a cached not-blessed result stops again. */
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err),
                     CFX_ENOTBLESSED);
    assert_int_equal(res.steps_cached, 2);
    assert_int_equal(evaluator_calls, 2);

    /* --no-cache runs everything. */
    opts.no_cache = 1;
    bless_next = 1;
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err), 0);
    assert_int_equal(res.steps_run, 2);
    assert_int_equal(trainer_calls, 3);
    cfx_pipeline_config_free(&cfg);

    /* A component missing from the build stops the run, naming it. */
    opts.no_cache = 0;
    assert_int_equal(
        load(&cfg,
             "{\"pipeline_root\": \"root\", \"data\": \"data.csv\","
             " \"components\": {\"Trainer\": {\"config\": \"trainer.json\"}}}"),
        0);
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err),
                     CFX_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "Pusher: not available in this build"));
    cfx_pipeline_config_free(&cfg);

    /* Disabling the producer skips its consumers. */
    assert_int_equal(
        load(&cfg, "{\"pipeline_root\": \"root\", \"data\": \"data.csv\","
                   " \"components\": {\"Trainer\": false}}"),
        0);
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err), 0);
    assert_int_equal(res.steps_skipped, 3);
    cfx_pipeline_config_free(&cfg);
    fclose(log);
}

static void test_failure(void **state) {
    (void)state;
    static const cfx_runner_step_t bad[] = {
        {&failing_spec, {{"input", CFX_RUNNER_FROM_DATA, NULL, 0}}, NULL},
    };
    cfx_pipeline_config_t cfg;
    cfx_runner_result_t res;
    cfx_error_t err;
    FILE *log = fopen("/dev/null", "w");
    cfx_runner_options_t opts = {.log = log};
    assert_int_equal(
        load(&cfg, "{\"pipeline_root\": \"root\", \"data\": \"data.csv\"}"), 0);
    assert_int_equal(cfx_runner_run(&cfg, bad, 1, &opts, &res, &err),
                     CFX_EPARSE);
    assert_string_equal(err.msg,
                        "ExampleGen (execution 1): bad input at line 3");
    assert_false(res.stopped);
    char p[512];
    struct stat sb;
    snprintf(p, sizeof p, "%s/root/ExampleGen/out/1", dir);
    assert_int_not_equal(stat(p, &sb), 0); /* removed */
    /* the reason is on the execution, for cfx ls */
    cfx_metadata_t *md;
    cfx_md_value_t v;
    char buf[256];
    snprintf(p, sizeof p, "%s/root", dir);
    assert_int_equal(cfx_metadata_open_root(&md, p, &err), 0);
    assert_int_equal(cfx_metadata_get_execution_property(
                         md, 1, "failure_reason", &v, buf, sizeof buf, &err),
                     0);
    assert_string_equal(v.s, "bad input at line 3");
    cfx_metadata_close(md);
    cfx_pipeline_config_free(&cfg);
    fclose(log);
}

/* A run killed in its Trainer (a child that SIGKILLs itself with its output
 * folder half-written): the next run recovers it before its first step,
 * says so, and trains again. */
static void test_recovers_killed_run(void **state) {
    (void)state;
    cfx_pipeline_config_t cfg;
    cfx_runner_result_t res;
    cfx_error_t err;
    char root[512], p[600], log_text[4096] = "";
    struct stat sb;
    snprintf(root, sizeof root, "%s/root", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cfx_component_run_t run;
        cfx_error_init(&err);
        if (cfx_component_begin(&run, root, "Trainer", "{}", NULL, 0, &err) ||
            !cfx_component_output_dir(&run, "model", &err))
            _exit(2);
        snprintf(p, sizeof p, "%s/half.bin", run.outputs[0].uri);
        cfx_test_write_file(p, "half");
        kill(getpid(), SIGKILL);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    snprintf(p, sizeof p, "%s/Trainer/model/1/half.bin", root);
    assert_int_equal(stat(p, &sb), 0);

    FILE *log = fmemopen(log_text, sizeof log_text, "w");
    cfx_runner_options_t opts = {.log = log};
    assert_int_equal(load(&cfg, cfg_json), 0);
    assert_int_equal(cfx_runner_run(&cfg, steps, 3, &opts, &res, &err), 0);
    fclose(log);
    snprintf(p, sizeof p,
             "recovered execution 1 (Trainer): owner pid %d on host ",
             (int)pid);
    assert_non_null(strstr(log_text, p));
    assert_non_null(strstr(log_text, "marked FAILED, 1 partial output "
                                     "removed"));
    snprintf(p, sizeof p, "%s/Trainer/model/1", root);
    assert_int_not_equal(stat(p, &sb), 0);
    assert_int_equal(trainer_calls, 1);
    cfx_metadata_t *md;
    cfx_md_execution_t e;
    assert_int_equal(cfx_metadata_open_root(&md, root, &err), 0);
    assert_int_equal(cfx_metadata_get_execution(md, 1, &e, &err), 0);
    assert_int_equal(e.state, CFX_MD_EXECUTION_FAILED);
    cfx_metadata_close(md);
    cfx_pipeline_config_free(&cfg);
}

static void test_config_errors(void **state) {
    (void)state;
    cfx_pipeline_config_t cfg;
    cfx_error_t err;
    char p[512];
    snprintf(p, sizeof p, "%s/p.json", dir);
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"data\": \"d\"}", "member 'pipeline_root' is required"},
        {"{\"pipeline_root\": 3, \"data\": \"d\"}",
         "member 'pipeline_root': expected a non-empty string"},
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"model_name\": \"a/b\"}",
         "is not a plain name"},
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"components\": "
         "{\"Trainer\": 1}}",
         "components.Trainer: expected an object or false"},
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"extra\": 1}",
         "unknown member 'extra'"},
        {"{\"pipeline_root\": \"r\",\n \"data\": }", "p.json:2:"},
        {"[]", "expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfx_test_write_file_in(dir, "p.json", cases[i].json);
        cfx_error_init(&err);
        assert_int_not_equal(cfx_pipeline_config_load(&cfg, p, &err), 0);
        if (!strstr(err.msg, cases[i].msg))
            fprintf(stderr, "case %zu: %s\n", i, err.msg);
        assert_non_null(strstr(err.msg, cases[i].msg));
        assert_null(cfg.path);
    }
    /* Absolute paths pass; "..", "." and "//" are collapsed. */
    cfx_test_write_file_in(
        dir, "p.json",
        "{\"pipeline_root\": \"/a//b/./c/../d/\", \"data\": \"../x/./y\","
        " \"serving_dir\": \"s\"}");
    assert_int_equal(cfx_pipeline_config_load(&cfg, p, &err), 0);
    assert_string_equal(cfg.pipeline_root, "/a/b/d");
    char want[512];
    snprintf(want, sizeof want, "%s", dir);
    *strrchr(want, '/') = 0;
    strcat(want, "/x/y");
    assert_string_equal(cfg.data, want);
    cfx_pipeline_config_free(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_cache_and_gates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovers_killed_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
