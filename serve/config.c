/*
 * config.c: tensorflow_model_server flags and the ModelServerConfig text
 * file, turned into the plain structs of config.h.
 *
 * The text file goes through the generic protobuf text codec
 * (formats/pbcodec.h) into the generated tensorflow.serving messages, then
 * through cfx_model_list_from_proto, which is also what a gRPC
 * HandleReloadConfigRequest uses, so both paths validate alike.
 */
#include "serve/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "formats/pbcodec.h"
#include "model_server_config.pb-c.h"
#include "serve/auth.h"
#include "ssl_config.pb-c.h"
#include "store/s3.h"

#define CONFIG_FILE_MAX (16u << 20)

void cfx_model_list_init(cfx_model_list_t *l) {
    memset(l, 0, sizeof(*l));
}

static void model_config_free(cfx_model_config_t *c) {
    free(c->name);
    free(c->base_path);
    free(c->versions);
    for (size_t i = 0; i < c->n_labels; i++)
        free(c->labels[i].label);
    free(c->labels);
    memset(c, 0, sizeof(*c));
}

void cfx_model_list_free(cfx_model_list_t *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        model_config_free(&l->models[i]);
    free(l->models);
    memset(l, 0, sizeof(*l));
}

static int model_config_copy(cfx_model_config_t *d,
                             const cfx_model_config_t *s) {
    memset(d, 0, sizeof(*d));
    d->name = strdup(s->name);
    d->base_path = strdup(s->base_path);
    d->policy = s->policy;
    d->num_versions = s->num_versions;
    if (!d->name || !d->base_path)
        goto oom;
    if (s->n_versions) {
        d->versions = malloc(s->n_versions * sizeof(*d->versions));
        if (!d->versions)
            goto oom;
        memcpy(d->versions, s->versions, s->n_versions * sizeof(*d->versions));
        d->n_versions = s->n_versions;
    }
    if (s->n_labels) {
        d->labels = calloc(s->n_labels, sizeof(*d->labels));
        if (!d->labels)
            goto oom;
        d->n_labels = s->n_labels;
        for (size_t i = 0; i < s->n_labels; i++) {
            d->labels[i].version = s->labels[i].version;
            d->labels[i].label = strdup(s->labels[i].label);
            if (!d->labels[i].label)
                goto oom;
        }
    }
    return 0;
oom:
    model_config_free(d);
    return CFX_ENOMEM;
}

int cfx_model_list_copy(cfx_model_list_t *dst, const cfx_model_list_t *src) {
    cfx_model_list_init(dst);
    if (!src->n)
        return 0;
    dst->models = calloc(src->n, sizeof(*dst->models));
    if (!dst->models)
        return CFX_ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        int rc = model_config_copy(&dst->models[i], &src->models[i]);
        if (rc) {
            cfx_model_list_free(dst);
            return rc;
        }
        dst->n = i + 1;
    }
    return 0;
}

static int base_path_ok(const char *p) {
    return p[0] == '/' || strstr(p, "://") != NULL;
}

/* An s3:// base path must parse (docs/s3.md); err names the model. */
static int s3_path_ok(const char *name, const char *p, cfx_error_t *err) {
    cfx_s3_url_t u;
    if (!cfx_s3_is_url(p))
        return 0;
    int rc = cfx_s3_url_parse(p, &u, err);
    return rc ? cfx_error_prefix(err, "model %s", name) : 0;
}

int cfx_model_list_single(cfx_model_list_t *l, const char *name,
                          const char *base_path, cfx_error_t *err) {
    cfx_model_list_init(l);
    if (!name || !*name)
        return cfx_error_set(err, CFX_EINVAL, "--model_name must be set");
    if (!base_path || !*base_path)
        return cfx_error_set(err, CFX_EINVAL,
                             "Both server_options.model_base_path and "
                             "server_options.model_config_file are empty!");
    if (!base_path_ok(base_path))
        return cfx_error_set(err, CFX_EINVAL,
                             "Expected model %s to have an absolute path or "
                             "URI; got base_path()=%s",
                             name, base_path);
    int rc = s3_path_ok(name, base_path, err);
    if (rc)
        return rc;
    l->models = calloc(1, sizeof(*l->models));
    if (!l->models)
        return CFX_ENOMEM;
    l->n = 1;
    cfx_model_config_t *c = &l->models[0];
    c->name = strdup(name);
    c->base_path = strdup(base_path);
    c->policy = CFX_POLICY_LATEST;
    c->num_versions = 1;
    if (!c->name || !c->base_path) {
        cfx_model_list_free(l);
        return CFX_ENOMEM;
    }
    return 0;
}

int cfx_model_list_from_proto(cfx_model_list_t *l, const void *msg,
                              cfx_error_t *err) {
    const Tensorflow__Serving__ModelServerConfig *cfg = msg;
    int rc = 0;
    cfx_model_list_init(l);
    if (cfg->config_case !=
        TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__CONFIG_MODEL_CONFIG_LIST)
        return cfx_error_set(err, CFX_ESTATE,
                             "ModelServerConfig: only model_config_list is "
                             "supported");
    const Tensorflow__Serving__ModelConfigList *list = cfg->model_config_list;
    if (list->n_config == 0)
        return 0;
    l->models = calloc(list->n_config, sizeof(*l->models));
    if (!l->models)
        return CFX_ENOMEM;
    for (size_t i = 0; i < list->n_config; i++) {
        const Tensorflow__Serving__ModelConfig *mc = list->config[i];
        cfx_model_config_t *c = &l->models[i];
        l->n = i + 1;
        if (!mc->name[0]) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "model_config_list.config[%zu]: empty name", i);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->models[j].name, mc->name) == 0) {
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "Illegal to list model %s multiple times "
                                   "in config list",
                                   mc->name);
                goto out;
            }
        if (!base_path_ok(mc->base_path)) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "Expected model %s to have an absolute path or "
                               "URI; got base_path()=%s",
                               mc->name, mc->base_path);
            goto out;
        }
        if ((rc = s3_path_ok(mc->name, mc->base_path, err)))
            goto out;
        if (!mc->model_platform[0]) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "Illegal setting neither ModelServerConfig::"
                               "model_type (deprecated) nor ModelServerConfig"
                               "::model_platform. (model %s)",
                               mc->name);
            goto out;
        }
        if (strcmp(mc->model_platform, "tensorflow") != 0) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "model %s: unsupported model_platform \"%s\" "
                               "(expected \"tensorflow\")",
                               mc->name, mc->model_platform);
            goto out;
        }
        c->name = strdup(mc->name);
        c->base_path = strdup(mc->base_path);
        if (!c->name || !c->base_path) {
            rc = CFX_ENOMEM;
            goto out;
        }
        c->policy = CFX_POLICY_LATEST;
        c->num_versions = 1;
        const Tensorflow__Serving__FileSystemStoragePathSourceConfig__ServableVersionPolicy
            *p = mc->model_version_policy;
        if (p) {
            switch (p->policy_choice_case) {
            case TENSORFLOW__SERVING__FILE_SYSTEM_STORAGE_PATH_SOURCE_CONFIG__SERVABLE_VERSION_POLICY__POLICY_CHOICE_LATEST:
                c->num_versions = p->latest->num_versions;
                if (c->num_versions == 0) {
                    rc = cfx_error_set(err, CFX_EINVAL,
                                       "model %s: latest.num_versions must be "
                                       "at least 1",
                                       mc->name);
                    goto out;
                }
                break;
            case TENSORFLOW__SERVING__FILE_SYSTEM_STORAGE_PATH_SOURCE_CONFIG__SERVABLE_VERSION_POLICY__POLICY_CHOICE_ALL:
                c->policy = CFX_POLICY_ALL;
                break;
            case TENSORFLOW__SERVING__FILE_SYSTEM_STORAGE_PATH_SOURCE_CONFIG__SERVABLE_VERSION_POLICY__POLICY_CHOICE_SPECIFIC:
                c->policy = CFX_POLICY_SPECIFIC;
                if (p->specific->n_versions == 0) {
                    rc = cfx_error_set(err, CFX_EINVAL,
                                       "model %s: specific policy lists no "
                                       "versions",
                                       mc->name);
                    goto out;
                }
                c->versions = malloc(p->specific->n_versions * sizeof(int64_t));
                if (!c->versions) {
                    rc = CFX_ENOMEM;
                    goto out;
                }
                memcpy(c->versions, p->specific->versions,
                       p->specific->n_versions * sizeof(int64_t));
                c->n_versions = p->specific->n_versions;
                break;
            default:
                break;
            }
        }
        if (mc->n_version_labels) {
            c->labels = calloc(mc->n_version_labels, sizeof(*c->labels));
            if (!c->labels) {
                rc = CFX_ENOMEM;
                goto out;
            }
            for (size_t k = 0; k < mc->n_version_labels; k++) {
                c->labels[k].label = strdup(mc->version_labels[k]->key);
                c->labels[k].version = mc->version_labels[k]->value;
                c->n_labels = k + 1;
                if (!c->labels[k].label) {
                    rc = CFX_ENOMEM;
                    goto out;
                }
            }
        }
    }
out:
    if (rc)
        cfx_model_list_free(l);
    return rc;
}

int cfx_model_list_parse_text(cfx_model_list_t *l, const char *text, size_t len,
                              const char *where, cfx_error_t *err) {
    cfx_model_list_init(l);
    ProtobufCMessage *msg = NULL;
    int rc =
        cfx_pb_text_parse(&tensorflow__serving__model_server_config__descriptor,
                          text, len, &msg, err);
    if (rc)
        return cfx_error_prefix(err, "%s", where);
    rc = cfx_model_list_from_proto(l, msg, err);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc)
        return cfx_error_prefix(err, "%s", where);
    return 0;
}

int cfx_model_list_load_file(cfx_model_list_t *l, const char *path,
                             cfx_error_t *err) {
    cfx_model_list_init(l);
    cfx_buf_t text;
    cfx_buf_init(&text);
    int rc = cfx_file_read(path, CONFIG_FILE_MAX, &text, err);
    if (rc == 0)
        rc = cfx_model_list_parse_text(l, (const char *)text.data, text.len,
                                       path, err);
    cfx_buf_free(&text);
    return rc;
}

/* ---- flags ----------------------------------------------------------------
 */

void cfx_serve_flags_init(cfx_serve_flags_t *f) {
    memset(f, 0, sizeof(*f));
    f->port = 8500;
    f->rest_api_port = 8501;
    f->file_system_poll_wait_seconds = 1;
    f->rest_api_timeout_in_ms = 30000;
    f->enable_model_warmup = 1;
    f->max_body_bytes = 100u << 20;
    f->max_header_bytes = 64u << 10;
    f->max_inflight_bytes = (size_t)1 << 30;
    f->s3_max_version_bytes = (uint64_t)4 << 30;
    f->max_connections = 10000;
    f->idle_timeout_seconds = 60;
    f->request_read_timeout_seconds = 10;
    f->first_byte_timeout_seconds = 5;
}

static void ssl_config_free(cfx_ssl_config_t *s) {
    free(s->server_key);
    free(s->server_cert);
    free(s->custom_ca);
    memset(s, 0, sizeof(*s));
}

void cfx_serve_flags_free(cfx_serve_flags_t *f) {
    if (!f)
        return;
    free(f->model_name);
    free(f->model_base_path);
    free(f->model_cache_dir);
    free(f->model_config_file);
    free(f->monitoring_config_file);
    free(f->access_log);
    free(f->prometheus_path);
    free(f->grpc_bind_address);
    free(f->rest_api_bind_address);
    free(f->grpc_socket_path);
    free(f->admin_token_file);
    free(f->admin_token);
    free(f->inference_token_file);
    free(f->inference_token);
    free(f->user);
    free(f->ssl_config_file);
    ssl_config_free(&f->ssl);
    memset(f, 0, sizeof(*f));
}

const char *cfx_serve_flags_usage(void) {
    return "usage: cfx-serve [flags]\n"
           "  --port=8500                    gRPC port (0: any free port)\n"
           "  --rest_api_port=8501           REST port (0: off, as TF "
           "Serving; auto: any free port)\n"
           "  --model_name=NAME --model_base_path=/abs/path\n"
           "  --model_name=NAME --model_base_path=s3://bucket/prefix  "
           "(docs/s3.md)\n"
           "  --model_config_file=FILE       text ModelServerConfig (wins)\n"
           "  --model_cache_dir=DIR          where s3:// versions are "
           "downloaded\n"
           "  --s3_max_version_bytes=4294967296  most one s3:// version may "
           "download\n"
           "                                 (0: no limit)\n"
           "  --model_config_file_poll_wait_seconds=0\n"
           "  --file_system_poll_wait_seconds=1\n"
           "  --rest_api_timeout_in_ms=30000\n"
           "  --enable_model_warmup=true\n"
           "  --monitoring_config_file=FILE  text MonitoringConfig\n"
           "  --num_threads=0                worker threads (0: CPUs)\n"
           "  --max_body_bytes=104857600     request body limit "
           "(uncompressed)\n"
           "  --max_header_bytes=65536\n"
           "  --max_inflight_bytes=1073741824  request memory budget; "
           "429 / RESOURCE_EXHAUSTED\n"
           "                                 beyond it (0: no limit)\n"
           "  --max_connections=10000\n"
           "  --idle_timeout_seconds=60\n"
           "  --request_read_timeout_seconds=10  whole request (head and "
           "body);\n"
           "                                 408 and close beyond it\n"
           "  --access_log=FILE              one line per request ('-': "
           "stderr)\n"
           "  --rest_api_enable_cors_support=false\n"
           "  --allow_version_labels_for_unavailable_models=false\n"
           "Exposure and access (docs/serving.md, Security):\n"
           "  --grpc_bind_address=ADDR       gRPC listen address (default: "
           "all)\n"
           "  --rest_api_bind_address=ADDR   REST listen address (default: "
           "all)\n"
           "  --grpc_socket_path=PATH        gRPC on a unix socket too (mode "
           "0600)\n"
           "  --enable_admin_rpc=false       allow HandleReloadConfigRequest "
           "(authenticated)\n"
           "  --admin_token_file=FILE        bearer token for the admin RPC\n"
           "  --inference_token_file=FILE    bearer token for every other "
           "request\n"
           "  --ssl_config_file=FILE         TF Serving SSLConfig text "
           "proto\n"
           "  --user=NAME                    drop root to NAME after "
           "binding\n"
           "  --first_byte_timeout_seconds=5 close connections silent this "
           "long\n"
           "  --max_connections_per_client=0 REST connections per address "
           "(0: any)\n"
           "Other tensorflow_model_server flags (batching, thread pools, "
           "retries, GPU)\nare accepted and ignored with a warning.\n";
}

static int parse_long(const char *flag, const char *v, long lo, long hi,
                      long *out, cfx_error_t *err) {
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return cfx_error_set(err, CFX_EINVAL,
                             "--%s: expected an integer in [%ld, %ld], got "
                             "\"%s\"",
                             flag, lo, hi, v);
    *out = x;
    return 0;
}

static int parse_bool(const char *flag, const char *v, int *out,
                      cfx_error_t *err) {
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = 0;
        return 0;
    }
    return cfx_error_set(err, CFX_EINVAL,
                         "--%s: expected true or false, got \"%s\"", flag, v);
}

/* tensorflow_model_server flags accepted so that existing command lines
 * keep working, without effect here (TF's thread pools, batching, GPU and
 * retry knobs; docs/serving.md). */
static int ignored_flag(const char *name) {
    static const char *const names[] = {
        "enable_batching",
        "batching_parameters_file",
        "enable_per_model_batching_parameters",
        "grpc_channel_arguments",
        "grpc_max_threads",
        "enable_grpc_healthcheck_service",
        "num_load_threads",
        "num_unload_threads",
        "max_num_load_retries",
        "load_retry_interval_micros",
        "num_request_iterations_for_warmup",
        "tensorflow_session_parallelism",
        "tensorflow_session_config_file",
        "tensorflow_intra_op_parallelism",
        "tensorflow_inter_op_parallelism",
        "per_process_gpu_memory_fraction",
        "saved_model_tags",
        "platform_config_file",
        "xla_cpu_compilation_enabled",
        "xla_gpu_compilation_enabled",
        "enable_profiler",
        "flush_filesystem_caches",
        "remove_unused_fields_from_bundle_metagraph",
        "prefer_tflite_model",
        "use_tflite_model",
        "num_tflite_pools",
        "num_tflite_interpreters_per_pool",
        "enable_signature_method_name_check",
        "enable_serialization_as_tensor_content",
        "thread_pool_factory_config_file",
        "mixed_precision",
        "skip_initialize_tpu",
        "use_alts_credentials"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

static int is_bool_flag(const char *name) {
    static const char *const names[] = {
        "enable_model_warmup",
        "rest_api_enable_cors_support",
        "enable_batching",
        "enable_per_model_batching_parameters",
        "enable_grpc_healthcheck_service",
        "allow_version_labels_for_unavailable_models",
        "enable_admin_rpc",
        "flush_filesystem_caches",
        "use_alts_credentials",
        "prefer_tflite_model",
        "use_tflite_model",
        "enable_profiler",
        "skip_initialize_tpu",
        "remove_unused_fields_from_bundle_metagraph",
        "enable_signature_method_name_check",
        "xla_cpu_compilation_enabled",
        "xla_gpu_compilation_enabled",
        "enable_serialization_as_tensor_content"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(name, names[i]))
            return 1;
    return 0;
}

static int set_str(char **dst, const char *v) {
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : CFX_ENOMEM;
}

static int read_monitoring(cfx_serve_flags_t *f, cfx_error_t *err) {
    ProtobufCMessage *msg = NULL;
    cfx_buf_t text;
    cfx_buf_init(&text);
    int rc =
        cfx_file_read(f->monitoring_config_file, CONFIG_FILE_MAX, &text, err);
    if (rc)
        goto out;
    rc = cfx_pb_text_parse(&tensorflow__serving__monitoring_config__descriptor,
                           (const char *)text.data, text.len, &msg, err);
    if (rc) {
        cfx_error_prefix(err, "%s", f->monitoring_config_file);
        goto out;
    }
    const Tensorflow__Serving__MonitoringConfig *mc =
        (const Tensorflow__Serving__MonitoringConfig *)msg;
    free(f->prometheus_path);
    f->prometheus_path = NULL;
    if (mc->prometheus_config && mc->prometheus_config->enable) {
        const char *p = mc->prometheus_config->path;
        rc = set_str(&f->prometheus_path,
                     p && *p ? p : "/monitoring/prometheus/metrics");
    }
out:
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    cfx_buf_free(&text);
    return rc;
}

/* --ssl_config_file: TF Serving's SSLConfig, kept for the TLS layer. */
static int read_ssl_config(cfx_serve_flags_t *f, cfx_error_t *err) {
    ProtobufCMessage *msg = NULL;
    cfx_buf_t text;
    cfx_buf_init(&text);
    int rc = cfx_file_read(f->ssl_config_file, CONFIG_FILE_MAX, &text, err);
    if (rc)
        goto out;
    rc = cfx_pb_text_parse(&tensorflow__serving__sslconfig__descriptor,
                           (const char *)text.data, text.len, &msg, err);
    if (rc) {
        cfx_error_prefix(err, "%s", f->ssl_config_file);
        goto out;
    }
    const Tensorflow__Serving__SSLConfig *sc =
        (const Tensorflow__Serving__SSLConfig *)msg;
    ssl_config_free(&f->ssl);
    if (!sc->server_key[0] || !sc->server_cert[0]) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "%s: server_key and server_cert (PEM text) are "
                           "both required",
                           f->ssl_config_file);
        goto out;
    }
    if (sc->client_verify && !sc->custom_ca[0]) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "%s: client_verify needs custom_ca (the PEM of the "
                           "CA that signs client certificates)",
                           f->ssl_config_file);
        goto out;
    }
    f->ssl.server_key = strdup(sc->server_key);
    f->ssl.server_cert = strdup(sc->server_cert);
    f->ssl.custom_ca = sc->custom_ca[0] ? strdup(sc->custom_ca) : NULL;
    f->ssl.client_verify = sc->client_verify;
    if (!f->ssl.server_key || !f->ssl.server_cert ||
        (sc->custom_ca[0] && !f->ssl.custom_ca)) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    f->have_ssl = 1;
out:
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    cfx_buf_free(&text);
    return rc;
}

/* Checks that flags which only make sense together are given together, and
 * reads the files they name (tokens, SSL config). */
static int finish_security_flags(cfx_serve_flags_t *f, cfx_error_t *err) {
    int rc;
    if (f->ssl_config_file && (rc = read_ssl_config(f, err)))
        return rc;
    if (f->admin_token_file &&
        (rc = cfx_auth_read_token(f->admin_token_file, &f->admin_token, err)))
        return rc;
    if (f->inference_token_file &&
        (rc = cfx_auth_read_token(f->inference_token_file, &f->inference_token,
                                  err)))
        return rc;
    if (f->admin_token_file && !f->enable_admin_rpc)
        return cfx_error_set(err, CFX_EINVAL,
                             "--admin_token_file is set but the admin API is "
                             "off (add --enable_admin_rpc)");
    if (f->enable_admin_rpc && !f->admin_token && !f->grpc_socket_path &&
        !(f->have_ssl && f->ssl.client_verify))
        return cfx_error_set(err, CFX_EINVAL,
                             "--enable_admin_rpc needs a way to authenticate "
                             "the caller: --admin_token_file, "
                             "--grpc_socket_path, or an --ssl_config_file "
                             "with client_verify");
    if (f->grpc_socket_path && !*f->grpc_socket_path) {
        free(f->grpc_socket_path);
        f->grpc_socket_path = NULL;
    }
    return 0;
}

int cfx_serve_flags_parse(cfx_serve_flags_t *f, int argc, char **argv,
                          cfx_error_t *err) {
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return cfx_error_set(err, CFX_EINVAL, "unexpected argument \"%s\"",
                                 a);
        a += 2;
        char name[64];
        const char *eq = strchr(a, '=');
        const char *val = NULL;
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof(name))
            return cfx_error_set(err, CFX_EINVAL, "unknown flag --%.40s...", a);
        memcpy(name, a, nlen);
        name[nlen] = 0;
        if (eq) {
            val = eq + 1;
        } else if (!strcmp(name, "help")) {
            return cfx_error_set(err, CFX_EINVAL, "%s",
                                 cfx_serve_flags_usage());
        } else if (is_bool_flag(name) &&
                   (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2) ||
                    (strcmp(argv[i + 1], "true") &&
                     strcmp(argv[i + 1], "false")))) {
            val = "true"; /* a bare boolean flag */
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return cfx_error_set(err, CFX_EINVAL, "--%s: missing value", name);
        }
        long x = 0;
        if (!strcmp(name, "port")) {
            if (!(rc = parse_long(name, val, 0, 65535, &x, err)))
                f->port = (int)x;
        } else if (!strcmp(name, "rest_api_port")) {
            /* TF Serving: 0 turns REST off; "auto" (ours) picks a free port */
            if (!strcmp(val, "auto"))
                f->rest_api_port = 0;
            else if (!(rc = parse_long(name, val, -1, 65535, &x, err)))
                f->rest_api_port = x <= 0 ? -1 : (int)x;
        } else if (!strcmp(name, "model_name")) {
            rc = set_str(&f->model_name, val);
        } else if (!strcmp(name, "model_base_path")) {
            rc = set_str(&f->model_base_path, val);
        } else if (!strcmp(name, "model_config_file")) {
            rc = set_str(&f->model_config_file, val);
        } else if (!strcmp(name, "model_cache_dir")) {
            if (val[0] != '/')
                return cfx_error_set(err, CFX_EINVAL,
                                     "--model_cache_dir: expected an absolute "
                                     "path, got \"%s\"",
                                     val);
            rc = set_str(&f->model_cache_dir, val);
        } else if (!strcmp(name, "s3_max_version_bytes")) {
            if (!(rc = parse_long(name, val, 0, 1L << 50, &x, err)))
                f->s3_max_version_bytes = (uint64_t)x;
        } else if (!strcmp(name, "model_config_file_poll_wait_seconds")) {
            if (!(rc = parse_long(name, val, 0, 86400, &x, err)))
                f->model_config_file_poll_wait_seconds = (int)x;
        } else if (!strcmp(name, "file_system_poll_wait_seconds")) {
            if (!(rc = parse_long(name, val, -1, 86400, &x, err)))
                f->file_system_poll_wait_seconds = (int)x;
        } else if (!strcmp(name, "rest_api_timeout_in_ms")) {
            if (!(rc = parse_long(name, val, 1, 86400000, &x, err)))
                f->rest_api_timeout_in_ms = (int)x;
        } else if (!strcmp(name, "enable_model_warmup")) {
            rc = parse_bool(name, val, &f->enable_model_warmup, err);
        } else if (!strcmp(name, "monitoring_config_file")) {
            rc = set_str(&f->monitoring_config_file, val);
        } else if (!strcmp(name, "num_threads") ||
                   !strcmp(name, "rest_api_num_threads")) {
            if (!(rc = parse_long(name, val, 0, 1024, &x, err)))
                f->num_threads = (int)x;
        } else if (!strcmp(name, "max_body_bytes")) {
            if (!(rc = parse_long(name, val, 1, 1L << 40, &x, err)))
                f->max_body_bytes = (size_t)x;
        } else if (!strcmp(name, "max_inflight_bytes")) {
            if (!(rc = parse_long(name, val, 0, 1L << 50, &x, err)))
                f->max_inflight_bytes = (size_t)x;
        } else if (!strcmp(name, "max_header_bytes")) {
            if (!(rc = parse_long(name, val, 256, 1L << 24, &x, err)))
                f->max_header_bytes = (size_t)x;
        } else if (!strcmp(name, "max_connections")) {
            if (!(rc = parse_long(name, val, 1, 1000000, &x, err)))
                f->max_connections = (int)x;
        } else if (!strcmp(name, "idle_timeout_seconds")) {
            if (!(rc = parse_long(name, val, 1, 86400, &x, err)))
                f->idle_timeout_seconds = (int)x;
        } else if (!strcmp(name,
                           "allow_version_labels_for_unavailable_models")) {
            rc = parse_bool(name, val,
                            &f->allow_version_labels_for_unavailable_models,
                            err);
        } else if (!strcmp(name, "request_read_timeout_seconds")) {
            if (!(rc = parse_long(name, val, 1, 86400, &x, err)))
                f->request_read_timeout_seconds = (int)x;
        } else if (!strcmp(name, "access_log")) {
            rc = set_str(&f->access_log, val);
        } else if (!strcmp(name, "rest_api_enable_cors_support")) {
            rc = parse_bool(name, val, &f->rest_api_enable_cors_support, err);
        } else if (!strcmp(name, "grpc_bind_address")) {
            rc = set_str(&f->grpc_bind_address, val);
        } else if (!strcmp(name, "rest_api_bind_address")) {
            rc = set_str(&f->rest_api_bind_address, val);
        } else if (!strcmp(name, "grpc_socket_path")) {
            rc = set_str(&f->grpc_socket_path, val);
        } else if (!strcmp(name, "enable_admin_rpc")) {
            rc = parse_bool(name, val, &f->enable_admin_rpc, err);
        } else if (!strcmp(name, "admin_token_file")) {
            rc = set_str(&f->admin_token_file, val);
        } else if (!strcmp(name, "inference_token_file")) {
            rc = set_str(&f->inference_token_file, val);
        } else if (!strcmp(name, "ssl_config_file")) {
            rc = set_str(&f->ssl_config_file, val);
        } else if (!strcmp(name, "user")) {
            rc = set_str(&f->user, val);
        } else if (!strcmp(name, "first_byte_timeout_seconds")) {
            if (!(rc = parse_long(name, val, 1, 3600, &x, err)))
                f->first_byte_timeout_seconds = (int)x;
        } else if (!strcmp(name, "max_connections_per_client")) {
            if (!(rc = parse_long(name, val, 0, 1000000, &x, err)))
                f->max_connections_per_client = (int)x;
        } else if (!strcmp(name, "version")) {
            /* Handled by the main before parsing; harmless here. */
        } else if (ignored_flag(name)) {
            fprintf(stderr,
                    "cfx-serve: --%s=%s is a tensorflow_model_server "
                    "flag cfx-serve does not use; ignored\n",
                    name, val);
        } else {
            return cfx_error_set(err, CFX_EINVAL, "unknown flag --%s", name);
        }
        if (rc)
            return rc == CFX_ENOMEM ? cfx_error_set(err, rc, "out of memory")
                                    : rc;
    }
    if (f->rest_api_port > 0 && f->rest_api_port == f->port)
        return cfx_error_set(err, CFX_EINVAL,
                             "--rest_api_port=%d must differ from --port",
                             f->rest_api_port);
    if (!f->model_config_file && !f->model_base_path)
        return cfx_error_set(err, CFX_EINVAL,
                             "Both server_options.model_base_path and "
                             "server_options.model_config_file are empty!");
    if (f->monitoring_config_file && *f->monitoring_config_file &&
        (rc = read_monitoring(f, err)))
        return rc;
    return finish_security_flags(f, err);
}

int cfx_serve_flags_models(const cfx_serve_flags_t *f, cfx_model_list_t *l,
                           cfx_error_t *err) {
    if (f->model_config_file && *f->model_config_file)
        return cfx_model_list_load_file(l, f->model_config_file, err);
    return cfx_model_list_single(l, f->model_name ? f->model_name : "default",
                                 f->model_base_path, err);
}
