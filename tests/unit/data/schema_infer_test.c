/*
 * schema_infer_test.c: TFDV's schema inference rules (docs/validation.md) on
 * hand-built statistics, the update pass, determinism and the schema.pbtxt
 * round trip through the text codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/schema_infer.h"
#include "formats/buf.h"
#include "formats/pbcodec.h"
#include "schema_fixture.h"
#include "test_util.h"

#define PB(x) TENSORFLOW__METADATA__V0__##x

/* 10 examples. */
static fx_ds_t *train_stats(void) {
    fx_ds_t *d = fx_ds_new(10);
    fx_add_num(d, "fare", FX_FLOAT, 10, 0, 1, 1, 0.5, 40.25);
    const char *company[] = {"Flash", "Blue", "Chosen"};
    double cc[] = {4, 3, 1};
    fx_add_str(d, "company", 8, 2, 1, 1, company, cc, 3);
    const char *x[] = {"x"};
    double xc[] = {6};
    fx_add_str(d, "sometimes_empty", 10, 0, 0, 1, x, xc, 1);
    fx_add_num(d, "tips", FX_INT, 10, 0, 1, 1, 0, 1);
    const char *zip[] = {"60601", " 7", "-3"};
    double zc[] = {5, 3, 2};
    fx_add_str(d, "zip", 10, 0, 1, 1, zip, zc, 3);
    fx_add(d, "nothing",
           TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__STRING)
        ->num_stats = NULL;
    fx_add_num(d, "trip_seconds", FX_INT, 10, 0, 1, 3, 0, 5400);
    return d;
}

static void test_infer_rules(void **state) {
    (void)state;
    fx_ds_t *d = train_stats();
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    cfx_schema_t *s = NULL;
    assert_int_equal(cfx_schema_infer(d, &opt, &s, NULL), 0);
    assert_int_equal(s->n_feature, 7);

    cfx_schema_feature_t *fare = cfx_schema_find(s, "fare");
    assert_non_null(fare);
    assert_int_equal(fare->type, PB(FEATURE_TYPE__FLOAT));
    assert_true(fare->presence->has_min_fraction);
    assert_true(fare->presence->min_fraction == 1.0);
    assert_int_equal(fare->presence->min_count, 1);
    assert_int_equal(fare->shape_type_case, PB(FEATURE__SHAPE_TYPE_SHAPE));
    assert_int_equal(fare->shape->n_dim, 1);
    assert_int_equal(fare->shape->dim[0]->size, 1);
    assert_int_equal(fare->domain_info_case, PB(FEATURE__DOMAIN_INFO__NOT_SET));

    /* Missing in 2 examples: no min_fraction, no shape, value_count 1..1. */
    cfx_schema_feature_t *company = cfx_schema_find(s, "company");
    assert_int_equal(company->type, PB(FEATURE_TYPE__BYTES));
    assert_false(company->presence->has_min_fraction);
    assert_int_equal(company->presence->min_count, 1);
    assert_int_equal(company->shape_type_case,
                     PB(FEATURE__SHAPE_TYPE_VALUE_COUNT));
    assert_int_equal(company->value_count->min, 1);
    assert_int_equal(company->value_count->max, 1);
    assert_int_equal(company->domain_info_case,
                     PB(FEATURE__DOMAIN_INFO_DOMAIN));
    assert_string_equal(company->domain, "company");
    Tensorflow__Metadata__V0__StringDomain *sd =
        cfx_schema_string_domain(s, "company");
    assert_non_null(sd);
    assert_int_equal(sd->n_value, 3);
    assert_string_equal(sd->value[0], "Blue");
    assert_string_equal(sd->value[1], "Chosen");
    assert_string_equal(sd->value[2], "Flash");

    /* Empty lists in some examples: neither shape nor value_count. */
    cfx_schema_feature_t *se = cfx_schema_find(s, "sometimes_empty");
    assert_true(se->presence->has_min_fraction);
    assert_int_equal(se->shape_type_case, PB(FEATURE__SHAPE_TYPE__NOT_SET));

    cfx_schema_feature_t *tips = cfx_schema_find(s, "tips");
    assert_int_equal(tips->type, PB(FEATURE_TYPE__INT));
    assert_int_equal(tips->domain_info_case,
                     PB(FEATURE__DOMAIN_INFO_BOOL_DOMAIN));

    cfx_schema_feature_t *zip = cfx_schema_find(s, "zip");
    assert_int_equal(zip->domain_info_case,
                     PB(FEATURE__DOMAIN_INFO_INT_DOMAIN));
    assert_false(zip->int_domain->has_min);

    /* Never present: min_count 0 and nothing else. */
    cfx_schema_feature_t *nothing = cfx_schema_find(s, "nothing");
    assert_int_equal(nothing->presence->min_count, 0);
    assert_false(nothing->presence->has_min_fraction);
    assert_int_equal(nothing->shape_type_case,
                     PB(FEATURE__SHAPE_TYPE__NOT_SET));

    /* Variable valency: value_count min 1 only; max 5400 > 1: no bool. */
    cfx_schema_feature_t *ts = cfx_schema_find(s, "trip_seconds");
    assert_int_equal(ts->shape_type_case, PB(FEATURE__SHAPE_TYPE_VALUE_COUNT));
    assert_int_equal(ts->value_count->min, 1);
    assert_false(ts->value_count->has_max);
    assert_int_equal(ts->domain_info_case, PB(FEATURE__DOMAIN_INFO__NOT_SET));
    assert_int_equal(s->n_string_domain, 2); /* company, sometimes_empty */
    cfx_schema_free(s);

    /* Without shape inference: value_count 1..1 instead of shape. */
    opt.infer_feature_shape = 0;
    assert_int_equal(cfx_schema_infer(d, &opt, &s, NULL), 0);
    fare = cfx_schema_find(s, "fare");
    assert_int_equal(fare->shape_type_case,
                     PB(FEATURE__SHAPE_TYPE_VALUE_COUNT));
    assert_int_equal(fare->value_count->min, 1);
    assert_int_equal(fare->value_count->max, 1);
    cfx_schema_free(s);
    fx_ds_free(d);
}

static void test_string_domain_limits(void **state) {
    (void)state;
    fx_ds_t *d = fx_ds_new(200);
    const char *labels[101];
    double counts[101];
    char buf[101][8];
    for (int i = 0; i < 101; i++) {
        snprintf(buf[i], sizeof buf[i], "v%03d", i);
        labels[i] = buf[i];
        counts[i] = 1;
    }
    fx_add_str(d, "hundred_one", 101, 99, 1, 1, labels, counts, 101);
    fx_add_str(d, "hundred", 100, 100, 1, 1, labels, counts, 100);
    const char *bad[] = {"ok", "\xff\xfe"};
    double bc[] = {1, 1};
    fx_add_str(d, "bad_utf8", 2, 198, 1, 1, bad, bc, 2);
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    cfx_schema_t *s = NULL;
    assert_int_equal(cfx_schema_infer(d, &opt, &s, NULL), 0);
    assert_int_equal(cfx_schema_find(s, "hundred_one")->domain_info_case,
                     PB(FEATURE__DOMAIN_INFO__NOT_SET));
    assert_int_equal(cfx_schema_find(s, "hundred")->domain_info_case,
                     PB(FEATURE__DOMAIN_INFO_DOMAIN));
    assert_int_equal(cfx_schema_string_domain(s, "hundred")->n_value, 100);
    assert_int_equal(cfx_schema_find(s, "bad_utf8")->domain_info_case,
                     PB(FEATURE__DOMAIN_INFO__NOT_SET));

    /* A name clash with an existing domain gets a numeric suffix. */
    fx_ds_t *d2 = fx_ds_new(1);
    const char *one[] = {"a"};
    double oc[] = {1};
    fx_fs_t *f = fx_add_str(d2, "hundred", 1, 0, 1, 1, one, oc, 1);
    assert_int_equal(cfx_schema_add_feature(s, f, &opt, NULL), 0);
    cfx_schema_feature_t *last = s->feature[s->n_feature - 1];
    assert_string_equal(last->domain, "hundred2");
    assert_non_null(cfx_schema_string_domain(s, "hundred2"));
    cfx_schema_free(s);
    fx_ds_free(d);
    fx_ds_free(d2);
}

/* Eval: two new company values (appended in byte order after the train
 * ones), fare missing once (min_fraction relaxed to 0.9, shape dropped),
 * a new column added. */
static void test_update(void **state) {
    (void)state;
    fx_ds_t *train = train_stats();
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    cfx_schema_t *s = NULL;
    assert_int_equal(cfx_schema_infer(train, &opt, &s, NULL), 0);

    fx_ds_t *eval = fx_ds_new(10);
    fx_add_num(eval, "fare", FX_FLOAT, 9, 1, 1, 1, 1, 20);
    const char *company[] = {"Zed", "Blue", "Acme"};
    double cc[] = {4, 3, 1};
    fx_add_str(eval, "company", 8, 2, 1, 1, company, cc, 3);
    fx_add_num(eval, "new_col", FX_INT, 10, 0, 1, 1, 3, 7);
    assert_int_equal(cfx_schema_update(s, eval, &opt, NULL), 0);

    Tensorflow__Metadata__V0__StringDomain *sd =
        cfx_schema_string_domain(s, "company");
    assert_int_equal(sd->n_value, 5);
    const char *want[] = {"Blue", "Chosen", "Flash", "Acme", "Zed"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(sd->value[i], want[i]);

    cfx_schema_feature_t *fare = cfx_schema_find(s, "fare");
    assert_int_equal(fare->shape_type_case, PB(FEATURE__SHAPE_TYPE__NOT_SET));
    assert_true(fare->presence->min_fraction > 0.9 - 1e-12 &&
                fare->presence->min_fraction < 0.9 + 1e-12);
    cfx_schema_feature_t *nc = cfx_schema_find(s, "new_col");
    assert_non_null(nc);
    assert_int_equal(nc->type, PB(FEATURE_TYPE__INT));
    /* Features absent from eval but required are deprecated by the pass. */
    cfx_schema_feature_t *tips = cfx_schema_find(s, "tips");
    assert_true(tips->has_lifecycle_stage);
    assert_int_equal(tips->lifecycle_stage, PB(LIFECYCLE_STAGE__DEPRECATED));
    cfx_schema_free(s);
    fx_ds_free(train);
    fx_ds_free(eval);
}

static void print_text(const cfx_schema_t *s, cfx_buf_t *b) {
    cfx_buf_init(b);
    cfx_error_t e;
    cfx_error_init(&e);
    int rc = cfx_pb_text_print(&s->base, b, &e);
    if (rc)
        fprintf(stderr, "print: %s\n", e.msg);
    assert_int_equal(rc, 0);
}

/* Same statistics, same bytes; the text form reads back to the same
 * schema; a hand edit is honoured. */
static void test_text_round_trip(void **state) {
    (void)state;
    fx_ds_t *d = train_stats();
    cfx_schema_options_t opt = {.infer_feature_shape = 1};
    cfx_schema_t *s1 = NULL, *s2 = NULL, *back = NULL;
    assert_int_equal(cfx_schema_infer(d, &opt, &s1, NULL), 0);
    assert_int_equal(cfx_schema_infer(d, &opt, &s2, NULL), 0);
    cfx_buf_t t1, t2, t3;
    print_text(s1, &t1);
    print_text(s2, &t2);
    assert_int_equal(t1.len, t2.len);
    assert_memory_equal(t1.data, t2.data, t1.len);
    cfx_buf_cstr(&t1);
    assert_non_null(strstr((const char *)t1.data, "name: \"company\""));
    assert_non_null(strstr((const char *)t1.data, "domain: \"company\""));

    char path[] = "/tmp/cfx_schema_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cfx_schema_write_text(path, s1, NULL), 0);
    assert_int_equal(cfx_schema_read_text(path, &back, NULL), 0);
    print_text(back, &t3);
    assert_int_equal(t3.len, t1.len);
    assert_memory_equal(t3.data, t1.data, t1.len);

    /* Hand edit: widen fare's presence, drop a domain value. */
    const char *edited =
        "# reviewed by hand\n"
        "feature { name: \"fare\" type: FLOAT presence { min_fraction: 0.5 } "
        "}\n"
        "feature { name: \"company\" type: BYTES domain: \"company\" }\n"
        "string_domain { name: \"company\" value: [\"Blue\", \"Flash\"] }\n";
    cfx_test_write_file(path, edited);
    cfx_schema_free(back);
    assert_int_equal(cfx_schema_read_text(path, &back, NULL), 0);
    assert_int_equal(back->n_feature, 2);
    assert_true(cfx_schema_find(back, "fare")->presence->min_fraction == 0.5);
    assert_int_equal(cfx_schema_string_domain(back, "company")->n_value, 2);

    /* A syntax error names the place. */
    cfx_test_write_file(path, "feature {\n  name: \"x\"\n  typo: 3\n}\n");
    cfx_schema_t *bad = NULL;
    cfx_error_t e;
    cfx_error_init(&e);
    assert_true(cfx_schema_read_text(path, &bad, &e) < 0);
    assert_null(bad);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "3:"));
    unlink(path);

    cfx_buf_free(&t1);
    cfx_buf_free(&t2);
    cfx_buf_free(&t3);
    cfx_schema_free(s1);
    cfx_schema_free(s2);
    cfx_schema_free(back);
    fx_ds_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infer_rules),
        cmocka_unit_test(test_string_domain_limits),
        cmocka_unit_test(test_update),
        cmocka_unit_test(test_text_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
