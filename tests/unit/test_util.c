/* test_util.c: the helpers of test_util.h, with plain stdio and nftw. */
#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cfx_test_tmpdir_make(char *dir, size_t cap, const char *prefix) {
    const char *t = getenv("TMPDIR");
    int n = snprintf(dir, cap, "%s/%s-XXXXXX", t && *t ? t : "/tmp", prefix);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int type,
                        struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

int cfx_test_rm_rf(const char *path) {
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)
        return 0;
    return errno == ENOENT && access(path, F_OK) != 0 ? 0 : -1;
}

void cfx_test_write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    if (fwrite(p, 1, n, f) != n || fclose(f) != 0)
        fail_msg("%s: write failed", path);
}

void cfx_test_write_file(const char *path, const char *text) {
    cfx_test_write_bytes(path, text, strlen(text));
}

void cfx_test_write_file_in(const char *dir, const char *name,
                            const char *text) {
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof path);
    cfx_test_write_file(path, text);
}

uint8_t *cfx_test_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long sz = ftell(f);
    assert_true(sz >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    uint8_t *p = malloc((size_t)sz + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    p[sz] = 0;
    *n = (size_t)sz;
    return p;
}

int cfx_test_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}
