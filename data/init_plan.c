/*
 * init_plan.c: the choices of `cfx init` (data/init_plan.h). Every rule is
 * written once here with the sentence that explains it, so what the user
 * reads is what decided.
 */
#include "data/init_plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/example.h"
#include "formats/tfrecord.h"

static const char *const task_names[] = {"auto", "binary", "multiclass",
                                         "regression"};

const char *cfx_init_task_name(cfx_init_task_t t) {
    return (unsigned)t < 4 ? task_names[t] : "?";
}

int cfx_init_task_parse(const char *s, cfx_init_task_t *t) {
    for (unsigned i = 0; i < 4; i++)
        if (!strcmp(s, task_names[i])) {
            *t = (cfx_init_task_t)i;
            return 0;
        }
    return -1;
}

const char *cfx_init_op_name(cfx_init_op_t op) {
    switch (op) {
    case CFX_INIT_OP_Z_SCORE:
        return "z_score";
    case CFX_INIT_OP_LOG_Z_SCORE:
        return "log_z_score";
    case CFX_INIT_OP_VOCABULARY:
        return "vocabulary";
    default:
        return "skip";
    }
}

void cfx_init_column_from_stats(cfx_init_column_t *c, const char *name,
                                const cfx_feature_stats_t *f, uint64_t rows) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->rows = rows;
    c->integral = 1;
    if (!f)
        return;
    const cfx_common_stats_t *cs = cfx_stats_common(f);
    if (cs)
        c->present = cs->num_non_missing;
    switch (f->type) {
    case TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__INT:
        c->kind = CFX_INIT_KIND_INT;
        break;
    case TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__TYPE__FLOAT:
        c->kind = CFX_INIT_KIND_FLOAT;
        break;
    default:
        c->kind = CFX_INIT_KIND_STRING;
        break;
    }
    if (c->present == 0)
        c->kind = CFX_INIT_KIND_NONE;
    if (f->stats_case ==
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_NUM_STATS &&
        f->num_stats) {
        const Tensorflow__Metadata__V0__NumericStatistics *ns = f->num_stats;
        c->mean = ns->mean;
        c->std_dev = ns->std_dev;
        c->min = ns->min;
        c->median = ns->median;
        c->max = ns->max;
    }
    if (f->stats_case ==
            TENSORFLOW__METADATA__V0__FEATURE_NAME_STATISTICS__STATS_STRING_STATS &&
        f->string_stats)
        c->distinct = f->string_stats->unique;
}

/* --- distinct values ------------------------------------------------------ */

/* An open-addressing set of 64-bit value keys, bounded by the cap. */
typedef struct {
    uint64_t keys[4096]; /* > 2 x (CFX_INIT_DISTINCT_CAP + 1), power of 2 */
    unsigned char used[4096];
    uint64_t n;
} keyset_t;

static uint64_t mix64(uint64_t z) {
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void keyset_add(keyset_t *s, uint64_t key) {
    if (s->n > CFX_INIT_DISTINCT_CAP)
        return;
    size_t mask = sizeof s->keys / sizeof s->keys[0] - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
        if (!s->used[i]) {
            s->used[i] = 1;
            s->keys[i] = key;
            s->n++;
            return;
        }
        if (s->keys[i] == key)
            return;
    }
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t value_key(const cfx_feature_t *f) {
    switch (f->kind) {
    case CFX_KIND_INT64:
        return (uint64_t)f->v.ints[0];
    case CFX_KIND_FLOAT: {
        float x = f->v.floats[0];
        if (x == 0.0f)
            x = 0.0f; /* -0 and 0 are one value */
        uint32_t bits;
        memcpy(&bits, &x, sizeof bits);
        return bits;
    }
    case CFX_KIND_BYTES:
        return fnv1a(f->v.bytes[0].data, f->v.bytes[0].len);
    default:
        return 0;
    }
}

int cfx_init_count_distinct(const char *split_dir, cfx_init_column_t *cols,
                            size_t n, cfx_error_t *err) {
    char **files = NULL;
    size_t nfiles = 0;
    keyset_t *sets = NULL;
    cfx_example_t ex;
    cfx_example_init(&ex);
    int rc = cfx_tfrecord_list_dir(split_dir, &files, &nfiles, err);
    if (rc < 0)
        goto out;
    sets = calloc(n ? n : 1, sizeof *sets);
    if (!sets) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        cols[i].integral = 1;
    for (size_t fi = 0; fi < nfiles && rc >= 0; fi++) {
        cfx_tfrecord_reader_t *r = NULL;
        if ((rc = cfx_tfrecord_reader_open(files[fi], &r, err)) < 0)
            goto out;
        const uint8_t *data;
        size_t len;
        while ((rc = cfx_tfrecord_read(r, &data, &len, err)) == 1) {
            if ((rc = cfx_example_decode(&ex, data, len, err)) < 0)
                break;
            for (size_t k = 0; k < ex.count; k++) {
                const cfx_feature_t *f = &ex.features[k];
                if (f->count == 0 || f->kind == CFX_KIND_NONE)
                    continue;
                for (size_t i = 0; i < n; i++) {
                    if (strcmp(cols[i].name, f->name))
                        continue;
                    keyset_add(&sets[i], value_key(f));
                    if (f->kind == CFX_KIND_FLOAT) {
                        float x = f->v.floats[0];
                        if (!(x == floorf(x)) || fabsf(x) > 9.0e15f)
                            cols[i].integral = 0;
                    } else if (f->kind == CFX_KIND_BYTES) {
                        cols[i].integral = 0;
                    }
                    break;
                }
            }
        }
        cfx_tfrecord_reader_free(r);
    }
    if (rc < 0)
        goto out;
    rc = 0;
    for (size_t i = 0; i < n; i++)
        cols[i].distinct = sets[i].n;
out:
    free(sets);
    cfx_example_free(&ex);
    cfx_path_list_free(files);
    return rc;
}

/* --- the task ------------------------------------------------------------- */

static void say(char *reason, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *reason, size_t cap, const char *fmt, ...) {
    if (!reason || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, cap, fmt, ap);
    va_end(ap);
}

static const char *kind_word(cfx_init_kind_t k) {
    switch (k) {
    case CFX_INIT_KIND_INT:
        return "integer";
    case CFX_INIT_KIND_FLOAT:
        return "float";
    case CFX_INIT_KIND_STRING:
        return "string";
    default:
        return "empty";
    }
}

/* "12" or "more than 1000" distinct values. */
static const char *distinct_words(const cfx_init_column_t *c, char *buf,
                                  size_t cap) {
    if (c->distinct > CFX_INIT_DISTINCT_CAP)
        snprintf(buf, cap, "more than %d", CFX_INIT_DISTINCT_CAP);
    else
        snprintf(buf, cap, "%llu", (unsigned long long)c->distinct);
    return buf;
}

int cfx_init_choose_task(const cfx_init_column_t *c, cfx_init_task_t requested,
                         cfx_init_task_t *out, char *reason, size_t cap,
                         cfx_error_t *err) {
    char d[48];
    distinct_words(c, d, sizeof d);
    if (c->kind == CFX_INIT_KIND_NONE || c->present == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "label column '%s' has no value in any train row",
                             c->name);
    if (c->present < c->rows)
        return cfx_error_set(
            err, CFX_EINVAL,
            "label column '%s' is missing in %llu of %llu train rows: drop "
            "or fill those rows first",
            c->name, (unsigned long long)(c->rows - c->present),
            (unsigned long long)c->rows);
    if (c->distinct < 2)
        return cfx_error_set(err, CFX_EINVAL,
                             "label column '%s' has a single value in the "
                             "train rows: there is nothing to learn",
                             c->name);
    int numeric =
        c->kind == CFX_INIT_KIND_INT || c->kind == CFX_INIT_KIND_FLOAT;
    int classes_ok = c->kind == CFX_INIT_KIND_STRING ||
                     c->kind == CFX_INIT_KIND_INT ||
                     (c->kind == CFX_INIT_KIND_FLOAT && c->integral);
    switch (requested) {
    case CFX_INIT_TASK_BINARY:
        if (c->distinct != 2)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--task binary: label column '%s' has %s "
                                 "distinct values, not 2",
                                 c->name, d);
        if (c->kind == CFX_INIT_KIND_FLOAT)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--task binary: label column '%s' is a float "
                                 "column; classes come from integer or string "
                                 "columns",
                                 c->name);
        *out = requested;
        say(reason, cap,
            "binary, as asked (--task binary): %s label with 2 "
            "distinct values",
            kind_word(c->kind));
        return 0;
    case CFX_INIT_TASK_MULTICLASS:
        if (!classes_ok || c->kind == CFX_INIT_KIND_FLOAT)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--task multiclass: label column '%s' is a "
                                 "float column; classes come from integer or "
                                 "string columns",
                                 c->name);
        if (c->distinct > CFX_INIT_DISTINCT_CAP)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--task multiclass: label column '%s' has %s "
                                 "distinct values",
                                 c->name, d);
        *out = requested;
        say(reason, cap,
            "multiclass, as asked (--task multiclass): %s label "
            "with %s classes",
            kind_word(c->kind), d);
        return 0;
    case CFX_INIT_TASK_REGRESSION:
        if (!numeric)
            return cfx_error_set(err, CFX_EINVAL,
                                 "--task regression: label column '%s' is a "
                                 "string column, not a number",
                                 c->name);
        *out = requested;
        say(reason, cap, "regression, as asked (--task regression): %s label",
            kind_word(c->kind));
        return 0;
    default:
        break;
    }
    if (c->kind == CFX_INIT_KIND_STRING) {
        if (c->distinct > CFX_INIT_DISTINCT_CAP)
            return cfx_error_set(err, CFX_EINVAL,
                                 "label column '%s' is a string column with %s "
                                 "distinct values: too many classes",
                                 c->name, d);
        *out =
            c->distinct == 2 ? CFX_INIT_TASK_BINARY : CFX_INIT_TASK_MULTICLASS;
        say(reason, cap,
            "%s: the label is a string column with %s distinct "
            "values (classes)",
            cfx_init_task_name(*out), d);
        return 0;
    }
    if (c->kind == CFX_INIT_KIND_INT &&
        c->distinct <= CFX_INIT_MAX_INT_CLASSES) {
        *out =
            c->distinct == 2 ? CFX_INIT_TASK_BINARY : CFX_INIT_TASK_MULTICLASS;
        say(reason, cap,
            "%s: the label is an integer column with only %s "
            "distinct values (at most %d are taken as classes; "
            "--task regression to predict it as a number)",
            cfx_init_task_name(*out), d, CFX_INIT_MAX_INT_CLASSES);
        return 0;
    }
    *out = CFX_INIT_TASK_REGRESSION;
    if (c->kind == CFX_INIT_KIND_INT)
        say(reason, cap,
            "regression: the label is an integer column with %s "
            "distinct values (more than %d: a quantity, not "
            "classes)",
            d, CFX_INIT_MAX_INT_CLASSES);
    else
        say(reason, cap,
            "regression: the label is a float column (%s "
            "distinct values)",
            d);
    return 0;
}

/* --- per-feature transforms ---------------------------------------------- */

void cfx_init_choose_transform(const cfx_init_column_t *c, cfx_init_xf_t *out) {
    char d[48];
    distinct_words(c, d, sizeof d);
    memset(out, 0, sizeof *out);
    if (c->kind == CFX_INIT_KIND_NONE || c->present == 0) {
        out->op = CFX_INIT_OP_SKIP;
        say(out->reason, sizeof out->reason,
            "left out: no train row has a value");
        return;
    }
    if (c->distinct <= 1) {
        out->op = CFX_INIT_OP_SKIP;
        say(out->reason, sizeof out->reason,
            "left out: a single value in every train row carries nothing to "
            "learn from");
        return;
    }
    if (c->kind == CFX_INIT_KIND_STRING) {
        /* A string that differs in (nearly) every row is a name or an id:
         * no other row can learn from its category. */
        if (c->present >= 20 && c->distinct * 10 >= c->present * 9) {
            out->op = CFX_INIT_OP_SKIP;
            say(out->reason, sizeof out->reason,
                "left out: %s distinct strings in %llu train rows, an "
                "identifier rather than a category",
                d, (unsigned long long)c->present);
            return;
        }
        out->op = CFX_INIT_OP_VOCABULARY;
        out->top_k = 1000;
        out->num_oov_buckets = c->distinct > 100 ? 10 : 1;
        say(out->reason, sizeof out->reason,
            "vocabulary: a string column with %s distinct values; the 1000 "
            "most frequent get their own index, others share %u "
            "out-of-vocabulary bucket%s",
            d, out->num_oov_buckets, out->num_oov_buckets > 1 ? "s" : "");
        return;
    }
    /* Unique integers in a dense range (a hash split keeps about 2/3 of
     * the rows: the train values span about 1.5 x their count) are row
     * numbers: they order the file, they say nothing of a new row. */
    if (c->kind == CFX_INIT_KIND_INT && c->present >= 20 &&
        c->present == c->rows &&
        (c->distinct == c->present || (c->distinct > CFX_INIT_DISTINCT_CAP &&
                                       c->present > CFX_INIT_DISTINCT_CAP)) &&
        c->max - c->min + 1 <= 2.0 * (double)c->present) {
        out->op = CFX_INIT_OP_SKIP;
        say(out->reason, sizeof out->reason,
            "left out: a different integer in every train row, all within "
            "%.0f..%.0f, a row number rather than a measurement",
            c->min, c->max);
        return;
    }
    if (c->kind == CFX_INIT_KIND_INT &&
        c->distinct <= CFX_INIT_MAX_INT_CATEGORIES) {
        out->op = CFX_INIT_OP_VOCABULARY;
        out->top_k = 1000;
        out->num_oov_buckets = 1;
        say(out->reason, sizeof out->reason,
            "vocabulary: an integer column with only %s distinct values is "
            "a category (a code), one weight per value",
            d);
        return;
    }
    double skew =
        c->std_dev > 0 ? 3.0 * (c->mean - c->median) / c->std_dev : 0.0;
    /* log1p helps values that span orders of magnitude, not a skewed
     * cluster far from 0 (latitudes): the largest at least 10 x the median */
    if (c->min >= 0 && c->std_dev > 0 && skew >= CFX_INIT_SKEW_LOG &&
        c->max > 0 && c->max >= 10 * c->median) {
        out->op = CFX_INIT_OP_LOG_Z_SCORE;
        say(out->reason, sizeof out->reason,
            "log_z_score: non-negative and right-skewed (mean %.4g above "
            "median %.4g, skewness 3(mean-median)/std = %.2g >= %.2g, largest "
            "%.4g at least 10 x the median): log1p spreads the bulk of the "
            "values before the z-score",
            c->mean, c->median, skew, CFX_INIT_SKEW_LOG, c->max);
    } else {
        out->op = CFX_INIT_OP_Z_SCORE;
        say(out->reason, sizeof out->reason,
            "z_score: a numeric column (mean %.4g, std %.4g) scaled to mean "
            "0 and variance 1",
            c->mean, c->std_dev);
    }
    if (c->distinct > CFX_INIT_MAX_INT_CATEGORIES * 2 &&
        c->present >=
            (uint64_t)CFX_INIT_NUM_BUCKETS * CFX_INIT_MIN_ROWS_PER_BUCKET) {
        out->num_buckets = CFX_INIT_NUM_BUCKETS;
        size_t len = strlen(out->reason);
        say(out->reason + len, sizeof out->reason - len,
            "; also %u quantile buckets (%llu train rows, at least %d per "
            "bucket) so the linear part can learn a non-linear shape",
            out->num_buckets, (unsigned long long)c->present,
            CFX_INIT_MIN_ROWS_PER_BUCKET);
    }
}

/* --- the model ------------------------------------------------------------ */

cfx_init_model_t cfx_init_choose_model(cfx_init_task_t task, int have_gbt,
                                       char *reason, size_t cap) {
    if (task == CFX_INIT_TASK_REGRESSION && have_gbt) {
        say(reason, cap,
            "gbt: gradient-boosted trees (squared error, 0.1 learning rate, "
            "leaves of at least 20 rows) are the strong default for a numeric "
            "target on tabular data");
        return CFX_INIT_MODEL_GBT;
    }
    if (task == CFX_INIT_TASK_REGRESSION)
        say(reason, cap,
            "wide_deep: the wide & deep network on the standardised label "
            "(this build has no gradient-boosted trees)");
    else
        say(reason, cap,
            "wide_deep: a softmax or sigmoid over a linear part and a small "
            "network on the z-scored features: logistic regression plus "
            "hidden layers, a good first model for classes");
    return CFX_INIT_MODEL_WIDE_DEEP;
}

size_t cfx_init_train_steps(uint64_t n, size_t b) {
    if (b == 0)
        b = 1;
    uint64_t per_epoch = (n + b - 1) / b;
    uint64_t steps = per_epoch * 50;
    if (steps < 2000)
        steps = 2000;
    if (steps > 20000)
        steps = 20000;
    return (size_t)steps;
}

size_t cfx_init_hidden_units(uint64_t n, size_t *units) {
    if (n < 1000) {
        units[0] = 16;
        return 1;
    }
    units[0] = n < 10000 ? 32 : 64;
    units[1] = units[0] / 2;
    return 2;
}

const char *cfx_init_select_metric(cfx_init_task_t task) {
    switch (task) {
    case CFX_INIT_TASK_REGRESSION:
        return "mean_squared_error";
    case CFX_INIT_TASK_MULTICLASS:
        return "sparse_categorical_accuracy";
    default:
        return "auc";
    }
}

int cfx_init_clearly_better(cfx_init_task_t task, double a, double b,
                            double n) {
    if (isnan(b))
        return 0;
    if (isnan(a))
        return 1;
    if (!(n >= 1))
        n = 1;
    if (task == CFX_INIT_TASK_REGRESSION)
        return b < a - a * sqrt(2.0 / n);
    double p = a < 0 ? 0 : a > 1 ? 1 : a;
    return b > a + sqrt(p * (1 - p) / n);
}
