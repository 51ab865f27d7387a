/*
 * pipeline_config.c: loading the `cfx run` config file (see
 * pipeline_config.h). Paths are made absolute against the config file's
 * directory without touching the file system (the pipeline root and the
 * serving dir need not exist yet).
 */
#include "pipeline/pipeline_config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/suggest.h"
#include "mlmd/metadata.h"

/* Collapses "//", "/./" and "dir/.." in an absolute path, in place
 * (lexically: the path need not exist). */
static void normalize(char *p) {
    char *w = p; /* write position; p[0] == '/' */
    const char *r = p;
    while (*r) {
        while (*r == '/')
            r++;
        const char *seg = r;
        while (*r && *r != '/')
            r++;
        size_t n = (size_t)(r - seg);
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (w > p && *--w != '/') {
            }
            continue;
        }
        *w++ = '/';
        memmove(w, seg, n);
        w += n;
    }
    if (w == p)
        *w++ = '/';
    *w = 0;
}

int cfx_pipeline_config_resolve(const cfx_pipeline_config_t *cfg,
                                const char *rel, char *out, size_t cap,
                                cfx_error_t *err) {
    int n = rel[0] == '/' ? snprintf(out, cap, "%s", rel)
                          : snprintf(out, cap, "%s/%s", cfg->dir, rel);
    if (n < 0 || (size_t)n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: path '%.64s...' too long",
                             cfg->path, rel);
    normalize(out);
    return 0;
}

/* Optional string member; *out NULL when absent. */
static int get_string(const char *path, json_t *root, const char *key,
                      const char **out, cfx_error_t *err) {
    json_t *v = json_object_get(root, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || !json_string_length(v))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: member '%s': expected a non-empty string",
                             path, key);
    *out = json_string_value(v);
    return 0;
}

static int resolved(cfx_pipeline_config_t *cfg, const char *rel, char **out,
                    cfx_error_t *err) {
    char buf[PATH_MAX];
    int ret = cfx_pipeline_config_resolve(cfg, rel, buf, sizeof buf, err);
    if (ret)
        return ret;
    if (!(*out = strdup(buf)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

/* The settings each component reads from its section (docs/pipeline.md),
 * in the order of the pipeline; what a step adds itself (ExampleGen's
 * input fingerprint, the Pusher's push_destination, the "<key>_sha256"
 * digests) is not a setting. */
static const struct {
    const char *component;
    const char *settings[8];
} component_settings[] = {
    {"ExampleGen", {"splits", "num_shards", "skip_bad_rows", NULL}},
    {"StatisticsGen",
     {"threads", "quantiles_budget", "max_distinct_strings", NULL}},
    {"SchemaGen", {"schema", "infer_feature_shape", NULL}},
    {"ExampleValidator",
     {"validation_config", "stop_on_anomalies", "environment", NULL}},
    {"Transform", {"spec", "max_quantile_values", NULL}},
    {"Trainer", {"config", NULL}},
    {"Evaluator", {"config", NULL}},
    {"InfraValidator",
     {"num_requests", "load_timeout_s", "serve_binary", "load_check",
      "load_seconds", "load_concurrency", NULL}},
    {"Pusher", {NULL}},
};
#define NUM_COMPONENTS                                                         \
    (sizeof component_settings / sizeof component_settings[0])

const char *const *cfx_pipeline_config_settings(const char *component) {
    for (size_t i = 0; i < NUM_COMPONENTS; i++)
        if (!strcmp(component_settings[i].component, component))
            return component_settings[i].settings;
    return NULL;
}

/* components.<name>: a known component, an object of its settings or
 * false. */
static int check_component(const char *path, const char *name, json_t *val,
                           cfx_error_t *err) {
    const char *const *settings = cfx_pipeline_config_settings(name);
    if (!settings) {
        const char *names[NUM_COMPONENTS];
        char hint[160];
        for (size_t i = 0; i < NUM_COMPONENTS; i++)
            names[i] = component_settings[i].component;
        cfx_suggest_hint(hint, sizeof hint, name, names, NUM_COMPONENTS);
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: components: unknown component '%s'%s", path,
                             name, hint);
    }
    if (!json_is_object(val) && !json_is_false(val))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: components.%s: expected an object or false",
                             path, name);
    char where[96];
    snprintf(where, sizeof where, "components.%s", name);
    return cfx_suggest_check_keys(val, settings, CFX_EINVAL, "setting", path,
                                  where, err);
}

int cfx_pipeline_config_load(cfx_pipeline_config_t *cfg, const char *path,
                             cfx_error_t *err) {
    json_t *root = NULL;
    json_error_t jerr;
    char real[PATH_MAX];
    struct stat sb;
    int ret = 0;
    const char *s;
    memset(cfg, 0, sizeof *cfg);
    if (stat(path, &sb) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    if (sb.st_size > CFX_PIPELINE_CONFIG_MAX_BYTES)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: %lld bytes, at most %u",
                             path, (long long)sb.st_size,
                             CFX_PIPELINE_CONFIG_MAX_BYTES);
    if (!realpath(path, real))
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    root = json_load_file(real, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, jerr.line,
                             jerr.column, jerr.text);
    if (!json_is_object(root)) {
        ret =
            cfx_error_set(err, CFX_EPARSE, "%s: expected a JSON object", path);
        goto out;
    }
    if (!(cfg->path = strdup(real)) || !(cfg->dir = strdup(real))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    char *slash = strrchr(cfg->dir, '/');
    if (slash == cfg->dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;

    /* Unknown members are refused, at the top level and in every
     * component's section: a typo must not silently use a default (a
     * misspelt stop_on_anomalies would switch the anomaly gate off). */
    static const char *const known[] = {
        "pipeline_name", "pipeline_root", "data",
        "serving_dir",   "model_name",    "components",
        "description",   "metadata",      NULL};
    if ((ret = cfx_suggest_check_keys(root, known, CFX_EINVAL, "member", path,
                                      NULL, err)))
        goto out;
    if ((ret = get_string(path, root, "pipeline_name", &s, err)))
        goto out;
    cfg->pipeline_name = strdup(s ? s : "pipeline");
    if ((ret = get_string(path, root, "model_name", &s, err)))
        goto out;
    cfg->model_name = strdup(s                    ? s
                             : cfg->pipeline_name ? cfg->pipeline_name
                                                  : "model");
    if (!cfg->pipeline_name || !cfg->model_name) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (const char *p = cfg->model_name; *p; p++)
        if (*p == '/' || (*p == '.' && p == cfg->model_name)) {
            ret = cfx_error_set(
                err, CFX_EINVAL,
                "%s: member 'model_name': '%s' is not a plain name", path,
                cfg->model_name);
            goto out;
        }
    static const char *const required[] = {"pipeline_root", "data"};
    char **dest[] = {&cfg->pipeline_root, &cfg->data};
    for (int i = 0; i < 2; i++) {
        if ((ret = get_string(path, root, required[i], &s, err)))
            goto out;
        if (!s) {
            ret = cfx_error_set(err, CFX_EINVAL, "%s: member '%s' is required",
                                path, required[i]);
            goto out;
        }
        if ((ret = resolved(cfg, s, dest[i], err)))
            goto out;
    }
    if ((ret = get_string(path, root, "serving_dir", &s, err)))
        goto out;
    if (s && (ret = resolved(cfg, s, &cfg->serving_dir, err)))
        goto out;
    /* the metadata store: a postgresql:// URL as written, a file resolved
     * like the paths above */
    if ((ret = get_string(path, root, "metadata", &s, err)))
        goto out;
    if (s && !*s) {
        ret = cfx_error_set(err, CFX_EINVAL,
                            "%s: member 'metadata': empty (leave it out for "
                            "<pipeline_root>/metadata.sqlite)",
                            path);
        goto out;
    }
    if (s && cfx_md_is_postgres_url(s)) {
        if (!(cfg->metadata = strdup(s))) {
            ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    } else if (s && (ret = resolved(cfg, s, &cfg->metadata, err))) {
        goto out;
    }

    json_t *comps = json_object_get(root, "components");
    if (comps && !json_is_object(comps)) {
        ret =
            cfx_error_set(err, CFX_EINVAL,
                          "%s: member 'components': expected an object", path);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(comps, key, val) {
        if ((ret = check_component(path, key, val, err)))
            goto out;
    }
    cfg->components = comps ? json_incref(comps) : json_object();
    if (!cfg->components)
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
out:
    json_decref(root);
    if (ret)
        cfx_pipeline_config_free(cfg);
    return ret;
}

void cfx_pipeline_config_free(cfx_pipeline_config_t *cfg) {
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->dir);
    free(cfg->pipeline_name);
    free(cfg->pipeline_root);
    free(cfg->data);
    free(cfg->serving_dir);
    free(cfg->metadata);
    free(cfg->model_name);
    json_decref(cfg->components);
    memset(cfg, 0, sizeof *cfg);
}

int cfx_pipeline_root_resolve(cfx_pipeline_config_t *cfg, const char *root,
                              const char *config, const char **out,
                              cfx_error_t *err) {
    *out = NULL;
    if (!config) {
        *out = root;
        return 0;
    }
    int ret = cfx_pipeline_config_load(cfg, config, err);
    if (ret < 0)
        return ret;
    if (cfg->metadata &&
        (ret = cfx_metadata_set_default_location(cfg->metadata, err)))
        return ret;
    *out = cfg->pipeline_root;
    return 0;
}

void *cfx_pipeline_config_component(const cfx_pipeline_config_t *cfg,
                                    const char *component, int *disabled) {
    json_t *v = json_object_get(cfg->components, component);
    if (disabled)
        *disabled = json_is_false(v);
    return json_is_object(v) ? v : NULL;
}

const char *cfx_pipeline_config_string(const cfx_pipeline_config_t *cfg,
                                       const char *component, const char *key) {
    json_t *v = json_object_get(
        cfx_pipeline_config_component(cfg, component, NULL), key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long cfx_pipeline_config_int(const cfx_pipeline_config_t *cfg,
                                  const char *component, const char *key,
                                  long long def) {
    json_t *v = json_object_get(
        cfx_pipeline_config_component(cfg, component, NULL), key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int cfx_pipeline_config_path(const cfx_pipeline_config_t *cfg,
                             const char *component, const char *key, char *out,
                             size_t cap, cfx_error_t *err) {
    const char *s = cfx_pipeline_config_string(cfg, component, key);
    if (!s || !s[0])
        return 0;
    int ret = cfx_pipeline_config_resolve(cfg, s, out, cap, err);
    return ret ? ret : 1;
}
