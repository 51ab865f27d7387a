/*
 * suggest_test.c: formats/suggest — the edit distance (values worked by
 * hand), the closest name and its cut-off, and the JSON key check's
 * message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "formats/suggest.h"

/* Distances by hand: kitten -> sitting is 3 (k/s, e/i, +g); a swap of two
 * adjacent letters is 1; ys -> ies is 2 (y/i, +e). */
static void test_distance(void **state) {
    (void)state;
    assert_int_equal(cfx_suggest_distance("", ""), 0);
    assert_int_equal(cfx_suggest_distance("", "abc"), 3);
    assert_int_equal(cfx_suggest_distance("abc", ""), 3);
    assert_int_equal(cfx_suggest_distance("kitten", "sitting"), 3);
    assert_int_equal(cfx_suggest_distance("fare", "fare"), 0);
    assert_int_equal(cfx_suggest_distance("fair", "fare"), 2);
    assert_int_equal(cfx_suggest_distance("seed", "sede"), 1);
    assert_int_equal(
        cfx_suggest_distance("stop_on_anomalys", "stop_on_anomalies"), 2);
    assert_int_equal(cfx_suggest_distance("Trainr", "Trainer"), 1);
}

static void test_closest(void **state) {
    (void)state;
    static const char *const keys[] = {"validation_config", "stop_on_anomalies",
                                       "environment", NULL};
    assert_string_equal(
        cfx_suggest_closest("stop_on_anomalys", keys, (size_t)-1),
        "stop_on_anomalies");
    assert_string_equal(cfx_suggest_closest("enviroment", keys, 3),
                        "environment");
    /* nothing close: no suggestion rather than a wild one */
    assert_null(cfx_suggest_closest("threads", keys, (size_t)-1));
    assert_null(cfx_suggest_closest("x", keys, (size_t)-1));
    /* n bounds the list even without a NULL */
    assert_null(cfx_suggest_closest("environment", keys, 2));
    static const char *const feats[] = {"fare", "tips", "company"};
    assert_string_equal(cfx_suggest_closest("fair", feats, 3), "fare");
    assert_string_equal(cfx_suggest_closest("tip", feats, 3), "tips");
    char hint[64];
    assert_string_equal(cfx_suggest_hint(hint, sizeof hint, "fair", feats, 3),
                        " (did you mean 'fare'?)");
    assert_string_equal(cfx_suggest_hint(hint, sizeof hint, "zzzzzz", feats, 3),
                        "");
}

static void test_check_keys(void **state) {
    (void)state;
    static const char *const allowed[] = {"spec", "max_quantile_values", NULL};
    json_t *ok = json_pack("{s:s}", "spec", "t.json");
    json_t *bad =
        json_pack("{s:s,s:i}", "spec", "t.json", "max_quantile_value", 5);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_suggest_check_keys(ok, allowed, CFX_EINVAL, "setting",
                                            "p.json", "components.Transform",
                                            &err),
                     0);
    assert_int_equal(cfx_suggest_check_keys(bad, allowed, CFX_EINVAL, "setting",
                                            "p.json", "components.Transform",
                                            &err),
                     CFX_EINVAL);
    assert_string_equal(err.msg,
                        "p.json: components.Transform: unknown setting "
                        "'max_quantile_value' (did you mean "
                        "'max_quantile_values'?)");
    assert_int_equal(cfx_suggest_check_keys(bad, allowed, CFX_EPARSE, "key",
                                            "t.json", NULL, &err),
                     CFX_EPARSE);
    assert_string_equal(err.msg, "t.json: unknown key 'max_quantile_value' "
                                 "(did you mean 'max_quantile_values'?)");
    json_decref(ok);
    json_decref(bad);
}

/* "comment" is a string note allowed in every object; any other value of
 * it is refused. */
static void test_check_keys_comment(void **state) {
    (void)state;
    static const char *const allowed[] = {"spec", NULL};
    json_t *ok = json_pack("{s:s,s:s}", "spec", "t.json", "comment", "why");
    json_t *bad = json_pack("{s:s,s:i}", "spec", "t.json", "comment", 5);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_suggest_check_keys(ok, allowed, CFX_EINVAL, "setting",
                                            "p.json", "outputs[0]", &err),
                     0);
    assert_int_equal(cfx_suggest_check_keys(bad, allowed, CFX_EINVAL, "setting",
                                            "p.json", "outputs[0]", &err),
                     CFX_EINVAL);
    assert_string_equal(err.msg,
                        "p.json: outputs[0]: 'comment' must be a string");
    json_decref(ok);
    json_decref(bad);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_closest),
        cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_check_keys_comment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
