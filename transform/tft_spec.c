/*
 * transform_spec.c: parses and validates the transform spec JSON (format in
 * transform_spec.h) with jansson. Every error names the file and the
 * output (by index and name) and the offending key.
 */
#include "transform/tft_spec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "formats/suggest.h"

#define SPEC_MAX_BYTES (16u * 1024 * 1024)

static const char *const op_names[] = {"z_score",  "vocabulary", "bucketize",
                                       "identity", "cross",      "log_z_score"};

const char *cfx_xf_op_name(cfx_xf_op_t op) {
    if ((size_t)op < sizeof op_names / sizeof op_names[0])
        return op_names[op];
    return "?";
}

static int op_parse(const char *s, cfx_xf_op_t *op) {
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (!strcmp(s, op_names[i])) {
            *op = (cfx_xf_op_t)i;
            return 0;
        }
    return -1;
}

/* Every key of obj must be in allowed (NULL-terminated); where names the
 * file and the object. */
static int check_keys(json_t *obj, const char *const *allowed,
                      const char *where, cfx_error_t *err) {
    return cfx_suggest_check_keys(obj, allowed, CFX_EPARSE, "key", where, NULL,
                                  err);
}

static int get_string(json_t *obj, const char *key, int required, char **out,
                      const char *where, cfx_error_t *err) {
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return cfx_error_set(err, CFX_EPARSE, "%s: missing \"%s\"", where,
                                 key);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > 1024 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"%s\" must be a non-empty string of at "
                             "most 1024 bytes without NUL",
                             where, key);
    *out = strdup(json_string_value(v));
    if (!*out)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

/* An integer in [lo, hi]; *out keeps its default when the key is absent. */
static int get_int(json_t *obj, const char *key, int64_t lo, int64_t hi,
                   int64_t *out, const char *where, cfx_error_t *err) {
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"%s\" must be an integer in [%lld, %lld]",
                             where, key, (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

static int get_number(json_t *obj, const char *key, double *out,
                      const char *where, cfx_error_t *err) {
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return cfx_error_set(err, CFX_EPARSE, "%s: \"%s\" must be a number",
                             where, key);
    *out = json_number_value(v);
    return 0;
}

/* A cross: "inputs" names 2 to CFX_XF_SPEC_MAX_CROSS distinct outputs
 * (that they are earlier and categorical is checked by the caller, which
 * sees the other outputs); "hash_bucket_size" optional. */
static int parse_cross(json_t *o, cfx_xf_spec_output_t *out, const char *w,
                       cfx_error_t *err) {
    static const char *const keys[] = {"name", "op", "inputs",
                                       "hash_bucket_size", NULL};
    int rc;
    if ((rc = check_keys(o, keys, w, err)) < 0 ||
        (rc = get_int(o, "hash_bucket_size", 1, CFX_XF_SPEC_MAX_CARDINALITY,
                      &out->hash_bucket_size, w, err)) < 0)
        return rc;
    json_t *in = json_object_get(o, "inputs");
    if (!json_is_array(in) || json_array_size(in) < 2 ||
        json_array_size(in) > CFX_XF_SPEC_MAX_CROSS)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"inputs\" must be an array of 2 to %d "
                             "output names",
                             w, CFX_XF_SPEC_MAX_CROSS);
    out->cross_inputs = calloc(json_array_size(in), sizeof(char *));
    if (!out->cross_inputs)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(in); i++) {
        json_t *v = json_array_get(in, i);
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strlen(json_string_value(v)) != json_string_length(v))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: inputs[%zu] must be a non-empty string",
                                 w, i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(out->cross_inputs[j], json_string_value(v)))
                return cfx_error_set(err, CFX_EPARSE,
                                     "%s: inputs[%zu] '%s' is named twice", w,
                                     i, json_string_value(v));
        if (!(out->cross_inputs[i] = strdup(json_string_value(v))))
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        out->num_cross_inputs = i + 1;
    }
    return 0;
}

static int parse_output(json_t *o, cfx_xf_spec_output_t *out, const char *where,
                        cfx_error_t *err) {
    static const char *const common[] = {"name", "op", "input", NULL};
    static const char *const vocab[] = {
        "name", "op", "input", "top_k", "num_oov_buckets", NULL};
    static const char *const bucket[] = {"name", "op", "input", "num_buckets",
                                         NULL};
    static const char *const ident[] = {
        "name", "op", "input", "cardinality", "default_value", NULL};
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_EPARSE, "%s: must be an object", where);
    int rc;
    if ((rc = get_string(o, "name", 1, &out->name, where, err)) < 0)
        return rc;
    json_t *op = json_object_get(o, "op");
    if (!json_is_string(op) || op_parse(json_string_value(op), &out->op) < 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s ('%s'): \"op\" must be one of z_score, "
                             "log_z_score, vocabulary, bucketize, identity, "
                             "cross",
                             where, out->name);
    if (out->op != CFX_XF_OP_CROSS &&
        (rc = get_string(o, "input", 1, &out->input, where, err)) < 0)
        return rc;
    char w[1200];
    snprintf(w, sizeof w, "%s ('%s')", where, out->name);
    out->top_k = 0;
    out->num_oov_buckets = 1;
    out->num_buckets = 0;
    out->cardinality = 0;
    out->default_value = 0;
    switch (out->op) {
    case CFX_XF_OP_Z_SCORE:
    case CFX_XF_OP_LOG_Z_SCORE:
        return check_keys(o, common, w, err);
    case CFX_XF_OP_CROSS:
        return parse_cross(o, out, w, err);
    case CFX_XF_OP_VOCABULARY:
        if ((rc = check_keys(o, vocab, w, err)) < 0 ||
            (rc = get_int(o, "top_k", 0, INT32_MAX, &out->top_k, w, err)) < 0 ||
            (rc = get_int(o, "num_oov_buckets", 1, CFX_XF_SPEC_MAX_OOV,
                          &out->num_oov_buckets, w, err)) < 0)
            return rc;
        return 0;
    case CFX_XF_OP_BUCKETIZE:
        out->num_buckets = -1;
        if ((rc = check_keys(o, bucket, w, err)) < 0 ||
            (rc = get_int(o, "num_buckets", 1, CFX_XF_SPEC_MAX_BUCKETS,
                          &out->num_buckets, w, err)) < 0)
            return rc;
        if (out->num_buckets < 0)
            return cfx_error_set(err, CFX_EPARSE, "%s: missing \"num_buckets\"",
                                 w);
        return 0;
    case CFX_XF_OP_IDENTITY:
        if ((rc = check_keys(o, ident, w, err)) < 0 ||
            (rc = get_int(o, "cardinality", 1, CFX_XF_SPEC_MAX_CARDINALITY,
                          &out->cardinality, w, err)) < 0 ||
            (rc = get_int(o, "default_value", 0, CFX_XF_SPEC_MAX_CARDINALITY,
                          &out->default_value, w, err)) < 0)
            return rc;
        if (out->cardinality && out->default_value >= out->cardinality)
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: \"default_value\" %lld is not below "
                                 "\"cardinality\" %lld",
                                 w, (long long)out->default_value,
                                 (long long)out->cardinality);
        return 0;
    }
    return cfx_error_set(err, CFX_EINTERNAL, "%s: bad op", w);
}

/* {"name", "input", "task", "label_vocabulary"}: the column is the label. */
static int parse_column_label(json_t *o, cfx_xf_spec_label_t *l,
                              const char *where, cfx_error_t *err) {
    static const char *const keys[] = {"name", "input", "task",
                                       "label_vocabulary", NULL};
    int rc;
    l->is_column = 1;
    json_t *task = json_object_get(o, "task");
    if (!json_is_string(task) ||
        cfx_task_parse(json_string_value(task), &l->task) < 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"task\" must be \"binary\", "
                             "\"multiclass\" or \"regression\"",
                             where);
    if ((rc = check_keys(o, keys, where, err)) < 0 ||
        (rc = get_string(o, "name", 1, &l->name, where, err)) < 0 ||
        (rc = get_string(o, "input", 1, &l->input, where, err)) < 0)
        return rc;
    json_t *v = json_object_get(o, "label_vocabulary");
    if (!v)
        return 0;
    size_t want = l->task == CFX_TASK_BINARY ? 2 : 0;
    if (l->task == CFX_TASK_REGRESSION)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"label_vocabulary\" is for a class task, "
                             "not regression",
                             where);
    if (!json_is_array(v) || json_array_size(v) < 2 ||
        json_array_size(v) > CFX_TASK_MAX_CLASSES ||
        (want && json_array_size(v) != want))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"label_vocabulary\" must be an array of %s "
                             "strings",
                             where, want ? "2" : "2 to 1000");
    if (!(l->vocab = calloc(json_array_size(v), sizeof *l->vocab)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    for (size_t j = 0; j < json_array_size(v); j++) {
        json_t *s = json_array_get(v, j);
        if (!json_is_string(s) || json_string_length(s) == 0 ||
            json_string_length(s) > CFX_TASK_MAX_LABEL_LEN ||
            strlen(json_string_value(s)) != json_string_length(s) ||
            strchr(json_string_value(s), '\n'))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: label_vocabulary[%zu] must be a "
                                 "non-empty string of at most %d bytes "
                                 "without NUL or newline",
                                 where, j, CFX_TASK_MAX_LABEL_LEN);
        for (size_t i = 0; i < j; i++)
            if (!strcmp(l->vocab[i], json_string_value(s)))
                return cfx_error_set(err, CFX_EPARSE,
                                     "%s: label_vocabulary[%zu] '%s' is "
                                     "listed twice",
                                     where, j, json_string_value(s));
        if (!(l->vocab[j] = strdup(json_string_value(s))))
            return cfx_error_set(err, CFX_ENOMEM, "out of memory");
        l->vocab_size = j + 1;
    }
    return 0;
}

static int parse_label(json_t *o, cfx_xf_spec_label_t *l, const char *where,
                       cfx_error_t *err) {
    static const char *const keys[] = {"name",      "op",        "input",
                                       "threshold", "nan_value", NULL};
    static const char *const class_keys[] = {"name", "op", "input", "nan_value",
                                             NULL};
    static const char *const tkeys[] = {"input", "scale", NULL};
    if (!json_is_object(o))
        return cfx_error_set(err, CFX_EPARSE, "%s: must be an object", where);
    int rc;
    l->task = CFX_TASK_BINARY;
    json_t *op = json_object_get(o, "op");
    if (!op && json_object_get(o, "task"))
        return parse_column_label(o, l, where, err);
    if (json_is_string(op) && !strcmp(json_string_value(op), "identity"))
        l->is_class = 1;
    else if (!json_is_string(op) ||
             strcmp(json_string_value(op), "greater_than"))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"op\" must be \"greater_than\" (the label "
                             "is input > threshold) or \"identity\" (the "
                             "input is the class, 0 or 1); or give \"task\" "
                             "(binary, multiclass, regression) and no \"op\" "
                             "to take the column as the label",
                             where);
    if ((rc = check_keys(o, l->is_class ? class_keys : keys, where, err)) < 0 ||
        (rc = get_string(o, "name", 1, &l->name, where, err)) < 0 ||
        (rc = get_string(o, "input", 1, &l->input, where, err)) < 0)
        return rc;
    json_t *t = json_object_get(o, "threshold");
    l->threshold_scale = 1.0;
    l->threshold_const = 0.0;
    l->nan_value = 0.0;
    if (l->is_class) {
        /* a class of 0 or 1 is itself > 0.5: the graph's one label op */
        l->threshold_const = 0.5;
    } else if (json_is_number(t)) {
        l->threshold_const = json_number_value(t);
    } else if (json_is_object(t)) {
        char w[1200];
        snprintf(w, sizeof w, "%s.threshold", where);
        if ((rc = check_keys(t, tkeys, w, err)) < 0 ||
            (rc = get_string(t, "input", 1, &l->threshold_input, w, err)) < 0 ||
            (rc = get_number(t, "scale", &l->threshold_scale, w, err)) < 0)
            return rc;
    } else {
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"threshold\" must be a number or "
                             "{\"input\": ..., \"scale\": ...}",
                             where);
    }
    return get_number(o, "nan_value", &l->nan_value, where, err);
}

/* Each output a cross reads must come before it and be categorical. */
static int check_cross(const cfx_tft_spec_t *spec, size_t i, const char *where,
                       cfx_error_t *err) {
    const cfx_xf_spec_output_t *c = &spec->outputs[i];
    for (size_t k = 0; k < c->num_cross_inputs; k++) {
        size_t j = 0;
        while (j < i && strcmp(spec->outputs[j].name, c->cross_inputs[k]))
            j++;
        if (j == i)
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s ('%s'): inputs[%zu] '%s' is not an "
                                 "earlier output",
                                 where, c->name, k, c->cross_inputs[k]);
        if (spec->outputs[j].op == CFX_XF_OP_Z_SCORE ||
            spec->outputs[j].op == CFX_XF_OP_LOG_Z_SCORE)
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s ('%s'): inputs[%zu] '%s' is not "
                                 "categorical",
                                 where, c->name, k, c->cross_inputs[k]);
    }
    return 0;
}

int cfx_tft_spec_parse(const char *text, size_t len, const char *origin,
                       cfx_tft_spec_t *spec, cfx_error_t *err) {
    memset(spec, 0, sizeof *spec);
    json_error_t je;
    int rc = 0;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", origin, je.line,
                             je.column, je.text);
    static const char *const top[] = {"outputs", "label", NULL};
    char where[1100];
    if (!json_is_object(root)) {
        rc =
            cfx_error_set(err, CFX_EPARSE, "%s: must be a JSON object", origin);
        goto out;
    }
    if ((rc = check_keys(root, top, origin, err)) < 0)
        goto out;
    json_t *outs = json_object_get(root, "outputs");
    if (!json_is_array(outs) || json_array_size(outs) == 0 ||
        json_array_size(outs) > CFX_XF_SPEC_MAX_OUTPUTS) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "%s: \"outputs\" must be an array of 1 to %d "
                           "objects",
                           origin, CFX_XF_SPEC_MAX_OUTPUTS);
        goto out;
    }
    spec->outputs = calloc(json_array_size(outs), sizeof *spec->outputs);
    if (!spec->outputs) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(outs); i++) {
        snprintf(where, sizeof where, "%s: outputs[%zu]", origin, i);
        spec->num_outputs = i + 1;
        rc = parse_output(json_array_get(outs, i), &spec->outputs[i], where,
                          err);
        if (rc < 0)
            goto out;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(spec->outputs[j].name, spec->outputs[i].name)) {
                rc = cfx_error_set(err, CFX_EPARSE,
                                   "%s: duplicate output name '%s'", where,
                                   spec->outputs[i].name);
                goto out;
            }
        if ((rc = check_cross(spec, i, where, err)) < 0)
            goto out;
    }
    json_t *label = json_object_get(root, "label");
    if (label) {
        snprintf(where, sizeof where, "%s: label", origin);
        if ((rc = parse_label(label, &spec->label, where, err)) < 0)
            goto out;
        for (size_t j = 0; j < spec->num_outputs; j++)
            if (!strcmp(spec->outputs[j].name, spec->label.name)) {
                rc = cfx_error_set(err, CFX_EPARSE,
                                   "%s: name '%s' is also an output", where,
                                   spec->label.name);
                goto out;
            }
    }
out:
    json_decref(root);
    if (rc < 0)
        cfx_tft_spec_free(spec);
    return rc;
}

int cfx_tft_spec_load(const char *path, cfx_tft_spec_t *spec,
                      cfx_error_t *err) {
    memset(spec, 0, sizeof *spec);
    cfx_buf_t text;
    cfx_buf_init(&text);
    int rc = cfx_file_read(path, SPEC_MAX_BYTES, &text, err);
    if (rc == 0)
        rc = cfx_tft_spec_parse((const char *)text.data, text.len, path, spec,
                                err);
    cfx_buf_free(&text);
    return rc;
}

void cfx_tft_spec_free(cfx_tft_spec_t *spec) {
    for (size_t i = 0; i < spec->num_outputs; i++) {
        free(spec->outputs[i].name);
        free(spec->outputs[i].input);
        for (size_t k = 0; k < spec->outputs[i].num_cross_inputs; k++)
            free(spec->outputs[i].cross_inputs[k]);
        free(spec->outputs[i].cross_inputs);
    }
    free(spec->outputs);
    free(spec->label.name);
    free(spec->label.input);
    free(spec->label.threshold_input);
    for (size_t j = 0; j < spec->label.vocab_size; j++)
        free(spec->label.vocab[j]);
    free(spec->label.vocab);
    memset(spec, 0, sizeof *spec);
}
