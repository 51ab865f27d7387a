/*
 * infra_grpc.c: gRPC Predict replay for infra validation (infra_grpc.h),
 * over client/h2_client.h on a private event base, one call at a time.
 */
#include "push/infra_grpc.h"

#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/h2_client.h"
#include "client/perf_http.h"
#include "formats/buf.h"
#include "predict.pb-c.h"

#define MAX_ANSWER (1u << 20)
#define CALL_TIMEOUT_S 10

typedef struct call {
    struct event_base *base;
    int done, closed;
    int http_status, grpc_status;
    uint32_t rst;
    char message[256];
    uint8_t *body;
    size_t body_len;
} call_t;

static void on_done(void *ud, const cfx_h2c_result_t *r) {
    call_t *c = ud;
    c->done = 1;
    c->http_status = r->http_status;
    c->grpc_status = r->grpc_status;
    c->rst = r->rst_error;
    snprintf(c->message, sizeof c->message, "%s",
             r->grpc_message ? r->grpc_message : "");
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    if (r->body_len && (c->body = malloc(r->body_len))) {
        memcpy(c->body, r->body, r->body_len);
        c->body_len = r->body_len;
    }
    event_base_loopbreak(c->base);
}

static void on_close(void *ud, cfx_h2c_t *h) {
    (void)h;
    call_t *c = ud;
    c->closed = 1;
    event_base_loopbreak(c->base);
}

/* The gRPC message of a Predict for one serialized example. */
static int request(const char *model, const cfx_buf_t *ex, cfx_buf_t *out) {
    Tensorflow__Serving__ModelSpec spec = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
    Tensorflow__TensorShapeProto__Dim dim =
        TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT;
    Tensorflow__TensorShapeProto__Dim *dims[1] = {&dim};
    Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    Tensorflow__TensorProto t = TENSORFLOW__TENSOR_PROTO__INIT;
    Tensorflow__Serving__PredictRequest__InputsEntry in =
        TENSORFLOW__SERVING__PREDICT_REQUEST__INPUTS_ENTRY__INIT;
    Tensorflow__Serving__PredictRequest__InputsEntry *ins[1] = {&in};
    Tensorflow__Serving__PredictRequest req =
        TENSORFLOW__SERVING__PREDICT_REQUEST__INIT;
    ProtobufCBinaryData s = {ex->len, ex->data};
    spec.name = (char *)model;
    spec.signature_name = "serving_default";
    dim.size = 1;
    shape.n_dim = 1;
    shape.dim = dims;
    t.dtype = TENSORFLOW__DATA_TYPE__DT_STRING;
    t.tensor_shape = &shape;
    t.n_string_val = 1;
    t.string_val = &s;
    in.key = "examples";
    in.value = &t;
    req.model_spec = &spec;
    req.n_inputs = 1;
    req.inputs = ins;
    size_t n = tensorflow__serving__predict_request__get_packed_size(&req);
    uint8_t prefix[5] = {0, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                         (uint8_t)(n >> 8), (uint8_t)n};
    cfx_buf_reset(out);
    if (cfx_buf_append(out, prefix, 5) || cfx_buf_reserve(out, n))
        return -1;
    tensorflow__serving__predict_request__pack(&req, out->data + out->len);
    out->len += n;
    return 0;
}

/* The w values of output "outputs" of a PredictResponse message (one
 * example's row). */
static int answer_values(const uint8_t *body, size_t len, double *v, size_t w,
                         char *why, size_t cap) {
    if (len < 5) {
        snprintf(why, cap, "answer of %zu bytes, no gRPC message", len);
        return -1;
    }
    size_t n = ((size_t)body[1] << 24) | ((size_t)body[2] << 16) |
               ((size_t)body[3] << 8) | body[4];
    if (body[0] != 0 || n != len - 5) {
        snprintf(why, cap,
                 "bad gRPC message prefix (flag %u, length %zu of %zu)",
                 body[0], n, len - 5);
        return -1;
    }
    Tensorflow__Serving__PredictResponse *r =
        tensorflow__serving__predict_response__unpack(NULL, n, body + 5);
    int ret = -1;
    if (!r) {
        snprintf(why, cap, "PredictResponse does not decode");
        return -1;
    }
    for (size_t i = 0; i < r->n_outputs; i++) {
        const Tensorflow__TensorProto *t = r->outputs[i]->value;
        if (strcmp(r->outputs[i]->key, "outputs") || !t)
            continue;
        if (t->n_float_val >= w) {
            for (size_t k = 0; k < w; k++)
                v[k] = t->float_val[k];
            ret = 0;
        } else if (t->tensor_content.len >= 4 * w) {
            for (size_t k = 0; k < w; k++) {
                float f;
                memcpy(&f, t->tensor_content.data + 4 * k, 4);
                v[k] = f;
            }
            ret = 0;
        }
    }
    if (ret)
        snprintf(why, cap, "no %zu floats in output 'outputs'", w);
    tensorflow__serving__predict_response__free_unpacked(r, NULL);
    return ret;
}

int cfx_infra_grpc_replay(int port, const char *model_name,
                          const cfx_example_t *ex, const float *offline,
                          size_t width, size_t n, double tol, size_t *ok,
                          double *max_diff, char *why, size_t cap) {
    call_t c;
    cfx_h2c_t *h = NULL;
    cfx_buf_t msg, ser;
    cfx_error_t err;
    int ret = -1;
    memset(&c, 0, sizeof c);
    cfx_buf_init(&msg);
    cfx_buf_init(&ser);
    cfx_error_init(&err);
    *ok = 0;
    if (!(c.base = event_base_new())) {
        snprintf(why, cap, "gRPC: no event base");
        goto out;
    }
    int fd = cfx_perf_connect("127.0.0.1", port, &err);
    if (fd < 0) {
        snprintf(why, cap, "gRPC connect 127.0.0.1:%d: %s", port, err.msg);
        goto out;
    }
    cfx_h2c_callbacks_t cb = {on_done, on_close};
    if (cfx_h2c_new(c.base, fd, &cb, &c, MAX_ANSWER, &h, &err)) {
        snprintf(why, cap, "gRPC connection: %s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        cfx_buf_reset(&ser);
        if (cfx_example_encode(&ex[i], &ser) ||
            request(model_name, &ser, &msg)) {
            snprintf(why, cap, "gRPC request %zu: out of memory", i + 1);
            goto out;
        }
        c.done = 0;
        if (cfx_h2c_submit(h, "localhost",
                           "/tensorflow.serving.PredictionService/Predict",
                           NULL, 0, msg.data, msg.len, 1, NULL) <= 0) {
            snprintf(why, cap, "gRPC request %zu: submit failed", i + 1);
            goto out;
        }
        struct timeval tv = {CALL_TIMEOUT_S, 0};
        event_base_loopexit(c.base, &tv);
        while (!c.done && !c.closed)
            if (event_base_dispatch(c.base) != 0 || (!c.done && !c.closed))
                break;
        if (!c.done) {
            snprintf(why, cap, "gRPC request %zu (warm-up row %zu): %s", i + 1,
                     i + 1,
                     c.closed ? "connection closed" : "no answer in 10 s");
            goto out;
        }
        if (c.http_status != 200 || c.grpc_status != 0) {
            snprintf(why, cap,
                     "gRPC request %zu (warm-up row %zu): HTTP %d, grpc-status "
                     "%d (%s)%s",
                     i + 1, i + 1, c.http_status, c.grpc_status, c.message,
                     c.rst ? ", stream reset" : "");
            goto out;
        }
        double v[CFX_INFRA_MAX_WIDTH];
        char w[200];
        if (width > CFX_INFRA_MAX_WIDTH ||
            answer_values(c.body, c.body_len, v, width, w, sizeof w)) {
            snprintf(why, cap, "gRPC request %zu (warm-up row %zu): %s", i + 1,
                     i + 1,
                     width > CFX_INFRA_MAX_WIDTH ? "too many outputs" : w);
            goto out;
        }
        for (size_t k = 0; k < width; k++) {
            double off = (double)offline[i * width + k], d = fabs(v[k] - off);
            if (d > *max_diff)
                *max_diff = d;
            if (!(d <= tol * (fabs(off) > 1 ? fabs(off) : 1))) {
                snprintf(why, cap,
                         "gRPC request %zu (warm-up row %zu): served %.9g, "
                         "offline %.9g (output %zu), |diff| %.3g > %.3g",
                         i + 1, i + 1, v[k], off, k, d, tol);
                goto out;
            }
        }
        (*ok)++;
    }
    ret = 0;
out:
    cfx_h2c_free(h);
    if (c.base)
        event_base_free(c.base);
    free(c.body);
    cfx_buf_free(&msg);
    cfx_buf_free(&ser);
    return ret;
}
