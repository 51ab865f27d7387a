/*
 * rest_route_test.c: TF Serving's REST path rules (docs/serving.md):
 * case-insensitive literals, `[^/:]+` URL-decoded names and labels, `\d+`
 * int64 versions (overflow is its own error), GET vs POST shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serve/rest_route.h"

static int parse(const char *path, int post, cfx_rest_route_t *rt) {
    char msg[128];
    msg[0] = 0;
    return cfx_rest_route_parse(path, post, rt, msg, sizeof(msg));
}

static void test_get(void **state) {
    (void)state;
    cfx_rest_route_t rt;
    assert_int_equal(parse("/v1/models/taxi", 0, &rt), CFX_ROUTE_OK);
    assert_int_equal(rt.kind, CFX_ROUTE_STATUS);
    assert_string_equal(rt.name, "taxi");
    assert_int_equal(rt.version, -1);
    assert_int_equal(rt.has_label, 0);
    assert_int_equal(parse("/v1/models/taxi/versions/00042", 0, &rt),
                     CFX_ROUTE_OK);
    assert_int_equal(rt.version, 42);
    assert_int_equal(parse("/v1/MODELS/taxi/Versions/7/METADATA", 0, &rt),
                     CFX_ROUTE_OK);
    assert_int_equal(rt.kind, CFX_ROUTE_METADATA);
    assert_int_equal(rt.version, 7);
    assert_int_equal(
        parse("/v1/models/my%20model/labels/can%61ry/metadata", 0, &rt),
        CFX_ROUTE_OK);
    assert_string_equal(rt.name, "my model");
    assert_string_equal(rt.label, "canary");
    assert_int_equal(rt.has_label, 1);
    assert_int_equal(parse("/v1/models", 0, &rt), CFX_ROUTE_MISSING_NAME);
    static const char *bad[] = {
        "/v1/models/",
        "/v1/models/taxi/",
        "/v1/models/taxi:predict",
        "/v1/models/taxi/versions/",
        "/v1/models/taxi/versions/x",
        "/v1/models/taxi/versions/1/labels/a",
        "/v1/models/taxi/metadata/x",
        "/v1/model/taxi",
        "/v1/models/taxi/labels/",
        "/v2/models/taxi",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], 0, &rt) != CFX_ROUTE_MALFORMED)
            fail_msg("GET %s should be malformed", bad[i]);
}

static void test_post(void **state) {
    (void)state;
    cfx_rest_route_t rt;
    assert_int_equal(parse("/v1/models/taxi:predict", 1, &rt), CFX_ROUTE_OK);
    assert_int_equal(rt.kind, CFX_ROUTE_PREDICT);
    assert_int_equal(parse("/v1/models/taxi/versions/3:CLASSIFY", 1, &rt),
                     CFX_ROUTE_OK);
    assert_int_equal(rt.kind, CFX_ROUTE_CLASSIFY);
    assert_int_equal(rt.version, 3);
    assert_int_equal(parse("/v1/models/taxi/labels/stable:regress", 1, &rt),
                     CFX_ROUTE_OK);
    assert_int_equal(rt.kind, CFX_ROUTE_REGRESS);
    assert_string_equal(rt.label, "stable");
    static const char *bad[] = {
        "/v1/models/taxi",          "/v1/models/taxi/metadata",
        "/v1/models/taxi:explain",  "/v1/models:predict",
        "/v1/models/taxi:predict/", "/v1/models",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], 1, &rt) != CFX_ROUTE_MALFORMED)
            fail_msg("POST %s should be malformed", bad[i]);
}

static void test_version_overflow(void **state) {
    (void)state;
    cfx_rest_route_t rt;
    char msg[128];
    /* INT64_MAX parses; one more does not. */
    assert_int_equal(cfx_rest_route_parse(
                         "/v1/models/m/versions/9223372036854775807:predict", 1,
                         &rt, msg, sizeof(msg)),
                     CFX_ROUTE_OK);
    assert_true(rt.version == INT64_MAX);
    assert_int_equal(cfx_rest_route_parse(
                         "/v1/models/m/versions/9223372036854775808:predict", 1,
                         &rt, msg, sizeof(msg)),
                     CFX_ROUTE_BAD_VERSION);
    assert_string_equal(msg, "Failed to convert version: 9223372036854775808");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_version_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
