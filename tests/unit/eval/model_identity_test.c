/* model_identity_test.c: the verdict of a blessing folder, written in its
 * safe order and switched from one answer to the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "eval/model_identity.h"
#include "test_util.h"

static char dir[256];

static int exists(const char *d, const char *name) {
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", d, name);
    return stat(p, &st) == 0;
}

static void expect_file(const char *d, const char *name, const char *want) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", d, name);
    size_t n = 0;
    uint8_t *got = cfx_test_read_file(p, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
    free(got);
}

static void test_write_verdict(void **state) {
    (void)state;
    char model[300], other[300], bless[300];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    snprintf(bless, sizeof bless, "%s/blessing", dir);
    assert_int_equal(mkdir(model, 0755), 0);
    assert_int_equal(mkdir(other, 0755), 0);
    assert_int_equal(mkdir(bless, 0755), 0);
    cfx_test_write_file_in(model, "manifest.json", "{\"model\": 1}\n");
    cfx_test_write_file_in(other, "manifest.json", "{\"model\": 2}\n");
    cfx_error_t err;
    cfx_error_init(&err);

    assert_int_equal(cfx_model_identity_write_verdict(bless, model, 1,
                                                      "BLESSED", "NOT_BLESSED",
                                                      "auc >= 0.5", &err),
                     0);
    assert_true(exists(bless, "BLESSED"));
    assert_false(exists(bless, "NOT_BLESSED"));
    expect_file(bless, "BLESSED", "");
    expect_file(bless, "reason", "auc >= 0.5\n");
    assert_int_equal(cfx_model_identity_check(bless, model, &err), 0);
    assert_int_equal(cfx_model_identity_check(bless, other, &err),
                     CFX_ENOTBLESSED);

    /* The same folder reused for the other answer holds only that one. */
    assert_int_equal(cfx_model_identity_write_verdict(
                         bless, other, 0, "BLESSED", "NOT_BLESSED",
                         "auc 0.4 < 0.5\nloss too high", &err),
                     0);
    assert_false(exists(bless, "BLESSED"));
    assert_true(exists(bless, "NOT_BLESSED"));
    expect_file(bless, "reason", "auc 0.4 < 0.5\nloss too high\n");
    assert_int_equal(cfx_model_identity_check(bless, other, &err), 0);

    /* A folder that cannot be written: an error naming it, no marker. */
    char gone[320];
    snprintf(gone, sizeof gone, "%s/missing", dir);
    assert_int_equal(cfx_model_identity_write_verdict(gone, model, 1, "YES",
                                                      "NO", "x", &err),
                     CFX_EIO);
    assert_non_null(strstr(err.msg, "missing"));
    assert_false(exists(gone, "YES"));
}

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(dir, sizeof dir, "cfx_model_identity");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_verdict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
