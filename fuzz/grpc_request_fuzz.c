/*
 * grpc_request_fuzz.c: libFuzzer target for what cfx-serve's gRPC endpoint
 * does first with a Predict body: protobuf-c unpacks a PredictRequest
 * into a per-request arena (as serve/grpc_methods.c does) and each input
 * TensorProto is decoded (serve/grpc_tensor.c).
 *
 * Properties: no crash or leak on any input; a decoded tensor never has
 * more elements than the bound and has exactly the product of its dims;
 * a numeric tensor re-encoded as tensor_content decodes to the same bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/dtype.h"
#include "predict.pb-c.h"
#include "serve/grpc_tensor.h"

#define MAX_ELEMENTS 4096

static void *arena_alloc(void *data, size_t size) {
    return cfx_arena_alloc(data, size ? size : 1);
}

static void arena_free(void *data, void *p) {
    (void)data;
    (void)p;
}

static void roundtrip(const cfx_tensor_t *t, cfx_arena_t *a) {
    int dt = t->cls == CFX_TENSOR_F32   ? CFX_DT_FLOAT
             : t->cls == CFX_TENSOR_F64 ? CFX_DT_DOUBLE
             : t->cls == CFX_TENSOR_I64 ? CFX_DT_INT64
                                        : 0;
    if (!dt)
        return;
    Tensorflow__TensorProto tp;
    if (cfx_grpc_tensor_encode(&tp, dt, t->dims, t->rank, t->v.f32, t->n, 1, a))
        abort();
    cfx_tensor_t back;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_grpc_tensor_decode(&tp, MAX_ELEMENTS, a, &back, &err) != 0 ||
        back.n != t->n)
        abort();
    size_t es = t->cls == CFX_TENSOR_F32 ? 4 : 8;
    if (t->n && memcmp(back.v.f32, t->v.f32, t->n * es) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_arena_t a;
    cfx_arena_init(&a);
    ProtobufCAllocator alloc = {arena_alloc, arena_free, &a};
    Tensorflow__Serving__PredictRequest *r =
        tensorflow__serving__predict_request__unpack(&alloc, size, data);
    if (r) {
        for (size_t i = 0; i < r->n_inputs; i++) {
            const Tensorflow__TensorProto *tp = r->inputs[i]->value;
            if (!tp)
                continue;
            cfx_tensor_t t;
            cfx_error_t err;
            cfx_error_init(&err);
            if (cfx_grpc_tensor_decode(tp, MAX_ELEMENTS, &a, &t, &err) != 0) {
                if (!err.msg[0])
                    abort(); /* every refusal says why */
                continue;
            }
            size_t n = 1;
            for (size_t k = 0; k < t.rank; k++)
                n *= (size_t)t.dims[k];
            if (t.n != n || t.n > MAX_ELEMENTS)
                abort();
            if (t.cls == CFX_TENSOR_STR)
                for (size_t k = 0; k < t.n; k++)
                    if (!t.v.str[k].data)
                        abort();
            roundtrip(&t, &a);
        }
    }
    cfx_arena_free(&a);
    return 0;
}
