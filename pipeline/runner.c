/*
 * runner.c: the `cfx run` engine and the steps of the pipeline/ components
 * (see runner.h).
 *
 * Per step: resolve inputs (earlier outputs by artifact id), build the exec
 * properties (the component's config section + digests of the files it
 * names + the step's own), begin the run, try the cache, otherwise call the
 * component, finish, print a summary, then ask the gate. The summary line
 * is stored on the execution (custom property "summary") so a cached step
 * prints what its original run found.
 */
#define _XOPEN_SOURCE 700
#include "pipeline/runner.h"

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
#include "formats/buf.h"
#include "data/schema_infer.h"
#include "transform/tft.h"
#include "data/validate.h"

/* A component whose library is not in the tree yet gets a step without
 * exec (the run stops there, saying so). */
#if __has_include("data/examplegen.h")
#include "data/examplegen.h"
#define HAVE_EXAMPLEGEN 1
#endif
#if __has_include("data/statistics.h")
#include "data/statistics.h"
#define HAVE_STATISTICS 1
#endif
#if __has_include("train/trainer_job.h")
#include "train/trainer_job.h"
#define HAVE_TRAINER 1
#endif

#define MAX_PRODUCED (CFX_RUNNER_MAX_STEPS * CFX_COMPONENT_MAX_OUTPUTS)

typedef struct produced {
    const char *component; /* step's component (static) */
    char key[CFX_MD_NAME_MAX];
    int64_t artifact_id;
} produced_t;

struct cfx_runner {
    const cfx_pipeline_config_t *cfg;
    cfx_metadata_t *store;
    FILE *log;
    char run_id[64];
    produced_t produced[MAX_PRODUCED];
    size_t n_produced;
};

const cfx_pipeline_config_t *cfx_runner_config(const cfx_runner_t *r) { return r->cfg; }
cfx_metadata_t *cfx_runner_store(cfx_runner_t *r) { return r->store; }

const char *cfx_runner_input_uri(const cfx_component_run_t *run, const char *key) {
    for (size_t i = 0; i < run->n_inputs; i++)
        if (!strcmp(run->inputs[i].key, key)) return run->inputs[i].artifact.uri;
    return NULL;
}

int64_t cfx_runner_input_id(const cfx_component_run_t *run, const char *key) {
    for (size_t i = 0; i < run->n_inputs; i++)
        if (!strcmp(run->inputs[i].key, key)) return run->inputs[i].artifact.id;
    return 0;
}

int cfx_runner_move_dir(const char *src, const char *dst, cfx_error_t *err) {
    /* rename(2) replaces an empty directory atomically. */
    if (rename(src, dst) != 0)
        return cfx_error_set(err, CFX_EIO, "moving %s to %s: %s", src, dst,
                             strerror(errno));
    return 0;
}

long long cfx_runner_output_int(cfx_runner_t *r, const cfx_component_run_t *run,
                                const char *key, const char *name, long long def) {
    int64_t id = cfx_component_output_id(run, key);
    cfx_md_value_t v;
    cfx_error_t ignore;
    if (!id || cfx_metadata_get_artifact_property(r->store, id, name, &v, NULL, 0,
                                                  &ignore) ||
        v.kind != CFX_MD_INT)
        return def;
    return v.i;
}

/* --- exec properties ------------------------------------------------------ */

/* Every string member of the section naming an existing regular file gets
 * a "<member>_sha256" of its contents, so editing a config file breaks the
 * cache as TFX's module_file does. */
static int add_file_digests(cfx_runner_t *r, json_t *props, cfx_error_t *err) {
    const char *key;
    json_t *val;
    json_t *add = json_object();
    int ret = 0;
    if (!add) return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    json_object_foreach(props, key, val) {
        char path[PATH_MAX], hex[65], name[CFX_MD_NAME_MAX];
        struct stat sb;
        if (!json_is_string(val) || !json_string_length(val)) continue;
        if (cfx_pipeline_config_resolve(r->cfg, json_string_value(val), path, sizeof path,
                                        err))
            continue;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if ((ret = cfx_component_file_digest(path, hex, err))) goto out;
        snprintf(name, sizeof name, "%s_sha256", key);
        if (json_object_set_new(add, name, json_string(hex)) ||
            json_object_set_new(props, key, json_string(path))) {
            ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (json_object_update(props, add)) ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
out:
    json_decref(add);
    cfx_error_init(err);
    if (ret) cfx_error_set(err, ret, "exec properties: file digest failed");
    return ret;
}

/* --- the engine ----------------------------------------------------------- */

static const produced_t *find_produced(const cfx_runner_t *r, const char *component,
                                       const char *key) {
    for (size_t i = r->n_produced; i-- > 0;)
        if (!strcmp(r->produced[i].component, component) &&
            !strcmp(r->produced[i].key, key))
            return &r->produced[i];
    return NULL;
}

static void print_artifact_line(cfx_runner_t *r, const char *dir, const char *key,
                                int64_t id) {
    cfx_md_artifact_t *a = malloc(sizeof *a);
    cfx_error_t ignore;
    if (a && cfx_metadata_get_artifact(r->store, id, a, &ignore) == 0)
        fprintf(r->log, "    %-3s %-20s %s #%lld %s\n", dir, key, a->type,
                (long long)a->id, a->uri);
    free(a);
}

static void print_run(cfx_runner_t *r, const cfx_component_run_t *run, const char *state,
                      double secs, const char *summary) {
    fprintf(r->log, "%-16s execution %-4lld %-9s %7.3f s  %s\n", run->component,
            (long long)run->execution_id, state, secs, summary);
    for (size_t i = 0; i < run->n_inputs; i++)
        print_artifact_line(r, "in", run->inputs[i].key, run->inputs[i].artifact.id);
    for (size_t i = 0; i < run->n_outputs; i++)
        print_artifact_line(r, "out", run->outputs[i].key, run->outputs[i].artifact_id);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resolves a step's inputs; *missing names the first absent required one. */
static int step_inputs(cfx_runner_t *r, const cfx_runner_step_t *s,
                       cfx_component_input_t *in, size_t *n, const char **missing,
                       cfx_md_artifact_t *baseline, cfx_error_t *err) {
    *n = 0;
    *missing = NULL;
    for (size_t i = 0; i < CFX_RUNNER_MAX_STEP_INPUTS && s->inputs[i].key; i++) {
        const cfx_runner_input_spec_t *spec = &s->inputs[i];
        cfx_component_input_t x = {spec->key, 0, NULL};
        if (!strcmp(spec->component, CFX_RUNNER_FROM_DATA)) {
            x.uri = r->cfg->data;
        } else if (!strcmp(spec->component, CFX_RUNNER_FROM_BLESSED)) {
            /* never the candidate itself (a model input of this step) */
            int64_t candidate = 0;
            for (size_t j = 0; j < *n; j++)
                if (!strcmp(in[j].key, "model")) candidate = in[j].artifact_id;
            int ret = cfx_metadata_latest_blessed_model_excluding(r->store, candidate,
                                                                  baseline, NULL, err);
            if (ret == CFX_ENOTFOUND) {
                cfx_error_init(err);
                continue; /* no baseline: the first model */
            }
            if (ret) return ret;
            x.artifact_id = baseline->id;
        } else {
            const produced_t *p = find_produced(r, spec->component, spec->output);
            if (!p) {
                if (spec->optional) continue;
                *missing = spec->key;
                return 0;
            }
            x.artifact_id = p->artifact_id;
        }
        in[(*n)++] = x;
    }
    return 0;
}

static int record_summary(cfx_runner_t *r, cfx_component_run_t *run, const char *summary,
                          cfx_error_t *err) {
    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = summary};
    return cfx_metadata_set_execution_property(r->store, run->execution_id, "summary", 1, &v,
                                               err);
}

static void cached_summary(cfx_runner_t *r, const cfx_component_run_t *run, char *out,
                           size_t cap) {
    cfx_md_value_t v;
    cfx_error_t ignore;
    out[0] = 0;
    if (cfx_metadata_get_execution_property(r->store, run->cached_from, "summary", &v, out,
                                            cap, &ignore) != 0 ||
        v.kind != CFX_MD_STRING)
        out[0] = 0;
}

static int run_step(cfx_runner_t *r, const cfx_runner_step_t *s,
                    const cfx_runner_options_t *opts, cfx_runner_result_t *res,
                    cfx_error_t *err) {
    cfx_component_input_t in[CFX_RUNNER_MAX_STEP_INPUTS];
    cfx_md_artifact_t *baseline = NULL;
    cfx_component_run_t *run = NULL;
    json_t *props = NULL;
    char *props_text = NULL;
    char summary[512] = "", reason[384] = "";
    size_t n_in;
    const char *missing;
    int disabled = 0, ret = 0, ok = 0;
    double t0 = now_s();

    json_t *section = cfx_pipeline_config_component(r->cfg, s->component, &disabled);
    if (disabled) {
        fprintf(r->log, "%-16s skipped (disabled in %s)\n", s->component, r->cfg->path);
        res->steps_skipped++;
        return 0;
    }
    if (!(baseline = malloc(sizeof *baseline)) || !(run = calloc(1, sizeof *run))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = step_inputs(r, s, in, &n_in, &missing, baseline, err))) goto out;
    if (missing) {
        fprintf(r->log, "%-16s skipped (no '%s' input: its producer did not run)\n",
                s->component, missing);
        res->steps_skipped++;
        goto out;
    }
    if (!s->exec) {
        ret = cfx_error_set(err, CFX_EUNSUPPORTED, "%s: not available in this build",
                            s->component);
        goto out;
    }
    props = section ? json_deep_copy(section) : json_object();
    if (!props) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = add_file_digests(r, props, err))) goto out;
    if (s->props && (ret = s->props(r, props, err))) goto out;
    if (!(props_text = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    cfx_component_opts_t copts = {.store = r->store,
                                  .pipeline_name = r->cfg->pipeline_name,
                                  .run_id = r->run_id};
    if ((ret = cfx_component_begin_ex(run, r->cfg->pipeline_root, &copts, s->component,
                                      props_text, in, n_in, err)))
        goto out;
    int hit = 0;
    if (!opts->no_cache && (ret = cfx_component_cached(run, &hit, err))) goto out;
    if (hit) {
        cached_summary(r, run, summary, sizeof summary);
        /* kept on this execution too: the next hit may reuse this one */
        if (summary[0] && (ret = record_summary(r, run, summary, err))) goto out;
        if ((ret = cfx_component_finish(run, 1, err))) goto out;
        res->steps_cached++;
        char st[48];
        snprintf(st, sizeof st, "CACHED");
        print_run(r, run, st, now_s() - t0, summary);
    } else {
        ret = s->exec(r, run, summary, sizeof summary, err);
        if (!ret) ret = record_summary(r, run, summary, err);
        ok = ret == 0;
        cfx_error_t ferr;
        cfx_error_init(&ferr);
        int fret = cfx_component_finish(run, ok, &ferr);
        if (ret) {
            cfx_error_prefix(err, "%s (execution %lld)", s->component,
                             (long long)run->execution_id);
            fprintf(r->log, "%-16s execution %-4lld FAILED    %7.3f s  %s\n", s->component,
                    (long long)run->execution_id, now_s() - t0, err->msg);
            goto out;
        }
        if (fret) {
            *err = ferr;
            ret = fret;
            goto out;
        }
        res->steps_run++;
        print_run(r, run, "COMPLETE", now_s() - t0, summary);
    }
    for (size_t i = 0; i < run->n_outputs; i++) {
        if (r->n_produced == MAX_PRODUCED) break;
        produced_t *p = &r->produced[r->n_produced++];
        p->component = s->component;
        snprintf(p->key, sizeof p->key, "%s", run->outputs[i].key);
        p->artifact_id = run->outputs[i].artifact_id;
    }
    if (s->gate) {
        ret = s->gate(r, run, reason, sizeof reason, err);
        if (ret) {
            res->stopped = 1;
            snprintf(res->stop_reason, sizeof res->stop_reason, "%.64s: %s", s->component,
                     reason);
            cfx_error_set(err, ret, "%s", res->stop_reason);
            fprintf(r->log, "rollout stopped: %s\n", res->stop_reason);
        }
    }
out:
    if (run) cfx_component_run_free(run);
    free(run);
    free(baseline);
    json_decref(props);
    free(props_text);
    return ret;
}

static void make_run_id(char *out, size_t cap) {
    struct timespec ts;
    struct tm tm;
    char t[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%06ldZ", t, ts.tv_nsec / 1000);
}

int cfx_runner_run(const cfx_pipeline_config_t *cfg, const cfx_runner_step_t *steps,
                   size_t num_steps, const cfx_runner_options_t *opts,
                   cfx_runner_result_t *res, cfx_error_t *err) {
    static const cfx_runner_options_t no_opts = {0};
    cfx_runner_result_t local;
    cfx_runner_t *r = NULL;
    int ret = 0;
    double t0 = now_s();
    if (!opts) opts = &no_opts;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (num_steps > CFX_RUNNER_MAX_STEPS)
        return cfx_error_set(err, CFX_ETOOBIG, "%zu steps, at most %d", num_steps,
                             CFX_RUNNER_MAX_STEPS);
    if (!(r = calloc(1, sizeof *r))) return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    r->cfg = cfg;
    r->log = opts->log ? opts->log : stdout;
    if (opts->run_id) snprintf(r->run_id, sizeof r->run_id, "%s", opts->run_id);
    else make_run_id(r->run_id, sizeof r->run_id);
    if ((ret = cfx_file_mkdirs(cfg->pipeline_root, err))) goto out;
    if ((ret = cfx_metadata_open_root(&r->store, cfg->pipeline_root, err))) goto out;
    fprintf(r->log, "pipeline %s, run %s\nroot %s\n\n", cfg->pipeline_name, r->run_id,
            cfg->pipeline_root);
    for (size_t i = 0; i < num_steps && !ret; i++) ret = run_step(r, &steps[i], opts, res, err);
    res->seconds = now_s() - t0;
    if (!ret)
        fprintf(r->log, "\npipeline complete in %.2f s: %zu ran, %zu cached, %zu skipped\n",
                res->seconds, res->steps_run, res->steps_cached, res->steps_skipped);
    else if (res->stopped)
        fprintf(r->log, "\npipeline stopped after %.2f s: %s\n", res->seconds,
                res->stop_reason);
out:
    if (r) cfx_metadata_close(r->store);
    free(r);
    return ret;
}

/* --- the steps of pipeline/ components ------------------------------------ */

static const char *cfg_str(cfx_runner_t *r, const char *component, const char *key) {
    return cfx_pipeline_config_string(r->cfg, component, key);
}

#ifdef HAVE_EXAMPLEGEN
static int examplegen_props(cfx_runner_t *r, void *props, cfx_error_t *err) {
    char fp[512];
    int ret = cfx_component_input_fingerprint(r->cfg->data, "single_split", fp, sizeof fp,
                                              err);
    if (ret) return ret;
    if (json_object_set_new(props, "input_base", json_string(r->cfg->data)) ||
        json_object_set_new(props, "input_fingerprint", json_string(fp)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

static int examplegen_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                           size_t cap, cfx_error_t *err) {
    cfx_split_spec_t splits[CFX_EXAMPLEGEN_MAX_SPLITS];
    cfx_examplegen_options_t o = {0};
    cfx_examplegen_result_t res;
    char names[512] = "[", counts[512] = "", fp[512];
    int ret;
    memset(&res, 0, sizeof res);
    const char *spec = cfg_str(r, "ExampleGen", "splits");
    if (spec) {
        if ((ret = cfx_examplegen_parse_splits(spec, splits, &o.num_splits, err))) return ret;
        o.splits = splits;
    }
    long long shards = cfx_pipeline_config_int(r->cfg, "ExampleGen", "num_shards", 0);
    if (shards < 0 || shards > CFX_EXAMPLEGEN_MAX_SHARDS)
        return cfx_error_set(err, CFX_EINVAL, "%s: ExampleGen.num_shards %lld: expected 1..%d",
                             r->cfg->path, shards, CFX_EXAMPLEGEN_MAX_SHARDS);
    o.num_shards = (unsigned)shards;
    o.quiet = 1;
    const char *dir = cfx_component_output_dir(run, "examples", err);
    if (!dir) return err->code ? err->code : CFX_EINTERNAL;
    if ((ret = cfx_examplegen_run(r->cfg->data, dir, &o, &res, err))) goto out;
    for (size_t i = 0; i < res.num_splits; i++) {
        size_t n = strlen(names), c = strlen(counts);
        snprintf(names + n, sizeof names - n, "%s\"%s\"", i ? "," : "", res.splits[i].name);
        snprintf(counts + c, sizeof counts - c, "%s%s %llu", i ? ", " : "",
                 res.splits[i].name, (unsigned long long)res.split_rows[i]);
    }
    strncat(names, "]", sizeof names - strlen(names) - 1);
    if ((ret = cfx_component_input_fingerprint(r->cfg->data, "single_split", fp, sizeof fp,
                                               err)) ||
        (ret = cfx_component_set_string(run, "examples", "split_names", 0, names, err)) ||
        (ret = cfx_component_set_int(run, "examples", "span", 0, 0, err)) ||
        (ret = cfx_component_set_string(run, "examples", "input_fingerprint", 1, fp, err)) ||
        (ret = cfx_component_set_string(run, "examples", "payload_format", 1,
                                        "FORMAT_TF_EXAMPLE", err)) ||
        (ret = cfx_component_set_string(run, "examples", "file_format", 1, "tfrecords_gzip",
                                        err)))
        goto out;
    snprintf(summary, cap, "%llu examples, %zu columns (%s)%s",
             (unsigned long long)res.rows, res.num_columns, counts,
             res.bad_rows ? ", some rows skipped" : "");
out:
    cfx_examplegen_result_free(&res);
    return ret;
}

#endif

#ifdef HAVE_STATISTICS
static int statistics_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                           size_t cap, cfx_error_t *err) {
    (void)r;
    size_t n = 0;
    const char *dir = cfx_component_output_dir(run, "statistics", err);
    if (!dir) return err->code ? err->code : CFX_EINTERNAL;
    int ret = cfx_statistics_run(cfx_runner_input_uri(run, "examples"), dir, NULL, &n, err);
    if (!ret) ret = cfx_component_set_split_properties(run, "statistics", "examples", err);
    if (ret) return ret;
    snprintf(summary, cap, "statistics of %zu splits", n);
    return 0;
}

#endif

static int copy_file(const char *src, const char *dst, cfx_error_t *err) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    int ret = cfx_schema_read_file(src, &b, err);
    if (!ret) ret = cfx_schema_write_file(dst, b.data, b.len, err);
    cfx_buf_free(&b);
    return ret;
}

static int schema_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                       size_t cap, cfx_error_t *err) {
    char user[PATH_MAX], dst[PATH_MAX];
    size_t n = 0;
    const char *dir = cfx_component_output_dir(run, "schema", err);
    if (!dir) return err->code ? err->code : CFX_EINTERNAL;
    int have = cfx_pipeline_config_path(r->cfg, "SchemaGen", "schema", user, sizeof user, err);
    if (have < 0) return have;
    if (have) {
        /* A curated schema (TFX's ImportSchemaGen): used as given. */
        snprintf(dst, sizeof dst, "%s/schema.pbtxt", dir);
        int ret = copy_file(user, dst, err);
        if (ret) return ret;
        snprintf(summary, cap, "imported %s", user);
        return 0;
    }
    cfx_schema_options_t o = {.infer_feature_shape = (int)cfx_pipeline_config_int(
                                  r->cfg, "SchemaGen", "infer_feature_shape", 1)};
    int ret = cfx_schema_gen(cfx_runner_input_uri(run, "statistics"), dir, &o, &n, err);
    if (ret) return ret;
    snprintf(summary, cap, "inferred a schema of %zu features", n);
    return 0;
}

/* Anomalies of severity ERROR over every Split-* of an ExampleAnomalies
 * directory (the gate stops on these; WARNINGs pass). */
static int count_errors(const char *dir, size_t *errors, cfx_error_t *err) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int ret = 0;
    *errors = 0;
    if (!d) return cfx_error_set(err, CFX_EIO, "%s: %s", dir, strerror(errno));
    while (!ret && (de = readdir(d))) {
        char p[PATH_MAX];
        cfx_anomalies_t *a = NULL;
        if (strncmp(de->d_name, "Split-", 6)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if ((ret = cfx_anomalies_read(p, &a, err))) break;
        for (size_t i = 0; i < a->n_anomaly_info; i++) {
            const Tensorflow__Metadata__V0__AnomalyInfo *info = a->anomaly_info[i]->value;
            if (info && info->severity == TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__ERROR)
                (*errors)++;
        }
        if (a->dataset_anomaly_info &&
            a->dataset_anomaly_info->severity ==
                TENSORFLOW__METADATA__V0__ANOMALY_INFO__SEVERITY__ERROR)
            (*errors)++;
        cfx_anomalies_free(a);
    }
    closedir(d);
    return ret;
}

static int validate_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                         size_t cap, cfx_error_t *err) {
    char schema[PATH_MAX], vc[PATH_MAX];
    cfx_validate_summary_t sum = {0};
    const char *dir = cfx_component_output_dir(run, "anomalies", err);
    if (!dir) return err->code ? err->code : CFX_EINTERNAL;
    snprintf(schema, sizeof schema, "%s/schema.pbtxt", cfx_runner_input_uri(run, "schema"));
    int have = cfx_pipeline_config_path(r->cfg, "ExampleValidator", "validation_config", vc,
                                        sizeof vc, err);
    if (have < 0) return have;
    cfx_validate_run_options_t o = {
        .statistics_dir = cfx_runner_input_uri(run, "statistics"),
        .schema_path = schema,
        .output_dir = dir,
        .validation_config_path = have ? vc : NULL,
    };
    size_t errors = 0;
    int ret = cfx_validate_run(&o, &sum, err);
    if (ret) return ret;
    if ((ret = count_errors(dir, &errors, err)) ||
        (ret = cfx_component_set_split_properties(run, "anomalies", "statistics", err)) ||
        (ret = cfx_component_set_int(run, "anomalies", "anomalies_found", 1,
                                     (int64_t)sum.n_anomalies, err)) ||
        (ret = cfx_component_set_int(run, "anomalies", "anomaly_errors", 1, (int64_t)errors,
                                     err)))
        return ret;
    if (sum.n_anomalies)
        snprintf(summary, cap, "%zu anomalies (%zu ERROR) in %zu of %zu splits",
                 sum.n_anomalies, errors, sum.n_anomalous_splits, sum.n_splits);
    else snprintf(summary, cap, "no anomalies in %zu splits", sum.n_splits);
    return 0;
}

static int validate_gate(cfx_runner_t *r, cfx_component_run_t *run, char *reason,
                         size_t cap, cfx_error_t *err) {
    (void)err;
    long long n = cfx_runner_output_int(r, run, "anomalies", "anomaly_errors", 0);
    json_t *stop = json_object_get(
        cfx_pipeline_config_component(r->cfg, "ExampleValidator", NULL), "stop_on_anomalies");
    if (n > 0 && !json_is_false(stop)) {
        snprintf(reason, cap, "%lld data anomalies of severity ERROR (see `cfx show %s`)", n,
                 cfx_component_output_uri(run, "anomalies"));
        return CFX_EANOMALIES;
    }
    return 0;
}

static int transform_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                          size_t cap, cfx_error_t *err) {
    char spec[PATH_MAX], schema[PATH_MAX];
    cfx_tft_result_t res;
    int ret;
    memset(&res, 0, sizeof res);
    int have = cfx_pipeline_config_path(r->cfg, "Transform", "spec", spec, sizeof spec, err);
    if (have < 0) return have;
    if (!have)
        return cfx_error_set(err, CFX_EINVAL, "%s: components.Transform.spec is required",
                             r->cfg->path);
    const char *graph = cfx_component_output_dir(run, "transform_graph", err);
    if (!graph) return err->code ? err->code : CFX_EINTERNAL;
    const char *texs = cfx_component_output_dir(run, "transformed_examples", err);
    if (!texs) return err->code ? err->code : CFX_EINTERNAL;
    snprintf(schema, sizeof schema, "%s/schema.pbtxt", cfx_runner_input_uri(run, "schema"));
    cfx_tft_options_t o = {
        .examples_dir = cfx_runner_input_uri(run, "examples"),
        .schema_path = schema,
        .spec_path = spec,
        .max_quantile_values =
            (size_t)cfx_pipeline_config_int(r->cfg, "Transform", "max_quantile_values", 0),
        .graph_dir = graph,
        .transformed_examples_dir = texs,
    };
    if ((ret = cfx_tft_run(&o, &res, err))) goto out;
    char names[256] = "[";
    for (size_t i = 0; i < res.num_splits; i++) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s\"%s\"", i ? "," : "", res.split_names[i]);
    }
    strncat(names, "]", sizeof names - strlen(names) - 1);
    if ((ret = cfx_component_set_string(run, "transformed_examples", "split_names", 0, names,
                                        err)))
        goto out;
    snprintf(summary, cap, "%zu transformed features over %zu splits", res.num_outputs,
             res.num_splits);
out:
    cfx_tft_result_free(&res);
    return ret;
}

#ifdef HAVE_TRAINER
static int trainer_exec(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                        size_t cap, cfx_error_t *err) {
    char config[PATH_MAX];
    cfx_train_result_t res;
    int ret;
    memset(&res, 0, sizeof res);
    int have = cfx_pipeline_config_path(r->cfg, "Trainer", "config", config, sizeof config,
                                        err);
    if (have < 0) return have;
    const char *model = cfx_component_output_dir(run, "model", err);
    if (!model) return err->code ? err->code : CFX_EINTERNAL;
    const char *logs = cfx_component_output_dir(run, "model_run", err);
    if (!logs) return err->code ? err->code : CFX_EINTERNAL;
    cfx_train_job_t job = {
        .examples_dir = cfx_runner_input_uri(run, "examples"),
        .transform_graph_dir = cfx_runner_input_uri(run, "transform_graph"),
        .config_path = have ? config : NULL,
        .output_dir = NULL, /* both dirs below are given */
        .raw_examples_dir = cfx_runner_input_uri(run, "raw_examples"),
        .progress = NULL,
        .model_dir = model,
        .logs_dir = logs,
    };
    if ((ret = cfx_trainer_run(&job, &res, err))) return ret;
    snprintf(summary, cap,
             "trained on %zu rows in %.1f s; eval %zu rows: AUC %.4f, accuracy %.4f, "
             "loss %.4f",
             res.train_rows, res.train_seconds, res.eval_rows, res.eval.auc,
             res.eval.accuracy, res.eval.loss);
    return 0;
}
#define TRAINER_EXEC trainer_exec
#else
#define TRAINER_EXEC NULL
#endif

#ifdef HAVE_EXAMPLEGEN
#define EXAMPLEGEN_PROPS examplegen_props
#define EXAMPLEGEN_EXEC examplegen_exec
#else
#define EXAMPLEGEN_PROPS NULL
#define EXAMPLEGEN_EXEC NULL
#endif
#ifdef HAVE_STATISTICS
#define STATISTICS_EXEC statistics_exec
#else
#define STATISTICS_EXEC NULL
#endif

const cfx_runner_step_t cfx_runner_data_steps[] = {
    {"ExampleGen", {{"input", CFX_RUNNER_FROM_DATA, NULL, 0}}, EXAMPLEGEN_PROPS,
     EXAMPLEGEN_EXEC, NULL},
    {"StatisticsGen", {{"examples", "ExampleGen", "examples", 0}}, NULL, STATISTICS_EXEC,
     NULL},
    {"SchemaGen", {{"statistics", "StatisticsGen", "statistics", 0}}, NULL, schema_exec,
     NULL},
    {"ExampleValidator",
     {{"statistics", "StatisticsGen", "statistics", 0}, {"schema", "SchemaGen", "schema", 0}},
     NULL, validate_exec, validate_gate},
    {"Transform",
     {{"examples", "ExampleGen", "examples", 0}, {"schema", "SchemaGen", "schema", 0}}, NULL,
     transform_exec, NULL},
    {"Trainer",
     {{"examples", "Transform", "transformed_examples", 0},
      {"transform_graph", "Transform", "transform_graph", 0},
      {"raw_examples", "ExampleGen", "examples", 0}},
     NULL, TRAINER_EXEC, NULL},
};
const size_t cfx_runner_num_data_steps =
    sizeof cfx_runner_data_steps / sizeof cfx_runner_data_steps[0];
