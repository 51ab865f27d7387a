/*
 * runner.c: the `cfx run` engine (see runner.h).
 *
 * Per step: resolve inputs (earlier outputs by artifact id), build the exec
 * properties (the component's config section, its file settings resolved,
 * digests of the files it names, then what the spec and the step add),
 * begin the run, try the cache, otherwise call the spec's exec, finish,
 * print a summary, then ask the spec's gate. The summary line is stored on
 * the execution (custom property "summary") so a cached step prints what
 * its original run found.
 */
#define _XOPEN_SOURCE 700
#include "pipeline/runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "formats/clock.h"
#include "formats/file.h"
#include "mlmd/recovery.h"
#include "report/report.h"

#define MAX_PRODUCED (CFX_RUNNER_MAX_STEPS * CFX_COMPONENT_MAX_OUTPUTS)

typedef struct produced {
    const char *component; /* step's component (static) */
    char key[CFX_MD_NAME_MAX];
    int64_t artifact_id;
} produced_t;

/* One `cfx run`: the config, the store, what the steps produced so far. */
typedef struct cfx_runner {
    const cfx_pipeline_config_t *cfg;
    cfx_metadata_t *store;
    FILE *log;
    char run_id[64];
    produced_t produced[MAX_PRODUCED];
    size_t n_produced;
} cfx_runner_t;

/* --- exec properties ------------------------------------------------------ */

/* The spec's file settings, resolved against the config's folder whether
 * the file exists or not (so a message names the file the run looked for). */
static int resolve_paths(cfx_runner_t *r, const cfx_component_spec_t *spec,
                         json_t *props, cfx_error_t *err) {
    for (size_t i = 0; i < CFX_COMPONENT_SPEC_MAX_PATHS && spec->paths[i];
         i++) {
        json_t *v = json_object_get(props, spec->paths[i]);
        char path[PATH_MAX];
        int ret;
        if (!json_is_string(v) || !json_string_length(v))
            continue;
        if ((ret = cfx_pipeline_config_resolve(r->cfg, json_string_value(v),
                                               path, sizeof path, err)))
            return ret;
        if (json_object_set_new(props, spec->paths[i], json_string(path)))
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    return 0;
}

/* Every string member of the section naming an existing regular file gets
 * a "<member>_sha256" of its contents, so editing a config file breaks the
 * cache as TFX's module_file does. */
static int add_file_digests(cfx_runner_t *r, json_t *props, cfx_error_t *err) {
    const char *key;
    json_t *val;
    json_t *add = json_object();
    int ret = 0;
    if (!add)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    json_object_foreach(props, key, val) {
        char path[PATH_MAX], hex[65], name[CFX_MD_NAME_MAX];
        struct stat sb;
        if (!json_is_string(val) || !json_string_length(val))
            continue;
        if (cfx_pipeline_config_resolve(r->cfg, json_string_value(val), path,
                                        sizeof path, err))
            continue;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if ((ret = cfx_component_file_digest(path, hex, err)))
            goto out;
        snprintf(name, sizeof name, "%s_sha256", key);
        if (json_object_set_new(add, name, json_string(hex)) ||
            json_object_set_new(props, key, json_string(path))) {
            ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (json_object_update(props, add))
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
out:
    json_decref(add);
    cfx_error_init(err);
    if (ret)
        cfx_error_set(err, ret, "exec properties: file digest failed");
    return ret;
}

/* --- the engine ----------------------------------------------------------- */

static const produced_t *find_produced(const cfx_runner_t *r,
                                       const char *component, const char *key) {
    for (size_t i = r->n_produced; i-- > 0;)
        if (!strcmp(r->produced[i].component, component) &&
            !strcmp(r->produced[i].key, key))
            return &r->produced[i];
    return NULL;
}

static void print_artifact_line(cfx_runner_t *r, const char *dir,
                                const char *key, int64_t id) {
    cfx_md_artifact_t *a = malloc(sizeof *a);
    cfx_error_t ignore;
    if (a && cfx_metadata_get_artifact(r->store, id, a, &ignore) == 0)
        fprintf(r->log, "    %-3s %-20s %s #%lld %s\n", dir, key, a->type,
                (long long)a->id, a->uri);
    free(a);
}

static void print_run(cfx_runner_t *r, const cfx_component_run_t *run,
                      const char *state, double secs, const char *summary) {
    fprintf(r->log, "%-16s execution %-4lld %-9s %7.3f s  %s\n", run->component,
            (long long)run->execution_id, state, secs, summary);
    for (size_t i = 0; i < run->n_inputs; i++)
        print_artifact_line(r, "in", run->inputs[i].key,
                            run->inputs[i].artifact.id);
    for (size_t i = 0; i < run->n_outputs; i++)
        print_artifact_line(r, "out", run->outputs[i].key,
                            run->outputs[i].artifact_id);
}

/* Resolves a step's inputs; *missing names the first absent required one. */
static int step_inputs(cfx_runner_t *r, const cfx_runner_step_t *s,
                       cfx_component_input_t *in, size_t *n,
                       const char **missing, cfx_md_artifact_t *baseline,
                       cfx_error_t *err) {
    *n = 0;
    *missing = NULL;
    for (size_t i = 0; i < CFX_RUNNER_MAX_STEP_INPUTS && s->inputs[i].key;
         i++) {
        const cfx_runner_input_spec_t *spec = &s->inputs[i];
        cfx_component_input_t x = {spec->key, 0, NULL, NULL};
        if (!strcmp(spec->component, CFX_RUNNER_FROM_DATA)) {
            x.uri = r->cfg->data;
        } else if (!strcmp(spec->component, CFX_RUNNER_FROM_BLESSED)) {
            /* never the candidate itself (a model input of this step) */
            int64_t candidate = 0;
            for (size_t j = 0; j < *n; j++)
                if (!strcmp(in[j].key, "model"))
                    candidate = in[j].artifact_id;
            int ret = cfx_metadata_latest_blessed_model_excluding(
                r->store, candidate, baseline, NULL, err);
            if (ret == CFX_ENOTFOUND) {
                cfx_error_init(err);
                continue; /* no baseline: the first model */
            }
            if (ret)
                return ret;
            x.artifact_id = baseline->id;
        } else {
            const produced_t *p =
                find_produced(r, spec->component, spec->output);
            if (!p) {
                if (spec->optional)
                    continue;
                *missing = spec->key;
                return 0;
            }
            x.artifact_id = p->artifact_id;
        }
        in[(*n)++] = x;
    }
    return 0;
}

static int record_summary(cfx_runner_t *r, cfx_component_run_t *run,
                          const char *summary, cfx_error_t *err) {
    cfx_md_value_t v = {.kind = CFX_MD_STRING, .s = summary};
    return cfx_metadata_set_execution_property(r->store, run->execution_id,
                                               "summary", 1, &v, err);
}

static void cached_summary(cfx_runner_t *r, const cfx_component_run_t *run,
                           char *out, size_t cap) {
    cfx_md_value_t v;
    cfx_error_t ignore;
    out[0] = 0;
    if (cfx_metadata_get_execution_property(r->store, run->cached_from,
                                            "summary", &v, out, cap,
                                            &ignore) != 0 ||
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
    double t0 = cfx_clock_mono_s();
    const cfx_component_spec_t *spec = s->spec;
    const char *name = spec->name;

    json_t *section = cfx_pipeline_config_component(r->cfg, name, &disabled);
    if (disabled) {
        fprintf(r->log, "%-16s skipped (disabled in %s)\n", name, r->cfg->path);
        res->steps_skipped++;
        return 0;
    }
    if (!(baseline = malloc(sizeof *baseline)) ||
        !(run = calloc(1, sizeof *run))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = step_inputs(r, s, in, &n_in, &missing, baseline, err)))
        goto out;
    if (missing) {
        fprintf(r->log,
                "%-16s skipped (no '%s' input: its producer did not run)\n",
                name, missing);
        res->steps_skipped++;
        goto out;
    }
    if (!spec->exec) {
        ret = cfx_error_set(err, CFX_EUNSUPPORTED,
                            "%s: not available in this build", name);
        goto out;
    }
    props = section ? json_deep_copy(section) : json_object();
    if (!props) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = resolve_paths(r, spec, props, err)))
        goto out;
    if ((ret = add_file_digests(r, props, err)))
        goto out;
    if (spec->prepare && (ret = spec->prepare(props, in, n_in, err)))
        goto out;
    if (s->props && (ret = s->props(r->cfg, props, err)))
        goto out;
    if (!(props_text = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS))) {
        ret = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    cfx_component_opts_t copts = {.store = r->store,
                                  .pipeline_name = r->cfg->pipeline_name,
                                  .run_id = r->run_id};
    if ((ret = cfx_component_begin_ex(run, r->cfg->pipeline_root, &copts, name,
                                      props_text, in, n_in, err)))
        goto out;
    cfx_component_ctx_t ctx = {
        .run = run, .props = props, .origin = r->cfg->path};
    int hit = 0;
    if (!opts->no_cache && (ret = cfx_component_cached(run, &hit, err)))
        goto out;
    if (hit) {
        cached_summary(r, run, summary, sizeof summary);
        /* kept on this execution too: the next hit may reuse this one */
        if (summary[0] && (ret = record_summary(r, run, summary, err)))
            goto out;
        if ((ret = cfx_component_finish(run, 1, err)))
            goto out;
        res->steps_cached++;
        char st[48];
        snprintf(st, sizeof st, "CACHED");
        print_run(r, run, st, cfx_clock_mono_s() - t0, summary);
    } else {
        ret = spec->exec(&ctx, summary, sizeof summary, err);
        if (!ret)
            ret = record_summary(r, run, summary, err);
        ok = ret == 0;
        cfx_error_t ferr;
        cfx_error_init(&ferr);
        int fret = ok ? cfx_component_finish(run, 1, &ferr)
                      : cfx_component_fail(run, err->msg, &ferr);
        if (ret) {
            cfx_error_prefix(err, "%s (execution %lld)", name,
                             (long long)run->execution_id);
            fprintf(r->log, "%-16s execution %-4lld FAILED    %7.3f s  %s\n",
                    name, (long long)run->execution_id, cfx_clock_mono_s() - t0,
                    err->msg);
            goto out;
        }
        if (fret) {
            *err = ferr;
            ret = fret;
            goto out;
        }
        res->steps_run++;
        print_run(r, run, "COMPLETE", cfx_clock_mono_s() - t0, summary);
    }
    for (size_t i = 0; i < run->n_outputs; i++) {
        if (r->n_produced == MAX_PRODUCED)
            break;
        produced_t *p = &r->produced[r->n_produced++];
        p->component = name;
        snprintf(p->key, sizeof p->key, "%s", run->outputs[i].key);
        p->artifact_id = run->outputs[i].artifact_id;
    }
    if (spec->gate) {
        ret = spec->gate(&ctx, reason, sizeof reason, err);
        if (ret) {
            res->stopped = 1;
            snprintf(res->stop_reason, sizeof res->stop_reason, "%.64s: %s",
                     name, reason);
            cfx_error_set(err, ret, "%s", res->stop_reason);
            fprintf(r->log, "rollout stopped: %s\n", res->stop_reason);
        }
    }
out:
    if (run)
        cfx_component_run_free(run);
    free(run);
    free(baseline);
    json_decref(props);
    free(props_text);
    return ret;
}

/* The run's report beside its outputs, <root>/report.html
 * (report/report.h), whatever the run's outcome: a stopped rollout is when
 * a person most wants to look. Its own failure only gets a line. */
static void write_report(cfx_runner_t *r) {
    char path[PATH_MAX];
    cfx_error_t err;
    cfx_error_init(&err);
    int n =
        snprintf(path, sizeof path, "%s/report.html", r->cfg->pipeline_root);
    cfx_report_opts_t o = {r->cfg->pipeline_root, path, r->run_id};
    if (n < 0 || (size_t)n >= sizeof path)
        fprintf(r->log, "report not written: pipeline root path too long\n");
    else if (cfx_report_write(&o, NULL, &err) == 0)
        fprintf(r->log, "report: %s\n", path);
    else
        fprintf(r->log, "report not written: %s\n", err.msg);
}

int cfx_runner_run(const cfx_pipeline_config_t *cfg,
                   const cfx_runner_step_t *steps, size_t num_steps,
                   const cfx_runner_options_t *opts, cfx_runner_result_t *res,
                   cfx_error_t *err) {
    static const cfx_runner_options_t no_opts = {0};
    cfx_runner_result_t local;
    cfx_runner_t *r = NULL;
    int ret = 0;
    double t0 = cfx_clock_mono_s();
    if (!opts)
        opts = &no_opts;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (num_steps > CFX_RUNNER_MAX_STEPS)
        return cfx_error_set(err, CFX_ETOOBIG, "%zu steps, at most %d",
                             num_steps, CFX_RUNNER_MAX_STEPS);
    if (!(r = calloc(1, sizeof *r)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    r->cfg = cfg;
    r->log = opts->log ? opts->log : stdout;
    if (opts->run_id)
        snprintf(r->run_id, sizeof r->run_id, "%s", opts->run_id);
    else
        cfx_component_new_run_id(r->run_id, sizeof r->run_id);
    if ((ret = cfx_file_mkdirs(cfg->pipeline_root, err)))
        goto out;
    /* the config's store, unless --metadata named another */
    if (cfg->metadata &&
        (ret = cfx_metadata_set_default_location(cfg->metadata, err)))
        goto out;
    if ((ret = cfx_metadata_open_root(&r->store, cfg->pipeline_root, err)))
        goto out;
    fprintf(r->log, "pipeline %s, run %s\nroot %s\n\n", cfg->pipeline_name,
            r->run_id, cfg->pipeline_root);
    /* executions a killed run left RUNNING, and their partial outputs */
    size_t recovered = 0;
    if ((ret = cfx_recovery_run(r->store, cfg->pipeline_root, r->log,
                                &recovered, err)))
        goto out;
    if (recovered)
        fputc('\n', r->log);
    for (size_t i = 0; i < num_steps && !ret; i++)
        ret = run_step(r, &steps[i], opts, res, err);
    res->seconds = cfx_clock_mono_s() - t0;
    if (!ret)
        fprintf(
            r->log,
            "\npipeline complete in %.2f s: %zu ran, %zu cached, %zu skipped\n",
            res->seconds, res->steps_run, res->steps_cached,
            res->steps_skipped);
    else if (res->stopped)
        fprintf(r->log, "\npipeline stopped after %.2f s: %s\n", res->seconds,
                res->stop_reason);
    write_report(r);
out:
    if (r)
        cfx_metadata_close(r->store);
    free(r);
    return ret;
}
