/*
 * s3_source_test.c: what cfx-serve decides about an s3:// base path
 * before it talks to a store (serve/s3_source.h, docs/s3.md): the default
 * cache folder, refusals of a bad URL or S3 environment naming the model
 * or variable, --model_cache_dir, --s3_max_version_bytes, and s3:// base
 * paths in the model config file. Listing and downloading run against a
 * real S3-compatible server in tests/e2e/s3_serve_test.sh and
 * tests/e2e/s3_version_cap_test.sh (the cap on a version's bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/config.h"
#include "serve/model_manager.h"
#include "serve/s3_source.h"
#include "test_util.h"

static const char *const s3_vars[] = {"AWS_REGION",
                                      "S3_REGION",
                                      "S3_ENDPOINT",
                                      "S3_USE_HTTPS",
                                      "S3_VERIFY_SSL",
                                      "AWS_ACCESS_KEY_ID",
                                      "AWS_SECRET_ACCESS_KEY",
                                      "AWS_SESSION_TOKEN",
                                      "S3_CONNECT_TIMEOUT_MSEC",
                                      "S3_REQUEST_TIMEOUT_MSEC"};

static int clean_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(s3_vars) / sizeof(s3_vars[0]); i++)
        unsetenv(s3_vars[i]);
    return 0;
}

static void test_default_cache(void **state) {
    (void)state;
    char out[4096];
    setenv("CACHE_DIRECTORY", "/var/cache/cfx-serve:/var/cache/other", 1);
    setenv("XDG_CACHE_HOME", "/x", 1);
    setenv("HOME", "/home/u", 1);
    cfx_s3_source_default_cache(out, sizeof(out));
    assert_string_equal(out, "/var/cache/cfx-serve/models");
    unsetenv("CACHE_DIRECTORY");
    cfx_s3_source_default_cache(out, sizeof(out));
    assert_string_equal(out, "/x/cfx-serve/models");
    setenv("XDG_CACHE_HOME", "relative", 1); /* not absolute: ignored */
    cfx_s3_source_default_cache(out, sizeof(out));
    assert_string_equal(out, "/home/u/.cache/cfx-serve/models");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    cfx_s3_source_default_cache(out, sizeof(out));
    char want[64];
    snprintf(want, sizeof(want), "/var/tmp/cfx-serve-%u", (unsigned)getuid());
    assert_string_equal(out, want);
}

static void test_source_refusals(void **state) {
    (void)state;
    cfx_s3_source_t *src = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_s3_source_new("taxi", "s3://x/taxi", "/tmp", 0, &src, &err),
        CFX_EINVAL);
    assert_null(src);
    assert_non_null(strstr(err.msg, "s3://x/taxi: the bucket name"));
    setenv("S3_USE_HTTPS", "maybe", 1);
    cfx_error_init(&err);
    assert_int_equal(
        cfx_s3_source_new("taxi", "s3://models/taxi", "/tmp", 0, &src, &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "S3_USE_HTTPS"));
    unsetenv("S3_USE_HTTPS");
    /* the manager refuses at startup, naming the model */
    cfx_model_list_t l;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_model_list_single(&l, "taxi", "s3://models/taxi", &err),
                err);
    setenv("AWS_ACCESS_KEY_ID", "AK", 1);
    cfx_manager_options_t mo = {.file_system_poll_wait_seconds = 1};
    cfx_manager_t *m = NULL;
    assert_int_equal(cfx_manager_new(&mo, &l, &m, &err), CFX_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err.msg, "model taxi: environment variable "
                                    "AWS_ACCESS_KEY_ID is set but "
                                    "AWS_SECRET_ACCESS_KEY is not"));
    unsetenv("AWS_ACCESS_KEY_ID");
    /* with a good environment it is made (nothing is contacted yet) */
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_manager_new(&mo, &l, &m, &err), err);
    cfx_manager_free(m);
    cfx_model_list_free(&l);
}

/* Two models whose names clean up to one folder name ("a.b", "a_b") on
 * one base path get two cache folders (each prunes its own); one model on
 * one base path always gets the same one, named for the model. */
static void test_cache_folder_per_model(void **state) {
    (void)state;
    cfx_s3_source_t *a = NULL, *b = NULL, *c = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_s3_source_new("a.b", "s3://models/m", "/c", 0, &a, &err),
                err);
    CFX_TEST_OK(cfx_s3_source_new("a_b", "s3://models/m", "/c", 0, &b, &err),
                err);
    CFX_TEST_OK(cfx_s3_source_new("a.b", "s3://models/m", "/c", 0, &c, &err),
                err);
    const char *ca = cfx_s3_source_cache(a), *cb = cfx_s3_source_cache(b);
    assert_true(!strncmp(ca, "/c/a_b-", 7) && strlen(ca) == 7 + 16);
    assert_true(!strncmp(cb, "/c/a_b-", 7) && strlen(cb) == 7 + 16);
    assert_string_not_equal(ca, cb);
    assert_string_equal(ca, cfx_s3_source_cache(c));
    cfx_s3_source_free(a);
    cfx_s3_source_free(b);
    cfx_s3_source_free(c);
}

static void test_config(void **state) {
    (void)state;
    cfx_model_list_t l;
    cfx_error_t err;
    cfx_error_init(&err);
    const char *good = "model_config_list { config { name: 'taxi' "
                       "base_path: 's3://models/serving/taxi' "
                       "model_platform: 'tensorflow' } }";
    CFX_TEST_OK(cfx_model_list_parse_text(&l, good, strlen(good), "cfg", &err),
                err);
    assert_string_equal(l.models[0].base_path, "s3://models/serving/taxi");
    cfx_model_list_free(&l);
    const char *bad = "model_config_list { config { name: 'taxi' "
                      "base_path: 's3://models/a/../taxi' "
                      "model_platform: 'tensorflow' } }";
    assert_int_equal(
        cfx_model_list_parse_text(&l, bad, strlen(bad), "cfg", &err),
        CFX_EINVAL);
    assert_non_null(strstr(err.msg, "model taxi: s3://models/a/../taxi: the "
                                    "key prefix has an empty, '.' or '..' "
                                    "component"));
    cfx_model_list_free(&l);
    assert_int_equal(cfx_model_list_single(&l, "m", "s3://a", &err),
                     CFX_EINVAL);
    assert_non_null(strstr(err.msg, "model m: s3://a: the bucket name"));
    cfx_model_list_free(&l);

    char *argv[] = {"cfx-serve", "--model_base_path=s3://models/taxi",
                    "--model_cache_dir=/var/cache/m"};
    cfx_serve_flags_t f;
    cfx_serve_flags_init(&f);
    CFX_TEST_OK(cfx_serve_flags_parse(&f, 3, argv, &err), err);
    assert_string_equal(f.model_cache_dir, "/var/cache/m");
    cfx_serve_flags_free(&f);
    char *rel[] = {"cfx-serve", "--model_base_path=s3://models/taxi",
                   "--model_cache_dir=cache"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 3, rel, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "--model_cache_dir: expected an absolute "
                                    "path, got \"cache\""));
    cfx_serve_flags_free(&f);
}

/* --s3_max_version_bytes: 4 GiB unless given, 0 for no limit, refused
 * outside [0, 2^50] naming the flag. */
static void test_max_version_bytes_flag(void **state) {
    (void)state;
    cfx_serve_flags_t f;
    cfx_error_t err;
    cfx_error_init(&err);
    char *dflt[] = {"cfx-serve", "--model_base_path=s3://models/taxi"};
    cfx_serve_flags_init(&f);
    CFX_TEST_OK(cfx_serve_flags_parse(&f, 2, dflt, &err), err);
    assert_true(f.s3_max_version_bytes == 4294967296u);
    cfx_serve_flags_free(&f);
    static const struct {
        const char *arg;
        uint64_t want;
    } ok[] = {{"--s3_max_version_bytes=0", 0},
              {"--s3_max_version_bytes=1", 1},
              {"--s3_max_version_bytes=10737418240", 10737418240u},
              {"--s3_max_version_bytes=1125899906842624", 1125899906842624u}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *argv[] = {"cfx-serve", "--model_base_path=s3://models/taxi",
                        (char *)ok[i].arg};
        cfx_serve_flags_init(&f);
        CFX_TEST_OK(cfx_serve_flags_parse(&f, 3, argv, &err), err);
        assert_true(f.s3_max_version_bytes == ok[i].want);
        cfx_serve_flags_free(&f);
    }
    static const char *const bad[] = {"-1", "1125899906842625", "4G", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char arg[64], want[128];
        snprintf(arg, sizeof(arg), "--s3_max_version_bytes=%s", bad[i]);
        snprintf(want, sizeof(want),
                 "--s3_max_version_bytes: expected an integer in [0, "
                 "1125899906842624], got \"%s\"",
                 bad[i]);
        char *argv[] = {"cfx-serve", "--model_base_path=s3://models/taxi", arg};
        cfx_serve_flags_init(&f);
        cfx_error_init(&err);
        assert_int_equal(cfx_serve_flags_parse(&f, 3, argv, &err), CFX_EINVAL);
        assert_string_equal(err.msg, want);
        cfx_serve_flags_free(&f);
    }
    assert_non_null(
        strstr(cfx_serve_flags_usage(), "--s3_max_version_bytes=4294967296"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_cache),
        cmocka_unit_test_setup(test_source_refusals, clean_env),
        cmocka_unit_test_setup(test_cache_folder_per_model, clean_env),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_max_version_bytes_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
