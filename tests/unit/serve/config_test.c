/*
 * config_test.c: tensorflow_model_server flags (both --f=v and --f v),
 * text ModelServerConfig parsing (policies, labels) and TF Serving's
 * validation errors; the status/HTTP code tables of service.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "serve/config.h"
#include "serve/service.h"

static void test_flags(void **state) {
    (void)state;
    char *argv[] = {"cfx-serve",
                    "--port=9000",
                    "--rest_api_port",
                    "9001",
                    "--model_name=taxi",
                    "--model_base_path",
                    "/srv/taxi",
                    "--enable_model_warmup=false",
                    "--num_threads",
                    "3",
                    "--max_body_bytes=1000",
                    "--access_log=-"};
    cfx_serve_flags_t f;
    cfx_serve_flags_init(&f);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_serve_flags_parse(&f, 12, argv, &err), 0);
    assert_int_equal(f.port, 9000);
    assert_int_equal(f.rest_api_port, 9001);
    assert_string_equal(f.model_name, "taxi");
    assert_string_equal(f.model_base_path, "/srv/taxi");
    assert_int_equal(f.enable_model_warmup, 0);
    assert_int_equal(f.num_threads, 3);
    assert_int_equal(f.max_body_bytes, 1000);
    assert_int_equal(f.file_system_poll_wait_seconds, 1);
    assert_int_equal(f.rest_api_timeout_in_ms, 30000);
    cfx_model_list_t l;
    assert_int_equal(cfx_serve_flags_models(&f, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.models[0].name, "taxi");
    assert_int_equal(l.models[0].policy, CFX_POLICY_LATEST);
    assert_int_equal(l.models[0].num_versions, 1);
    cfx_model_list_free(&l);
    cfx_serve_flags_free(&f);

    char *bad1[] = {"x", "--model_base_path=/a", "--bogus=1"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 3, bad1, &err), CFX_EINVAL);
    assert_string_equal(err.msg, "unknown flag --bogus");
    cfx_serve_flags_free(&f);
    char *bad2[] = {"x", "--model_base_path=/a", "--port=70000"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 3, bad2, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "--port"));
    cfx_serve_flags_free(&f);
    char *bad3[] = {"x"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 1, bad3, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "are empty"));
    cfx_serve_flags_free(&f);
    char *bad4[] = {"x", "--model_base_path=/a", "--port=8",
                    "--rest_api_port=8"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 4, bad4, &err), CFX_EINVAL);
    cfx_serve_flags_free(&f);
    /* TF Serving flags cfx-serve ignores, bare booleans */
    char *tf[] = {"x",
                  "--model_base_path=/a",
                  "--enable_batching",
                  "--rest_api_enable_cors_support",
                  "--num_load_threads",
                  "4",
                  "--enable_model_warmup",
                  "false",
                  "--port",
                  "7"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 10, tf, &err), 0);
    assert_int_equal(f.rest_api_enable_cors_support, 1);
    assert_int_equal(f.enable_model_warmup, 0);
    assert_int_equal(f.port, 7);
    cfx_serve_flags_free(&f);
    /* relative base path */
    assert_int_equal(cfx_model_list_single(&l, "m", "rel/path", &err),
                     CFX_EINVAL);
    assert_non_null(strstr(err.msg, "absolute path"));
}

static const char CONFIG[] =
    "model_config_list {\n"
    "  config {\n"
    "    name: \"a\" base_path: \"/models/a\" model_platform: \"tensorflow\"\n"
    "    model_version_policy { latest { num_versions: 2 } }\n"
    "    version_labels { key: \"stable\" value: 42 }\n"
    "    version_labels { key: \"canary\" value: 43 }\n"
    "  }\n"
    "  config {\n"
    "    name: \"b\" base_path: \"/models/b\" model_platform: \"tensorflow\"\n"
    "    model_version_policy { specific { versions: 7 versions: 9 } }\n"
    "  }\n"
    "  config {\n"
    "    name: \"c\" base_path: \"/models/c\" model_platform: \"tensorflow\"\n"
    "    model_version_policy { all {} }\n"
    "  }\n"
    "}\n";

static void test_text_config(void **state) {
    (void)state;
    cfx_model_list_t l;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc =
        cfx_model_list_parse_text(&l, CONFIG, sizeof(CONFIG) - 1, "t", &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.models[0].name, "a");
    assert_int_equal(l.models[0].policy, CFX_POLICY_LATEST);
    assert_int_equal(l.models[0].num_versions, 2);
    assert_int_equal(l.models[0].n_labels, 2);
    assert_string_equal(l.models[0].labels[1].label, "canary");
    assert_int_equal(l.models[0].labels[1].version, 43);
    assert_int_equal(l.models[1].policy, CFX_POLICY_SPECIFIC);
    assert_int_equal(l.models[1].n_versions, 2);
    assert_int_equal(l.models[1].versions[1], 9);
    assert_int_equal(l.models[2].policy, CFX_POLICY_ALL);
    cfx_model_list_t copy;
    assert_int_equal(cfx_model_list_copy(&copy, &l), 0);
    assert_string_equal(copy.models[0].labels[0].label, "stable");
    cfx_model_list_free(&copy);
    cfx_model_list_free(&l);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"model_config_list { config { name: \"a\" base_path: \"/x\" "
         "model_platform: \"tensorflow\" } config { name: \"a\" base_path: "
         "\"/y\" model_platform: \"tensorflow\" } }",
         "Illegal to list model a multiple times"},
        {"model_config_list { config { name: \"a\" base_path: \"x\" "
         "model_platform: \"tensorflow\" } }",
         "absolute path"},
        {"model_config_list { config { name: \"a\" base_path: \"/x\" } }",
         "model_platform"},
        {"model_config_list { config { name: \"a\" bogus: 1 } }", "bogus"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfx_error_init(&err);
        rc = cfx_model_list_parse_text(&l, bad[i].text, strlen(bad[i].text),
                                       "cfg", &err);
        assert_int_not_equal(rc, 0);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
    }
}

static void test_codes(void **state) {
    (void)state;
    /* TF Serving's table (docs/serving.md). */
    static const int http[17] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                                 400, 409, 400, 501, 500, 503, 500, 401};
    for (int c = 0; c <= 16; c++)
        assert_int_equal(cfx_service_http_status(c), http[c]);
    assert_string_equal(cfx_service_tf_code_name(9), "FAILED_PRECONDITION");
    assert_int_equal(cfx_service_tf_code(CFX_ENOTFOUND), 5);
    assert_int_equal(cfx_service_tf_code(CFX_EINVAL), 3);
    assert_int_equal(cfx_service_tf_code(CFX_ESTATE), 9);
    assert_int_equal(cfx_service_tf_code(CFX_ECHECKSUM), 15);
    assert_int_equal(cfx_service_tf_code(CFX_EUNAVAILABLE), 14);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_text_config),
        cmocka_unit_test(test_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
