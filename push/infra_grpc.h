/*
 * infra_grpc.h: the gRPC half of infra validation — each warm-up row sent
 * as a tensorflow.serving.PredictionService/Predict call (signature
 * serving_default, input "examples": the serialized tf.Example, as TFX's
 * serving signature takes it) over one HTTP/2 connection to the server.
 *
 * Threads: one call per thread; it runs its own event base.
 */
#ifndef CFX_PUSH_INFRA_GRPC_H
#define CFX_PUSH_INFRA_GRPC_H

#include <stddef.h>

#include "formats/example.h"

/* Most floats of one prediction compared (a multi-class model's classes). */
#define CFX_INFRA_MAX_WIDTH 1000

/* Replays n examples against 127.0.0.1:port for model_name and compares
 * output "outputs" (width floats per example: 1, or N class
 * probabilities) with offline[i * width ..] within tol, relative past
 * magnitude 1 (a regression value). Returns 0 when every call succeeded
 * and matched (*ok = n), -1 with why (cap bytes) naming the request
 * otherwise. *max_diff gets the largest |served - offline|. */
int cfx_infra_grpc_replay(int port, const char *model_name,
                          const cfx_example_t *ex, const float *offline,
                          size_t width, size_t n, double tol, size_t *ok,
                          double *max_diff, char *why, size_t cap);

#endif
