/* file_test.c: bounded reads, atomic replacement and tree removal. */
#include <dirent.h>
#include <fcntl.h>
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

#include "formats/file.h"
#include "test_util.h"

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

static void put(const char *path, const char *text) {
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_file_write_atomic(path, text, strlen(text), &err), 0);
}

static void test_remove_tree(void **state) {
    (void)state;
    char root[512], p[600], outside[512], outdir[512];
    cfx_error_t err;
    cfx_error_init(&err);
    snprintf(root, sizeof root, "%s/tree", dir);
    snprintf(outside, sizeof outside, "%s/keep.txt", dir);
    snprintf(outdir, sizeof outdir, "%s/keepdir", dir);
    put(outside, "keep");
    assert_int_equal(mkdir(outdir, 0755), 0);
    snprintf(p, sizeof p, "%s/inside.txt", outdir);
    put(p, "keep too");
    /* tree/a/b/c/deep.txt, tree/top.txt, an empty tree/empty/, and links to
     * a file and a directory outside the tree (must not be followed). */
    snprintf(p, sizeof p, "%s/a/b/c", root);
    assert_int_equal(cfx_file_mkdirs(p, &err), 0);
    snprintf(p, sizeof p, "%s/a/b/c/deep.txt", root);
    put(p, "x");
    snprintf(p, sizeof p, "%s/top.txt", root);
    put(p, "y");
    snprintf(p, sizeof p, "%s/empty", root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/a/link_file", root);
    assert_int_equal(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/a/b/link_dir", root);
    assert_int_equal(symlink(outdir, p), 0);

    assert_int_equal(cfx_file_remove_tree(root, &err), 0);
    struct stat st;
    assert_int_equal(lstat(root, &st), -1);
    assert_int_equal(stat(outside, &st), 0);
    snprintf(p, sizeof p, "%s/inside.txt", outdir);
    assert_int_equal(stat(p, &st), 0);

    /* Missing is fine; so is a plain file, and a link at the top is removed
     * while its target stays. */
    assert_int_equal(cfx_file_remove_tree(root, &err), 0);
    snprintf(p, sizeof p, "%s/linktop", dir);
    assert_int_equal(symlink(outdir, p), 0);
    assert_int_equal(cfx_file_remove_tree(p, &err), 0);
    assert_int_equal(lstat(p, &st), -1);
    snprintf(p, sizeof p, "%s/inside.txt", outdir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(cfx_file_remove_tree(outside, &err), 0);
    assert_int_equal(lstat(outside, &st), -1);

    /* A path through a regular file cannot be walked: an error, not
     * "missing". */
    snprintf(p, sizeof p, "%s/inside.txt/x", outdir);
    cfx_error_init(&err);
    assert_int_equal(cfx_file_remove_tree(p, &err), CFX_EIO);
    assert_non_null(strstr(err.msg, "inside.txt/x"));
    /* A directory we may not write into: the error names the entry. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(outdir, 0555), 0);
        cfx_error_init(&err);
        assert_int_equal(cfx_file_remove_tree(outdir, &err), CFX_EIO);
        assert_non_null(strstr(err.msg, "inside.txt"));
        assert_int_equal(chmod(outdir, 0755), 0);
    }
    assert_int_equal(cfx_file_remove_tree(outdir, &err), 0);
    assert_int_equal(lstat(outdir, &st), -1);
}

/* Chunk sink for test_read_chunks: checks the bytes are the file's, in
 * order; fails with CFX_EINTERNAL once stop_at bytes were seen. */
typedef struct sink {
    const uint8_t *want;
    size_t seen, calls, stop_at;
} sink_t;

static int sink_chunk(void *ud, const void *data, size_t n, cfx_error_t *err) {
    sink_t *s = ud;
    assert_true(n > 0);
    assert_memory_equal(data, s->want + s->seen, n);
    s->seen += n;
    s->calls++;
    if (s->stop_at && s->seen >= s->stop_at)
        return cfx_error_set(err, CFX_EINTERNAL, "sink: stop");
    return 0;
}

static void test_read_chunks(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/chunks.bin", dir);
    size_t n = 600 * 1024 + 5; /* three chunks of 256 KiB, the last short */
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 13 + 1);
    cfx_test_write_bytes(path, p, n);
    cfx_error_t err;
    cfx_error_init(&err);
    sink_t s = {p, 0, 0, 0};
    uint64_t size = 1;
    assert_int_equal(cfx_file_read_chunks(path, n, sink_chunk, &s, &size, &err),
                     0);
    assert_int_equal(size, n);
    assert_int_equal(s.seen, n);
    assert_int_equal(s.calls, 3);
    /* One byte over the limit: refused before fn sees anything. */
    s = (sink_t){p, 0, 0, 0};
    assert_int_equal(
        cfx_file_read_chunks(path, n - 1, sink_chunk, &s, &size, &err),
        CFX_ETOOBIG);
    assert_int_equal(size, 0);
    assert_int_equal(s.calls, 0);
    assert_non_null(strstr(err.msg, "chunks.bin"));
    /* fn's error ends the read and comes back with its message. */
    s = (sink_t){p, 0, 0, 1};
    assert_int_equal(cfx_file_read_chunks(path, n, sink_chunk, &s, NULL, &err),
                     CFX_EINTERNAL);
    assert_int_equal(s.calls, 1);
    assert_string_equal(err.msg, "sink: stop");
    /* Missing files and directories, as cfx_file_read. */
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(cfx_file_read_chunks(path, n, sink_chunk, &s, NULL, &err),
                     CFX_ENOTFOUND);
    assert_int_equal(cfx_file_read_chunks(dir, n, sink_chunk, &s, NULL, &err),
                     CFX_EINVAL);
    free(p);
}

/* Fills a pipe with n bytes of pattern and closes its write end; returns
 * the read end (n stays under the pipe's 64 KiB buffer). */
static int filled_pipe(size_t n) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(i * 5 + 3);
        assert_int_equal(write(fds[1], &c, 1), 1);
    }
    close(fds[1]);
    return fds[0];
}

/* A pipe has no size to announce: the buffer grows as the bytes come, and
 * the limit is checked on what was read. */
static void test_read_pipe(void **state) {
    (void)state;
    const size_t n = 5000;
    char path[64];
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_buf_t b;
    cfx_buf_init(&b);
    int fd = filled_pipe(n);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    assert_int_equal(cfx_file_read(path, n, &b, &err), 0);
    assert_int_equal(b.len, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(b.data[i], (uint8_t)(i * 5 + 3));
    assert_int_equal(b.data[n], 0);
    close(fd);
    fd = filled_pipe(n);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_file_read(path, n - 1, &b, &err), CFX_ETOOBIG);
    assert_int_equal(b.len, 0);
    close(fd);
    cfx_buf_free(&b);
}

/* Everything reaches the file, in order. */
static void test_write_all(void **state) {
    (void)state;
    const size_t n = 200 * 1024;
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 11 + 7);
    char path[512];
    snprintf(path, sizeof path, "%s/all.bin", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(cfx_file_write_all(fd, p, n), 0);
    assert_int_equal(cfx_file_write_all(fd, p, 0), 0);
    close(fd);
    size_t got = 0;
    uint8_t *back = cfx_test_read_file(path, &got);
    assert_int_equal(got, n);
    assert_memory_equal(back, p, n);
    free(back);
    /* A closed descriptor: -1 with errno, nothing hidden. */
    assert_int_equal(cfx_file_write_all(fd, p, 1), -1);
    free(p);
}

static void test_absent_or_empty(void **state) {
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s/fresh", dir);
    assert_int_equal(cfx_file_absent_or_empty(p), 1);
    assert_int_equal(cfx_file_is_dir(p), 0);
    assert_int_equal(cfx_file_is_regular(p), 0);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(cfx_file_is_dir(p), 1);
    assert_int_equal(cfx_file_is_regular(p), 0);
    assert_int_equal(cfx_file_absent_or_empty(p), 1);
    cfx_test_write_file_in(p, "x", "x");
    assert_int_equal(cfx_file_absent_or_empty(p), 0);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_file_check_empty_dir(p, &err), CFX_EEXIST);
    assert_non_null(strstr(err.msg, "fresh: output directory exists and is "
                                    "not empty"));
    snprintf(p, sizeof p, "%s/fresh/x", dir);
    assert_int_equal(cfx_file_is_regular(p), 1);
    assert_int_equal(cfx_file_is_dir(p), 0);
    assert_int_equal(cfx_file_absent_or_empty(p), 0); /* a file */
    assert_int_equal(cfx_file_check_empty_dir(p, &err), CFX_EEXIST);
    assert_non_null(strstr(err.msg, "x: exists and is not a directory"));
    snprintf(p, sizeof p, "%s/fresh", dir);
    assert_int_equal(cfx_test_rm_rf(p), 0);
    assert_int_equal(cfx_file_check_empty_dir(p, &err), 0);
}

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(dir, sizeof dir, "cfx_file");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_then_read),
        cmocka_unit_test(test_large_file),
        cmocka_unit_test(test_remove_tree),
        cmocka_unit_test(test_read_chunks),
        cmocka_unit_test(test_read_pipe),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_absent_or_empty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
