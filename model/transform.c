/*
 * transform.c: loads a transform graph (transform.json + assets/) and
 * applies it to raw examples; the serving hot path (see transform.h).
 *
 * Everything an apply needs is precomputed at load: each op holds its
 * parameters as float32 (TFT computes in float32), vocabularies sit in an
 * open-addressing table keyed by a word-at-a-time hash of the bytes, bucket
 * boundaries are searched by bisection, raw inputs are found through a
 * name table. An apply touches only the stack: no allocation per call.
 *
 * transform.json (written by transform/tft.c, docs/transform.md):
 *   {"format_version": 1,
 *    "inputs": [{"name": "fare", "kind": "float"}, ...],
 *    "outputs": [
 *      {"name": "fare_xf", "op": "z_score", "input": "fare",
 *       "mean": m, "var": v},
 *      {"name": "company_xf", "op": "vocabulary", "input": "company",
 *       "vocabulary_file": "company_xf.txt", "vocab_size": n,
 *       "num_oov_buckets": k},
 *      {"name": "x_xf", "op": "bucketize", "input": "x",
 *       "boundaries": [...]},
 *      {"name": "h_xf", "op": "identity", "input": "h",
 *       "cardinality": c, "default_value": d},
 *      {"name": "f_log_xf", "op": "log_z_score", "input": "f",
 *       "mean": m, "var": v},                 (of log1p(max(x, 0)))
 *      {"name": "h_x_d", "op": "cross", "inputs": ["h_xf", "d_xf"],
 *       "hash_bucket_size": 0, "cardinality": c}],
 *
 * A cross reads earlier categorical outputs, not raw features: with
 * hash_bucket_size 0 it is exact, the mixed-radix index
 * ((v0 * c1 + v1) * c2 + v2 ...) of cardinality c0 * c1 * ...; otherwise
 * the same index (wrapping in uint64) goes through splitmix64's finaliser
 * and is reduced modulo hash_bucket_size (docs/transform.md).
 *    "label": {"name": "tips_xf", "op": "greater_than", "input": "tips",
 *              "threshold_input": "fare", "threshold_scale": 0.2,
 *              "threshold": 0, "nan_value": 0}}
 */
#include "model/transform.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/buf.h"
#include "formats/dtype.h"
#include "formats/file.h"
#include "model/fingerprint.h"
#include "model/task.h"

#define GRAPH_JSON_MAX (64u * 1024 * 1024)
#define VOCAB_FILE_MAX (256u * 1024 * 1024)
#define VOCAB_MAX_SIZE (16u * 1024 * 1024)
#define MAX_BOUNDARIES 65535
#define MAX_CARDINALITY ((int64_t)1 << 24)
#define NO_INPUT SIZE_MAX
#define MAX_CROSS 8

enum op { OP_Z_SCORE, OP_VOCABULARY, OP_BUCKETIZE, OP_IDENTITY, OP_CROSS };

typedef struct vocab {
    uint8_t *bytes;   /* every token, back to back */
    uint32_t *offset; /* token i is bytes[offset[i] .. offset[i+1]) */
    int32_t *table;   /* open addressing: token index or -1 */
    uint64_t *hash;   /* hash_bytes of the token in the same slot */
    size_t mask;
    size_t size;
    uint64_t num_oov;
} vocab_t;

typedef struct xf_op {
    enum op op;
    size_t input;
    size_t slot;
    float mean;
    float std; /* sqrt(var); 0 means output x - mean */
    float *boundaries;
    size_t num_boundaries;
    vocab_t vocab;
    int64_t cardinality;
    int64_t default_value;
    int log1p; /* z_score of log1p(max(x, 0)) */
    /* cross: categorical slots read, their cardinalities, bucket count
     * (0: exact) */
    size_t cross_slot[MAX_CROSS];
    uint64_t cross_card[MAX_CROSS];
    size_t num_cross;
    uint64_t hash_buckets;
} xf_op_t;

/* How the label is made: "greater_than" (a derived binary class),
 * "class" (the column's value looked up in the label vocabulary: binary or
 * multiclass) or "value" (the column's number: regression). */
enum label_op { LABEL_GREATER_THAN, LABEL_CLASS, LABEL_VALUE };

typedef struct label {
    char *name; /* NULL: no label */
    enum label_op op;
    size_t input;
    size_t threshold_input; /* NO_INPUT: threshold is constant */
    float scale;
    float constant;
    float nan_value;
    cfx_head_t head; /* task and class labels */
} label_t;

struct cfx_transform {
    cfx_xf_output_t *outputs;
    xf_op_t *ops;
    size_t num_outputs;
    size_t num_dense;
    size_t num_categorical;
    cfx_xf_input_t *inputs; /* public ones first, then label-only ones */
    size_t *input_name_len;
    size_t num_inputs;
    size_t num_public_inputs;
    int32_t *name_table; /* open addressing over input names: index or -1 */
    uint64_t *name_hash;
    size_t name_mask;
    label_t label;
};

/* Hash for the lookup tables: 8 bytes per multiply (names and tokens are
 * short; a byte-at-a-time hash was most of an apply's time). Not a format:
 * it is recomputed at every load. */
static uint64_t hash_bytes(const void *p, size_t n) {
    const uint8_t *b = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
        b += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, b, n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    }
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 29;
    return h;
}

/* Feature names: a constant-time hash of the length and the first and
 * last 8 bytes (names of one example rarely share all three; a collision
 * costs one more probe, never a wrong answer: lookups compare the bytes). */
static uint64_t hash_name(const char *p, size_t n) {
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else {
        memcpy(&a, p, n);
    }
    uint64_t h = (a ^ (n * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
    h ^= (h >> 32) ^ b;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
}

static size_t table_size(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

/* ---- reading files ------------------------------------------------------ */

/* path's contents (at most max bytes, formats/file.h) as a NUL-terminated
 * heap string the caller frees: a vocabulary keeps it as its token bytes. */
static int read_file(const char *path, size_t max, char **out, size_t *len,
                     cfx_error_t *err) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    int rc = cfx_file_read(path, max, &b, err);
    if (rc) {
        cfx_buf_free(&b);
        *out = NULL;
        *len = 0;
        return rc;
    }
    /* The vocabulary keeps these bytes as long as the model lives: give
     * back the buffer's growth slack. */
    char *p = realloc(b.data, b.len + 1);
    *out = p ? p : (char *)b.data;
    *len = b.len;
    return 0;
}

/* ---- vocabulary --------------------------------------------------------- */

static void vocab_free(vocab_t *v) {
    free(v->bytes);
    free(v->offset);
    free(v->table);
    free(v->hash);
    memset(v, 0, sizeof *v);
}

static int vocab_find(const vocab_t *v, const void *p, size_t n, uint64_t h) {
    for (size_t j = h & v->mask;; j = (j + 1) & v->mask) {
        int32_t i = v->table[j];
        if (i < 0)
            return -1;
        if (v->hash[j] == h && v->offset[i + 1] - v->offset[i] == n &&
            memcmp(v->bytes + v->offset[i], p, n) == 0)
            return i;
    }
}

/* Reads a vocabulary file: one token per line, each ending in '\n'. */
static int vocab_load(vocab_t *v, const char *path, size_t expect,
                      uint64_t num_oov, cfx_error_t *err) {
    memset(v, 0, sizeof *v);
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, VOCAB_FILE_MAX, &text, &len, err);
    if (rc < 0)
        return rc;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (len && text[len - 1] != '\n') {
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "%s: last line does not end in a newline", path);
        goto out;
    }
    if (lines != expect) {
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "%s: expected %zu tokens (vocab_size), found %zu",
                           path, expect, lines);
        goto out;
    }
    v->size = lines;
    v->num_oov = num_oov;
    v->offset = malloc((lines + 1) * sizeof *v->offset);
    v->mask = table_size(lines) - 1;
    v->table = malloc((v->mask + 1) * sizeof *v->table);
    v->hash = calloc(v->mask + 1, sizeof *v->hash);
    if (!v->offset || !v->table || !v->hash) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    memset(v->table, 0xff, (v->mask + 1) * sizeof *v->table);
    /* Tokens are stored without their newlines. */
    size_t w = 0, start = 0, k = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        size_t n = i - start;
        memmove(text + w, text + start, n);
        v->offset[k] = (uint32_t)w;
        w += n;
        k++;
        start = i + 1;
    }
    v->offset[k] = (uint32_t)w;
    v->bytes = (uint8_t *)text;
    text = NULL;
    for (size_t i = 0; i < v->size; i++) {
        const uint8_t *p = v->bytes + v->offset[i];
        size_t n = v->offset[i + 1] - v->offset[i];
        if (n == 0 || memchr(p, '\r', n)) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s:%zu: empty token or token with '\\r'", path,
                               i + 1);
            goto out;
        }
        uint64_t h = hash_bytes(p, n);
        if (vocab_find(v, p, n, h) >= 0) {
            rc = cfx_error_set(err, CFX_ECORRUPT, "%s:%zu: duplicate token",
                               path, i + 1);
            goto out;
        }
        size_t j = h & v->mask;
        while (v->table[j] >= 0)
            j = (j + 1) & v->mask;
        v->table[j] = (int32_t)i;
        v->hash[j] = h;
    }
out:
    free(text);
    if (rc < 0)
        vocab_free(v);
    return rc;
}

static int64_t vocab_lookup(const vocab_t *v, const void *p, size_t n) {
    int i = v->size ? vocab_find(v, p, n, hash_bytes(p, n)) : -1;
    if (i >= 0)
        return i;
    return (int64_t)v->size + (int64_t)(cfx_fingerprint64(p, n) % v->num_oov);
}

/* ---- inputs ------------------------------------------------------------- */

static long input_find(const cfx_transform_t *t, const char *name, size_t n) {
    if (!t->name_table)
        return -1;
    uint64_t h = hash_name(name, n);
    for (size_t j = h & t->name_mask;; j = (j + 1) & t->name_mask) {
        int32_t i = t->name_table[j];
        if (i < 0)
            return -1;
        if (t->name_hash[j] == h && t->input_name_len[i] == n &&
            memcmp(t->inputs[i].name, name, n) == 0)
            return i;
    }
}

/* Adds an input (or finds it); *index receives its position. */
static int input_add(cfx_transform_t *t, const char *name, cfx_kind_t kind,
                     size_t *index, const char *where, cfx_error_t *err) {
    long i = input_find(t, name, strlen(name));
    if (i >= 0) {
        *index = (size_t)i;
        return 0;
    }
    if (t->num_inputs >= CFX_XF_MAX_INPUTS)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d inputs", where,
                             CFX_XF_MAX_INPUTS);
    size_t k = t->num_inputs;
    char *copy = strdup(name);
    if (!copy)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
    t->inputs[k].name = copy;
    t->inputs[k].kind = kind;
    t->input_name_len[k] = strlen(name);
    uint64_t h = hash_name(name, t->input_name_len[k]);
    size_t j = h & t->name_mask;
    while (t->name_table[j] >= 0)
        j = (j + 1) & t->name_mask;
    t->name_table[j] = (int32_t)k;
    t->name_hash[j] = h;
    t->num_inputs++;
    *index = k;
    return 0;
}

/* ---- loading ------------------------------------------------------------ */

static int json_str(json_t *o, const char *key, const char **out,
                    const char *where, cfx_error_t *err) {
    *out = NULL;
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: \"%s\" must be a non-empty string", where,
                             key);
    *out = json_string_value(v);
    return 0;
}

static int json_int(json_t *o, const char *key, int64_t lo, int64_t hi,
                    int64_t *out, const char *where, cfx_error_t *err) {
    *out = 0;
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: \"%s\" must be an integer in [%lld, %lld]",
                             where, key, (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

static int json_num(json_t *o, const char *key, double *out, const char *where,
                    cfx_error_t *err) {
    *out = 0;
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: \"%s\" must be a finite number", where, key);
    *out = json_number_value(v);
    return 0;
}

/* A vocabulary file name must stay inside assets/. */
static int safe_file_name(const char *s) {
    return s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

/* A cross: "inputs" names earlier categorical outputs. */
static int load_cross(cfx_transform_t *t, size_t k, json_t *o,
                      const char *where, cfx_error_t *err) {
    cfx_xf_output_t *out = &t->outputs[k];
    xf_op_t *op = &t->ops[k];
    json_t *in = json_object_get(o, "inputs");
    int64_t hb, card;
    int rc;
    if (!json_is_array(in) || json_array_size(in) < 2 ||
        json_array_size(in) > MAX_CROSS)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s ('%s'): \"inputs\" must be an array of 2 to "
                             "%d output names",
                             where, out->name, MAX_CROSS);
    if ((rc = json_int(o, "hash_bucket_size", 0, MAX_CARDINALITY, &hb, where,
                       err)) < 0 ||
        (rc = json_int(o, "cardinality", 1, MAX_CARDINALITY, &card, where,
                       err)) < 0)
        return rc;
    uint64_t product = 1;
    for (size_t i = 0; i < json_array_size(in); i++) {
        json_t *v = json_array_get(in, i);
        size_t j = 0;
        while (j < k && !(json_is_string(v) &&
                          !strcmp(t->outputs[j].name, json_string_value(v))))
            j++;
        if (j == k || t->outputs[j].kind != CFX_XF_CATEGORICAL)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s ('%s'): inputs[%zu] is not an earlier "
                                 "categorical output",
                                 where, out->name, i);
        op->cross_slot[i] = t->outputs[j].slot;
        op->cross_card[i] = (uint64_t)t->outputs[j].cardinality;
        if (product <= (uint64_t)MAX_CARDINALITY)
            product *= op->cross_card[i];
    }
    op->num_cross = json_array_size(in);
    op->hash_buckets = (uint64_t)hb;
    if (hb == 0 && product > (uint64_t)MAX_CARDINALITY)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s ('%s'): exact cross of cardinality above "
                             "%" PRId64,
                             where, out->name, MAX_CARDINALITY);
    uint64_t expect = hb ? (uint64_t)hb : product;
    if ((uint64_t)card != expect)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s ('%s'): \"cardinality\" %" PRId64
                             ", expected %" PRIu64,
                             where, out->name, card, expect);
    op->op = OP_CROSS;
    op->input = NO_INPUT;
    out->kind = CFX_XF_CATEGORICAL;
    out->cardinality = card;
    out->slot = t->num_categorical++;
    return 0;
}

static int load_output(cfx_transform_t *t, size_t k, json_t *o,
                       const char *graph_dir, const char *where,
                       cfx_error_t *err) {
    cfx_xf_output_t *out = &t->outputs[k];
    xf_op_t *op = &t->ops[k];
    const char *name, *opname, *input;
    int rc;
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_ECORRUPT, "%s: must be an object", where);
    if ((rc = json_str(o, "name", &name, where, err)) < 0 ||
        (rc = json_str(o, "op", &opname, where, err)) < 0)
        return rc;
    if (!(out->name = strdup(name)))
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
    if (!strcmp(opname, "cross"))
        return load_cross(t, k, o, where, err);
    if ((rc = json_str(o, "input", &input, where, err)) < 0)
        return rc;
    long in = input_find(t, input, strlen(input));
    if (in < 0 || (size_t)in >= t->num_public_inputs)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s ('%s'): input '%s' is not in \"inputs\"",
                             where, name, input);
    op->input = (size_t)in;
    cfx_kind_t kind = t->inputs[in].kind;
    if (!strcmp(opname, "z_score") || !strcmp(opname, "log_z_score")) {
        double mean, var;
        if ((rc = json_num(o, "mean", &mean, where, err)) < 0 ||
            (rc = json_num(o, "var", &var, where, err)) < 0)
            return rc;
        if (var < 0)
            return cfx_error_set(err, CFX_ECORRUPT, "%s: negative \"var\"",
                                 where);
        if (kind == CFX_KIND_BYTES)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: z_score of bytes input '%s'", where,
                                 input);
        op->op = OP_Z_SCORE;
        op->log1p = !strcmp(opname, "log_z_score");
        op->mean = (float)mean;
        op->std = sqrtf((float)var);
        out->kind = CFX_XF_DENSE;
        out->cardinality = 0;
    } else if (!strcmp(opname, "vocabulary")) {
        const char *file;
        int64_t size, oov;
        if ((rc = json_str(o, "vocabulary_file", &file, where, err)) < 0 ||
            (rc = json_int(o, "vocab_size", 0, VOCAB_MAX_SIZE, &size, where,
                           err)) < 0 ||
            (rc = json_int(o, "num_oov_buckets", 1, 1000000, &oov, where,
                           err)) < 0)
            return rc;
        if (!safe_file_name(file))
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: vocabulary_file '%s' must be a plain "
                                 "file name in assets/",
                                 where, file);
        if (kind == CFX_KIND_FLOAT)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: vocabulary of float input '%s'", where,
                                 input);
        size_t plen = strlen(graph_dir) + strlen(file) + 16;
        char *path = malloc(plen);
        if (!path)
            return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
        snprintf(path, plen, "%s/assets/%s", graph_dir, file);
        rc = vocab_load(&op->vocab, path, (size_t)size, (uint64_t)oov, err);
        free(path);
        if (rc < 0)
            return rc;
        op->op = OP_VOCABULARY;
        out->kind = CFX_XF_CATEGORICAL;
        out->cardinality = size + oov;
    } else if (!strcmp(opname, "bucketize")) {
        json_t *b = json_object_get(o, "boundaries");
        if (!json_is_array(b) || json_array_size(b) > MAX_BOUNDARIES)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: \"boundaries\" must be an array of at "
                                 "most %d numbers",
                                 where, MAX_BOUNDARIES);
        if (kind == CFX_KIND_BYTES)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: bucketize of bytes input '%s'", where,
                                 input);
        op->num_boundaries = json_array_size(b);
        op->boundaries = calloc(op->num_boundaries + 1, sizeof(float));
        if (!op->boundaries)
            return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
        for (size_t i = 0; i < op->num_boundaries; i++) {
            json_t *x = json_array_get(b, i);
            if (!json_is_number(x) || !isfinite(json_number_value(x)))
                return cfx_error_set(err, CFX_ECORRUPT,
                                     "%s: boundaries[%zu] is not a finite "
                                     "number",
                                     where, i);
            op->boundaries[i] = (float)json_number_value(x);
            if (i && op->boundaries[i] < op->boundaries[i - 1])
                return cfx_error_set(err, CFX_ECORRUPT,
                                     "%s: boundaries[%zu] is below "
                                     "boundaries[%zu]",
                                     where, i, i - 1);
        }
        op->op = OP_BUCKETIZE;
        out->kind = CFX_XF_CATEGORICAL;
        out->cardinality = (int64_t)op->num_boundaries + 1;
    } else if (!strcmp(opname, "identity")) {
        int64_t card, def;
        if ((rc = json_int(o, "cardinality", 1, MAX_CARDINALITY, &card, where,
                           err)) < 0 ||
            (rc = json_int(o, "default_value", 0, card - 1, &def, where, err)) <
                0)
            return rc;
        if (kind != CFX_KIND_INT64)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: identity of non-int64 input '%s'", where,
                                 input);
        op->op = OP_IDENTITY;
        op->cardinality = card;
        op->default_value = def;
        out->kind = CFX_XF_CATEGORICAL;
        out->cardinality = card;
    } else {
        return cfx_error_set(err, CFX_EUNSUPPORTED, "%s: unknown op '%s'",
                             where, opname);
    }
    out->slot =
        out->kind == CFX_XF_DENSE ? t->num_dense++ : t->num_categorical++;
    return 0;
}

/* "op": "class": "task" binary or multiclass, "label_vocabulary" the class
 * label strings in class order. */
static int load_class_label(cfx_transform_t *t, json_t *o, const char *where,
                            cfx_error_t *err) {
    const char *task;
    cfx_task_t tk;
    int rc;
    if ((rc = json_str(o, "task", &task, where, err)) < 0)
        return rc;
    if (cfx_task_parse(task, &tk) < 0 || tk == CFX_TASK_REGRESSION)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: \"task\" of a class label must be "
                             "\"binary\" or \"multiclass\", not '%s'",
                             where, task);
    json_t *v = json_object_get(o, "label_vocabulary");
    if (!json_is_array(v) || json_array_size(v) < 2 ||
        json_array_size(v) > CFX_TASK_MAX_CLASSES)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: \"label_vocabulary\" must be an array of 2 "
                             "to %d strings",
                             where, CFX_TASK_MAX_CLASSES);
    size_t k = json_array_size(v);
    const char **labels = calloc(k, sizeof *labels);
    if (!labels)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
    for (size_t j = 0; j < k; j++) {
        json_t *s = json_array_get(v, j);
        labels[j] = json_is_string(s) ? json_string_value(s) : NULL;
        if (!labels[j] || json_string_length(s) > CFX_TASK_MAX_LABEL_LEN ||
            strlen(labels[j]) != json_string_length(s)) {
            free(labels);
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: label_vocabulary[%zu] must be a string "
                                 "of at most %d bytes",
                                 where, j, CFX_TASK_MAX_LABEL_LEN);
        }
        for (size_t i = 0; i < j; i++)
            if (!strcmp(labels[i], labels[j])) {
                free(labels);
                return cfx_error_set(err, CFX_ECORRUPT,
                                     "%s: label_vocabulary[%zu] '%s' is "
                                     "listed twice",
                                     where, j, json_string_value(s));
            }
    }
    rc = cfx_head_init(&t->label.head, tk, k, labels, err);
    free(labels);
    if (rc < 0)
        cfx_error_prefix(err, "%s", where);
    return rc;
}

static int load_label(cfx_transform_t *t, json_t *o, const char *where,
                      cfx_error_t *err) {
    const char *name, *opname, *input;
    int rc;
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_ECORRUPT, "%s: must be an object", where);
    if ((rc = json_str(o, "name", &name, where, err)) < 0 ||
        (rc = json_str(o, "op", &opname, where, err)) < 0 ||
        (rc = json_str(o, "input", &input, where, err)) < 0)
        return rc;
    t->label.threshold_input = NO_INPUT;
    if (!strcmp(opname, "class") || !strcmp(opname, "value")) {
        if (!strcmp(opname, "class")) {
            t->label.op = LABEL_CLASS;
            rc = load_class_label(t, o, where, err);
        } else {
            t->label.op = LABEL_VALUE;
            rc = cfx_head_init(&t->label.head, CFX_TASK_REGRESSION, 0, NULL,
                               err);
        }
        if (rc < 0 ||
            (rc = input_add(t, input,
                            t->label.op == LABEL_CLASS ? CFX_KIND_BYTES
                                                       : CFX_KIND_FLOAT,
                            &t->label.input, where, err)) < 0)
            return rc;
        if (!(t->label.name = strdup(name)))
            return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
        return 0;
    }
    if (strcmp(opname, "greater_than"))
        return cfx_error_set(err, CFX_EUNSUPPORTED, "%s: unknown label op '%s'",
                             where, opname);
    t->label.op = LABEL_GREATER_THAN;
    if ((rc = cfx_head_init_binary(&t->label.head, err)) < 0)
        return rc;
    double scale = 1, constant = 0, nan_value = 0;
    if ((rc = json_num(o, "threshold_scale", &scale, where, err)) < 0 ||
        (rc = json_num(o, "threshold", &constant, where, err)) < 0 ||
        (rc = json_num(o, "nan_value", &nan_value, where, err)) < 0)
        return rc;
    if ((rc = input_add(t, input, CFX_KIND_FLOAT, &t->label.input, where,
                        err)) < 0)
        return rc;
    json_t *ti = json_object_get(o, "threshold_input");
    if (ti && !json_is_null(ti)) {
        const char *tin;
        if ((rc = json_str(o, "threshold_input", &tin, where, err)) < 0 ||
            (rc = input_add(t, tin, CFX_KIND_FLOAT, &t->label.threshold_input,
                            where, err)) < 0)
            return rc;
    }
    t->label.scale = (float)scale;
    t->label.constant = (float)constant;
    t->label.nan_value = (float)nan_value;
    if (!(t->label.name = strdup(name)))
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
    return 0;
}

int cfx_transform_load(const char *graph_dir, cfx_transform_t **out,
                       cfx_error_t *err) {
    *out = NULL;
    int rc = 0;
    char *text = NULL, *path = NULL;
    size_t len = 0;
    json_t *root = NULL;
    cfx_transform_t *t = calloc(1, sizeof *t);
    size_t plen = strlen(graph_dir) + 32;
    path = malloc(plen);
    if (!t || !path) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(path, plen, "%s/transform.json", graph_dir);
    if ((rc = read_file(path, GRAPH_JSON_MAX, &text, &len, err)) < 0)
        goto out;
    json_error_t je;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        rc = cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, je.line,
                           je.column, je.text);
        goto out;
    }
    int64_t version = 0;
    if (!json_is_object(root) || (rc = json_int(root, "format_version", 1, 1,
                                                &version, path, err)) < 0) {
        if (rc == 0)
            rc =
                cfx_error_set(err, CFX_ECORRUPT, "%s: not a JSON object", path);
        goto out;
    }
    json_t *inputs = json_object_get(root, "inputs");
    json_t *outputs = json_object_get(root, "outputs");
    if (!json_is_array(inputs) || json_array_size(inputs) > CFX_XF_MAX_INPUTS ||
        !json_is_array(outputs) || json_array_size(outputs) == 0 ||
        json_array_size(outputs) > CFX_XF_MAX_INPUTS) {
        rc = cfx_error_set(err, CFX_ECORRUPT,
                           "%s: \"inputs\" and \"outputs\" must be arrays "
                           "(1 to %d outputs, at most %d inputs)",
                           path, CFX_XF_MAX_INPUTS, CFX_XF_MAX_INPUTS);
        goto out;
    }
    t->inputs = calloc(CFX_XF_MAX_INPUTS, sizeof *t->inputs);
    t->input_name_len = calloc(CFX_XF_MAX_INPUTS, sizeof *t->input_name_len);
    t->name_mask = table_size(CFX_XF_MAX_INPUTS) - 1;
    t->name_table = malloc((t->name_mask + 1) * sizeof *t->name_table);
    t->name_hash = calloc(t->name_mask + 1, sizeof *t->name_hash);
    t->num_outputs = json_array_size(outputs);
    t->outputs = calloc(t->num_outputs, sizeof *t->outputs);
    t->ops = calloc(t->num_outputs, sizeof *t->ops);
    if (!t->inputs || !t->input_name_len || !t->name_table || !t->name_hash ||
        !t->outputs || !t->ops) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    memset(t->name_table, 0xff, (t->name_mask + 1) * sizeof *t->name_table);
    char where[256];
    for (size_t i = 0; i < json_array_size(inputs); i++) {
        json_t *in = json_array_get(inputs, i);
        const char *name, *kind;
        cfx_kind_t k;
        snprintf(where, sizeof where, "%s: inputs[%zu]", path, i);
        if (!json_is_object(in)) {
            rc = cfx_error_set(err, CFX_ECORRUPT, "%s: must be an object",
                               where);
            goto out;
        }
        if ((rc = json_str(in, "name", &name, where, err)) < 0 ||
            (rc = json_str(in, "kind", &kind, where, err)) < 0)
            goto out;
        if (cfx_dtype_kind_parse(kind, &k) < 0) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s: kind '%s' is not int64, float or bytes",
                               where, kind);
            goto out;
        }
        if (input_find(t, name, strlen(name)) >= 0) {
            rc = cfx_error_set(err, CFX_ECORRUPT, "%s: duplicate input '%s'",
                               where, name);
            goto out;
        }
        size_t idx;
        if ((rc = input_add(t, name, k, &idx, where, err)) < 0)
            goto out;
    }
    t->num_public_inputs = t->num_inputs;
    for (size_t i = 0; i < t->num_outputs; i++) {
        snprintf(where, sizeof where, "%s: outputs[%zu]", path, i);
        if ((rc = load_output(t, i, json_array_get(outputs, i), graph_dir,
                              where, err)) < 0)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t->outputs[j].name, t->outputs[i].name)) {
                rc = cfx_error_set(err, CFX_ECORRUPT,
                                   "%s: duplicate output name '%s'", where,
                                   t->outputs[i].name);
                goto out;
            }
    }
    json_t *label = json_object_get(root, "label");
    if (label && !json_is_null(label)) {
        snprintf(where, sizeof where, "%s: label", path);
        if ((rc = load_label(t, label, where, err)) < 0)
            goto out;
    }
    *out = t;
    t = NULL;
out:
    json_decref(root);
    free(text);
    free(path);
    cfx_transform_free(t);
    return rc;
}

void cfx_transform_free(cfx_transform_t *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->num_outputs; i++) {
        free((void *)t->outputs[i].name);
        free(t->ops[i].boundaries);
        vocab_free(&t->ops[i].vocab);
    }
    free(t->outputs);
    free(t->ops);
    for (size_t i = 0; i < t->num_inputs; i++)
        free((void *)t->inputs[i].name);
    free(t->inputs);
    free(t->input_name_len);
    free(t->name_table);
    free(t->name_hash);
    free(t->label.name);
    cfx_head_free(&t->label.head);
    free(t);
}

/* ---- accessors ---------------------------------------------------------- */

size_t cfx_transform_num_outputs(const cfx_transform_t *t) {
    return t->num_outputs;
}

const cfx_xf_output_t *cfx_transform_output(const cfx_transform_t *t,
                                            size_t i) {
    return i < t->num_outputs ? &t->outputs[i] : NULL;
}

size_t cfx_transform_num_dense(const cfx_transform_t *t) {
    return t->num_dense;
}

size_t cfx_transform_num_categorical(const cfx_transform_t *t) {
    return t->num_categorical;
}

size_t cfx_transform_num_inputs(const cfx_transform_t *t) {
    return t->num_public_inputs;
}

const cfx_xf_input_t *cfx_transform_input(const cfx_transform_t *t, size_t i) {
    return i < t->num_public_inputs ? &t->inputs[i] : NULL;
}

const char *cfx_transform_label_name(const cfx_transform_t *t) {
    return t->label.name;
}

const cfx_head_t *cfx_transform_label_head(const cfx_transform_t *t) {
    return t->label.name ? &t->label.head : NULL;
}

long cfx_transform_find_output(const cfx_transform_t *t, const char *name) {
    for (size_t i = 0; i < t->num_outputs; i++)
        if (!strcmp(t->outputs[i].name, name))
            return (long)i;
    return -1;
}

/* ---- apply -------------------------------------------------------------- */

/* Points found[i] at the raw feature of input i (NULL when absent); a later
 * duplicate name wins, as in protobuf map decoding. */
static void gather(const cfx_transform_t *t, const cfx_example_t *raw,
                   const cfx_feature_t **found) {
    memset(found, 0, t->num_inputs * sizeof *found);
    for (size_t i = 0; i < raw->count; i++) {
        const cfx_feature_t *f = &raw->features[i];
        long k = input_find(t, f->name, f->name_len);
        if (k >= 0)
            found[k] = f;
    }
}

/* The first value as float32, 0 when missing or empty (TFT's fill). */
static int numeric(const cfx_feature_t *f, const char *name, float *x,
                   cfx_error_t *err) {
    *x = 0.0f;
    if (!f || f->count == 0 || f->kind == CFX_KIND_NONE)
        return 0;
    if (f->kind == CFX_KIND_FLOAT)
        *x = f->v.floats[0];
    else if (f->kind == CFX_KIND_INT64)
        *x = (float)f->v.ints[0];
    else
        return cfx_error_set(err, CFX_EINVAL,
                             "feature '%s': expected a number, got bytes",
                             name);
    return 0;
}

/* Decimal digits of v, written right-aligned at the end of s[24] (as
 * "%" PRId64 would, without the cost of printf on the hot path); returns
 * the length. */
static size_t format_int64(char s[24], int64_t v) {
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t i = 24;
    do {
        s[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        s[--i] = '-';
    return 24 - i;
}

/* splitmix64's finaliser: spreads a cross index over 64 bits. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* log1p of x clamped at 0 below; NaN stays NaN (left out of the moments
 * like any NaN). */
static float log1p_clamped(float x) {
    return x > 0.0f ? log1pf(x) : (isnan(x) ? x : 0.0f);
}

/* cats: the categorical outputs computed so far, by slot (a cross reads
 * earlier ones). */
static int apply_op(const cfx_transform_t *t, const xf_op_t *op,
                    const cfx_feature_t *f, const int32_t *cats, float *dense,
                    int32_t *cat, cfx_error_t *err) {
    if (op->op == OP_CROSS) {
        uint64_t idx = 0;
        for (size_t i = 0; i < op->num_cross; i++)
            idx = idx * op->cross_card[i] + (uint64_t)cats[op->cross_slot[i]];
        *cat =
            (int32_t)(op->hash_buckets ? mix64(idx) % op->hash_buckets : idx);
        return 0;
    }
    const char *name = t->inputs[op->input].name;
    int present = f && f->count > 0 && f->kind != CFX_KIND_NONE;
    float x;
    int rc;
    switch (op->op) {
    case OP_Z_SCORE:
        if ((rc = numeric(f, name, &x, err)) < 0)
            return rc;
        if (op->log1p)
            x = log1p_clamped(x);
        x = x - op->mean;
        *dense = op->std == 0.0f ? x : x / op->std;
        return 0;
    case OP_BUCKETIZE: {
        if ((rc = numeric(f, name, &x, err)) < 0)
            return rc;
        /* Number of boundaries <= x; NaN goes to the last bucket. */
        size_t lo = 0, hi = op->num_boundaries;
        if (isnan(x)) {
            lo = hi;
        } else {
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (op->boundaries[mid] <= x)
                    lo = mid + 1;
                else
                    hi = mid;
            }
        }
        *cat = (int32_t)lo;
        return 0;
    }
    case OP_VOCABULARY:
        if (!present) {
            /* TFT's fill: 0 for an int64 input (the token "0"), "" (OOV)
             * for bytes; as transform/tft.c counts it */
            if (t->inputs[op->input].kind == CFX_KIND_INT64)
                *cat = (int32_t)vocab_lookup(&op->vocab, "0", 1);
            else
                *cat = (int32_t)vocab_lookup(&op->vocab, "", 0);
        } else if (f->kind == CFX_KIND_BYTES) {
            *cat = (int32_t)vocab_lookup(&op->vocab, f->v.bytes[0].data,
                                         f->v.bytes[0].len);
        } else if (f->kind == CFX_KIND_INT64) {
            char s[24];
            size_t n = format_int64(s, f->v.ints[0]);
            *cat = (int32_t)vocab_lookup(&op->vocab, s + sizeof s - n, n);
        } else {
            return cfx_error_set(err, CFX_EINVAL,
                                 "feature '%s': expected bytes, got %s", name,
                                 cfx_dtype_kind_name(f->kind));
        }
        return 0;
    case OP_IDENTITY: {
        int64_t v = 0;
        if (present) {
            if (f->kind != CFX_KIND_INT64)
                return cfx_error_set(err, CFX_EINVAL,
                                     "feature '%s': expected int64, got %s",
                                     name, cfx_dtype_kind_name(f->kind));
            v = f->v.ints[0];
        }
        *cat = (int32_t)(v >= 0 && v < op->cardinality ? v : op->default_value);
        return 0;
    }
    case OP_CROSS:
        break; /* handled above */
    }
    return cfx_error_set(err, CFX_EINTERNAL, "bad op");
}

int cfx_transform_apply(const cfx_transform_t *t, const cfx_example_t *raw,
                        float *dense, int32_t *categorical, cfx_error_t *err) {
    const cfx_feature_t *found[CFX_XF_MAX_INPUTS];
    gather(t, raw, found);
    for (size_t i = 0; i < t->num_outputs; i++) {
        const xf_op_t *op = &t->ops[i];
        size_t slot = t->outputs[i].slot;
        float d = 0.0f;
        int32_t c = 0;
        int rc =
            apply_op(t, op, op->input == NO_INPUT ? NULL : found[op->input],
                     categorical, &d, &c, err);
        if (rc < 0)
            return rc;
        if (t->outputs[i].kind == CFX_XF_DENSE)
            dense[slot] = d;
        else
            categorical[slot] = c;
    }
    return 0;
}

int cfx_transform_class_text(const cfx_feature_t *f, char *s, const char **p,
                             size_t *n) {
    if (f->kind == CFX_KIND_BYTES) {
        *p = (const char *)f->v.bytes[0].data;
        *n = f->v.bytes[0].len;
        return 0;
    }
    if (f->kind == CFX_KIND_INT64) {
        *n = (size_t)snprintf(s, 32, "%" PRId64, f->v.ints[0]);
        *p = s;
        return 0;
    }
    double x = f->v.floats[0];
    if (!(x == floor(x) && fabs(x) < 9007199254740992.0))
        return CFX_EINVAL;
    *n = (size_t)snprintf(s, 32, "%lld", (long long)x);
    *p = s;
    return 0;
}

static int label_of(const cfx_transform_t *t, const cfx_feature_t **found,
                    float *label, cfx_error_t *err) {
    const label_t *l = &t->label;
    const cfx_feature_t *f = found[l->input];
    const char *name = t->inputs[l->input].name;
    if (l->op != LABEL_GREATER_THAN) {
        if (!f || f->count == 0 || f->kind == CFX_KIND_NONE)
            return cfx_error_set(err, CFX_EINVAL,
                                 "label '%s' is missing (every example needs "
                                 "its label)",
                                 name);
        if (l->op == LABEL_VALUE) {
            float x;
            int rc = numeric(f, name, &x, err);
            if (rc < 0)
                return rc;
            if (!isfinite(x))
                return cfx_error_set(err, CFX_EINVAL,
                                     "label '%s': %g is not a finite number",
                                     name, x);
            *label = x;
            return 0;
        }
        char s[32];
        const char *p = s;
        size_t n = 0;
        if (cfx_transform_class_text(f, s, &p, &n) < 0)
            return cfx_error_set(err, CFX_EINVAL,
                                 "label '%s': %g is not a class (a class "
                                 "label is a string or an integer)",
                                 name, (double)f->v.floats[0]);
        for (size_t j = 0; j < l->head.num_classes; j++)
            if (strlen(l->head.class_labels[j]) == n &&
                !memcmp(l->head.class_labels[j], p, n)) {
                *label = (float)j;
                return 0;
            }
        return cfx_error_set(err, CFX_EINVAL,
                             "label '%s': value \"%.*s\" is not in the label "
                             "vocabulary (%zu classes seen in train)",
                             name, (int)(n > 200 ? 200 : n), p,
                             l->head.num_classes);
    }
    float x, th = l->constant;
    int rc = numeric(f, name, &x, err);
    if (rc < 0)
        return rc;
    if (l->threshold_input != NO_INPUT) {
        float y;
        rc = numeric(found[l->threshold_input],
                     t->inputs[l->threshold_input].name, &y, err);
        if (rc < 0)
            return rc;
        th = l->scale * y; /* float32 product, as tf.multiply */
    }
    if (isnan(x) || isnan(th))
        *label = l->nan_value;
    else
        *label = x > th ? 1.0f : 0.0f;
    return 0;
}

int cfx_transform_label(const cfx_transform_t *t, const cfx_example_t *raw,
                        float *label, cfx_error_t *err) {
    *label = 0.0f;
    if (!t->label.name)
        return cfx_error_set(err, CFX_ENOTFOUND,
                             "the transform graph defines no label");
    const cfx_feature_t *found[CFX_XF_MAX_INPUTS];
    gather(t, raw, found);
    return label_of(t, found, label, err);
}

int cfx_transform_apply_example(const cfx_transform_t *t,
                                const cfx_example_t *raw, cfx_example_t *out,
                                cfx_error_t *err) {
    const cfx_feature_t *found[CFX_XF_MAX_INPUTS];
    int32_t cats[CFX_XF_MAX_INPUTS]; /* outputs are at most as many */
    cfx_example_reset(out);
    gather(t, raw, found);
    for (size_t i = 0; i < t->num_outputs; i++) {
        const xf_op_t *op = &t->ops[i];
        float d = 0.0f;
        int32_t c = 0;
        int rc =
            apply_op(t, op, op->input == NO_INPUT ? NULL : found[op->input],
                     cats, &d, &c, err);
        if (rc < 0)
            return rc;
        if (t->outputs[i].kind == CFX_XF_CATEGORICAL)
            cats[t->outputs[i].slot] = c;
        if (t->outputs[i].kind == CFX_XF_DENSE) {
            rc = cfx_example_add_float(out, t->outputs[i].name, &d, 1);
        } else {
            int64_t v = c;
            rc = cfx_example_add_int64(out, t->outputs[i].name, &v, 1);
        }
        if (rc < 0)
            return cfx_error_set(err, rc, "transformed example: out of memory");
    }
    if (t->label.name) {
        float l;
        int rc = label_of(t, found, &l, err);
        if (rc < 0)
            return rc;
        if (t->label.op == LABEL_VALUE) {
            rc = cfx_example_add_float(out, t->label.name, &l, 1);
        } else {
            int64_t v = (int64_t)l;
            rc = cfx_example_add_int64(out, t->label.name, &v, 1);
        }
        if (rc < 0)
            return cfx_error_set(err, rc, "transformed example: out of memory");
    }
    return 0;
}
