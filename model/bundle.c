/*
 * bundle.c: loading, verifying and running a model bundle (bundle.h).
 *
 * Load order: manifest.json (bounded, jansson) -> format version -> every
 * listed file's size and SHA-256 -> network spec from the manifest ->
 * transform graph (transform.json + assets/ of the bundle) and its
 * agreement with the network -> safetensors weights, each tensor's name,
 * dtype and shape checked against the network. Any mismatch refuses the
 * bundle with the file, the expected and the found value.
 */
#include "model/bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/safetensors.h"
#include "formats/sha256.h"
#include "model/bundle_writer.h"
#include "model/network.h"
#include "model/trees.h"

#define MAX_MANIFEST (4u * 1024 * 1024)
#define MAX_LISTED 100000
#define PREDICT_CHUNK 64

struct cfx_bundle {
    char *dir;
    char *model_name;
    char *warmup_path; /* NULL when none */
    cfx_transform_t *xf;
    cfx_net_t *net;     /* NULL for a trees bundle */
    cfx_trees_t *trees; /* the gbt model type (model/trees.h), else NULL */
    cfx_head_t head;    /* task, classes; binary when the manifest has none */
};

void cfx_bundle_free(cfx_bundle_t *b) {
    if (b == NULL)
        return;
    cfx_net_free(b->net);
    cfx_trees_free(b->trees);
    cfx_head_free(&b->head);
    if (b->xf)
        cfx_transform_free(b->xf);
    free(b->dir);
    free(b->model_name);
    free(b->warmup_path);
    free(b);
}

const char *cfx_bundle_model_name(const cfx_bundle_t *b) {
    return b->model_name;
}
const char *cfx_bundle_dir(const cfx_bundle_t *b) {
    return b->dir;
}
const cfx_transform_t *cfx_bundle_transform(const cfx_bundle_t *b) {
    return b->xf;
}
const char *cfx_bundle_warmup_path(const cfx_bundle_t *b) {
    return b->warmup_path;
}
const cfx_net_t *cfx_bundle_network(const cfx_bundle_t *b) {
    return b->net;
}
const cfx_trees_t *cfx_bundle_trees(const cfx_bundle_t *b) {
    return b->trees;
}
const cfx_head_t *cfx_bundle_head(const cfx_bundle_t *b) {
    return &b->head;
}
cfx_task_t cfx_bundle_task(const cfx_bundle_t *b) {
    return b->head.task;
}
size_t cfx_bundle_num_classes(const cfx_bundle_t *b) {
    return b->head.num_classes;
}
const char *cfx_bundle_class_label(const cfx_bundle_t *b, size_t j) {
    return j < b->head.num_classes ? b->head.class_labels[j] : NULL;
}
size_t cfx_bundle_output_width(const cfx_bundle_t *b) {
    return cfx_head_output_width(&b->head);
}

int cfx_bundle_relpath_ok(const char *p) {
    if (p[0] == '\0' || p[0] == '/' || strlen(p) > 1024)
        return 0;
    for (const char *s = p;;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l == 0 || (l == 1 && s[0] == '.') ||
            (l == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        if (!e)
            return 1;
        s = e + 1;
    }
}

static int load_manifest(const char *dir, json_t **out, cfx_error_t *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) != 0)
        return cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                             "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > MAX_MANIFEST)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "%s: not a regular file of at most %u bytes", path,
                             MAX_MANIFEST);
    json_error_t jerr;
    json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (m == NULL)
        return cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, jerr.line,
                             jerr.column, jerr.text);
    if (!json_is_object(m)) {
        json_decref(m);
        return cfx_error_set(err, CFX_EPARSE, "%s: expected a JSON object",
                             path);
    }
    *out = m;
    return 0;
}

static int verify_files(const char *dir, json_t *files, const char *weights,
                        cfx_error_t *err) {
    if (!json_is_object(files))
        return cfx_error_set(err, CFX_EPARSE,
                             "manifest.json: 'files' must be an object");
    if (json_object_size(files) > MAX_LISTED)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "manifest.json: more than %d files", MAX_LISTED);
    const char *required[] = {"transform.json", weights};
    for (size_t i = 0; i < 2; i++)
        if (json_object_get(files, required[i]) == NULL)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "manifest.json: '%s' is not listed in files",
                                 required[i]);
    const char *rel;
    json_t *e;
    json_object_foreach(files, rel, e) {
        json_t *sha = json_object_get(e, "sha256"),
               *size = json_object_get(e, "size");
        if (!cfx_bundle_relpath_ok(rel) || !strcmp(rel, "manifest.json"))
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "manifest.json: bad file name '%s'", rel);
        if (!json_is_string(sha) || json_string_length(sha) != 64 ||
            !json_is_integer(size) || json_integer_value(size) < 0)
            return cfx_error_set(
                err, CFX_EPARSE,
                "manifest.json: files['%s']: expected sha256 (64 hex digits) "
                "and size",
                rel);
        char path[4096], hex[CFX_SHA256_HEX_LEN + 1];
        uint64_t found = 0;
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        cfx_error_t e2;
        cfx_error_init(&e2);
        int rc =
            cfx_sha256_file_hex(path, CFX_BUNDLE_MAX_FILE, hex, &found, &e2);
        if (rc == CFX_ENOTFOUND)
            return cfx_error_set(err, CFX_ENOTFOUND,
                                 "%s: listed in manifest.json but missing",
                                 rel);
        if (rc != 0)
            return cfx_error_set(err, rc, "%s", e2.msg);
        if ((json_int_t)found != json_integer_value(size))
            return cfx_error_set(
                err, CFX_ECHECKSUM, "%s: size expected %lld, found %llu", rel,
                (long long)json_integer_value(size), (unsigned long long)found);
        if (strcasecmp(hex, json_string_value(sha)) != 0)
            return cfx_error_set(err, CFX_ECHECKSUM,
                                 "%s: sha256 expected %s, found %s", rel,
                                 json_string_value(sha), hex);
    }
    return 0;
}

/* The network section of the manifest -> a zero-initialized network. */
static int build_network(json_t *m, cfx_net_t **out, cfx_error_t *err) {
    json_t *net = json_object_get(m, "network");
    json_t *dense = json_object_get(net, "dense"),
           *cats = json_object_get(net, "categorical");
    json_t *hidden = json_object_get(net, "hidden_units");
    json_t *deep_cat = json_object_get(net, "deep_categorical");
    json_t *act = json_object_get(net, "activation");
    if (!json_is_object(net) || !json_is_array(dense) || !json_is_array(cats) ||
        !json_is_array(hidden) || !json_is_boolean(deep_cat))
        return cfx_error_set(
            err, CFX_EPARSE,
            "manifest.json: 'network' needs dense, categorical, hidden_units "
            "and deep_categorical");
    if (act &&
        (!json_is_string(act) || strcmp(json_string_value(act), "relu") != 0))
        return cfx_error_set(
            err, CFX_EUNSUPPORTED,
            "manifest.json: network activation expected \"relu\", found %s",
            json_is_string(act) ? json_string_value(act) : "a non-string");
    size_t nc = json_array_size(cats), nh = json_array_size(hidden);
    if (nc > CFX_NET_MAX_WIDTH || nh < 1 || nh > CFX_NET_MAX_HIDDEN)
        return cfx_error_set(err, CFX_EPARSE,
                             "manifest.json: network has %zu categorical "
                             "inputs and %zu hidden layers",
                             nc, nh);
    const char **names = calloc(nc + 1, sizeof *names);
    int64_t *card = calloc(nc + 1, sizeof *card);
    uint8_t *deep = calloc(nc + 1, sizeof *deep);
    size_t *emb = calloc(nc + 1, sizeof *emb);
    int rc = 0;
    if (names == NULL || card == NULL || deep == NULL || emb == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bundle: out of memory");
        goto out;
    }
    json_t *nout = json_object_get(net, "num_outputs");
    if (nout && (!json_is_integer(nout) || json_integer_value(nout) < 1 ||
                 json_integer_value(nout) > CFX_TASK_MAX_CLASSES)) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "manifest.json: network num_outputs is not an "
                           "integer in 1..%d",
                           CFX_TASK_MAX_CLASSES);
        goto out;
    }
    cfx_net_spec_t spec = {.num_dense = json_array_size(dense),
                           .num_categorical = nc,
                           .cat_names = names,
                           .cat_cardinality = card,
                           .num_hidden = nh,
                           .deep_categorical = json_is_true(deep_cat),
                           .cat_deep = deep,
                           .cat_embedding_dim = emb,
                           .num_outputs =
                               nout ? (size_t)json_integer_value(nout) : 1};
    for (size_t c = 0; c < nc; c++) {
        json_t *e = json_array_get(cats, c);
        json_t *nm = json_object_get(e, "name"),
               *cd = json_object_get(e, "cardinality");
        json_t *dp = json_object_get(e, "deep");
        if (!json_is_string(nm) || !json_is_integer(cd) ||
            (dp && !json_is_boolean(dp))) {
            rc = cfx_error_set(
                err, CFX_EPARSE,
                "manifest.json: network categorical[%zu] needs name and "
                "cardinality",
                c);
            goto out;
        }
        names[c] = json_string_value(nm);
        card[c] = json_integer_value(cd);
        deep[c] = dp ? json_is_true(dp) : 1;
        json_t *ed = json_object_get(e, "embedding_dim");
        if (ed && (!json_is_integer(ed) || json_integer_value(ed) < 1 ||
                   json_integer_value(ed) > CFX_NET_MAX_EMBEDDING_DIM ||
                   !deep[c] || !spec.deep_categorical)) {
            rc = cfx_error_set(
                err, CFX_EPARSE,
                "manifest.json: network categorical[%zu] '%s': embedding_dim "
                "expected an integer in 1..%d on a deep categorical",
                c, names[c], CFX_NET_MAX_EMBEDDING_DIM);
            goto out;
        }
        if (ed &&
            json_integer_value(json_object_get(m, "format_version")) < 2) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "manifest.json: network categorical[%zu] "
                               "'%s': embedding_dim needs format_version 2",
                               c, names[c]);
            goto out;
        }
        emb[c] = ed ? (size_t)json_integer_value(ed) : 0;
    }
    for (size_t k = 0; k < nh; k++) {
        json_t *h = json_array_get(hidden, k);
        if (!json_is_integer(h) || json_integer_value(h) < 1 ||
            json_integer_value(h) > CFX_NET_MAX_WIDTH) {
            rc =
                cfx_error_set(err, CFX_EPARSE,
                              "manifest.json: hidden_units[%zu] is not a width "
                              "in 1..%d",
                              k, CFX_NET_MAX_WIDTH);
            goto out;
        }
        spec.hidden[k] = (size_t)json_integer_value(h);
    }
    if ((rc = cfx_net_new(&spec, out, err)) != 0)
        cfx_error_prefix(err, "manifest.json");
out:
    free(names);
    free(card);
    free(deep);
    free(emb);
    return rc;
}

/* The transform graph must produce what the network reads, slot by slot. */
static int check_transform(const cfx_transform_t *t, const cfx_net_t *n,
                           json_t *m, cfx_error_t *err) {
    json_t *dense = json_object_get(json_object_get(m, "network"), "dense");
    if (cfx_transform_num_dense(t) != n->num_dense ||
        cfx_transform_num_categorical(t) != n->num_categorical)
        return cfx_error_set(
            err, CFX_ECORRUPT,
            "transform.json: %zu dense / %zu categorical outputs, the network "
            "in manifest.json expects %zu / %zu",
            cfx_transform_num_dense(t), cfx_transform_num_categorical(t),
            n->num_dense, n->num_categorical);
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
        const cfx_xf_output_t *o = cfx_transform_output(t, i);
        if (o->kind == CFX_XF_DENSE) {
            json_t *nm = json_array_get(dense, o->slot);
            if (!json_is_string(nm) ||
                strcmp(json_string_value(nm), o->name) != 0)
                return cfx_error_set(
                    err, CFX_ECORRUPT,
                    "transform.json: dense slot %zu is '%s', manifest.json "
                    "expects '%s'",
                    o->slot, o->name,
                    json_is_string(nm) ? json_string_value(nm) : "?");
        } else if (strcmp(n->cat_names[o->slot], o->name) != 0 ||
                   n->cat_cardinality[o->slot] != o->cardinality) {
            return cfx_error_set(
                err, CFX_ECORRUPT,
                "transform.json: categorical slot %zu is '%s' (cardinality "
                "%lld), manifest.json expects '%s' (cardinality %lld)",
                o->slot, o->name, (long long)o->cardinality,
                n->cat_names[o->slot], (long long)n->cat_cardinality[o->slot]);
        }
    }
    return 0;
}

/* The manifest's head (none: binary), which must give the network one
 * logit per class of a multi-class task, else one, and agree with the
 * transform graph's label on the task and the classes. */
static int load_head(json_t *m, cfx_bundle_t *b, cfx_error_t *err) {
    int rc = cfx_head_from_json(json_object_get(m, "head"),
                                "manifest.json: head", &b->head, err);
    if (rc != 0)
        return rc;
    const cfx_head_t *lh = cfx_transform_label_head(b->xf);
    if (lh && !cfx_head_same_classes(lh, &b->head))
        return cfx_error_set(
            err, CFX_ECORRUPT,
            "manifest.json: head is task %s with %zu classes, transform.json's "
            "label is task %s with %zu classes (or other class labels)",
            cfx_task_name(b->head.task), b->head.num_classes,
            cfx_task_name(lh->task), lh->num_classes);
    if (b->net && b->net->num_outputs != cfx_head_num_logits(&b->head))
        return cfx_error_set(err, CFX_ECORRUPT,
                             "manifest.json: network num_outputs expected "
                             "%zu for task %s, found %zu",
                             cfx_head_num_logits(&b->head),
                             cfx_task_name(b->head.task), b->net->num_outputs);
    return 0;
}

static void shape_str(char *buf, size_t len, size_t ndim,
                      const int64_t *shape) {
    size_t o = (size_t)snprintf(buf, len, "[");
    for (size_t d = 0; d < ndim && o < len; d++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", d ? ", " : "",
                              (long long)shape[d]);
    if (o < len)
        snprintf(buf + o, len - o, "]");
}

static int load_weights(const char *dir, cfx_net_t *n, cfx_error_t *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/variables/model.safetensors", dir);
    cfx_safetensors_t *st = NULL;
    int rc = cfx_safetensors_read_file(path, &st, err);
    if (rc != 0)
        return rc;
    const char *file = "variables/model.safetensors";
    for (size_t i = 0; i < n->num_tensors; i++) {
        const cfx_net_tensor_t *t = &n->tensors[i];
        const cfx_st_tensor_t *s = cfx_safetensors_find(st, t->name);
        if (s == NULL) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s: tensor '%s': expected, not found", file,
                               t->name);
            goto out;
        }
        int same = s->ndim == t->ndim;
        for (size_t d = 0; same && d < t->ndim; d++)
            same = s->shape[d] == t->shape[d];
        if (!same) {
            char want[96], got[96];
            shape_str(want, sizeof want, t->ndim, t->shape);
            shape_str(got, sizeof got, s->ndim, s->shape);
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s: tensor '%s': shape expected %s, found %s",
                               file, t->name, want, got);
            goto out;
        }
        memcpy(n->params + t->offset, s->data, t->count * sizeof(float));
    }
    if (st->count != n->num_tensors) {
        for (size_t i = 0; i < st->count; i++)
            if (cfx_net_find(n, st->tensors[i].name) == NULL) {
                rc = cfx_error_set(
                    err, CFX_ECORRUPT,
                    "%s: tensor '%s': found, the network has no such tensor",
                    file, st->tensors[i].name);
                goto out;
            }
    }
out:
    cfx_safetensors_free(st);
    return rc;
}

int cfx_bundle_load(const char *dir, cfx_bundle_t **out, cfx_error_t *err) {
    int rc = 0;
    json_t *m = NULL;
    *out = NULL;
    cfx_bundle_t *b = calloc(1, sizeof *b);
    if (b == NULL || (b->dir = strdup(dir)) == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "bundle: out of memory");
        goto out;
    }
    if ((rc = load_manifest(dir, &m, err)) != 0)
        goto out;
    json_t *fv = json_object_get(m, "format_version");
    if (!json_is_integer(fv)) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "manifest.json: 'format_version' is missing");
        goto out;
    }
    if (json_integer_value(fv) < CFX_BUNDLE_FORMAT_VERSION_MIN ||
        json_integer_value(fv) > CFX_BUNDLE_FORMAT_VERSION) {
        rc = cfx_error_set(
            err, CFX_EUNSUPPORTED,
            "manifest.json: format_version %lld is not supported (this build "
            "reads format_version %d to %d)",
            (long long)json_integer_value(fv), CFX_BUNDLE_FORMAT_VERSION_MIN,
            CFX_BUNDLE_FORMAT_VERSION);
        goto out;
    }
    json_t *name = json_object_get(m, "model_name");
    if (!json_is_string(name) ||
        (b->model_name = strdup(json_string_value(name))) == NULL) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "manifest.json: 'model_name' is missing");
        goto out;
    }
    json_t *files = json_object_get(m, "files");
    json_t *trees = json_object_get(m, "trees");
    if ((rc = verify_files(
             dir, files, trees ? CFX_TREES_FILE : "variables/model.safetensors",
             err)) != 0)
        goto out;
    if (trees) { /* the gbt model type: the manifest has no network */
        if ((rc = cfx_transform_load(dir, &b->xf, err)) != 0 ||
            (rc = load_head(m, b, err)) != 0 ||
            (rc = cfx_trees_load_bundle(dir, trees, b->xf, &b->trees, err)) !=
                0)
            goto out;
        if (cfx_trees_num_outputs(b->trees) != cfx_head_num_logits(&b->head)) {
            rc = cfx_error_set(err, CFX_ECORRUPT,
                               "%s: %zu outputs per example, the head (task "
                               "%s) expects %zu",
                               CFX_TREES_FILE, cfx_trees_num_outputs(b->trees),
                               cfx_task_name(b->head.task),
                               cfx_head_num_logits(&b->head));
            goto out;
        }
    } else {
        if ((rc = build_network(m, &b->net, err)) != 0)
            goto out;
        if ((rc = cfx_transform_load(dir, &b->xf, err)) != 0)
            goto out;
        if ((rc = load_head(m, b, err)) != 0)
            goto out;
        if ((rc = check_transform(b->xf, b->net, m, err)) != 0)
            goto out;
        if ((rc = load_weights(dir, b->net, err)) != 0)
            goto out;
    }
    if (json_object_get(files, "assets.extra/warmup.jsonl")) {
        size_t l = strlen(dir) + 32;
        if ((b->warmup_path = malloc(l)) == NULL) {
            rc = cfx_error_set(err, CFX_ENOMEM, "bundle: out of memory");
            goto out;
        }
        snprintf(b->warmup_path, l, "%s/assets.extra/warmup.jsonl", dir);
    }
    *out = b;
    b = NULL;
out:
    if (rc != 0)
        cfx_error_prefix(err, "bundle %s", dir);
    json_decref(m);
    cfx_bundle_free(b);
    return rc;
}

/* Small requests (one example, the common serving case) use the stack
 * instead of the heap: STACK_FLOATS covers the taxi model's scratch for a
 * few rows. */
#define STACK_FLOATS 2048

int cfx_bundle_predict_transformed(const cfx_bundle_t *b, const float *dense,
                                   const int32_t *cat, size_t n, float *out,
                                   cfx_error_t *err) {
    if (b->trees) { /* margins (n, K), then the head in place */
        cfx_trees_predict(b->trees, dense, cat, n, out);
        cfx_head_apply(&b->head, out, n, out);
        return 0;
    }
    const cfx_net_t *net = b->net;
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    float stack[STACK_FLOATS];
    size_t need = cfx_net_scratch_floats(net, chunk);
    float *scratch =
        need <= STACK_FLOATS ? stack : malloc((need + 1) * sizeof *scratch);
    if (scratch == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
    size_t W = cfx_head_output_width(&b->head);
    for (size_t i = 0; i < n; i += chunk) {
        size_t B = n - i < chunk ? n - i : chunk;
        cfx_net_forward(net, dense + i * net->num_dense,
                        cat + i * net->num_categorical, B, out + i * W,
                        scratch);
        cfx_head_apply(&b->head, out + i * W, B, out + i * W);
    }
    if (scratch != stack)
        free(scratch);
    return 0;
}

void cfx_bundle_forward_ref(const cfx_bundle_t *b, const float *dense,
                            const int32_t *cat, size_t n, float *logits) {
    if (b->trees)
        cfx_trees_predict_ref(b->trees, dense, cat, n, logits);
    else
        cfx_net_forward_ref(b->net, dense, cat, n, logits);
}

int cfx_bundle_predict(const cfx_bundle_t *b, const cfx_example_t *const *raw,
                       size_t n, float *out, cfx_error_t *err) {
    if (b->trees) {
        int rc = cfx_trees_predict_raw(b->trees, b->xf, raw, n, out, err);
        if (rc == 0)
            cfx_head_apply(&b->head, out, n, out);
        return rc;
    }
    const cfx_net_t *net = b->net;
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    size_t nd = net->num_dense, nc = net->num_categorical;
    size_t W = cfx_head_output_width(&b->head);
    int rc = 0;
    float fstack[STACK_FLOATS];
    int32_t istack[STACK_FLOATS / 4];
    size_t need = cfx_net_scratch_floats(net, chunk) + chunk * nd;
    int small = need <= STACK_FLOATS && chunk * nc <= STACK_FLOATS / 4;
    float *dense = small ? fstack : malloc((chunk * nd + 1) * sizeof *dense);
    int32_t *cat = small ? istack : malloc((chunk * nc + 1) * sizeof *cat);
    float *scratch = small ? fstack + chunk * nd
                           : malloc((cfx_net_scratch_floats(net, chunk) + 1) *
                                    sizeof *scratch);
    if (dense == NULL || cat == NULL || scratch == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i += chunk) {
        size_t B = n - i < chunk ? n - i : chunk;
        for (size_t k = 0; k < B; k++)
            if ((rc = cfx_transform_apply(b->xf, raw[i + k], dense + k * nd,
                                          cat + k * nc, err)) != 0) {
                cfx_error_prefix(err, "example %zu", i + k);
                goto out;
            }
        cfx_net_forward(net, dense, cat, B, out + i * W, scratch);
        cfx_head_apply(&b->head, out + i * W, B, out + i * W);
    }
out:
    if (!small) {
        free(dense);
        free(cat);
        free(scratch);
    }
    return rc;
}
