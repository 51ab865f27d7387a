/*
 * metrics.h: Prometheus metrics with TF Serving's names (docs/serving.md,
 * "Metrics"): request_count{model_name,status}, request_latency (µs histogram,
 * buckets 10 × 1.8^k, 33 of them, successful requests only)
 * {model_name,API,entrypoint}, request_example_counts / _total {model},
 * plus model load counts. Rendered as Prometheus text.
 *
 * For the status page (serve/status_page.h) each request_latency series
 * also keeps its successful requests of the recent window: one count per
 * second of the monotonic clock in a ring of CFX_METRICS_RECENT_SLOTS
 * slots, each stamped with its second, so the window is right however
 * rarely it is read and needs no timer. The window is the current second
 * and the CFX_METRICS_RECENT_SECONDS whole seconds before it (60 to 61 s),
 * or the time since cfx_metrics_new when that is shorter. 488 bytes per
 * request_latency series, and the series are bounded (4,096).
 *
 * Thread-safety: every function may be called from any thread at once,
 * except cfx_metrics_set_clock (before any other use).
 */
#ifndef CFX_SERVE_METRICS_H
#define CFX_SERVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"

#define CFX_METRICS_RECENT_SECONDS 60
#define CFX_METRICS_RECENT_SLOTS (CFX_METRICS_RECENT_SECONDS + 1)

typedef struct cfx_metrics cfx_metrics_t;

int cfx_metrics_new(cfx_metrics_t **out);
void cfx_metrics_free(cfx_metrics_t *m);

/* One finished request. api: "predict"/"classify"/"regress"/"status"/
 * "metadata" (REST) or "Predict"/"Classify"/"Regress" (gRPC); entrypoint:
 * "REST" or "GRPC"; tf_code: tensorflow.error.Code; latency in µs (only
 * recorded in the histogram when tf_code is OK). model may be "" when the
 * request named none. */
void cfx_metrics_record(cfx_metrics_t *m, const char *model, const char *api,
                        const char *entrypoint, int tf_code,
                        uint64_t latency_us);
/* Number of examples in one Predict/Classify/Regress request. */
void cfx_metrics_record_examples(cfx_metrics_t *m, const char *model, size_t n);
/* A bundle load attempt (model_path, status) and its latency in µs. */
void cfx_metrics_record_load(cfx_metrics_t *m, const char *model_path,
                             int tf_code, uint64_t latency_us);

/* Appends the Prometheus text exposition to out. */
int cfx_metrics_render(cfx_metrics_t *m, cfx_buf_t *out);
/* The same text, then, from the same instant, the recent window: a line
 * ":cfx:serving:recent_window_seconds S" (its length in seconds) and for
 * each request_latency series ":cfx:serving:recent_request_count{its
 * labels} N" (successful requests in the window). For the status page;
 * not part of the Prometheus endpoint. */
int cfx_metrics_render_with_recent(cfx_metrics_t *m, cfx_buf_t *out);

/* The clock of the recent window: now(arg) in monotonic microseconds,
 * non-decreasing; cfx_clock_mono_us unless replaced (tests). Resets the
 * window's start to now(arg). Call before any other use of m. */
void cfx_metrics_set_clock(cfx_metrics_t *m, uint64_t (*now)(void *arg),
                           void *arg);

#endif
