/*
 * service.h: Predict / Classify / Regress over a resolved servable,
 * independent of the protocol (used by REST and by gRPC), plus the
 * signature table exposed for metadata and the mapping of cfx error codes
 * to tensorflow.error.Code and HTTP statuses.
 *
 * Every bundle exposes the signatures of model/bundle.h for its task
 * (W = cfx_service_output_width, K = cfx_service_num_classes):
 *   serving_default  tensorflow/serving/predict  "examples" DT_STRING [-1]
 *                    (serialized tf.Example) -> "outputs" DT_FLOAT [-1,W]
 *   predict_raw      tensorflow/serving/predict  one input per raw feature
 *                    (DT_INT64 / DT_FLOAT / DT_STRING [-1]) -> "outputs"
 *   classify         tensorflow/serving/classify "inputs" DT_STRING [-1] ->
 *                    "classes" DT_STRING [-1,K], "scores" DT_FLOAT [-1,K]
 *                    (binary and multiclass models only)
 *   regress          tensorflow/serving/regress  "inputs" DT_STRING [-1] ->
 *                    "outputs" DT_FLOAT [-1,1] (binary: P(class 1);
 *                    regression: the value; not for multiclass)
 * Protocol code decodes its inputs into raw cfx_example_t (serialized
 * tf.Example, JSON rows or columns) and calls the functions below.
 *
 * Thread-safety: every function is reentrant; a servable is immutable.
 */
#ifndef CFX_SERVE_SERVICE_H
#define CFX_SERVE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/dtype.h"
#include "formats/err.h"
#include "formats/example.h"
#include "serve/model_manager.h"

typedef enum cfx_sig_kind {
    CFX_SIG_PREDICT_EXAMPLES = 0, /* serving_default */
    CFX_SIG_PREDICT_RAW = 1,
    CFX_SIG_CLASSIFY = 2,
    CFX_SIG_REGRESS = 3,
} cfx_sig_kind_t;

#define CFX_METHOD_PREDICT "tensorflow/serving/predict"
#define CFX_METHOD_CLASSIFY "tensorflow/serving/classify"
#define CFX_METHOD_REGRESS "tensorflow/serving/regress"

typedef struct cfx_tensor_spec {
    const char *name;   /* alias, e.g. "examples", "trip_miles" */
    const char *tensor; /* TensorInfo.name, e.g. "examples:0" */
    int dtype;          /* CFX_DT_* */
    int rank;           /* 1 or 2 */
    int64_t dims[2];    /* -1 = unknown */
} cfx_tensor_spec_t;

typedef struct cfx_signature {
    const char *key; /* "serving_default", ... */
    const char *method_name;
    cfx_sig_kind_t kind;
    const cfx_tensor_spec_t *inputs;
    size_t n_inputs;
    const cfx_tensor_spec_t *outputs;
    size_t n_outputs;
} cfx_signature_t;

/* The signature table of one bundle, built once at load by the manager. */
typedef struct cfx_sigtab cfx_sigtab_t;
int cfx_sigtab_new(const cfx_bundle_t *b, cfx_sigtab_t **out, cfx_error_t *err);
void cfx_sigtab_free(cfx_sigtab_t *t);

/* Replays the bundle's assets.extra/warmup.jsonl (one JSON object of raw
 * features per line, at most 1000 lines) through predict_raw; any failure
 * fails the load. *n gets the number of records replayed. Called by the
 * manager on its loader thread before a version becomes AVAILABLE. */
int cfx_service_warmup(const cfx_servable_t *s, size_t *n, cfx_error_t *err);
#define CFX_WARMUP_MAX_RECORDS 1000

/* Signatures of a servable (2 to 4), in the order of the table above; the
 * pointers live as long as the servable reference. */
size_t cfx_service_num_signatures(const cfx_servable_t *s);
const cfx_signature_t *cfx_service_signature_at(const cfx_servable_t *s,
                                                size_t i);

/* Resolves a signature by key; NULL or "" means "serving_default".
 * Unknown: CFX_ESTATE with `Serving signature key "x" not found.`
 * (gRPC maps it to FAILED_PRECONDITION; REST reports INVALID_ARGUMENT with
 * its own wording). */
int cfx_service_signature(const cfx_servable_t *s, const char *key,
                          const cfx_signature_t **out, cfx_error_t *err);

/* Predict: for n raw examples, cfx_service_output_width(s) floats each,
 * row-major in out[n*width] (the "outputs" tensor [n,width]): the
 * probability of the positive class (binary), the predicted value
 * (regression), or one probability per class (multi-class). sig must be a
 * predict signature. */
int cfx_service_predict(const cfx_servable_t *s, const cfx_signature_t *sig,
                        const cfx_example_t *const *ex, size_t n, float *out,
                        cfx_error_t *err);

/* Classify: sig must be a classify signature (else CFX_EINVAL "Expected
 * classification signature method_name to be tensorflow/serving/classify.
 * Was: ..."). scores[n*k], k = cfx_service_num_classes(s): per example the
 * score of every class, in the order of cfx_service_class_label(s, j). */
int cfx_service_classify(const cfx_servable_t *s, const cfx_signature_t *sig,
                         const cfx_example_t *const *ex, size_t n,
                         float *scores, cfx_error_t *err);
/* The classes of a servable's classify answer (2 for a binary model, N for
 * a multi-class one, 0 for a regression) and
 * the label string of class j < cfx_service_num_classes(s); the strings
 * live as long as the servable reference. */
size_t cfx_service_num_classes(const cfx_servable_t *s);
const char *cfx_service_class_label(const cfx_servable_t *s, size_t j);
/* Floats per example in a predict answer's "outputs" row. */
size_t cfx_service_output_width(const cfx_servable_t *s);
/* The most classes a classify answer may have (bounds answer memory). */
#define CFX_SERVICE_MAX_CLASSES 4096

/* Regress: out[n] (binary: P(class 1); regression: the value); sig must be
 * a regress signature. */
int cfx_service_regress(const cfx_servable_t *s, const cfx_signature_t *sig,
                        const cfx_example_t *const *ex, size_t n, float *out,
                        cfx_error_t *err);

/* Merges ExampleListWithContext: dst gets every feature of ex, then each
 * feature of context whose name ex lacks (the example wins, as TF's
 * concatenation of serialized protos does). dst must be initialised. */
int cfx_service_merge_context(cfx_example_t *dst, const cfx_example_t *ex,
                              const cfx_example_t *context);

/* Inputs are bounded: more examples than this in one request is
 * CFX_ETOOBIG (RESOURCE_EXHAUSTED). */
#define CFX_SERVICE_MAX_BATCH 100000

/* The server-wide budget of request memory (--max_inflight_bytes,
 * docs/serving.md "Limits"). A request is charged CFX_SERVICE_COST_FACTOR
 * times its body length (what parsing, the examples and the answer cost,
 * measured for the worst case of many tiny JSON examples) from admission
 * until it is answered. Admission fails with CFX_ETOOBIG (gRPC
 * RESOURCE_EXHAUSTED, REST 429) when the charge would take the bytes in
 * flight past limit, unless nothing else is in flight (a single request is
 * bounded by --max_body_bytes instead). limit 0 admits everything (and
 * still counts). *charge gets what cfx_service_release must return.
 * Thread-safe (one atomic counter). */
#define CFX_SERVICE_COST_FACTOR 64
int cfx_service_admit(size_t limit, size_t request_bytes, size_t *charge,
                      cfx_error_t *err);
/* Returns a charge; after a large one, hands freed memory back to the
 * system. */
void cfx_service_release(size_t charge);
/* Bytes charged now (tests, metrics). */
size_t cfx_service_inflight_bytes(void);

/* cfx error code -> tensorflow.error.Code (0 OK ... 16 UNAUTHENTICATED). */
int cfx_service_tf_code(int cfx_err);
/* tensorflow.error.Code -> "OK", "INVALID_ARGUMENT", ... */
const char *cfx_service_tf_code_name(int tf_code);
/* tensorflow.error.Code -> HTTP status (TF Serving's table). */
int cfx_service_http_status(int tf_code);

#endif
