/*
 * slicing_test.c: slice membership (eval/slicing.c) of hand-built examples:
 * overall, one feature, a cross, fixed feature values, multivalent and
 * missing features, names as TFMA stringifies slice keys; the slice table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "eval/slicing.h"

typedef struct got {
    char names[8][CFX_SLICE_NAME_MAX];
    size_t n;
} got_t;

static int collect(void *ud, const char *name) {
    got_t *g = ud;
    if (g->n < 8)
        snprintf(g->names[g->n], CFX_SLICE_NAME_MAX, "%s", name);
    g->n++;
    return 0;
}

static void spec_keys(cfx_slicing_spec_t *s, const char *a, const char *b) {
    memset(s, 0, sizeof *s);
    if (a)
        snprintf(s->keys[s->num_keys++], CFX_SLICE_FEATURE_MAX, "%s", a);
    if (b)
        snprintf(s->keys[s->num_keys++], CFX_SLICE_FEATURE_MAX, "%s", b);
}

static void build(cfx_example_t *ex) {
    cfx_example_init(ex);
    int64_t hour = 5, days[2] = {1, 7};
    float fare = 12.5f;
    cfx_bytes_t pay = {(const uint8_t *)"Cash", 4};
    assert_int_equal(cfx_example_add_int64(ex, "trip_start_hour", &hour, 1), 0);
    assert_int_equal(cfx_example_add_int64(ex, "days", days, 2), 0);
    assert_int_equal(cfx_example_add_float(ex, "fare", &fare, 1), 0);
    assert_int_equal(cfx_example_add_bytes(ex, "payment_type", &pay, 1), 0);
    assert_int_equal(cfx_example_add_int64(ex, "empty", NULL, 0), 0);
}

static void test_slices_of_an_example(void **state) {
    (void)state;
    cfx_example_t ex;
    cfx_slicing_spec_t s;
    got_t g;
    char name[CFX_SLICE_NAME_MAX];
    build(&ex);

    spec_keys(&s, NULL, NULL);
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.names[0], "Overall");
    cfx_slicing_spec_name(&s, name, sizeof name);
    assert_string_equal(name, "Overall");

    spec_keys(&s, "trip_start_hour", NULL);
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.names[0], "trip_start_hour:5");

    spec_keys(&s, "payment_type", "fare");
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.names[0], "payment_type_X_fare:Cash_X_12.5");
    cfx_slicing_spec_name(&s, name, sizeof name);
    assert_string_equal(name, "payment_type_X_fare");

    /* multivalent: one slice per value, crossed with the other feature */
    spec_keys(&s, "trip_start_hour", "days");
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.names[0], "trip_start_hour_X_days:5_X_1");
    assert_string_equal(g.names[1], "trip_start_hour_X_days:5_X_7");

    /* missing or empty: in no slice of the spec */
    spec_keys(&s, "trip_start_hour", "company");
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 0);
    spec_keys(&s, "empty", NULL);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 0);

    /* fixed values: only matching examples, the value in the name */
    spec_keys(&s, "trip_start_hour", NULL);
    snprintf(s.value_keys[0], CFX_SLICE_FEATURE_MAX, "payment_type");
    snprintf(s.values[0], CFX_SLICE_VALUE_MAX, "Cash");
    s.num_values = 1;
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.names[0], "trip_start_hour_X_payment_type:5_X_Cash");
    snprintf(s.values[0], CFX_SLICE_VALUE_MAX, "Credit Card");
    memset(&g, 0, sizeof g);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, NULL), 0);
    assert_int_equal(g.n, 0);
    cfx_example_free(&ex);
}

static void test_too_many_slices_per_example(void **state) {
    (void)state;
    cfx_example_t ex;
    cfx_example_init(&ex);
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i;
    assert_int_equal(cfx_example_add_int64(&ex, "many", v, 100), 0);
    cfx_slicing_spec_t s;
    spec_keys(&s, "many", NULL);
    got_t g;
    memset(&g, 0, sizeof g);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_slicing_keys(&s, &ex, collect, &g, &err), CFX_ETOOBIG);
    cfx_example_free(&ex);
}

static void test_slice_table(void **state) {
    (void)state;
    cfx_slice_table_t t;
    cfx_slice_table_init(&t);
    char name[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1000; i++) {
            size_t idx;
            int created;
            snprintf(name, sizeof name, "h:%d", i);
            assert_int_equal(
                cfx_slice_table_intern(&t, name, &idx, &created, NULL), 0);
            assert_int_equal(idx, (size_t)i);
            assert_int_equal(created, round == 0);
        }
    assert_int_equal(t.n, 1000);
    assert_string_equal(t.names[999], "h:999");
    cfx_slice_table_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices_of_an_example),
        cmocka_unit_test(test_too_many_slices_per_example),
        cmocka_unit_test(test_slice_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
