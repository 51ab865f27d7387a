/*
 * metrics.c: the binary-classification metrics of one slice (metrics.h).
 * Every metric is computed from the kept (prediction, label) pairs at the
 * end, so the exact curves come from one sort of the predictions.
 */
#include "eval/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cfx_slice_metrics_keys[] = {
    "example_count",
    "binary_accuracy",
    "auc",
    "auc_precision_recall",
    "precision",
    "recall",
    "binary_crossentropy",
    "calibration",
    "mean_label",
    "mean_prediction",
    NULL,
};

static const char *const multiclass_keys[] = {
    "example_count",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "precision",
    "recall",
    NULL,
};

static const char *const regression_keys[] = {
    "example_count",       "mean_squared_error",
    "mean_absolute_error", "root_mean_squared_error",
    "mean_label",          "mean_prediction",
    "calibration",         NULL,
};

const char *const *cfx_slice_metrics_task_keys(cfx_task_t task) {
    return task == CFX_TASK_MULTICLASS   ? multiclass_keys
           : task == CFX_TASK_REGRESSION ? regression_keys
                                         : cfx_slice_metrics_keys;
}

void cfx_slice_acc_init(cfx_slice_acc_t *a) {
    memset(a, 0, sizeof *a);
    a->width = 1;
}

void cfx_slice_acc_set_task(cfx_slice_acc_t *a, cfx_task_t task, size_t width) {
    a->task = task;
    a->width = width ? width : 1;
}

void cfx_slice_acc_free(cfx_slice_acc_t *a) {
    free(a->pred);
    free(a->label);
    memset(a, 0, sizeof *a);
}

int cfx_slice_acc_add(cfx_slice_acc_t *a, float pred, float label,
                      cfx_error_t *err) {
    return cfx_slice_acc_add_row(a, &pred, label, err);
}

int cfx_slice_acc_add_row(cfx_slice_acc_t *a, const float *pred, float label,
                          cfx_error_t *err) {
    if (a->n == a->cap) {
        if (a->cap >= CFX_METRICS_MAX_EXAMPLES)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "more than %u examples in one slice",
                                 CFX_METRICS_MAX_EXAMPLES);
        size_t cap = a->cap ? a->cap * 2 : 256;
        if (cap > CFX_METRICS_MAX_EXAMPLES)
            cap = CFX_METRICS_MAX_EXAMPLES;
        float *p = realloc(a->pred, cap * a->width * sizeof *p);
        if (!p)
            return cfx_error_set(err, CFX_ENOMEM, "metrics: out of memory");
        a->pred = p;
        float *l = realloc(a->label, cap * sizeof *l);
        if (!l)
            return cfx_error_set(err, CFX_ENOMEM, "metrics: out of memory");
        a->label = l;
        a->cap = cap;
    }
    memcpy(a->pred + a->n * a->width, pred, a->width * sizeof *pred);
    a->label[a->n] =
        a->task == CFX_TASK_BINARY ? (label > 0.5f ? 1.0f : 0.0f) : label;
    a->n++;
    return 0;
}

typedef struct pair {
    float p;
    float y;
} pair_t;

/* Descending prediction. */
static int cmp_pair_desc(const void *x, const void *y) {
    float a = ((const pair_t *)x)->p, b = ((const pair_t *)y)->p;
    return a < b ? 1 : a > b ? -1 : 0;
}

static double div_no_nan(double a, double b) {
    return b == 0 ? 0.0 : a / b;
}

/* Exact ROC AUC and average precision from pairs sorted by descending p;
 * tied predictions form one step of the curves. */
static void curves(const pair_t *s, size_t n, double pos, double neg,
                   double *auc, double *ap) {
    double tp = 0, fp = 0, area = 0, apsum = 0;
    size_t i = 0;
    while (i < n) {
        double gtp = 0, gfp = 0;
        size_t j = i;
        while (j < n && s[j].p == s[i].p) {
            if (s[j].y > 0.5f)
                gtp += 1;
            else
                gfp += 1;
            j++;
        }
        /* negatives in this group rank below the positives seen before it
         * and tie with the group's positives (half credit) */
        area += gfp * (tp + gtp / 2);
        tp += gtp;
        fp += gfp;
        if (gtp > 0)
            apsum += gtp * (tp / (tp + fp));
        i = j;
    }
    *auc = (pos > 0 && neg > 0) ? area / (pos * neg) : NAN;
    *ap = pos > 0 ? apsum / pos : NAN;
}

/* Every metric a multi-class slice has undefined but these: NaN. */
static void all_nan(cfx_slice_metrics_t *m) {
    m->binary_accuracy = m->auc = m->auc_precision_recall = NAN;
    m->precision = m->recall = m->binary_crossentropy = NAN;
    m->calibration = m->mean_label = m->mean_prediction = NAN;
    m->sparse_categorical_accuracy = m->sparse_categorical_crossentropy = NAN;
    m->mean_squared_error = m->mean_absolute_error = NAN;
    m->root_mean_squared_error = NAN;
    for (size_t k = 0; k < CFX_METRICS_MAX_CLASS_METRICS; k++)
        m->class_precision[k] = m->class_recall[k] = NAN;
    for (size_t k = 0; k <= CFX_METRICS_MAX_TOP_K; k++)
        m->top_k_precision[k] = m->top_k_recall[k] = NAN;
}

static void regression_metrics(const cfx_slice_acc_t *a,
                               cfx_slice_metrics_t *out) {
    double se = 0, ae = 0, sp = 0, sy = 0, cnt = (double)a->n;
    for (size_t i = 0; i < a->n; i++) {
        double p = a->pred[i], y = a->label[i], r = p - y;
        se += r * r;
        ae += fabs(r);
        sp += p;
        sy += y;
    }
    out->mean_squared_error = a->n ? se / cnt : NAN;
    out->mean_absolute_error = a->n ? ae / cnt : NAN;
    out->root_mean_squared_error = sqrt(out->mean_squared_error);
    out->mean_label = a->n ? sy / cnt : NAN;
    out->mean_prediction = a->n ? sp / cnt : NAN;
    out->calibration = sy != 0 ? sp / sy : NAN;
}

/* The rank of class c in row q of K probabilities: how many classes are
 * more probable, ties broken by the lower index (as a stable top-k). */
static size_t rank_of(const float *q, size_t K, size_t c) {
    size_t r = 0;
    for (size_t k = 0; k < K; k++)
        r += q[k] > q[c] || (q[k] == q[c] && k < c);
    return r;
}

static void multiclass_metrics(const cfx_slice_acc_t *a,
                               cfx_slice_metrics_t *out) {
    size_t K = a->width, n = a->n;
    double correct = 0, ce = 0, tp = 0, fp = 0, fn = 0, cnt = (double)n;
    double ctp[CFX_METRICS_MAX_CLASS_METRICS] = {0},
           cfp[CFX_METRICS_MAX_CLASS_METRICS] = {0},
           cfn[CFX_METRICS_MAX_CLASS_METRICS] = {0};
    double khit[CFX_METRICS_MAX_TOP_K + 1] = {0};
    size_t maxk = K < CFX_METRICS_MAX_TOP_K ? K : CFX_METRICS_MAX_TOP_K;
    size_t ncls =
        K < CFX_METRICS_MAX_CLASS_METRICS ? K : CFX_METRICS_MAX_CLASS_METRICS;
    int nan_pred = 0;
    for (size_t i = 0; i < n; i++) {
        const float *q = a->pred + i * K;
        size_t y = (size_t)a->label[i], best = 0;
        for (size_t k = 0; k < K; k++) {
            nan_pred |= isnan(q[k]) != 0;
            if (q[k] > q[best])
                best = k;
            int pos = q[k] > 0.5f, is = k == y;
            tp += pos && is;
            fp += pos && !is;
            fn += !pos && is;
            if (k < ncls) {
                ctp[k] += pos && is;
                cfp[k] += pos && !is;
                cfn[k] += !pos && is;
            }
        }
        correct += best == y;
        double py = y < K ? (double)q[y] : 0.0;
        ce -= log(py < 1e-7 ? 1e-7 : py > 1 - 1e-7 ? 1 - 1e-7 : py);
        if (y < K) {
            size_t r = rank_of(q, K, y);
            for (size_t k = 1; k <= maxk; k++)
                khit[k] += r < k;
        }
    }
    if (nan_pred || n == 0)
        return; /* not computed: NaN, so thresholds fail */
    out->sparse_categorical_accuracy = correct / cnt;
    out->sparse_categorical_crossentropy = ce / cnt;
    out->precision = div_no_nan(tp, tp + fp);
    out->recall = div_no_nan(tp, tp + fn);
    for (size_t k = 0; k < ncls; k++) {
        out->class_precision[k] = div_no_nan(ctp[k], ctp[k] + cfp[k]);
        out->class_recall[k] = div_no_nan(ctp[k], ctp[k] + cfn[k]);
    }
    /* top k: k classes predicted per example, one of them right or not */
    for (size_t k = 1; k <= maxk; k++) {
        out->top_k_precision[k] = khit[k] / ((double)k * cnt);
        out->top_k_recall[k] = khit[k] / cnt;
    }
}

void cfx_slice_confusion(const cfx_slice_acc_t *a, double *counts) {
    size_t K = a->width;
    memset(counts, 0, K * K * sizeof *counts);
    for (size_t i = 0; i < a->n; i++) {
        const float *q = a->pred + i * K;
        size_t y = (size_t)a->label[i], best = 0;
        for (size_t k = 1; k < K; k++)
            if (q[k] > q[best])
                best = k;
        if (y < K)
            counts[y * K + best] += 1;
    }
}

int cfx_slice_metrics_compute(const cfx_slice_acc_t *a,
                              const double *thresholds, size_t num_thresholds,
                              cfx_slice_metrics_t *out, cfx_error_t *err) {
    memset(out, 0, sizeof *out);
    if (num_thresholds > CFX_METRICS_MAX_THRESHOLDS)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%zu confusion-matrix thresholds, at most %d",
                             num_thresholds, CFX_METRICS_MAX_THRESHOLDS);
    out->task = a->task;
    if (a->task != CFX_TASK_BINARY) {
        all_nan(out);
        out->example_count = (double)a->n;
        if (a->task == CFX_TASK_MULTICLASS) {
            out->num_classes = a->width;
            multiclass_metrics(a, out);
        } else {
            regression_metrics(a, out);
        }
        return 0;
    }
    out->num_classes = 2;
    out->sparse_categorical_accuracy = out->sparse_categorical_crossentropy =
        NAN;
    out->mean_squared_error = out->mean_absolute_error =
        out->root_mean_squared_error = NAN;
    for (size_t k = 0; k < CFX_METRICS_MAX_CLASS_METRICS; k++)
        out->class_precision[k] = out->class_recall[k] = NAN;
    for (size_t k = 0; k <= CFX_METRICS_MAX_TOP_K; k++)
        out->top_k_precision[k] = out->top_k_recall[k] = NAN;
    size_t n = a->n;
    double pos = 0, sum_p = 0, correct = 0, tp = 0, fp = 0, fn = 0, bce = 0;
    const double eps = 1e-7;
    for (size_t i = 0; i < n; i++) {
        double p = a->pred[i], y = a->label[i];
        int yhat = p > 0.5;
        pos += y;
        sum_p += p;
        if (yhat == (y > 0.5))
            correct += 1;
        if (yhat && y > 0.5)
            tp += 1;
        if (yhat && y <= 0.5)
            fp += 1;
        if (!yhat && y > 0.5)
            fn += 1;
        double pc = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
        bce -= y * log(pc) + (1 - y) * log(1 - pc);
    }
    double cnt = (double)n;
    out->example_count = cnt;
    out->binary_accuracy = n ? correct / cnt : NAN;
    out->precision = div_no_nan(tp, tp + fp);
    out->recall = div_no_nan(tp, tp + fn);
    out->binary_crossentropy = n ? bce / cnt : NAN;
    out->mean_label = n ? pos / cnt : NAN;
    out->mean_prediction = n ? sum_p / cnt : NAN;
    out->calibration = pos > 0 ? sum_p / pos : NAN;
    out->auc = out->auc_precision_recall = NAN;
    size_t nan_preds = 0;
    for (size_t i = 0; i < n; i++)
        nan_preds += isnan(a->pred[i]) != 0;
    if (nan_preds) {
        /* a model that predicts NaN has no meaningful score: every metric
         * of its predictions is "not computed", so thresholds fail */
        out->binary_accuracy = out->precision = out->recall = NAN;
        out->binary_crossentropy = out->mean_prediction = NAN;
        out->calibration = NAN;
    } else if (n) {
        pair_t *s = malloc(n * sizeof *s);
        if (!s)
            return cfx_error_set(err, CFX_ENOMEM, "metrics: out of memory");
        for (size_t i = 0; i < n; i++)
            s[i] = (pair_t){a->pred[i], a->label[i]};
        qsort(s, n, sizeof *s, cmp_pair_desc);
        curves(s, n, pos, cnt - pos, &out->auc, &out->auc_precision_recall);
        free(s);
    }
    for (size_t k = 0; k < num_thresholds; k++) {
        cfx_confusion_t *c = &out->confusion[k];
        c->threshold = thresholds[k];
        for (size_t i = 0; i < n; i++) {
            int yhat = a->pred[i] > thresholds[k], y = a->label[i] > 0.5f;
            if (yhat && y)
                c->tp += 1;
            else if (yhat)
                c->fp += 1;
            else if (y)
                c->fn += 1;
            else
                c->tn += 1;
        }
        c->precision = div_no_nan(c->tp, c->tp + c->fp);
        c->recall = div_no_nan(c->tp, c->tp + c->fn);
    }
    out->num_confusion = num_thresholds;
    return 0;
}

/* "precision/classId:3" -> base "precision", class 3 (top_k 0);
 * "recall/topK:2" -> top_k 2. 0 when key has that form, both indices in
 * range. */
static int sub_key(const char *key, int *is_precision, size_t *class_id,
                   size_t *top_k) {
    const char *slash = strchr(key, '/');
    if (!slash)
        return -1;
    size_t bl = (size_t)(slash - key);
    if (bl == 9 && !strncmp(key, "precision", 9))
        *is_precision = 1;
    else if (bl == 6 && !strncmp(key, "recall", 6))
        *is_precision = 0;
    else
        return -1;
    const char *v;
    unsigned long limit;
    *class_id = *top_k = 0;
    if (!strncmp(slash + 1, "classId:", 8)) {
        v = slash + 9;
        limit = CFX_METRICS_MAX_CLASS_METRICS - 1;
    } else if (!strncmp(slash + 1, "topK:", 5)) {
        v = slash + 6;
        limit = CFX_METRICS_MAX_TOP_K;
    } else {
        return -1;
    }
    if (*v < '0' || *v > '9' || (v[0] == '0' && v[1]))
        return -1;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (*end || x > limit || (limit == CFX_METRICS_MAX_TOP_K && x == 0))
        return -1;
    if (limit == CFX_METRICS_MAX_TOP_K)
        *top_k = x;
    else
        *class_id = x;
    return 0;
}

double cfx_slice_metrics_get(const cfx_slice_metrics_t *m, const char *key) {
    int is_p;
    size_t cid, tk;
    if (!sub_key(key, &is_p, &cid, &tk)) {
        if (m->task != CFX_TASK_MULTICLASS)
            return NAN;
        if (tk)
            return tk <= m->num_classes
                       ? (is_p ? m->top_k_precision[tk] : m->top_k_recall[tk])
                       : NAN;
        return cid < m->num_classes
                   ? (is_p ? m->class_precision[cid] : m->class_recall[cid])
                   : NAN;
    }
    if (!strcmp(key, "sparse_categorical_accuracy"))
        return m->sparse_categorical_accuracy;
    if (!strcmp(key, "sparse_categorical_crossentropy"))
        return m->sparse_categorical_crossentropy;
    if (!strcmp(key, "mean_squared_error"))
        return m->mean_squared_error;
    if (!strcmp(key, "mean_absolute_error"))
        return m->mean_absolute_error;
    if (!strcmp(key, "root_mean_squared_error"))
        return m->root_mean_squared_error;
    if (!strcmp(key, "example_count"))
        return m->example_count;
    if (!strcmp(key, "binary_accuracy"))
        return m->binary_accuracy;
    if (!strcmp(key, "auc"))
        return m->auc;
    if (!strcmp(key, "auc_precision_recall"))
        return m->auc_precision_recall;
    if (!strcmp(key, "precision"))
        return m->precision;
    if (!strcmp(key, "recall"))
        return m->recall;
    if (!strcmp(key, "binary_crossentropy"))
        return m->binary_crossentropy;
    if (!strcmp(key, "calibration"))
        return m->calibration;
    if (!strcmp(key, "mean_label"))
        return m->mean_label;
    if (!strcmp(key, "mean_prediction"))
        return m->mean_prediction;
    return NAN;
}

int cfx_slice_metrics_known(const char *key) {
    int is_p;
    size_t cid, tk;
    if (!sub_key(key, &is_p, &cid, &tk))
        return 1;
    for (size_t t = 0; t < 3; t++) {
        const char *const *keys = cfx_slice_metrics_task_keys((cfx_task_t)t);
        for (size_t i = 0; keys[i]; i++)
            if (!strcmp(keys[i], key))
                return 1;
    }
    return 0;
}
