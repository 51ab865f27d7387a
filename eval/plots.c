/*
 * plots.c: curves, calibration and confusion of one slice (plots.h).
 */
#include "eval/plots.h"

#include <math.h>
#include <stdlib.h>

static json_t *num(double v) {
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

typedef struct pair {
    float p, y;
} pair_t;

static int by_pred_desc(const void *x, const void *y) {
    const pair_t *a = x, *b = y;
    return a->p > b->p ? -1 : a->p < b->p ? 1 : 0;
}

/* One curve point per distinct prediction (thinned): ROC and PR. */
static int curves(const pair_t *v, size_t n, json_t *roc, json_t *pr) {
    double pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].y > 0.5)
            pos++;
        else
            neg++;
    if (pos == 0 || neg == 0)
        return 0;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || v[i + 1].p != v[i].p)
            distinct++;
    double step = distinct > CFX_PLOTS_MAX_POINTS
                      ? (double)distinct / CFX_PLOTS_MAX_POINTS
                      : 1.0;
    int bad = json_array_append_new(roc, json_pack("[f,f,n]", 0.0, 0.0));
    double tp = 0, fp = 0, next = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        if (v[i].y > 0.5)
            tp++;
        else
            fp++;
        if (i + 1 < n && v[i + 1].p == v[i].p)
            continue; /* ties form one step */
        k++;
        if (k < distinct && (double)k < next)
            continue;
        next += step;
        bad |= json_array_append_new(roc, json_pack("[o,o,o]", num(fp / neg),
                                                    num(tp / pos),
                                                    num((double)v[i].p)));
        bad |= json_array_append_new(pr, json_pack("[o,o,o]", num(tp / pos),
                                                   num(tp / (tp + fp)),
                                                   num((double)v[i].p)));
    }
    return bad ? -1 : 0;
}

int cfx_slice_plots_json(const cfx_slice_acc_t *a, json_t **out,
                         cfx_error_t *err) {
    *out = NULL;
    pair_t *v = a->n ? malloc(a->n * sizeof *v) : NULL;
    json_t *doc = json_object(), *roc = json_array(), *pr = json_array(),
           *cal = json_array();
    int ret = 0;
    if ((a->n && !v) || !doc || !roc || !pr || !cal)
        goto oom;
    double cnt[CFX_PLOTS_CALIBRATION_BUCKETS] = {0},
           sp[CFX_PLOTS_CALIBRATION_BUCKETS] = {0},
           sy[CFX_PLOTS_CALIBRATION_BUCKETS] = {0};
    double tp = 0, fp = 0, tn = 0, fn = 0;
    for (size_t i = 0; i < a->n; i++) {
        float p = a->pred[i], y = a->label[i] > 0.5f ? 1.0f : 0.0f;
        v[i] = (pair_t){p, y};
        int b = (int)(p * CFX_PLOTS_CALIBRATION_BUCKETS);
        if (!(p >= 0)) /* NaN: in no bucket */
            b = -1;
        else if (b >= CFX_PLOTS_CALIBRATION_BUCKETS)
            b = CFX_PLOTS_CALIBRATION_BUCKETS - 1;
        if (b >= 0) {
            cnt[b]++;
            sp[b] += p;
            sy[b] += y;
        }
        int positive = p > 0.5f;
        tp += positive && y > 0;
        fp += positive && y == 0;
        tn += !positive && y == 0;
        fn += !positive && y > 0;
    }
    if (a->n)
        qsort(v, a->n, sizeof *v, by_pred_desc);
    if (curves(v, a->n, roc, pr) < 0)
        goto oom;
    for (int b = 0; b < CFX_PLOTS_CALIBRATION_BUCKETS; b++) {
        double lo = (double)b / CFX_PLOTS_CALIBRATION_BUCKETS,
               hi = (double)(b + 1) / CFX_PLOTS_CALIBRATION_BUCKETS;
        if (json_array_append_new(
                cal, json_pack("{s:f,s:f,s:f,s:o,s:o}", "lower", lo, "upper",
                               hi, "count", cnt[b], "mean_prediction",
                               num(cnt[b] ? sp[b] / cnt[b] : NAN), "mean_label",
                               num(cnt[b] ? sy[b] / cnt[b] : NAN))))
            goto oom;
    }
    /* json_object_set_new takes the value's reference, also on failure */
    int bad = json_object_set_new(doc, "roc", roc);
    roc = NULL;
    bad |= json_object_set_new(doc, "pr", pr);
    pr = NULL;
    bad |= json_object_set_new(doc, "calibration", cal);
    cal = NULL;
    if (bad)
        goto oom;
    if (json_object_set_new(doc, "confusion",
                            json_pack("{s:f,s:f,s:f,s:f,s:f}", "threshold", 0.5,
                                      "true_positives", tp, "false_positives",
                                      fp, "true_negatives", tn,
                                      "false_negatives", fn)))
        goto oom;
    *out = doc;
    doc = NULL;
    goto out;
oom:
    ret = cfx_error_set(err, CFX_ENOMEM, "plots: out of memory");
out:
    json_decref(doc);
    json_decref(roc);
    json_decref(pr);
    json_decref(cal);
    free(v);
    return ret;
}
