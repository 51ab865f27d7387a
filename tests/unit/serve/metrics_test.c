/*
 * metrics_test.c: Prometheus text of the TF Serving metrics: names,
 * labels, cumulative buckets (10 * 1.8^k µs), sums and counts.
 * Bucket bounds by hand: 10, 18, 32.4, 58.32, 104.976, ...
 * The recent window of the status page: not in the Prometheus text; its
 * counts while four threads record and the test reads (run it in the
 * ThreadSanitizer build too, docs/serving.md).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve/metrics.h"

static void want(const char *text, const char *line) {
    if (!strstr(text, line))
        fail_msg("missing line: %s\n--- got:\n%s", line, text);
}

static void test_render(void **state) {
    (void)state;
    cfx_metrics_t *m = NULL;
    assert_int_equal(cfx_metrics_new(&m), 0);
    cfx_metrics_record(m, "taxi", "predict", "REST", 0, 5);   /* <= 10 */
    cfx_metrics_record(m, "taxi", "predict", "REST", 0, 30);  /* <= 32.4 */
    cfx_metrics_record(m, "taxi", "predict", "REST", 0, 100); /* <= 104.976 */
    cfx_metrics_record(m, "taxi", "predict", "REST", 3, 7);   /* not timed */
    cfx_metrics_record(m, "t\"x", "Predict", "GRPC", 5, 1);
    cfx_metrics_record_examples(m, "taxi", 3);
    cfx_metrics_record_examples(m, "taxi", 1);
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_metrics_render(m, &b), 0);
    cfx_buf_cstr(&b);
    const char *t = (const char *)b.data;
    want(t, "# TYPE :tensorflow:serving:request_count counter\n");
    want(t, ":tensorflow:serving:request_count{model_name=\"taxi\","
            "status=\"OK\"} 3\n");
    want(t, ":tensorflow:serving:request_count{model_name=\"taxi\","
            "status=\"INVALID_ARGUMENT\"} 1\n");
    want(t, ":tensorflow:serving:request_count{model_name=\"t\\\"x\","
            "status=\"NOT_FOUND\"} 1\n");
    want(t, "# TYPE :tensorflow:serving:request_latency histogram\n");
    const char *lab = "model_name=\"taxi\",API=\"predict\",entrypoint=\"REST\"";
    char line[256];
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_bucket{%s,le=\"10\"} 1\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_bucket{%s,le=\"18\"} 1\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_bucket{%s,le=\"32.4\"} 2\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_bucket{%s,le=\"58.32\"} "
             "2\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_bucket{%s,le=\"104.976\"} "
             "3\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_bucket{%s,le=\"+Inf\"} 3\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_sum{%s} "
             "135\n",
             lab);
    want(t, line);
    snprintf(line, sizeof(line),
             ":tensorflow:serving:request_latency_count{%s} 3\n", lab);
    want(t, line);
    want(t, ":tensorflow:serving:request_example_count_total{model=\"taxi\"} "
            "4\n");
    want(t, ":tensorflow:serving:request_example_counts_bucket{model=\"taxi\","
            "le=\"1\"} 1\n");
    want(t, ":tensorflow:serving:request_example_counts_bucket{model=\"taxi\","
            "le=\"4\"} 2\n");
    /* 33 finite buckets + Inf per latency series. */
    size_t nb = 0;
    for (const char *p = t;
         (p = strstr(p, "request_latency_bucket{model_name=\"taxi\"")); p++)
        nb++;
    assert_int_equal(nb, 34);
    cfx_buf_free(&b);
    cfx_metrics_free(m);
}

#define RECORDERS 4
#define RECORDS 5000

static void *recorder(void *arg) {
    cfx_metrics_t *m = arg;
    for (int i = 0; i < RECORDS; i++) {
        cfx_metrics_record(m, "taxi", "predict", "REST", 0, 40);
        if (i % 10 == 0) /* failed: not in the window */
            cfx_metrics_record(m, "taxi", "predict", "REST", 3, 40);
    }
    return NULL;
}

/* The recent count of taxi/predict/REST in text (-1 when absent) and the
 * window's length (*window, -1 when absent). */
static long long recent_count(const char *text, double *window) {
    const char *wkey = ":cfx:serving:recent_window_seconds ";
    const char *w = strstr(text, wkey);
    *window = w ? strtod(w + strlen(wkey), NULL) : -1;
    const char *key = ":cfx:serving:recent_request_count{model_name=\"taxi\","
                      "API=\"predict\",entrypoint=\"REST\"} ";
    const char *p = strstr(text, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Four threads record 5,000 successful requests each (and 500 failed
 * ones) while the test renders the window: its count never goes down,
 * never passes what was recorded, and ends at 20,000 (all within the
 * test's first seconds, so within the window); the Prometheus text has
 * no window. */
static void test_recent_threads(void **state) {
    (void)state;
    cfx_metrics_t *m = NULL;
    assert_int_equal(cfx_metrics_new(&m), 0);
    pthread_t th[RECORDERS];
    for (int i = 0; i < RECORDERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, recorder, m), 0);
    cfx_buf_t b;
    cfx_buf_init(&b);
    long long last = 0;
    double window;
    for (int k = 0; k < 200; k++) {
        cfx_buf_reset(&b);
        assert_int_equal(cfx_metrics_render_with_recent(m, &b), 0);
        assert_int_equal(cfx_buf_cstr(&b), 0);
        long long n = recent_count((const char *)b.data, &window);
        if (n < 0)
            continue; /* no successful request yet */
        assert_true(n >= last && n <= RECORDERS * RECORDS);
        assert_true(window >= 0 && window < 60);
        last = n;
    }
    for (int i = 0; i < RECORDERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    cfx_buf_reset(&b);
    assert_int_equal(cfx_metrics_render_with_recent(m, &b), 0);
    assert_int_equal(cfx_buf_cstr(&b), 0);
    assert_int_equal(recent_count((const char *)b.data, &window),
                     RECORDERS * RECORDS);
    assert_true(window > 0 && window < 60);
    want((const char *)b.data,
         ":tensorflow:serving:request_latency_count{model_name=\"taxi\","
         "API=\"predict\",entrypoint=\"REST\"} 20000\n");
    cfx_buf_reset(&b);
    assert_int_equal(cfx_metrics_render(m, &b), 0);
    assert_int_equal(cfx_buf_cstr(&b), 0);
    assert_null(strstr((const char *)b.data, ":cfx:serving:recent"));
    cfx_buf_free(&b);
    cfx_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_render),
                                       cmocka_unit_test(test_recent_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
