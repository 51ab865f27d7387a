/*
 * perf.h: `cfx perf`, a load generator for TF Serving-compatible endpoints
 * (cfx-serve, tensorflow_model_server): REST (hand-written HTTP/1.1
 * keep-alive client, perf_http.h) or gRPC (nghttp2 client with many
 * streams per connection, h2_client.h).
 *
 * Requests are built once from real rows (perf_body.h) and replayed.
 * Closed loop (--concurrency, a sweep like 1:64:x2): that many requests in
 * flight, each answer immediately followed by the next. Open loop (--rate):
 * requests are due at fixed intervals; a request that cannot be sent on
 * time waits, and its latency counts from when it was due (coordinated
 * omission correction). Each thread runs its own event loop; histograms
 * (perf_hist.h) merge at the end of each level.
 *
 * Thread-safety: cfx_perf_run owns its threads; call it from one thread.
 */
#ifndef CFX_CLIENT_PERF_H
#define CFX_CLIENT_PERF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/perf_hist.h"
#include "formats/err.h"

typedef enum cfx_perf_proto {
    CFX_PERF_REST = 0,
    CFX_PERF_GRPC = 1
} cfx_perf_proto_t;
typedef enum cfx_perf_api {
    CFX_PERF_PREDICT = 0,
    CFX_PERF_CLASSIFY = 1,
    CFX_PERF_REGRESS = 2,
} cfx_perf_api_t;
typedef enum cfx_perf_format {
    CFX_PERF_TEXT = 0,
    CFX_PERF_CSV = 1,
    CFX_PERF_JSON = 2,
} cfx_perf_format_t;

#define CFX_PERF_MAX_LEVELS 64
#define CFX_PERF_MAX_CHECKS 8

typedef struct cfx_perf_check {
    char metric[8]; /* p50 p90 p99 p999 max mean rps errors */
    int op;         /* '<', 'l' (<=), '>', 'g' (>=) */
    double value;   /* ns for latencies, else a count or rate */
    char text[64];  /* as written */
} cfx_perf_check_t;

typedef struct cfx_perf_opts {
    cfx_perf_proto_t proto;
    char host[256];
    int port;
    char url_path[512]; /* http://HOST:PORT/PATH: plain GET of PATH, no model */
    const char *model;
    const char *signature; /* NULL: predict_raw / classify / regress */
    cfx_perf_api_t api;
    const char *data; /* CSV with a header, .jsonl rows, or examples dir */
    size_t batch;     /* rows per request, >= 1 */
    size_t levels[CFX_PERF_MAX_LEVELS]; /* closed-loop concurrency sweep */
    size_t n_levels;
    double rate;       /* > 0: open loop, requests/s */
    double duration;   /* s per level (when requests == 0) */
    uint64_t requests; /* per level, 0 = use duration */
    double warmup;     /* s before measuring, per level */
    int threads;
    int connections; /* open loop, and gRPC connections; 0 = automatic */
    cfx_perf_format_t format;
    cfx_perf_check_t checks[CFX_PERF_MAX_CHECKS];
    size_t n_checks;
    int progress;   /* live progress line on stderr */
    int co_correct; /* closed loop: correct latency for coordinated omission
                       as wrk 4 does (cfx_hist_correct) */
    const char *dump_request; /* write the first request's payload here (the
                                 JSON body, or the gRPC-framed message) and
                                 send nothing: for driving wrk or h2load
                                 with the same bytes */
} cfx_perf_opts_t;

void cfx_perf_opts_init(cfx_perf_opts_t *o);
/* "rest://host:port", "grpc://host:port", or "http://host:port/path" (a
 * plain GET of path: measures the client and the server's HTTP layer
 * without a model; --model and --data are then not needed) */
int cfx_perf_parse_target(cfx_perf_opts_t *o, const char *s, cfx_error_t *err);
/* "8", "1,4,16", "1:64:x2", "8:64:+8" */
int cfx_perf_parse_levels(cfx_perf_opts_t *o, const char *s, cfx_error_t *err);
/* "p99<2ms", "rps>=1000", "errors<=0"; several joined by ',' */
int cfx_perf_parse_checks(cfx_perf_opts_t *o, const char *s, cfx_error_t *err);

typedef struct cfx_perf_level {
    size_t concurrency; /* 0 for open loop */
    double rate;        /* target, open loop */
    double seconds;     /* measured wall time */
    uint64_t ok, errors;
    cfx_hist_t hist;      /* latency of successful requests, ns */
    uint64_t co_interval; /* ns; > 0: hist is corrected with this interval */
    /* errors by status: HTTP status (REST) or 1000 + grpc-status (gRPC);
     * 0 = connection failure */
    uint64_t err_count[8];
    int err_code[8];
    size_t n_err_codes;
} cfx_perf_level_t;

/* Runs every level, writes the report to out; returns 0, CFX_EANOMALIES
 * when a check failed (err lists each missed check and its measured
 * value), or another error. */
int cfx_perf_run(const cfx_perf_opts_t *o, FILE *out, cfx_error_t *err);

#endif
