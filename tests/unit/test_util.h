/*
 * test_util.h: what the unit tests share: a fresh temporary directory per
 * test (made in setup, removed in teardown) and whole-file writes and reads
 * that fail the running test on any error. None of it uses the code under
 * test, so a broken cfx_file_* cannot hide behind its own teardown.
 *
 * For the test's main thread only (cmocka's fail_msg longjmps).
 */
#ifndef CFX_TEST_UTIL_H
#define CFX_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Makes a new directory $TMPDIR/<prefix>-XXXXXX (/tmp when TMPDIR is unset)
 * and writes its path into dir (cap bytes). Returns 0, or -1 (as a cmocka
 * setup function does) when it could not be made or the path does not fit. */
int cfx_test_tmpdir_make(char *dir, size_t cap, const char *prefix);

/* Removes path and everything below it, like `rm -rf`, not following links.
 * Returns 0 (also when path did not exist) or -1 if something remained. */
int cfx_test_rm_rf(const char *path);

/* Creates or truncates path and writes the C string text into it. */
void cfx_test_write_file(const char *path, const char *text);

/* The same for dir/name. */
void cfx_test_write_file_in(const char *dir, const char *name,
                            const char *text);

/* Creates or truncates path and writes n bytes of p into it. */
void cfx_test_write_bytes(const char *path, const void *p, size_t n);

/* The whole of path, followed by a NUL not counted in *n; the caller frees
 * it with free(). */
uint8_t *cfx_test_read_file(const char *path, size_t *n);

/* 1 when path exists (any kind of file), else 0. */
int cfx_test_exists(const char *path);

/* Defines `static char NAME[SIZE]` and the cmocka fixtures setup() and
 * teardown() that make it a fresh temporary directory (PREFIX-XXXXXX) and
 * remove it again. */
#define CFX_TEST_TMPDIR_FIXTURE(NAME, SIZE, PREFIX)                            \
    static char NAME[SIZE];                                                    \
    static int setup(void **state) {                                           \
        (void)state;                                                           \
        return cfx_test_tmpdir_make(NAME, sizeof NAME, PREFIX);                \
    }                                                                          \
    static int teardown(void **state) {                                        \
        (void)state;                                                           \
        cfx_test_rm_rf(NAME);                                                  \
        return 0;                                                              \
    }

/* Asserts that CALL returns 0, printing ERR.msg (a cfx_error_t) when not. */
#define CFX_TEST_OK(CALL, ERR)                                                 \
    do {                                                                       \
        int rc_ = (CALL);                                                      \
        if (rc_)                                                               \
            fprintf(stderr, "%s: %s\n", #CALL, (ERR).msg);                     \
        assert_int_equal(rc_, 0);                                              \
    } while (0)

#endif
