/* stats_io_test.c: a FeatureStats.pb written and read back, the default
 * slice of one and of several datasets, and the lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/stats_io.h"
#include "schema.pb-c.h"
#include "schema_fixture.h"
#include "test_util.h"

static char dir[256];

typedef Tensorflow__Metadata__V0__DatasetFeatureStatisticsList list_t;

/* Writes l packed to <dir>/<name> (a FeatureStats.pb) and frees l. */
static void write_list(list_t *l, const char *name) {
    size_t n =
        tensorflow__metadata__v0__dataset_feature_statistics_list__get_packed_size(
            l);
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    tensorflow__metadata__v0__dataset_feature_statistics_list__pack(l, p);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cfx_test_write_bytes(path, p, n);
    free(p);
    protobuf_c_message_free_unpacked(&l->base, NULL);
}

static list_t *list_of(fx_ds_t **ds, size_t n) {
    list_t *l = calloc(1, sizeof *l);
    tensorflow__metadata__v0__dataset_feature_statistics_list__init(l);
    l->datasets = calloc(n, sizeof *l->datasets);
    for (size_t i = 0; i < n; i++)
        l->datasets[i] = ds[i];
    l->n_datasets = n;
    return l;
}

static void test_read_one_dataset(void **state) {
    (void)state;
    fx_ds_t *d = fx_ds_new(10);
    fx_add_num(d, "fare", FX_FLOAT, 9, 1, 1, 1, 0.5, 80.0);
    static const char *const labels[] = {"Cash", "Credit Card"};
    static const double counts[] = {6, 4};
    fx_add_str(d, "payment_type", 10, 0, 1, 1, labels, counts, 2);
    write_list(list_of(&d, 1), "FeatureStats.pb");

    cfx_error_t err;
    cfx_error_init(&err);
    cfx_stats_list_t *l = NULL;
    const cfx_dataset_stats_t *ds = NULL;
    /* A directory is read as <dir>/FeatureStats.pb. */
    assert_int_equal(cfx_stats_read_default(dir, &l, &ds, &err), 0);
    assert_non_null(ds);
    assert_int_equal(ds->num_examples, 10);
    const cfx_feature_stats_t *f = cfx_stats_find(ds, "fare");
    assert_non_null(f);
    char buf[64];
    assert_string_equal(cfx_stats_feature_name(f, buf, sizeof buf), "fare");
    assert_int_equal(cfx_stats_common(f)->num_non_missing, 9);
    assert_int_equal(cfx_stats_common(f)->num_missing, 1);
    assert_int_equal(cfx_stats_schema_type(f),
                     TENSORFLOW__METADATA__V0__FEATURE_TYPE__FLOAT);
    f = cfx_stats_find(ds, "payment_type");
    assert_non_null(f);
    assert_int_equal(cfx_stats_common(f)->tot_num_values, 10);
    assert_int_equal(cfx_stats_schema_type(f),
                     TENSORFLOW__METADATA__V0__FEATURE_TYPE__BYTES);
    assert_null(cfx_stats_find(ds, "tips"));
    assert_null(cfx_stats_common(NULL));
    cfx_stats_free(l);
}

static void test_default_of_several(void **state) {
    (void)state;
    fx_ds_t *ds[3] = {fx_ds_new(1), fx_ds_new(2), fx_ds_new(3)};
    ds[0]->name = strdup("slice a");
    ds[1]->name = strdup("All Examples");
    ds[2]->name = strdup("slice b");
    write_list(list_of(ds, 3), "several.pb");
    cfx_error_t err;
    cfx_error_init(&err);
    char path[512];
    snprintf(path, sizeof path, "%s/several.pb", dir);
    cfx_stats_list_t *l = NULL;
    const cfx_dataset_stats_t *d = NULL;
    assert_int_equal(cfx_stats_read_default(path, &l, &d, &err), 0);
    assert_int_equal(d->num_examples, 2);
    cfx_stats_free(l);

    /* No dataset at all: an error naming the file, the list still ours. */
    write_list(list_of(NULL, 0), "empty.pb");
    snprintf(path, sizeof path, "%s/empty.pb", dir);
    assert_int_equal(cfx_stats_read_default(path, &l, &d, &err), CFX_ECORRUPT);
    assert_null(d);
    assert_non_null(strstr(err.msg, "empty.pb: no dataset"));
    cfx_stats_free(l);

    /* Not a statistics list. */
    snprintf(path, sizeof path, "%s/garbage.pb", dir);
    cfx_test_write_file(path, "\xff\xff\xff");
    assert_int_equal(cfx_stats_read(path, &l, &err), CFX_ECORRUPT);
    assert_null(l);
    snprintf(path, sizeof path, "%s/missing.pb", dir);
    assert_int_equal(cfx_stats_read(path, &l, &err), CFX_ENOTFOUND);
}

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(dir, sizeof dir, "cfx_stats_io");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_one_dataset),
        cmocka_unit_test(test_default_of_several),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
