/* gbt_config.c: the "gbt" object of the trainer's JSON (gbt_config.h). */
#include "train/gbt_config.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "formats/suggest.h"

void cfx_gbt_config_default(cfx_gbt_config_t *c) {
    memset(c, 0, sizeof *c);
    c->num_rounds = 500;
    c->learning_rate = 0.05;
    c->max_depth = 5;
    c->min_child_weight = 1.0;
    c->l2 = 1.0;
    c->l1 = 0.0;
    c->gamma = 0.0;
    c->subsample = 1.0;
    c->colsample_bytree = 1.0;
    c->max_bin = 256;
    c->early_stopping_rounds = 30;
    c->validation_fraction = 0.1;
    c->log_every_rounds = 10;
    c->nthread = 1;
    c->base_score = NAN;
}

int cfx_gbt_config_check_task(const cfx_gbt_config_t *c, cfx_task_t task,
                              const char *path, cfx_error_t *err) {
    if (isnan(c->base_score))
        return 0;
    if (task == CFX_TASK_MULTICLASS)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: 'gbt'.'base_score': a multi-class label "
                             "starts every class at 0.5; leave it \"mean\"",
                             path);
    if (task == CFX_TASK_BINARY && !(c->base_score > 0 && c->base_score < 1))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: 'gbt'.'base_score' %g: a binary label needs "
                             "a probability in (0, 1)",
                             path, c->base_score);
    return 0;
}

typedef struct key {
    const char *name;
    int integer; /* else a number; 2: a boolean */
    double lo, hi;
    size_t off;
} key_t_;

#define SZ(f) offsetof(cfx_gbt_config_t, f)
static const key_t_ keys[] = {
    {"num_rounds", 1, 1, 100000, SZ(num_rounds)},
    {"learning_rate", 0, 1e-6, 1.0, SZ(learning_rate)},
    {"max_depth", 1, 1, 16, SZ(max_depth)},
    {"min_child_weight", 0, 0, 1e9, SZ(min_child_weight)},
    {"l2", 0, 0, 1e9, SZ(l2)},
    {"l1", 0, 0, 1e9, SZ(l1)},
    {"gamma", 0, 0, 1e9, SZ(gamma)},
    {"subsample", 0, 1e-3, 1.0, SZ(subsample)},
    {"colsample_bytree", 0, 1e-3, 1.0, SZ(colsample_bytree)},
    {"max_bin", 1, 2, 65535, SZ(max_bin)},
    {"early_stopping_rounds", 1, 0, 100000, SZ(early_stopping_rounds)},
    {"validation_fraction", 0, 0.01, 0.5, SZ(validation_fraction)},
    {"log_every_rounds", 1, 1, 100000, SZ(log_every_rounds)},
    {"nthread", 1, 1, 256, SZ(nthread)},
    {"refit", 2, 0, 1, SZ(refit)},
    {"base_score", 0, 0, 0, SZ(base_score)}, /* "mean" or a number */
};
#undef SZ

int cfx_gbt_config_parse(json_t *obj, const char *path, cfx_gbt_config_t *c,
                         cfx_error_t *err) {
    if (!json_is_object(obj))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: 'gbt': expected an object of tree "
                             "hyper-parameters",
                             path);
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        const key_t_ *k = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(keys[i].name, name))
                k = &keys[i];
        if (k == NULL) {
            const char *known[sizeof keys / sizeof keys[0] + 1];
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                known[i] = keys[i].name;
            known[sizeof keys / sizeof keys[0]] = NULL;
            char hint[160];
            return cfx_error_set(
                err, CFX_EINVAL, "%s: 'gbt': unknown key '%s'%s", path, name,
                cfx_suggest_hint(hint, sizeof hint, name, known, (size_t)-1));
        }
        if (k->off == offsetof(cfx_gbt_config_t, base_score)) {
            if (json_is_string(v) && !strcmp(json_string_value(v), "mean")) {
                c->base_score = NAN;
                continue;
            }
            if (!json_is_number(v) || !isfinite(json_number_value(v)))
                return cfx_error_set(err, CFX_EINVAL,
                                     "%s: 'gbt'.'base_score': expected "
                                     "\"mean\" or a number",
                                     path);
            c->base_score = json_number_value(v);
            continue;
        }
        double x = json_number_value(v);
        if (k->integer == 2) {
            if (!json_is_boolean(v))
                return cfx_error_set(err, CFX_EINVAL,
                                     "%s: 'gbt'.'%s': expected true or false",
                                     path, name);
            *(int *)(void *)((char *)c + k->off) = json_is_true(v);
            continue;
        }
        if (k->integer ? !json_is_integer(v) : !json_is_number(v))
            x = -1e300;
        if (!(x >= k->lo && x <= k->hi))
            return cfx_error_set(
                err, CFX_EINVAL, "%s: 'gbt'.'%s': expected %s in [%g, %g]",
                path, name, k->integer ? "an integer" : "a number", k->lo,
                k->hi);
        char *field = (char *)c + k->off;
        if (k->integer)
            *(size_t *)(void *)field = (size_t)x;
        else
            *(double *)(void *)field = x;
    }
    return 0;
}
