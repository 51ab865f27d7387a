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

#include "mlmd/metadata.h"
#include "pipeline/components.h"
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

/* A misspelt setting, component or member is refused naming the file, the
 * key path and the closest valid name; the example configs load. */
static void test_unknown_keys(void **state) {
    (void)state;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"components\": "
         "{\"ExampleValidator\": {\"stop_on_anomalys\": true}}}",
         "bad.json: components.ExampleValidator: unknown setting "
         "'stop_on_anomalys' (did you mean 'stop_on_anomalies'?)"},
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"components\": "
         "{\"Trainr\": {\"config\": \"t.json\"}}}",
         "bad.json: components: unknown component 'Trainr' (did you mean "
         "'Trainer'?)"},
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"servin_dir\": "
         "\"s\"}",
         "bad.json: unknown member 'servin_dir' (did you mean "
         "'serving_dir'?)"},
        {"{\"pipeline_root\": \"r\", \"data\": \"d\", \"components\": "
         "{\"Pusher\": {\"push_destination\": \"/x\"}}}",
         "bad.json: components.Pusher: unknown setting 'push_destination'"},
    };
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfx_error_t err;
        cfx_error_init(&err);
        cfx_pipeline_config_t cfg;
        cfx_test_write_file(path, cases[i].json);
        assert_int_equal(cfx_pipeline_config_load(&cfg, path, &err),
                         CFX_EINVAL);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg,
                     cases[i].msg);
    }
    const char *src = getenv("CFX_SOURCE_DIR");
    static const char *const examples[] = {"taxi", "breast_cancer"};
    for (size_t i = 0; i < 2; i++) {
        cfx_error_t err;
        cfx_error_init(&err);
        cfx_pipeline_config_t cfg;
        snprintf(path, sizeof path, "%s/examples/%s/pipeline.json",
                 src ? src : ".", examples[i]);
        if (cfx_pipeline_config_load(&cfg, path, &err))
            fail_msg("%s", err.msg);
        cfx_pipeline_config_free(&cfg);
    }
}

/* Every step of `cfx run` has its settings listed, and the settings a spec
 * resolves as files are among them. */
static void test_settings_cover_steps(void **state) {
    (void)state;
    for (size_t i = 0; i < cfx_pipeline_num_steps; i++) {
        const cfx_component_spec_t *spec = cfx_pipeline_steps[i].spec;
        const char *const *settings = cfx_pipeline_config_settings(spec->name);
        if (!settings)
            fail_msg("%s: no settings listed", spec->name);
        for (size_t p = 0; p < CFX_COMPONENT_SPEC_MAX_PATHS && spec->paths[p];
             p++) {
            size_t k = 0;
            while (settings[k] && strcmp(settings[k], spec->paths[p]))
                k++;
            if (!settings[k])
                fail_msg("%s: file setting '%s' not listed", spec->name,
                         spec->paths[p]);
        }
    }
    assert_null(cfx_pipeline_config_settings("NoSuchComponent"));
}

/* "metadata": a postgresql:// URL as written, a file resolved against the
 * config's folder, "" refused; resolving a config makes it the process's
 * default store, below a location set by a flag. */
static void test_metadata_member(void **state) {
    (void)state;
    static const char url[] = "postgresql://cfx@db.example:5432/md?x=1&y=2";
    char path[512], want[600];
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_pipeline_config_t cfg = {0};
    const char *out = NULL;
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"pipeline_root\": \"r\", \"data\": \"d.csv\","
            " \"metadata\": \"%s\"}\n",
            url);
    fclose(f);
    unsetenv(CFX_METADATA_ENV);
    assert_null(cfx_metadata_location());
    CFX_TEST_OK(cfx_pipeline_root_resolve(&cfg, NULL, path, &out, &err), err);
    assert_string_equal(cfg.metadata, url);
    assert_string_equal(cfx_metadata_location(), url);
    CFX_TEST_OK(cfx_metadata_set_location("/elsewhere.sqlite", &err), err);
    assert_string_equal(cfx_metadata_location(), "/elsewhere.sqlite");
    CFX_TEST_OK(cfx_metadata_set_location(NULL, &err), err);
    assert_string_equal(cfx_metadata_location(), url);
    CFX_TEST_OK(cfx_metadata_set_default_location(NULL, &err), err);
    assert_null(cfx_metadata_location());
    cfx_pipeline_config_free(&cfg);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"pipeline_root\": \"r\", \"data\": \"d.csv\","
          " \"metadata\": \"md/store.sqlite\"}\n",
          f);
    fclose(f);
    CFX_TEST_OK(cfx_pipeline_config_load(&cfg, path, &err), err);
    snprintf(want, sizeof want, "%s/md/store.sqlite", dir);
    assert_string_equal(cfg.metadata, want);
    cfx_pipeline_config_free(&cfg);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"pipeline_root\": \"r\", \"data\": \"d.csv\","
          " \"metadata\": \"\"}\n",
          f);
    fclose(f);
    assert_int_equal(cfx_pipeline_config_load(&cfg, path, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "member 'metadata'"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_config),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
        cmocka_unit_test(test_settings_cover_steps),
        cmocka_unit_test_setup_teardown(test_metadata_member, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
