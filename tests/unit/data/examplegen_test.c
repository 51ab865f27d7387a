/* examplegen_test.c: CsvExampleGen semantics.
 *
 * - The split rule against TFX itself: every record of the TFX-written
 *   conformance files is re-serialized deterministically, hashed, and must
 *   fall in the split TFX put it in.
 * - SHA-256 bucket values checked with Python's hashlib when written.
 * - Types, empty cells and kind-less columns on a small CSV.
 * - Errors name the line and leave no output behind.
 */
#include <dirent.h>
#include <math.h>
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

#include "data/examplegen.h"
#include "formats/example.h"
#include "formats/tfrecord.h"
#include "test_util.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(tmpdir, sizeof tmpdir, "cfx-eg-test");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(tmpdir);
}

static void test_bucket_values(void **state) {
    (void)state;
    /* int(hashlib.sha256(b"abc").hexdigest(), 16) % 3 == 1, % 7 == 5,
     * % 1000003 == 127342; for b"": 1, 1, 597209 */
    assert_int_equal(cfx_examplegen_bucket("abc", 3, 3), 1);
    assert_int_equal(cfx_examplegen_bucket("abc", 3, 7), 5);
    assert_int_equal(cfx_examplegen_bucket("abc", 3, 1000003), 127342);
    assert_int_equal(cfx_examplegen_bucket("", 0, 3), 1);
    assert_int_equal(cfx_examplegen_bucket("", 0, 1000003), 597209);
    cfx_split_spec_t s[2] = {{"train", 2}, {"eval", 1}};
    assert_int_equal(cfx_examplegen_split_of(s, 2, 0), 0);
    assert_int_equal(cfx_examplegen_split_of(s, 2, 1), 0);
    assert_int_equal(cfx_examplegen_split_of(s, 2, 2), 1);
}

static void test_parse_splits(void **state) {
    (void)state;
    cfx_split_spec_t s[CFX_EXAMPLEGEN_MAX_SPLITS];
    size_t n;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(
        cfx_examplegen_parse_splits("train:8,eval:1,test:1", s, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(s[2].name, "test");
    assert_int_equal(s[0].buckets, 8);
    assert_int_equal(cfx_examplegen_parse_splits("a:1,a:2", s, &n, &err),
                     CFX_EINVAL);
    assert_int_equal(cfx_examplegen_parse_splits("a:0", s, &n, &err),
                     CFX_EINVAL);
    assert_int_equal(cfx_examplegen_parse_splits("a", s, &n, &err), CFX_EINVAL);
    assert_int_equal(cfx_examplegen_parse_splits("a/b:1", s, &n, &err),
                     CFX_EINVAL);
    assert_int_equal(cfx_examplegen_parse_splits("a:1,", s, &n, &err),
                     CFX_EINVAL);
}

/* The split TFX chose for each record of its own output. */
static void test_conformance_split_rule(void **state) {
    (void)state;
    const char *src = getenv("CFX_SOURCE_DIR");
    assert_non_null(src);
    static const char *splits[2] = {"train", "eval"};
    static const cfx_split_spec_t spec[2] = {{"train", 2}, {"eval", 1}};
    cfx_example_t ex;
    cfx_buf_t ser;
    cfx_error_t err;
    cfx_example_init(&ex);
    cfx_buf_init(&ser);
    cfx_error_init(&err);
    size_t count[2] = {0, 0}, wrong = 0;
    for (size_t s = 0; s < 2; s++) {
        char dir[1024];
        snprintf(dir, sizeof dir,
                 "%s/tests/data/tfx-conformance/csv_example_gen/Split-%s", src,
                 splits[s]);
        char **files;
        size_t nfiles;
        if (cfx_tfrecord_list_dir(dir, &files, &nfiles, &err) < 0)
            fail_msg("%s", err.msg);
        for (size_t k = 0; k < nfiles; k++) {
            cfx_tfrecord_reader_t *r;
            assert_int_equal(cfx_tfrecord_reader_open(files[k], &r, &err), 0);
            const uint8_t *d;
            size_t len;
            int rc;
            while ((rc = cfx_tfrecord_read(r, &d, &len, &err)) == 1) {
                assert_int_equal(cfx_example_decode(&ex, d, len, &err), 0);
                cfx_example_sort(&ex);
                cfx_buf_reset(&ser);
                assert_int_equal(cfx_example_encode(&ex, &ser), 0);
                uint32_t b = cfx_examplegen_bucket(ser.data, ser.len, 3);
                if (cfx_examplegen_split_of(spec, 2, b) != s)
                    wrong++;
                count[s]++;
            }
            assert_int_equal(rc, 0);
            cfx_tfrecord_reader_free(r);
        }
        cfx_path_list_free(files);
    }
    print_message("conformance: %zu train, %zu eval, %zu in the wrong split\n",
                  count[0], count[1], wrong);
    assert_int_equal(count[0], 9909);
    assert_int_equal(count[1], 5091);
    assert_int_equal(wrong, 0);
    cfx_example_free(&ex);
    cfx_buf_free(&ser);
}

/* Reads every example of one split (all shards) into exs[]. */
static size_t read_split(const char *out, const char *split, cfx_example_t *exs,
                         size_t cap) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/Split-%s", out, split);
    char **files;
    size_t nfiles, n = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_tfrecord_list_dir(dir, &files, &nfiles, &err) < 0)
        fail_msg("%s", err.msg);
    for (size_t k = 0; k < nfiles; k++) {
        cfx_tfrecord_reader_t *r;
        assert_int_equal(cfx_tfrecord_reader_open(files[k], &r, &err), 0);
        const uint8_t *d;
        size_t len;
        while (cfx_tfrecord_read(r, &d, &len, &err) == 1) {
            assert_true(n < cap);
            assert_int_equal(cfx_example_decode(&exs[n++], d, len, &err), 0);
        }
        cfx_tfrecord_reader_free(r);
    }
    cfx_path_list_free(files);
    return n;
}

static void test_types_and_empty_cells(void **state) {
    (void)state;
    char csv[512], out[512];
    snprintf(csv, sizeof csv, "%s/t.csv", tmpdir);
    snprintf(out, sizeof out, "%s/out1", tmpdir);
    cfx_test_write_file(csv, "id,i,f,s,none,big\n"
                             "1, 7 ,1,x,,1\n"
                             "2,,2.5,\"multi\nline\",,99999999999999999999\n"
                             "3,1_000,,,,2\n");
    cfx_split_spec_t all = {"all", 1};
    cfx_examplegen_options_t o = {
        .splits = &all, .num_splits = 1, .num_shards = 2};
    cfx_examplegen_result_t res;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_examplegen_run(csv, out, &o, &res, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res.rows, 3);
    assert_int_equal(res.split_rows[0], 3);
    static const cfx_csv_type_t want[6] = {CFX_CSV_INT,     CFX_CSV_INT,
                                           CFX_CSV_FLOAT,   CFX_CSV_STRING,
                                           CFX_CSV_UNKNOWN, CFX_CSV_STRING};
    assert_int_equal(res.num_columns, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(res.types[i], want[i]);
    cfx_examplegen_result_free(&res);

    /* two shards, round-robin: records 0 and 2 in shard 0 */
    char p[600];
    snprintf(p, sizeof p, "%s/Split-all/data_tfrecord-00001-of-00002.gz", out);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);

    cfx_example_t exs[3];
    for (int i = 0; i < 3; i++)
        cfx_example_init(&exs[i]);
    assert_int_equal(read_split(out, "all", exs, 3), 3);
    for (int i = 0; i < 3; i++) {
        cfx_example_t *e = &exs[i];
        const cfx_feature_t *id = cfx_example_find(e, "id");
        assert_non_null(id);
        assert_int_equal(id->kind, CFX_KIND_INT64);
        int64_t row = id->v.ints[0];
        const cfx_feature_t *fi = cfx_example_find(e, "i");
        const cfx_feature_t *ff = cfx_example_find(e, "f");
        const cfx_feature_t *fs = cfx_example_find(e, "s");
        const cfx_feature_t *fn = cfx_example_find(e, "none");
        const cfx_feature_t *fb = cfx_example_find(e, "big");
        assert_int_equal(fi->kind, CFX_KIND_INT64);
        assert_int_equal(ff->kind, CFX_KIND_FLOAT);
        assert_int_equal(fs->kind, CFX_KIND_BYTES);
        assert_int_equal(fn->kind, CFX_KIND_NONE); /* all-empty column */
        assert_int_equal(fb->kind, CFX_KIND_BYTES);
        if (row == 1) {
            assert_int_equal(fi->count, 1);
            assert_int_equal(fi->v.ints[0], 7);
            assert_true(ff->count == 1 && ff->v.floats[0] == 1.0f);
            assert_true(fb->count == 1 && fb->v.bytes[0].len == 1);
        } else if (row == 2) {
            assert_int_equal(fi->count, 0); /* empty cell: empty list */
            assert_true(ff->v.floats[0] == 2.5f);
            assert_int_equal(fs->v.bytes[0].len, 10);
            assert_memory_equal(fs->v.bytes[0].data, "multi\nline", 10);
            assert_int_equal(fb->v.bytes[0].len, 20);
        } else {
            assert_int_equal(row, 3);
            assert_int_equal(fi->v.ints[0], 1000);
            assert_int_equal(ff->count, 0);
            assert_int_equal(fs->count, 0);
        }
    }
    for (int i = 0; i < 3; i++)
        cfx_example_free(&exs[i]);
}

/* No entry of tmpdir starts with prefix (no output, no temporary). */
static void expect_nothing_left(const char *prefix) {
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            fail_msg("left behind: %s", e->d_name);
    closedir(d);
}

static void test_errors_leave_nothing(void **state) {
    (void)state;
    char csv[512], out[512];
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_examplegen_result_t res;
    snprintf(out, sizeof out, "%s/bad_out", tmpdir);

    snprintf(csv, sizeof csv, "%s/cells.csv", tmpdir);
    cfx_test_write_file(csv, "a,b\n1,2\n3\n4,5\n");
    assert_int_equal(cfx_examplegen_run(csv, out, NULL, &res, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "cells.csv:3: expected 2 cells"));
    cfx_examplegen_result_free(&res);
    expect_nothing_left("bad_out");

    /* the same file with skip_bad_rows: counted, not fatal */
    cfx_examplegen_options_t o = {.skip_bad_rows = 1, .quiet = 1};
    assert_int_equal(cfx_examplegen_run(csv, out, &o, &res, &err), 0);
    assert_int_equal(res.rows, 2);
    assert_int_equal(res.bad_rows, 1);
    assert_int_equal(res.split_rows[0] + res.split_rows[1], 2);
    cfx_examplegen_result_free(&res);
    /* an existing non-empty output is refused */
    assert_int_equal(cfx_examplegen_run(csv, out, &o, &res, &err), CFX_EEXIST);
    cfx_examplegen_result_free(&res);

    snprintf(out, sizeof out, "%s/bad2_out", tmpdir);
    snprintf(csv, sizeof csv, "%s/header_only.csv", tmpdir);
    cfx_test_write_file(csv, "a,b\n");
    assert_int_equal(cfx_examplegen_run(csv, out, NULL, &res, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "header_only.csv:1: no data rows"));
    cfx_examplegen_result_free(&res);

    snprintf(csv, sizeof csv, "%s/quote.csv", tmpdir);
    cfx_test_write_file(csv, "a,b\n1,2\n3,\"4\n5,6\n");
    assert_int_equal(cfx_examplegen_run(csv, out, NULL, &res, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "quote.csv:3: quoted cell not closed"));
    cfx_examplegen_result_free(&res);

    snprintf(csv, sizeof csv, "%s/utf8.csv", tmpdir);
    cfx_test_write_file(csv, "a,b\n1,2\n3,caf\xe9\n");
    assert_int_equal(cfx_examplegen_run(csv, out, NULL, &res, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "utf8.csv:3: column 'b': invalid UTF-8"));
    cfx_examplegen_result_free(&res);

    snprintf(csv, sizeof csv, "%s/empty.csv", tmpdir);
    cfx_test_write_file(csv, "");
    assert_int_equal(cfx_examplegen_run(csv, out, NULL, &res, &err),
                     CFX_EPARSE);
    cfx_examplegen_result_free(&res);
    expect_nothing_left("bad2_out");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_values),
        cmocka_unit_test(test_parse_splits),
        cmocka_unit_test(test_conformance_split_rule),
        cmocka_unit_test(test_types_and_empty_cells),
        cmocka_unit_test(test_errors_leave_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
