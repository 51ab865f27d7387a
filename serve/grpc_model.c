/*
 * grpc_model.c: PredictionService/GetModelMetadata and
 * ModelService/{GetModelStatus, HandleReloadConfigRequest}.
 *
 * Metadata answers {"signature_def": Any(SignatureDefMap)} built from the
 * servable's signature table. Status lists versions in descending order
 * with END entries kept (the manager's view). Reload replaces the model
 * list; the manager blocks until added models are AVAILABLE or failed, so
 * that wait runs on a thread of its own and the answer comes back to the
 * worker's event loop (cfx_grpc_defer), which keeps serving meanwhile.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "get_model_metadata.pb-c.h"
#include "get_model_status.pb-c.h"
#include "model_management.pb-c.h"
#include "serve/auth.h"
#include "serve/grpc_methods.h"

#define SIGNATURE_DEF_MAP_URL                                                  \
    "type.googleapis.com/tensorflow.serving.SignatureDefMap"

static Tensorflow__TensorInfo *tensor_info(cfx_arena_t *a,
                                           const cfx_tensor_spec_t *spec) {
    Tensorflow__TensorInfo *ti = cfx_arena_alloc(a, sizeof(*ti));
    Tensorflow__TensorShapeProto *sh = cfx_arena_alloc(a, sizeof(*sh));
    Tensorflow__TensorShapeProto__Dim *d = cfx_arena_alloc(a, 2 * sizeof(*d));
    Tensorflow__TensorShapeProto__Dim **dp =
        cfx_arena_alloc(a, 2 * sizeof(*dp));
    if (!ti || !sh || !d || !dp)
        return NULL;
    tensorflow__tensor_info__init(ti);
    tensorflow__tensor_shape_proto__init(sh);
    int rank = spec->rank < 0 ? 0 : spec->rank > 2 ? 2 : spec->rank;
    for (int i = 0; i < rank; i++) {
        tensorflow__tensor_shape_proto__dim__init(&d[i]);
        d[i].size = spec->dims[i];
        dp[i] = &d[i];
    }
    sh->n_dim = (size_t)rank;
    sh->dim = dp;
    ti->encoding_case = TENSORFLOW__TENSOR_INFO__ENCODING_NAME;
    ti->name = (char *)(uintptr_t)spec->tensor;
    ti->dtype = (Tensorflow__DataType)spec->dtype;
    ti->tensor_shape = sh;
    return ti;
}

/* SignatureDef.inputs / outputs entries share one layout. */
static int tensor_map(cfx_arena_t *a, const cfx_tensor_spec_t *specs, size_t n,
                      Tensorflow__SignatureDef__InputsEntry ***out) {
    Tensorflow__SignatureDef__InputsEntry **e =
        cfx_arena_alloc(a, (n + 1) * sizeof(*e));
    if (!e)
        return CFX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        e[i] = cfx_arena_alloc(a, sizeof(**e));
        if (!e[i])
            return CFX_ENOMEM;
        tensorflow__signature_def__inputs_entry__init(e[i]);
        e[i]->key = (char *)(uintptr_t)specs[i].name;
        e[i]->value = tensor_info(a, &specs[i]);
        if (!e[i]->value)
            return CFX_ENOMEM;
    }
    *out = e;
    return 0;
}

int cfx_grpc_get_model_metadata(cfx_grpc_call_t *call, const uint8_t *req,
                                size_t len) {
    cfx_servable_t *s = NULL;
    int rc;
    cfx_arena_t *a = call->arena;
    Tensorflow__Serving__GetModelMetadataRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__get_model_metadata_request__descriptor, req,
        len);
    if (!r)
        return call->tf_code;
    if (!r->model_spec)
        return cfx_grpc_fail(call, 3, "Missing ModelSpec");
    if (r->n_metadata_field == 0)
        return cfx_grpc_fail(call, 3,
                             "GetModelMetadataRequest must specify at least "
                             "one metadata_field");
    for (size_t i = 0; i < r->n_metadata_field; i++)
        if (strcmp(r->metadata_field[i], "signature_def") != 0)
            return cfx_grpc_fail(call, 3, "Metadata field %s is not supported",
                                 r->metadata_field[i]);
    if ((rc = cfx_grpc_acquire(call, r->model_spec, &s)) != 0)
        goto out;
    size_t ns = cfx_service_num_signatures(s);
    Tensorflow__Serving__SignatureDefMap map =
        TENSORFLOW__SERVING__SIGNATURE_DEF_MAP__INIT;
    Tensorflow__Serving__SignatureDefMap__SignatureDefEntry **entries =
        cfx_arena_alloc(a, (ns + 1) * sizeof(*entries));
    if (!entries)
        goto oom;
    for (size_t i = 0; i < ns; i++) {
        const cfx_signature_t *sig = cfx_service_signature_at(s, i);
        Tensorflow__Serving__SignatureDefMap__SignatureDefEntry *e =
            cfx_arena_alloc(a, sizeof(*e));
        Tensorflow__SignatureDef *sd = cfx_arena_alloc(a, sizeof(*sd));
        if (!e || !sd)
            goto oom;
        tensorflow__serving__signature_def_map__signature_def_entry__init(e);
        tensorflow__signature_def__init(sd);
        if (tensor_map(a, sig->inputs, sig->n_inputs, &sd->inputs) != 0 ||
            tensor_map(
                a, sig->outputs, sig->n_outputs,
                (Tensorflow__SignatureDef__InputsEntry ***)&sd->outputs) != 0)
            goto oom;
        sd->n_inputs = sig->n_inputs;
        sd->n_outputs = sig->n_outputs;
        sd->method_name = (char *)(uintptr_t)sig->method_name;
        e->key = (char *)(uintptr_t)sig->key;
        e->value = sd;
        entries[i] = e;
    }
    map.n_signature_def = ns;
    map.signature_def = entries;
    size_t packed = protobuf_c_message_get_packed_size(&map.base);
    uint8_t *bytes = cfx_arena_alloc(a, packed + 1);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Tensorflow__Serving__GetModelMetadataResponse__MetadataEntry me =
        TENSORFLOW__SERVING__GET_MODEL_METADATA_RESPONSE__METADATA_ENTRY__INIT;
    Tensorflow__Serving__GetModelMetadataResponse__MetadataEntry *mep = &me;
    Tensorflow__Serving__GetModelMetadataResponse resp =
        TENSORFLOW__SERVING__GET_MODEL_METADATA_RESPONSE__INIT;
    if (!bytes)
        goto oom;
    protobuf_c_message_pack(&map.base, bytes);
    any.type_url = SIGNATURE_DEF_MAP_URL;
    any.value.data = bytes;
    any.value.len = packed;
    me.key = "signature_def";
    me.value = &any;
    resp.n_metadata = 1;
    resp.metadata = &mep;
    resp.model_spec = cfx_grpc_spec(call, s, "");
    if (!resp.model_spec)
        goto oom;
    rc = cfx_grpc_reply(call, &resp.base);
    goto out;
oom:
    rc = cfx_grpc_fail(call, 8, "out of memory");
out:
    cfx_servable_release(s);
    return rc;
}

int cfx_grpc_get_model_status(cfx_grpc_call_t *call, const uint8_t *req,
                              size_t len) {
    cfx_version_status_t *st = NULL;
    size_t n = 0;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc;
    Tensorflow__Serving__GetModelStatusRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__get_model_status_request__descriptor, req,
        len);
    if (!r)
        return call->tf_code;
    const Tensorflow__Serving__ModelSpec *spec = r->model_spec;
    if (!spec)
        return cfx_grpc_fail(call, 3, "Missing ModelSpec");
    snprintf(call->model, sizeof(call->model), "%s", spec->name);
    if (!call->srv || !call->srv->manager)
        return cfx_grpc_fail(call, 14, "no model manager");
    int64_t version = -1;
    if (spec->version_choice_case ==
            TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION &&
        spec->version)
        version = spec->version->value;
    if ((rc = cfx_manager_status(call->srv->manager, spec->name, version, &st,
                                 &n, &err)) != 0)
        return cfx_grpc_fail_err(call, rc, &err);
    Tensorflow__Serving__GetModelStatusResponse resp =
        TENSORFLOW__SERVING__GET_MODEL_STATUS_RESPONSE__INIT;
    Tensorflow__Serving__ModelVersionStatus *vs =
        cfx_arena_alloc(call->arena, (n + 1) * sizeof(*vs));
    Tensorflow__Serving__ModelVersionStatus **vsp =
        cfx_arena_alloc(call->arena, (n + 1) * sizeof(*vsp));
    Tensorflow__Serving__StatusProto *sp =
        cfx_arena_alloc(call->arena, (n + 1) * sizeof(*sp));
    if (!vs || !vsp || !sp) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        tensorflow__serving__model_version_status__init(&vs[i]);
        tensorflow__serving__status_proto__init(&sp[i]);
        vs[i].version = st[i].version;
        vs[i].state =
            (Tensorflow__Serving__ModelVersionStatus__State)st[i].state;
        sp[i].error_code = (Tensorflow__Error__Code)st[i].error_code;
        sp[i].error_message = st[i].error_message;
        vs[i].status = &sp[i];
        vsp[i] = &vs[i];
    }
    resp.n_model_version_status = n;
    resp.model_version_status = vsp;
    rc = cfx_grpc_reply(call, &resp.base);
out:
    free(st);
    return rc;
}

/* A reload in progress: runs on its own thread (the manager blocks until
 * added models are AVAILABLE or failed), answers on the worker's thread. */
typedef struct reload_job {
    cfx_manager_t *manager;
    cfx_model_list_t list;
    cfx_grpc_deferred_t *answer;
    int tf_code;
    cfx_error_t err;
} reload_job_t;

static void reload_answer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    reload_job_t *job = arg;
    Tensorflow__Serving__StatusProto sp =
        TENSORFLOW__SERVING__STATUS_PROTO__INIT;
    Tensorflow__Serving__ReloadConfigResponse resp =
        TENSORFLOW__SERVING__RELOAD_CONFIG_RESPONSE__INIT;
    resp.status = &sp;
    cfx_grpc_deferred_finish(job->answer, job->tf_code, job->err.msg,
                             &resp.base);
    cfx_model_list_free(&job->list);
    free(job);
}

static void *reload_thread(void *arg) {
    reload_job_t *job = arg;
    int rc = cfx_manager_reload(job->manager, &job->list, &job->err);
    job->tf_code = rc ? cfx_service_tf_code(rc) : 0;
    if (rc && job->tf_code == 0)
        job->tf_code = 13;
    struct timeval now = {0, 0};
    if (event_base_once(cfx_grpc_deferred_base(job->answer), -1, EV_TIMEOUT,
                        reload_answer, job, &now) != 0)
        fprintf(stderr, "cfx-serve: grpc: reload answer lost\n");
    return NULL;
}

int cfx_grpc_reload_config(cfx_grpc_call_t *call, const uint8_t *req,
                           size_t len) {
    cfx_error_t err;
    cfx_error_init(&err);
    int rc;
    reload_job_t *job = NULL;
    /* The admin surface: refused unless enabled, then only for an
     * authenticated caller (serve/auth.h), before the request is even
     * decoded. */
    if (call->srv) {
        cfx_auth_peer_t who = {call->authorization, call->local,
                               call->peer_verified};
        char why[256];
        int code = cfx_auth_admin(&call->srv->opts, &who, why, sizeof(why));
        if (code)
            return cfx_grpc_fail(call, code, "%s", why);
    }
    Tensorflow__Serving__ReloadConfigRequest *r = cfx_grpc_unpack(
        call, &tensorflow__serving__reload_config_request__descriptor, req,
        len);
    if (!r)
        return call->tf_code;
    if (!call->srv || !call->srv->manager)
        return cfx_grpc_fail(call, 14, "no model manager");
    if (!r->config ||
        r->config->config_case !=
            TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__CONFIG_MODEL_CONFIG_LIST)
        return cfx_grpc_fail(call, 3,
                             "ServerCore::ReloadConfig: only model_config_list "
                             "configs are supported");
    job = calloc(1, sizeof(*job));
    if (!job)
        return cfx_grpc_fail(call, 8, "out of memory");
    cfx_model_list_init(&job->list);
    cfx_error_init(&job->err);
    job->manager = call->srv->manager;
    /* Validation errors answer at once; only the loading waits. */
    if ((rc = cfx_model_list_from_proto(&job->list, r->config, &err)) != 0) {
        rc = cfx_grpc_fail_err(call, rc, &err);
        goto fail;
    }
    if (!(job->answer = cfx_grpc_defer(call))) {
        rc = cfx_grpc_fail(call, 8, "out of memory");
        goto fail;
    }
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, reload_thread, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        /* Run it here after all: slower for this worker, still correct. */
        reload_thread(job);
    }
    return 0;
fail:
    cfx_model_list_free(&job->list);
    free(job);
    return rc;
}
