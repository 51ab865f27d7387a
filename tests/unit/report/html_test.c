/* html_test.c: nothing from an artifact becomes markup in `cfx report`.
 * Statistics whose feature name, top value and split name are HTML (a
 * script, an event-handler attribute, a quote that would close an
 * attribute, invalid UTF-8), and an evaluation whose slice name and
 * blessing reason are HTML, are rendered; the page must hold each string
 * escaped and none of it raw, and exactly the one <script> of its own. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "report/report.h"
#include "statistics.pb-c.h"
#include "test_util.h"

CFX_TEST_TMPDIR_FIXTURE(dir, 512, "cfx-report-html")

#define PB(x) TENSORFLOW__METADATA__V0__##x

static const char *const hostile_name = "<script>alert('name')</script>";
static const char *const hostile_value = "\"><img src=x onerror=alert(1)>\xff";

static char *read_text(const char *path) {
    size_t n;
    uint8_t *p = cfx_test_read_file(path, &n);
    assert_non_null(p);
    char *s = realloc(p, n + 1);
    s[n] = 0;
    return s;
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void write_stats(const char *split_dir) {
    Tensorflow__Metadata__V0__CommonStatistics cs =
        TENSORFLOW__METADATA__V0__COMMON_STATISTICS__INIT;
    cs.num_non_missing = 3;
    cs.tot_num_values = 3;
    Tensorflow__Metadata__V0__StringStatistics__FreqAndValue fv =
        TENSORFLOW__METADATA__V0__STRING_STATISTICS__FREQ_AND_VALUE__INIT;
    fv.value = (char *)hostile_value;
    fv.frequency = 2;
    Tensorflow__Metadata__V0__StringStatistics__FreqAndValue *fvs[] = {&fv};
    Tensorflow__Metadata__V0__StringStatistics ss =
        TENSORFLOW__METADATA__V0__STRING_STATISTICS__INIT;
    ss.common_stats = &cs;
    ss.unique = 2;
    ss.n_top_values = 1;
    ss.top_values = fvs;
    Tensorflow__Metadata__V0__FeatureNameStatistics f =
        TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__INIT;
    f.type = PB(FEATURE_NAME_STATISTICS__TYPE__STRING);
    f.field_id_case = PB(FEATURE_NAME_STATISTICS__FIELD_ID_NAME);
    f.name = (char *)hostile_name;
    f.stats_case = PB(FEATURE_NAME_STATISTICS__STATS_STRING_STATS);
    f.string_stats = &ss;
    Tensorflow__Metadata__V0__FeatureNameStatistics *fs[] = {&f};
    Tensorflow__Metadata__V0__DatasetFeatureStatistics ds =
        TENSORFLOW__METADATA__V0__DATASET_FEATURE_STATISTICS__INIT;
    ds.num_examples = 3;
    ds.n_features = 1;
    ds.features = fs;
    Tensorflow__Metadata__V0__DatasetFeatureStatistics *dss[] = {&ds};
    Tensorflow__Metadata__V0__DatasetFeatureStatisticsList l =
        TENSORFLOW__METADATA__V0__DATASET_FEATURE_STATISTICS_LIST__INIT;
    l.n_datasets = 1;
    l.datasets = dss;
    size_t n =
        tensorflow__metadata__v0__dataset_feature_statistics_list__get_packed_size(
            &l);
    uint8_t *buf = malloc(n);
    tensorflow__metadata__v0__dataset_feature_statistics_list__pack(&l, buf);
    char p[PATH_MAX];
    assert_true(snprintf(p, sizeof p, "%s/FeatureStats.pb", split_dir) <
                (int)sizeof p);
    cfx_test_write_bytes(p, buf, n);
    free(buf);
}

static void test_statistics_escaped(void **state) {
    (void)state;
    char split[PATH_MAX], stats[PATH_MAX], out[PATH_MAX];
    assert_true(snprintf(stats, sizeof stats, "%s/stats", dir) <
                (int)sizeof stats);
    /* a split name is a folder name: markup there too */
    assert_true(snprintf(split, sizeof split, "%s/Split-<b onclick=x>", stats) <
                (int)sizeof split);
    char cmd[PATH_MAX];
    assert_true(snprintf(cmd, sizeof cmd, "%s", stats) < (int)sizeof cmd);
    assert_int_equal(mkdir(cmd, 0755), 0);
    assert_int_equal(mkdir(split, 0755), 0);
    write_stats(split);
    assert_true(snprintf(out, sizeof out, "%s/stats.html", dir) <
                (int)sizeof out);
    cfx_report_opts_t o = {stats, out, NULL};
    cfx_error_t err;
    cfx_error_init(&err);
    const char *kind = NULL;
    CFX_TEST_OK(cfx_report_write(&o, &kind, &err), err);
    assert_string_equal(kind, "statistics");
    char *html = read_text(out);
    assert_null(strstr(html, hostile_name));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "<b onclick"));
    assert_null(strstr(html, "\xff"));
    assert_int_equal(count(html, "<script"), 1);
    assert_non_null(
        strstr(html, "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&quot;&gt;&lt;img src=x "
                                 "onerror=alert(1)&gt;\xef\xbf\xbd"));
    assert_non_null(strstr(html, "&lt;b onclick=x&gt;"));
    /* the row is there: one feature, with its chart */
    assert_int_equal(count(html, "<tr class=\"feature"), 1);
    assert_non_null(strstr(html, "</html>"));
    free(html);
}

static void test_evaluation_escaped(void **state) {
    (void)state;
    char ev[PATH_MAX], out[PATH_MAX], p[PATH_MAX];
    assert_true(snprintf(ev, sizeof ev, "%s/eval", dir) < (int)sizeof ev);
    assert_int_equal(mkdir(ev, 0755), 0);
    assert_true(snprintf(p, sizeof p, "%s/evaluation", ev) < (int)sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
    cfx_test_write_file_in(
        p, "metrics.json",
        "{\"model\": \"</code><script>m()</script>\", \"baseline\": null, "
        "\"example_count\": 2, \"slices\": [{\"slice\": \"hour:<i>3</i>\", "
        "\"slicing_spec\": \"hour\", \"metrics\": {\"example_count\": 2, "
        "\"auc\": 0.5, \"binary_accuracy\": 1}}]}");
    assert_true(snprintf(p, sizeof p, "%s/blessing", ev) < (int)sizeof p);
    assert_int_equal(mkdir(p, 0755), 0);
    cfx_test_write_file_in(p, "NOT_BLESSED", "");
    cfx_test_write_file_in(p, "reason",
                           "Overall: auc 0.5 < lower bound 0.9 "
                           "<style>p{display:none}</style>\n");
    assert_true(snprintf(out, sizeof out, "%s/eval.html", dir) <
                (int)sizeof out);
    cfx_report_opts_t o = {ev, out, NULL};
    cfx_error_t err;
    cfx_error_init(&err);
    const char *kind = NULL;
    CFX_TEST_OK(cfx_report_write(&o, &kind, &err), err);
    assert_string_equal(kind, "evaluation");
    char *html = read_text(out);
    assert_null(strstr(html, "<script>m()"));
    assert_null(strstr(html, "<i>3</i>"));
    assert_null(strstr(html, "<style>p{"));
    assert_int_equal(count(html, "<script"), 1);
    assert_int_equal(count(html, "<style"), 1);
    assert_non_null(strstr(html, "hour:&lt;i&gt;3&lt;/i&gt;"));
    assert_non_null(strstr(html, "NOT BLESSED"));
    assert_non_null(strstr(html, "&lt;style&gt;p{display:none}"));
    free(html);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statistics_escaped),
        cmocka_unit_test(test_evaluation_escaped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
