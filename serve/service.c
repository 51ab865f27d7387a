/*
 * service.c: Predict / Classify / Regress over a servable, the signature
 * table, warmup replay and the error-code mapping (see service.h).
 *
 * Every signature runs the same bundle forward pass (transform graph +
 * model + head) on raw examples; they differ in how inputs arrive and how
 * the prediction is presented (a binary model's probability becomes two
 * class scores; a multi-class model's N probabilities are its scores). An int64
 * feature sent where the graph reads a float (JSON `1` vs `1.0`) is widened
 * rather than refused.
 */
#include "serve/service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "serve/json_tensor.h"

#define MAX_SIGS 4
#define WARMUP_LINE_MAX (1u << 20)

/* A bundle's signatures follow its task (model/bundle.h): binary
 * serving_default, predict_raw, classify (2 classes), regress; multiclass
 * the two predicts ("outputs" [-1,N]) and classify ([-1,N]); regression
 * the two predicts and regress. */
struct cfx_sigtab {
    cfx_signature_t sigs[MAX_SIGS];
    size_t n_sigs;
    cfx_tensor_spec_t pred_out[1];     /* "outputs" [-1, width] */
    cfx_tensor_spec_t classify_out[2]; /* "classes", "scores" [-1, k] */
    cfx_tensor_spec_t regress_out[1];  /* "outputs" [-1, 1] */
    cfx_tensor_spec_t *raw_inputs;     /* predict_raw's, owned */
    char *names;                       /* "<input>:0" strings, owned */
};

static const cfx_tensor_spec_t examples_in[] = {
    {"examples", "input_example_tensor:0", CFX_DT_STRING, 1, {-1, 0}}};
static const cfx_tensor_spec_t inputs_in[] = {
    {"inputs", "input_example_tensor:0", CFX_DT_STRING, 1, {-1, 0}}};

int cfx_sigtab_new(const cfx_bundle_t *b, cfx_sigtab_t **out,
                   cfx_error_t *err) {
    *out = NULL;
    const cfx_transform_t *t = cfx_bundle_transform(b);
    size_t ni = t ? cfx_transform_num_inputs(t) : 0;
    cfx_sigtab_t *st = calloc(1, sizeof(*st));
    if (!st)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    size_t nlen = 0;
    for (size_t i = 0; i < ni; i++)
        nlen += strlen(cfx_transform_input(t, i)->name) + 3;
    st->raw_inputs = calloc(ni ? ni : 1, sizeof(*st->raw_inputs));
    st->names = malloc(nlen + 1);
    if (!st->raw_inputs || !st->names) {
        cfx_sigtab_free(st);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    char *p = st->names;
    for (size_t i = 0; i < ni; i++) {
        const cfx_xf_input_t *in = cfx_transform_input(t, i);
        cfx_tensor_spec_t *s = &st->raw_inputs[i];
        s->name = in->name;
        s->tensor = p;
        p += sprintf(p, "%s:0", in->name) + 1;
        s->dtype = cfx_dtype_of_kind(in->kind);
        s->rank = 1;
        s->dims[0] = -1;
    }
    cfx_task_t task = cfx_bundle_task(b);
    int64_t width = (int64_t)cfx_bundle_output_width(b);
    int64_t k = (int64_t)cfx_bundle_num_classes(b);
    st->pred_out[0] = (cfx_tensor_spec_t){
        "outputs",
        task == CFX_TASK_REGRESSION ? "predictions:0" : "probabilities:0",
        CFX_DT_FLOAT,
        2,
        {-1, width}};
    st->classify_out[0] =
        (cfx_tensor_spec_t){"classes", "classes:0", CFX_DT_STRING, 2, {-1, k}};
    st->classify_out[1] =
        (cfx_tensor_spec_t){"scores", "scores:0", CFX_DT_FLOAT, 2, {-1, k}};
    st->regress_out[0] = (cfx_tensor_spec_t){
        "outputs",
        task == CFX_TASK_REGRESSION ? "predictions:0" : "probabilities:0",
        CFX_DT_FLOAT,
        2,
        {-1, 1}};
    size_t n = 0;
    st->sigs[n++] = (cfx_signature_t){"serving_default",
                                      CFX_METHOD_PREDICT,
                                      CFX_SIG_PREDICT_EXAMPLES,
                                      examples_in,
                                      1,
                                      st->pred_out,
                                      1};
    st->sigs[n++] = (cfx_signature_t){"predict_raw",
                                      CFX_METHOD_PREDICT,
                                      CFX_SIG_PREDICT_RAW,
                                      st->raw_inputs,
                                      ni,
                                      st->pred_out,
                                      1};
    if (task != CFX_TASK_REGRESSION)
        st->sigs[n++] = (cfx_signature_t){"classify",
                                          CFX_METHOD_CLASSIFY,
                                          CFX_SIG_CLASSIFY,
                                          inputs_in,
                                          1,
                                          st->classify_out,
                                          2};
    if (task != CFX_TASK_MULTICLASS)
        st->sigs[n++] = (cfx_signature_t){"regress",
                                          CFX_METHOD_REGRESS,
                                          CFX_SIG_REGRESS,
                                          inputs_in,
                                          1,
                                          st->regress_out,
                                          1};
    st->n_sigs = n;
    *out = st;
    return 0;
}

void cfx_sigtab_free(cfx_sigtab_t *t) {
    if (!t)
        return;
    free(t->raw_inputs);
    free(t->names);
    free(t);
}

size_t cfx_service_num_signatures(const cfx_servable_t *s) {
    return cfx_servable_sigtab(s)->n_sigs;
}

const cfx_signature_t *cfx_service_signature_at(const cfx_servable_t *s,
                                                size_t i) {
    const cfx_sigtab_t *t = cfx_servable_sigtab(s);
    return i < t->n_sigs ? &t->sigs[i] : NULL;
}

int cfx_service_signature(const cfx_servable_t *s, const char *key,
                          const cfx_signature_t **out, cfx_error_t *err) {
    *out = NULL;
    if (!key || !*key)
        key = "serving_default";
    const cfx_sigtab_t *t = cfx_servable_sigtab(s);
    for (size_t i = 0; i < t->n_sigs; i++)
        if (strcmp(t->sigs[i].key, key) == 0) {
            *out = &t->sigs[i];
            return 0;
        }
    return cfx_error_set(err, CFX_ESTATE,
                         "Serving signature key \"%s\" not found.", key);
}

/* A copy of ex with int64 features widened to float where the graph reads
 * a float, allocated in arena (the request's: one block for every copy);
 * NULL result (and 0) when ex needs no change. */
static int widen(const cfx_transform_t *t, const cfx_example_t *ex,
                 cfx_arena_t *arena, cfx_example_t **out) {
    *out = NULL;
    size_t ni = cfx_transform_num_inputs(t);
    int need = 0;
    for (size_t i = 0; i < ni && !need; i++) {
        const cfx_xf_input_t *in = cfx_transform_input(t, i);
        const cfx_feature_t *f = cfx_example_find(ex, in->name);
        need = f && in->kind == CFX_KIND_FLOAT && f->kind == CFX_KIND_INT64;
    }
    if (!need)
        return 0;
    cfx_example_t *c = cfx_arena_alloc(arena, sizeof(*c));
    if (!c)
        return CFX_ENOMEM;
    cfx_example_init_in(c, arena);
    int rc = 0;
    for (size_t i = 0; i < ex->count && !rc; i++) {
        const cfx_feature_t *f = &ex->features[i];
        const cfx_xf_input_t *in = NULL;
        for (size_t k = 0; k < ni; k++)
            if (strcmp(cfx_transform_input(t, k)->name, f->name) == 0)
                in = cfx_transform_input(t, k);
        if (in && in->kind == CFX_KIND_FLOAT && f->kind == CFX_KIND_INT64) {
            float *v = malloc((f->count ? f->count : 1) * sizeof(*v));
            if (!v) {
                rc = CFX_ENOMEM;
                break;
            }
            for (size_t k = 0; k < f->count; k++)
                v[k] = (float)f->v.ints[k];
            rc = cfx_example_add_float(c, f->name, v, f->count);
            free(v);
        } else if (f->kind == CFX_KIND_INT64) {
            rc = cfx_example_add_int64(c, f->name, f->v.ints, f->count);
        } else if (f->kind == CFX_KIND_FLOAT) {
            rc = cfx_example_add_float(c, f->name, f->v.floats, f->count);
        } else if (f->kind == CFX_KIND_BYTES) {
            rc = cfx_example_add_bytes(c, f->name, f->v.bytes, f->count);
        } else {
            rc = cfx_example_add_none(c, f->name);
        }
    }
    if (rc) {
        cfx_example_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int run(const cfx_servable_t *s, const cfx_example_t *const *ex,
               size_t n, float *out, cfx_error_t *err) {
    if (n == 0)
        return cfx_error_set(err, CFX_EINVAL, "Input is empty.");
    if (n > CFX_SERVICE_MAX_BATCH)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "batch of %zu examples exceeds the limit of %d", n,
                             CFX_SERVICE_MAX_BATCH);
    const cfx_bundle_t *b = cfx_servable_bundle(s);
    const cfx_transform_t *t = cfx_bundle_transform(b);
    const cfx_example_t **use = NULL;
    cfx_arena_t arena; /* the widened copies, freed as one */
    cfx_arena_init(&arena);
    int rc = 0;
    for (size_t i = 0; i < n && t; i++) {
        cfx_example_t *w = NULL;
        if ((rc = widen(t, ex[i], &arena, &w)) != 0)
            goto out;
        if (!w)
            continue;
        if (!use) {
            use = malloc(n * sizeof(*use));
            if (!use) {
                rc = CFX_ENOMEM;
                goto out;
            }
            memcpy(use, ex, n * sizeof(*use));
        }
        use[i] = w;
    }
    rc = cfx_bundle_predict(b, use ? use : (const cfx_example_t **)ex, n, out,
                            err);
out:
    free(use);
    cfx_arena_free(&arena);
    if (rc == CFX_ENOMEM)
        cfx_error_set(err, rc, "out of memory");
    return rc;
}

int cfx_service_predict(const cfx_servable_t *s, const cfx_signature_t *sig,
                        const cfx_example_t *const *ex, size_t n, float *out,
                        cfx_error_t *err) {
    if (strcmp(sig->method_name, CFX_METHOD_PREDICT) != 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "Expected prediction signature method_name to be "
                             "%s. Was: %s",
                             CFX_METHOD_PREDICT, sig->method_name);
    return run(s, ex, n, out, err);
}

size_t cfx_service_num_classes(const cfx_servable_t *s) {
    return cfx_bundle_num_classes(cfx_servable_bundle(s));
}

const char *cfx_service_class_label(const cfx_servable_t *s, size_t j) {
    return cfx_bundle_class_label(cfx_servable_bundle(s), j);
}

size_t cfx_service_output_width(const cfx_servable_t *s) {
    return cfx_bundle_output_width(cfx_servable_bundle(s));
}

int cfx_service_classify(const cfx_servable_t *s, const cfx_signature_t *sig,
                         const cfx_example_t *const *ex, size_t n,
                         float *scores, cfx_error_t *err) {
    if (sig->kind != CFX_SIG_CLASSIFY)
        return cfx_error_set(err, CFX_EINVAL,
                             "Expected classification signature method_name "
                             "to be %s. Was: %s",
                             CFX_METHOD_CLASSIFY, sig->method_name);
    cfx_task_t task = cfx_bundle_task(cfx_servable_bundle(s));
    if (task == CFX_TASK_MULTICLASS) /* one probability per class */
        return run(s, ex, n, scores, err);
    if (task != CFX_TASK_BINARY)
        return cfx_error_set(err, CFX_EINVAL,
                             "a regression model does not classify");
    /* p[i] in the second half of scores, then spread into pairs. */
    int rc = run(s, ex, n, scores + n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        float p = scores[n + i];
        scores[2 * i] = 1.0f - p;
        scores[2 * i + 1] = p;
    }
    return 0;
}

int cfx_service_regress(const cfx_servable_t *s, const cfx_signature_t *sig,
                        const cfx_example_t *const *ex, size_t n, float *out,
                        cfx_error_t *err) {
    if (sig->kind != CFX_SIG_REGRESS)
        return cfx_error_set(err, CFX_EINVAL,
                             "Expected regression signature method_name to be "
                             "%s. Was: %s",
                             CFX_METHOD_REGRESS, sig->method_name);
    if (cfx_bundle_output_width(cfx_servable_bundle(s)) != 1)
        return cfx_error_set(err, CFX_EINVAL,
                             "a multi-class model does not regress");
    return run(s, ex, n, out, err);
}

static int cmp_feature_name(const void *a, const void *b) {
    const cfx_feature_t *x = *(const cfx_feature_t *const *)a;
    const cfx_feature_t *y = *(const cfx_feature_t *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

int cfx_service_merge_context(cfx_example_t *dst, const cfx_example_t *ex,
                              const cfx_example_t *context) {
    const cfx_example_t *src[2] = {ex, context};
    /* ex's names sorted, so that merging stays O(n log n) in the features
     * of both (a scan of ex per context feature would be quadratic). */
    const cfx_feature_t **names = NULL;
    size_t nnames = ex ? ex->count : 0;
    int rc = 0;
    if (context && nnames) {
        names = malloc(nnames * sizeof(*names));
        if (!names)
            return CFX_ENOMEM;
        for (size_t i = 0; i < nnames; i++)
            names[i] = &ex->features[i];
        qsort(names, nnames, sizeof(*names), cmp_feature_name);
    }
    for (int k = 0; k < 2 && !rc; k++) {
        if (!src[k])
            continue;
        for (size_t i = 0; i < src[k]->count && !rc; i++) {
            const cfx_feature_t *f = &src[k]->features[i];
            if (k == 1 && names &&
                bsearch(&f, names, nnames, sizeof(*names), cmp_feature_name))
                continue;
            switch (f->kind) {
            case CFX_KIND_INT64:
                rc = cfx_example_add_int64(dst, f->name, f->v.ints, f->count);
                break;
            case CFX_KIND_FLOAT:
                rc = cfx_example_add_float(dst, f->name, f->v.floats, f->count);
                break;
            case CFX_KIND_BYTES:
                rc = cfx_example_add_bytes(dst, f->name, f->v.bytes, f->count);
                break;
            default:
                rc = cfx_example_add_none(dst, f->name);
                break;
            }
        }
    }
    free(names);
    return rc;
}

/* One warmup line: a raw feature object, or {"instances": [objects]}. */
static int warmup_line(const cfx_servable_t *s, const cfx_signature_t *raw,
                       const json_t *doc, cfx_error_t *err) {
    const json_t *inst = json_object_get(doc, "instances");
    size_t n = inst ? json_array_size(inst) : 1;
    int rc = 0;
    if (!json_is_object(doc) || (inst && !json_is_array(inst)) || n == 0 ||
        n > 1000)
        return cfx_error_set(err, CFX_EINVAL,
                             "expected a JSON object of raw features");
    cfx_example_t *ex = calloc(n, sizeof(*ex));
    const cfx_example_t **ptr = calloc(n, sizeof(*ptr));
    float *out = calloc(n * cfx_service_output_width(s), sizeof(*out));
    if (!ex || !ptr || !out) {
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        cfx_example_init(&ex[i]);
        ptr[i] = &ex[i];
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const json_t *obj = inst ? json_array_get(inst, i) : doc;
        if (!json_is_object(obj)) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "expected a JSON object of raw features");
            break;
        }
        for (size_t k = 0; k < raw->n_inputs && !rc; k++) {
            const json_t *v = json_object_get(obj, raw->inputs[k].name);
            if (v && !json_is_null(v))
                rc = cfx_json_add_typed(&ex[i], raw->inputs[k].name,
                                        raw->inputs[k].dtype, v, err);
        }
    }
    if (!rc)
        rc = cfx_service_predict(s, raw, ptr, n, out, err);
out:
    if (ex)
        for (size_t i = 0; i < n; i++)
            cfx_example_free(&ex[i]);
    free(ex);
    free(ptr);
    free(out);
    return rc;
}

int cfx_service_warmup(const cfx_servable_t *s, size_t *n, cfx_error_t *err) {
    *n = 0;
    const char *path = cfx_bundle_warmup_path(cfx_servable_bundle(s));
    if (!path)
        return 0;
    const cfx_signature_t *raw = NULL;
    int rc = cfx_service_signature(s, "predict_raw", &raw, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0; /* optional file */
    char *line = malloc(WARMUP_LINE_MAX);
    if (!line) {
        fclose(f);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    size_t lineno = 0;
    while (fgets(line, WARMUP_LINE_MAX, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == WARMUP_LINE_MAX - 1 && line[len - 1] != '\n') {
            rc = cfx_error_set(err, CFX_ETOOBIG,
                               "%s:%zu: line longer than %u "
                               "bytes",
                               path, lineno, WARMUP_LINE_MAX);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' '))
            line[--len] = 0;
        if (!len)
            continue;
        if (*n >= CFX_WARMUP_MAX_RECORDS) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "%s: more than %d warmup records", path,
                               CFX_WARMUP_MAX_RECORDS);
            break;
        }
        json_error_t je;
        json_t *doc = json_loadb(line, len, 0, &je);
        if (!doc) {
            rc = cfx_error_set(err, CFX_EPARSE, "%s:%zu:%d: %s", path, lineno,
                               je.column, je.text);
            break;
        }
        rc = warmup_line(s, raw, doc, err);
        json_decref(doc);
        if (rc) {
            cfx_error_prefix(err, "%s:%zu", path, lineno);
            break;
        }
        (*n)++;
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- the request memory budget -------------------------------------------
 */

static atomic_size_t g_inflight;

/* Charges from this size up give their memory back to the system when
 * released: the heap of a worker that served one huge batch would
 * otherwise stay at its peak. */
#define TRIM_FROM ((size_t)16 << 20)

int cfx_service_admit(size_t limit, size_t request_bytes, size_t *charge,
                      cfx_error_t *err) {
    size_t c = request_bytes > SIZE_MAX / CFX_SERVICE_COST_FACTOR
                   ? SIZE_MAX / 2
                   : request_bytes * CFX_SERVICE_COST_FACTOR;
    if (c == 0)
        c = 1;
    *charge = 0;
    size_t cur = atomic_load(&g_inflight);
    for (;;) {
        if (limit && cur && (cur > limit || c > limit - cur))
            return cfx_error_set(
                err, CFX_ETOOBIG,
                "server busy: %zu bytes of requests in flight, this one "
                "needs %zu more, over the limit of %zu (--max_inflight_bytes)",
                cur, c, limit);
        if (atomic_compare_exchange_weak(&g_inflight, &cur, cur + c))
            break;
    }
    *charge = c;
    return 0;
}

void cfx_service_release(size_t charge) {
    if (!charge)
        return;
    atomic_fetch_sub(&g_inflight, charge);
#ifdef __GLIBC__
    if (charge >= TRIM_FROM)
        malloc_trim(0);
#endif
}

size_t cfx_service_inflight_bytes(void) {
    return atomic_load(&g_inflight);
}

int cfx_service_tf_code(int e) {
    switch (e) {
    case CFX_OK:
        return 0;
    case CFX_ECANCELLED:
        return 1;
    case CFX_EPARSE:
    case CFX_EINVAL:
        return 3;
    case CFX_ETIMEOUT:
        return 4;
    case CFX_ENOTFOUND:
        return 5;
    case CFX_EEXIST:
        return 6;
    case CFX_ENOMEM:
    case CFX_ETOOBIG:
        return 8;
    case CFX_ESTATE:
    case CFX_EANOMALIES:
    case CFX_ENOTBLESSED:
        return 9;
    case CFX_EUNSUPPORTED:
        return 12;
    case CFX_EINTERNAL:
        return 13;
    case CFX_EUNAVAILABLE:
        return 14;
    case CFX_ECORRUPT:
    case CFX_ETRUNCATED:
    case CFX_ECHECKSUM:
        return 15;
    default:
        return 2;
    }
}

const char *cfx_service_tf_code_name(int c) {
    static const char *names[] = {"OK",
                                  "CANCELLED",
                                  "UNKNOWN",
                                  "INVALID_ARGUMENT",
                                  "DEADLINE_EXCEEDED",
                                  "NOT_FOUND",
                                  "ALREADY_EXISTS",
                                  "PERMISSION_DENIED",
                                  "RESOURCE_EXHAUSTED",
                                  "FAILED_PRECONDITION",
                                  "ABORTED",
                                  "OUT_OF_RANGE",
                                  "UNIMPLEMENTED",
                                  "INTERNAL",
                                  "UNAVAILABLE",
                                  "DATA_LOSS",
                                  "UNAUTHENTICATED"};
    return c >= 0 && c <= 16 ? names[c] : "UNKNOWN";
}

int cfx_service_http_status(int c) {
    static const int http[] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                               400, 409, 400, 501, 500, 503, 500, 401};
    return c >= 0 && c <= 16 ? http[c] : 500;
}
