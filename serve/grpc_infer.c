/*
 * grpc_infer.c: PredictionService/{Classify, Regress, MultiInference} over
 * tf.Example inputs (Input: example_list or example_list_with_context, the
 * example winning over the context on a shared feature name).
 *
 * The signature must have the matching method_name (service.h checks it:
 * "Expected classification signature method_name to be ..."); classify
 * answers every class of the model (cfx_service_num_classes), with its label.
 * MultiInference follows TF Serving: at least one task, every task the
 * same model, no signature twice, method_name classify or regress.
 */
#include <stdio.h>
#include <string.h>

#include "classification.pb-c.h"
#include "inference.pb-c.h"
#include "regression.pb-c.h"
#include "serve/grpc_methods.h"

/* Runs classify over ex[n] into a ClassificationResult in the arena. */
static int classify_result(cfx_grpc_call_t *call, const cfx_servable_t *s,
                           const cfx_signature_t *sig, cfx_example_t *ex,
                           size_t n,
                           Tensorflow__Serving__ClassificationResult **out) {
    const size_t k = cfx_service_num_classes(s);
    cfx_error_t err;
    cfx_error_init(&err);
    const cfx_example_t **exp = cfx_arena_alloc(call->arena, n * sizeof(*exp));
    float *scores = cfx_arena_alloc(call->arena, n * k * sizeof(float));
    Tensorflow__Serving__ClassificationResult *res =
        cfx_arena_alloc(call->arena, sizeof(*res));
    Tensorflow__Serving__Classifications *cls =
        cfx_arena_alloc(call->arena, n * sizeof(*cls));
    Tensorflow__Serving__Classifications **clsp =
        cfx_arena_alloc(call->arena, n * sizeof(*clsp));
    Tensorflow__Serving__Class *c =
        cfx_arena_alloc(call->arena, n * k * sizeof(*c));
    Tensorflow__Serving__Class **cp =
        cfx_arena_alloc(call->arena, n * k * sizeof(*cp));
    if (!exp || !scores || !res || !cls || !clsp || !c || !cp)
        return cfx_grpc_fail(call, 8, "out of memory");
    for (size_t i = 0; i < n; i++)
        exp[i] = &ex[i];
    int rc = cfx_service_classify(s, sig, exp, n, scores, &err);
    if (rc != 0)
        return cfx_grpc_fail_err(call, rc, &err);
    tensorflow__serving__classification_result__init(res);
    for (size_t i = 0; i < n; i++) {
        tensorflow__serving__classifications__init(&cls[i]);
        for (size_t j = 0; j < k; j++) {
            Tensorflow__Serving__Class *one = &c[i * k + j];
            tensorflow__serving__class__init(one);
            one->label = (char *)(uintptr_t)cfx_service_class_label(s, j);
            one->score = scores[i * k + j];
            cp[i * k + j] = one;
        }
        cls[i].n_classes = k;
        cls[i].classes = &cp[i * k];
        clsp[i] = &cls[i];
    }
    res->n_classifications = n;
    res->classifications = clsp;
    *out = res;
    return 0;
}

static int regress_result(cfx_grpc_call_t *call, const cfx_servable_t *s,
                          const cfx_signature_t *sig, cfx_example_t *ex,
                          size_t n,
                          Tensorflow__Serving__RegressionResult **out) {
    cfx_error_t err;
    cfx_error_init(&err);
    const cfx_example_t **exp = cfx_arena_alloc(call->arena, n * sizeof(*exp));
    float *v = cfx_arena_alloc(call->arena, n * sizeof(float));
    Tensorflow__Serving__RegressionResult *res =
        cfx_arena_alloc(call->arena, sizeof(*res));
    Tensorflow__Serving__Regression *r =
        cfx_arena_alloc(call->arena, n * sizeof(*r));
    Tensorflow__Serving__Regression **rp =
        cfx_arena_alloc(call->arena, n * sizeof(*rp));
    if (!exp || !v || !res || !r || !rp)
        return cfx_grpc_fail(call, 8, "out of memory");
    for (size_t i = 0; i < n; i++)
        exp[i] = &ex[i];
    int rc = cfx_service_regress(s, sig, exp, n, v, &err);
    if (rc != 0)
        return cfx_grpc_fail_err(call, rc, &err);
    tensorflow__serving__regression_result__init(res);
    for (size_t i = 0; i < n; i++) {
        tensorflow__serving__regression__init(&r[i]);
        r[i].value = v[i];
        rp[i] = &r[i];
    }
    res->n_regressions = n;
    res->regressions = rp;
    *out = res;
    return 0;
}

/* Acquire, resolve the signature, convert the input. */
static int prepare(cfx_grpc_call_t *call,
                   const Tensorflow__Serving__ModelSpec *spec,
                   const Tensorflow__Serving__Input *in, cfx_servable_t **s,
                   const cfx_signature_t **sig, cfx_example_t **ex, size_t *n) {
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_grpc_acquire(call, spec, s);
    if (rc != 0)
        return rc;
    if ((rc = cfx_service_signature(*s, spec->signature_name, sig, &err)) != 0)
        return cfx_grpc_fail_err(call, rc, &err);
    if ((rc = cfx_grpc_input_examples(call, in, ex, n)) != 0)
        return rc;
    if (call->srv && call->srv->metrics)
        cfx_metrics_record_examples(call->srv->metrics, call->model, *n);
    return 0;
}

/* Replies with msg once its model_spec (*spec) names the servable's version
 * and the signature used. */
static int reply_with_spec(cfx_grpc_call_t *call, const cfx_servable_t *s,
                           const cfx_signature_t *sig,
                           Tensorflow__Serving__ModelSpec **spec,
                           const ProtobufCMessage *msg) {
    *spec = cfx_grpc_spec(call, s, sig->key);
    return *spec ? cfx_grpc_reply(call, msg)
                 : cfx_grpc_fail(call, 8, "out of memory");
}

static int classify(cfx_grpc_call_t *call, const uint8_t *req, size_t len) {
    cfx_servable_t *s = NULL;
    const cfx_signature_t *sig;
    cfx_example_t *ex;
    size_t n;
    Tensorflow__Serving__ClassificationRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__classification_request__descriptor, req,
        len);
    if (!r)
        return call->tf_code;
    Tensorflow__Serving__ClassificationResponse resp =
        TENSORFLOW__SERVING__CLASSIFICATION_RESPONSE__INIT;
    int rc = prepare(call, r->model_spec, r->input, &s, &sig, &ex, &n);
    if (rc == 0)
        rc = classify_result(call, s, sig, ex, n, &resp.result);
    if (rc == 0)
        rc = reply_with_spec(call, s, sig, &resp.model_spec, &resp.base);
    cfx_servable_release(s);
    return rc;
}

static int regress(cfx_grpc_call_t *call, const uint8_t *req, size_t len) {
    cfx_servable_t *s = NULL;
    const cfx_signature_t *sig;
    cfx_example_t *ex;
    size_t n;
    Tensorflow__Serving__RegressionRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__regression_request__descriptor, req, len);
    if (!r)
        return call->tf_code;
    Tensorflow__Serving__RegressionResponse resp =
        TENSORFLOW__SERVING__REGRESSION_RESPONSE__INIT;
    int rc = prepare(call, r->model_spec, r->input, &s, &sig, &ex, &n);
    if (rc == 0)
        rc = regress_result(call, s, sig, ex, n, &resp.result);
    if (rc == 0)
        rc = reply_with_spec(call, s, sig, &resp.model_spec, &resp.base);
    cfx_servable_release(s);
    return rc;
}

/* The signature a task names (its model_spec is set): "" is serving_default. */
static const char *task_signature(const Tensorflow__Serving__InferenceTask *t) {
    return t->model_spec->signature_name[0] ? t->model_spec->signature_name
                                            : "serving_default";
}

static int multi_inference(cfx_grpc_call_t *call, const uint8_t *req,
                           size_t len) {
    cfx_servable_t *s = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = 0;
    Tensorflow__Serving__MultiInferenceRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__multi_inference_request__descriptor, req,
        len);
    if (!r)
        return call->tf_code;
    if (r->n_tasks == 0)
        return cfx_grpc_fail(call, 3, "Expected at least one task");
    if (r->n_tasks > 64) /* the duplicate check below is quadratic */
        return cfx_grpc_fail(call, 3, "%zu tasks in one request, more than 64",
                             r->n_tasks);
    for (size_t i = 0; i < r->n_tasks; i++) {
        const Tensorflow__Serving__InferenceTask *t = r->tasks[i];
        if (!t->model_spec)
            return cfx_grpc_fail(call, 3, "Missing ModelSpec");
        if (strcmp(t->model_spec->name, r->tasks[0]->model_spec->name) != 0)
            return cfx_grpc_fail(call, 3,
                                 "All ModelSpecs in a MultiInferenceRequest "
                                 "must access the same model name.");
        const char *si = task_signature(t);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(si, task_signature(r->tasks[j])) == 0)
                return cfx_grpc_fail(
                    call, 3, "Duplicate evaluation of signature: %s", si);
        }
        if (strcmp(t->method_name, CFX_METHOD_CLASSIFY) != 0 &&
            strcmp(t->method_name, CFX_METHOD_REGRESS) != 0)
            return cfx_grpc_fail(call, 12,
                                 "Unsupported signature method_name: %s",
                                 t->method_name);
    }
    cfx_example_t *ex;
    size_t n;
    /* Every task shares the model and the version of the first task. */
    if ((rc = cfx_grpc_acquire(call, r->tasks[0]->model_spec, &s)) != 0 ||
        (rc = cfx_grpc_input_examples(call, r->input, &ex, &n)) != 0)
        goto out;
    Tensorflow__Serving__MultiInferenceResponse resp =
        TENSORFLOW__SERVING__MULTI_INFERENCE_RESPONSE__INIT;
    Tensorflow__Serving__InferenceResult *res =
        cfx_arena_alloc(call->arena, r->n_tasks * sizeof(*res));
    Tensorflow__Serving__InferenceResult **resp_p =
        cfx_arena_alloc(call->arena, r->n_tasks * sizeof(*resp_p));
    if (!res || !resp_p) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_tasks; i++) {
        const Tensorflow__Serving__InferenceTask *t = r->tasks[i];
        const cfx_signature_t *sig;
        if ((rc = cfx_service_signature(s, t->model_spec->signature_name, &sig,
                                        &err)) != 0) {
            rc = cfx_grpc_fail_err(call, rc, &err);
            goto out;
        }
        if (strcmp(sig->method_name, t->method_name) != 0) {
            rc = cfx_grpc_fail(call, 3,
                               "Signature %s has method_name %s, task asks "
                               "for %s",
                               sig->key, sig->method_name, t->method_name);
            goto out;
        }
        tensorflow__serving__inference_result__init(&res[i]);
        if (strcmp(t->method_name, CFX_METHOD_CLASSIFY) == 0) {
            res[i].result_case =
                TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_CLASSIFICATION_RESULT;
            rc = classify_result(call, s, sig, ex, n,
                                 &res[i].classification_result);
        } else {
            res[i].result_case =
                TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_REGRESSION_RESULT;
            rc = regress_result(call, s, sig, ex, n, &res[i].regression_result);
        }
        if (rc != 0)
            goto out;
        res[i].model_spec = cfx_grpc_spec(call, s, sig->key);
        if (!res[i].model_spec) {
            rc = cfx_grpc_fail(call, 8, "out of memory");
            goto out;
        }
        resp_p[i] = &res[i];
    }
    resp.n_results = r->n_tasks;
    resp.results = resp_p;
    rc = cfx_grpc_reply(call, &resp.base);
out:
    cfx_servable_release(s);
    return rc;
}

/* The entry points: each request charged to --max_inflight_bytes while it
 * is decoded and answered. */
#define ADMITTED(fn, entry)                                                    \
    int entry(cfx_grpc_call_t *call, const uint8_t *req, size_t len) {         \
        size_t charge = 0;                                                     \
        int rc = cfx_grpc_admit(call, len, &charge);                           \
        if (rc == 0)                                                           \
            rc = fn(call, req, len);                                           \
        cfx_service_release(charge);                                           \
        return rc;                                                             \
    }
ADMITTED(classify, cfx_grpc_classify)
ADMITTED(regress, cfx_grpc_regress)
ADMITTED(multi_inference, cfx_grpc_multi_inference)
