/* csv_test.c: the CSV reader (quotes, multi-line cells, line numbers,
 * errors) and the Python int()/float() cell rules. Expected values of the
 * number table were produced with CPython 3 int()/float() when this test
 * was written. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "data/csv.h"
#include "data/csv_value.h"
#include "test_util.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    return cfx_test_tmpdir_make(tmpdir, sizeof tmpdir, "cfx-csv-test");
}

static int teardown(void **state) {
    (void)state;
    return cfx_test_rm_rf(tmpdir);
}

static const char *write_csv(const char *name, const char *text, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    cfx_test_write_bytes(path, text, n);
    return path;
}

#define WRITE(name, lit) write_csv(name, lit, sizeof(lit) - 1)

static void expect_cell(const cfx_csv_row_t *row, size_t i, const char *s) {
    assert_true(i < row->count);
    if (row->cells[i].len != strlen(s) ||
        memcmp(row->cells[i].data, s, row->cells[i].len) != 0)
        fail_msg("cell %zu: got \"%.*s\", want \"%s\"", i,
                 (int)row->cells[i].len, row->cells[i].data, s);
}

static void test_quotes_and_lines(void **state) {
    (void)state;
    const char *p = WRITE("q.csv", " a,b ,c\r\n"
                                   "1,\"x,y\",\"he said \"\"hi\"\"\"\r\n"
                                   "\n"
                                   "2,\"multi\nline\ncell\",plain\"quote\n"
                                   "3,\"ab\"cd,\n"
                                   "4,,\"\"");
    cfx_csv_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_csv_open(p, &r, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfx_csv_num_columns(r), 3);
    /* header: stripped as a whole, split without quote handling */
    assert_string_equal(cfx_csv_column(r, 0), "a");
    assert_string_equal(cfx_csv_column(r, 1), "b ");
    assert_string_equal(cfx_csv_column(r, 2), "c");
    cfx_csv_row_t row;
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 2);
    expect_cell(&row, 0, "1");
    expect_cell(&row, 1, "x,y");
    expect_cell(&row, 2, "he said \"hi\"");
    /* line 3 is blank and skipped */
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 4);
    expect_cell(&row, 1, "multi\nline\ncell");
    expect_cell(&row, 2, "plain\"quote");
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 7);
    expect_cell(&row, 1, "abcd");
    expect_cell(&row, 2, "");
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 8);
    expect_cell(&row, 0, "4");
    expect_cell(&row, 1, "");
    expect_cell(&row, 2, "");
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);
}

static void test_bad_rows(void **state) {
    (void)state;
    const char *p = WRITE("bad.csv", "a,b\n"
                                     "1,2\n"
                                     "1,2,3\n"
                                     "\"x\ny\",\xff\xfe\n"
                                     "5,6\n"
                                     "\xc3,\xa9\n" /* halves of one character */
                                     "7,\"open\n"
                                     "never closed\n");
    cfx_csv_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_csv_open(p, &r, &err), 0);
    cfx_csv_row_t row;
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(cfx_csv_next(r, &row, &err), CFX_EPARSE);
    assert_non_null(strstr(err.msg, "bad.csv:3: expected 2 cells"));
    assert_non_null(strstr(err.msg, "got 3"));
    assert_int_equal(cfx_csv_next(r, &row, &err), CFX_EPARSE);
    assert_non_null(strstr(err.msg, "bad.csv:4: column 'b': invalid UTF-8"));
    /* the reader stepped over both bad records */
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 6);
    expect_cell(&row, 1, "6");
    assert_int_equal(cfx_csv_next(r, &row, &err), CFX_EPARSE);
    assert_non_null(strstr(err.msg, "bad.csv:7: column 'a': invalid UTF-8"));
    assert_int_equal(cfx_csv_next(r, &row, &err), CFX_EPARSE);
    assert_non_null(strstr(err.msg, "bad.csv:8: quoted cell not closed"));
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);
}

static void test_header_errors(void **state) {
    (void)state;
    cfx_csv_reader_t *r = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_csv_open(WRITE("empty.csv", ""), &r, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "empty.csv:1: empty file"));
    assert_int_equal(cfx_csv_open(WRITE("blank.csv", "  \n1,2\n"), &r, &err),
                     CFX_EPARSE);
    assert_int_equal(cfx_csv_open(WRITE("dup.csv", "a,b,a\n1,2,3\n"), &r, &err),
                     CFX_EPARSE);
    assert_non_null(strstr(err.msg, "'a' appears twice"));
    assert_int_equal(cfx_csv_open(WRITE("hole.csv", "a,,b\n"), &r, &err),
                     CFX_EPARSE);
    assert_int_equal(cfx_csv_open("/nonexistent/x.csv", &r, &err),
                     CFX_ENOTFOUND);
    /* header only: opens, no rows */
    assert_int_equal(
        cfx_csv_open(WRITE("h.csv", "\xef\xbb\xbfx,y\n"), &r, &err), 0);
    assert_string_equal(cfx_csv_column(r, 0), "x"); /* BOM dropped */
    cfx_csv_row_t row;
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);
    /* old Mac line ends: a lone '\r' ends the header and the records */
    assert_int_equal(cfx_csv_open(WRITE("cr.csv", "x,y\r1,2\r3,4"), &r, &err),
                     0);
    assert_int_equal(cfx_csv_num_columns(r), 2);
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 2);
    expect_cell(&row, 1, "2");
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 3);
    expect_cell(&row, 0, "3");
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);
    /* last record without a newline */
    assert_int_equal(cfx_csv_open(WRITE("nonl.csv", "x\n5"), &r, &err), 0);
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    expect_cell(&row, 0, "5");
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);
}

/* Python's csv module where libcsv alone differs: nothing trimmed, text
 * after a closing quote appended unquoted, also when the closing quote is
 * the last byte of a 1 MiB read. Expected cells from CPython's
 * csv.reader on the same bytes. */
static void test_python_quote_rules(void **state) {
    (void)state;
    const char *p = WRITE("py.csv", "a,b\n"
                                    "\"x\" ,  y  \n"
                                    "\"p\"q\"r\",\"\"\"\"\n");
    cfx_csv_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_csv_open(p, &r, &err), 0);
    cfx_csv_row_t row;
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    expect_cell(&row, 0, "x ");
    expect_cell(&row, 1, "  y  ");
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.line, 3);
    expect_cell(&row, 0, "pq\"r\"");
    expect_cell(&row, 1, "\"");
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);

    /* "www...w"z,1 with the closing quote at byte 1048576 */
    size_t n = (size_t)1 << 20, len = n + 4;
    char *big = malloc(len);
    assert_non_null(big);
    memcpy(big, "a,b\n\"", 5);
    memset(big + 5, 'w', n - 6);
    memcpy(big + n - 1, "\"z,1\n", 5);
    p = write_csv("edge.csv", big, len);
    free(big);
    assert_int_equal(cfx_csv_open(p, &r, &err), 0);
    assert_int_equal(cfx_csv_next(r, &row, &err), 1);
    assert_int_equal(row.cells[0].len, 1048571);
    assert_memory_equal(row.cells[0].data + 1048568, "wwz", 3);
    expect_cell(&row, 1, "1");
    assert_int_equal(cfx_csv_next(r, &row, &err), 0);
    cfx_csv_close(r);
}

static void test_record_limit(void **state) {
    (void)state;
    size_t n = CFX_CSV_MAX_RECORD + 100;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, "a\n\"", 3);
    memset(big + 3, 'x', n - 3);
    const char *p = write_csv("big.csv", big, n);
    free(big);
    cfx_csv_reader_t *r;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_csv_open(p, &r, &err), 0);
    cfx_csv_row_t row;
    assert_int_equal(cfx_csv_next(r, &row, &err), CFX_ETOOBIG);
    assert_non_null(strstr(err.msg, "big.csv:2: record longer than"));
    cfx_csv_close(r);
}

typedef struct num_case {
    const char *s;
    cfx_csv_type_t type;
    double value; /* int or float value where type is INT/FLOAT */
} num_case_t;

static void test_python_number_rules(void **state) {
    (void)state;
    static const num_case_t cases[] = {
        {"1", CFX_CSV_INT, 1},
        {" 12 ", CFX_CSV_INT, 12},
        {"1_000", CFX_CSV_INT, 1000},
        {"-0", CFX_CSV_INT, 0},
        {"+5", CFX_CSV_INT, 5},
        {"007", CFX_CSV_INT, 7},
        {"1__0", CFX_CSV_STRING, 0},
        {"_1", CFX_CSV_STRING, 0},
        {"1_", CFX_CSV_STRING, 0},
        {"9223372036854775807", CFX_CSV_INT, 9223372036854775807.0},
        {"-9223372036854775808", CFX_CSV_INT, -9223372036854775808.0},
        /* Python ints outside int64: TFX makes the column STRING */
        {"9223372036854775808", CFX_CSV_STRING, 0},
        {"-9223372036854775809", CFX_CSV_STRING, 0},
        {"1.5", CFX_CSV_FLOAT, 1.5},
        {" 1e3 ", CFX_CSV_FLOAT, 1000.0},
        {"inf", CFX_CSV_FLOAT, INFINITY},
        {"-Infinity", CFX_CSV_FLOAT, -INFINITY},
        {"nan", CFX_CSV_FLOAT, NAN},
        {"NaN", CFX_CSV_FLOAT, NAN},
        {" ", CFX_CSV_STRING, 0},
        {".5", CFX_CSV_FLOAT, 0.5},
        {"5.", CFX_CSV_FLOAT, 5.0},
        {"1_0.2_5", CFX_CSV_FLOAT, 10.25},
        {"1e", CFX_CSV_STRING, 0},
        {"e5", CFX_CSV_STRING, 0},
        {"0x10", CFX_CSV_STRING, 0},
        {"1,5", CFX_CSV_STRING, 0},
        {"", CFX_CSV_UNKNOWN, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const num_case_t *c = &cases[i];
        cfx_csv_type_t t = cfx_csv_infer(c->s, strlen(c->s));
        if (t != c->type)
            fail_msg("\"%s\": type %s, want %s", c->s, cfx_csv_type_name(t),
                     cfx_csv_type_name(c->type));
        if (t == CFX_CSV_INT) {
            int64_t v;
            assert_true(cfx_csv_parse_int(c->s, strlen(c->s), &v));
            assert_true((double)v == c->value);
        } else if (t == CFX_CSV_FLOAT) {
            double v;
            assert_true(cfx_csv_parse_float(c->s, strlen(c->s), &v));
            if (isnan(c->value))
                assert_true(isnan(v));
            else
                assert_true(v == c->value);
        }
    }
    /* an INT cell also parses as a float (a FLOAT column holds "5") */
    double v;
    assert_true(cfx_csv_parse_float(" 1_000 ", 7, &v) && v == 1000.0);
    /* 0.1 is the correctly rounded double, as Python's float() */
    assert_true(cfx_csv_parse_float("0.1", 3, &v) && v == 0.1);
}

/* The exact fast path must agree bit for bit with glibc's correctly
 * rounded strtod on every decimal it accepts. */
static void test_fast_path_matches_strtod(void **state) {
    (void)state;
    uint64_t st = 0x12345678abcdefull;
    char buf[64];
    for (int i = 0; i < 200000; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        int digits = 1 + (int)(st % 17),
            point = (int)((st >> 8) % (digits + 1));
        int e = (int)((st >> 16) % 61) - 30, use_e = (int)((st >> 24) % 3 == 0);
        size_t k = 0;
        if ((st >> 30) & 1)
            buf[k++] = '-';
        uint64_t r = st >> 32;
        for (int d = 0; d < digits; d++) {
            if (d == point)
                buf[k++] = '.';
            buf[k++] = (char)('0' + (r % 10));
            r = r / 10 ? r / 10 : st >> (d + 3);
        }
        if (use_e)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "e%d", e);
        buf[k] = '\0';
        double got, want = strtod(buf, NULL);
        assert_true(cfx_csv_parse_float(buf, k, &got));
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("\"%s\": %.17g, strtod %.17g", buf, got, want);
    }
}

static void test_utf8(void **state) {
    (void)state;
    size_t bad = 0;
    assert_true(cfx_utf8_valid("plain ascii text, long enough", 29, &bad));
    assert_true(
        cfx_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, &bad));
    assert_false(cfx_utf8_valid("ab\xc0\xaf", 4, &bad)); /* overlong */
    assert_int_equal(bad, 2);
    assert_false(cfx_utf8_valid("\xed\xa0\x80", 3, &bad));      /* surrogate */
    assert_false(cfx_utf8_valid("\xf4\x90\x80\x80", 4, &bad));  /* > U+10FFFF */
    assert_false(cfx_utf8_valid("abcdefgh\xe2\x82", 10, &bad)); /* cut */
    assert_int_equal(bad, 8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_lines),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_python_quote_rules),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_python_number_rules),
        cmocka_unit_test(test_fast_path_matches_strtod),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
