/*
 * evaluator.c: the Evaluator component (evaluator.h). One pass over the raw
 * eval examples in batches: decode, label from the candidate's transform,
 * predict with the candidate (and baseline), add each example to every
 * slice it belongs to; then metrics per slice, the thresholds on the slices
 * they apply to (unsliced ones on every slice, as TFMA), and the outputs.
 */
#include "eval/evaluator.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/model_identity.h"
#include "eval/plots.h"
#include "eval/slicing.h"
#include "formats/example.h"
#include "formats/file.h"
#include "formats/tfrecord.h"
#include "model/bundle.h"
#include "model/transform.h"

#define BATCH 256

typedef struct slices {
    cfx_slice_table_t table;
    cfx_slice_acc_t *cand, *base; /* by slice index */
    size_t *spec;                 /* slicing spec index of each slice */
    uint64_t *last;               /* 1 + the last example added, by slice */
    uint64_t examples;            /* examples sliced so far */
    size_t cap;
    int with_base;
    cfx_task_t task; /* the candidate's (a baseline has the same head) */
    size_t width;    /* floats per prediction */
} slices_t;

typedef struct adder {
    slices_t *s;
    size_t spec;
    uint64_t example; /* its number, from 1 */
    const float *pred, *base_pred;
    float label;
    cfx_error_t *err;
} adder_t;

static int add_to_slice(void *ud, const char *name) {
    adder_t *a = ud;
    slices_t *s = a->s;
    size_t idx;
    int created,
        ret = cfx_slice_table_intern(&s->table, name, &idx, &created, a->err);
    if (ret)
        return ret;
    if (idx >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        cfx_slice_acc_t *c = realloc(s->cand, cap * sizeof *c);
        if (!c)
            return cfx_error_set(a->err, CFX_ENOMEM,
                                 "evaluator: out of memory");
        s->cand = c;
        cfx_slice_acc_t *b = realloc(s->base, cap * sizeof *b);
        if (!b)
            return cfx_error_set(a->err, CFX_ENOMEM,
                                 "evaluator: out of memory");
        s->base = b;
        size_t *sp = realloc(s->spec, cap * sizeof *sp);
        if (!sp)
            return cfx_error_set(a->err, CFX_ENOMEM,
                                 "evaluator: out of memory");
        s->spec = sp;
        uint64_t *l = realloc(s->last, cap * sizeof *l);
        if (!l)
            return cfx_error_set(a->err, CFX_ENOMEM,
                                 "evaluator: out of memory");
        s->last = l;
        for (size_t i = s->cap; i < cap; i++) {
            cfx_slice_acc_init(&s->cand[i]);
            cfx_slice_acc_init(&s->base[i]);
            cfx_slice_acc_set_task(&s->cand[i], s->task, s->width);
            cfx_slice_acc_set_task(&s->base[i], s->task, s->width);
            s->last[i] = 0;
        }
        s->cap = cap;
    }
    if (created)
        s->spec[idx] = a->spec;
    /* A slice is a set of examples: two specs that name the same slice
     * (feature_keys [x] and feature_values {x: v}) add an example once. */
    if (s->last[idx] == a->example)
        return 0;
    s->last[idx] = a->example;
    if ((ret = cfx_slice_acc_add_row(&s->cand[idx], a->pred, a->label, a->err)))
        return ret;
    if (s->with_base && (ret = cfx_slice_acc_add_row(
                             &s->base[idx], a->base_pred, a->label, a->err)))
        return ret;
    return 0;
}

static void slices_free(slices_t *s) {
    for (size_t i = 0; i < s->cap; i++) {
        cfx_slice_acc_free(&s->cand[i]);
        cfx_slice_acc_free(&s->base[i]);
    }
    free(s->cand);
    free(s->base);
    free(s->spec);
    free(s->last);
    cfx_slice_table_free(&s->table);
}

/* Predicts and slices one batch. */
static int flush_batch(const cfx_evaluator_opts_t *o, const cfx_bundle_t *cand,
                       const cfx_bundle_t *base, cfx_example_t *ex,
                       const float *labels, size_t n, slices_t *s,
                       cfx_error_t *err) {
    const cfx_example_t *ptr[BATCH];
    size_t W = s->width;
    float *p = malloc(2 * BATCH * W * sizeof *p), *bp = p + BATCH * W;
    if (!p)
        return cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
    for (size_t i = 0; i < n; i++)
        ptr[i] = &ex[i];
    int ret = cfx_bundle_predict(cand, ptr, n, p, err);
    if (ret) {
        free(p);
        return cfx_error_prefix(err, "candidate %s", o->model_dir);
    }
    if (base && (ret = cfx_bundle_predict(base, ptr, n, bp, err))) {
        free(p);
        return cfx_error_prefix(err, "baseline %s", o->baseline_dir);
    }
    for (size_t i = 0; i < n && !ret; i++) {
        adder_t a = {s,         0,  ++s->examples, p + i * W, bp + i * W,
                     labels[i], err};
        for (size_t k = 0; k < o->config->num_slicing_specs; k++) {
            a.spec = k;
            if ((ret = cfx_slicing_keys(&o->config->slicing_specs[k], &ex[i],
                                        add_to_slice, &a, err)))
                break;
        }
    }
    free(p);
    return ret;
}

/* The folder of eval records: <dir>/Split-eval when present, else dir. */
static int eval_files(const char *dir, char ***files, size_t *n,
                      cfx_error_t *err) {
    int ret = cfx_tfrecord_list_split(dir, "eval", files, n, err);
    if (ret)
        return ret;
    if (*n == 0) {
        cfx_path_list_free(*files);
        *files = NULL;
        return cfx_error_set(err, CFX_ENOTFOUND,
                             "%s: no eval examples (no Split-eval/ folder "
                             "and no record files)",
                             dir);
    }
    return 0;
}

static int read_examples(const cfx_evaluator_opts_t *o,
                         const cfx_bundle_t *cand, const cfx_bundle_t *base,
                         slices_t *s, size_t *count, cfx_error_t *err) {
    const cfx_transform_t *xf = cfx_bundle_transform(cand);
    char **files = NULL;
    size_t nfiles = 0, n = 0;
    cfx_tfrecord_reader_t *r = NULL;
    cfx_example_t *ex = calloc(BATCH, sizeof *ex);
    float labels[BATCH];
    int ret;
    *count = 0;
    if (!ex)
        return cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
    for (size_t i = 0; i < BATCH; i++)
        cfx_example_init(&ex[i]);
    if ((ret = eval_files(o->examples_dir, &files, &nfiles, err)))
        goto out;
    for (size_t f = 0; f < nfiles; f++) {
        if ((ret = cfx_tfrecord_reader_open(files[f], &r, err)))
            goto out;
        for (;;) {
            const uint8_t *data;
            size_t len;
            uint64_t off = cfx_tfrecord_reader_offset(r);
            ret = cfx_tfrecord_read(r, &data, &len, err);
            if (ret < 0)
                goto out;
            if (ret == 0)
                break;
            if ((ret = cfx_example_decode(&ex[n], data, len, err))) {
                cfx_error_prefix(err, "%s: record at offset %llu", files[f],
                                 (unsigned long long)off);
                goto out;
            }
            if ((ret = cfx_transform_label(xf, &ex[n], &labels[n], err))) {
                cfx_error_prefix(err, "%s: record at offset %llu: label",
                                 files[f], (unsigned long long)off);
                goto out;
            }
            (*count)++;
            if (++n == BATCH) {
                if ((ret = flush_batch(o, cand, base, ex, labels, n, s, err)))
                    goto out;
                n = 0;
            }
        }
        cfx_tfrecord_reader_free(r);
        r = NULL;
    }
    if (n && (ret = flush_batch(o, cand, base, ex, labels, n, s, err)))
        goto out;
    ret = 0;
out:
    cfx_tfrecord_reader_free(r);
    for (size_t i = 0; i < BATCH; i++)
        cfx_example_free(&ex[i]);
    free(ex);
    cfx_path_list_free(files);
    return ret;
}

static json_t *num(double v) {
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

/* The scalar metrics of m's task: the task's keys, per class of a
 * multi-class slice "precision/classId:<k>" and "recall/classId:<k>", and
 * every configured sub key (top k). */
static int each_key(const cfx_slice_metrics_t *m,
                    const cfx_eval_config_t *applied,
                    void (*fn)(void *ud, const char *key), void *ud) {
    const char *const *keys = cfx_slice_metrics_task_keys(m->task);
    for (size_t i = 0; keys[i]; i++)
        fn(ud, keys[i]);
    if (m->task != CFX_TASK_MULTICLASS)
        return 0;
    char key[CFX_METRIC_NAME_MAX];
    for (size_t k = 0; k < m->num_classes && k < CFX_METRICS_MAX_CLASS_METRICS;
         k++)
        for (int r = 0; r < 2; r++) {
            snprintf(key, sizeof key, "%s/classId:%zu",
                     r ? "recall" : "precision", k);
            fn(ud, key);
        }
    for (size_t i = 0; i < applied->num_metrics; i++)
        if (strstr(applied->metrics[i], "/topK:"))
            fn(ud, applied->metrics[i]);
    return 0;
}

typedef struct key_json {
    json_t *o;
    const cfx_slice_metrics_t *m, *b; /* b: the diff m - b when not NULL */
} key_json_t;

static void put_key(void *ud, const char *key) {
    key_json_t *k = ud;
    double v = cfx_slice_metrics_get(k->m, key);
    if (k->b)
        v -= cfx_slice_metrics_get(k->b, key);
    json_object_set_new(k->o, key, num(v));
}

static json_t *metrics_json(const cfx_slice_metrics_t *m,
                            const cfx_eval_config_t *applied) {
    json_t *o = json_object();
    key_json_t kj = {o, m, NULL};
    each_key(m, applied, put_key, &kj);
    if (m->num_confusion && m->task == CFX_TASK_BINARY) {
        json_t *a = json_array();
        for (size_t i = 0; i < m->num_confusion; i++) {
            const cfx_confusion_t *c = &m->confusion[i];
            json_array_append_new(
                a, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "threshold",
                             num(c->threshold), "true_positives", num(c->tp),
                             "false_positives", num(c->fp), "true_negatives",
                             num(c->tn), "false_negatives", num(c->fn),
                             "precision", num(c->precision), "recall",
                             num(c->recall)));
        }
        json_object_set_new(o, "confusion_matrix_at_thresholds", a);
    }
    return o;
}

/* TFMA's MultiClassConfusionMatrixPlot of a multi-class slice at its
 * default threshold 0 (the predicted class is the arg max), in the JSON
 * form of MultiClassConfusionMatrixAtThresholds: the entries that occur. */
static json_t *confusion_plot_json(const cfx_slice_acc_t *a) {
    size_t K = a->width;
    double *counts = malloc(K * K * sizeof *counts);
    json_t *entries = json_array();
    if (!counts || !entries) {
        free(counts);
        json_decref(entries);
        return NULL;
    }
    cfx_slice_confusion(a, counts);
    for (size_t y = 0; y < K; y++)
        for (size_t q = 0; q < K; q++)
            if (counts[y * K + q] > 0)
                json_array_append_new(
                    entries,
                    json_pack("{s:I,s:I,s:f}", "actual_class_id", (json_int_t)y,
                              "predicted_class_id", (json_int_t)q,
                              "num_weighted_examples", counts[y * K + q]));
    free(counts);
    return json_pack("{s:[{s:f,s:o}]}", "matrices", "threshold", 0.0, "entries",
                     entries);
}

static int wants_plot(const cfx_eval_config_t *c) {
    for (size_t i = 0; i < c->num_metrics; i++)
        if (!strcmp(c->metrics[i], "multi_class_confusion_matrix_plot"))
            return 1;
    return 0;
}

typedef struct order {
    size_t spec, idx;
    const char *name;
} order_t;

static int cmp_order(const void *x, const void *y) {
    const order_t *a = x, *b = y;
    if (a->spec != b->spec)
        return a->spec < b->spec ? -1 : 1;
    return strverscmp(a->name, b->name); /* "hour:2" before "hour:10" */
}

/* The slices in output order (by spec, then natural order of the name);
 * *out is malloc'd (NULL when there is no slice). */
static int sort_slices(const slices_t *s, order_t **out, cfx_error_t *err) {
    size_t n = s->table.n;
    *out = NULL;
    if (!n)
        return 0;
    order_t *ord = malloc(n * sizeof *ord);
    if (!ord)
        return cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
    for (size_t i = 0; i < n; i++)
        ord[i] = (order_t){s->spec[i], i, s->table.names[i]};
    qsort(ord, n, sizeof *ord, cmp_order);
    *out = ord;
    return 0;
}

static int write_json(const char *dir, const char *file, json_t *doc,
                      cfx_error_t *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(10));
    if (!text)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
    int ret = cfx_file_write_atomic(path, text, strlen(text), err);
    free(text);
    return ret;
}

/* Slice key as an object {feature: value} from a name "a_X_b:1_X_2". */
static json_t *slice_key_json(const cfx_slicing_spec_t *spec,
                              const char *name) {
    json_t *o = json_object();
    const char *colon = strchr(name, ':');
    if (!colon || spec->num_keys + spec->num_values == 0)
        return o;
    const char *v = colon + 1;
    for (size_t i = 0; i < spec->num_keys + spec->num_values; i++) {
        const char *k = i < spec->num_keys
                            ? spec->keys[i]
                            : spec->value_keys[i - spec->num_keys];
        const char *end = strstr(v, "_X_");
        if (i + 1 == spec->num_keys + spec->num_values)
            end = NULL;
        size_t len = end ? (size_t)(end - v) : strlen(v);
        json_object_set_new(o, k, json_stringn(v, len));
        if (!end)
            break;
        v = end + 3;
    }
    return o;
}

/* plots.json: the overall slice's curves (eval/plots.h), the candidate's
 * and, with a baseline, the baseline's. */
static int write_plots(const char *dir, const slices_t *s, cfx_error_t *err) {
    size_t ov = s->table.n;
    for (size_t i = 0; i < s->table.n; i++)
        if (!strcmp(s->table.names[i], "Overall"))
            ov = i;
    if (ov == s->table.n)
        return 0;
    json_t *cand = NULL, *base = NULL;
    int ret = cfx_slice_plots_json(&s->cand[ov], &cand, err);
    if (!ret && s->with_base)
        ret = cfx_slice_plots_json(&s->base[ov], &base, err);
    if (ret) {
        json_decref(cand);
        return ret;
    }
    json_t *doc = json_pack("{s:s,s:o,s:o}", "slice", "Overall", "plots", cand,
                            "baseline_plots", base ? base : json_null());
    if (!doc)
        return cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
    ret = write_json(dir, "plots.json", doc, err);
    json_decref(doc);
    return ret;
}

/* o: the options given; eo: as applied (no baseline once dropped). */
static int write_evaluation(const cfx_evaluator_opts_t *o,
                            const cfx_evaluator_opts_t *eo,
                            const cfx_eval_config_t *applied, slices_t *s,
                            const order_t *ord, cfx_evaluator_result_t *res,
                            cfx_error_t *err) {
    json_t *doc = json_object(), *arr = json_array();
    int ret = 0;
    size_t n = s->table.n;
    json_object_set_new(doc, "model", json_string(o->model_dir));
    json_object_set_new(doc, "baseline",
                        eo->baseline_dir ? json_string(eo->baseline_dir)
                                         : json_null());
    if (res->baseline_dropped[0])
        json_object_set_new(doc, "baseline_dropped",
                            json_pack("{s:s,s:s}", "model", o->baseline_dir,
                                      "reason", res->baseline_dropped));
    json_object_set_new(doc, "example_count",
                        json_integer((json_int_t)res->num_examples));
    for (size_t k = 0; k < n; k++) {
        size_t i = ord[k].idx;
        cfx_slice_metrics_t m, b;
        if ((ret = cfx_slice_metrics_compute(&s->cand[i], applied->confusion,
                                             applied->num_confusion, &m, err)))
            goto out;
        json_t *e = json_object();
        char spec_name[CFX_SLICE_NAME_MAX];
        cfx_slicing_spec_name(&applied->slicing_specs[s->spec[i]], spec_name,
                              sizeof spec_name);
        json_object_set_new(e, "slice", json_string(s->table.names[i]));
        json_object_set_new(e, "slicing_spec", json_string(spec_name));
        json_object_set_new(e, "slice_key",
                            slice_key_json(&applied->slicing_specs[s->spec[i]],
                                           s->table.names[i]));
        json_object_set_new(e, "metrics", metrics_json(&m, applied));
        if (s->task == CFX_TASK_MULTICLASS && wants_plot(applied))
            json_object_set_new(e, "plots",
                                json_pack("{s:o*}",
                                          "multi_class_confusion_matrix_plot",
                                          confusion_plot_json(&s->cand[i])));
        if (s->with_base) {
            if ((ret = cfx_slice_metrics_compute(
                     &s->base[i], applied->confusion, applied->num_confusion,
                     &b, err))) {
                json_decref(e);
                goto out;
            }
            json_object_set_new(e, "baseline_metrics",
                                metrics_json(&b, applied));
            json_t *d = json_object();
            key_json_t kj = {d, &m, &b};
            each_key(&m, applied, put_key, &kj);
            json_object_set_new(e, "diff", d);
        }
        json_array_append_new(arr, e);
    }
    json_object_set_new(doc, "slices", arr);
    arr = NULL;
    if ((ret = write_json(o->evaluation_dir, "metrics.json", doc, err)) ||
        (ret = write_plots(o->evaluation_dir, s, err)))
        goto out;

    json_t *v = json_object(), *fails = json_array();
    json_object_set_new(v, "validation_ok", json_boolean(res->num_failed == 0));
    json_object_set_new(v, "thresholds_checked",
                        json_integer((json_int_t)res->num_checked));
    json_object_set_new(v, "baseline", json_boolean(res->has_baseline));
    if (res->baseline_dropped[0])
        json_object_set_new(v, "baseline_dropped",
                            json_pack("{s:s,s:s}", "model", o->baseline_dir,
                                      "reason", res->baseline_dropped));
    for (char *line = res->reason; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        json_array_append_new(fails, json_stringn(line, len));
        line += len + (nl ? 1 : 0);
    }
    json_object_set_new(v, "failures", fails);
    ret = write_json(o->evaluation_dir, "validations.json", v, err);
    json_decref(v);
    if (ret)
        goto out;

    char *cfg = cfx_eval_config_to_json(applied);
    if (!cfg) {
        ret = cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
        goto out;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/eval_config.json", o->evaluation_dir);
    ret = cfx_file_write_atomic(path, cfg, strlen(cfg), err);
    free(cfg);
out:
    json_decref(arr);
    json_decref(doc);
    return ret;
}

/* Appends a whole line to the reason, or counts it as left out. */
static void reason_line(cfx_evaluator_result_t *res, const char *line,
                        size_t *omitted) {
    size_t l = strlen(res->reason);
    int w = snprintf(res->reason + l, sizeof res->reason - l, "%s%s",
                     l ? "\n" : "", line);
    if (w < 0 || (size_t)w >= sizeof res->reason - l) {
        res->reason[l] = 0;
        (*omitted)++;
    }
}

/* How a person names the slices of a spec in the passed list:
 * "trip_start_hour", "trip_start_day_X_payment_type=Cash", "Overall". */
static void spec_label(const cfx_slicing_spec_t *sp, char *out, size_t cap) {
    size_t l = 0;
    out[0] = 0;
    if (sp->num_keys + sp->num_values == 0) {
        snprintf(out, cap, "Overall");
        return;
    }
    for (size_t i = 0; i < sp->num_keys + sp->num_values && l < cap; i++) {
        int w = i < sp->num_keys
                    ? snprintf(out + l, cap - l, "%s%s", i ? "_X_" : "",
                               sp->keys[i])
                    : snprintf(out + l, cap - l, "%s%s=%s", i ? "_X_" : "",
                               sp->value_keys[i - sp->num_keys],
                               sp->values[i - sp->num_keys]);
        if (w < 0)
            return;
        l += (size_t)w;
    }
}

/* Every threshold, unsliced ones first (TFMA's slice spec None: every
 * slice), then the per-slice entries; out holds CFX_MAX_THRESHOLD_ENTRIES. */
_Static_assert(CFX_EVAL_MAX_METRICS + CFX_MAX_SLICE_THRESHOLDS <=
                   CFX_MAX_THRESHOLD_ENTRIES,
               "every threshold of a config fits one validation");
static size_t threshold_entries(const cfx_eval_config_t *c,
                                cfx_slice_threshold_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < c->num_thresholds; i++) {
        memset(&out[n], 0, sizeof out[n]);
        out[n].threshold = c->thresholds[i];
        out[n].every_slice = 1;
        n++;
    }
    for (size_t i = 0; i < c->num_slice_thresholds; i++)
        out[n++] = c->slice_thresholds[i];
    return n;
}

/* One passed entry for the passed list: "auc >= lower bound 0.8 on
 * trip_start_hour (24 slices)", "auc >= lower bound 0.9 on every slice (52
 * slices)"; an entry checked on the overall slice alone shows its value,
 * "auc 0.939686 >= lower bound 0.9 on Overall". */
static void passed_item(const cfx_slice_threshold_t *e, int change,
                        size_t slices, const cfx_evaluator_result_t *res,
                        char *out, size_t cap) {
    const cfx_threshold_t *t = &e->threshold;
    int overall_only =
        slices == 1 &&
        (e->every_slice || e->spec.num_keys + e->spec.num_values == 0);
    if (overall_only) {
        cfx_threshold_outcome_t o;
        double v = cfx_slice_metrics_get(&res->overall, t->metric);
        if (change)
            cfx_threshold_check_change(
                t, v, cfx_slice_metrics_get(&res->baseline_overall, t->metric),
                &o);
        else
            cfx_threshold_check_value(t, v, &o);
        snprintf(out, cap, "%s on Overall", o.text);
        return;
    }
    char what[256], label[512];
    cfx_threshold_describe(t, change, what, sizeof what);
    if (e->every_slice)
        snprintf(label, sizeof label, "every slice");
    else
        spec_label(&e->spec, label, sizeof label);
    snprintf(out, cap, "%s on %s (%zu slice%s)", what, label, slices,
             slices == 1 ? "" : "s");
}

/* Every threshold on the slices in output order, as TFMA's validator does:
 * an unsliced one on every slice, a per-slice one on the slices its spec
 * applies to. Failures go to res->reason as "<slice>: <why>". A slicing
 * spec that matched no computed slice fails validation, as TFMA's
 * missing_slices do (an unsliced threshold cannot miss: the overall slice
 * is always computed). */
static int validate_slices(const cfx_eval_config_t *applied, const slices_t *s,
                           const order_t *ord, cfx_evaluator_result_t *res,
                           cfx_error_t *err) {
    cfx_slice_threshold_t *ts = malloc(CFX_MAX_THRESHOLD_ENTRIES * sizeof *ts);
    size_t omitted = 0, failed = 0;
    size_t applied_to[CFX_MAX_THRESHOLD_ENTRIES] = {0};
    char line[1024];
    int ret = 0;
    if (!ts)
        return cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
    size_t n = threshold_entries(applied, ts);
    if (n == 0)
        goto out;
    for (size_t k = 0; k < s->table.n; k++) {
        size_t i = ord[k].idx;
        const cfx_slicing_spec_t *from = &applied->slicing_specs[s->spec[i]];
        const char *name = s->table.names[i];
        int any = 0;
        for (size_t j = 0; j < n && !any; j++)
            any = ts[j].every_slice ||
                  cfx_slicing_spec_applies(&ts[j].spec, from, name);
        if (!any)
            continue;
        cfx_slice_metrics_t m, b;
        if ((ret = cfx_slice_metrics_compute(&s->cand[i], NULL, 0, &m, err)))
            goto out;
        if (s->with_base &&
            (ret = cfx_slice_metrics_compute(&s->base[i], NULL, 0, &b, err)))
            goto out;
        failed += cfx_slice_thresholds_validate(
            ts, n, from, name, &m, s->with_base ? &b : NULL, res->reason,
            sizeof res->reason, &omitted, applied_to, &res->num_checked);
    }
    for (size_t j = 0; j < n; j++) {
        int reported = 0;
        for (size_t k = 0; k < j && !reported; k++)
            reported = !applied_to[k] && !ts[k].every_slice &&
                       cfx_slicing_spec_equal(&ts[k].spec, &ts[j].spec);
        if (applied_to[j] || ts[j].every_slice || reported)
            continue;
        failed++;
        char label[512];
        spec_label(&ts[j].spec, label, sizeof label);
        snprintf(line, sizeof line,
                 "%s: no computed slice matches this slicing spec (%s), so "
                 "%s was not checked",
                 ts[j].path, label, ts[j].threshold.metric);
        reason_line(res, line, &omitted);
    }
    if (omitted) {
        /* make room for the count: drop whole lines from the end */
        snprintf(line, sizeof line, "(%zu more failed bounds not listed)",
                 omitted);
        char *r = res->reason;
        while (strlen(r) + strlen(line) + 2 > sizeof res->reason) {
            char *nl = strrchr(r, '\n');
            if (!nl)
                break;
            *nl = 0;
            omitted++;
            snprintf(line, sizeof line, "(%zu more failed bounds not listed)",
                     omitted);
        }
        size_t dummy = 0;
        reason_line(res, line, &dummy);
    }
    res->num_failed += failed;
    for (size_t j = 0; j < n && failed == 0; j++) {
        for (int change = 0; change < 2; change++) {
            const cfx_threshold_t *t = &ts[j].threshold;
            char item[800];
            if (change ? !(t->has_change && s->with_base) : !t->has_value)
                continue;
            passed_item(&ts[j], change, applied_to[j], res, item, sizeof item);
            size_t l = strlen(res->passed);
            if (l + 1 < sizeof res->passed)
                snprintf(res->passed + l, sizeof res->passed - l, "%s%s",
                         l ? "; " : "", item);
        }
    }
out:
    free(ts);
    return ret;
}

int cfx_evaluator_run(const cfx_evaluator_opts_t *o,
                      cfx_evaluator_result_t *res, cfx_error_t *err) {
    cfx_bundle_t *cand = NULL, *base = NULL;
    cfx_eval_config_t *applied = malloc(sizeof *applied);
    order_t *ord = NULL;
    slices_t s;
    int ret;
    memset(res, 0, sizeof *res);
    memset(&s, 0, sizeof s);
    cfx_slice_table_init(&s.table);
    if (!applied)
        return cfx_error_set(err, CFX_ENOMEM, "evaluator: out of memory");
    *applied = *o->config;
    /* eo: the options as applied (baseline_dir NULL once dropped) */
    cfx_evaluator_opts_t eo = *o;
    if (o->baseline_dir) {
        if (o->baseline_refused) {
            snprintf(res->baseline_dropped, sizeof res->baseline_dropped, "%s",
                     o->baseline_refused);
        } else if ((ret = cfx_model_identity_comparable(
                        o->model_dir, o->baseline_dir, applied->signature_name,
                        res->baseline_dropped, sizeof res->baseline_dropped,
                        err)) < 0) {
            cfx_error_prefix(err, "comparing baseline %s with candidate %s",
                             o->baseline_dir, o->model_dir);
            goto out;
        }
        if (res->baseline_dropped[0])
            eo.baseline_dir = NULL;
    }
    if (!eo.baseline_dir)
        cfx_eval_config_drop_change_thresholds(applied);
    if ((ret = cfx_bundle_load(o->model_dir, &cand, err)))
        goto out;
    const char *label = cfx_transform_label_name(cfx_bundle_transform(cand));
    if (!label) {
        ret = cfx_error_set(err, CFX_EINVAL,
                            "%s: the transform graph defines no label",
                            o->model_dir);
        goto out;
    }
    if (applied->label_key[0] && strcmp(applied->label_key, label)) {
        ret = cfx_error_set(
            err, CFX_EINVAL,
            "eval config: model_specs label_key '%s' but the bundle's label is "
            "'%s'",
            applied->label_key, label);
        goto out;
    }
    if (eo.baseline_dir &&
        (ret = cfx_bundle_load(eo.baseline_dir, &base, err))) {
        cfx_error_prefix(err, "baseline");
        goto out;
    }
    s.task = cfx_bundle_task(cand);
    s.width = cfx_bundle_output_width(cand);
    if (base &&
        !cfx_head_same_classes(cfx_bundle_head(cand), cfx_bundle_head(base))) {
        /* another task or other classes: nothing to compare */
        snprintf(
            res->baseline_dropped, sizeof res->baseline_dropped,
            "its task (%s, %zu classes) or class labels differ from the "
            "candidate's (%s, %zu classes)",
            cfx_task_name(cfx_bundle_task(base)), cfx_bundle_num_classes(base),
            cfx_task_name(cfx_bundle_task(cand)), cfx_bundle_num_classes(cand));
        cfx_bundle_free(base);
        base = NULL;
        eo.baseline_dir = NULL;
        cfx_eval_config_drop_change_thresholds(applied);
    }
    s.with_base = base != NULL;
    res->has_baseline = base != NULL;
    if ((ret = cfx_file_mkdirs(o->evaluation_dir, err)) ||
        (ret = cfx_file_mkdirs(o->blessing_dir, err)))
        goto out;

    /* the overall slice is always evaluated, even when the config names no
     * empty SlicingSpec: the summary shows its metrics, and a per-slice
     * threshold on {} must find it */
    int have_overall = 0;
    for (size_t i = 0; i < applied->num_slicing_specs; i++)
        if (applied->slicing_specs[i].num_keys +
                applied->slicing_specs[i].num_values ==
            0)
            have_overall = 1;
    if (!have_overall) {
        if (applied->num_slicing_specs >= CFX_EVAL_MAX_SLICING_SPECS) {
            ret = cfx_error_set(err, CFX_ETOOBIG,
                                "eval config: no room for the overall slice");
            goto out;
        }
        memset(&applied->slicing_specs[applied->num_slicing_specs], 0,
               sizeof applied->slicing_specs[0]);
        applied->num_slicing_specs++;
    }
    cfx_evaluator_opts_t o2 = eo;
    o2.config = applied;
    if ((ret = read_examples(&o2, cand, base, &s, &res->num_examples, err)))
        goto out;
    if (res->num_examples == 0) {
        ret = cfx_error_set(err, CFX_ENOTFOUND, "%s: no eval examples",
                            o->examples_dir);
        goto out;
    }
    res->num_slices = s.table.n;
    size_t ov = 0;
    for (size_t i = 0; i < s.table.n; i++)
        if (!strcmp(s.table.names[i], "Overall"))
            ov = i;
    if ((ret = cfx_slice_metrics_compute(&s.cand[ov], applied->confusion,
                                         applied->num_confusion, &res->overall,
                                         err)))
        goto out;
    if (base && (ret = cfx_slice_metrics_compute(
                     &s.base[ov], applied->confusion, applied->num_confusion,
                     &res->baseline_overall, err)))
        goto out;

    if ((ret = sort_slices(&s, &ord, err)) ||
        (ret = validate_slices(applied, &s, ord, res, err)))
        goto out;
    res->blessed = res->num_checked == 0 && res->num_failed == 0
                       ? -1
                       : res->num_failed == 0;
    if (res->blessed == -1 && s.task == CFX_TASK_MULTICLASS) {
        snprintf(res->summary, sizeof res->summary,
                 "NO BLESSING: no threshold configured "
                 "(sparse_categorical_accuracy %.4f, "
                 "sparse_categorical_crossentropy %.4f)",
                 res->overall.sparse_categorical_accuracy,
                 res->overall.sparse_categorical_crossentropy);
    } else if (res->blessed == -1 && s.task == CFX_TASK_REGRESSION) {
        snprintf(res->summary, sizeof res->summary,
                 "NO BLESSING: no threshold configured "
                 "(root_mean_squared_error %.6g, mean_absolute_error %.6g)",
                 res->overall.root_mean_squared_error,
                 res->overall.mean_absolute_error);
    } else if (res->blessed == -1) {
        snprintf(res->summary, sizeof res->summary,
                 "NO BLESSING: no threshold configured (auc %.4f, "
                 "binary_accuracy %.4f)",
                 res->overall.auc, res->overall.binary_accuracy);
    } else if (res->blessed) {
        if (snprintf(res->summary, sizeof res->summary, "BLESSED: %s",
                     res->passed) < 0)
            res->summary[0] = 0;
    } else {
        /* one line: the failed bounds joined by "; ", whole ones only, and
         * how many more the reason holds when they do not all fit */
        size_t total = 0, shown = 0, cap = sizeof res->summary - 48;
        size_t n = (size_t)snprintf(res->summary, sizeof res->summary,
                                    "NOT_BLESSED: ");
        for (const char *r = res->reason; *r;) {
            const char *nl = strchr(r, '\n');
            size_t len = nl ? (size_t)(nl - r) : strlen(r);
            if (shown == total && n + len + 2 < cap) {
                n += (size_t)snprintf(res->summary + n, sizeof res->summary - n,
                                      "%s%.*s", shown ? "; " : "", (int)len, r);
                shown++;
            }
            total++;
            r += len + (nl ? 1 : 0);
        }
        if (shown < total)
            snprintf(res->summary + n, sizeof res->summary - n,
                     "%s(%zu more in the blessing reason)", shown ? "; " : "",
                     total - shown);
    }
    if (res->baseline_dropped[0]) {
        size_t n = strlen(res->summary);
        snprintf(res->summary + n, sizeof res->summary - n,
                 " (baseline %s not compared: %s)", o->baseline_dir,
                 res->baseline_dropped);
    }
    if ((ret = write_evaluation(o, &eo, applied, &s, ord, res, err)))
        goto out;
    if (res->blessed >= 0 &&
        (ret = cfx_model_identity_write_verdict(
             o->blessing_dir, o->model_dir, res->blessed, "BLESSED",
             "NOT_BLESSED", res->blessed ? res->passed : res->reason, err)))
        goto out;
    if (res->blessed < 0) { /* no verdict: a reused folder keeps no old one */
        static const char *const stale[] = {"BLESSED", "NOT_BLESSED", "reason",
                                            CFX_MODEL_IDENTITY_FILE};
        char p[4096];
        for (size_t i = 0; i < 4; i++) {
            if ((size_t)snprintf(p, sizeof p, "%s/%s", o->blessing_dir,
                                 stale[i]) < sizeof p)
                unlink(p);
        }
    }
    ret = 0;
out:
    free(ord);
    slices_free(&s);
    cfx_bundle_free(base);
    cfx_bundle_free(cand);
    free(applied);
    return ret;
}

int cfx_evaluator_record_blessing(cfx_component_run_t *run, const char *key,
                                  const cfx_evaluator_result_t *res,
                                  const char *model_uri, int64_t model_id,
                                  const char *baseline_uri, int64_t baseline_id,
                                  cfx_error_t *err) {
    int ret;
    if ((ret = cfx_component_set_int(run, key, "blessed", 1, res->blessed == 1,
                                     err)))
        return ret;
    if ((ret = cfx_component_set_string(run, key, "current_model", 1, model_uri,
                                        err)))
        return ret;
    if ((ret = cfx_component_set_int(run, key, "current_model_id", 1, model_id,
                                     err)))
        return ret;
    if (baseline_uri) {
        if ((ret = cfx_component_set_string(run, key, "baseline_model", 1,
                                            baseline_uri, err)))
            return ret;
        if ((ret = cfx_component_set_int(run, key, "baseline_model_id", 1,
                                         baseline_id, err)))
            return ret;
    }
    return 0;
}
