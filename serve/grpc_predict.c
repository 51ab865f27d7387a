/*
 * grpc_predict.c: PredictionService/Predict.
 *
 * Inputs, by signature kind (service.h):
 *   serving_default, classify, regress: one DT_STRING tensor of serialized
 *     tf.Example ([batch] or a scalar);
 *   predict_raw: one tensor per raw feature, dtype exactly the signature's
 *     (DT_INT64 / DT_FLOAT / DT_STRING), dim 0 the batch (every input the
 *     same), further dims values per example.
 * Checks and messages follow TF Serving's predict_util: the input set must
 * equal the signature's ("input size does not match signature ..."), every
 * output_filter alias must exist once, an unknown signature is
 * FAILED_PRECONDITION. The answer carries the signature's outputs (or the
 * filtered ones) as *_val tensors and model_spec {name, resolved version,
 * resolved signature}.
 */
#include <stdio.h>
#include <string.h>

#include "formats/dtype.h"
#include "predict.pb-c.h"
#include "serve/grpc_methods.h"
#include "serve/grpc_tensor.h"

/* Elements of one input tensor, whatever its encoding (a *_val list may be
 * completed by repetition, so this bounds memory, not the message). */
#define MAX_TENSOR_ELEMENTS ((size_t)CFX_SERVICE_MAX_BATCH * 64)
/* Named inputs in one request (a signature has a few dozen at most). */
#define MAX_REQUEST_INPUTS 1024

/* The request tensor for alias (the last entry wins, as in a map). */
static const Tensorflow__TensorProto *
find_input(const Tensorflow__Serving__PredictRequest *r, const char *alias) {
    for (size_t i = r->n_inputs; i-- > 0;)
        if (r->inputs[i]->key && strcmp(r->inputs[i]->key, alias) == 0)
            return r->inputs[i]->value;
    return NULL;
}

static int sig_has_input(const cfx_signature_t *sig, const char *alias) {
    for (size_t i = 0; i < sig->n_inputs; i++)
        if (strcmp(sig->inputs[i].name, alias) == 0)
            return 1;
    return 0;
}

static void join(char *dst, size_t cap, const char *s) {
    size_t l = strlen(dst);
    if (l + 1 < cap)
        snprintf(dst + l, cap - l, "%s%s", l ? "," : "", s);
}

static int check_inputs(cfx_grpc_call_t *call,
                        const Tensorflow__Serving__PredictRequest *r,
                        const cfx_signature_t *sig) {
    char sent[256] = "", want[256] = "", extra[256] = "", missing[256] = "";
    size_t distinct = 0;
    /* The duplicate scan below is quadratic: bound it first. */
    if (r->n_inputs > MAX_REQUEST_INPUTS)
        return cfx_grpc_fail(call, 3, "%zu inputs in one request, more than %d",
                             r->n_inputs, MAX_REQUEST_INPUTS);
    for (size_t i = 0; i < r->n_inputs; i++) {
        const char *k = r->inputs[i]->key ? r->inputs[i]->key : "";
        int dup = 0;
        for (size_t j = i + 1; j < r->n_inputs; j++)
            dup |= r->inputs[j]->key && strcmp(r->inputs[j]->key, k) == 0;
        if (dup)
            continue;
        distinct++;
        join(sent, sizeof(sent), k);
        if (!sig_has_input(sig, k))
            join(extra, sizeof(extra), k);
    }
    for (size_t i = 0; i < sig->n_inputs; i++) {
        join(want, sizeof(want), sig->inputs[i].name);
        if (!find_input(r, sig->inputs[i].name))
            join(missing, sizeof(missing), sig->inputs[i].name);
    }
    if (distinct == sig->n_inputs && !extra[0] && !missing[0])
        return 0;
    return cfx_grpc_fail(call, 3,
                         "input size does not match signature: %zu!=%zu "
                         "len({%s}) != len({%s}). Sent extra: {%s}. Missing "
                         "but required: {%s}.",
                         distinct, sig->n_inputs, sent, want, extra, missing);
}

/* Output i of sig is wanted (no filter, or named in it). */
static int check_filter(cfx_grpc_call_t *call,
                        const Tensorflow__Serving__PredictRequest *r,
                        const cfx_signature_t *sig, int *wanted) {
    char set[256] = "";
    for (size_t i = 0; i < sig->n_outputs; i++) {
        wanted[i] = r->n_output_filter == 0;
        join(set, sizeof(set), sig->outputs[i].name);
    }
    for (size_t f = 0; f < r->n_output_filter; f++) {
        const char *alias = r->output_filter[f];
        size_t i;
        for (i = 0; i < sig->n_outputs; i++)
            if (strcmp(sig->outputs[i].name, alias) == 0)
                break;
        if (i == sig->n_outputs)
            return cfx_grpc_fail(call, 3,
                                 "output tensor alias not found in signature: "
                                 "%s Outputs expected to be in the set {%s}.",
                                 alias, set);
        if (wanted[i])
            return cfx_grpc_fail(call, 3, "duplicate output tensor alias: %s",
                                 alias);
        wanted[i] = 1;
    }
    return 0;
}

static size_t batch_of(const cfx_tensor_t *t) {
    return t->rank == 0 ? 1 : (size_t)t->dims[0];
}

/* serving_default / classify / regress: serialized tf.Example strings. */
static int serialized_examples(cfx_grpc_call_t *call,
                               const Tensorflow__Serving__PredictRequest *r,
                               const cfx_signature_t *sig, cfx_example_t **out,
                               size_t *n) {
    cfx_tensor_t t;
    cfx_error_t err;
    cfx_error_init(&err);
    const char *alias = sig->inputs[0].name;
    const Tensorflow__TensorProto *tp = find_input(r, alias);
    int rc = cfx_grpc_tensor_decode(tp, CFX_SERVICE_MAX_BATCH, call->arena, &t,
                                    &err);
    if (rc != 0)
        return cfx_grpc_fail(call, rc == CFX_ETOOBIG ? 8 : 3,
                             "tensor parsing error: %s: %s", alias, err.msg);
    if (t.dtype != CFX_DT_STRING)
        return cfx_grpc_fail(call, 3,
                             "Expects arg[0] to be string but %s is provided",
                             cfx_dtype_word(t.dtype));
    cfx_example_t *ex = cfx_grpc_examples(call, t.n);
    if (!ex && t.n)
        return cfx_grpc_fail(call, 8, "out of memory for %zu examples", t.n);
    for (size_t i = 0; i < t.n; i++) {
        if (cfx_example_decode(&ex[i], t.v.str[i].data, t.v.str[i].len, &err) !=
            0) {
            int shown = t.v.str[i].len > 64 ? 64 : (int)t.v.str[i].len;
            char printable[65];
            for (int j = 0; j < shown; j++) {
                uint8_t c = t.v.str[i].data[j];
                printable[j] = c >= 0x20 && c < 0x7f ? (char)c : '.';
            }
            printable[shown] = '\0';
            return cfx_grpc_fail(call, 3,
                                 "Could not parse example input, value: '%s' "
                                 "(%s[%zu]: %s)",
                                 printable, alias, i, err.msg);
        }
    }
    *out = ex;
    *n = t.n;
    return 0;
}

/* predict_raw: one tensor per raw feature. */
static int raw_examples(cfx_grpc_call_t *call,
                        const Tensorflow__Serving__PredictRequest *r,
                        const cfx_signature_t *sig, cfx_example_t **out,
                        size_t *n) {
    cfx_tensor_t *t =
        cfx_arena_alloc(call->arena, (sig->n_inputs + 1) * sizeof(*t));
    cfx_error_t err;
    cfx_error_init(&err);
    if (!t)
        return cfx_grpc_fail(call, 8, "out of memory");
    size_t batch = 0;
    for (size_t j = 0; j < sig->n_inputs; j++) {
        const cfx_tensor_spec_t *spec = &sig->inputs[j];
        int rc = cfx_grpc_tensor_decode(find_input(r, spec->name),
                                        MAX_TENSOR_ELEMENTS, call->arena, &t[j],
                                        &err);
        if (rc != 0)
            return cfx_grpc_fail(call, rc == CFX_ETOOBIG ? 8 : 3,
                                 "tensor parsing error: %s: %s", spec->name,
                                 err.msg);
        if (t[j].dtype != spec->dtype)
            return cfx_grpc_fail(call, 3,
                                 "Expects arg[%zu] to be %s but %s is provided "
                                 "(input %s)",
                                 j, cfx_dtype_word(spec->dtype),
                                 cfx_dtype_word(t[j].dtype), spec->name);
        size_t b = batch_of(&t[j]);
        if (j == 0)
            batch = b;
        else if (b != batch)
            return cfx_grpc_fail(call, 3,
                                 "inputs have different batch sizes: %s has "
                                 "%zu, %s has %zu",
                                 sig->inputs[0].name, batch, spec->name, b);
    }
    if (batch > CFX_SERVICE_MAX_BATCH)
        return cfx_grpc_fail(call, 8, "batch of %zu examples exceeds %d", batch,
                             CFX_SERVICE_MAX_BATCH);
    cfx_example_t *ex = cfx_grpc_examples(call, batch);
    if (!ex && batch)
        return cfx_grpc_fail(call, 8, "out of memory for %zu examples", batch);
    for (size_t i = 0; i < batch; i++) {
        for (size_t j = 0; j < sig->n_inputs; j++) {
            size_t k = t[j].n / batch; /* values per example */
            const char *name = sig->inputs[j].name;
            int rc;
            switch (t[j].cls) {
            case CFX_TENSOR_I64:
                rc = cfx_example_add_int64(&ex[i], name, t[j].v.i64 + i * k, k);
                break;
            case CFX_TENSOR_F32:
                rc = cfx_example_add_float(&ex[i], name, t[j].v.f32 + i * k, k);
                break;
            case CFX_TENSOR_STR:
                rc = cfx_example_add_bytes(&ex[i], name, t[j].v.str + i * k, k);
                break;
            default:
                rc = CFX_EINVAL;
                break;
            }
            if (rc != 0)
                return cfx_grpc_fail(call, rc == CFX_ENOMEM ? 8 : 3,
                                     "input %s: cannot build example %zu", name,
                                     i);
        }
    }
    *out = ex;
    *n = batch;
    return 0;
}

static int predict(cfx_grpc_call_t *call, const uint8_t *req, size_t len) {
    cfx_servable_t *s = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc;
    Tensorflow__Serving__PredictRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__predict_request__descriptor, req, len);
    if (!r)
        return call->tf_code;
    if ((rc = cfx_grpc_acquire(call, r->model_spec, &s)) != 0)
        goto out;
    const cfx_signature_t *sig;
    if ((rc = cfx_service_signature(s, r->model_spec->signature_name, &sig,
                                    &err)) != 0) {
        rc = cfx_grpc_fail_err(call, rc, &err);
        goto out;
    }
    int *wanted =
        cfx_arena_alloc(call->arena, (sig->n_outputs + 1) * sizeof(int));
    if (!wanted) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto out;
    }
    if ((rc = check_inputs(call, r, sig)) != 0 ||
        (rc = check_filter(call, r, sig, wanted)) != 0)
        goto out;
    cfx_example_t *ex = NULL;
    size_t n = 0;
    rc = sig->kind == CFX_SIG_PREDICT_RAW
             ? raw_examples(call, r, sig, &ex, &n)
             : serialized_examples(call, r, sig, &ex, &n);
    if (rc != 0)
        goto out;
    if (call->srv && call->srv->metrics)
        cfx_metrics_record_examples(call->srv->metrics, call->model, n);

    const cfx_example_t **exp =
        cfx_arena_alloc(call->arena, (n + 1) * sizeof(*exp));
    const size_t nc = cfx_service_num_classes(s);
    const size_t width = sig->kind == CFX_SIG_CLASSIFY ? nc
                         : sig->kind == CFX_SIG_REGRESS
                             ? 1
                             : cfx_service_output_width(s);
    float *vals = cfx_arena_alloc(call->arena, (n + 1) * width * sizeof(float));
    cfx_bytes_t *labels =
        cfx_arena_alloc(call->arena, (n + 1) * nc * sizeof(cfx_bytes_t));
    if (!exp || !vals || !labels) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        exp[i] = &ex[i];
    if (n > 0) {
        switch (sig->kind) {
        case CFX_SIG_CLASSIFY:
            rc = cfx_service_classify(s, sig, exp, n, vals, &err);
            break;
        case CFX_SIG_REGRESS:
            rc = cfx_service_regress(s, sig, exp, n, vals, &err);
            break;
        default:
            rc = cfx_service_predict(s, sig, exp, n, vals, &err);
            break;
        }
        if (rc != 0) {
            rc = cfx_grpc_fail_err(call, rc, &err);
            goto out;
        }
    }
    for (size_t i = 0; i < n * nc; i++) {
        const char *l = cfx_service_class_label(s, i % nc);
        labels[i].data = (const uint8_t *)l;
        labels[i].len = strlen(l);
    }

    Tensorflow__Serving__PredictResponse resp =
        TENSORFLOW__SERVING__PREDICT_RESPONSE__INIT;
    Tensorflow__Serving__PredictResponse__OutputsEntry **entries =
        cfx_arena_alloc(call->arena, (sig->n_outputs + 1) * sizeof(*entries));
    if (!entries) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto out;
    }
    for (size_t o = 0; o < sig->n_outputs; o++) {
        if (!wanted[o])
            continue;
        const cfx_tensor_spec_t *spec = &sig->outputs[o];
        Tensorflow__Serving__PredictResponse__OutputsEntry *e =
            cfx_arena_alloc(call->arena, sizeof(*e));
        Tensorflow__TensorProto *tp = cfx_arena_alloc(call->arena, sizeof(*tp));
        if (!e || !tp) {
            rc = cfx_grpc_fail(call, 8, "out of memory");
            goto out;
        }
        tensorflow__serving__predict_response__outputs_entry__init(e);
        int64_t dims[2] = {(int64_t)n, spec->rank > 1 ? spec->dims[1] : 1};
        if (dims[1] < 0)
            dims[1] = 1;
        size_t count = n * (size_t)dims[1];
        if (spec->dtype == CFX_DT_STRING)
            rc = cfx_grpc_tensor_encode(tp, CFX_DT_STRING, dims,
                                        (size_t)spec->rank, labels, count, 0,
                                        call->arena);
        else
            rc = cfx_grpc_tensor_encode(tp, CFX_DT_FLOAT, dims,
                                        (size_t)spec->rank, vals, count, 0,
                                        call->arena);
        if (rc != 0) {
            rc = cfx_grpc_fail(call, 13, "cannot encode output %s", spec->name);
            goto out;
        }
        e->key = (char *)(uintptr_t)spec->name;
        e->value = tp;
        entries[resp.n_outputs++] = e;
    }
    resp.outputs = entries;
    resp.model_spec = cfx_grpc_spec(call, s, sig->key);
    if (!resp.model_spec) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto out;
    }
    rc = cfx_grpc_reply(call, &resp.base);
out:
    cfx_servable_release(s);
    return rc;
}

int cfx_grpc_predict(cfx_grpc_call_t *call, const uint8_t *req, size_t len) {
    size_t charge = 0;
    int rc = cfx_grpc_admit(call, len, &charge);
    if (rc == 0)
        rc = predict(call, req, len);
    cfx_service_release(charge);
    return rc;
}
