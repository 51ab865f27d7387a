/*
 * gbt.c: gradient-boosted trees through XGBoost's C API (gbt.h).
 *
 * The booster is created with the fit, validation and eval matrices in its
 * prediction cache, so the per-round validation loss and the periodic
 * metrics cost one new tree per round, not the whole ensemble. The model
 * leaves XGBoost as its JSON (sliced to the best round first) and is
 * converted once into cfx's format; the final eval metrics are computed
 * with cfx's own evaluator (model/trees.h), the code serving runs.
 */
#include "train/gbt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "formats/clock.h"
#include "model/network.h"
#include "model/trees.h"

#define XGB(call, what)                                                        \
    do {                                                                       \
        if ((call) != 0) {                                                     \
            rc = cfx_error_set(err, CFX_EINTERNAL, "gbt: %s: %s", what,        \
                               XGBGetLastError());                             \
            goto out;                                                          \
        }                                                                      \
    } while (0)

/* ---- XGBoost JSON -> cfx trees ------------------------------------------ */

static double num_str(json_t *v) {
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v))
        return strtod(json_string_value(v), NULL);
    return NAN;
}

static long long int_of(json_t *v) {
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return -2;
}

/* One XGBoost tree, renumbered breadth first, as a cfx-trees tree. */
static int convert_tree(json_t *xt, size_t ti, long long group,
                        size_t num_features, json_t **out, cfx_error_t *err) {
    json_t *lc = json_object_get(xt, "left_children"),
           *rc_ = json_object_get(xt, "right_children"),
           *si = json_object_get(xt, "split_indices"),
           *sc = json_object_get(xt, "split_conditions"),
           *dl = json_object_get(xt, "default_left"),
           *st = json_object_get(xt, "split_type");
    size_t n = json_array_size(lc);
    if (n == 0 || json_array_size(rc_) != n || json_array_size(si) != n ||
        json_array_size(sc) != n || json_array_size(dl) != n)
        return cfx_error_set(err, CFX_EPARSE,
                             "gbt: XGBoost tree %zu: node arrays missing or "
                             "of different lengths",
                             ti);
    size_t *queue = malloc(n * sizeof *queue);
    json_t *feature = json_array(), *value = json_array(), *left = json_array(),
           *right = json_array(), *defl = json_array();
    int rc = 0;
    if (!queue || !feature || !value || !left || !right || !defl) {
        rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
        goto out;
    }
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
        size_t s = queue[head++];
        long long l = int_of(json_array_get(lc, s)),
                  r = int_of(json_array_get(rc_, s));
        double v = num_str(json_array_get(sc, s));
        if (json_array_size(st) == n && int_of(json_array_get(st, s)) != 0) {
            rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                               "gbt: XGBoost tree %zu node %zu: categorical "
                               "splits are not supported",
                               ti, s);
            goto out;
        }
        if (l < 0) {
            json_array_append_new(feature, json_integer(0));
            json_array_append_new(value, json_real(v));
            json_array_append_new(left, json_integer(-1));
            json_array_append_new(right, json_integer(-1));
            json_array_append_new(defl, json_integer(0));
            continue;
        }
        long long f = int_of(json_array_get(si, s));
        if (l >= (long long)n || r < 0 || r >= (long long)n || f < 0 ||
            f >= (long long)num_features || tail + 2 > n) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "gbt: XGBoost tree %zu node %zu: children %lld "
                               "%lld, feature %lld out of range",
                               ti, s, l, r, f);
            goto out;
        }
        json_array_append_new(feature, json_integer(f));
        json_array_append_new(value, json_real(v));
        json_array_append_new(left, json_integer((json_int_t)tail));
        json_array_append_new(right, json_integer((json_int_t)tail + 1));
        json_array_append_new(defl,
                              json_integer(int_of(json_array_get(dl, s)) != 0));
        queue[tail++] = (size_t)l;
        queue[tail++] = (size_t)r;
    }
    *out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "output",
                     (json_int_t)group, "feature", feature, "value", value,
                     "left", left, "right", right, "default_left", defl);
    feature = value = left = right = defl = NULL;
    if (*out == NULL)
        rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
out:
    free(queue);
    json_decref(feature);
    json_decref(value);
    json_decref(left);
    json_decref(right);
    json_decref(defl);
    return rc;
}

static json_t *feature_names(const cfx_transform_t *t, size_t n) {
    json_t *a = json_array();
    if (a == NULL)
        return NULL;
    if (t == NULL) {
        for (size_t i = 0; i < n; i++) {
            char name[32];
            snprintf(name, sizeof name, "f%zu", i);
            json_array_append_new(a, json_string(name));
        }
        return a;
    }
    size_t nd = cfx_transform_num_dense(t),
           nc = cfx_transform_num_categorical(t);
    for (size_t i = 0; i < nd + nc; i++)
        json_array_append_new(a, json_null());
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
        const cfx_xf_output_t *o = cfx_transform_output(t, i);
        json_array_set_new(a, o->kind == CFX_XF_DENSE ? o->slot : nd + o->slot,
                           json_string(o->name));
    }
    return a;
}

int cfx_gbt_from_xgboost_json(const char *text, size_t len,
                              const cfx_transform_t *t, json_t **out,
                              cfx_error_t *err) {
    int rc = 0;
    json_error_t jerr;
    json_t *trees = NULL, *base = NULL;
    *out = NULL;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (root == NULL)
        return cfx_error_set(err, CFX_EPARSE, "gbt: XGBoost model JSON:%d: %s",
                             jerr.line, jerr.text);
    json_t *learner = json_object_get(root, "learner");
    json_t *param = json_object_get(learner, "learner_model_param");
    json_t *gb = json_object_get(learner, "gradient_booster");
    json_t *model = json_object_get(gb, "model");
    json_t *xtrees = json_object_get(model, "trees"),
           *info = json_object_get(model, "tree_info");
    const char *obj = json_string_value(
        json_object_get(json_object_get(learner, "objective"), "name"));
    const char *gbname = json_string_value(json_object_get(gb, "name"));
    if (!json_is_array(xtrees) || !json_is_array(info) ||
        json_array_size(info) != json_array_size(xtrees) || obj == NULL ||
        gbname == NULL) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "gbt: XGBoost model JSON: learner.gradient_booster."
                           "model.trees, tree_info or the objective is "
                           "missing");
        goto out;
    }
    if (strcmp(gbname, "gbtree") != 0) {
        rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                           "gbt: booster '%s' (only gbtree)", gbname);
        goto out;
    }
    double bs = num_str(json_object_get(param, "base_score"));
    long long ncls = (long long)num_str(json_object_get(param, "num_class"));
    long long nfeat = (long long)num_str(json_object_get(param, "num_feature"));
    size_t no = ncls > 1 ? (size_t)ncls : 1;
    if (!isfinite(bs) || nfeat < 1 || no > CFX_TREES_MAX_OUTPUTS) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "gbt: XGBoost model JSON: base_score, num_feature "
                           "or num_class out of range");
        goto out;
    }
    double margin;
    if (!strcmp(obj, "binary:logistic")) {
        if (!(bs > 0 && bs < 1)) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "gbt: base_score %g outside (0, 1)", bs);
            goto out;
        }
        margin = log(bs / (1 - bs));
    } else if (!strcmp(obj, "multi:softprob") ||
               !strcmp(obj, "multi:softmax") ||
               !strcmp(obj, "reg:squarederror") ||
               !strcmp(obj, "reg:pseudohubererror")) {
        margin = bs;
    } else {
        rc = cfx_error_set(err, CFX_EUNSUPPORTED,
                           "gbt: objective '%s' is not supported", obj);
        goto out;
    }
    if (t && cfx_transform_num_dense(t) + cfx_transform_num_categorical(t) !=
                 (size_t)nfeat) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "gbt: the model has %lld features, the transform "
                           "graph %zu outputs",
                           nfeat,
                           cfx_transform_num_dense(t) +
                               cfx_transform_num_categorical(t));
        goto out;
    }
    trees = json_array();
    base = json_array();
    if (!trees || !base) {
        rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
        goto out;
    }
    for (size_t k = 0; k < no; k++)
        json_array_append_new(base, json_real(margin));
    for (size_t i = 0; i < json_array_size(xtrees); i++) {
        long long g = int_of(json_array_get(info, i));
        json_t *ct = NULL;
        if (g < 0 || g >= (long long)no) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "gbt: tree_info[%zu] = %lld outside [0, %zu)", i,
                               g, no);
            goto out;
        }
        if ((rc = convert_tree(json_array_get(xtrees, i), i, g, (size_t)nfeat,
                               &ct, err)) != 0)
            goto out;
        json_array_append_new(trees, ct);
    }
    json_t *names = feature_names(t, (size_t)nfeat);
    *out = json_pack("{s:s, s:i, s:s, s:o, s:I, s:o, s:o}", "format",
                     "cfx-trees", "version", 1, "objective", obj, "features",
                     names, "num_outputs", (json_int_t)no, "base_margin", base,
                     "trees", trees);
    base = trees = NULL;
    if (*out == NULL)
        rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
out:
    json_decref(root);
    json_decref(trees);
    json_decref(base);
    return rc;
}

/* ---- training ------------------------------------------------------------ */

/* Rows of ds (all, or those with keep[i] == want) as XGBoost's dense
 * matrix with labels. */
static int make_dmatrix(const cfx_dataset_t *ds, const uint8_t *keep,
                        uint8_t want, DMatrixHandle *out, size_t *rows,
                        cfx_error_t *err) {
    size_t nd = ds->num_dense, nc = ds->num_categorical, nf = nd + nc, n = 0;
    float *x = malloc((ds->n * nf + 1) * sizeof *x);
    float *y = malloc((ds->n + 1) * sizeof *y);
    int rc = 0;
    if (x == NULL || y == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
        goto out;
    }
    for (size_t i = 0; i < ds->n; i++) {
        if (keep && keep[i] != want)
            continue;
        memcpy(x + n * nf, ds->dense + i * nd, nd * sizeof *x);
        for (size_t c = 0; c < nc; c++)
            x[n * nf + nd + c] = (float)ds->cat[i * nc + c];
        y[n++] = ds->label[i];
    }
    *rows = n;
    XGB(XGDMatrixCreateFromMat(x, n, nf, NAN, out), "creating the matrix");
    XGB(XGDMatrixSetFloatInfo(*out, "label", y, n), "setting labels");
out:
    free(x);
    free(y);
    return rc;
}

/* Labels of the rows XGBoost holds, for metrics. */
static int labels_of(DMatrixHandle d, const float **y, size_t *n,
                     cfx_error_t *err) {
    int rc = 0;
    bst_ulong len = 0;
    XGB(XGDMatrixGetFloatInfo(d, "label", &len, y), "reading labels");
    *n = (size_t)len;
out:
    return rc;
}

/* Metrics of the current booster over d (in the prediction cache). */
static int metrics_of(BoosterHandle b, DMatrixHandle d, const cfx_head_t *h,
                      size_t K, cfx_train_metrics_t *m, cfx_error_t *err) {
    int rc = 0;
    bst_ulong len = 0;
    const float *margin = NULL, *y = NULL;
    size_t n = 0;
    float *p = NULL;
    XGB(XGBoosterPredict(b, d, 1, 0, 0, &len, &margin), "predicting");
    if ((rc = labels_of(d, &y, &n, err)) != 0)
        goto out;
    if ((size_t)len != n * K) {
        rc = cfx_error_set(err, CFX_EINTERNAL,
                           "gbt: %llu margins for %zu rows of %zu outputs",
                           (unsigned long long)len, n, K);
        goto out;
    }
    if ((p = malloc((len + 1) * sizeof *p)) == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
        goto out;
    }
    cfx_head_apply(h, margin, n, p);
    cfx_train_metrics_compute_task(h->task, K, p, y, n, m);
out:
    free(p);
    return rc;
}

static int set_param(BoosterHandle b, const char *k, const char *fmt,
                     double v) {
    char s[64];
    snprintf(s, sizeof s, fmt, v);
    return XGBoosterSetParam(b, k, s);
}

/* The booster's parameters (gbt_config.h, the objective of the head). */
static int configure(BoosterHandle b, const cfx_trainer_config_t *cfg,
                     const cfx_head_t *hp, size_t K, double mean,
                     const char *objective, const char *metric,
                     cfx_error_t *err) {
    const cfx_gbt_config_t *g = &cfg->gbt;
    cfx_head_t h = *hp;
    int rc = 0;
    XGB(XGBoosterSetParam(b, "verbosity", "0"), "verbosity");
    XGB(XGBoosterSetParam(b, "booster", "gbtree"), "booster");
    XGB(XGBoosterSetParam(b, "tree_method", "hist"), "tree_method");
    XGB(XGBoosterSetParam(b, "objective", objective), "objective");
    XGB(XGBoosterSetParam(b, "eval_metric", metric), "eval_metric");
    if (h.task == CFX_TASK_MULTICLASS)
        XGB(set_param(b, "num_class", "%.0f", (double)K), "num_class");
    if (h.task == CFX_TASK_REGRESSION && cfg->loss.huber)
        XGB(set_param(b, "huber_slope", "%.17g", cfg->loss.huber_delta),
            "huber_slope");
    XGB(set_param(b, "base_score", "%.17g", mean), "base_score");
    XGB(set_param(b, "eta", "%.17g", g->learning_rate), "eta");
    XGB(set_param(b, "max_depth", "%.0f", (double)g->max_depth), "max_depth");
    XGB(set_param(b, "min_child_weight", "%.17g", g->min_child_weight),
        "min_child_weight");
    XGB(set_param(b, "lambda", "%.17g", g->l2), "lambda");
    XGB(set_param(b, "alpha", "%.17g", g->l1), "alpha");
    XGB(set_param(b, "gamma", "%.17g", g->gamma), "gamma");
    XGB(set_param(b, "subsample", "%.17g", g->subsample), "subsample");
    XGB(set_param(b, "colsample_bytree", "%.17g", g->colsample_bytree),
        "colsample_bytree");
    XGB(set_param(b, "max_bin", "%.0f", (double)g->max_bin), "max_bin");
    XGB(set_param(b, "nthread", "%.0f", (double)g->nthread), "nthread");
    XGB(set_param(b, "seed", "%.0f", (double)(cfg->seed % 2147483647u)),
        "seed");
out:
    return rc;
}

int cfx_gbt_fit(const cfx_trainer_config_t *cfg, const cfx_transform_t *t,
                const cfx_head_t *head, const cfx_dataset_t *train,
                const cfx_dataset_t *eval, cfx_trainer_log_fn log,
                void *log_ctx, FILE *progress, json_t **trees_out,
                cfx_gbt_result_t *res, cfx_train_metrics_t *final_eval,
                cfx_error_t *err) {
    return cfx_gbt_fit_booster(cfg, t, head, train, eval, log, log_ctx,
                               progress, trees_out, NULL, res, final_eval, err);
}

int cfx_gbt_fit_booster(const cfx_trainer_config_t *cfg,
                        const cfx_transform_t *t, const cfx_head_t *head,
                        const cfx_dataset_t *train, const cfx_dataset_t *eval,
                        cfx_trainer_log_fn log, void *log_ctx, FILE *progress,
                        json_t **trees_out, void **booster_out,
                        cfx_gbt_result_t *res, cfx_train_metrics_t *final_eval,
                        cfx_error_t *err) {
    const cfx_gbt_config_t *g = &cfg->gbt;
    int rc = 0;
    DMatrixHandle dfit = NULL, dvalid = NULL, deval = NULL, dall = NULL;
    BoosterHandle b = NULL, kept = NULL, refit = NULL;
    uint8_t *valid = NULL;
    cfx_trees_t *tr = NULL;
    float *p = NULL, *x = NULL;
    const char *dump = NULL;
    bst_ulong dump_len = 0;
    *trees_out = NULL;
    if (booster_out)
        *booster_out = NULL;
    memset(res, 0, sizeof *res);
    res->valid_loss = NAN;
    cfx_head_t h = *head; /* trees predict the value itself */
    h.label_mean = 0.0;
    h.label_std = 1.0;
    size_t K = h.task == CFX_TASK_MULTICLASS ? h.num_classes : 1;
    if (train->n == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "train: the train split has no rows");
    /* the validation slice: a hash of the seed and the row number */
    if (g->early_stopping_rounds) {
        if ((valid = calloc(train->n, 1)) == NULL)
            return cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
        for (size_t i = 0; i < train->n; i++) {
            uint64_t s = cfg->seed ^ (0x9E3779B97F4A7C15ull * (i + 1));
            valid[i] = cfx_rng_uniform(&s) < g->validation_fraction;
        }
    }
    if ((rc = make_dmatrix(train, valid, 0, &dfit, &res->fit_rows, err)) != 0)
        goto out;
    if (valid && (rc = make_dmatrix(train, valid, 1, &dvalid, &res->valid_rows,
                                    err)) != 0)
        goto out;
    if (res->fit_rows == 0 || (valid && res->valid_rows == 0)) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "gbt: %zu train rows are too few to hold out a "
                           "validation slice (early_stopping_rounds 0 trains "
                           "on all)",
                           train->n);
        goto out;
    }
    size_t ne = 0;
    if (eval && eval->n &&
        (rc = make_dmatrix(eval, NULL, 0, &deval, &ne, err)) != 0)
        goto out;
    DMatrixHandle cache[3] = {dfit, dvalid, deval};
    size_t ncache = 1;
    if (dvalid)
        cache[ncache++] = dvalid;
    if (deval)
        cache[ncache++] = deval;
    XGB(XGBoosterCreate(cache, ncache, &b), "creating the booster");
    /* base_score: the configured value, else the train label's mean (its
     * rate for a binary label) */
    double mean = 0.5;
    if ((rc = cfx_gbt_config_check_task(&cfg->gbt, h.task, "gbt", err)) != 0)
        goto out;
    if (h.task != CFX_TASK_MULTICLASS && !isnan(cfg->gbt.base_score)) {
        mean = cfg->gbt.base_score;
    } else if (h.task != CFX_TASK_MULTICLASS) {
        double s = 0;
        for (size_t i = 0; i < train->n; i++)
            s += train->label[i];
        mean = s / (double)train->n;
        if (h.task == CFX_TASK_BINARY)
            mean = mean < 1e-6 ? 1e-6 : mean > 1 - 1e-6 ? 1 - 1e-6 : mean;
    }
    const char *objective = "binary:logistic", *metric = "logloss";
    if (h.task == CFX_TASK_MULTICLASS) {
        objective = "multi:softprob";
        metric = "mlogloss";
    } else if (h.task == CFX_TASK_REGRESSION) {
        objective =
            cfg->loss.huber ? "reg:pseudohubererror" : "reg:squarederror";
        metric = cfg->loss.huber ? "mphe" : "rmse";
    }
    if ((rc = configure(b, cfg, &h, K, mean, objective, metric, err)) != 0)
        goto out;
    double best = INFINITY, t0 = cfx_clock_mono_s(), last_progress = -1;
    size_t best_round = 0, r;
    for (r = 0; r < g->num_rounds; r++) {
        XGB(XGBoosterUpdateOneIter(b, (int)r, dfit), "boosting");
        if (dvalid) {
            const char *s = NULL, *names[1] = {"valid"};
            XGB(XGBoosterEvalOneIter(b, (int)r, &dvalid, names, 1, &s),
                "validation loss");
            const char *c = strrchr(s, ':');
            double v = c ? strtod(c + 1, NULL) : NAN;
            if (!isfinite(v)) {
                rc =
                    cfx_error_set(err, CFX_EINTERNAL,
                                  "gbt: round %zu: validation loss '%s'", r, s);
                goto out;
            }
            if (v < best) {
                best = v;
                best_round = r;
            }
        } else {
            best_round = r;
        }
        int last = r + 1 == g->num_rounds ||
                   (dvalid && r - best_round >= g->early_stopping_rounds);
        if ((r + 1) % g->log_every_rounds == 0 || last) {
            cfx_train_metrics_t m;
            if ((rc = metrics_of(b, dfit, &h, K, &m, err)) != 0 ||
                (log && (rc = log(log_ctx, "train", r + 1, &m, err)) != 0))
                goto out;
            if (deval &&
                ((rc = metrics_of(b, deval, &h, K, &m, err)) != 0 ||
                 (log && (rc = log(log_ctx, "eval", r + 1, &m, err)) != 0)))
                goto out;
        }
        double el = cfx_clock_mono_s() - t0;
        if (progress && (el - last_progress >= 0.2 || last)) {
            last_progress = el;
            fprintf(progress, "\rround %zu/%zu", r + 1, g->num_rounds);
            if (dvalid)
                fprintf(progress, "  validation %s %.5f (best round %zu)",
                        metric, best, best_round + 1);
            fprintf(progress, "  %.1fs   %s", el, last ? "\n" : "");
            fflush(progress);
        }
        if (last) {
            r++;
            break;
        }
    }
    res->rounds = r;
    res->kept_rounds = best_round + 1;
    res->valid_loss = dvalid ? best : NAN;
    if (g->refit && dvalid) {
        /* as many rounds per row on all train rows as the slice chose */
        size_t R = (size_t)ceil((double)res->kept_rounds * (double)train->n /
                                (double)res->fit_rows);
        size_t nall = 0;
        if ((rc = make_dmatrix(train, NULL, 0, &dall, &nall, err)) != 0)
            goto out;
        DMatrixHandle c2[2] = {dall, deval};
        XGB(XGBoosterCreate(c2, deval ? 2 : 1, &refit), "creating the booster");
        if ((rc = configure(refit, cfg, &h, K, mean, objective, metric, err)) !=
            0)
            goto out;
        for (size_t i = 0; i < R; i++)
            XGB(XGBoosterUpdateOneIter(refit, (int)i, dall), "boosting");
        res->refit_rounds = R;
        if (progress)
            fprintf(progress, "refit on all %zu train rows: %zu rounds\n",
                    train->n, R);
    }
    if (!refit && res->kept_rounds < res->rounds)
        XGB(XGBoosterSlice(b, 0, (int)res->kept_rounds, 1, &kept),
            "keeping the best round");
    XGB(XGBoosterSaveModelToBuffer(refit  ? refit
                                   : kept ? kept
                                          : b,
                                   "{\"format\": \"json\"}", &dump_len, &dump),
        "saving the model");
    if ((rc = cfx_gbt_from_xgboost_json(dump, (size_t)dump_len, t, trees_out,
                                        err)) != 0 ||
        (rc = cfx_trees_from_json(*trees_out, "trees.json", t, &tr, err)) != 0)
        goto out;
    res->num_trees = cfx_trees_num_trees(tr);
    res->num_nodes = cfx_trees_num_nodes(tr);
    if (deval) {
        /* the final eval metrics from cfx's evaluator, as served */
        size_t nd = eval->num_dense, nc = eval->num_categorical;
        if ((p = malloc((eval->n * K + 1) * sizeof *p)) == NULL ||
            (x = malloc((eval->n * (nd + nc) + 1) * sizeof *x)) == NULL) {
            rc = cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
            goto out;
        }
        for (size_t i = 0; i < eval->n; i++) {
            memcpy(x + i * (nd + nc), eval->dense + i * nd, nd * sizeof *x);
            for (size_t c = 0; c < nc; c++)
                x[i * (nd + nc) + nd + c] = (float)eval->cat[i * nc + c];
        }
        cfx_trees_predict_rows(tr, x, eval->n, p);
        cfx_head_apply(&h, p, eval->n, p);
        cfx_train_metrics_t m;
        cfx_train_metrics_compute_task(h.task, K, p, eval->label, eval->n, &m);
        if (final_eval)
            *final_eval = m;
        if (log && (rc = log(log_ctx, "eval",
                             refit ? res->refit_rounds : res->kept_rounds, &m,
                             err)) != 0)
            goto out;
    }
    if (booster_out) { /* the caller's now */
        if (refit) {
            *booster_out = refit;
            refit = NULL;
        } else if (kept) {
            *booster_out = kept;
            kept = NULL;
        } else {
            *booster_out = b;
            b = NULL;
        }
    }
out:
    if (rc != 0) {
        json_decref(*trees_out);
        *trees_out = NULL;
    }
    cfx_trees_free(tr);
    free(p);
    free(x);
    free(valid);
    if (kept)
        XGBoosterFree(kept);
    if (refit)
        XGBoosterFree(refit);
    if (dall)
        XGDMatrixFree(dall);
    if (b)
        XGBoosterFree(b);
    if (dfit)
        XGDMatrixFree(dfit);
    if (dvalid)
        XGDMatrixFree(dvalid);
    if (deval)
        XGDMatrixFree(deval);
    return rc;
}

int cfx_gbt_bundle_add(cfx_bundle_writer_t *w, json_t *manifest, json_t *trees,
                       const cfx_gbt_result_t *res, cfx_error_t *err) {
    char *text = json_dumps(trees, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (text == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
    int rc = cfx_bundle_writer_add(w, CFX_TREES_FILE, text, strlen(text), err);
    free(text);
    if (rc != 0)
        return rc;
    json_t *obj = json_object_get(trees, "objective");
    json_t *s =
        json_pack("{s:s, s:s, s:O, s:I, s:I, s:I, s:I}", "type", "gbt", "file",
                  CFX_TREES_FILE, "objective", obj ? obj : json_null(),
                  "num_trees", (json_int_t)res->num_trees, "num_nodes",
                  (json_int_t)res->num_nodes, "rounds", (json_int_t)res->rounds,
                  "kept_rounds", (json_int_t)res->kept_rounds);
    if (s == NULL || json_object_set_new(manifest, "trees", s) < 0)
        return cfx_error_set(err, CFX_ENOMEM, "gbt: out of memory");
    return 0;
}
