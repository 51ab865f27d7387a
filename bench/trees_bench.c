/*
 * trees_bench.c: cfx's tree evaluator (model/trees.h) against XGBoost's
 * own predictor on the same trees and rows, in one process
 * (bench/gbt_bench.sh runs it; docs/BENCHMARKS.md, "Trees").
 *
 *   cfx-trees-bench TRANSFORMED_EXAMPLES TRANSFORM_GRAPH TRAINER_JSON [SEC]
 *
 * Trains the trainer config's gbt model on Split-train exactly as `cfx
 * train` does (same seed, same trees), converts it to cfx's format, then
 * over the rows of Split-eval times, for at least SEC seconds of process
 * CPU time each (default 2):
 *   cfx single       cfx_trees_predict_rows, one row per call
 *   cfx batched      every row in one call
 *   xgboost single   XGBoosterPredictFromDense (in-place), one row per call
 *   xgboost batched  the same, every row in one call
 * XGBoost runs on one thread (nthread 1), as cfx does. Prints the time per
 * row of each and the largest margin difference between the two.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xgboost/c_api.h>

#include "model/trees.h"
#include "train/gbt.h"
#include "train/trainer.h"

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "cfx-trees-bench: %s: %s\n", what, msg);
    exit(1);
}

/* XGBoost's array interface of n rows of nf floats at x. */
static void array_if(char *buf, size_t cap, const float *x, size_t n,
                     size_t nf) {
    snprintf(buf, cap,
             "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": "
             "\"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)x, n, nf);
}

static const char *PREDICT_CONFIG =
    "{\"type\": 1, \"training\": false, \"iteration_begin\": 0, "
    "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, "
    "\"cache_id\": 0}";

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: cfx-trees-bench TRANSFORMED_EXAMPLES "
                        "TRANSFORM_GRAPH TRAINER_JSON [SECONDS]\n");
        return 2;
    }
    double min_s = argc == 5 ? atof(argv[4]) : 2.0;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_trainer_config_t cfg;
    cfx_transform_t *t = NULL;
    cfx_dataset_t train, eval;
    char path[4096];
    if (cfx_trainer_config_load(argv[3], &cfg, &err) != 0)
        die(argv[3], err.msg);
    if (!cfg.model_gbt)
        die(argv[3], "not a gbt config (\"model\": \"gbt\")");
    if (cfx_transform_load(argv[2], &t, &err) != 0)
        die(argv[2], err.msg);
    snprintf(path, sizeof path, "%s/Split-train", argv[1]);
    if (cfx_dataset_load(path, t, &train, &err) != 0)
        die(path, err.msg);
    snprintf(path, sizeof path, "%s/Split-eval", argv[1]);
    if (cfx_dataset_load(path, t, &eval, &err) != 0)
        die(path, err.msg);
    cfx_head_t head;
    if (cfx_head_copy(&head, cfx_transform_label_head(t), &err) != 0)
        die("head", err.msg);
    json_t *trees = NULL;
    void *booster = NULL;
    cfx_gbt_result_t res;
    if (cfx_gbt_fit_booster(&cfg, t, &head, &train, NULL, NULL, NULL, NULL,
                            &trees, &booster, &res, NULL, &err) != 0)
        die("train", err.msg);
    cfx_trees_t *tr = NULL;
    if (cfx_trees_from_json(trees, "trees", t, &tr, &err) != 0)
        die("trees", err.msg);
    size_t nd = eval.num_dense, nc = eval.num_categorical, nf = nd + nc;
    size_t n = eval.n, K = cfx_trees_num_outputs(tr);
    float *x = malloc(n * nf * sizeof *x), *a = malloc(n * K * sizeof *a);
    float *b = malloc(n * K * sizeof *b);
    if (!x || !a || !b)
        die("bench", "out of memory");
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * nf, eval.dense + i * nd, nd * sizeof *x);
        for (size_t c = 0; c < nc; c++)
            x[i * nf + nd + c] = (float)eval.cat[i * nc + c];
    }
    printf("model      %zu trees, %zu nodes, depth <= %zu, %zu outputs; "
           "%zu eval rows of %zu features\n",
           cfx_trees_num_trees(tr), cfx_trees_num_nodes(tr),
           cfx_trees_max_depth(tr), K, n, nf);
    double t0, el, cfx1, cfxb, xgb1, xgbb;
    size_t done;
    char ai[256];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *out;
    /* cfx, one row per call */
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < n; i++)
            cfx_trees_predict_rows(tr, x + i * nf, 1, a + i * K);
        done += n;
    } while ((el = cpu_s() - t0) < min_s);
    cfx1 = el / (double)done * 1e6;
    done = 0;
    t0 = cpu_s();
    do {
        cfx_trees_predict_rows(tr, x, n, a);
        done += n;
    } while ((el = cpu_s() - t0) < min_s);
    cfxb = el / (double)done * 1e6;
    /* XGBoost, in-place prediction from a dense array */
    done = 0;
    t0 = cpu_s();
    do {
        for (size_t i = 0; i < n; i++) {
            array_if(ai, sizeof ai, x + i * nf, 1, nf);
            if (XGBoosterPredictFromDense(booster, ai, PREDICT_CONFIG, NULL,
                                          &shape, &dim, &out) != 0)
                die("XGBoosterPredictFromDense", XGBGetLastError());
            memcpy(b + i * K, out, K * sizeof *b);
        }
        done += n;
    } while ((el = cpu_s() - t0) < min_s);
    xgb1 = el / (double)done * 1e6;
    double worst = 0;
    for (size_t i = 0; i < n * K; i++)
        if (fabs((double)a[i] - (double)b[i]) > worst)
            worst = fabs((double)a[i] - (double)b[i]);
    done = 0;
    t0 = cpu_s();
    do {
        array_if(ai, sizeof ai, x, n, nf);
        if (XGBoosterPredictFromDense(booster, ai, PREDICT_CONFIG, NULL, &shape,
                                      &dim, &out) != 0)
            die("XGBoosterPredictFromDense", XGBGetLastError());
        done += n;
    } while ((el = cpu_s() - t0) < min_s);
    xgbb = el / (double)done * 1e6;
    for (size_t i = 0; i < n * K; i++)
        if (fabs((double)a[i] - (double)out[i]) > worst)
            worst = fabs((double)a[i] - (double)out[i]);
    printf("cfx        %.3f us/row single, %.3f us/row batched\n", cfx1, cfxb);
    printf("xgboost    %.3f us/row single, %.3f us/row batched\n", xgb1, xgbb);
    printf("ratio      xgboost/cfx %.1fx single, %.1fx batched; max |margin "
           "difference| %.3g\n",
           xgb1 / cfx1, xgbb / cfxb, worst);
    XGBoosterFree(booster);
    cfx_trees_free(tr);
    json_decref(trees);
    cfx_head_free(&head);
    cfx_dataset_free(&train);
    cfx_dataset_free(&eval);
    cfx_transform_free(t);
    free(x);
    free(a);
    free(b);
    return 0;
}
