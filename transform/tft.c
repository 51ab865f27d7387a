/*
 * transform.c: the Transform component (see transform.h).
 *
 * Phase 1 streams Split-train once and feeds one analyzer per output with
 * the *filled* value (missing or empty list -> 0 or "", TFT's
 * _fill_in_missing, so fill values count; a vocabulary counts its missing
 * rows until the input's kind is known, then as the token "0" for an int64
 * input, as "" (never in a vocabulary) for bytes). Phase 2 turns analyzer
 * state into transform.json + vocabulary files. Phase 3 loads that graph with
 * model/transform.c and rewrites every split through it.
 *
 * Memory: moments and identity ranges are O(1) per output, vocabulary
 * counts O(distinct tokens) (bounded), bucket boundaries O(distinct values)
 * up to opts->max_quantile_values, then a fixed-size sketch.
 */
#include "transform/tft.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/schema_infer.h"
#include "formats/buf.h"
#include "formats/dtype.h"
#include "formats/example.h"
#include "formats/file.h"
#include "formats/pbcodec.h"
#include "formats/sha256.h"
#include "formats/suggest.h"
#include "formats/tfrecord.h"
#include "model/transform.h"
#include "schema.pb-c.h"
#include "transform/analyzers.h"
#include "transform/tft_spec.h"

#define MAX_SPLITS 64
#define MAX_VOCAB_DISTINCT ((size_t)16 << 20)
#define SCHEMA_MAX_BYTES (64u * 1024 * 1024)

typedef struct analyzer {
    const cfx_xf_spec_output_t *spec;
    cfx_kind_t kind; /* first kind seen in train, CFX_KIND_NONE if never */
    cfx_moments_t moments;
    cfx_vocab_counter_t vocab;
    cfx_boundaries_analyzer_t quantiles;
    int64_t max_value; /* identity */
    uint64_t missing;  /* vocabulary: train rows without a value */
} analyzer_t;

/* ---- small helpers ------------------------------------------------------ */

static int mkdir_p(const char *path, cfx_error_t *err) {
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return cfx_error_set(err, CFX_EINVAL, "bad directory path '%s'", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0)
            continue;
        char c = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return cfx_error_set(err, CFX_EIO, "mkdir %s: %s", tmp,
                                 strerror(errno));
        tmp[i] = c;
    }
    return 0;
}

static char *path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int write_file(const char *path, const void *data, size_t len,
                      cfx_error_t *err) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok)
        return cfx_error_set(err, CFX_EIO, "%s: write failed", path);
    return 0;
}

typedef Tensorflow__Metadata__V0__Schema schema_t;
typedef Tensorflow__Metadata__V0__Feature feature_t;

/* The raw schema (text format) in *text and parsed in *out. */
static int load_schema(const char *path, cfx_buf_t *text, schema_t **out,
                       cfx_error_t *err) {
    *out = NULL;
    int rc = cfx_file_read(path, SCHEMA_MAX_BYTES, text, err);
    if (rc < 0)
        return rc;
    return cfx_schema_parse_text((char *)text->data, text->len, path, out, err);
}

/* Cardinality of an int feature from its schema int_domain (inline or
 * named at the top level): max + 1 when min >= 0 and max is set; else 0. */
static int64_t schema_cardinality(const schema_t *s, const char *name) {
    if (!s)
        return 0;
    for (size_t i = 0; i < s->n_feature; i++) {
        const feature_t *f = s->feature[i];
        if (!f->name || strcmp(f->name, name))
            continue;
        const Tensorflow__Metadata__V0__IntDomain *d = NULL;
        if (f->domain_info_case ==
            TENSORFLOW__METADATA__V0__FEATURE__DOMAIN_INFO_INT_DOMAIN)
            d = f->int_domain;
        else if (f->domain_info_case ==
                 TENSORFLOW__METADATA__V0__FEATURE__DOMAIN_INFO_DOMAIN)
            for (size_t k = 0; k < s->n_int_domain; k++)
                if (s->int_domain[k]->name &&
                    !strcmp(s->int_domain[k]->name, f->domain))
                    d = s->int_domain[k];
        if (d && d->has_max && d->max >= 0 &&
            d->max < CFX_XF_SPEC_MAX_CARDINALITY &&
            (!d->has_min || d->min >= 0))
            return d->max + 1;
        return 0;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The split names under examples_dir (its "Split-<name>" folders,
 * cfx_schema_split_names), in byte order. */
static int list_splits(const char *dir, char ***out, size_t *n,
                       cfx_error_t *err) {
    int rc = cfx_schema_split_names(dir, NULL, out, n, err);
    if (rc == 0 && *n > MAX_SPLITS) {
        rc = cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d splits", dir,
                           MAX_SPLITS);
        cfx_schema_split_names_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    if (rc == 0 && *n > 1)
        qsort(*out, *n, sizeof **out, cmp_str);
    return rc;
}

static void free_strings(char **v, size_t n) {
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* What the loops below call on each decoded example. */
typedef int (*example_fn)(void *ctx, const cfx_example_t *ex, cfx_error_t *err);

/* Calls fn on every decoded example of one file. */
static int for_each_example_in_file(const char *path, example_fn fn, void *ctx,
                                    uint64_t *count, cfx_error_t *err) {
    cfx_tfrecord_reader_t *r = NULL;
    cfx_example_t ex;
    cfx_example_init(&ex);
    int rc = cfx_tfrecord_reader_open(path, &r, err);
    if (rc < 0)
        goto out;
    for (uint64_t rec = 0;; rec++) {
        const uint8_t *data;
        size_t len;
        rc = cfx_tfrecord_read(r, &data, &len, err);
        if (rc == 0)
            break;
        if (rc < 0)
            goto out;
        if ((rc = cfx_example_decode(&ex, data, len, err)) < 0 ||
            (rc = fn(ctx, &ex, err)) < 0) {
            cfx_error_prefix(err, "%s: record %" PRIu64, path, rec);
            goto out;
        }
        (*count)++;
    }
    rc = 0;
out:
    if (r)
        cfx_tfrecord_reader_free(r);
    cfx_example_free(&ex);
    return rc;
}

/* Calls fn on every decoded example of every file in split_dir. */
static int for_each_example(const char *split_dir, example_fn fn, void *ctx,
                            uint64_t *count, cfx_error_t *err) {
    char **files = NULL;
    size_t nfiles = 0;
    int rc = cfx_tfrecord_list_dir(split_dir, &files, &nfiles, err);
    for (size_t i = 0; rc >= 0 && i < nfiles; i++)
        rc = for_each_example_in_file(files[i], fn, ctx, count, err);
    if (files)
        cfx_path_list_free(files);
    return rc < 0 ? rc : 0;
}

/* ---- inputs checked before any work ------------------------------------ */

/* Where each input of the spec is named, for messages: "outputs[i]
 * ('name')", "label" or "label.threshold". */
typedef int (*input_fn)(void *ud, const char *input, const char *where,
                        cfx_error_t *err);

static int for_each_input(const cfx_tft_spec_t *spec, input_fn fn, void *ud,
                          cfx_error_t *err) {
    char where[1200];
    int rc;
    for (size_t i = 0; i < spec->num_outputs; i++) {
        const cfx_xf_spec_output_t *o = &spec->outputs[i];
        if (!o->input)
            continue; /* a cross reads outputs, checked by the spec */
        snprintf(where, sizeof where, "outputs[%zu] ('%s')", i, o->name);
        if ((rc = fn(ud, o->input, where, err)) < 0)
            return rc;
    }
    if (spec->label.name) {
        snprintf(where, sizeof where, "label ('%s')", spec->label.name);
        if ((rc = fn(ud, spec->label.input, where, err)) < 0)
            return rc;
        if (spec->label.threshold_input &&
            (rc = fn(ud, spec->label.threshold_input, "label.threshold", err)) <
                0)
            return rc;
    }
    return 0;
}

typedef struct schema_check {
    const schema_t *schema;
    const char *spec_path, *schema_path;
} schema_check_t;

/* Every raw feature the spec reads must be a feature of the schema (as in
 * TFT, where the preprocessing_fn sees only the schema's features): a
 * misspelt input would otherwise be an all-missing column, i.e. a constant
 * feature or a constant label. */
static int input_in_schema(void *ud, const char *input, const char *where,
                           cfx_error_t *err) {
    const schema_check_t *c = ud;
    const schema_t *s = c->schema;
    for (size_t i = 0; i < s->n_feature; i++)
        if (s->feature[i]->name && !strcmp(s->feature[i]->name, input))
            return 0;
    const char **names = calloc(s->n_feature + 1, sizeof *names);
    if (!names)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_feature; i++)
        names[i] = s->feature[i]->name ? s->feature[i]->name : "";
    char hint[160];
    cfx_suggest_hint(hint, sizeof hint, input, names, s->n_feature);
    free(names);
    return cfx_error_set(err, CFX_EINVAL,
                         "%s: %s: input '%s' is not a feature of the schema "
                         "%s%s",
                         c->spec_path, where, input, c->schema_path, hint);
}

/* Without a schema: which inputs of the spec some train example has
 * (found[i] for inputs[i], borrowed from the spec), and the feature names
 * of the first train example for suggestions (bounded by that example). */
typedef struct seen_features {
    const char **inputs;
    int *found;
    size_t n_inputs, n_missing;
    char **names;
    size_t n_names;
    int have_names;
} seen_features_t;

static int seen_want(void *ud, const char *input, const char *where,
                     cfx_error_t *err) {
    seen_features_t *f = ud;
    (void)where;
    for (size_t i = 0; i < f->n_inputs; i++)
        if (!strcmp(f->inputs[i], input))
            return 0;
    const char **v = realloc(f->inputs, (f->n_inputs + 1) * sizeof *v);
    if (!v)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    f->inputs = v;
    int *fd = realloc(f->found, (f->n_inputs + 1) * sizeof *fd);
    if (!fd)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    f->found = fd;
    f->inputs[f->n_inputs] = input;
    f->found[f->n_inputs++] = 0;
    f->n_missing++;
    return 0;
}

static int seen_add(seen_features_t *f, const cfx_example_t *ex,
                    cfx_error_t *err) {
    if (!f->have_names) {
        f->have_names = 1;
        if (ex->count && !(f->names = calloc(ex->count, sizeof *f->names)))
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        for (size_t i = 0; i < ex->count; i++) {
            if (!(f->names[i] = strdup(ex->features[i].name)))
                return cfx_error_set(err, CFX_ENOMEM, "out of memory");
            f->n_names = i + 1;
        }
    }
    for (size_t i = 0; f->n_missing && i < f->n_inputs; i++)
        if (!f->found[i] && cfx_example_find(ex, f->inputs[i])) {
            f->found[i] = 1;
            f->n_missing--;
        }
    return 0;
}

static void seen_free(seen_features_t *f) {
    free_strings(f->names, f->n_names);
    free(f->inputs);
    free(f->found);
    memset(f, 0, sizeof *f);
}

typedef struct train_check {
    const seen_features_t *seen;
    const char *spec_path, *train_dir;
} train_check_t;

static int input_in_train(void *ud, const char *input, const char *where,
                          cfx_error_t *err) {
    const train_check_t *c = ud;
    for (size_t i = 0; i < c->seen->n_inputs; i++)
        if (c->seen->found[i] && !strcmp(c->seen->inputs[i], input))
            return 0;
    char hint[160];
    cfx_suggest_hint(hint, sizeof hint, input,
                     (const char *const *)c->seen->names, c->seen->n_names);
    return cfx_error_set(err, CFX_EINVAL,
                         "%s: %s: input '%s' is a feature of no example in "
                         "%s%s",
                         c->spec_path, where, input, c->train_dir, hint);
}

/* "op": "identity" labels: the column is the class, so each value must be
 * 0 or 1 (anything else would silently become class 1). */
static int check_class_label(const cfx_xf_spec_label_t *l,
                             const char *spec_path, const cfx_example_t *ex,
                             cfx_error_t *err) {
    if (!l->name || !l->is_class)
        return 0;
    const cfx_feature_t *f = cfx_example_find(ex, l->input);
    if (!f || f->kind == CFX_KIND_NONE || f->count == 0)
        return 0; /* missing: filled with 0 */
    if (f->kind == CFX_KIND_BYTES)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: label ('%s'): \"op\": \"identity\" over "
                             "'%s', a bytes column: a class must be 0 or 1",
                             spec_path, l->name, l->input);
    double v = f->kind == CFX_KIND_FLOAT ? (double)f->v.floats[0]
                                         : (double)f->v.ints[0];
    if (v == 0.0 || v == 1.0 || isnan(v))
        return 0;
    return cfx_error_set(err, CFX_EINVAL,
                         "%s: label ('%s'): \"op\": \"identity\" takes "
                         "column '%s' as the class (0 or 1), but a row holds "
                         "%g: a column of more values must be made binary on "
                         "purpose, with \"op\": \"greater_than\" and a "
                         "threshold",
                         spec_path, l->name, l->input, v);
}

/* A label column taken as it is ("task" without "op"): the distinct class
 * texts of the train split (bounded by CFX_TASK_MAX_CLASSES), or the check
 * that every regression label is a finite number. */
typedef struct label_classes {
    char **text;
    size_t n;
    int all_int; /* every value an integer: numeric order */
} label_classes_t;

static void label_classes_free(label_classes_t *c) {
    for (size_t j = 0; j < c->n; j++)
        free(c->text[j]);
    free(c->text);
    memset(c, 0, sizeof *c);
}

/* The label of ex as text (cfx_transform_class_text, as serving reads it)
 * into s[32] or pointing into ex; *is_int: whether it is an integer. */
static int class_text_of(const cfx_xf_spec_label_t *l, const cfx_feature_t *f,
                         char *s, const char **p, size_t *n, int *is_int,
                         cfx_error_t *err) {
    if (cfx_transform_class_text(f, s, p, n) < 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "label ('%s'): column '%s' holds %g, not a class "
                             "(a class is a string or an integer; a numeric "
                             "target is \"task\": \"regression\")",
                             l->name, l->input, (double)f->v.floats[0]);
    *is_int = 1;
    if (f->kind == CFX_KIND_BYTES) {
        char *end = NULL;
        char tmp[32];
        if (*n == 0 || *n >= sizeof tmp) {
            *is_int = 0;
        } else {
            memcpy(tmp, *p, *n);
            tmp[*n] = '\0';
            errno = 0;
            (void)strtoll(tmp, &end, 10);
            *is_int = errno == 0 && end && *end == '\0';
        }
    }
    return 0;
}

static int check_column_label(const cfx_xf_spec_label_t *l,
                              label_classes_t *classes, const char *spec_path,
                              const cfx_example_t *ex, cfx_error_t *err) {
    if (!l->name || !l->is_column)
        return 0;
    const cfx_feature_t *f = cfx_example_find(ex, l->input);
    if (!f || f->kind == CFX_KIND_NONE || f->count == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: label ('%s'): column '%s' is missing (every "
                             "example needs its label)",
                             spec_path, l->name, l->input);
    if (l->task == CFX_TASK_REGRESSION) {
        if (f->kind == CFX_KIND_BYTES)
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: label ('%s'): column '%s' holds bytes, "
                                 "a regression label must be a number",
                                 spec_path, l->name, l->input);
        double x = f->kind == CFX_KIND_FLOAT ? (double)f->v.floats[0]
                                             : (double)f->v.ints[0];
        if (!isfinite(x))
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: label ('%s'): column '%s' holds %g, not "
                                 "a finite number",
                                 spec_path, l->name, l->input, x);
        return 0;
    }
    char s[32];
    const char *p = s;
    size_t n = 0;
    int is_int = 0, rc;
    if ((rc = class_text_of(l, f, s, &p, &n, &is_int, err)) < 0) {
        cfx_error_prefix(err, "%s", spec_path);
        return rc;
    }
    if (l->vocab) {
        for (size_t j = 0; j < l->vocab_size; j++)
            if (strlen(l->vocab[j]) == n && !memcmp(l->vocab[j], p, n))
                return 0;
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: label ('%s'): value \"%.*s\" of column '%s' "
                             "is not in \"label_vocabulary\"",
                             spec_path, l->name, (int)(n > 200 ? 200 : n), p,
                             l->input);
    }
    if (!classes)
        return 0;
    for (size_t j = 0; j < classes->n; j++)
        if (strlen(classes->text[j]) == n && !memcmp(classes->text[j], p, n))
            return 0;
    if (n == 0 || memchr(p, '\n', n) || memchr(p, '\0', n) ||
        n > CFX_TASK_MAX_LABEL_LEN)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: label ('%s'): a value of column '%s' is "
                             "empty, longer than %d bytes or holds a newline "
                             "or NUL",
                             spec_path, l->name, l->input,
                             CFX_TASK_MAX_LABEL_LEN);
    if (classes->n >= CFX_TASK_MAX_CLASSES)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: label ('%s'): column '%s' has more than %d "
                             "distinct values in train: too many classes (a "
                             "numeric target is \"task\": \"regression\")",
                             spec_path, l->name, l->input,
                             CFX_TASK_MAX_CLASSES);
    char **v = realloc(classes->text, (classes->n + 1) * sizeof *v);
    if (!v)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    classes->text = v;
    if (!(v[classes->n] = strndup(p, n)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (classes->n == 0)
        classes->all_int = 1;
    classes->all_int &= is_int;
    classes->n++;
    return 0;
}

static int cmp_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_int_text(const void *a, const void *b) {
    long long x = strtoll(*(char *const *)a, NULL, 10),
              y = strtoll(*(char *const *)b, NULL, 10);
    return x < y ? -1 : x > y;
}

/* The label vocabulary: the spec's, or the train split's classes in
 * order; a binary task needs exactly two. */
static int label_vocabulary(const cfx_xf_spec_label_t *l,
                            label_classes_t *classes, const char *spec_path,
                            cfx_error_t *err) {
    if (l->vocab) {
        label_classes_free(classes);
        if (!(classes->text = calloc(l->vocab_size, sizeof *classes->text)))
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        for (size_t j = 0; j < l->vocab_size; j++) {
            if (!(classes->text[j] = strdup(l->vocab[j])))
                return cfx_error_set(err, CFX_ENOMEM, "out of memory");
            classes->n = j + 1;
        }
        return 0;
    }
    qsort(classes->text, classes->n, sizeof *classes->text,
          classes->all_int ? cmp_int_text : cmp_text);
    size_t want_lo = 2, want_hi = l->task == CFX_TASK_BINARY
                                      ? 2
                                      : (size_t)CFX_TASK_MAX_CLASSES;
    if (classes->n < want_lo || classes->n > want_hi)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: label ('%s'): task %s needs %s classes, "
                             "column '%s' has %zu distinct values in train%s",
                             spec_path, l->name, cfx_task_name(l->task),
                             l->task == CFX_TASK_BINARY ? "exactly 2"
                                                        : "at least 2",
                             l->input, classes->n,
                             l->task == CFX_TASK_BINARY && classes->n > 2
                                 ? " (use \"task\": \"multiclass\")"
                                 : "");
    return 0;
}

/* ---- phase 1: analyzers ------------------------------------------------- */

typedef struct analyze_ctx {
    analyzer_t *an;
    size_t n;
    const cfx_xf_spec_label_t *label;
    const char *spec_path;
    seen_features_t *seen; /* NULL with a schema */
    label_classes_t *classes;
} analyze_ctx_t;

/* Only the label's classes (the merge of analyzer parts reads train again
 * for them: a part's saved state holds the analyzers, not the classes). */
static int classes_one(void *vctx, const cfx_example_t *ex, cfx_error_t *err) {
    analyze_ctx_t *ctx = vctx;
    return check_column_label(ctx->label, ctx->classes, ctx->spec_path, ex,
                              err);
}

static int analyze_one(void *vctx, const cfx_example_t *ex, cfx_error_t *err) {
    analyze_ctx_t *ctx = vctx;
    int lrc;
    if ((lrc = check_class_label(ctx->label, ctx->spec_path, ex, err)) < 0 ||
        (lrc = check_column_label(ctx->label, ctx->classes, ctx->spec_path, ex,
                                  err)) < 0 ||
        (ctx->seen && (lrc = seen_add(ctx->seen, ex, err)) < 0))
        return lrc;
    for (size_t i = 0; i < ctx->n; i++) {
        analyzer_t *a = &ctx->an[i];
        const cfx_xf_spec_output_t *s = a->spec;
        if (s->op == CFX_XF_OP_CROSS)
            continue; /* reads other outputs, analyzes nothing */
        const cfx_feature_t *f = cfx_example_find(ex, s->input);
        int present = f && f->kind != CFX_KIND_NONE && f->count > 0;
        if (f && f->kind != CFX_KIND_NONE) {
            if (a->kind == CFX_KIND_NONE)
                a->kind = f->kind;
            else if (a->kind != f->kind)
                return cfx_error_set(err, CFX_EINVAL,
                                     "feature '%s': kind %s, earlier %s",
                                     s->input, cfx_dtype_kind_name(f->kind),
                                     cfx_dtype_kind_name(a->kind));
        }
        int rc = 0;
        switch (s->op) {
        case CFX_XF_OP_Z_SCORE:
        case CFX_XF_OP_LOG_Z_SCORE:
        case CFX_XF_OP_BUCKETIZE: {
            float x = 0.0f;
            if (present) {
                if (f->kind == CFX_KIND_BYTES)
                    return cfx_error_set(err, CFX_EINVAL,
                                         "feature '%s' (output '%s'): "
                                         "expected a number, got bytes",
                                         s->input, s->name);
                x = f->kind == CFX_KIND_FLOAT ? f->v.floats[0]
                                              : (float)f->v.ints[0];
            }
            /* as model/transform.c applies it, in float32 */
            if (s->op == CFX_XF_OP_LOG_Z_SCORE)
                x = x > 0.0f ? log1pf(x) : (isnan(x) ? x : 0.0f);
            if (s->op == CFX_XF_OP_BUCKETIZE) {
                rc = cfx_boundaries_analyzer_add(&a->quantiles, x, err);
            } else if (!isnan(x)) {
                cfx_moments_add(&a->moments, (double)x);
            }
            break;
        }
        case CFX_XF_OP_VOCABULARY:
            if (!present) {
                a->missing++; /* filled once the kind is known */
            } else if (f->kind == CFX_KIND_BYTES) {
                rc = cfx_vocab_counter_add(&a->vocab, f->v.bytes[0].data,
                                           f->v.bytes[0].len, 1, err);
            } else if (f->kind == CFX_KIND_INT64) {
                char t[24];
                int n = snprintf(t, sizeof t, "%" PRId64, f->v.ints[0]);
                rc = cfx_vocab_counter_add(&a->vocab, t, (size_t)n, 1, err);
            } else {
                return cfx_error_set(err, CFX_EINVAL,
                                     "feature '%s' (output '%s'): expected "
                                     "bytes or int64, got float",
                                     s->input, s->name);
            }
            break;
        case CFX_XF_OP_IDENTITY: {
            int64_t v = 0;
            if (present) {
                if (f->kind != CFX_KIND_INT64)
                    return cfx_error_set(err, CFX_EINVAL,
                                         "feature '%s' (output '%s'): "
                                         "expected int64, got %s",
                                         s->input, s->name,
                                         cfx_dtype_kind_name(f->kind));
                v = f->v.ints[0];
            }
            if (v > a->max_value)
                a->max_value = v;
            break;
        }
        case CFX_XF_OP_CROSS:
            break;
        }
        if (rc < 0)
            return cfx_error_prefix(err, "feature '%s' (output '%s')", s->input,
                                    s->name);
    }
    return 0;
}

/* ---- phase 1 per train file, and its state for parts -------------------
 *
 * The analyzers run over each train file into state of that file, merged
 * into the total in file order. A single run does exactly that; a part
 * (cfx_tft_analyze_part) does it for every N-th file and saves each file's
 * state; a merge loads them and merges them in file order too, so both
 * take the same floating-point steps and give the same bytes
 * (docs/transform.md, Across machines). */

#define PART_MAGIC "CFXTFTA1"
#define PART_FILE "analyzers.state"
#define PART_MAX_BYTES ((size_t)1 << 32)

static void an_init(analyzer_t *a, const cfx_xf_spec_output_t *s,
                    size_t budget) {
    memset(a, 0, sizeof *a);
    a->spec = s;
    a->kind = CFX_KIND_NONE;
    cfx_moments_init(&a->moments);
    cfx_vocab_counter_init(&a->vocab, MAX_VOCAB_DISTINCT);
    cfx_boundaries_analyzer_init(&a->quantiles, budget);
}

static void an_free_one(analyzer_t *a) {
    cfx_vocab_counter_free(&a->vocab);
    cfx_boundaries_analyzer_free(&a->quantiles);
}

static void an_free(analyzer_t *an, size_t n) {
    if (!an)
        return;
    for (size_t i = 0; i < n; i++) {
        cfx_vocab_counter_free(&an[i].vocab);
        cfx_boundaries_analyzer_free(&an[i].quantiles);
    }
    free(an);
}

static analyzer_t *an_new(const cfx_tft_spec_t *spec, size_t budget) {
    analyzer_t *an =
        calloc(spec->num_outputs ? spec->num_outputs : 1, sizeof *an);
    if (an)
        for (size_t i = 0; i < spec->num_outputs; i++)
            an_init(&an[i], &spec->outputs[i], budget);
    return an;
}

static int an_merge(analyzer_t *into, const analyzer_t *from,
                    cfx_error_t *err) {
    const cfx_xf_spec_output_t *s = into->spec;
    if (from->kind != CFX_KIND_NONE) {
        if (into->kind == CFX_KIND_NONE)
            into->kind = from->kind;
        else if (into->kind != from->kind)
            return cfx_error_set(err, CFX_EINVAL,
                                 "feature '%s': kind %s, earlier %s", s->input,
                                 cfx_dtype_kind_name(from->kind),
                                 cfx_dtype_kind_name(into->kind));
    }
    cfx_moments_merge(&into->moments, &from->moments);
    if (cfx_vocab_counter_merge(&into->vocab, &from->vocab, err) < 0 ||
        cfx_boundaries_analyzer_merge(&into->quantiles, &from->quantiles, err) <
            0)
        return cfx_error_prefix(err, "feature '%s' (output '%s')", s->input,
                                s->name);
    if (from->max_value > into->max_value)
        into->max_value = from->max_value;
    into->missing += from->missing;
    return 0;
}

static int put_u64le(cfx_buf_t *b, uint64_t v) {
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return cfx_buf_append(b, p, 8);
}

static int put_double(cfx_buf_t *b, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    return put_u64le(b, v);
}

static int put_bytes(cfx_buf_t *b, const void *p, size_t n) {
    int rc = cfx_buf_varint(b, n);
    return rc < 0 ? rc : cfx_buf_append(b, p, n);
}

static int an_save(const analyzer_t *a, cfx_buf_t *b) {
    int rc = 0;
    if ((rc = cfx_buf_varint(b, (uint64_t)a->kind)) < 0 ||
        (rc = cfx_buf_varint(b, a->moments.count)) < 0 ||
        (rc = put_double(b, a->moments.mean)) < 0 ||
        (rc = put_double(b, a->moments.m2)) < 0 ||
        (rc = put_u64le(b, (uint64_t)a->max_value)) < 0 ||
        (rc = cfx_buf_varint(b, a->missing)) < 0 ||
        (rc = cfx_buf_varint(b, a->vocab.size)) < 0)
        return rc;
    for (size_t i = 0; i < a->vocab.cap; i++) {
        const cfx_vocab_entry_t *e = &a->vocab.slots[i];
        if (e->token && ((rc = put_bytes(b, e->token, e->len)) < 0 ||
                         (rc = cfx_buf_varint(b, e->count)) < 0))
            return rc;
    }
    if ((rc = cfx_quantiles_save(&a->quantiles.summary, b)) < 0)
        return rc;
    return cfx_buf_varint(b, a->quantiles.num_nan);
}

/* A cursor over a state file; a read past its end or a malformed value
 * sets bad (the offset is reported). */
typedef struct cursor {
    const uint8_t *p;
    size_t n, off;
    int bad;
} cursor_t;

static uint64_t get_varint(cursor_t *c) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->off >= c->n) {
            c->bad = 1;
            return 0;
        }
        uint8_t x = c->p[c->off++];
        v |= (uint64_t)(x & 0x7f) << shift;
        if (!(x & 0x80))
            return v;
    }
    c->bad = 1;
    return 0;
}

static const uint8_t *get_raw(cursor_t *c, size_t n) {
    if (c->bad || n > c->n - c->off) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *p = c->p + c->off;
    c->off += n;
    return p;
}

static uint64_t get_u64le(cursor_t *c) {
    const uint8_t *p = get_raw(c, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double get_double(cursor_t *c) {
    uint64_t v = get_u64le(c);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static int an_load(analyzer_t *a, cursor_t *c, cfx_error_t *err) {
    uint64_t kind = get_varint(c);
    if (kind != CFX_KIND_NONE && kind != CFX_KIND_BYTES &&
        kind != CFX_KIND_FLOAT && kind != CFX_KIND_INT64)
        c->bad = 1;
    a->kind = (cfx_kind_t)kind;
    a->moments.count = get_varint(c);
    a->moments.mean = get_double(c);
    a->moments.m2 = get_double(c);
    a->max_value = (int64_t)get_u64le(c);
    a->missing = get_varint(c);
    uint64_t nv = get_varint(c);
    for (uint64_t i = 0; i < nv && !c->bad; i++) {
        uint64_t len = get_varint(c);
        const uint8_t *t = get_raw(c, len > c->n ? c->n + 1 : (size_t)len);
        uint64_t count = get_varint(c);
        if (!c->bad &&
            cfx_vocab_counter_add(&a->vocab, t, (size_t)len, count, err) < 0)
            return err->code;
    }
    if (c->bad)
        return CFX_ECORRUPT;
    size_t used = 0;
    if (cfx_quantiles_load(&a->quantiles.summary, c->p + c->off, c->n - c->off,
                           &used) < 0)
        return CFX_ECORRUPT;
    c->off += used;
    a->quantiles.num_nan = get_varint(c);
    return c->bad ? CFX_ECORRUPT : 0;
}

/* What a part and the merge must agree on: the spec and schema files'
 * digests, the quantile budget, the train files (names, in order) and the
 * number of parts. */
typedef struct part_header {
    uint8_t spec_sha[32], schema_sha[32];
    uint64_t budget, nparts, part, nfiles, noutputs;
} part_header_t;

static int header_of(const cfx_tft_options_t *opts, char **files, size_t nfiles,
                     size_t noutputs, unsigned part, unsigned nparts,
                     part_header_t *h, cfx_error_t *err) {
    memset(h, 0, sizeof *h);
    int rc = cfx_sha256_file(opts->spec_path, h->spec_sha, NULL, err);
    if (rc < 0)
        return rc;
    if (opts->schema_path &&
        (rc = cfx_sha256_file(opts->schema_path, h->schema_sha, NULL, err)) < 0)
        return rc;
    (void)files;
    h->budget = opts->max_quantile_values;
    h->nparts = nparts;
    h->part = part;
    h->nfiles = nfiles;
    h->noutputs = noutputs;
    return 0;
}

static const char *base_of(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static int header_save(const part_header_t *h, char **files,
                       const seen_features_t *seen, cfx_buf_t *b) {
    int rc;
    if ((rc = cfx_buf_append(b, PART_MAGIC, 8)) < 0 ||
        (rc = cfx_buf_append(b, h->spec_sha, 32)) < 0 ||
        (rc = cfx_buf_append(b, h->schema_sha, 32)) < 0 ||
        (rc = cfx_buf_varint(b, h->budget)) < 0 ||
        (rc = cfx_buf_varint(b, h->nparts)) < 0 ||
        (rc = cfx_buf_varint(b, h->part)) < 0 ||
        (rc = cfx_buf_varint(b, h->nfiles)) < 0 ||
        (rc = cfx_buf_varint(b, h->noutputs)) < 0)
        return rc;
    for (size_t i = 0; i < h->nfiles; i++) {
        const char *f = base_of(files[i]);
        if ((rc = put_bytes(b, f, strlen(f))) < 0)
            return rc;
    }
    /* the inputs seen in train (a run without a schema checks them) */
    if ((rc = cfx_buf_varint(b, seen->n_inputs)) < 0)
        return rc;
    for (size_t i = 0; i < seen->n_inputs; i++)
        if ((rc = cfx_buf_putc(b, (uint8_t)seen->found[i])) < 0)
            return rc;
    if ((rc = cfx_buf_varint(b, seen->n_names)) < 0)
        return rc;
    for (size_t i = 0; i < seen->n_names; i++)
        if ((rc = put_bytes(b, seen->names[i], strlen(seen->names[i]))) < 0)
            return rc;
    return 0;
}

/* Part `part` of nparts: the analyzers over every nparts-th train file
 * from the part-th, each file's state saved after the header. */
static int analyze_train(const cfx_tft_options_t *opts,
                         const cfx_tft_spec_t *spec, analyze_ctx_t *ctx,
                         char **files, size_t nfiles, unsigned part,
                         unsigned nparts, analyzer_t *total, cfx_buf_t *state,
                         cfx_error_t *err) {
    uint64_t count = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (nparts && i % nparts != part)
            continue;
        analyzer_t *fa = an_new(spec, opts->max_quantile_values);
        if (!fa)
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        ctx->an = fa;
        int rc =
            for_each_example_in_file(files[i], analyze_one, ctx, &count, err);
        for (size_t o = 0; rc == 0 && total && o < spec->num_outputs; o++)
            if ((rc = an_merge(&total[o], &fa[o], err)) < 0)
                cfx_error_prefix(err, "%s", files[i]);
        if (rc == 0 && state) {
            rc = cfx_buf_varint(state, i);
            for (size_t o = 0; rc == 0 && o < spec->num_outputs; o++)
                rc = an_save(&fa[o], state);
            if (rc < 0)
                cfx_error_set(err, rc, "analyzer state: out of memory");
        }
        an_free(fa, spec->num_outputs);
        ctx->an = NULL;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One part's state file, read whole and checked against the header this
 * merge expects (want.part is ignored); *c is left at the first file's
 * state and *part gets the part number. */
static int part_load(const char *dir, const part_header_t *want, char **files,
                     seen_features_t *seen, cfx_buf_t *data, cursor_t *c,
                     unsigned *part, cfx_error_t *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/" PART_FILE, dir);
    int rc = cfx_file_read(path, PART_MAX_BYTES, data, err);
    if (rc < 0)
        return rc;
    memset(c, 0, sizeof *c);
    c->p = data->data;
    c->n = data->len;
    const uint8_t *magic = get_raw(c, 8);
    if (!magic || memcmp(magic, PART_MAGIC, 8))
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: not a transform analyzer state", path);
    const uint8_t *spec = get_raw(c, 32), *schema = get_raw(c, 32);
    uint64_t budget = get_varint(c), nparts = get_varint(c);
    uint64_t p = get_varint(c), nfiles = get_varint(c);
    uint64_t nout = get_varint(c);
    if (c->bad)
        return cfx_error_set(err, CFX_ECORRUPT, "%s: truncated at byte %zu",
                             path, c->off);
    if (memcmp(spec, want->spec_sha, 32) ||
        memcmp(schema, want->schema_sha, 32))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: made with another transform spec or schema",
                             path);
    if (budget != want->budget || nout != want->noutputs)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: made with --max-quantile-values %llu, this "
                             "merge has %llu",
                             path, (unsigned long long)budget,
                             (unsigned long long)want->budget);
    if (nparts != want->nparts || p >= nparts)
        return cfx_error_set(
            err, CFX_EINVAL, "%s: part %llu of %llu, but %llu parts given",
            path, (unsigned long long)p, (unsigned long long)nparts,
            (unsigned long long)want->nparts);
    if (nfiles != want->nfiles)
        return cfx_error_set(
            err, CFX_EINVAL, "%s: %llu train files, the examples have %llu",
            path, (unsigned long long)nfiles, (unsigned long long)want->nfiles);
    for (size_t i = 0; i < nfiles; i++) {
        uint64_t len = get_varint(c);
        const uint8_t *f = get_raw(c, len > c->n ? c->n + 1 : (size_t)len);
        const char *b = base_of(files[i]);
        if (c->bad)
            return cfx_error_set(err, CFX_ECORRUPT, "%s: truncated at byte %zu",
                                 path, c->off);
        if (strlen(b) != len || memcmp(f, b, len))
            return cfx_error_set(err, CFX_EINVAL,
                                 "%s: train file %zu is '%.*s', the examples' "
                                 "is '%s'",
                                 path, i, (int)(len > 200 ? 200 : len),
                                 (const char *)f, b);
    }
    uint64_t nin = get_varint(c);
    if (!c->bad && nin != seen->n_inputs)
        c->bad = 1;
    for (size_t i = 0; i < nin && !c->bad; i++) {
        const uint8_t *found = get_raw(c, 1);
        if (found && *found && !seen->found[i]) {
            seen->found[i] = 1;
            seen->n_missing--;
        }
    }
    uint64_t nnames = get_varint(c);
    for (uint64_t i = 0; i < nnames && !c->bad; i++) {
        uint64_t len = get_varint(c);
        const uint8_t *nm = get_raw(c, len > c->n ? c->n + 1 : (size_t)len);
        if (c->bad || p != 0 || seen->have_names)
            continue; /* part 0 saw the first example */
        char **v = realloc(seen->names, (seen->n_names + 1) * sizeof *v);
        if (!v || !(v[seen->n_names] = strndup((const char *)nm, len))) {
            if (v)
                seen->names = v;
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        }
        seen->names = v;
        seen->n_names++;
    }
    if (p == 0)
        seen->have_names = 1;
    if (c->bad)
        return cfx_error_set(err, CFX_ECORRUPT, "%s: truncated at byte %zu",
                             path, c->off);
    *part = (unsigned)p;
    return 0;
}

int cfx_tft_part_state_check(const void *data, size_t len, cfx_error_t *err) {
    cursor_t c = {data, len, 0, 0};
    const uint8_t *magic = get_raw(&c, 8);
    if (!magic || memcmp(magic, PART_MAGIC, 8))
        return cfx_error_set(err, CFX_ECORRUPT,
                             "not a transform analyzer state");
    get_raw(&c, 64); /* the spec's and schema's digests */
    uint64_t budget = get_varint(&c), nparts = get_varint(&c);
    uint64_t part = get_varint(&c), nfiles = get_varint(&c);
    uint64_t nout = get_varint(&c);
    if (!c.bad && (nparts == 0 || part >= nparts || nout > 65536))
        c.bad = 1;
    for (uint64_t i = 0; i < nfiles && !c.bad; i++)
        get_raw(&c, (size_t)get_varint(&c));
    uint64_t nin = get_varint(&c);
    if (!c.bad)
        get_raw(&c, nin > c.n ? c.n + 1 : (size_t)nin);
    uint64_t nnames = get_varint(&c);
    for (uint64_t i = 0; i < nnames && !c.bad; i++)
        get_raw(&c, (size_t)get_varint(&c));
    if (c.bad)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "analyzer state header truncated at byte %zu",
                             c.off);
    cfx_xf_spec_output_t none;
    memset(&none, 0, sizeof none);
    none.name = none.input = "";
    int64_t last = -1;
    while (c.off < c.n) {
        size_t at = c.off;
        uint64_t idx = get_varint(&c);
        if (c.bad || idx >= nfiles || (int64_t)idx <= last ||
            idx % nparts != part)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "byte %zu: not the state of one of the "
                                 "part's train files",
                                 at);
        last = (int64_t)idx;
        for (uint64_t o = 0; o < nout; o++) {
            analyzer_t a;
            an_init(&a, &none, (size_t)budget);
            at = c.off;
            int rc = an_load(&a, &c, err);
            an_free_one(&a);
            if (rc == CFX_ECORRUPT)
                return cfx_error_set(err, rc, "byte %zu: corrupt state", at);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* The merge's phase 1: every part's file states merged in file order. */
static int merge_parts(const cfx_tft_options_t *opts,
                       const cfx_tft_spec_t *spec, char **files, size_t nfiles,
                       seen_features_t *seen, analyzer_t *total,
                       cfx_error_t *err) {
    size_t n = opts->num_analyzer_parts;
    part_header_t want;
    cfx_buf_t *data = calloc(n ? n : 1, sizeof *data);
    cursor_t *cur = calloc(n ? n : 1, sizeof *cur);
    const char **dir_of = calloc(n ? n : 1, sizeof *dir_of);
    int rc = 0;
    if (!data || !cur || !dir_of) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        cfx_buf_init(&data[i]);
    if ((rc = header_of(opts, files, nfiles, spec->num_outputs, 0, (unsigned)n,
                        &want, err)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        unsigned part = 0;
        cfx_buf_t buf;
        cursor_t c;
        cfx_buf_init(&buf);
        rc = part_load(opts->analyzer_parts[i], &want, files, seen, &buf, &c,
                       &part, err);
        if (rc == 0 && dir_of[part])
            rc = cfx_error_set(err, CFX_EINVAL, "%s: part %u given twice",
                               opts->analyzer_parts[i], part);
        if (rc < 0) {
            cfx_buf_free(&buf);
            goto out;
        }
        data[part] = buf;
        cur[part] = c;
        cur[part].p = data[part].data;
        dir_of[part] = opts->analyzer_parts[i];
    }
    for (size_t f = 0; f < nfiles; f++) {
        size_t p = f % n;
        cursor_t *c = &cur[p];
        uint64_t idx = get_varint(c);
        if (c->bad || idx != f) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s/" PART_FILE ": byte %zu: expected the state "
                               "of train file %zu",
                               dir_of[p], c->off, f);
            goto out;
        }
        analyzer_t *fa = an_new(spec, opts->max_quantile_values);
        if (!fa) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t o = 0; rc == 0 && o < spec->num_outputs; o++) {
            size_t at = c->off;
            if ((rc = an_load(&fa[o], c, err)) == CFX_ECORRUPT)
                cfx_error_set(err, rc, "%s/" PART_FILE ": byte %zu: corrupt",
                              dir_of[p], at);
            if (rc == 0 && (rc = an_merge(&total[o], &fa[o], err)) < 0)
                cfx_error_prefix(err, "%s", files[f]);
        }
        an_free(fa, spec->num_outputs);
        if (rc < 0)
            goto out;
    }
    for (size_t p = 0; p < n; p++)
        if (cur[p].off != cur[p].n) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s/" PART_FILE ": %zu bytes left over",
                               dir_of[p], cur[p].n - cur[p].off);
            goto out;
        }
out:
    if (data)
        for (size_t i = 0; i < n; i++)
            cfx_buf_free(&data[i]);
    free(data);
    free(cur);
    free(dir_of);
    return rc;
}

/* ---- phase 2: the graph ------------------------------------------------- */

static int set_new(json_t *o, const char *key, json_t *v) {
    return v ? json_object_set_new(o, key, v) : -1;
}

/* The kind a graph input gets: what train showed, else the op's natural
 * kind (an input never seen in train). */
static cfx_kind_t input_kind(const analyzer_t *a) {
    if (a->kind != CFX_KIND_NONE)
        return a->kind;
    switch (a->spec->op) {
    case CFX_XF_OP_VOCABULARY:
        return CFX_KIND_BYTES;
    case CFX_XF_OP_IDENTITY:
        return CFX_KIND_INT64;
    default:
        return CFX_KIND_FLOAT;
    }
}

/* The graph entry of cross output i: the outputs it reads (earlier ones,
 * whose cardinalities res already holds) and its cardinality. */
static int cross_graph(const cfx_tft_spec_t *spec, cfx_tft_result_t *res,
                       size_t i, json_t *o, cfx_error_t *err) {
    const cfx_xf_spec_output_t *s = &spec->outputs[i];
    json_t *arr = json_array();
    int bad = !arr || set_new(o, "name", json_string(s->name)) < 0;
    bad |= set_new(o, "op", json_string("cross")) < 0;
    bad |= set_new(o, "inputs", arr) < 0;
    uint64_t product = 1;
    for (size_t k = 0; k < s->num_cross_inputs; k++) {
        size_t j = 0;
        while (j < i && strcmp(spec->outputs[j].name, s->cross_inputs[k]))
            j++;
        if (j == i || res->outputs[j].cardinality <= 0) /* spec checked */
            return cfx_error_set(err, CFX_EINTERNAL,
                                 "output '%s': '%s' is not an earlier "
                                 "categorical output",
                                 s->name, s->cross_inputs[k]);
        bad |= json_array_append_new(arr, json_string(s->cross_inputs[k])) < 0;
        if (product <= (uint64_t)CFX_XF_SPEC_MAX_CARDINALITY)
            product *= (uint64_t)res->outputs[j].cardinality;
    }
    if (s->hash_bucket_size == 0 &&
        product > (uint64_t)CFX_XF_SPEC_MAX_CARDINALITY)
        return cfx_error_set(err, CFX_EINVAL,
                             "output '%s': the exact cross has more than "
                             "%" PRId64 " values; set \"hash_bucket_size\"",
                             s->name, CFX_XF_SPEC_MAX_CARDINALITY);
    int64_t card = s->hash_bucket_size ? s->hash_bucket_size : (int64_t)product;
    bad |=
        set_new(o, "hash_bucket_size", json_integer(s->hash_bucket_size)) < 0;
    bad |= set_new(o, "cardinality", json_integer(card)) < 0;
    res->outputs[i].op = "cross";
    res->outputs[i].cardinality = card;
    if (bad)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

/* The kind of a raw feature in the schema, CFX_KIND_NONE when absent. */
static cfx_kind_t schema_kind(const schema_t *s, const char *name) {
    for (size_t i = 0; s && i < s->n_feature; i++) {
        const feature_t *f = s->feature[i];
        if (!f->name || strcmp(f->name, name))
            continue;
        switch (f->type) {
        case TENSORFLOW__METADATA__V0__FEATURE_TYPE__INT:
            return CFX_KIND_INT64;
        case TENSORFLOW__METADATA__V0__FEATURE_TYPE__FLOAT:
            return CFX_KIND_FLOAT;
        case TENSORFLOW__METADATA__V0__FEATURE_TYPE__BYTES:
            return CFX_KIND_BYTES;
        default:
            return CFX_KIND_NONE;
        }
    }
    return CFX_KIND_NONE;
}

/* TFT's _fill_in_missing for vocabularies, once train is read: the kind
 * of a vocabulary input never seen in train comes from the raw schema;
 * missing rows then count as the token a present 0 gives ("0") for int64,
 * as "" (dropped from the vocabulary) for bytes. */
static int fill_vocab_missing(analyzer_t *an, size_t n, const schema_t *schema,
                              cfx_error_t *err) {
    for (size_t i = 0; i < n; i++) {
        analyzer_t *a = &an[i];
        const cfx_xf_spec_output_t *s = a->spec;
        if (s->op != CFX_XF_OP_VOCABULARY)
            continue;
        if (a->kind == CFX_KIND_NONE)
            a->kind = schema_kind(schema, s->input);
        if (a->kind == CFX_KIND_FLOAT)
            return cfx_error_set(err, CFX_EINVAL,
                                 "feature '%s' (output '%s'): expected bytes "
                                 "or int64, the schema says float",
                                 s->input, s->name);
        if (a->missing == 0)
            continue;
        int rc = a->kind == CFX_KIND_INT64
                     ? cfx_vocab_counter_add(&a->vocab, "0", 1, a->missing, err)
                     : cfx_vocab_counter_add(&a->vocab, "", 0, a->missing, err);
        if (rc < 0)
            return cfx_error_prefix(err, "feature '%s' (output '%s')", s->input,
                                    s->name);
    }
    return 0;
}

static int build_graph(const cfx_tft_spec_t *spec, analyzer_t *an,
                       const schema_t *schema, const label_classes_t *classes,
                       const char *graph_dir, cfx_tft_result_t *res,
                       cfx_error_t *err) {
    int rc = 0;
    json_t *root = json_object(), *inputs = json_array(),
           *outputs = json_array();
    char *assets = path_join(graph_dir, "assets");
    char *json_path = path_join(graph_dir, "transform.json");
    char *vpath = NULL, *dump = NULL;
    cfx_vocab_entry_t *top = NULL;
    cfx_buf_t vb;
    cfx_buf_init(&vb);
    if (!root || !inputs || !outputs || !assets || !json_path) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mkdir_p(assets, err)) < 0)
        goto out;
    for (size_t i = 0; i < spec->num_outputs; i++) {
        analyzer_t *a = &an[i];
        const cfx_xf_spec_output_t *s = a->spec;
        cfx_tft_output_summary_t *sum = &res->outputs[i];
        json_t *o = json_object();
        if (!o || json_array_append_new(outputs, o) < 0) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
        int bad = 0;
        if (s->op == CFX_XF_OP_CROSS) {
            if ((rc = cross_graph(spec, res, i, o, err)) < 0)
                goto out;
            continue;
        }
        /* Declare the input once, at its first use. */
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            if (an[j].spec->input && !strcmp(an[j].spec->input, s->input)) {
                seen = 1;
                if (input_kind(&an[j]) != input_kind(a) &&
                    a->kind != CFX_KIND_NONE) {
                    rc = cfx_error_set(err, CFX_EINVAL,
                                       "output '%s': input '%s' used with "
                                       "kinds %s and %s",
                                       s->name, s->input,
                                       cfx_dtype_kind_name(input_kind(&an[j])),
                                       cfx_dtype_kind_name(input_kind(a)));
                    goto out;
                }
            }
        if (!seen) {
            json_t *in = json_object();
            bad |= !in || json_array_append_new(inputs, in) < 0;
            bad |= set_new(in, "name", json_string(s->input)) < 0;
            bad |= set_new(in, "kind",
                           json_string(cfx_dtype_kind_name(input_kind(a)))) < 0;
        }
        bad |= set_new(o, "name", json_string(s->name)) < 0;
        bad |= set_new(o, "op", json_string(cfx_xf_op_name(s->op))) < 0;
        bad |= set_new(o, "input", json_string(s->input)) < 0;
        sum->op = cfx_xf_op_name(s->op);
        switch (s->op) {
        case CFX_XF_OP_CROSS:
            break; /* handled above */
        case CFX_XF_OP_Z_SCORE:
        case CFX_XF_OP_LOG_Z_SCORE: {
            double mean = a->moments.mean;
            double var = cfx_moments_variance(&a->moments);
            if (!isfinite(mean) || !isfinite(var)) {
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "output '%s': mean or variance of '%s' "
                                   "is not finite (infinite values?)",
                                   s->name, s->input);
                goto out;
            }
            bad |= set_new(o, "mean", json_real(mean)) < 0;
            bad |= set_new(o, "var", json_real(var)) < 0;
            sum->mean = mean;
            sum->var = var;
            break;
        }
        case CFX_XF_OP_VOCABULARY: {
            size_t n;
            if ((rc = cfx_vocab_counter_top(&a->vocab, s->top_k, &top, &n,
                                            err)) < 0)
                goto out;
            cfx_buf_reset(&vb);
            for (size_t k = 0; k < n; k++)
                if (cfx_buf_append(&vb, top[k].token, top[k].len) < 0 ||
                    cfx_buf_putc(&vb, '\n') < 0) {
                    rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
                    goto out;
                }
            free(top);
            top = NULL;
            char fname[1100];
            snprintf(fname, sizeof fname, "%s.txt", s->name);
            if (fname[0] == '.' || strchr(fname, '/') || strchr(fname, '\\')) {
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "output '%s': name unusable as a file name",
                                   s->name);
                goto out;
            }
            free(vpath);
            if (!(vpath = path_join(assets, fname))) {
                rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
                goto out;
            }
            if ((rc = write_file(vpath, vb.data ? (void *)vb.data : "", vb.len,
                                 err)) < 0)
                goto out;
            bad |= set_new(o, "vocabulary_file", json_string(fname)) < 0;
            bad |= set_new(o, "vocab_size", json_integer((json_int_t)n)) < 0;
            bad |= set_new(o, "num_oov_buckets",
                           json_integer(s->num_oov_buckets)) < 0;
            sum->vocab_size = n;
            sum->cardinality = (int64_t)n + s->num_oov_buckets;
            break;
        }
        case CFX_XF_OP_BUCKETIZE: {
            size_t nb = (size_t)s->num_buckets;
            float *bounds = malloc(nb * sizeof *bounds);
            json_t *arr = json_array();
            if (!bounds || !arr) {
                free(bounds);
                json_decref(arr);
                rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
                goto out;
            }
            rc = cfx_boundaries_analyzer_get(&a->quantiles, nb, bounds, err);
            for (size_t k = 0; rc == 0 && k + 1 < nb; k++) {
                if (!isfinite(bounds[k])) {
                    rc = cfx_error_set(err, CFX_EINVAL,
                                       "output '%s': boundary %zu of '%s' is "
                                       "infinite",
                                       s->name, k, s->input);
                    break;
                }
                bad |= json_array_append_new(arr, json_real(bounds[k])) < 0;
            }
            free(bounds);
            bad |= set_new(o, "boundaries", arr) < 0;
            if (rc < 0)
                goto out;
            sum->cardinality = s->num_buckets;
            sum->quantiles_exact = cfx_boundaries_analyzer_exact(&a->quantiles);
            break;
        }
        case CFX_XF_OP_IDENTITY: {
            int64_t card = s->cardinality;
            if (card == 0)
                card = schema_cardinality(schema, s->input);
            if (card == 0) {
                if (a->max_value >= CFX_XF_SPEC_MAX_CARDINALITY) {
                    rc = cfx_error_set(err, CFX_EINVAL,
                                       "output '%s': largest value of '%s' "
                                       "in train is %" PRId64
                                       "; set \"cardinality\" in the spec "
                                       "(at most %" PRId64 ")",
                                       s->name, s->input, a->max_value,
                                       CFX_XF_SPEC_MAX_CARDINALITY);
                    goto out;
                }
                card = a->max_value + 1;
            }
            if (s->default_value >= card) {
                rc = cfx_error_set(err, CFX_EINVAL,
                                   "output '%s': default_value %" PRId64
                                   " is not below the cardinality %" PRId64,
                                   s->name, s->default_value, card);
                goto out;
            }
            bad |= set_new(o, "cardinality", json_integer(card)) < 0;
            bad |=
                set_new(o, "default_value", json_integer(s->default_value)) < 0;
            sum->cardinality = card;
            break;
        }
        }
        if (bad) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    }
    int bad = set_new(root, "format_version", json_integer(1)) < 0;
    bad |= json_object_set(root, "inputs", inputs) < 0;
    bad |= json_object_set(root, "outputs", outputs) < 0;
    const cfx_xf_spec_label_t *l = &spec->label;
    if (l->name && l->is_column) {
        json_t *lo = json_object(), *voc = json_array();
        bad |= set_new(root, "label", lo) < 0;
        bad |= set_new(lo, "name", json_string(l->name)) < 0;
        bad |=
            set_new(lo, "op",
                    json_string(l->task == CFX_TASK_REGRESSION ? "value"
                                                               : "class")) < 0;
        bad |= set_new(lo, "task", json_string(cfx_task_name(l->task))) < 0;
        bad |= set_new(lo, "input", json_string(l->input)) < 0;
        for (size_t j = 0; voc && j < classes->n; j++)
            bad |=
                json_array_append_new(voc, json_string(classes->text[j])) < 0;
        if (l->task != CFX_TASK_REGRESSION)
            bad |= set_new(lo, "label_vocabulary", voc) < 0;
        else
            json_decref(voc);
    } else if (l->name) {
        json_t *lo = json_object();
        bad |= set_new(root, "label", lo) < 0;
        bad |= set_new(lo, "name", json_string(l->name)) < 0;
        bad |= set_new(lo, "op", json_string("greater_than")) < 0;
        bad |= set_new(lo, "input", json_string(l->input)) < 0;
        bad |= set_new(lo, "threshold_input",
                       l->threshold_input ? json_string(l->threshold_input)
                                          : json_null()) < 0;
        bad |=
            set_new(lo, "threshold_scale", json_real(l->threshold_scale)) < 0;
        bad |= set_new(lo, "threshold", json_real(l->threshold_const)) < 0;
        bad |= set_new(lo, "nan_value", json_real(l->nan_value)) < 0;
    }
    if (bad ||
        !(dump = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17)))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    size_t dl = strlen(dump);
    rc = write_file(json_path, dump, dl, err);
out:
    free(top);
    free(vpath);
    free(dump);
    free(assets);
    free(json_path);
    cfx_buf_free(&vb);
    json_decref(inputs);
    json_decref(outputs);
    json_decref(root);
    return rc;
}

/* transformed_metadata/: schema.pbtxt of the outputs (as TFT writes it:
 * every output present in every example with shape [1]; categorical ones
 * with int_domain [0, cardinality - 1], is_categorical) and asset_map
 * (JSON: vocabulary output name -> file name under assets/). */
static int cmp_feature_name(const void *a, const void *b) {
    const feature_t *x = *(feature_t *const *)a, *y = *(feature_t *const *)b;
    return strcmp(x->name, y->name);
}

static int write_transformed_metadata(const char *graph_dir,
                                      const cfx_tft_spec_t *spec,
                                      const cfx_tft_result_t *res,
                                      cfx_error_t *err) {
    int rc = 0;
    size_t n = res->num_outputs + (spec->label.name ? 1 : 0);
    feature_t *feats = calloc(n, sizeof *feats);
    feature_t **fp = calloc(n, sizeof *fp);
    Tensorflow__Metadata__V0__IntDomain *doms = calloc(n, sizeof *doms);
    Tensorflow__Metadata__V0__FeaturePresence presence =
        TENSORFLOW__METADATA__V0__FEATURE_PRESENCE__INIT;
    Tensorflow__Metadata__V0__FixedShape__Dim dim =
        TENSORFLOW__METADATA__V0__FIXED_SHAPE__DIM__INIT;
    Tensorflow__Metadata__V0__FixedShape__Dim *dims[1] = {&dim};
    Tensorflow__Metadata__V0__FixedShape shape =
        TENSORFLOW__METADATA__V0__FIXED_SHAPE__INIT;
    schema_t schema = TENSORFLOW__METADATA__V0__SCHEMA__INIT;
    char *dir = path_join(graph_dir, "transformed_metadata");
    char *spath = dir ? path_join(dir, "schema.pbtxt") : NULL;
    char *apath = dir ? path_join(dir, "asset_map") : NULL;
    json_t *amap = json_object();
    char *adump = NULL;
    cfx_buf_t text;
    cfx_buf_init(&text);
    if (!feats || !fp || !doms || !spath || !apath || !amap) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    presence.has_min_fraction = 1;
    presence.min_fraction = 1.0;
    presence.has_min_count = 1;
    presence.min_count = 1;
    dim.has_size = 1;
    dim.size = 1;
    shape.n_dim = 1;
    shape.dim = dims;
    for (size_t i = 0; i < n; i++) {
        feature_t init = TENSORFLOW__METADATA__V0__FEATURE__INIT;
        Tensorflow__Metadata__V0__IntDomain dinit =
            TENSORFLOW__METADATA__V0__INT_DOMAIN__INIT;
        feature_t *f = &feats[i];
        *f = init;
        doms[i] = dinit;
        fp[i] = f;
        f->has_type = 1;
        f->presence_constraints_case =
            TENSORFLOW__METADATA__V0__FEATURE__PRESENCE_CONSTRAINTS_PRESENCE;
        f->presence = &presence;
        f->shape_type_case =
            TENSORFLOW__METADATA__V0__FEATURE__SHAPE_TYPE_SHAPE;
        f->shape = &shape;
        if (i == res->num_outputs) { /* the label */
            f->name = spec->label.name;
            f->type =
                spec->label.is_column && spec->label.task == CFX_TASK_REGRESSION
                    ? TENSORFLOW__METADATA__V0__FEATURE_TYPE__FLOAT
                    : TENSORFLOW__METADATA__V0__FEATURE_TYPE__INT;
            continue;
        }
        const cfx_tft_output_summary_t *o = &res->outputs[i];
        f->name = o->name;
        if (o->cardinality == 0) {
            f->type = TENSORFLOW__METADATA__V0__FEATURE_TYPE__FLOAT;
            continue;
        }
        f->type = TENSORFLOW__METADATA__V0__FEATURE_TYPE__INT;
        f->domain_info_case =
            TENSORFLOW__METADATA__V0__FEATURE__DOMAIN_INFO_INT_DOMAIN;
        f->int_domain = &doms[i];
        doms[i].has_min = doms[i].has_max = doms[i].has_is_categorical = 1;
        doms[i].min = 0;
        doms[i].max = o->cardinality - 1;
        doms[i].is_categorical = 1;
        if (!strcmp(o->op, "vocabulary")) {
            char fname[1100];
            snprintf(fname, sizeof fname, "%s.txt", o->name);
            if (json_object_set_new(amap, o->name, json_string(fname)) < 0) {
                rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    qsort(fp, n, sizeof *fp, cmp_feature_name);
    schema.n_feature = n;
    schema.feature = fp;
    if ((rc = mkdir_p(dir, err)) < 0 ||
        (rc = cfx_pb_text_print(&schema.base, &text, err)) < 0 ||
        (rc = write_file(spath, text.data ? (void *)text.data : "", text.len,
                         err)) < 0)
        goto out;
    if (!(adump = json_dumps(amap, JSON_SORT_KEYS))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    rc = write_file(apath, adump, strlen(adump), err);
out:
    free(feats);
    free(fp);
    free(doms);
    free(dir);
    free(spath);
    free(apath);
    free(adump);
    json_decref(amap);
    cfx_buf_free(&text);
    return rc;
}

/* ---- phase 3: transformed examples -------------------------------------- */

typedef struct write_ctx {
    const cfx_transform_t *t;
    cfx_tfrecord_writer_t *w;
    cfx_example_t out;
    cfx_buf_t buf;
    cfx_tft_result_t *res; /* counts when non-NULL (train) */
    const cfx_xf_spec_label_t *label;
    const char *spec_path;
    float *dense;
    int32_t *cat;
} write_ctx_t;

static int write_one(void *vctx, const cfx_example_t *ex, cfx_error_t *err) {
    write_ctx_t *c = vctx;
    int rc = check_class_label(c->label, c->spec_path, ex, err);
    if (rc < 0 ||
        (rc = check_column_label(c->label, NULL, c->spec_path, ex, err)) < 0)
        return rc;
    rc = cfx_transform_apply_example(c->t, ex, &c->out, err);
    if (rc < 0)
        return rc;
    cfx_buf_reset(&c->buf);
    if ((rc = cfx_example_encode(&c->out, &c->buf)) < 0)
        return cfx_error_set(err, rc, "encoding transformed example");
    if ((rc = cfx_tfrecord_write(c->w, c->buf.data, c->buf.len, err)) < 0)
        return rc;
    if (c->res) {
        if ((rc = cfx_transform_apply(c->t, ex, c->dense, c->cat, err)) < 0)
            return rc;
        for (size_t i = 0; i < c->res->num_outputs; i++) {
            const cfx_xf_output_t *o = cfx_transform_output(c->t, i);
            uint64_t *counts = c->res->outputs[i].train_counts;
            if (counts && o->kind == CFX_XF_CATEGORICAL)
                counts[c->cat[o->slot]]++;
        }
    }
    return 0;
}

static int write_split(const cfx_transform_t *t, const cfx_tft_spec_t *spec,
                       const char *spec_path, const char *examples_dir,
                       const char *xf_dir, const char *split,
                       cfx_tft_result_t *counts, uint64_t *n,
                       cfx_error_t *err) {
    int rc = 0;
    char name[600];
    write_ctx_t c;
    memset(&c, 0, sizeof c);
    c.t = t;
    c.label = &spec->label;
    c.spec_path = spec_path;
    c.res = counts;
    cfx_example_init(&c.out);
    cfx_buf_init(&c.buf);
    char *in_dir = NULL, *dir = NULL, *file = NULL;
    snprintf(name, sizeof name, "Split-%s", split);
    in_dir = path_join(examples_dir, name);
    snprintf(name, sizeof name, "Split-%s", split);
    dir = path_join(xf_dir, name);
    file =
        dir ? path_join(dir, "transformed_examples-00000-of-00001.gz") : NULL;
    c.dense = calloc(cfx_transform_num_dense(t) + 1, sizeof *c.dense);
    c.cat = calloc(cfx_transform_num_categorical(t) + 1, sizeof *c.cat);
    if (!in_dir || !dir || !file || !c.dense || !c.cat) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mkdir_p(dir, err)) < 0 ||
        (rc = cfx_tfrecord_writer_open(file, &c.w, err)) < 0)
        goto out;
    rc = for_each_example(in_dir, write_one, &c, n, err);
    if (rc < 0) {
        cfx_tfrecord_writer_abort(c.w);
        unlink(file);
        goto out;
    }
    rc = cfx_tfrecord_writer_close(c.w, err);
out:
    free(in_dir);
    free(dir);
    free(file);
    free(c.dense);
    free(c.cat);
    cfx_example_free(&c.out);
    cfx_buf_free(&c.buf);
    return rc;
}

/* ---- the component ------------------------------------------------------ */

void cfx_tft_result_free(cfx_tft_result_t *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->num_outputs; i++) {
        free(r->outputs[i].name);
        free(r->outputs[i].train_counts);
    }
    free(r->outputs);
    free_strings(r->split_names, r->num_splits);
    free(r->split_examples);
    memset(r, 0, sizeof *r);
}

/* The spec and, when given, the raw schema, with the check that the spec
 * reads only the schema's features; without a schema, the inputs to look
 * for in train are noted in seen. */
static int load_spec(const cfx_tft_options_t *opts, cfx_tft_spec_t *spec,
                     cfx_buf_t *schema_text, schema_t **raw_schema,
                     seen_features_t *seen, cfx_error_t *err) {
    int rc;
    if ((rc = cfx_tft_spec_load(opts->spec_path, spec, err)) < 0)
        return rc;
    if (opts->schema_path &&
        (rc = load_schema(opts->schema_path, schema_text, raw_schema, err)) < 0)
        return rc;
    schema_check_t sc = {*raw_schema, opts->spec_path, opts->schema_path};
    return *raw_schema ? for_each_input(spec, input_in_schema, &sc, err)
                       : for_each_input(spec, seen_want, seen, err);
}

int cfx_tft_run(const cfx_tft_options_t *opts, cfx_tft_result_t *result,
                cfx_error_t *err) {
    int rc = 0;
    cfx_tft_spec_t spec;
    cfx_tft_result_t res;
    analyzer_t *an = NULL;
    cfx_transform_t *t = NULL;
    char *graph_dir = NULL, *xf_dir = NULL, *train_dir = NULL, *meta = NULL,
         *schema = NULL;
    schema_t *raw_schema = NULL;
    cfx_buf_t schema_text;
    seen_features_t seen;
    label_classes_t classes;
    memset(&seen, 0, sizeof seen);
    memset(&classes, 0, sizeof classes);
    cfx_buf_init(&schema_text);
    memset(&spec, 0, sizeof spec);
    memset(&res, 0, sizeof res);
    if (result)
        memset(result, 0, sizeof *result);

    if ((rc = load_spec(opts, &spec, &schema_text, &raw_schema, &seen, err)) <
        0)
        goto out;
    if ((rc = list_splits(opts->examples_dir, &res.split_names, &res.num_splits,
                          err)) < 0)
        goto out;
    size_t train = res.num_splits;
    for (size_t i = 0; i < res.num_splits; i++)
        if (!strcmp(res.split_names[i], "train"))
            train = i;
    if (train == res.num_splits) {
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "%s: no Split-train folder (the analyzers run "
                           "over train)",
                           opts->examples_dir);
        goto out;
    }
    res.split_examples = calloc(res.num_splits, sizeof *res.split_examples);
    res.outputs = calloc(spec.num_outputs, sizeof *res.outputs);
    an = calloc(spec.num_outputs, sizeof *an);
    if (!opts->output_dir &&
        (!opts->graph_dir || !opts->transformed_examples_dir)) {
        rc = cfx_error_set(err, CFX_EINVAL, "no output directory given");
        goto out;
    }
    graph_dir = opts->graph_dir
                    ? strdup(opts->graph_dir)
                    : path_join(opts->output_dir, "transform_graph");
    xf_dir = opts->transformed_examples_dir
                 ? strdup(opts->transformed_examples_dir)
                 : path_join(opts->output_dir, "transformed_examples");
    train_dir = path_join(opts->examples_dir, "Split-train");
    if (!res.split_examples || !res.outputs || !an || !graph_dir || !xf_dir ||
        !train_dir) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    res.num_outputs = spec.num_outputs;
    for (size_t i = 0; i < spec.num_outputs; i++) {
        an[i].spec = &spec.outputs[i];
        cfx_moments_init(&an[i].moments);
        cfx_vocab_counter_init(&an[i].vocab, MAX_VOCAB_DISTINCT);
        cfx_boundaries_analyzer_init(&an[i].quantiles,
                                     opts->max_quantile_values);
        if (!(res.outputs[i].name = strdup(spec.outputs[i].name))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    }

    /* Phase 1: analyzers over train. */
    analyze_ctx_t actx = {an,
                          spec.num_outputs,
                          &spec.label,
                          opts->spec_path,
                          raw_schema ? NULL : &seen,
                          &classes};
    char **train_files = NULL;
    size_t ntrain_files = 0;
    if ((rc = cfx_tfrecord_list_dir(train_dir, &train_files, &ntrain_files,
                                    err)) < 0)
        goto out;
    rc = opts->analyzer_parts
             ? merge_parts(opts, &spec, train_files, ntrain_files, &seen, an,
                           err)
             : analyze_train(opts, &spec, &actx, train_files, ntrain_files, 0,
                             0, an, NULL, err);
    /* merged parts carry no label classes: read them from train */
    for (size_t i = 0; rc == 0 && opts->analyzer_parts && i < ntrain_files;
         i++) {
        uint64_t nc = 0;
        rc = for_each_example_in_file(train_files[i], classes_one, &actx, &nc,
                                      err);
    }
    cfx_path_list_free(train_files);
    if (rc < 0)
        goto out;
    train_check_t tc = {&seen, opts->spec_path, train_dir};
    if (!raw_schema &&
        (rc = for_each_input(&spec, input_in_train, &tc, err)) < 0)
        goto out;

    /* Phase 2: the graph. */
    if ((rc = fill_vocab_missing(an, spec.num_outputs, raw_schema, err)) < 0)
        goto out;
    if (spec.label.name && spec.label.is_column &&
        spec.label.task != CFX_TASK_REGRESSION &&
        (rc = label_vocabulary(&spec.label, &classes, opts->spec_path, err)) <
            0)
        goto out;
    if ((rc = build_graph(&spec, an, raw_schema, &classes, graph_dir, &res,
                          err)) < 0)
        goto out;
    if (opts->schema_path) {
        meta = path_join(graph_dir, "metadata");
        schema = meta ? path_join(meta, "schema.pbtxt") : NULL;
        if (!schema) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = mkdir_p(meta, err)) < 0 ||
            (rc = write_file(schema,
                             schema_text.data ? (void *)schema_text.data : "",
                             schema_text.len, err)) < 0)
            goto out;
    }
    if ((rc = write_transformed_metadata(graph_dir, &spec, &res, err)) < 0)
        goto out;
    for (size_t i = 0; i < res.num_outputs; i++) {
        int64_t card = res.outputs[i].cardinality;
        if (card > 0 && card <= CFX_TRANSFORM_SUMMARY_MAX_CARD &&
            !(res.outputs[i].train_counts =
                  calloc((size_t)card, sizeof(uint64_t)))) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            goto out;
        }
    }

    /* Phase 3: every split through the graph just written. */
    if ((rc = cfx_transform_load(graph_dir, &t, err)) < 0) {
        cfx_error_prefix(err, "reloading the graph just written");
        goto out;
    }
    for (size_t i = 0; i < res.num_splits; i++) {
        rc = write_split(t, &spec, opts->spec_path, opts->examples_dir, xf_dir,
                         res.split_names[i], i == train ? &res : NULL,
                         &res.split_examples[i], err);
        if (rc < 0)
            goto out;
    }
    if (result) {
        *result = res;
        memset(&res, 0, sizeof res);
    }
out:
    if (an)
        for (size_t i = 0; i < spec.num_outputs; i++) {
            cfx_vocab_counter_free(&an[i].vocab);
            cfx_boundaries_analyzer_free(&an[i].quantiles);
        }
    free(an);
    cfx_transform_free(t);
    cfx_tft_result_free(&res);
    cfx_tft_spec_free(&spec);
    free(graph_dir);
    free(xf_dir);
    free(train_dir);
    free(meta);
    free(schema);
    if (raw_schema)
        protobuf_c_message_free_unpacked(&raw_schema->base, NULL);
    cfx_buf_free(&schema_text);
    seen_free(&seen);
    label_classes_free(&classes);
    return rc;
}

int cfx_tft_analyze_part(const cfx_tft_options_t *opts, unsigned part,
                         unsigned num_parts, const char *out_dir,
                         cfx_error_t *err) {
    int rc = 0;
    cfx_tft_spec_t spec;
    schema_t *raw_schema = NULL;
    cfx_buf_t schema_text, body, head;
    seen_features_t seen;
    char **files = NULL, *train_dir = NULL, path[4096];
    size_t nfiles = 0;
    part_header_t h;
    memset(&spec, 0, sizeof spec);
    memset(&seen, 0, sizeof seen);
    cfx_buf_init(&schema_text);
    cfx_buf_init(&body);
    cfx_buf_init(&head);
    if (num_parts == 0 || part >= num_parts)
        return cfx_error_set(err, CFX_EINVAL, "part %u of %u", part, num_parts);
    if ((rc = cfx_file_check_empty_dir(out_dir, err)) < 0)
        return rc;
    if ((rc = load_spec(opts, &spec, &schema_text, &raw_schema, &seen, err)) <
        0)
        goto out;
    if (!(train_dir = path_join(opts->examples_dir, "Split-train"))) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    if (!cfx_file_is_dir(train_dir)) {
        rc = cfx_error_set(err, CFX_ENOTFOUND,
                           "%s: no Split-train folder (the analyzers run "
                           "over train)",
                           opts->examples_dir);
        goto out;
    }
    if ((rc = cfx_tfrecord_list_dir(train_dir, &files, &nfiles, err)) < 0)
        goto out;
    /* a part validates the labels; the merge collects the classes */
    analyze_ctx_t actx = {NULL,
                          spec.num_outputs,
                          &spec.label,
                          opts->spec_path,
                          raw_schema ? NULL : &seen,
                          NULL};
    if ((rc = analyze_train(opts, &spec, &actx, files, nfiles, part, num_parts,
                            NULL, &body, err)) < 0)
        goto out;
    if ((rc = header_of(opts, files, nfiles, spec.num_outputs, part, num_parts,
                        &h, err)) < 0)
        goto out;
    if (header_save(&h, files, &seen, &head) < 0 ||
        cfx_buf_append(&head, body.data, body.len) < 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "analyzer state: out of memory");
        goto out;
    }
    if ((rc = cfx_file_mkdirs(out_dir, err)) < 0)
        goto out;
    snprintf(path, sizeof path, "%s/" PART_FILE, out_dir);
    rc = cfx_file_write_atomic(path, head.data, head.len, err);
out:
    if (files)
        cfx_path_list_free(files);
    free(train_dir);
    cfx_tft_spec_free(&spec);
    if (raw_schema)
        protobuf_c_message_free_unpacked(&raw_schema->base, NULL);
    cfx_buf_free(&schema_text);
    cfx_buf_free(&body);
    cfx_buf_free(&head);
    seen_free(&seen);
    return rc;
}
