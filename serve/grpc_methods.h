/*
 * grpc_methods.h: helpers shared by the gRPC method files
 * (grpc_methods.c: table, model spec, Health; grpc_predict.c;
 * grpc_infer.c: Classify, Regress, MultiInference; grpc_model.c:
 * metadata, status, reload). Internal to serve/.
 *
 * Decoded requests and response messages live in the call's arena (a
 * protobuf-c allocator over it), so nothing is freed per message.
 *
 * Thread-safety: as grpc.h; one call belongs to one worker thread.
 */
#ifndef CFX_SERVE_GRPC_METHODS_H
#define CFX_SERVE_GRPC_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/example.h"
#include "input.pb-c.h"
#include "model.pb-c.h"
#include "serve/grpc.h"
#include "serve/service.h"

/* protobuf_c_message_unpack into the arena; NULL with INVALID_ARGUMENT
 * set on call when req does not decode as d. */
void *cfx_grpc_unpack(cfx_grpc_call_t *call,
                      const ProtobufCMessageDescriptor *d, const uint8_t *req,
                      size_t len);

/* Sets call's status from a cfx error (code mapped with
 * cfx_service_tf_code); returns the tf code. */
int cfx_grpc_fail_err(cfx_grpc_call_t *call, int cfx_rc,
                      const cfx_error_t *err);

/* Admits a request of len bytes against --max_inflight_bytes
 * (cfx_service_admit): 0, or RESOURCE_EXHAUSTED set on call. *charge is
 * for cfx_service_release once the answer is built. */
int cfx_grpc_admit(cfx_grpc_call_t *call, size_t len, size_t *charge);

/* Resolves spec (name, version or label) to a servable reference; records
 * the model name for metrics. Missing spec: INVALID_ARGUMENT "Missing
 * ModelSpec"; no server: UNAVAILABLE. */
int cfx_grpc_acquire(cfx_grpc_call_t *call,
                     const Tensorflow__Serving__ModelSpec *spec,
                     cfx_servable_t **out);

/* A response ModelSpec {name, version, signature_name} in the arena. */
Tensorflow__Serving__ModelSpec *cfx_grpc_spec(cfx_grpc_call_t *call,
                                              const cfx_servable_t *s,
                                              const char *signature);

/* n examples, reset: from the worker's reusable pool, or for a big batch
 * in the call's arena (valid until the call's answer is sent). */
cfx_example_t *cfx_grpc_examples(cfx_grpc_call_t *call, size_t n);

/* Converts an Input (example_list or example_list_with_context) into raw
 * examples from the pool; INVALID_ARGUMENT "Input is empty." when there
 * are none. */
int cfx_grpc_input_examples(cfx_grpc_call_t *call,
                            const Tensorflow__Serving__Input *in,
                            cfx_example_t **out, size_t *n);

/* Handlers. */
int cfx_grpc_predict(cfx_grpc_call_t *call, const uint8_t *req, size_t len);
int cfx_grpc_classify(cfx_grpc_call_t *call, const uint8_t *req, size_t len);
int cfx_grpc_regress(cfx_grpc_call_t *call, const uint8_t *req, size_t len);
int cfx_grpc_multi_inference(cfx_grpc_call_t *call, const uint8_t *req,
                             size_t len);
int cfx_grpc_get_model_metadata(cfx_grpc_call_t *call, const uint8_t *req,
                                size_t len);
int cfx_grpc_get_model_status(cfx_grpc_call_t *call, const uint8_t *req,
                              size_t len);
int cfx_grpc_reload_config(cfx_grpc_call_t *call, const uint8_t *req,
                           size_t len);

#endif
