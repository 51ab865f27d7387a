/*
 * grpc_tensor.h: tensorflow.TensorProto <-> flat typed values, as TF does.
 *
 * Decoding accepts both encodings real clients send:
 *   - tensor_content: raw row-major little-endian bytes (what Python's
 *     tf.make_tensor_proto writes for numeric arrays of more than one
 *     element); its length must be exactly elements x element size;
 *   - the typed *_val field of the dtype (float_val, double_val, int_val
 *     for INT32/INT16/INT8/UINT8, int64_val, bool_val, string_val,
 *     uint32_val, uint64_val), packed or not (protobuf-c accepts both).
 *     A list shorter than the shape needs is completed by repeating its
 *     last value; an empty list means zeros / empty strings; a longer one
 *     is an error.
 * Values are widened to one storage class per dtype: FLOAT -> float,
 * DOUBLE -> double, every integer type and BOOL -> int64, STRING -> bytes.
 * The element count is bounded (max_elements) before anything is allocated.
 *
 * Encoding fills a TensorProto whose arrays point into caller memory or an
 * arena (no copy of *_val), or into tensor_content when asked.
 *
 * Thread-safety: reentrant; an arena belongs to one thread.
 */
#ifndef CFX_SERVE_GRPC_TENSOR_H
#define CFX_SERVE_GRPC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "formats/arena.h"
#include "formats/err.h"
#include "formats/example.h"
#include "serve/service.h"
#include "tensor.pb-c.h"

#define CFX_TENSOR_MAX_RANK 8

typedef enum cfx_tensor_class {
    CFX_TENSOR_F32 = 0,
    CFX_TENSOR_F64 = 1,
    CFX_TENSOR_I64 = 2,
    CFX_TENSOR_STR = 3,
} cfx_tensor_class_t;

typedef struct cfx_tensor {
    int dtype; /* as sent */
    cfx_tensor_class_t cls;
    size_t rank;
    int64_t dims[CFX_TENSOR_MAX_RANK];
    size_t n; /* elements: product of dims (1 for a scalar) */
    union {
        float *f32;
        double *f64;
        int64_t *i64;
        cfx_bytes_t *str; /* data points into the decoded message */
    } v;                  /* in the arena */
} cfx_tensor_t;

/* Decodes tp into t (values in arena). Errors (CFX_EINVAL, CFX_ETOOBIG)
 * say what is wrong: unsupported dtype, negative dimension, content size
 * mismatch, too many values. */
int cfx_grpc_tensor_decode(const Tensorflow__TensorProto *tp,
                           size_t max_elements, cfx_arena_t *arena,
                           cfx_tensor_t *t, cfx_error_t *err);

/* Fills tp (initialised by the call) with dtype FLOAT/INT64/STRING/DOUBLE
 * values of the given shape. values: float*, int64_t*, cfx_bytes_t* or
 * double* with n elements, borrowed (must outlive packing) unless
 * as_content, which writes little-endian bytes into tensor_content
 * (numeric only). The shape and any copies live in arena. */
int cfx_grpc_tensor_encode(Tensorflow__TensorProto *tp, int dtype,
                           const int64_t *dims, size_t rank, const void *values,
                           size_t n, int as_content, cfx_arena_t *arena);

#endif
