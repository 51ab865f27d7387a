/*
 * metrics.c: the binary-classification metrics of one slice (metrics.h).
 * Every metric is computed from the kept (prediction, label) pairs at the
 * end, so the exact curves come from one sort of the predictions.
 */
#include "eval/metrics.h"

#include <math.h>
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

void cfx_slice_acc_init(cfx_slice_acc_t *a) {
    memset(a, 0, sizeof *a);
}

void cfx_slice_acc_free(cfx_slice_acc_t *a) {
    free(a->pred);
    free(a->label);
    memset(a, 0, sizeof *a);
}

int cfx_slice_acc_add(cfx_slice_acc_t *a, float pred, float label,
                      cfx_error_t *err) {
    if (a->n == a->cap) {
        if (a->cap >= CFX_METRICS_MAX_EXAMPLES)
            return cfx_error_set(err, CFX_ETOOBIG,
                                 "more than %u examples in one slice",
                                 CFX_METRICS_MAX_EXAMPLES);
        size_t cap = a->cap ? a->cap * 2 : 256;
        if (cap > CFX_METRICS_MAX_EXAMPLES)
            cap = CFX_METRICS_MAX_EXAMPLES;
        float *p = realloc(a->pred, cap * sizeof *p);
        if (!p)
            return cfx_error_set(err, CFX_ENOMEM, "metrics: out of memory");
        a->pred = p;
        float *l = realloc(a->label, cap * sizeof *l);
        if (!l)
            return cfx_error_set(err, CFX_ENOMEM, "metrics: out of memory");
        a->label = l;
        a->cap = cap;
    }
    a->pred[a->n] = pred;
    a->label[a->n] = label > 0.5f ? 1.0f : 0.0f;
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

int cfx_slice_metrics_compute(const cfx_slice_acc_t *a,
                              const double *thresholds, size_t num_thresholds,
                              cfx_slice_metrics_t *out, cfx_error_t *err) {
    memset(out, 0, sizeof *out);
    if (num_thresholds > CFX_METRICS_MAX_THRESHOLDS)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%zu confusion-matrix thresholds, at most %d",
                             num_thresholds, CFX_METRICS_MAX_THRESHOLDS);
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

double cfx_slice_metrics_get(const cfx_slice_metrics_t *m, const char *key) {
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
    for (size_t i = 0; cfx_slice_metrics_keys[i]; i++)
        if (!strcmp(cfx_slice_metrics_keys[i], key))
            return 1;
    return 0;
}
