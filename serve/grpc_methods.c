/*
 * grpc_methods.c: the gRPC method table, helpers shared by the method
 * files (arena-backed protobuf-c decoding, ModelSpec resolution, example
 * pool, Input conversion) and grpc.health.v1.Health/Check.
 */
#include "serve/grpc_methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.pb-c.h"
#include "wrappers.pb-c.h"

/* --- decoding into the arena -------------------------------------------------
 */

static void *arena_alloc(void *data, size_t size) {
    return cfx_arena_alloc(data, size ? size : 1);
}

static void arena_free(void *data, void *p) {
    (void)data;
    (void)p; /* released with the arena after the answer */
}

void *cfx_grpc_unpack(cfx_grpc_call_t *call,
                      const ProtobufCMessageDescriptor *d, const uint8_t *req,
                      size_t len) {
    ProtobufCAllocator a = {arena_alloc, arena_free, call->arena};
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &a, len, req);
    if (!m)
        cfx_grpc_fail(call, 3, "could not parse the request as %s (%zu bytes)",
                      d->name, len);
    return m;
}

int cfx_grpc_fail_err(cfx_grpc_call_t *call, int cfx_rc,
                      const cfx_error_t *err) {
    int code = cfx_service_tf_code(cfx_rc);
    if (code == 0)
        code = 13;
    return cfx_grpc_fail(call, code, "%s",
                         err && err->msg[0] ? err->msg : cfx_err_str(cfx_rc));
}

int cfx_grpc_admit(cfx_grpc_call_t *call, size_t len, size_t *charge) {
    cfx_error_t err;
    cfx_error_init(&err);
    size_t limit = call->srv ? call->srv->opts.max_inflight_bytes : 0;
    if (cfx_service_admit(limit, len, charge, &err))
        return cfx_grpc_fail(call, 8, "%s", err.msg);
    return 0;
}

int cfx_grpc_acquire(cfx_grpc_call_t *call,
                     const Tensorflow__Serving__ModelSpec *spec,
                     cfx_servable_t **out) {
    *out = NULL;
    if (!spec)
        return cfx_grpc_fail(call, 3, "Missing ModelSpec");
    snprintf(call->model, sizeof(call->model), "%s", spec->name);
    if (!call->srv || !call->srv->manager)
        return cfx_grpc_fail(call, 14, "no model manager");
    int64_t version = -1;
    const char *label = NULL;
    if (spec->version_choice_case ==
            TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION &&
        spec->version)
        version = spec->version->value;
    else if (spec->version_choice_case ==
             TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL)
        label = spec->version_label;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_manager_acquire(call->srv->manager, spec->name, version, label,
                                 out, &err);
    if (rc != 0)
        return cfx_grpc_fail_err(call, rc, &err);
    return 0;
}

Tensorflow__Serving__ModelSpec *cfx_grpc_spec(cfx_grpc_call_t *call,
                                              const cfx_servable_t *s,
                                              const char *signature) {
    Tensorflow__Serving__ModelSpec *spec =
        cfx_arena_alloc(call->arena, sizeof(*spec));
    Google__Protobuf__Int64Value *v = cfx_arena_alloc(call->arena, sizeof(*v));
    if (!spec || !v)
        return NULL;
    tensorflow__serving__model_spec__init(spec);
    google__protobuf__int64_value__init(v);
    spec->name = (char *)(uintptr_t)cfx_servable_model_name(s);
    v->value = cfx_servable_version(s);
    spec->version_choice_case =
        TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
    spec->version = v;
    spec->signature_name = (char *)(uintptr_t)(signature ? signature : "");
    return spec;
}

/* --- example pool
 * ------------------------------------------------------------- */

/* Up to this many examples come from the worker's pool; a bigger batch
 * is allocated in the call's arena, every example sharing it, so that
 * many tiny examples cost no arena block each and all of it goes when the
 * call's arena is reset. */
#define POOL_KEEP 256

cfx_example_t *cfx_grpc_examples(cfx_grpc_call_t *call, size_t n) {
    if (n > POOL_KEEP) {
        cfx_example_t *ex = cfx_arena_alloc(call->arena, n * sizeof(*ex));
        if (ex)
            for (size_t i = 0; i < n; i++)
                cfx_example_init_in(&ex[i], call->arena);
        return ex;
    }
    cfx_grpc_pool_t *p = call->pool;
    if (n > p->cap) {
        cfx_example_t *ex = realloc(p->ex, n * sizeof(*ex));
        if (!ex)
            return NULL;
        for (size_t i = p->cap; i < n; i++)
            cfx_example_init(&ex[i]);
        p->ex = ex;
        p->cap = n;
    }
    for (size_t i = 0; i < n; i++)
        cfx_example_reset(&p->ex[i]);
    return p->ex;
}

void cfx_grpc_pool_free(cfx_grpc_pool_t *p) {
    for (size_t i = 0; i < p->cap; i++)
        cfx_example_free(&p->ex[i]);
    free(p->ex);
    p->ex = NULL;
    p->cap = 0;
}

/* --- Input -> raw examples ---------------------------------------------------
 */

#define MAX_FEATURES 4096 /* per tf.Example of an Input */

static int example_from_proto(cfx_grpc_call_t *call,
                              const Tensorflow__Example *in,
                              cfx_example_t *out) {
    cfx_example_reset(out);
    if (!in || !in->features)
        return 0;
    /* Merging a context looks names up feature by feature: keep it small. */
    if (in->features->n_feature > MAX_FEATURES)
        return CFX_ETOOBIG;
    for (size_t i = 0; i < in->features->n_feature; i++) {
        const Tensorflow__Features__FeatureEntry *e = in->features->feature[i];
        const Tensorflow__Feature *f = e->value;
        int rc = 0;
        if (!f || f->kind_case == TENSORFLOW__FEATURE__KIND__NOT_SET) {
            rc = cfx_example_add_none(out, e->key);
        } else if (f->kind_case == TENSORFLOW__FEATURE__KIND_BYTES_LIST) {
            size_t n = f->bytes_list->n_value;
            cfx_bytes_t *b =
                cfx_arena_alloc(call->arena, (n ? n : 1) * sizeof(*b));
            if (!b)
                return CFX_ENOMEM;
            for (size_t j = 0; j < n; j++) {
                b[j].data = f->bytes_list->value[j].data;
                b[j].len = f->bytes_list->value[j].len;
            }
            rc = cfx_example_add_bytes(out, e->key, b, n);
        } else if (f->kind_case == TENSORFLOW__FEATURE__KIND_FLOAT_LIST) {
            rc = cfx_example_add_float(out, e->key, f->float_list->value,
                                       f->float_list->n_value);
        } else if (f->kind_case == TENSORFLOW__FEATURE__KIND_INT64_LIST) {
            rc = cfx_example_add_int64(out, e->key, f->int64_list->value,
                                       f->int64_list->n_value);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int cfx_grpc_input_examples(cfx_grpc_call_t *call,
                            const Tensorflow__Serving__Input *in,
                            cfx_example_t **out, size_t *n) {
    int rc = 0;
    Tensorflow__Example **exs = NULL;
    const Tensorflow__Example *context = NULL;
    size_t count = 0;
    cfx_example_t ctx_ex, tmp;
    cfx_example_init(&ctx_ex);
    cfx_example_init(&tmp);
    *out = NULL;
    *n = 0;
    if (in && in->kind_case == TENSORFLOW__SERVING__INPUT__KIND_EXAMPLE_LIST &&
        in->example_list) {
        exs = in->example_list->examples;
        count = in->example_list->n_examples;
    } else if (in &&
               in->kind_case ==
                   TENSORFLOW__SERVING__INPUT__KIND_EXAMPLE_LIST_WITH_CONTEXT &&
               in->example_list_with_context) {
        exs = in->example_list_with_context->examples;
        count = in->example_list_with_context->n_examples;
        context = in->example_list_with_context->context;
    }
    if (count == 0) {
        rc = cfx_grpc_fail(call, 3, "Input is empty.");
        goto out;
    }
    if (count > CFX_SERVICE_MAX_BATCH) {
        rc = cfx_grpc_fail(call, 8, "Input has %zu examples, more than %d",
                           count, CFX_SERVICE_MAX_BATCH);
        goto out;
    }
    cfx_example_t *ex = cfx_grpc_examples(call, count);
    if (!ex) {
        rc = cfx_grpc_fail(call, 8, "out of memory for %zu examples", count);
        goto out;
    }
    if (context && (rc = example_from_proto(call, context, &ctx_ex)) != 0)
        goto fail;
    for (size_t i = 0; i < count; i++) {
        if (context) {
            if ((rc = example_from_proto(call, exs[i], &tmp)) == 0 &&
                cfx_service_merge_context(&ex[i], &tmp, &ctx_ex) != 0)
                rc = CFX_ENOMEM;
        } else {
            rc = example_from_proto(call, exs[i], &ex[i]);
        }
        if (rc != 0)
            goto fail;
    }
    *out = ex;
    *n = count;
    goto out;
fail:
    if (rc == CFX_ETOOBIG)
        rc = cfx_grpc_fail(call, 3,
                           "a tf.Example of the input has more than %d "
                           "features",
                           MAX_FEATURES);
    else if (rc == CFX_ENOMEM)
        rc = cfx_grpc_fail(call, 8, "out of memory");
    else
        rc = cfx_grpc_fail(call, 3, "invalid tf.Example in the input (%s)",
                           cfx_err_str(rc));
out:
    cfx_example_free(&tmp);
    cfx_example_free(&ctx_ex);
    return rc;
}

/* --- Health
 * ------------------------------------------------------------------- */

static int health_check(cfx_grpc_call_t *call, const uint8_t *req, size_t len) {
    Grpc__Health__V1__HealthCheckRequest *r = cfx_grpc_unpack(
        call, &grpc__health__v1__health_check_request__descriptor, req, len);
    if (!r)
        return call->tf_code;
    static const char *const known[] = {
        "",
        "tensorflow.serving.PredictionService",
        "tensorflow.serving.ModelService",
        "PredictionService",
        "ModelService",
    };
    int found = 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        found |= strcmp(r->service, known[i]) == 0;
    if (!found)
        return cfx_grpc_fail(call, 5, "unknown service \"%s\"", r->service);
    Grpc__Health__V1__HealthCheckResponse resp =
        GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    int ready = !call->srv || !call->srv->manager ||
                (!call->srv->draining && cfx_manager_ready(call->srv->manager));
    resp.status =
        ready
            ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
            : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    return cfx_grpc_reply(call, &resp.base);
}

/* --- table -------------------------------------------------------------------
 */

static const cfx_grpc_method_t methods[] = {
    {"/tensorflow.serving.PredictionService/Predict", "Predict",
     cfx_grpc_predict},
    {"/tensorflow.serving.PredictionService/Classify", "Classify",
     cfx_grpc_classify},
    {"/tensorflow.serving.PredictionService/Regress", "Regress",
     cfx_grpc_regress},
    {"/tensorflow.serving.PredictionService/MultiInference", NULL,
     cfx_grpc_multi_inference},
    {"/tensorflow.serving.PredictionService/GetModelMetadata", NULL,
     cfx_grpc_get_model_metadata},
    {"/tensorflow.serving.ModelService/GetModelStatus", NULL,
     cfx_grpc_get_model_status},
    {"/tensorflow.serving.ModelService/HandleReloadConfigRequest", NULL,
     cfx_grpc_reload_config},
    {"/grpc.health.v1.Health/Check", NULL, health_check},
};

const cfx_grpc_method_t *cfx_grpc_method_find(const char *path) {
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(path, methods[i].path) == 0)
            return &methods[i];
    return NULL;
}
