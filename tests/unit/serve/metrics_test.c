/*
 * metrics_test.c: Prometheus text of the TF Serving metrics: names,
 * labels, cumulative buckets (10 * 1.8^k µs), sums and counts.
 * Bucket bounds by hand: 10, 18, 32.4, 58.32, 104.976, ...
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_render)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
