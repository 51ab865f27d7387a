/* file_test.c: bounded reads and atomic replacement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "formats/file.h"

static char dir[256];

static void test_write_then_read(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/config.pbtxt", dir);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_file_write_atomic(path, "first", 5, &err), 0);
    assert_int_equal(cfx_file_write_atomic(path, "second!", 7, &err), 0);
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_file_read(path, 100, &b, &err), 0);
    assert_int_equal(b.len, 7);
    assert_string_equal((char *)b.data, "second!"); /* NUL-terminated */
    /* Exactly at the limit is fine, one over is not. */
    cfx_buf_reset(&b);
    assert_int_equal(cfx_file_read(path, 7, &b, &err), 0);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_file_read(path, 6, &b, &err), CFX_ETOOBIG);
    assert_non_null(strstr(err.msg, "config.pbtxt"));
    assert_int_equal(b.len, 0);
    /* No temporaries left behind: the directory holds one file. */
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    assert_int_equal(n, 1);
    /* Empty files and missing ones. */
    assert_int_equal(cfx_file_write_atomic(path, "", 0, &err), 0);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_file_read(path, 10, &b, &err), 0);
    assert_int_equal(b.len, 0);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(cfx_file_read(path, 10, &b, &err), CFX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(cfx_file_read(dir, 10, &b, &err), CFX_EINVAL);
    snprintf(path, sizeof path, "%s/no/such/dir/x", dir);
    assert_int_equal(cfx_file_write_atomic(path, "x", 1, &err), CFX_EIO);
    cfx_buf_free(&b);
}

static void test_large_file(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/big.bin", dir);
    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_file_write_atomic(path, p, n, &err), 0);
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_buf_append(&b, "prefix", 6), 0);
    assert_int_equal(cfx_file_read(path, n, &b, &err), 0);
    assert_int_equal(b.len, n + 6);
    assert_memory_equal(b.data + 6, p, n);
    cfx_buf_free(&b);
    free(p);
    unlink(path);
}

static int setup(void **state) {
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cfx_file_XXXXXX", t ? t : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_then_read),
        cmocka_unit_test(test_large_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
