/* trainer_config.c: reading the trainer's JSON configuration
 * (trainer_config.h). */
#include "train/trainer_config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formats/suggest.h"

#define MAX_STEPS 100000000u
#define MAX_BATCH 65536u

void cfx_trainer_config_default(cfx_trainer_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->model_name, sizeof cfg->model_name, "taxi");
    cfg->num_hidden = 4;
    cfg->hidden[0] = 100;
    cfg->hidden[1] = 70;
    cfg->hidden[2] = 48;
    cfg->hidden[3] = 34;
    cfg->deep_categorical = 1;
    cfg->learning_rate = 0.001;
    cfg->beta_1 = 0.9;
    cfg->beta_2 = 0.999;
    cfg->epsilon = 1e-7;
    cfg->batch_size = 40;
    cfg->train_steps = 10000;
    cfg->eval_steps = 5000;
    cfg->log_every_steps = 100;
    cfg->eval_every_steps = 1000;
    cfg->seed = 42;
    cfx_trainer_loss_default(&cfg->loss);
    cfx_gbt_config_default(&cfg->gbt);
    cfg->early_stopping_evals = 5;
    cfg->lr_decay_rate = 1.0;
}

static int get_size(const char *path, const char *key, json_t *v, size_t lo,
                    size_t hi, size_t *out, cfx_error_t *err) {
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        json_integer_value(v) > (json_int_t)hi)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: '%s': expected an integer in [%zu, %zu]",
                             path, key, lo, hi);
    *out = (size_t)json_integer_value(v);
    return 0;
}

static int get_double(const char *path, const char *key, json_t *v, double lo,
                      double hi, double *out, cfx_error_t *err) {
    if (!json_is_number(v) ||
        !(json_number_value(v) >= lo && json_number_value(v) <= hi))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: '%s': expected a number in [%g, %g]", path,
                             key, lo, hi);
    *out = json_number_value(v);
    return 0;
}

/* "embedding_dim": N, or {"<output>": N, ...} with 1..MAX_DEEP entries. */
static int get_embedding_dim(const char *path, json_t *v,
                             cfx_trainer_config_t *cfg, cfx_error_t *err) {
    cfg->embedding_dim = 0;
    cfg->num_embedding_features = 0;
    if (json_is_integer(v))
        return get_size(path, "embedding_dim", v, 0, CFX_NET_MAX_EMBEDDING_DIM,
                        &cfg->embedding_dim, err);
    if (!json_is_object(v) || json_object_size(v) < 1 ||
        json_object_size(v) > CFX_TRAINER_MAX_DEEP)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: 'embedding_dim': expected an integer in [0, "
                             "%d] or an object of 1..%d output names to "
                             "integers",
                             path, CFX_NET_MAX_EMBEDDING_DIM,
                             CFX_TRAINER_MAX_DEEP);
    const char *name;
    json_t *d;
    json_object_foreach(v, name, d) {
        size_t i = cfg->num_embedding_features;
        char key[160];
        snprintf(key, sizeof key, "embedding_dim.%s", name);
        if (strlen(name) == 0 ||
            strlen(name) >= sizeof cfg->embedding_features[i])
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: 'embedding_dim': expected output names",
                                 path);
        int rc = get_size(path, key, d, 1, CFX_NET_MAX_EMBEDDING_DIM,
                          &cfg->embedding_dims[i], err);
        if (rc != 0)
            return rc;
        snprintf(cfg->embedding_features[i], sizeof cfg->embedding_features[i],
                 "%s", name);
        cfg->num_embedding_features++;
    }
    return 0;
}

int cfx_trainer_config_load(const char *path, cfx_trainer_config_t *cfg,
                            cfx_error_t *err) {
    int rc = 0;
    cfx_trainer_config_default(cfg);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, jerr.line,
                             jerr.column, jerr.text);
    if (!json_is_object(root)) {
        rc = cfx_error_set(err, CFX_EPARSE, "%s: expected a JSON object", path);
        goto out;
    }
    size_t first = 0, layers = 0;
    double decay = 0.7;
    int have_first = 0, have_layers = 0, have_decay = 0, have_units = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "comment")) {
            /* a note for the reader (cfx init writes why it chose) */
            if (!json_is_string(v))
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "%s: 'comment': expected a string", path);
        } else if (!strcmp(key, "model_name")) {
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                json_string_length(v) >= sizeof cfg->model_name) {
                rc = cfx_error_set(
                    err, CFX_EINVAL,
                    "%s: 'model_name': expected a non-empty string", path);
                goto out;
            }
            snprintf(cfg->model_name, sizeof cfg->model_name, "%s",
                     json_string_value(v));
        } else if (!strcmp(key, "first_dnn_layer_size")) {
            rc = get_size(path, key, v, 1, CFX_NET_MAX_WIDTH, &first, err);
            have_first = 1;
        } else if (!strcmp(key, "num_dnn_layers")) {
            rc = get_size(path, key, v, 1, CFX_NET_MAX_HIDDEN, &layers, err);
            have_layers = 1;
        } else if (!strcmp(key, "dnn_decay_factor")) {
            rc = get_double(path, key, v, 0.01, 1.0, &decay, err);
            have_decay = 1;
        } else if (!strcmp(key, "hidden_units")) {
            if (!json_is_array(v) || json_array_size(v) < 1 ||
                json_array_size(v) > CFX_NET_MAX_HIDDEN) {
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "%s: 'hidden_units': expected 1..%d widths",
                                   path, CFX_NET_MAX_HIDDEN);
                goto out;
            }
            cfg->num_hidden = json_array_size(v);
            for (size_t i = 0; i < cfg->num_hidden && rc == 0; i++)
                rc = get_size(path, key, json_array_get(v, i), 1,
                              CFX_NET_MAX_WIDTH, &cfg->hidden[i], err);
            have_units = 1;
        } else if (!strcmp(key, "deep_categorical")) {
            if (json_is_array(v) && json_array_size(v) >= 1 &&
                json_array_size(v) <= CFX_TRAINER_MAX_DEEP) {
                cfg->deep_categorical = 1;
                cfg->num_deep_features = json_array_size(v);
                for (size_t i = 0; i < cfg->num_deep_features; i++) {
                    json_t *s = json_array_get(v, i);
                    if (!json_is_string(s) || json_string_length(s) == 0 ||
                        json_string_length(s) >= sizeof cfg->deep_features[i]) {
                        rc = cfx_error_set(err, CFX_EINVAL,
                                           "%s: 'deep_categorical'[%zu]: "
                                           "expected an output name",
                                           path, i);
                        goto out;
                    }
                    snprintf(cfg->deep_features[i],
                             sizeof cfg->deep_features[i], "%s",
                             json_string_value(s));
                }
            } else if (json_is_boolean(v)) {
                cfg->deep_categorical = json_is_true(v);
                cfg->num_deep_features = 0;
            } else {
                rc = cfx_error_set(
                    err, CFX_EINVAL,
                    "%s: 'deep_categorical': expected true, false or a list of "
                    "1..%d output names",
                    path, CFX_TRAINER_MAX_DEEP);
                goto out;
            }
        } else if (!strcmp(key, "embedding_dim")) {
            rc = get_embedding_dim(path, v, cfg, err);
        } else if (!strcmp(key, "dropout")) {
            if (json_is_number(v) && json_number_value(v) >= 0.0 &&
                json_number_value(v) < 1.0)
                cfg->dropout = json_number_value(v);
            else
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "%s: 'dropout': expected a rate in [0, 1)",
                                   path);
        } else if (!strcmp(key, "learning_rate")) {
            rc = get_double(path, key, v, 1e-9, 10.0, &cfg->learning_rate, err);
        } else if (!strcmp(key, "beta_1")) {
            rc = get_double(path, key, v, 0.0, 0.999999, &cfg->beta_1, err);
        } else if (!strcmp(key, "beta_2")) {
            rc = get_double(path, key, v, 0.0, 0.999999, &cfg->beta_2, err);
        } else if (!strcmp(key, "epsilon")) {
            rc = get_double(path, key, v, 1e-12, 1.0, &cfg->epsilon, err);
        } else if (!strcmp(key, "batch_size")) {
            rc = get_size(path, key, v, 1, MAX_BATCH, &cfg->batch_size, err);
        } else if (!strcmp(key, "train_steps")) {
            rc = get_size(path, key, v, 1, MAX_STEPS, &cfg->train_steps, err);
        } else if (!strcmp(key, "eval_steps")) {
            rc = get_size(path, key, v, 1, MAX_STEPS, &cfg->eval_steps, err);
        } else if (!strcmp(key, "log_every_steps")) {
            rc = get_size(path, key, v, 1, MAX_STEPS, &cfg->log_every_steps,
                          err);
        } else if (!strcmp(key, "eval_every_steps")) {
            rc = get_size(path, key, v, 1, MAX_STEPS, &cfg->eval_every_steps,
                          err);
        } else if (!strcmp(key, "seed")) {
            size_t s = 0;
            rc = get_size(path, key, v, 0, (size_t)INT64_MAX, &s, err);
            cfg->seed = s;
        } else if (!strcmp(key, "loss")) {
            if (json_is_string(v) &&
                !strcmp(json_string_value(v), "squared_error"))
                cfg->loss.huber = 0;
            else if (json_is_string(v) &&
                     !strcmp(json_string_value(v), "huber"))
                cfg->loss.huber = 1;
            else
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "%s: 'loss': expected \"squared_error\" or "
                                   "\"huber\" (a regression's loss)",
                                   path);
        } else if (!strcmp(key, "validation_fraction")) {
            rc = get_double(path, key, v, 0.0, 0.5, &cfg->validation_fraction,
                            err);
        } else if (!strcmp(key, "early_stopping_evals")) {
            rc = get_size(path, key, v, 1, MAX_STEPS,
                          &cfg->early_stopping_evals, err);
        } else if (!strcmp(key, "l2")) {
            rc = get_double(path, key, v, 0.0, 1.0, &cfg->l2, err);
        } else if (!strcmp(key, "lr_decay_steps")) {
            rc =
                get_size(path, key, v, 0, MAX_STEPS, &cfg->lr_decay_steps, err);
        } else if (!strcmp(key, "lr_decay_rate")) {
            rc = get_double(path, key, v, 1e-6, 1.0, &cfg->lr_decay_rate, err);
        } else if (!strcmp(key, "model")) {
            const char *mv = json_string_value(v);
            if (mv && (!strcmp(mv, "wide_deep") || !strcmp(mv, "gbt")))
                cfg->model_gbt = !strcmp(mv, "gbt");
            else
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "%s: 'model': expected \"wide_deep\" or "
                                   "\"gbt\"",
                                   path);
        } else if (!strcmp(key, "gbt")) {
            rc = cfx_gbt_config_parse(v, path, &cfg->gbt, err);
        } else if (!strcmp(key, "huber_delta")) {
            rc = get_double(path, key, v, 1e-12, 1e12, &cfg->loss.huber_delta,
                            err);
        } else {
            static const char *const known[] = {"comment",
                                                "model_name",
                                                "first_dnn_layer_size",
                                                "num_dnn_layers",
                                                "dnn_decay_factor",
                                                "hidden_units",
                                                "deep_categorical",
                                                "embedding_dim",
                                                "dropout",
                                                "learning_rate",
                                                "beta_1",
                                                "beta_2",
                                                "epsilon",
                                                "batch_size",
                                                "train_steps",
                                                "eval_steps",
                                                "log_every_steps",
                                                "eval_every_steps",
                                                "seed",
                                                "loss",
                                                "huber_delta",
                                                "model",
                                                "gbt",
                                                "validation_fraction",
                                                "early_stopping_evals",
                                                "l2",
                                                "lr_decay_steps",
                                                "lr_decay_rate",
                                                NULL};
            char hint[160];
            rc = cfx_error_set(
                err, CFX_EINVAL, "%s: unknown key '%s'%s", path, key,
                cfx_suggest_hint(hint, sizeof hint, key, known, (size_t)-1));
        }
        if (rc != 0)
            goto out;
    }
    if (have_units && (have_first || have_layers || have_decay)) {
        rc = cfx_error_set(err, CFX_EINVAL,
                           "%s: give either 'hidden_units' or "
                           "first_dnn_layer_size/num_dnn_layers/"
                           "dnn_decay_factor, not both",
                           path);
        goto out;
    }
    if (have_first || have_layers || have_decay) {
        if (!have_first)
            first = 100;
        if (!have_layers)
            layers = 4;
        cfg->num_hidden = layers;
        for (size_t i = 0; i < layers; i++) {
            double w = floor((double)first * pow(decay, (double)i));
            cfg->hidden[i] = w < 2 ? 2 : (size_t)w;
        }
    }
out:
    json_decref(root);
    return rc;
}
