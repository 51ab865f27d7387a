/*
 * grpc_tensor.c: TensorProto decoding and encoding (see grpc_tensor.h).
 * Byte order is handled explicitly so the code is right on any host.
 */
#include "serve/grpc_tensor.h"

#include <string.h>

#include "formats/dtype.h"

/* Element size in tensor_content; 0 for types without a raw form here. */
static size_t content_size(int dtype) {
    switch (dtype) {
    case CFX_DT_FLOAT:
    case CFX_DT_INT32:
    case CFX_DT_UINT32:
        return 4;
    case CFX_DT_DOUBLE:
    case CFX_DT_INT64:
    case CFX_DT_UINT64:
        return 8;
    case CFX_DT_INT16:
        return 2;
    case CFX_DT_UINT8:
    case CFX_DT_INT8:
    case CFX_DT_BOOL:
        return 1;
    default:
        return 0;
    }
}

static uint64_t le_load(const uint8_t *p, size_t size) {
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void le_store(uint8_t *p, uint64_t v, size_t size) {
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Raw little-endian element -> int64, sign-extended per dtype. */
static int64_t int_from_raw(int dtype, uint64_t raw) {
    switch (dtype) {
    case CFX_DT_INT32:
        return (int32_t)(uint32_t)raw;
    case CFX_DT_INT16:
        return (int16_t)(uint16_t)raw;
    case CFX_DT_INT8:
        return (int8_t)(uint8_t)raw;
    case CFX_DT_UINT8:
        return (uint8_t)raw;
    case CFX_DT_BOOL:
        return raw != 0;
    case CFX_DT_UINT32:
        return (uint32_t)raw;
    default:
        return (int64_t)raw; /* INT64, UINT64 (wraps above INT64_MAX) */
    }
}

static int decode_content(const Tensorflow__TensorProto *tp, cfx_tensor_t *t,
                          cfx_error_t *err) {
    size_t es = content_size(t->dtype);
    if (es == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "tensor_content is not supported for %s",
                             cfx_dtype_name(t->dtype));
    if (tp->tensor_content.len != t->n * es)
        return cfx_error_set(err, CFX_EINVAL,
                             "tensor_content has %zu bytes, shape needs %zu "
                             "(%zu elements of %zu bytes)",
                             tp->tensor_content.len, t->n * es, t->n, es);
    const uint8_t *p = tp->tensor_content.data;
    for (size_t i = 0; i < t->n; i++, p += es) {
        uint64_t raw = le_load(p, es);
        switch (t->cls) {
        case CFX_TENSOR_F32: {
            uint32_t u = (uint32_t)raw;
            memcpy(&t->v.f32[i], &u, 4);
            break;
        }
        case CFX_TENSOR_F64:
            memcpy(&t->v.f64[i], &raw, 8);
            break;
        case CFX_TENSOR_I64:
            t->v.i64[i] = int_from_raw(t->dtype, raw);
            break;
        case CFX_TENSOR_STR:
            break;
        }
    }
    return 0;
}

static const uint8_t empty[1] = {0};

/* Number of values in the dtype's *_val field. */
static size_t val_count(const Tensorflow__TensorProto *tp, int dtype) {
    switch (dtype) {
    case CFX_DT_FLOAT:
        return tp->n_float_val;
    case CFX_DT_DOUBLE:
        return tp->n_double_val;
    case CFX_DT_INT32:
    case CFX_DT_INT16:
    case CFX_DT_INT8:
    case CFX_DT_UINT8:
        return tp->n_int_val;
    case CFX_DT_INT64:
        return tp->n_int64_val;
    case CFX_DT_BOOL:
        return tp->n_bool_val;
    case CFX_DT_STRING:
        return tp->n_string_val;
    case CFX_DT_UINT32:
        return tp->n_uint32_val;
    case CFX_DT_UINT64:
        return tp->n_uint64_val;
    default:
        return 0;
    }
}

static void set_from_val(const Tensorflow__TensorProto *tp, cfx_tensor_t *t,
                         size_t dst, size_t src) {
    switch (t->dtype) {
    case CFX_DT_FLOAT:
        t->v.f32[dst] = tp->float_val[src];
        break;
    case CFX_DT_DOUBLE:
        t->v.f64[dst] = tp->double_val[src];
        break;
    case CFX_DT_INT32:
    case CFX_DT_INT16:
    case CFX_DT_INT8:
    case CFX_DT_UINT8:
        t->v.i64[dst] = tp->int_val[src];
        break;
    case CFX_DT_INT64:
        t->v.i64[dst] = tp->int64_val[src];
        break;
    case CFX_DT_BOOL:
        t->v.i64[dst] = tp->bool_val[src] != 0;
        break;
    case CFX_DT_UINT32:
        t->v.i64[dst] = tp->uint32_val[src];
        break;
    case CFX_DT_UINT64:
        t->v.i64[dst] = (int64_t)tp->uint64_val[src];
        break;
    case CFX_DT_STRING:
        /* Never a NULL pointer, even for "" (callers memcpy from it). */
        t->v.str[dst].data =
            tp->string_val[src].data ? tp->string_val[src].data : empty;
        t->v.str[dst].len = tp->string_val[src].len;
        break;
    }
}

int cfx_grpc_tensor_decode(const Tensorflow__TensorProto *tp,
                           size_t max_elements, cfx_arena_t *arena,
                           cfx_tensor_t *t, cfx_error_t *err) {
    memset(t, 0, sizeof(*t));
    t->dtype = tp->dtype;
    size_t es;
    switch (tp->dtype) {
    case CFX_DT_FLOAT:
        t->cls = CFX_TENSOR_F32;
        es = sizeof(float);
        break;
    case CFX_DT_DOUBLE:
        t->cls = CFX_TENSOR_F64;
        es = sizeof(double);
        break;
    case CFX_DT_STRING:
        t->cls = CFX_TENSOR_STR;
        es = sizeof(cfx_bytes_t);
        break;
    case CFX_DT_INT32:
    case CFX_DT_UINT8:
    case CFX_DT_INT16:
    case CFX_DT_INT8:
    case CFX_DT_INT64:
    case CFX_DT_BOOL:
    case CFX_DT_UINT32:
    case CFX_DT_UINT64:
        t->cls = CFX_TENSOR_I64;
        es = sizeof(int64_t);
        break;
    default:
        return cfx_error_set(err, CFX_EINVAL, "unsupported dtype %d (%s)",
                             (int)tp->dtype, cfx_dtype_name(tp->dtype));
    }
    const Tensorflow__TensorShapeProto *sh = tp->tensor_shape;
    t->n = 1;
    if (sh) {
        if (sh->unknown_rank)
            return cfx_error_set(err, CFX_EINVAL,
                                 "tensor shape has unknown rank");
        if (sh->n_dim > CFX_TENSOR_MAX_RANK)
            return cfx_error_set(err, CFX_EINVAL, "tensor rank %zu exceeds %d",
                                 sh->n_dim, CFX_TENSOR_MAX_RANK);
        t->rank = sh->n_dim;
        for (size_t i = 0; i < sh->n_dim; i++) {
            int64_t d = sh->dim[i]->size;
            if (d < 0)
                return cfx_error_set(err, CFX_EINVAL,
                                     "tensor dimension %zu is %lld", i,
                                     (long long)d);
            t->dims[i] = d;
            if (d != 0 && t->n > max_elements / (uint64_t)d)
                return cfx_error_set(err, CFX_ETOOBIG,
                                     "tensor has more than %zu elements",
                                     max_elements);
            t->n *= (size_t)d;
        }
    }
    if (t->n > max_elements)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "tensor has more than %zu elements", max_elements);
    void *vals = cfx_arena_alloc(arena, t->n ? t->n * es : 1);
    if (!vals)
        return cfx_error_set(err, CFX_ENOMEM, "tensor values");
    memset(vals, 0, t->n * es);
    t->v.f32 = vals;
    if (tp->tensor_content.len > 0)
        return decode_content(tp, t, err);
    if (t->cls == CFX_TENSOR_STR)
        for (size_t i = 0; i < t->n; i++)
            t->v.str[i].data = empty;
    size_t have = val_count(tp, t->dtype);
    if (have > t->n)
        return cfx_error_set(err, CFX_EINVAL,
                             "%zu values for a shape of %zu elements", have,
                             t->n);
    /* Fewer values: TF repeats the last one; none: zeros / "". */
    for (size_t i = 0; have && i < t->n; i++)
        set_from_val(tp, t, i, i < have ? i : have - 1);
    return 0;
}

int cfx_grpc_tensor_encode(Tensorflow__TensorProto *tp, int dtype,
                           const int64_t *dims, size_t rank, const void *values,
                           size_t n, int as_content, cfx_arena_t *arena) {
    tensorflow__tensor_proto__init(tp);
    Tensorflow__TensorShapeProto *sh = cfx_arena_alloc(arena, sizeof(*sh));
    Tensorflow__TensorShapeProto__Dim **dp =
        cfx_arena_alloc(arena, (rank ? rank : 1) * sizeof(*dp));
    Tensorflow__TensorShapeProto__Dim *dv =
        cfx_arena_alloc(arena, (rank ? rank : 1) * sizeof(*dv));
    if (!sh || !dp || !dv)
        return CFX_ENOMEM;
    tensorflow__tensor_shape_proto__init(sh);
    for (size_t i = 0; i < rank; i++) {
        tensorflow__tensor_shape_proto__dim__init(&dv[i]);
        dv[i].size = dims[i];
        dp[i] = &dv[i];
    }
    sh->n_dim = rank;
    sh->dim = dp;
    tp->dtype = (Tensorflow__DataType)dtype;
    tp->tensor_shape = sh;
    if (as_content && dtype != CFX_DT_STRING) {
        size_t es = content_size(dtype);
        if (es == 0)
            return CFX_EINVAL;
        uint8_t *p = cfx_arena_alloc(arena, n * es + 1);
        if (!p)
            return CFX_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            uint64_t raw = 0;
            if (dtype == CFX_DT_FLOAT) {
                uint32_t u;
                memcpy(&u, (const float *)values + i, 4);
                raw = u;
            } else if (dtype == CFX_DT_DOUBLE) {
                memcpy(&raw, (const double *)values + i, 8);
            } else if (dtype == CFX_DT_INT64) {
                raw = (uint64_t)((const int64_t *)values)[i];
            } else {
                return CFX_EINVAL;
            }
            le_store(p + i * es, raw, es);
        }
        tp->tensor_content.data = p;
        tp->tensor_content.len = n * es;
        return 0;
    }
    switch (dtype) {
    case CFX_DT_FLOAT:
        tp->n_float_val = n;
        tp->float_val = (float *)(uintptr_t)values;
        return 0;
    case CFX_DT_DOUBLE:
        tp->n_double_val = n;
        tp->double_val = (double *)(uintptr_t)values;
        return 0;
    case CFX_DT_INT64:
        tp->n_int64_val = n;
        tp->int64_val = (int64_t *)(uintptr_t)values;
        return 0;
    case CFX_DT_STRING: {
        ProtobufCBinaryData *s =
            cfx_arena_alloc(arena, (n ? n : 1) * sizeof(*s));
        if (!s)
            return CFX_ENOMEM;
        const cfx_bytes_t *b = values;
        for (size_t i = 0; i < n; i++) {
            s[i].data = (uint8_t *)(uintptr_t)b[i].data;
            s[i].len = b[i].len;
        }
        tp->n_string_val = n;
        tp->string_val = s;
        return 0;
    }
    default:
        return CFX_EINVAL;
    }
}
