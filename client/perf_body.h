/*
 * perf_body.h: the requests `cfx perf` replays, built from real rows.
 *
 * The raw input dtypes come from the server itself (GetModelMetadata /
 * GET .../metadata: the predict_raw signature), so every value is sent
 * with the type the model expects; an empty CSV cell is 0 / "" in a
 * predict_raw tensor or JSON row, and an absent feature in a tf.Example.
 *   REST predict:  {"signature_name", "instances": [{feature: value}...]}
 *                  (serving_default: [{"b64": serialized tf.Example}])
 *   REST classify/regress: {"signature_name", "examples": [{...}]}
 *   gRPC predict:  PredictRequest, predict_raw tensors [batch] or the
 *                  "examples" DT_STRING tensor for serving_default
 *   gRPC classify/regress: Classification/RegressionRequest, example_list
 * Bodies are complete HTTP/1.1 requests (REST) or gRPC-prefixed messages.
 *
 * Thread-safety: built once, then read-only.
 */
#ifndef CFX_CLIENT_PERF_BODY_H
#define CFX_CLIENT_PERF_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "client/perf.h"
#include "formats/buf.h"
#include "formats/err.h"

typedef struct cfx_perf_bodies {
    cfx_buf_t *body; /* owned array */
    size_t n;
    char path[512]; /* gRPC :path */
    char authority[300];
} cfx_perf_bodies_t;

/* Fetches the raw signature from the target, reads the CSV, builds up to
 * 1024 distinct requests of o->batch rows (cycling through the rows). */
int cfx_perf_bodies_build(cfx_perf_bodies_t *b, const cfx_perf_opts_t *o,
                          cfx_error_t *err);
void cfx_perf_bodies_free(cfx_perf_bodies_t *b);

#endif
