/*
 * infravalidator.h: the InfraValidator component — proves that a candidate
 * bundle loads and answers in the real server before it is pushed.
 *
 * It starts the cfx-serve binary on free loopback ports (--port=0
 * --rest_api_port=auto; the ports are read back from the server's log) with a
 * model base path holding only the candidate (a link named 1), waits until
 * GET /v1/models/<name> reports AVAILABLE, replays the bundle's warm-up rows
 * (assets.extra/warmup.jsonl) over REST, one request each, cycling through
 * the rows until max_requests were sent (signature predict_raw), compares every
 * answer with the offline prediction (cfx_bundle_predict on the same row)
 * within a tolerance, then sends the same rows as serialized tf.Examples
 * through gRPC Predict (signature serving_default, push/infra_grpc.h) and
 * compares again, stops the server (SIGTERM, SIGKILL after a grace period) and
 * writes
 *
 *   <output>/INFRA_BLESSED or INFRA_NOT_BLESSED (empty), reason (text) and
 *   model.json (the model's identity, eval/model_identity.h)
 *
 * A bundle that does not load (bad checksum, bad manifest) or has no usable
 * warm-up rows, a server that does not start, does not load the model in
 * time, answers an error or a different value, or misses a load check
 * makes the model INFRA_NOT_BLESSED; the reason names the request (REST or
 * gRPC) and both values, or the check and the measured value.
 *
 * Threads: one run per thread; it forks one child process.
 */
#ifndef CFX_PUSH_INFRAVALIDATOR_H
#define CFX_PUSH_INFRAVALIDATOR_H

#include <stddef.h>

#include "formats/err.h"

typedef struct cfx_infra_opts {
    const char *model_dir;
    const char *serve_binary; /* the cfx-serve executable */
    const char *output_dir;   /* created when absent */
    size_t max_requests;      /* requests replayed, cycling the warm-up rows
                                 (at most 10000); 0: each row once (at most
                                 1000 rows are read) */
    double load_timeout_s;    /* 0: 60 */
    double tolerance;         /* 0: 1e-5 absolute on the probability */
    /* Optional load test, after the answers matched: `cfx perf` (closed
     * loop over REST, the warm-up rows round robin) with these checks,
     * e.g. "p99<50ms,errors<=0"; a missed check is INFRA_NOT_BLESSED.
     * The report goes to <output>/load.json. NULL: no load test. */
    const char *load_check;
    double load_seconds;     /* 0: 2 */
    size_t load_concurrency; /* 0: 4 requests in flight */
} cfx_infra_opts_t;

typedef struct cfx_infra_result {
    int blessed;
    size_t requests, ok; /* requests replayed; REST answers that matched */
    size_t grpc_ok;      /* gRPC answers that matched */
    double max_abs_diff;
    double load_seconds;
    int rest_port, grpc_port;
    int load_tested; /* the load test ran and passed */
    double load_rps, load_p50_ms, load_p99_ms;
    char reason[2048];
    char summary[512];
} cfx_infra_result_t;

/* Returns 0 when the validation ran and wrote its verdict (blessed or not:
 * see res->blessed; a model that does not load is a verdict); a negative
 * code when it could not run (the output not writable, out of memory), err
 * saying why. */
int cfx_infravalidator_run(const cfx_infra_opts_t *o, cfx_infra_result_t *res,
                           cfx_error_t *err);

#endif
