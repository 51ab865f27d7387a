/*
 * pipeline_config_test.c: cfx_pipeline_root_resolve — which pipeline root a
 * command gets from --pipeline-root / $CFX_PIPELINE_ROOT or a config file.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_config.h"
#include "test_util.h"

static char dir[256];

static int setup(void **state) {
    (void)state;
    if (cfx_test_tmpdir_make(dir, sizeof dir, "cfx-pconf"))
        return -1;
    /* the loader resolves the config's real path: compare with that */
    char real[PATH_MAX];
    if (!realpath(dir, real) || strlen(real) >= sizeof dir)
        return -1;
    strcpy(dir, real);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    cfx_test_rm_rf(dir);
    return 0;
}

/* Without a config the given root passes through, NULL included. */
static void test_no_config(void **state) {
    (void)state;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    const char *out = "unset";
    assert_int_equal(
        cfx_pipeline_root_resolve(&cfg, "some/root", NULL, &out, &err), 0);
    assert_string_equal(out, "some/root");
    assert_null(cfg.pipeline_root);
    assert_int_equal(cfx_pipeline_root_resolve(&cfg, NULL, NULL, &out, &err),
                     0);
    assert_null(out);
}

/* A config wins over the root given, and its relative pipeline_root is
 * resolved against the config file's directory. */
static void test_config(void **state) {
    (void)state;
    char path[512], want[512];
    snprintf(path, sizeof path, "%s/p.json", dir);
    snprintf(want, sizeof want, "%s/roots/r1", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"pipeline_root\": \"roots/r1\", \"data\": \"d.csv\"}\n", f);
    fclose(f);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    const char *out = NULL;
    int rc = cfx_pipeline_root_resolve(&cfg, "ignored", path, &out, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
    assert_ptr_equal(out, cfg.pipeline_root);
    cfx_pipeline_config_free(&cfg);
}

/* A config that cannot be loaded is an error naming the file; *out is NULL. */
static void test_bad_config(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/missing.json", dir);
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    const char *out = "unset";
    assert_int_equal(cfx_pipeline_root_resolve(&cfg, "r", path, &out, &err),
                     CFX_EIO);
    assert_null(out);
    assert_non_null(strstr(err.msg, "missing.json"));
    assert_null(cfg.pipeline_root);

    snprintf(path, sizeof path, "%s/nodata.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"pipeline_root\": \"r\"}\n", f);
    fclose(f);
    assert_int_equal(cfx_pipeline_root_resolve(&cfg, "r", path, &out, &err),
                     CFX_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "'data' is required"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_config),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
