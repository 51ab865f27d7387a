/*
 * rest_body.h: REST request bodies (predict, classify, regress) read in
 * one validating pass and one extracting pass (serve/json_scan.h) straight
 * into the model's input examples, with TF Serving's checks in TF
 * Serving's order and its error texts (docs/serving.md "REST API").
 *
 * Order of a predict: the document parses and is an object; a
 * "signature_name" is a string; then (the caller) the servable and the
 * signature; then cfx_rest_predict_prepare (the instances / inputs keys,
 * the batch size) and cfx_rest_predict_fill (every value against its
 * input's dtype, row shapes and sizes); then cfx_rest_predict_finish, the
 * checks TF Serving leaves to the model (a list where the signature takes
 * one scalar per row, columns of different lengths, bytes that are not a
 * tf.Example).
 *
 * Classify / regress: cfx_rest_examples_fill reads "context" and then
 * "examples" before the servable is looked up, as TF Serving does.
 *
 * Thread-safety: a cfx_rest_body_t belongs to one request on one thread.
 */
#ifndef CFX_SERVE_REST_BODY_H
#define CFX_SERVE_REST_BODY_H

#include <stddef.h>

#include "formats/buf.h"
#include "formats/err.h"
#include "formats/example.h"
#include "serve/service.h"

typedef struct cfx_rest_body {
    const char *doc; /* the body; its root is an object */
    size_t len;
    /* First occurrence of each top-level key (the value's first byte), as
     * RapidJSON's FindMember; NULL when absent. */
    const char *signature_name;
    const char *instances;
    const char *inputs;
    const char *context;
    const char *examples;
    size_t instances_n, examples_n; /* their elements; SIZE_MAX: unknown */
    /* Per-request scratch, kept by the caller between requests. */
    cfx_buf_t *scratch; /* decoded strings */
    cfx_buf_t *blob;    /* bytes values: strings and decoded b64 */
    cfx_buf_t *vals;    /* one feature's values */
    /* Set by cfx_rest_predict_prepare. */
    int columnar;
    size_t n; /* batch size */
    /* Serialized tf.Examples of a serving_default request, by row:
     * offsets into blob (decoded by cfx_rest_predict_finish). */
    size_t *ser;
    size_t ser_cap;
    /* Per input: the shape seen in the first row / the column. */
    struct cfx_rest_shape *shape;
    size_t shape_cap;
} cfx_rest_body_t;

/* scratch, blob and vals are the caller's (reset here, never freed); b
 * must be zeroed before its first init and released by _free. */
void cfx_rest_body_init(cfx_rest_body_t *b, cfx_buf_t *scratch, cfx_buf_t *blob,
                        cfx_buf_t *vals);
void cfx_rest_body_free(cfx_rest_body_t *b);

/* TF Serving's ParseJson and FillSignature: CFX_EINVAL with "JSON Parse
 * error: ..." / "... Is not object" / "... 'signature_name' key must be a
 * string value.". On success *sig_name is the signature name (NULL when
 * absent; it may point into scratch). */
int cfx_rest_body_parse(cfx_rest_body_t *b, const char *data, size_t len,
                        const char **sig_name, size_t *sig_len,
                        cfx_error_t *err);

/* Predict, in three steps (see above). ex[0..b->n) must be initialised
 * and empty between prepare and fill. */
int cfx_rest_predict_prepare(cfx_rest_body_t *b, const cfx_signature_t *sig,
                             cfx_error_t *err);
int cfx_rest_predict_fill(cfx_rest_body_t *b, const cfx_signature_t *sig,
                          cfx_example_t *ex, cfx_error_t *err);
int cfx_rest_predict_finish(cfx_rest_body_t *b, const cfx_signature_t *sig,
                            cfx_example_t *ex, cfx_error_t *err);

/* Classify / regress: *n gets the number of examples (checks: context,
 * then examples present, an array, not empty; at most
 * CFX_SERVICE_MAX_BATCH). */
int cfx_rest_examples_count(cfx_rest_body_t *b, cfx_example_t *context,
                            size_t *n, cfx_error_t *err);
/* Fills ex[0..n) from "examples" (each merged with the context read by
 * cfx_rest_examples_count when there is one; one is scratch). */
int cfx_rest_examples_fill(cfx_rest_body_t *b, const cfx_example_t *context,
                           cfx_example_t *ex, cfx_example_t *one,
                           cfx_error_t *err);

#endif
