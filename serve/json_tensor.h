/*
 * json_tensor.h: the JSON side of TF Serving's REST API: JSON values to
 * raw tf.Examples (classify/regress "examples"/"context", predict_raw rows
 * and columns, warmup records) and TF Serving's number formatting for
 * responses (%g with 6 significant digits, 9 when that does not round-trip,
 * ".0" on whole numbers, bare NaN / Infinity / -Infinity).
 *
 * These take jansson values (warmup records); REST request bodies are read
 * without a DOM by serve/rest_body.h. Floats are formatted by
 * formats/numfmt.h (no printf).
 *
 * Thread-safety: reentrant.
 */
#ifndef CFX_SERVE_JSON_TENSOR_H
#define CFX_SERVE_JSON_TENSOR_H

#include <jansson.h>
#include <stddef.h>

#include "formats/buf.h"
#include "formats/err.h"
#include "formats/example.h"

/* Appends v formatted as TF Serving prints a DT_FLOAT. */
int cfx_json_put_float(cfx_buf_t *b, float v);
/* Appends a JSON string literal (escaped, quotes included). */
int cfx_json_put_string(cfx_buf_t *b, const char *s, size_t len);

/* {"b64": "..."} with exactly that key: decodes into out and returns 1;
 * 0 when v is not such an object; negative on bad base64. The base64 rules
 * are formats/base64.h's, which are TF Serving's: padding may be left out,
 * but padding that is present must complete the last 4-character group. */
int cfx_json_b64_value(const json_t *v, cfx_buf_t *out, cfx_error_t *err);

/* One feature from a JSON value by the classify/regress rules: string or
 * b64 -> bytes, integer literal or bool -> int64, real -> float, a list of
 * one kind -> several values. Errors (CFX_EINVAL) name the feature. */
int cfx_json_add_feature(cfx_example_t *ex, const char *name, const json_t *v,
                         cfx_error_t *err);
/* Every key of a JSON object as a feature (the classify/regress example
 * mapping; also warmup records). */
int cfx_json_object_to_example(const json_t *obj, cfx_example_t *ex,
                               cfx_error_t *err);

/* One feature of a typed signature input (predict_raw): dtype is CFX_DT_*;
 * DT_INT64 accepts integer literals only, DT_FLOAT any number, DT_STRING a
 * string or b64 object; v may be a scalar or a flat list. */
int cfx_json_add_typed(cfx_example_t *ex, const char *name, int dtype,
                       const json_t *v, cfx_error_t *err);

/* "Type: String", "Type: Number", ... as TF Serving's errors say it. */
const char *cfx_json_type_name(const json_t *v);

#endif
