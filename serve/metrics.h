/*
 * metrics.h: Prometheus metrics with TF Serving's names (docs/serving.md,
 * "Metrics"): request_count{model_name,status}, request_latency (µs histogram,
 * buckets 10 × 1.8^k, 33 of them, successful requests only)
 * {model_name,API,entrypoint}, request_example_counts / _total {model},
 * plus model load counts. Rendered as Prometheus text.
 *
 * Thread-safety: every function may be called from any thread at once.
 */
#ifndef CFX_SERVE_METRICS_H
#define CFX_SERVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"

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

#endif
