/*
 * config.h: cfx-serve configuration: the tensorflow_model_server flags and
 * the ModelServerConfig text file (--model_config_file), reduced to plain C
 * structs the model manager reads.
 *
 * Flags accept both --flag=value and --flag value. The model list comes
 * either from --model_name/--model_base_path (one model, latest{1}) or from
 * the config file (which then wins, as in TF Serving). Validation follows TF
 * Serving (§3.2): duplicate names, relative base paths and a missing
 * model_platform are refused.
 *
 * Thread-safety: plain data; a cfx_model_list_t is built on one thread and
 * then only read (the manager copies what it keeps).
 */
#ifndef CFX_SERVE_CONFIG_H
#define CFX_SERVE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

typedef enum cfx_version_policy_kind {
    CFX_POLICY_LATEST = 0, /* the num_versions highest versions */
    CFX_POLICY_ALL = 1,
    CFX_POLICY_SPECIFIC = 2,
} cfx_version_policy_kind_t;

typedef struct cfx_version_label {
    char *label; /* owned */
    int64_t version;
} cfx_version_label_t;

typedef struct cfx_model_config {
    char *name;      /* owned */
    char *base_path; /* owned, absolute */
    cfx_version_policy_kind_t policy;
    uint32_t num_versions; /* LATEST: >= 1 */
    int64_t *versions;     /* SPECIFIC: owned array */
    size_t n_versions;
    cfx_version_label_t *labels; /* owned array */
    size_t n_labels;
} cfx_model_config_t;

typedef struct cfx_model_list {
    cfx_model_config_t *models; /* owned array */
    size_t n;
} cfx_model_list_t;

void cfx_model_list_init(cfx_model_list_t *l);
void cfx_model_list_free(cfx_model_list_t *l);
/* Deep copy of src into dst (dst is initialised by the call). */
int cfx_model_list_copy(cfx_model_list_t *dst, const cfx_model_list_t *src);
/* One model, latest{1}: what --model_name/--model_base_path give. */
int cfx_model_list_single(cfx_model_list_t *l, const char *name,
                          const char *base_path, cfx_error_t *err);

/* Parses a text-format ModelServerConfig (model_config_list only) from
 * text[len]; `where` names the source in errors. */
int cfx_model_list_parse_text(cfx_model_list_t *l, const char *text, size_t len,
                              const char *where, cfx_error_t *err);
/* Reads and parses the file at path (bounded to 16 MiB). */
int cfx_model_list_load_file(cfx_model_list_t *l, const char *path,
                             cfx_error_t *err);

/* From a decoded tensorflow.serving.ModelServerConfig (as carried by
 * ReloadConfigRequest.config); msg is a
 * const Tensorflow__Serving__ModelServerConfig *. Validates as above. */
int cfx_model_list_from_proto(cfx_model_list_t *l, const void *msg,
                              cfx_error_t *err);

/* tensorflow.serving.SSLConfig (--ssl_config_file). As in TF Serving the
 * fields carry the PEM text itself, not file names. Served by the TLS
 * layer; cfx-serve refuses to start with it when that layer is not
 * built. */
typedef struct cfx_ssl_config {
    char *server_key;  /* PEM private key, owned */
    char *server_cert; /* PEM certificate chain, owned */
    char *custom_ca;   /* PEM CA bundle for client certificates, or NULL */
    int client_verify; /* require and verify a client certificate */
} cfx_ssl_config_t;

typedef struct cfx_serve_flags {
    int port;          /* gRPC; 8500; 0 = any free port */
    int rest_api_port; /* 8501; 0 = any free port (flag "auto"); < 0 = off
                          (flag 0, as TF Serving) */
    char *model_name;
    char *model_base_path;
    char *model_config_file;
    char *model_cache_dir; /* s3:// versions are downloaded here (docs/s3.md);
                              NULL: the default */
    /* The most one s3:// version may download, 4 GiB; 0 = no limit. */
    uint64_t s3_max_version_bytes;
    int model_config_file_poll_wait_seconds; /* 0 = read once */
    int file_system_poll_wait_seconds;       /* 1; 0 = once; < 0 never */
    int rest_api_timeout_in_ms;              /* 30000 */
    int enable_model_warmup;                 /* 1 */
    char *monitoring_config_file;
    /* Request memory budget, 1 GiB; 0 = no limit (serve/service.h). */
    size_t max_inflight_bytes;
    int num_threads;          /* 0 = number of CPUs */
    size_t max_body_bytes;    /* 100 MiB, uncompressed too */
    size_t max_header_bytes;  /* 64 KiB */
    int max_connections;      /* 10000 */
    int idle_timeout_seconds; /* 60 */
    int allow_version_labels_for_unavailable_models; /* 0 */
    int request_read_timeout_seconds;                /* 10: a request's head and
                                                        body must arrive within */
    char *access_log;                 /* NULL = off, "-" = stderr */
    int rest_api_enable_cors_support; /* 0 */
    /* From the monitoring config: Prometheus path, NULL when disabled. */
    char *prometheus_path;
    /* Exposure and access (docs/serving.md, "Security"). */
    char *grpc_bind_address;     /* NULL: every interface, as TF Serving */
    char *rest_api_bind_address; /* NULL: every interface */
    char *grpc_socket_path;      /* gRPC on this unix socket too; NULL: none */
    int enable_admin_rpc;        /* 0: HandleReloadConfigRequest refused */
    char *admin_token_file;      /* bearer token for the admin surface */
    char *admin_token;           /* its content (read at parse), or NULL */
    char *inference_token_file;  /* bearer token for everything else */
    char *inference_token;       /* its content, or NULL: no inference auth */
    char *user;                  /* drop to this user after binding */
    int first_byte_timeout_seconds; /* 5: a connection silent this long
                                       after accept is closed */
    int max_connections_per_client; /* 0: no limit (REST, per address) */
    char *ssl_config_file;          /* TF Serving's SSLConfig text proto */
    cfx_ssl_config_t ssl;           /* parsed from it (have_ssl) */
    int have_ssl;
} cfx_serve_flags_t;

/* Sets the defaults above. */
void cfx_serve_flags_init(cfx_serve_flags_t *f);
void cfx_serve_flags_free(cfx_serve_flags_t *f);
/* Parses argv[1..argc-1]; unknown flags and bad values are errors naming
 * the flag; tensorflow_model_server flags without a meaning here are
 * accepted with a one-line warning on stderr. Reads
 * --monitoring_config_file, --ssl_config_file and the token files (before
 * any privilege drop). Does not read the model config file (see
 * cfx_serve_flags_models). */
int cfx_serve_flags_parse(cfx_serve_flags_t *f, int argc, char **argv,
                          cfx_error_t *err);
/* The model list the flags describe (config file or single model). */
int cfx_serve_flags_models(const cfx_serve_flags_t *f, cfx_model_list_t *l,
                           cfx_error_t *err);
/* Usage text. */
const char *cfx_serve_flags_usage(void);

#endif
