/*
 * task.c: task names and the head (task.h).
 */
#include "model/task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const task_names[] = {"binary", "multiclass", "regression"};

const char *cfx_task_name(cfx_task_t task) {
    if ((size_t)task < sizeof task_names / sizeof task_names[0])
        return task_names[task];
    return "?";
}

int cfx_task_parse(const char *s, cfx_task_t *task) {
    for (size_t i = 0; i < sizeof task_names / sizeof task_names[0]; i++)
        if (!strcmp(s, task_names[i])) {
            *task = (cfx_task_t)i;
            return 0;
        }
    return -1;
}

void cfx_head_free(cfx_head_t *h) {
    if (h->class_labels)
        for (size_t j = 0; j < h->num_classes; j++)
            free(h->class_labels[j]);
    free(h->class_labels);
    memset(h, 0, sizeof *h);
}

int cfx_head_init(cfx_head_t *h, cfx_task_t task, size_t num_classes,
                  const char *const *labels, cfx_error_t *err) {
    memset(h, 0, sizeof *h);
    h->task = task;
    h->label_mean = 0.0;
    h->label_std = 1.0;
    if (task == CFX_TASK_REGRESSION)
        num_classes = 0;
    else if (task == CFX_TASK_BINARY && num_classes != 2)
        return cfx_error_set(err, CFX_EINVAL,
                             "a binary task has 2 classes, not %zu",
                             num_classes);
    else if (num_classes < 2 || num_classes > CFX_TASK_MAX_CLASSES)
        return cfx_error_set(err, CFX_EINVAL,
                             "a multiclass task has 2 to %d classes, not %zu",
                             CFX_TASK_MAX_CLASSES, num_classes);
    if (num_classes == 0)
        return 0;
    h->class_labels = calloc(num_classes, sizeof *h->class_labels);
    if (!h->class_labels)
        return cfx_error_set(err, CFX_ENOMEM, "head: out of memory");
    h->num_classes = num_classes;
    for (size_t j = 0; j < num_classes; j++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%zu", j);
        if (!(h->class_labels[j] = strdup(labels ? labels[j] : tmp))) {
            cfx_head_free(h);
            return cfx_error_set(err, CFX_ENOMEM, "head: out of memory");
        }
    }
    return 0;
}

int cfx_head_init_binary(cfx_head_t *h, cfx_error_t *err) {
    return cfx_head_init(h, CFX_TASK_BINARY, 2, NULL, err);
}

int cfx_head_copy(cfx_head_t *dst, const cfx_head_t *src, cfx_error_t *err) {
    int rc = cfx_head_init(dst, src->task, src->num_classes,
                           (const char *const *)src->class_labels, err);
    if (rc == 0) {
        dst->label_mean = src->label_mean;
        dst->label_std = src->label_std;
    }
    return rc;
}

size_t cfx_head_num_logits(const cfx_head_t *h) {
    return h->task == CFX_TASK_MULTICLASS ? h->num_classes : 1;
}

size_t cfx_head_output_width(const cfx_head_t *h) {
    return cfx_head_num_logits(h);
}

static inline float sigmoid(float z) {
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

void cfx_head_apply(const cfx_head_t *h, const float *logits, size_t B,
                    float *out) {
    switch (h->task) {
    case CFX_TASK_BINARY:
        for (size_t b = 0; b < B; b++)
            out[b] = sigmoid(logits[b]);
        return;
    case CFX_TASK_REGRESSION:
        for (size_t b = 0; b < B; b++)
            out[b] = (float)(h->label_mean + h->label_std * (double)logits[b]);
        return;
    case CFX_TASK_MULTICLASS: {
        size_t K = h->num_classes;
        for (size_t b = 0; b < B; b++) {
            const float *z = logits + b * K;
            float *p = out + b * K;
            float mx = z[0];
            for (size_t k = 1; k < K; k++)
                if (z[k] > mx)
                    mx = z[k];
            float s = 0;
            for (size_t k = 0; k < K; k++) {
                p[k] = expf(z[k] - mx);
                s += p[k];
            }
            for (size_t k = 0; k < K; k++)
                p[k] /= s;
        }
        return;
    }
    }
}

json_t *cfx_head_to_json(const cfx_head_t *h) {
    json_t *vocab = json_array();
    if (!vocab)
        return NULL;
    for (size_t j = 0; j < h->num_classes; j++)
        if (json_array_append_new(vocab, json_string(h->class_labels[j])) < 0) {
            json_decref(vocab);
            return NULL;
        }
    return json_pack("{s:s, s:I, s:o, s:f, s:f}", "task",
                     cfx_task_name(h->task), "n_classes",
                     (json_int_t)h->num_classes, "label_vocabulary", vocab,
                     "label_mean", h->label_mean, "label_std", h->label_std);
}

int cfx_head_from_json(json_t *o, const char *where, cfx_head_t *h,
                       cfx_error_t *err) {
    memset(h, 0, sizeof *h);
    if (o == NULL)
        return cfx_head_init_binary(h, err);
    json_t *task = json_object_get(o, "task"),
           *n = json_object_get(o, "n_classes");
    json_t *vocab = json_object_get(o, "label_vocabulary");
    json_t *mean = json_object_get(o, "label_mean"),
           *sd = json_object_get(o, "label_std");
    cfx_task_t t;
    if (!json_is_object(o) || !json_is_string(task) ||
        cfx_task_parse(json_string_value(task), &t) < 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"task\" must be \"binary\", \"multiclass\" "
                             "or \"regression\"",
                             where);
    if (!json_is_integer(n) || !json_is_array(vocab) ||
        json_integer_value(n) < 0 ||
        json_integer_value(n) > CFX_TASK_MAX_CLASSES ||
        json_array_size(vocab) != (size_t)json_integer_value(n))
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"n_classes\" must be an integer in [0, %d] "
                             "and \"label_vocabulary\" an array of that many "
                             "strings",
                             where, CFX_TASK_MAX_CLASSES);
    size_t k = json_array_size(vocab);
    const char **labels = calloc(k + 1, sizeof *labels);
    if (!labels)
        return cfx_error_set(err, CFX_ENOMEM, "head: out of memory");
    for (size_t j = 0; j < k; j++) {
        json_t *s = json_array_get(vocab, j);
        if (!json_is_string(s) ||
            json_string_length(s) > CFX_TASK_MAX_LABEL_LEN ||
            strlen(json_string_value(s)) != json_string_length(s)) {
            free(labels);
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: label_vocabulary[%zu] must be a string "
                                 "of at most %d bytes without NUL",
                                 where, j, CFX_TASK_MAX_LABEL_LEN);
        }
        labels[j] = json_string_value(s);
    }
    int rc = cfx_head_init(h, t, k, labels, err);
    free(labels);
    if (rc < 0) {
        cfx_error_prefix(err, "%s", where);
        return rc;
    }
    if ((mean && !json_is_number(mean)) || (sd && !json_is_number(sd))) {
        cfx_head_free(h);
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"label_mean\" and \"label_std\" must be "
                             "numbers",
                             where);
    }
    if (mean)
        h->label_mean = json_number_value(mean);
    if (sd)
        h->label_std = json_number_value(sd);
    if (!isfinite(h->label_mean) || !isfinite(h->label_std) ||
        !(h->label_std > 0)) {
        cfx_head_free(h);
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: \"label_std\" must be a positive number and "
                             "\"label_mean\" finite",
                             where);
    }
    return 0;
}

int cfx_head_same_classes(const cfx_head_t *a, const cfx_head_t *b) {
    if (a->task != b->task || a->num_classes != b->num_classes)
        return 0;
    for (size_t j = 0; j < a->num_classes; j++)
        if (strcmp(a->class_labels[j], b->class_labels[j]))
            return 0;
    return 1;
}
