/*
 * eval_config.c: parsing and writing the evaluator's TFMA-like EvalConfig
 * JSON (eval_config.h), with jansson.
 */
#include "eval/eval_config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/file.h"
#include "formats/suggest.h"

/* Member paths for messages (p is a char[256] in scope); a path cut short
 * is still a fine message. */
static void pathf(char *p, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pathf(char *p, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, cap, fmt, ap);
    va_end(ap);
}
#define PATHF(...) pathf(p, sizeof p, __VA_ARGS__)

static const struct {
    const char *class_name, *key;
} metric_classes[] = {
    {"ExampleCount", "example_count"},
    {"BinaryAccuracy", "binary_accuracy"},
    {"AUC", "auc"},
    {"AUCPrecisionRecall", "auc_precision_recall"},
    {"Precision", "precision"},
    {"Recall", "recall"},
    {"BinaryCrossentropy", "binary_crossentropy"},
    {"Calibration", "calibration"},
    {"MeanLabel", "mean_label"},
    {"MeanPrediction", "mean_prediction"},
    {"ConfusionMatrixAtThresholds", "confusion_matrix_at_thresholds"},
    {"SparseCategoricalAccuracy", "sparse_categorical_accuracy"},
    {"SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"},
    {"MultiClassConfusionMatrixPlot", "multi_class_confusion_matrix_plot"},
    {"MeanSquaredError", "mean_squared_error"},
    {"MeanAbsoluteError", "mean_absolute_error"},
    {"RootMeanSquaredError", "root_mean_squared_error"},
};

const char *cfx_eval_metric_key(const char *class_name) {
    for (size_t i = 0; i < sizeof metric_classes / sizeof metric_classes[0];
         i++)
        if (!strcmp(metric_classes[i].class_name, class_name))
            return metric_classes[i].key;
    return NULL;
}

/* Refuses members of o not in the NULL-terminated list allowed, naming the
 * closest allowed one. */
static int only_members(const json_t *o, const char *const *allowed,
                        const char *name, const char *path, cfx_error_t *err) {
    return cfx_suggest_check_keys(o, allowed, CFX_EPARSE, "member", name, path,
                                  err);
}

/* A number, or a wrapper {"value": number}. */
static int get_double(const json_t *v, double *out, const char *name,
                      const char *path, cfx_error_t *err) {
    static const char *const wrapper[] = {"value", NULL};
    int ret;
    if (json_is_object(v)) {
        if ((ret = only_members(v, wrapper, name, path, err)))
            return ret;
        v = json_object_get(v, "value");
    }
    if (!json_is_number(v))
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected a number", name,
                             path);
    *out = json_number_value(v);
    return 0;
}

static int copy_str(char *dst, size_t cap, const json_t *v, const char *name,
                    const char *path, cfx_error_t *err) {
    if (!json_is_string(v))
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected a string", name,
                             path);
    if (json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: %s: string longer than %zu bytes or with NUL",
                             name, path, cap - 1);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int parse_slicing(const json_t *o, cfx_slicing_spec_t *s,
                         const char *name, const char *path, cfx_error_t *err) {
    static const char *const allowed[] = {"feature_keys", "feature_values",
                                          NULL};
    char p[256];
    memset(s, 0, sizeof *s);
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                             name, path);
    int ret = only_members(o, allowed, name, path, err);
    if (ret)
        return ret;
    const json_t *keys = json_object_get(o, "feature_keys");
    if (keys) {
        if (!json_is_array(keys))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: %s.feature_keys: expected an array", name,
                                 path);
        if (json_array_size(keys) > CFX_SLICE_MAX_FEATURES)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "%s: %s.feature_keys: more than %d features",
                                 name, path, CFX_SLICE_MAX_FEATURES);
        for (size_t i = 0; i < json_array_size(keys); i++) {
            PATHF("%s.feature_keys[%zu]", path, i);
            if ((ret = copy_str(s->keys[i], sizeof s->keys[i],
                                json_array_get(keys, i), name, p, err)))
                return ret;
            s->num_keys++;
        }
    }
    const json_t *vals = json_object_get(o, "feature_values");
    if (vals) {
        if (!json_is_object(vals))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: %s.feature_values: expected an object",
                                 name, path);
        if (json_object_size(vals) + s->num_keys > CFX_SLICE_MAX_FEATURES)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "%s: %s: more than %d features", name, path,
                                 CFX_SLICE_MAX_FEATURES);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)vals, k, v) {
            size_t i = s->num_values;
            PATHF("%s.feature_values.%s", path, k);
            if (strlen(k) >= sizeof s->value_keys[i])
                return cfx_error_set(err, CFX_ETOOBIG, "%s: %s: name too long",
                                     name, p);
            strcpy(s->value_keys[i], k);
            if ((ret = copy_str(s->values[i], sizeof s->values[i], v, name, p,
                                err)))
                return ret;
            s->num_values++;
        }
    }
    return 0;
}

static int parse_threshold(const json_t *o, cfx_threshold_t *t,
                           const char *name, const char *path,
                           cfx_error_t *err) {
    static const char *const top[] = {"value_threshold", "change_threshold",
                                      NULL};
    static const char *const val[] = {"lower_bound", "upper_bound", NULL};
    static const char *const chg[] = {"direction", "absolute", "relative",
                                      NULL};
    char p[256];
    int ret;
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                             name, path);
    if ((ret = only_members(o, top, name, path, err)))
        return ret;
    const json_t *v = json_object_get(o, "value_threshold");
    if (v) {
        PATHF("%s.value_threshold", path);
        if (!json_is_object(v))
            return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                                 name, p);
        if ((ret = only_members(v, val, name, p, err)))
            return ret;
        t->has_value = 1;
        const json_t *x;
        if ((x = json_object_get(v, "lower_bound"))) {
            PATHF("%s.value_threshold.lower_bound", path);
            if ((ret = get_double(x, &t->lower, name, p, err)))
                return ret;
            t->has_lower = 1;
        }
        if ((x = json_object_get(v, "upper_bound"))) {
            PATHF("%s.value_threshold.upper_bound", path);
            if ((ret = get_double(x, &t->upper, name, p, err)))
                return ret;
            t->has_upper = 1;
        }
    }
    const json_t *c = json_object_get(o, "change_threshold");
    if (c) {
        PATHF("%s.change_threshold", path);
        if (!json_is_object(c))
            return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                                 name, p);
        if ((ret = only_members(c, chg, name, p, err)))
            return ret;
        t->has_change = 1;
        const json_t *d = json_object_get(c, "direction"), *x;
        if (json_is_string(d) &&
            !strcmp(json_string_value(d), "HIGHER_IS_BETTER"))
            t->direction = CFX_DIRECTION_HIGHER_IS_BETTER;
        else if (json_is_string(d) &&
                 !strcmp(json_string_value(d), "LOWER_IS_BETTER"))
            t->direction = CFX_DIRECTION_LOWER_IS_BETTER;
        else if (json_is_integer(d) &&
                 (json_integer_value(d) == 1 || json_integer_value(d) == 2))
            t->direction = (cfx_direction_t)json_integer_value(d);
        else
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: %s.direction: expected HIGHER_IS_BETTER "
                                 "or LOWER_IS_BETTER",
                                 name, p);
        if ((x = json_object_get(c, "absolute"))) {
            PATHF("%s.change_threshold.absolute", path);
            if ((ret = get_double(x, &t->absolute, name, p, err)))
                return ret;
            t->has_absolute = 1;
        }
        if ((x = json_object_get(c, "relative"))) {
            PATHF("%s.change_threshold.relative", path);
            if ((ret = get_double(x, &t->relative, name, p, err)))
                return ret;
            t->has_relative = 1;
        }
        if (!t->has_absolute && !t->has_relative)
            return cfx_error_set(
                err, CFX_EPARSE,
                "%s: %s.change_threshold: needs absolute and/or relative", name,
                path);
    }
    return 0;
}

static int unknown_metric(const char *key, const char *name, const char *path,
                          cfx_error_t *err) {
    char hint[160];
    return cfx_error_set(err, CFX_EINVAL,
                         "%s: %s: no threshold can apply to metric '%s'%s",
                         name, path, key,
                         cfx_suggest_hint(hint, sizeof hint, key,
                                          cfx_slice_metrics_keys, (size_t)-1));
}

static int add_metric(cfx_eval_config_t *c, const char *key, const char *name,
                      cfx_error_t *err) {
    for (size_t i = 0; i < c->num_metrics; i++)
        if (!strcmp(c->metrics[i], key))
            return 0;
    if (c->num_metrics >= CFX_EVAL_MAX_METRICS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d metrics", name,
                             CFX_EVAL_MAX_METRICS);
    snprintf(c->metrics[c->num_metrics++], CFX_METRIC_NAME_MAX, "%s", key);
    return 0;
}

static int add_threshold(cfx_eval_config_t *c, const char *key, const json_t *o,
                         const char *name, const char *path, cfx_error_t *err) {
    if (!cfx_slice_metrics_known(key))
        return unknown_metric(key, name, path, err);
    if (c->num_thresholds >= CFX_EVAL_MAX_METRICS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d thresholds",
                             name, CFX_EVAL_MAX_METRICS);
    cfx_threshold_t *t = &c->thresholds[c->num_thresholds];
    memset(t, 0, sizeof *t);
    snprintf(t->metric, sizeof t->metric, "%s", key);
    int ret = parse_threshold(o, t, name, path, err);
    if (ret)
        return ret;
    c->num_thresholds++;
    return add_metric(c, key, name, err);
}

/* One PerSliceMetricThreshold {slicing_specs, threshold} on metric key:
 * one entry per slicing spec. A spec that no configured slicing spec can
 * produce a slice for is refused here: TFMA would only find out after the
 * run (missing_slices, validation failed), and it is always a mistake in
 * the config. */
static int add_slice_threshold(cfx_eval_config_t *c, const char *key,
                               const json_t *o, const char *name,
                               const char *path, cfx_error_t *err) {
    static const char *const allowed[] = {"slicing_specs", "threshold", NULL};
    char p[256];
    cfx_threshold_t t;
    int ret;
    if (!cfx_slice_metrics_known(key))
        return unknown_metric(key, name, path, err);
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                             name, path);
    if ((ret = only_members(o, allowed, name, path, err)))
        return ret;
    const json_t *th = json_object_get(o, "threshold");
    if (!th)
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: needs a threshold", name,
                             path);
    memset(&t, 0, sizeof t);
    snprintf(t.metric, sizeof t.metric, "%s", key);
    PATHF("%s.threshold", path);
    if ((ret = parse_threshold(th, &t, name, p, err)))
        return ret;
    if (!t.has_value && !t.has_change)
        return cfx_error_set(
            err, CFX_EPARSE,
            "%s: %s: needs a value_threshold and/or a change_threshold", name,
            p);
    const json_t *ss = json_object_get(o, "slicing_specs");
    if (!json_is_array(ss) || json_array_size(ss) == 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: %s.slicing_specs: expected a non-empty array",
                             name, path);
    for (size_t i = 0; i < json_array_size(ss); i++) {
        PATHF("%s.slicing_specs[%zu]", path, i);
        if (c->num_slice_thresholds >= CFX_MAX_SLICE_THRESHOLDS)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "%s: %s: more than %d per-slice thresholds "
                                 "(counting one per slicing spec)",
                                 name, p, CFX_MAX_SLICE_THRESHOLDS);
        cfx_slice_threshold_t *e =
            &c->slice_thresholds[c->num_slice_thresholds];
        memset(e, 0, sizeof *e);
        if ((ret =
                 parse_slicing(json_array_get(ss, i), &e->spec, name, p, err)))
            return ret;
        /* the overall slice is always computed (evaluator.c) */
        int ok = e->spec.num_keys + e->spec.num_values == 0;
        for (size_t k = 0; k < c->num_slicing_specs && !ok; k++)
            ok = cfx_slicing_spec_can_apply(&e->spec, &c->slicing_specs[k]);
        if (!ok)
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: %s: matches no slice of the configured "
                                 "slicing_specs (add the spec there to "
                                 "compute its slices)",
                                 name, p);
        e->threshold = t;
        snprintf(e->path, sizeof e->path, "%s", p);
        c->num_slice_thresholds++;
    }
    return add_metric(c, key, name, err);
}

/* The "config" of a metric: a JSON string (as TFMA writes it) or object. */
static int metric_config(const json_t *v, json_t **out, const char *name,
                         const char *path, cfx_error_t *err) {
    *out = NULL;
    if (!v)
        return 0;
    if (json_is_object(v)) {
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (json_is_string(v)) {
        json_error_t je;
        *out = json_loads(json_string_value(v), 0, &je);
        if (!*out || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: %s: not a JSON object: %s", name, path,
                                 je.text);
        }
        return 0;
    }
    return cfx_error_set(err, CFX_EPARSE,
                         "%s: %s: expected a JSON object or string", name,
                         path);
}

static int parse_metric(cfx_eval_config_t *c, const json_t *m, const char *name,
                        const char *path, cfx_error_t *err) {
    static const char *const allowed[] = {
        "class_name",           "module", "config", "threshold",
        "per_slice_thresholds", NULL};
    char p[256];
    int ret;
    json_t *cfg = NULL;
    if (!json_is_object(m))
        return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                             name, path);
    if ((ret = only_members(m, allowed, name, path, err)))
        return ret;
    const json_t *cn = json_object_get(m, "class_name");
    if (!json_is_string(cn))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: %s.class_name: expected a string", name,
                             path);
    const char *key = cfx_eval_metric_key(json_string_value(cn));
    if (!key) {
        const char *classes[sizeof metric_classes / sizeof metric_classes[0]];
        char hint[160];
        for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
            classes[i] = metric_classes[i].class_name;
        return cfx_error_set(
            err, CFX_EUNSUPPORTED, "%s: %s.class_name: unknown metric '%s'%s",
            name, path, json_string_value(cn),
            cfx_suggest_hint(hint, sizeof hint, json_string_value(cn), classes,
                             sizeof classes / sizeof classes[0]));
    }
    PATHF("%s.config", path);
    if ((ret = metric_config(json_object_get(m, "config"), &cfg, name, p, err)))
        return ret;
    if (!strcmp(key, "auc") && cfg) {
        const json_t *curve = json_object_get(cfg, "curve");
        if (json_is_string(curve) && !strcmp(json_string_value(curve), "PR"))
            key = "auc_precision_recall";
    }
    /* Precision / Recall of one class (TFMA's class_id) or of the top k
     * classes (top_k): the key gets TFMA's sub key, "precision/classId:1" */
    char sub[CFX_METRIC_NAME_MAX];
    const json_t *cid = cfg ? json_object_get(cfg, "class_id") : NULL;
    const json_t *tk = cfg ? json_object_get(cfg, "top_k") : NULL;
    if ((cid || tk) && strcmp(key, "precision") && strcmp(key, "recall")) {
        ret = cfx_error_set(err, CFX_EUNSUPPORTED,
                            "%s: %s: class_id and top_k apply to Precision "
                            "and Recall only",
                            name, p);
        goto out;
    }
    if (cid || tk) {
        const json_t *v = cid ? cid : tk;
        json_int_t lo = cid ? 0 : 1,
                   hi = cid ? CFX_METRICS_MAX_CLASS_METRICS - 1
                            : CFX_METRICS_MAX_TOP_K;
        if ((cid && tk) || !json_is_integer(v) || json_integer_value(v) < lo ||
            json_integer_value(v) > hi) {
            ret = cfx_error_set(err, CFX_EINVAL,
                                "%s: %s: give class_id (an integer in [0, "
                                "%d]) or top_k (an integer in [1, %d]), not "
                                "both",
                                name, p, CFX_METRICS_MAX_CLASS_METRICS - 1,
                                CFX_METRICS_MAX_TOP_K);
            goto out;
        }
        snprintf(sub, sizeof sub, "%s/%s:%lld", key, cid ? "classId" : "topK",
                 (long long)json_integer_value(v));
        key = sub;
    }
    if (!strcmp(key, "confusion_matrix_at_thresholds")) {
        const json_t *ts = cfg ? json_object_get(cfg, "thresholds") : NULL;
        if (!json_is_array(ts) || json_array_size(ts) == 0) {
            ret = cfx_error_set(err, CFX_EPARSE,
                                "%s: %s: needs a list of thresholds", name, p);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(ts); i++) {
            if (c->num_confusion >= CFX_METRICS_MAX_THRESHOLDS) {
                ret = cfx_error_set(err, CFX_ETOOBIG,
                                    "%s: %s: more than %d thresholds", name, p,
                                    CFX_METRICS_MAX_THRESHOLDS);
                goto out;
            }
            PATHF("%s.config.thresholds[%zu]", path, i);
            if ((ret =
                     get_double(json_array_get(ts, i),
                                &c->confusion[c->num_confusion], name, p, err)))
                goto out;
            c->num_confusion++;
        }
    }
    if ((ret = add_metric(c, key, name, err)))
        goto out;
    const json_t *th = json_object_get(m, "threshold");
    if (th) {
        PATHF("%s.threshold", path);
        if ((ret = add_threshold(c, key, th, name, p, err)))
            goto out;
    }
    const json_t *pst = json_object_get(m, "per_slice_thresholds");
    if (pst && !json_is_array(pst)) {
        ret = cfx_error_set(err, CFX_EPARSE,
                            "%s: %s.per_slice_thresholds: expected an array",
                            name, path);
        goto out;
    }
    for (size_t j = 0; pst && j < json_array_size(pst); j++) {
        PATHF("%s.per_slice_thresholds[%zu]", path, j);
        if ((ret = add_slice_threshold(c, key, json_array_get(pst, j), name, p,
                                       err)))
            goto out;
    }
out:
    json_decref(cfg);
    return ret;
}

/* MetricsSpec.per_slice_thresholds: metric name -> {"thresholds": [...]}
 * (PerSliceMetricThresholds); m may be NULL. spec_path names the spec. */
static int parse_per_slice_map(cfx_eval_config_t *c, const json_t *m,
                               const char *name, const char *spec_path,
                               cfx_error_t *err) {
    static const char *const allowed[] = {"thresholds", NULL};
    char p[256];
    int ret;
    if (!m)
        return 0;
    if (!json_is_object(m))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: %s.per_slice_thresholds: expected an object",
                             name, spec_path);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        PATHF("%s.per_slice_thresholds.%s", spec_path, k);
        if (!json_is_object(v))
            return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                                 name, p);
        if ((ret = only_members(v, allowed, name, p, err)))
            return ret;
        const json_t *ts = json_object_get(v, "thresholds");
        if (!json_is_array(ts) || json_array_size(ts) == 0)
            return cfx_error_set(
                err, CFX_EPARSE,
                "%s: %s.thresholds: expected a non-empty array", name, p);
        for (size_t j = 0; j < json_array_size(ts); j++) {
            PATHF("%s.per_slice_thresholds.%s.thresholds[%zu]", spec_path, k,
                  j);
            if ((ret = add_slice_threshold(c, k, json_array_get(ts, j), name, p,
                                           err)))
                return ret;
        }
    }
    return 0;
}

static int parse_doc(const json_t *doc, const char *name, cfx_eval_config_t *c,
                     cfx_error_t *err) {
    static const char *const top[] = {"model_specs", "slicing_specs",
                                      "metrics_specs", "options", NULL};
    static const char *const model_allowed[] = {"name",
                                                "signature_name",
                                                "label_key",
                                                "preprocessing_function_names",
                                                "prediction_key",
                                                "is_baseline",
                                                NULL};
    static const char *const spec_allowed[] = {
        "metrics",     "thresholds",   "per_slice_thresholds",
        "model_names", "output_names", NULL};
    char p[256];
    int ret;
    if (!json_is_object(doc))
        return cfx_error_set(err, CFX_EPARSE, "%s: expected a JSON object",
                             name);
    if ((ret = only_members(doc, top, name, "(top level)", err)))
        return ret;
    snprintf(c->signature_name, sizeof c->signature_name, "serving_default");

    const json_t *ms = json_object_get(doc, "model_specs");
    if (ms && !json_is_array(ms))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: model_specs: expected an array", name);
    for (size_t i = 0; ms && i < json_array_size(ms); i++) {
        const json_t *m = json_array_get(ms, i);
        PATHF("model_specs[%zu]", i);
        if (!json_is_object(m))
            return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                                 name, p);
        if ((ret = only_members(m, model_allowed, name, p, err)))
            return ret;
        const json_t *v;
        if ((v = json_object_get(m, "signature_name")) &&
            (ret = copy_str(c->signature_name, sizeof c->signature_name, v,
                            name, p, err)))
            return ret;
        if ((v = json_object_get(m, "label_key")) &&
            (ret =
                 copy_str(c->label_key, sizeof c->label_key, v, name, p, err)))
            return ret;
    }

    const json_t *ss = json_object_get(doc, "slicing_specs");
    if (ss && !json_is_array(ss))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: slicing_specs: expected an array", name);
    if (ss && json_array_size(ss) > CFX_EVAL_MAX_SLICING_SPECS)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: slicing_specs: more than %d", name,
                             CFX_EVAL_MAX_SLICING_SPECS);
    for (size_t i = 0; ss && i < json_array_size(ss); i++) {
        PATHF("slicing_specs[%zu]", i);
        if ((ret = parse_slicing(json_array_get(ss, i), &c->slicing_specs[i],
                                 name, p, err)))
            return ret;
        c->num_slicing_specs++;
    }
    if (c->num_slicing_specs == 0)
        c->num_slicing_specs = 1; /* zeroed: Overall */

    const json_t *specs = json_object_get(doc, "metrics_specs");
    if (specs && !json_is_array(specs))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: metrics_specs: expected an array", name);
    for (size_t i = 0; specs && i < json_array_size(specs); i++) {
        const json_t *s = json_array_get(specs, i);
        PATHF("metrics_specs[%zu]", i);
        if (!json_is_object(s))
            return cfx_error_set(err, CFX_EPARSE, "%s: %s: expected an object",
                                 name, p);
        if ((ret = only_members(s, spec_allowed, name, p, err)))
            return ret;
        const json_t *ml = json_object_get(s, "metrics");
        if (ml && !json_is_array(ml))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: %s.metrics: expected an array", name, p);
        for (size_t j = 0; ml && j < json_array_size(ml); j++) {
            PATHF("metrics_specs[%zu].metrics[%zu]", i, j);
            if ((ret = parse_metric(c, json_array_get(ml, j), name, p, err)))
                return ret;
        }
        const json_t *th = json_object_get(s, "thresholds");
        if (th) {
            if (!json_is_object(th))
                return cfx_error_set(err, CFX_EPARSE,
                                     "%s: metrics_specs[%zu].thresholds: "
                                     "expected an object",
                                     name, i);
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)th, k, v) {
                PATHF("metrics_specs[%zu].thresholds.%s", i, k);
                if ((ret = add_threshold(c, k, v, name, p, err)))
                    return ret;
            }
        }
        PATHF("metrics_specs[%zu]", i);
        if ((ret = parse_per_slice_map(
                 c, json_object_get(s, "per_slice_thresholds"), name, p, err)))
            return ret;
    }
    if (c->num_metrics == 0) { /* TFMA's default binary-classification specs */
        static const char *const defaults[] = {
            "example_count", "binary_accuracy",
            "auc",           "auc_precision_recall",
            "precision",     "recall",
            "mean_label",    "mean_prediction",
            "calibration",   NULL};
        for (size_t i = 0; defaults[i]; i++)
            if ((ret = add_metric(c, defaults[i], name, err)))
                return ret;
    }
    return 0;
}

int cfx_eval_config_parse(const char *text, size_t len, const char *name,
                          cfx_eval_config_t *out, cfx_error_t *err) {
    memset(out, 0, sizeof *out);
    if (len > CFX_EVAL_CONFIG_MAX_BYTES)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: over %u bytes", name,
                             CFX_EVAL_CONFIG_MAX_BYTES);
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", name, je.line,
                             je.column, je.text);
    int ret = parse_doc(doc, name, out, err);
    json_decref(doc);
    return ret;
}

int cfx_eval_config_load(const char *path, cfx_eval_config_t *out,
                         cfx_error_t *err) {
    memset(out, 0, sizeof *out);
    cfx_buf_t text;
    cfx_buf_init(&text);
    int ret = cfx_file_read(path, CFX_EVAL_CONFIG_MAX_BYTES, &text, err);
    if (ret == 0)
        ret = cfx_eval_config_parse((const char *)text.data, text.len, path,
                                    out, err);
    cfx_buf_free(&text);
    return ret;
}

void cfx_eval_config_drop_change_thresholds(cfx_eval_config_t *c) {
    size_t k = 0;
    for (size_t i = 0; i < c->num_thresholds; i++) {
        cfx_threshold_t t = c->thresholds[i];
        t.has_change = 0;
        if (t.has_value)
            c->thresholds[k++] = t;
    }
    c->num_thresholds = k;
    k = 0;
    for (size_t i = 0; i < c->num_slice_thresholds; i++) {
        cfx_slice_threshold_t e = c->slice_thresholds[i];
        e.threshold.has_change = 0;
        if (e.threshold.has_value)
            c->slice_thresholds[k++] = e;
    }
    c->num_slice_thresholds = k;
}

static json_t *threshold_json(const cfx_threshold_t *t) {
    json_t *o = json_object();
    if (t->has_value) {
        json_t *v = json_object();
        if (t->has_lower)
            json_object_set_new(v, "lower_bound", json_real(t->lower));
        if (t->has_upper)
            json_object_set_new(v, "upper_bound", json_real(t->upper));
        json_object_set_new(o, "value_threshold", v);
    }
    if (t->has_change) {
        json_t *v = json_object();
        json_object_set_new(v, "direction",
                            json_string(cfx_direction_name(t->direction)));
        if (t->has_absolute)
            json_object_set_new(v, "absolute", json_real(t->absolute));
        if (t->has_relative)
            json_object_set_new(v, "relative", json_real(t->relative));
        json_object_set_new(o, "change_threshold", v);
    }
    return o;
}

static json_t *slicing_json(const cfx_slicing_spec_t *s) {
    json_t *o = json_object();
    if (s->num_keys) {
        json_t *k = json_array();
        for (size_t j = 0; j < s->num_keys; j++)
            json_array_append_new(k, json_string(s->keys[j]));
        json_object_set_new(o, "feature_keys", k);
    }
    if (s->num_values) {
        json_t *v = json_object();
        for (size_t j = 0; j < s->num_values; j++)
            json_object_set_new(v, s->value_keys[j], json_string(s->values[j]));
        json_object_set_new(o, "feature_values", v);
    }
    return o;
}

/* per_slice_thresholds in MetricsSpec's map form, one PerSliceMetricThreshold
 * per entry. */
static json_t *per_slice_json(const cfx_eval_config_t *c) {
    json_t *m = json_object();
    for (size_t i = 0; i < c->num_slice_thresholds; i++) {
        const cfx_slice_threshold_t *e = &c->slice_thresholds[i];
        json_t *ts = json_object_get(m, e->threshold.metric);
        if (!ts) {
            ts = json_array();
            json_object_set_new(m, e->threshold.metric,
                                json_pack("{s:o}", "thresholds", ts));
        } else {
            ts = json_object_get(ts, "thresholds");
        }
        json_array_append_new(ts, json_pack("{s:[o],s:o}", "slicing_specs",
                                            slicing_json(&e->spec), "threshold",
                                            threshold_json(&e->threshold)));
    }
    return m;
}

char *cfx_eval_config_to_json(const cfx_eval_config_t *c) {
    json_t *doc = json_object(), *ms = json_object(), *ss = json_array(),
           *metrics = json_array(), *th = json_object(), *spec = json_object(),
           *specs = json_array();
    json_object_set_new(ms, "signature_name", json_string(c->signature_name));
    if (c->label_key[0])
        json_object_set_new(ms, "label_key", json_string(c->label_key));
    json_object_set_new(doc, "model_specs", json_pack("[o]", ms));
    for (size_t i = 0; i < c->num_slicing_specs; i++)
        json_array_append_new(ss, slicing_json(&c->slicing_specs[i]));
    json_object_set_new(doc, "slicing_specs", ss);
    for (size_t i = 0; i < c->num_metrics; i++) {
        const char *cls = c->metrics[i];
        for (size_t j = 0; j < sizeof metric_classes / sizeof metric_classes[0];
             j++)
            if (!strcmp(metric_classes[j].key, c->metrics[i]))
                cls = metric_classes[j].class_name;
        const char *slash = strchr(c->metrics[i], '/');
        if (slash)
            cls = !strncmp(c->metrics[i], "precision", 9) ? "Precision"
                                                          : "Recall";
        json_t *m = json_pack("{s:s}", "class_name", cls);
        if (slash) {
            const char *colon = strchr(slash, ':');
            long long v = colon ? strtoll(colon + 1, NULL, 10) : 0;
            json_object_set_new(m, "config",
                                json_pack("{s:I}",
                                          !strncmp(slash + 1, "classId", 7)
                                              ? "class_id"
                                              : "top_k",
                                          (json_int_t)v));
        }
        if (!strcmp(c->metrics[i], "confusion_matrix_at_thresholds")) {
            json_t *ts = json_array();
            for (size_t j = 0; j < c->num_confusion; j++)
                json_array_append_new(ts, json_real(c->confusion[j]));
            json_object_set_new(m, "config",
                                json_pack("{s:o}", "thresholds", ts));
        }
        json_array_append_new(metrics, m);
    }
    for (size_t i = 0; i < c->num_thresholds; i++)
        json_object_set_new(th, c->thresholds[i].metric,
                            threshold_json(&c->thresholds[i]));
    json_object_set_new(spec, "metrics", metrics);
    json_object_set_new(spec, "thresholds", th);
    if (c->num_slice_thresholds)
        json_object_set_new(spec, "per_slice_thresholds", per_slice_json(c));
    json_array_append_new(specs, spec);
    json_object_set_new(doc, "metrics_specs", specs);
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                  JSON_REAL_PRECISION(17));
    json_decref(doc);
    return s;
}
