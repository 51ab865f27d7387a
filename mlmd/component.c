/*
 * component.c: one component run recorded in the metadata store
 * (see component.h for the sequence of calls and the cache key).
 *
 * Everything a run writes to the store at one step (begin, a cache hit,
 * finish) is one transaction, so a reader never sees an execution without
 * its contexts and INPUT events, or a COMPLETE execution without its OUTPUT
 * events.
 */
#define _XOPEN_SOURCE 700
#include "mlmd/component.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/file.h"
#include "formats/sha256.h"
#include "mlmd/recovery.h"

/* The TFX artifact type of each output key (component "" = any). */
static const struct {
    const char *component, *key, *type;
} output_types[] = {
    {"InfraValidator", "blessing", "InfraBlessing"},
    {"", "examples", "Examples"},
    {"", "transformed_examples", "Examples"},
    {"", "statistics", "ExampleStatistics"},
    {"", "schema", "Schema"},
    {"", "anomalies", "ExampleAnomalies"},
    {"", "transform_graph", "TransformGraph"},
    {"", "model", "Model"},
    {"", "model_run", "ModelRun"},
    {"", "evaluation", "ModelEvaluation"},
    {"", "blessing", "ModelBlessing"},
    {"", "infra_blessing", "InfraBlessing"},
    {"", "pushed_model", "PushedModel"},
};

static const char *type_of(const char *component, const char *key) {
    for (size_t i = 0; i < sizeof output_types / sizeof output_types[0]; i++)
        if ((!output_types[i].component[0] ||
             !strcmp(output_types[i].component, component)) &&
            !strcmp(output_types[i].key, key))
            return output_types[i].type;
    return key;
}

static int copy_bounded(char *dst, size_t cap, const char *src,
                        const char *what, cfx_error_t *err) {
    size_t n = strlen(src);
    if (n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "component: %s '%.40s...' longer than %zu bytes",
                             what, src, cap - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

void cfx_component_new_run_id(char *out, size_t cap) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%06ldZ-%ld", t, ts.tv_nsec / 1000, (long)getpid());
}

/* A uri as stored: relative paths made absolute (symlinks resolved when
 * the path exists), so every process finds the same artifact. */
static int absolute_uri(const char *uri, char *out, size_t cap,
                        cfx_error_t *err) {
    char real[PATH_MAX];
    int n;
    if (uri[0] != '/' && realpath(uri, real)) {
        n = snprintf(out, cap, "%s", real);
    } else if (uri[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return cfx_error_set(err, CFX_EIO, "getcwd: %s", strerror(errno));
        n = snprintf(out, cap, "%s/%s", cwd, uri);
    } else {
        n = snprintf(out, cap, "%s", uri);
    }
    if (n < 0 || (size_t)n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG, "%.64s...: path too long", uri);
    return 0;
}

/* --- cache key ------------------------------------------------------------ */

static int cmp_input(const void *a, const void *b) {
    const cfx_component_input_rec_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->artifact.uri, y->artifact.uri);
}

static int digest_add(cfx_sha256_t *h, const char *s) {
    /* Each string with its NUL, so ("ab","c") != ("a","bc"). */
    return cfx_sha256_update(h, s, strlen(s) + 1);
}

static int compute_cache_key(cfx_component_run_t *run, const char *props_canon,
                             cfx_error_t *err) {
    cfx_sha256_t h;
    uint8_t md[CFX_SHA256_LEN];
    char num[32], fp[1024];
    cfx_component_input_rec_t sorted[CFX_COMPONENT_MAX_INPUTS];
    if (cfx_sha256_init(&h))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (digest_add(&h, "cfx-component-cache-v1") ||
        digest_add(&h, run->component))
        goto crypto;
    memcpy(sorted, run->inputs, run->n_inputs * sizeof sorted[0]);
    qsort(sorted, run->n_inputs, sizeof sorted[0], cmp_input);
    for (size_t i = 0; i < run->n_inputs; i++) {
        const cfx_md_artifact_t *a = &sorted[i].artifact;
        cfx_md_value_t v;
        cfx_error_t ignore;
        snprintf(num, sizeof num, "%lld", (long long)a->id);
        fp[0] = 0;
        if (cfx_metadata_get_artifact_property(run->store, a->id,
                                               "input_fingerprint", &v, fp,
                                               sizeof fp, &ignore) == 0 &&
            v.kind != CFX_MD_STRING)
            fp[0] = 0;
        if (digest_add(&h, sorted[i].key) || digest_add(&h, num) ||
            digest_add(&h, a->uri) || digest_add(&h, fp))
            goto crypto;
    }
    if (digest_add(&h, "exec_properties") || digest_add(&h, props_canon))
        goto crypto;
    if (cfx_sha256_final(&h, md))
        goto failed;
    cfx_sha256_hex(md, run->cache_key);
    return 0;
crypto:
    cfx_sha256_abort(&h);
failed:
    return cfx_error_set(err, CFX_EINTERNAL, "%s: SHA-256 failed",
                         run->component);
}

/* --- begin ---------------------------------------------------------------- */

static int store_exec_properties(cfx_component_run_t *run, json_t *obj,
                                 cfx_error_t *err) {
    const char *name;
    json_t *val;
    int ret = 0;
    json_object_foreach(obj, name, val) {
        cfx_md_value_t v = {0};
        char *text = NULL;
        if (json_is_integer(val)) {
            v.kind = CFX_MD_INT;
            v.i = json_integer_value(val);
        } else if (json_is_real(val)) {
            v.kind = CFX_MD_DOUBLE;
            v.d = json_real_value(val);
        } else if (json_is_boolean(val)) {
            v.kind = CFX_MD_INT;
            v.i = json_is_true(val);
        } else if (json_is_string(val)) {
            v.kind = CFX_MD_STRING;
            v.s = json_string_value(val);
        } else {
            text = json_dumps(val,
                              JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
            if (!text)
                return cfx_error_set(err, CFX_ENOMEM, "out of memory");
            v.kind = CFX_MD_STRING;
            v.s = text;
        }
        ret = cfx_metadata_set_execution_property(run->store, run->execution_id,
                                                  name, 0, &v, err);
        free(text);
        if (ret)
            return ret;
    }
    return 0;
}

static int resolve_input(cfx_component_run_t *run,
                         const cfx_component_input_t *in,
                         cfx_component_input_rec_t *rec, cfx_error_t *err) {
    int ret;
    if (!in->key || !in->key[0])
        return cfx_error_set(err, CFX_EINVAL, "%s: input without a key",
                             run->component);
    if ((ret = copy_bounded(rec->key, sizeof rec->key, in->key, "input key",
                            err)))
        return ret;
    if (in->path && !(rec->path = strdup(in->path)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (in->artifact_id > 0) {
        if ((ret = cfx_metadata_get_artifact(run->store, in->artifact_id,
                                             &rec->artifact, err)))
            return cfx_error_prefix(err, "%s: input '%s'", run->component,
                                    in->key);
        return 0;
    }
    if (!in->uri)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: input '%s' has neither id nor uri",
                             run->component, in->key);
    char abs[CFX_MD_URI_MAX];
    if ((ret = absolute_uri(in->uri, abs, sizeof abs, err)))
        return ret;
    /* A file from outside the pipeline (the CSV, a config) is registered
     * once so lineage can name it; processes starting together share it. */
    ret = cfx_metadata_find_or_put_artifact(run->store, "ExternalArtifact", abs,
                                            CFX_MD_ARTIFACT_LIVE,
                                            &rec->artifact, NULL, err);
    if (ret)
        return cfx_error_prefix(err, "%s: input '%s'", run->component, in->key);
    return 0;
}

/* Standalone: the inputs as given, so cfx_component_input_uri finds them. */
static int keep_inputs(cfx_component_run_t *run,
                       const cfx_component_input_t *inputs, size_t n_inputs,
                       cfx_error_t *err) {
    int ret;
    for (size_t i = 0; i < n_inputs; i++) {
        cfx_component_input_rec_t *rec = &run->inputs[i];
        const char *where = inputs[i].path ? inputs[i].path : inputs[i].uri;
        if (!inputs[i].key || !where)
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: input %zu without a key or uri",
                                 run->component, i);
        run->n_inputs++;
        if ((ret = copy_bounded(rec->key, sizeof rec->key, inputs[i].key,
                                "input key", err)) ||
            (ret = copy_bounded(rec->artifact.uri, sizeof rec->artifact.uri,
                                where, "input uri", err)))
            return ret;
    }
    return 0;
}

int cfx_component_begin(cfx_component_run_t *run, const char *root,
                        const char *component, const char *exec_properties_json,
                        const cfx_component_input_t *inputs, size_t n_inputs,
                        cfx_error_t *err) {
    return cfx_component_begin_ex(run, root, NULL, component,
                                  exec_properties_json, inputs, n_inputs, err);
}

int cfx_component_begin_ex(cfx_component_run_t *run, const char *root,
                           const cfx_component_opts_t *opts,
                           const char *component,
                           const char *exec_properties_json,
                           const cfx_component_input_t *inputs, size_t n_inputs,
                           cfx_error_t *err) {
    static const cfx_component_opts_t no_opts = {0};
    json_t *props = NULL;
    char *canon = NULL;
    int ret = 0, in_tx = 0;
    char node[CFX_MD_NAME_MAX + 80];

    memset(run, 0, sizeof *run);
    if (!opts)
        opts = &no_opts;
    run->start_ms = cfx_metadata_now_ms();
    if ((ret = copy_bounded(run->component, sizeof run->component, component,
                            "component name", err)))
        return ret;
    if (n_inputs > CFX_COMPONENT_MAX_INPUTS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: %zu inputs, at most %d",
                             component, n_inputs, CFX_COMPONENT_MAX_INPUTS);
    if (!root)
        return keep_inputs(run, inputs, n_inputs, err); /* nothing recorded */

    json_error_t jerr;
    props = json_loads(exec_properties_json ? exec_properties_json : "{}", 0,
                       &jerr);
    if (!props || !json_is_object(props)) {
        ret = cfx_error_set(err, CFX_EPARSE, "%s: exec properties: %s",
                            component, props ? "not a JSON object" : jerr.text);
        goto out;
    }
    canon = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
    /* An absolute root, so artifact uris recorded by one command are found
     * by the next whatever directory it runs from. */
    char abs_root[PATH_MAX];
    if (root[0] != '/') {
        if ((ret = cfx_file_mkdirs(root, err)))
            goto out;
        if (!realpath(root, abs_root)) {
            ret = cfx_error_set(err, CFX_EIO, "%s: %s", root, strerror(errno));
            goto out;
        }
        root = abs_root;
    }
    if (!canon || !(run->root = strdup(root))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    size_t rl = strlen(run->root);
    while (rl > 1 && run->root[rl - 1] == '/')
        run->root[--rl] = 0;

    if (opts->store) {
        run->store = opts->store; /* its lender recovers (runner.c) */
    } else {
        if ((ret = cfx_metadata_open_root(&run->store, run->root, err)))
            goto out;
        run->owns_store = 1;
        /* what killed runs left behind goes before this run adds to it */
        if ((ret =
                 cfx_recovery_run(run->store, run->root, opts->log, NULL, err)))
            goto out;
    }
    if (opts->pipeline_name) {
        if ((ret = copy_bounded(run->pipeline_name, sizeof run->pipeline_name,
                                opts->pipeline_name, "pipeline name", err)))
            goto out;
    } else {
        const char *b = strrchr(run->root, '/');
        b = b && b[1] ? b + 1 : run->root;
        snprintf(run->pipeline_name, sizeof run->pipeline_name, "%s", b);
    }
    if (opts->run_id) {
        if ((ret = copy_bounded(run->run_id, sizeof run->run_id, opts->run_id,
                                "run id", err)))
            goto out;
    } else {
        cfx_component_new_run_id(run->run_id, sizeof run->run_id);
    }

    if ((ret = cfx_metadata_begin(run->store, err)))
        goto out;
    in_tx = 1;
    for (size_t i = 0; i < n_inputs; i++) {
        run->n_inputs++; /* counted first: run_free releases its path */
        if ((ret = resolve_input(run, &inputs[i], &run->inputs[i], err)))
            goto out;
    }
    if ((ret = compute_cache_key(run, canon, err)))
        goto out;
    if ((ret = cfx_metadata_put_execution(run->store, component,
                                          CFX_MD_EXECUTION_RUNNING,
                                          &run->execution_id, err)))
        goto out;
    if ((ret = cfx_recovery_record_owner(run->store, run->execution_id, err)) ||
        (ret = store_exec_properties(run, props, err)))
        goto out;
    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = run->cache_key};
    if ((ret = cfx_metadata_set_execution_property(
             run->store, run->execution_id, "cache_key", 1, &v, err)))
        goto out;
    /* where its outputs live, for recovery in a shared store */
    v.s = run->root;
    if ((ret = cfx_metadata_set_execution_property(
             run->store, run->execution_id, CFX_RECOVERY_ROOT, 1, &v, err)))
        goto out;
    snprintf(node, sizeof node, "%s.%s", run->pipeline_name, component);
    if ((ret = cfx_metadata_put_context(run->store, "pipeline",
                                        run->pipeline_name,
                                        &run->context_ids[0], err)) ||
        (ret = cfx_metadata_put_context(run->store, "pipeline_run", run->run_id,
                                        &run->context_ids[1], err)) ||
        (ret = cfx_metadata_put_context(run->store, "node", node,
                                        &run->context_ids[2], err)) ||
        (ret = cfx_metadata_put_parent_context(run->store, run->context_ids[1],
                                               run->context_ids[0], err)) ||
        (ret = cfx_metadata_put_parent_context(run->store, run->context_ids[2],
                                               run->context_ids[0], err)))
        goto out;
    for (int c = 0; c < 3; c++)
        if ((ret = cfx_metadata_associate(run->store, run->context_ids[c],
                                          run->execution_id, err)))
            goto out;
    for (size_t i = 0; i < run->n_inputs; i++) {
        /* index: position among the inputs sharing this key */
        int64_t index = 0;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(run->inputs[j].key, run->inputs[i].key))
                index++;
        if ((ret = cfx_metadata_put_event(
                 run->store, run->inputs[i].artifact.id, run->execution_id,
                 CFX_MD_EVENT_INPUT, run->inputs[i].key, index, err)))
            goto out;
    }
    in_tx = 0;
    ret = cfx_metadata_commit(run->store, err);
out:
    if (in_tx)
        cfx_metadata_rollback(run->store);
    if (ret) {
        run->execution_id = 0;
        run->finished = 1; /* nothing left RUNNING: the transaction is gone */
    }
    json_decref(props);
    free(canon);
    return ret;
}

/* --- outputs -------------------------------------------------------------- */

static cfx_component_output_t *find_output(cfx_component_run_t *run,
                                           const char *key) {
    for (size_t i = 0; i < run->n_outputs; i++)
        if (!strcmp(run->outputs[i].key, key))
            return &run->outputs[i];
    return NULL;
}

static int check_active(cfx_component_run_t *run, cfx_error_t *err) {
    if (!run->execution_id || run->finished)
        return cfx_error_set(err, CFX_ESTATE,
                             "%s: run not started or already finished",
                             run->component);
    return 0;
}

static int add_output(cfx_component_run_t *run, const char *key,
                      const char *type, const char *uri, int created_dir,
                      cfx_error_t *err) {
    int ret;
    if (run->n_outputs >= CFX_COMPONENT_MAX_OUTPUTS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d outputs",
                             run->component, CFX_COMPONENT_MAX_OUTPUTS);
    cfx_component_output_t *o = &run->outputs[run->n_outputs];
    memset(o, 0, sizeof *o);
    if ((ret = copy_bounded(o->key, sizeof o->key, key, "output key", err)) ||
        (ret =
             copy_bounded(o->type, sizeof o->type, type, "artifact type", err)))
        return ret;
    if (!(o->uri = strdup(uri)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    size_t n = strlen(o->uri);
    while (n > 1 && o->uri[n - 1] == '/')
        o->uri[--n] = 0;
    if ((ret = cfx_metadata_begin(run->store, err)))
        goto fail;
    if ((ret = cfx_metadata_put_artifact(run->store, type, o->uri,
                                         CFX_MD_ARTIFACT_PENDING,
                                         &o->artifact_id, err))) {
        cfx_metadata_rollback(run->store);
        goto fail;
    }
    for (int c = 0; c < 3; c++)
        if ((ret = cfx_metadata_attribute(run->store, run->context_ids[c],
                                          o->artifact_id, err))) {
            cfx_metadata_rollback(run->store);
            goto fail;
        }
    /* so that recovery finds what a run killed now was writing */
    if ((ret = cfx_metadata_put_event(
             run->store, o->artifact_id, run->execution_id,
             CFX_MD_EVENT_PENDING_OUTPUT, o->key, 0, err))) {
        cfx_metadata_rollback(run->store);
        goto fail;
    }
    if ((ret = cfx_metadata_commit(run->store, err)))
        goto fail;
    o->created_dir = created_dir;
    run->n_outputs++;
    return 0;
fail:
    free(o->uri);
    o->uri = NULL;
    return ret;
}

const char *cfx_component_output_dir_typed(cfx_component_run_t *run,
                                           const char *key, const char *type,
                                           cfx_error_t *err) {
    if (err)
        cfx_error_init(err);
    cfx_component_output_t *o = find_output(run, key);
    if (o)
        return o->uri;
    if (!run->root)
        return NULL;
    if (check_active(run, err))
        return NULL;
    char path[CFX_MD_URI_MAX];
    int n = snprintf(path, sizeof path, "%s/%s/%s/%lld", run->root,
                     run->component, key, (long long)run->execution_id);
    if (n < 0 || (size_t)n >= sizeof path) {
        cfx_error_set(err, CFX_ETOOBIG, "%s: output path too long",
                      run->component);
        return NULL;
    }
    struct stat sb;
    int existed = stat(path, &sb) == 0;
    if (cfx_file_mkdirs(path, err))
        return NULL;
    if (add_output(run, key, type ? type : type_of(run->component, key), path,
                   !existed, err)) {
        if (!existed)
            cfx_file_remove_tree(path, NULL);
        return NULL;
    }
    return run->outputs[run->n_outputs - 1].uri;
}

const char *cfx_component_output_dir(cfx_component_run_t *run, const char *key,
                                     cfx_error_t *err) {
    return cfx_component_output_dir_typed(run, key, NULL, err);
}

int cfx_component_output_at(cfx_component_run_t *run, const char *key,
                            const char *type, const char *uri,
                            cfx_error_t *err) {
    int ret;
    if (!run->root)
        return 0;
    if ((ret = check_active(run, err)))
        return ret;
    if (find_output(run, key))
        return cfx_error_set(err, CFX_EEXIST,
                             "%s: output '%s' registered twice", run->component,
                             key);
    char abs[CFX_MD_URI_MAX];
    if ((ret = absolute_uri(uri, abs, sizeof abs, err)))
        return ret;
    return add_output(run, key, type ? type : type_of(run->component, key), abs,
                      0, err);
}

int cfx_component_set_output(cfx_component_run_t *run, const char *key,
                             const char *path, cfx_error_t *err) {
    int ret;
    if (run->root)
        return cfx_component_output_at(run, key, NULL, path, err);
    if (find_output(run, key))
        return cfx_error_set(err, CFX_EEXIST, "%s: output '%s' placed twice",
                             run->component, key);
    if (run->n_outputs >= CFX_COMPONENT_MAX_OUTPUTS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d outputs",
                             run->component, CFX_COMPONENT_MAX_OUTPUTS);
    cfx_component_output_t *o = &run->outputs[run->n_outputs];
    memset(o, 0, sizeof *o);
    if ((ret = copy_bounded(o->key, sizeof o->key, key, "output key", err)))
        return ret;
    if (!(o->uri = strdup(path)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    run->n_outputs++;
    return 0;
}

static const cfx_component_input_rec_t *
find_input(const cfx_component_run_t *run, const char *key) {
    for (size_t i = 0; i < run->n_inputs; i++)
        if (!strcmp(run->inputs[i].key, key))
            return &run->inputs[i];
    return NULL;
}

const char *cfx_component_input_uri(const cfx_component_run_t *run,
                                    const char *key) {
    const cfx_component_input_rec_t *in = find_input(run, key);
    if (!in)
        return NULL;
    return in->path ? in->path : in->artifact.uri;
}

int64_t cfx_component_input_id(const cfx_component_run_t *run,
                               const char *key) {
    const cfx_component_input_rec_t *in = find_input(run, key);
    return in ? in->artifact.id : 0;
}

const char *cfx_component_output_uri(const cfx_component_run_t *run,
                                     const char *key) {
    cfx_component_output_t *o = find_output((cfx_component_run_t *)run, key);
    return o ? o->uri : NULL;
}

int64_t cfx_component_output_id(const cfx_component_run_t *run,
                                const char *key) {
    cfx_component_output_t *o = find_output((cfx_component_run_t *)run, key);
    return o ? o->artifact_id : 0;
}

long long cfx_component_output_int(cfx_component_run_t *run, const char *key,
                                   const char *name, long long def) {
    int64_t id = cfx_component_output_id(run, key);
    cfx_md_value_t v;
    cfx_error_t ignore;
    if (!id || !run->store ||
        cfx_metadata_get_artifact_property(run->store, id, name, &v, NULL, 0,
                                           &ignore) ||
        v.kind != CFX_MD_INT)
        return def;
    return v.i;
}

/* --- properties ----------------------------------------------------------- */

static int set_value(cfx_component_run_t *run, const char *key,
                     const char *name, int is_custom, const cfx_md_value_t *v,
                     cfx_error_t *err) {
    if (!run->root)
        return 0;
    cfx_component_output_t *o = find_output(run, key);
    if (!o)
        return cfx_error_set(err, CFX_ENOTFOUND,
                             "%s: property '%s' for unknown output '%s'",
                             run->component, name, key);
    return cfx_metadata_set_artifact_property(run->store, o->artifact_id, name,
                                              is_custom, v, err);
}

int cfx_component_set_property(cfx_component_run_t *run, const char *key,
                               const char *name, const char *value,
                               cfx_error_t *err) {
    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = value};
    char *end;
    if (value[0] && value[0] != ' ') {
        errno = 0;
        long long i = strtoll(value, &end, 10);
        if (!*end && !errno) {
            v.kind = CFX_MD_INT;
            v.i = i;
        } else {
            errno = 0;
            double d = strtod(value, &end);
            if (!*end && !errno) {
                v.kind = CFX_MD_DOUBLE;
                v.d = d;
            }
        }
    }
    return set_value(run, key, name, 1, &v, err);
}

int cfx_component_set_int(cfx_component_run_t *run, const char *key,
                          const char *name, int is_custom, int64_t val,
                          cfx_error_t *err) {
    cfx_md_value_t v = {.kind = CFX_MD_INT, .i = val};
    return set_value(run, key, name, is_custom, &v, err);
}

int cfx_component_set_string(cfx_component_run_t *run, const char *key,
                             const char *name, int is_custom, const char *val,
                             cfx_error_t *err) {
    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = val};
    return set_value(run, key, name, is_custom, &v, err);
}

/* split_names of a folder: its Split-<name> subfolders, sorted, as a JSON
 * list string. */
static int split_names_of_dir(const char *dir, char *out, size_t cap,
                              cfx_error_t *err) {
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", dir, strerror(errno));
    json_t *names = json_array();
    int ret = names ? 0 : cfx_error_set(err, CFX_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        if (!ret && !strncmp(ents[i]->d_name, "Split-", 6) &&
            ents[i]->d_name[6] &&
            json_array_append_new(names, json_string(ents[i]->d_name + 6)))
            ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        free(ents[i]);
    }
    free(ents);
    char *text = ret ? NULL : json_dumps(names, JSON_COMPACT);
    if (!ret && !text)
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (!ret && (size_t)snprintf(out, cap, "%s", text) >= cap)
        ret = cfx_error_set(err, CFX_ETOOBIG, "%s: too many splits", dir);
    free(text);
    json_decref(names);
    return ret;
}

int cfx_component_set_split_properties(cfx_component_run_t *run,
                                       const char *out_key, const char *in_key,
                                       cfx_error_t *err) {
    char names[CFX_MD_URI_MAX] = "";
    int64_t span = 0;
    int ret;
    if (!run->root)
        return 0;
    cfx_component_output_t *o = find_output(run, out_key);
    if (!o)
        return cfx_error_set(err, CFX_ENOTFOUND, "%s: no output '%s'",
                             run->component, out_key);
    for (size_t i = 0; i < run->n_inputs; i++) {
        if (strcmp(run->inputs[i].key, in_key))
            continue;
        int64_t id = run->inputs[i].artifact.id;
        cfx_md_value_t v;
        char buf[CFX_MD_URI_MAX];
        cfx_error_t ignore;
        cfx_error_init(&ignore);
        if (cfx_metadata_get_artifact_property(run->store, id, "split_names",
                                               &v, buf, sizeof buf,
                                               &ignore) == 0 &&
            v.kind == CFX_MD_STRING)
            snprintf(names, sizeof names, "%s", v.s);
        if (cfx_metadata_get_artifact_property(run->store, id, "span", &v, buf,
                                               sizeof buf, &ignore) == 0 &&
            v.kind == CFX_MD_INT)
            span = v.i;
        break;
    }
    if (!names[0] &&
        (ret = split_names_of_dir(o->uri, names, sizeof names, err)))
        return ret;
    if ((ret = cfx_component_set_string(run, out_key, "split_names", 0, names,
                                        err)))
        return ret;
    return cfx_component_set_int(run, out_key, "span", 0, span, err);
}

/* --- cache ---------------------------------------------------------------- */

#define CACHE_CANDIDATES 32

typedef struct {
    int64_t ids[CACHE_CANDIDATES];
    size_t n;
    int64_t self;
} candidates_t;

static int collect_candidate(void *ud, const cfx_md_execution_t *e) {
    candidates_t *c = ud;
    if (e->id == c->self)
        return 0;
    if (e->state != CFX_MD_EXECUTION_COMPLETE &&
        e->state != CFX_MD_EXECUTION_CACHED)
        return 0;
    c->ids[c->n++] = e->id;
    return c->n == CACHE_CANDIDATES;
}

typedef struct {
    cfx_md_event_t ev[CFX_COMPONENT_MAX_OUTPUTS];
    size_t n;
    int too_many;
} out_events_t;

static int collect_output(void *ud, const cfx_md_event_t *ev) {
    out_events_t *o = ud;
    if (ev->type != CFX_MD_EVENT_OUTPUT)
        return 0;
    if (o->n == CFX_COMPONENT_MAX_OUTPUTS) {
        o->too_many = 1;
        return 1;
    }
    o->ev[o->n++] = *ev;
    return 0;
}

/* Loads the outputs of execution id into a if all are LIVE and on disk. */
static int usable_outputs(cfx_component_run_t *run, int64_t id, out_events_t *o,
                          cfx_md_artifact_t *arts, int *ok, cfx_error_t *err) {
    int ret;
    memset(o, 0, sizeof *o);
    *ok = 0;
    ret = cfx_metadata_list_events(run->store, id, -1, collect_output, o, err);
    if (ret < 0)
        return ret;
    if (o->too_many || o->n == 0)
        return 0;
    for (size_t i = 0; i < o->n; i++) {
        struct stat sb;
        if ((ret = cfx_metadata_get_artifact(run->store, o->ev[i].artifact_id,
                                             &arts[i], err)))
            return ret;
        if (arts[i].state != CFX_MD_ARTIFACT_LIVE ||
            stat(arts[i].uri, &sb) != 0)
            return 0;
    }
    *ok = 1;
    return 0;
}

int cfx_component_cached(cfx_component_run_t *run, int *hit, cfx_error_t *err) {
    int ret;
    int64_t cache_ctx;
    candidates_t cand = {.self = run->execution_id};
    out_events_t outs;
    cfx_md_artifact_t *arts = NULL;
    *hit = 0;
    if (!run->root)
        return 0;
    if ((ret = check_active(run, err)))
        return ret;
    if (run->n_outputs)
        return cfx_error_set(err, CFX_ESTATE,
                             "%s: cache lookup after outputs were registered",
                             run->component);
    ret = cfx_metadata_find_context(run->store, "execution_cache",
                                    run->cache_key, &cache_ctx, err);
    if (ret == CFX_ENOTFOUND) {
        cfx_error_init(err);
        return 0;
    }
    if (ret)
        return ret;
    ret = cfx_metadata_list_context_executions(run->store, cache_ctx,
                                               collect_candidate, &cand, err);
    if (ret < 0)
        return ret;
    ret = 0;
    arts = calloc(CFX_COMPONENT_MAX_OUTPUTS, sizeof *arts);
    if (!arts)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    size_t k;
    int ok = 0;
    for (k = 0; k < cand.n && !ok; k++)
        if ((ret = usable_outputs(run, cand.ids[k], &outs, arts, &ok, err)))
            goto out;
    if (!ok)
        goto out;
    int64_t from = cand.ids[k - 1];

    if ((ret = cfx_metadata_begin(run->store, err)))
        goto out;
    for (size_t i = 0; i < outs.n; i++) {
        cfx_component_output_t *o = &run->outputs[run->n_outputs];
        memset(o, 0, sizeof *o);
        snprintf(o->key, sizeof o->key, "%s", outs.ev[i].key);
        snprintf(o->type, sizeof o->type, "%s", arts[i].type);
        o->artifact_id = arts[i].id;
        if (!(o->uri = strdup(arts[i].uri))) {
            ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto fail;
        }
        run->n_outputs++;
        if ((ret = cfx_metadata_put_event(
                 run->store, arts[i].id, run->execution_id, CFX_MD_EVENT_OUTPUT,
                 outs.ev[i].key, outs.ev[i].index, err)))
            goto fail;
        for (int c = 0; c < 3; c++)
            if ((ret = cfx_metadata_attribute(run->store, run->context_ids[c],
                                              arts[i].id, err)))
                goto fail;
    }
    cfx_md_value_t v = {.kind = CFX_MD_INT, .i = from};
    if ((ret = cfx_metadata_set_execution_property(
             run->store, run->execution_id, "cached_from", 1, &v, err)) ||
        (ret = cfx_metadata_associate(run->store, cache_ctx, run->execution_id,
                                      err)) ||
        (ret = cfx_metadata_set_execution_state(run->store, run->execution_id,
                                                CFX_MD_EXECUTION_CACHED, err)))
        goto fail;
    if ((ret = cfx_metadata_commit(run->store, err)))
        goto undo;
    run->cached = 1;
    run->cached_from = from;
    *hit = 1;
    goto out;
fail:
    cfx_metadata_rollback(run->store);
undo:
    for (size_t i = 0; i < run->n_outputs; i++)
        free(run->outputs[i].uri);
    run->n_outputs = 0;
out:
    free(arts);
    return ret;
}

/* --- finish --------------------------------------------------------------- */

static int publish(cfx_component_run_t *run, cfx_error_t *err) {
    int ret;
    int64_t cache_ctx;
    if ((ret = cfx_metadata_begin(run->store, err)))
        return ret;
    for (size_t i = 0; i < run->n_outputs; i++) {
        cfx_component_output_t *o = &run->outputs[i];
        if ((ret = cfx_metadata_set_artifact_state(
                 run->store, o->artifact_id, CFX_MD_ARTIFACT_LIVE, err)) ||
            (ret = cfx_metadata_put_event(run->store, o->artifact_id,
                                          run->execution_id,
                                          CFX_MD_EVENT_OUTPUT, o->key, 0, err)))
            goto fail;
    }
    if ((ret = cfx_metadata_put_context(run->store, "execution_cache",
                                        run->cache_key, &cache_ctx, err)) ||
        (ret = cfx_metadata_associate(run->store, cache_ctx, run->execution_id,
                                      err)) ||
        (ret = cfx_metadata_set_execution_state(
             run->store, run->execution_id, CFX_MD_EXECUTION_COMPLETE, err)))
        goto fail;
    return cfx_metadata_commit(run->store, err);
fail:
    cfx_metadata_rollback(run->store);
    return ret;
}

static int abandon(cfx_component_run_t *run, cfx_error_t *err) {
    int ret;
    for (size_t i = 0; i < run->n_outputs; i++)
        if (run->outputs[i].created_dir)
            cfx_file_remove_tree(run->outputs[i].uri, NULL);
    if ((ret = cfx_metadata_begin(run->store, err)))
        return ret;
    for (size_t i = 0; i < run->n_outputs; i++)
        if ((ret = cfx_metadata_set_artifact_state(
                 run->store, run->outputs[i].artifact_id,
                 CFX_MD_ARTIFACT_ABANDONED, err)))
            goto fail;
    if ((ret = cfx_metadata_set_execution_state(run->store, run->execution_id,
                                                CFX_MD_EXECUTION_FAILED, err)))
        goto fail;
    return cfx_metadata_commit(run->store, err);
fail:
    cfx_metadata_rollback(run->store);
    return ret;
}

int cfx_component_finish(cfx_component_run_t *run, int ok, cfx_error_t *err) {
    int ret = 0;
    if (run->finished)
        return 0;
    run->finished = 1;
    if (!run->root || !run->execution_id)
        return 0;
    if (run->cached) {
        if (!ok)
            return 0; /* the reused artifacts stay; the CACHED record stays */
        return cfx_metadata_set_execution_state(run->store, run->execution_id,
                                                CFX_MD_EXECUTION_CACHED, err);
    }
    if (ok) {
        ret = publish(run, err);
        if (ret) {
            cfx_error_t e2;
            cfx_error_init(&e2);
            abandon(run, &e2);
            return cfx_error_prefix(err, "%s: recording outputs",
                                    run->component);
        }
        return 0;
    }
    return abandon(run, err);
}

int cfx_component_fail(cfx_component_run_t *run, const char *reason,
                       cfx_error_t *err) {
    if (run->root && run->execution_id && !run->finished && !run->cached &&
        reason && reason[0]) {
        cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = reason};
        cfx_error_t ignore; /* the failure itself is what matters */
        cfx_error_init(&ignore);
        cfx_metadata_set_execution_property(
            run->store, run->execution_id, CFX_RECOVERY_REASON, 1, &v, &ignore);
    }
    return cfx_component_finish(run, 0, err);
}

void cfx_component_run_free(cfx_component_run_t *run) {
    if (!run)
        return;
    if (!run->finished) {
        cfx_error_t e;
        cfx_error_init(&e);
        cfx_component_finish(run, 0, &e);
    }
    for (size_t i = 0; i < run->n_outputs; i++)
        free(run->outputs[i].uri);
    run->n_outputs = 0;
    for (size_t i = 0; i < run->n_inputs; i++)
        free(run->inputs[i].path);
    run->n_inputs = 0;
    if (run->owns_store)
        cfx_metadata_close(run->store);
    run->store = NULL;
    free(run->root);
    run->root = NULL;
}

cfx_metadata_t *cfx_component_store(cfx_component_run_t *run) {
    return run->store;
}

/* --- helpers for exec properties ------------------------------------------ */

int cfx_component_file_digest(const char *path, char out[65],
                              cfx_error_t *err) {
    int ret = cfx_sha256_file_hex(path, UINT64_MAX, out, NULL, err);
    /* a missing file is an I/O failure of the caller's settings here */
    if (ret == CFX_ENOTFOUND)
        err->code = ret = CFX_EIO;
    return ret;
}

int cfx_component_input_fingerprint(const char *path, const char *split,
                                    char *out, size_t cap, cfx_error_t *err) {
    struct stat sb;
    uint64_t files = 0, bytes = 0, xr = 0, sum = 0;
    if (stat(path, &sb) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
        struct dirent *de;
        char p[CFX_MD_URI_MAX];
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            int n = snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            if (n < 0 || (size_t)n >= sizeof p)
                continue;
            struct stat fs;
            if (stat(p, &fs) != 0 || !S_ISREG(fs.st_mode))
                continue;
            files++;
            bytes += (uint64_t)fs.st_size;
            xr ^= (uint64_t)fs.st_mtime;
            sum += (uint64_t)fs.st_mtime;
        }
        closedir(d);
    } else {
        files = 1;
        bytes = (uint64_t)sb.st_size;
        xr = sum = (uint64_t)sb.st_mtime;
    }
    int n =
        snprintf(out, cap,
                 "split:%s,num_files:%llu,total_bytes:%llu,xor_checksum:%llu,"
                 "sum_checksum:%llu",
                 split, (unsigned long long)files, (unsigned long long)bytes,
                 (unsigned long long)xr, (unsigned long long)sum);
    if (n < 0 || (size_t)n >= cap)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: fingerprint longer than %zu bytes", path,
                             cap);
    return 0;
}
