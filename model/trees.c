/*
 * trees.c: the gradient-boosted trees format and evaluator (trees.h).
 *
 * Loading checks every array against the limits and the shape rules of
 * trees.h, keeps the arrays as listed (for the reference walk) and lays
 * every tree out again breadth first into one flat node array in which the
 * two children of a node sit side by side: a node is 12 bytes (threshold or
 * leaf value, feature with the default-left and leaf flags, left child),
 * the right child is left + 1, so a step is one load and a compare.
 * Shallow ensembles (the usual boosted trees, depth 3 to 6) also get the
 * complete layout: implicit children, a fixed number of steps per tree, so
 * the walk has no data-dependent branch and several trees' loads overlap.
 */
#include "model/trees.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/buf.h"
#include "formats/file.h"

#define LEAF_BIT 0x40000000u
#define DEFAULT_LEFT_BIT 0x80000000u
#define FEATURE_MASK 0x3fffffffu
#define STACK_FEATURES 512

/* The complete layout (trees.h): every tree padded to depth D, a leaf above
 * depth D repeated below itself, so a walk is exactly D steps of implicit
 * indexing (children 2i+1, 2i+2) and several trees walk side by side. */
#define COMPLETE_MAX_DEPTH 10
#define COMPLETE_MAX_NODES (1u << 22)
#define INTERLEAVE 8

typedef struct cnode {
    float value;   /* threshold */
    uint32_t feat; /* feature | DEFAULT_LEFT_BIT */
} cnode_t;

typedef struct node {
    float value;   /* threshold, or the leaf value */
    uint32_t feat; /* feature | DEFAULT_LEFT_BIT | LEAF_BIT */
    uint32_t left; /* the right child is left + 1 */
} node_t;

struct cfx_trees {
    size_t num_dense, num_categorical, num_features, num_outputs;
    size_t num_trees, num_nodes, max_depth;
    float *base;      /* num_outputs */
    uint32_t *root;   /* per tree, into nodes */
    uint32_t *output; /* per tree */
    node_t *nodes;
    size_t cdepth;   /* D of the complete layout; cnodes NULL when unused */
    cnode_t *cnodes; /* num_trees x (2^D - 1) */
    float *cleaves;  /* num_trees x 2^D */
    /* the arrays as trees.json lists them, tree t from src_off[t] */
    size_t *src_off;
    uint32_t *src_feature;
    float *src_value;
    int32_t *src_left, *src_right;
    uint8_t *src_default_left;
};

void cfx_trees_free(cfx_trees_t *tr) {
    if (tr == NULL)
        return;
    free(tr->base);
    free(tr->root);
    free(tr->output);
    free(tr->nodes);
    free(tr->cnodes);
    free(tr->cleaves);
    free(tr->src_off);
    free(tr->src_feature);
    free(tr->src_value);
    free(tr->src_left);
    free(tr->src_right);
    free(tr->src_default_left);
    free(tr);
}

size_t cfx_trees_num_outputs(const cfx_trees_t *tr) {
    return tr->num_outputs;
}
size_t cfx_trees_num_trees(const cfx_trees_t *tr) {
    return tr->num_trees;
}
size_t cfx_trees_num_nodes(const cfx_trees_t *tr) {
    return tr->num_nodes;
}
size_t cfx_trees_num_dense(const cfx_trees_t *tr) {
    return tr->num_dense;
}
size_t cfx_trees_num_categorical(const cfx_trees_t *tr) {
    return tr->num_categorical;
}
size_t cfx_trees_max_depth(const cfx_trees_t *tr) {
    return tr->max_depth;
}

/* "features" against the transform's outputs, slot by slot. */
static int check_features(json_t *names, const char *where,
                          const cfx_transform_t *t, size_t *nd, size_t *nc,
                          cfx_error_t *err) {
    size_t n = json_array_size(names);
    if (!json_is_array(names) || n == 0 || n > FEATURE_MASK)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: 'features': expected a non-empty list of "
                             "output names",
                             where);
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(names, i)))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: 'features'[%zu]: expected a string",
                                 where, i);
    if (t == NULL) {
        *nd = n;
        *nc = 0;
        return 0;
    }
    *nd = cfx_transform_num_dense(t);
    *nc = cfx_transform_num_categorical(t);
    if (*nd + *nc != n)
        return cfx_error_set(err, CFX_ECORRUPT,
                             "%s: %zu features, the transform graph has %zu "
                             "dense and %zu categorical outputs",
                             where, n, *nd, *nc);
    for (size_t i = 0; i < cfx_transform_num_outputs(t); i++) {
        const cfx_xf_output_t *o = cfx_transform_output(t, i);
        size_t f = o->kind == CFX_XF_DENSE ? o->slot : *nd + o->slot;
        const char *want = json_string_value(json_array_get(names, f));
        if (f >= n || strcmp(want, o->name) != 0)
            return cfx_error_set(
                err, CFX_ECORRUPT,
                "%s: feature %zu is '%s', the transform graph's %s slot %zu "
                "is '%s'",
                where, f, f < n ? want : "?",
                o->kind == CFX_XF_DENSE ? "dense" : "categorical", o->slot,
                o->name);
    }
    return 0;
}

static int int_at(json_t *a, size_t i, long long lo, long long hi,
                  long long *v) {
    json_t *e = json_array_get(a, i);
    if (json_is_boolean(e)) {
        *v = json_is_true(e);
    } else {
        if (!json_is_integer(e))
            return -1;
        *v = json_integer_value(e);
    }
    return *v < lo || *v > hi ? -1 : 0;
}

/* One tree's arrays into the source arrays at off. */
static int parse_tree(cfx_trees_t *tr, json_t *tj, size_t ti, size_t off,
                      const char *where, cfx_error_t *err) {
    static const char *const keys[] = {"feature", "value", "left", "right",
                                       "default_left"};
    json_t *a[5];
    size_t n = 0;
    for (size_t k = 0; k < 5; k++) {
        a[k] = json_object_get(tj, keys[k]);
        if (!json_is_array(a[k]) ||
            (k > 0 && json_array_size(a[k]) != json_array_size(a[0])))
            return cfx_error_set(
                err, CFX_EPARSE,
                "%s: trees[%zu]: '%s' must be a list as long as 'feature'",
                where, ti, keys[k]);
        n = json_array_size(a[k]);
    }
    for (size_t i = 0; i < n; i++) {
        long long f, l, r, d;
        json_t *val = json_array_get(a[1], i);
        if (int_at(a[2], i, -1, (long long)n - 1, &l) ||
            int_at(a[3], i, -1, (long long)n - 1, &r))
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: trees[%zu] node %zu: left/right must be "
                                 "-1 or a node index below %zu",
                                 where, ti, i, n);
        if ((l < 0) != (r < 0) ||
            (l >= 0 && (l <= (long long)i || r <= (long long)i || l == r)))
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: trees[%zu] node %zu: children %lld and "
                                 "%lld (expected both -1, or two distinct "
                                 "nodes after this one)",
                                 where, ti, i, l, r);
        if (int_at(a[0], i, l < 0 ? LLONG_MIN : 0,
                   l < 0 ? LLONG_MAX : (long long)tr->num_features - 1, &f))
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: trees[%zu] node %zu: feature expected "
                                 "in [0, %zu)",
                                 where, ti, i, tr->num_features);
        if (int_at(a[4], i, 0, 1, &d))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: trees[%zu] node %zu: default_left "
                                 "expected 0 or 1",
                                 where, ti, i);
        if (!json_is_number(val) || !isfinite(json_number_value(val)) ||
            !isfinite((float)json_number_value(val)))
            return cfx_error_set(err, CFX_EPARSE,
                                 "%s: trees[%zu] node %zu: value expected a "
                                 "finite number",
                                 where, ti, i);
        tr->src_feature[off + i] = l < 0 ? 0 : (uint32_t)f;
        tr->src_value[off + i] = (float)json_number_value(val);
        tr->src_left[off + i] = (int32_t)l;
        tr->src_right[off + i] = (int32_t)r;
        tr->src_default_left[off + i] = (uint8_t)d;
    }
    return 0;
}

/* Every node but the root has one parent; then lay the tree out breadth
 * first from nodes[at], children side by side. */
static int layout_tree(cfx_trees_t *tr, size_t ti, size_t at, uint32_t *queue,
                       uint32_t *parents, const char *where, cfx_error_t *err) {
    size_t off = tr->src_off[ti], n = tr->src_off[ti + 1] - off;
    memset(parents, 0, n * sizeof *parents);
    for (size_t i = 0; i < n; i++)
        if (tr->src_left[off + i] >= 0) {
            parents[tr->src_left[off + i]]++;
            parents[tr->src_right[off + i]]++;
        }
    for (size_t i = 1; i < n; i++)
        if (parents[i] != 1)
            return cfx_error_set(err, CFX_ECORRUPT,
                                 "%s: trees[%zu] node %zu has %u parents "
                                 "(expected 1)",
                                 where, ti, i, parents[i]);
    /* queue holds source indices in layout order; parents now the depth */
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    parents[0] = 0;
    while (head < tail) {
        size_t pos = at + head;
        uint32_t s = queue[head++];
        node_t *nd = &tr->nodes[pos];
        nd->value = tr->src_value[off + s];
        if (tr->src_left[off + s] < 0) {
            nd->feat = LEAF_BIT;
            nd->left = 0;
            if (parents[s] > tr->max_depth)
                tr->max_depth = parents[s];
            continue;
        }
        nd->feat = tr->src_feature[off + s] |
                   (tr->src_default_left[off + s] ? DEFAULT_LEFT_BIT : 0);
        nd->left = (uint32_t)(at + tail);
        uint32_t l = (uint32_t)tr->src_left[off + s],
                 r = (uint32_t)tr->src_right[off + s];
        parents[l] = parents[r] = parents[s] + 1;
        queue[tail++] = l;
        queue[tail++] = r;
    }
    return 0;
}

/* Source node s of tree t at position pos, depth d of the complete
 * layout. */
static void fill_complete(cfx_trees_t *tr, size_t t, size_t s, size_t pos,
                          size_t d) {
    size_t D = tr->cdepth, ni = ((size_t)1 << D) - 1, off = tr->src_off[t];
    if (d == D) {
        tr->cleaves[t * (ni + 1) + pos - ni] = tr->src_value[off + s];
        return;
    }
    cnode_t *c = &tr->cnodes[t * ni + pos];
    if (tr->src_left[off + s] < 0) { /* a leaf above D: both ways reach it */
        c->value = 0;
        c->feat = 0;
        fill_complete(tr, t, s, 2 * pos + 1, d + 1);
        fill_complete(tr, t, s, 2 * pos + 2, d + 1);
        return;
    }
    c->value = tr->src_value[off + s];
    c->feat = tr->src_feature[off + s] |
              (tr->src_default_left[off + s] ? DEFAULT_LEFT_BIT : 0);
    fill_complete(tr, t, (size_t)tr->src_left[off + s], 2 * pos + 1, d + 1);
    fill_complete(tr, t, (size_t)tr->src_right[off + s], 2 * pos + 2, d + 1);
}

/* The complete layout when the trees are shallow enough; else none (the
 * flat walk serves). */
static int build_complete(cfx_trees_t *tr) {
    size_t D = tr->max_depth;
    if (D > COMPLETE_MAX_DEPTH || tr->num_trees > COMPLETE_MAX_NODES >> (D + 1))
        return 0;
    tr->cdepth = D;
    tr->cnodes =
        calloc(tr->num_trees * (((size_t)1 << D) - 1) + 1, sizeof *tr->cnodes);
    tr->cleaves =
        calloc(tr->num_trees * ((size_t)1 << D) + 1, sizeof *tr->cleaves);
    if (tr->cnodes == NULL || tr->cleaves == NULL) {
        free(tr->cnodes);
        free(tr->cleaves);
        tr->cnodes = NULL;
        tr->cleaves = NULL;
        return CFX_ENOMEM;
    }
    for (size_t t = 0; t < tr->num_trees; t++)
        fill_complete(tr, t, 0, 0, 0);
    return 0;
}

int cfx_trees_from_json(json_t *root, const char *where,
                        const cfx_transform_t *t, cfx_trees_t **out,
                        cfx_error_t *err) {
    int rc = 0;
    uint32_t *queue = NULL, *parents = NULL;
    *out = NULL;
    if (!json_is_object(root))
        return cfx_error_set(err, CFX_EPARSE, "%s: expected a JSON object",
                             where);
    json_t *fmt = json_object_get(root, "format"),
           *ver = json_object_get(root, "version");
    if (!json_is_string(fmt) ||
        strcmp(json_string_value(fmt), "cfx-trees") != 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "%s: 'format' expected \"cfx-trees\"", where);
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        return cfx_error_set(err, CFX_EUNSUPPORTED,
                             "%s: 'version' expected 1 (the version this "
                             "build reads)",
                             where);
    cfx_trees_t *tr = calloc(1, sizeof *tr);
    if (tr == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
    if ((rc = check_features(json_object_get(root, "features"), where, t,
                             &tr->num_dense, &tr->num_categorical, err)) != 0)
        goto out;
    tr->num_features = tr->num_dense + tr->num_categorical;
    json_t *no = json_object_get(root, "num_outputs"),
           *base = json_object_get(root, "base_margin"),
           *trees = json_object_get(root, "trees");
    if (!json_is_integer(no) || json_integer_value(no) < 1 ||
        json_integer_value(no) > CFX_TREES_MAX_OUTPUTS) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "%s: 'num_outputs' expected an integer in [1, %d]",
                           where, CFX_TREES_MAX_OUTPUTS);
        goto out;
    }
    tr->num_outputs = (size_t)json_integer_value(no);
    if (!json_is_array(base) || json_array_size(base) != tr->num_outputs) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "%s: 'base_margin' expected %zu numbers", where,
                           tr->num_outputs);
        goto out;
    }
    if (!json_is_array(trees) || json_array_size(trees) > CFX_TREES_MAX_TREES) {
        rc = cfx_error_set(err, CFX_EPARSE,
                           "%s: 'trees' expected a list of at most %d trees",
                           where, CFX_TREES_MAX_TREES);
        goto out;
    }
    tr->num_trees = json_array_size(trees);
    tr->base = calloc(tr->num_outputs, sizeof *tr->base);
    tr->root = calloc(tr->num_trees + 1, sizeof *tr->root);
    tr->output = calloc(tr->num_trees + 1, sizeof *tr->output);
    tr->src_off = calloc(tr->num_trees + 1, sizeof *tr->src_off);
    if (!tr->base || !tr->root || !tr->output || !tr->src_off) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
        goto out;
    }
    for (size_t k = 0; k < tr->num_outputs; k++) {
        json_t *b = json_array_get(base, k);
        if (!json_is_number(b) || !isfinite((float)json_number_value(b))) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "%s: base_margin[%zu]: expected a finite "
                               "number",
                               where, k);
            goto out;
        }
        tr->base[k] = (float)json_number_value(b);
    }
    size_t total = 0, widest = 0;
    for (size_t i = 0; i < tr->num_trees; i++) {
        json_t *tj = json_array_get(trees, i);
        json_t *o = json_object_get(tj, "output");
        size_t n = json_array_size(json_object_get(tj, "feature"));
        if (!json_is_object(tj) || !json_is_integer(o) ||
            json_integer_value(o) < 0 ||
            json_integer_value(o) >= (json_int_t)tr->num_outputs) {
            rc = cfx_error_set(err, CFX_EPARSE,
                               "%s: trees[%zu]: expected an object with "
                               "'output' in [0, %zu)",
                               where, i, tr->num_outputs);
            goto out;
        }
        if (n == 0 || n > CFX_TREES_MAX_NODES - total) {
            rc = cfx_error_set(err, n ? CFX_ETOOBIG : CFX_EPARSE,
                               "%s: trees[%zu]: %zu nodes (each tree needs "
                               "at least 1, all together at most %u)",
                               where, i, n, CFX_TREES_MAX_NODES);
            goto out;
        }
        tr->output[i] = (uint32_t)json_integer_value(o);
        tr->src_off[i] = total;
        total += n;
        if (n > widest)
            widest = n;
    }
    tr->src_off[tr->num_trees] = total;
    tr->num_nodes = total;
    tr->src_feature = malloc((total + 1) * sizeof *tr->src_feature);
    tr->src_value = malloc((total + 1) * sizeof *tr->src_value);
    tr->src_left = malloc((total + 1) * sizeof *tr->src_left);
    tr->src_right = malloc((total + 1) * sizeof *tr->src_right);
    tr->src_default_left = malloc(total + 1);
    tr->nodes = calloc(total + 1, sizeof *tr->nodes);
    queue = malloc((widest + 1) * sizeof *queue);
    parents = malloc((widest + 1) * sizeof *parents);
    if (!tr->src_feature || !tr->src_value || !tr->src_left || !tr->src_right ||
        !tr->src_default_left || !tr->nodes || !queue || !parents) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
        goto out;
    }
    for (size_t i = 0; i < tr->num_trees; i++) {
        if ((rc = parse_tree(tr, json_array_get(trees, i), i, tr->src_off[i],
                             where, err)) != 0 ||
            (rc = layout_tree(tr, i, tr->src_off[i], queue, parents, where,
                              err)) != 0)
            goto out;
        tr->root[i] = (uint32_t)tr->src_off[i];
    }
    if (build_complete(tr) != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "%s: out of memory", where);
        goto out;
    }
    *out = tr;
    tr = NULL;
out:
    free(queue);
    free(parents);
    cfx_trees_free(tr);
    return rc;
}

int cfx_trees_load(const char *path, const cfx_transform_t *t,
                   cfx_trees_t **out, cfx_error_t *err) {
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    *out = NULL;
    int rc = cfx_file_read(path, CFX_TREES_MAX_FILE, &buf, err);
    if (rc != 0)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf.data, buf.len,
                              JSON_REJECT_DUPLICATES, &jerr);
    cfx_buf_free(&buf);
    if (root == NULL)
        return cfx_error_set(err, CFX_EPARSE, "%s:%d:%d: %s", path, jerr.line,
                             jerr.column, jerr.text);
    rc = cfx_trees_from_json(root, path, t, out, err);
    json_decref(root);
    return rc;
}

/* One tree from its root: x (num_features) -> the leaf value. */
static inline float walk(const node_t *nodes, uint32_t root, const float *x) {
    const node_t *nd = &nodes[root];
    while (!(nd->feat & LEAF_BIT)) {
        float v = x[nd->feat & FEATURE_MASK];
        int right =
            !(v < nd->value) && !(isnan(v) && (nd->feat & DEFAULT_LEFT_BIT));
        nd = &nodes[nd->left + (uint32_t)right];
    }
    return nd->value;
}

/* 1 when x goes right at c: x >= threshold, or NaN with default right;
 * no branch. */
static inline uint32_t go_right(const cnode_t *c, float v) {
    return (uint32_t)(!(v < c->value)) &
           ((uint32_t)(v == v) | (uint32_t) !(c->feat & DEFAULT_LEFT_BIT));
}

/* The single-output sum over one row x: base + every tree's leaf, in tree
 * order (as the reference adds them), INTERLEAVE trees walking at a time.
 * Inlined per depth D so each walk is D unrolled steps. */
static inline __attribute__((always_inline)) float
sum_complete(const cfx_trees_t *tr, const float *x, size_t D) {
    size_t ni = ((size_t)1 << D) - 1, nl = ni + 1;
    size_t T = tr->num_trees, t = 0;
    const cnode_t *cn = tr->cnodes;
    const float *cl = tr->cleaves;
    float s = tr->base[0];
    for (; t + INTERLEAVE <= T; t += INTERLEAVE) {
        uint32_t i[INTERLEAVE] = {0};
        for (size_t d = 0; d < D; d++)
            for (size_t j = 0; j < INTERLEAVE; j++) {
                const cnode_t *c = &cn[(t + j) * ni + i[j]];
                i[j] = 2 * i[j] + 1 + go_right(c, x[c->feat & FEATURE_MASK]);
            }
        for (size_t j = 0; j < INTERLEAVE; j++)
            s += cl[(t + j) * nl + i[j] - ni];
    }
    for (; t < T; t++) {
        uint32_t i = 0;
        for (size_t d = 0; d < D; d++) {
            const cnode_t *c = &cn[t * ni + i];
            i = 2 * i + 1 + go_right(c, x[c->feat & FEATURE_MASK]);
        }
        s += cl[t * nl + i - ni];
    }
    return s;
}

/* Every tree over one row x in the complete layout -> m (num_outputs). */
static void walk_complete(const cfx_trees_t *tr, const float *x, float *m) {
    size_t D = tr->cdepth, ni = ((size_t)1 << D) - 1, nl = ni + 1;
    if (tr->num_outputs == 1) {
        switch (D) {
        case 1:
            m[0] = sum_complete(tr, x, 1);
            return;
        case 2:
            m[0] = sum_complete(tr, x, 2);
            return;
        case 3:
            m[0] = sum_complete(tr, x, 3);
            return;
        case 4:
            m[0] = sum_complete(tr, x, 4);
            return;
        case 5:
            m[0] = sum_complete(tr, x, 5);
            return;
        case 6:
            m[0] = sum_complete(tr, x, 6);
            return;
        default:
            m[0] = sum_complete(tr, x, D);
            return;
        }
    }
    const cnode_t *cn = tr->cnodes;
    const float *cl = tr->cleaves;
    memcpy(m, tr->base, tr->num_outputs * sizeof *m);
    for (size_t t = 0; t < tr->num_trees; t++) {
        uint32_t i = 0;
        for (size_t d = 0; d < D; d++) {
            const cnode_t *c = &cn[t * ni + i];
            i = 2 * i + 1 + go_right(c, x[c->feat & FEATURE_MASK]);
        }
        m[tr->output[t]] += cl[t * nl + i - ni];
    }
}

static void gather(const cfx_trees_t *tr, const float *dense,
                   const int32_t *cat, float *x) {
    if (tr->num_dense)
        memcpy(x, dense, tr->num_dense * sizeof *x);
    for (size_t c = 0; c < tr->num_categorical; c++)
        x[tr->num_dense + c] = (float)cat[c];
}

void cfx_trees_predict(const cfx_trees_t *tr, const float *dense,
                       const int32_t *cat, size_t B, float *margins) {
    float stack[STACK_FEATURES];
    size_t nf = tr->num_features, no = tr->num_outputs;
    float *x = nf <= STACK_FEATURES ? stack : malloc(nf * sizeof *x);
    if (x == NULL) { /* too wide for the stack and no memory: the reference */
        cfx_trees_predict_ref(tr, dense, cat, B, margins);
        return;
    }
    for (size_t b = 0; b < B; b++) {
        /* a model without dense or categorical inputs may get NULL */
        gather(tr, tr->num_dense ? dense + b * tr->num_dense : dense,
               tr->num_categorical ? cat + b * tr->num_categorical : cat, x);
        float *m = margins + b * no;
        if (tr->cnodes) {
            walk_complete(tr, x, m);
        } else if (no == 1) {
            float s = tr->base[0];
            for (size_t t = 0; t < tr->num_trees; t++)
                s += walk(tr->nodes, tr->root[t], x);
            m[0] = s;
        } else {
            memcpy(m, tr->base, no * sizeof *m);
            for (size_t t = 0; t < tr->num_trees; t++)
                m[tr->output[t]] += walk(tr->nodes, tr->root[t], x);
        }
    }
    if (x != stack)
        free(x);
}

void cfx_trees_predict_rows(const cfx_trees_t *tr, const float *x, size_t B,
                            float *margins) {
    size_t nf = tr->num_features, no = tr->num_outputs;
    for (size_t b = 0; b < B; b++) {
        const float *r = x + b * nf;
        float *m = margins + b * no;
        if (tr->cnodes) {
            walk_complete(tr, r, m);
            continue;
        }
        memcpy(m, tr->base, no * sizeof *m);
        for (size_t t = 0; t < tr->num_trees; t++)
            m[tr->output[t]] += walk(tr->nodes, tr->root[t], r);
    }
}

/* The textbook walk over the listed arrays, reading each feature where it
 * lives. */
static float feature_ref(const cfx_trees_t *tr, const float *dense,
                         const int32_t *cat, uint32_t f) {
    return f < tr->num_dense ? dense[f] : (float)cat[f - tr->num_dense];
}

void cfx_trees_predict_ref(const cfx_trees_t *tr, const float *dense,
                           const int32_t *cat, size_t B, float *margins) {
    for (size_t b = 0; b < B; b++) {
        const float *d = tr->num_dense ? dense + b * tr->num_dense : dense;
        const int32_t *c =
            tr->num_categorical ? cat + b * tr->num_categorical : cat;
        float *m = margins + b * tr->num_outputs;
        for (size_t k = 0; k < tr->num_outputs; k++)
            m[k] = tr->base[k];
        for (size_t t = 0; t < tr->num_trees; t++) {
            size_t off = tr->src_off[t], i = 0;
            while (tr->src_left[off + i] >= 0) {
                float v = feature_ref(tr, d, c, tr->src_feature[off + i]);
                int left = isnan(v) ? tr->src_default_left[off + i]
                                    : v < tr->src_value[off + i];
                i = (size_t)(left ? tr->src_left[off + i]
                                  : tr->src_right[off + i]);
            }
            m[tr->output[t]] += tr->src_value[off + i];
        }
    }
}

int cfx_trees_predict_raw(const cfx_trees_t *tr, const cfx_transform_t *t,
                          const cfx_example_t *const *raw, size_t n,
                          float *margins, cfx_error_t *err) {
    size_t nd = tr->num_dense, nc = tr->num_categorical;
    float fstack[STACK_FEATURES];
    int32_t istack[STACK_FEATURES];
    int small = nd <= STACK_FEATURES && nc <= STACK_FEATURES;
    float *dense = small ? fstack : malloc((nd + 1) * sizeof *dense);
    int32_t *cat = small ? istack : malloc((nc + 1) * sizeof *cat);
    int rc = 0;
    if (dense == NULL || cat == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM, "predict: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = cfx_transform_apply(t, raw[i], dense, cat, err)) != 0) {
            cfx_error_prefix(err, "example %zu", i);
            goto out;
        }
        cfx_trees_predict(tr, dense, cat, 1, margins + i * tr->num_outputs);
    }
out:
    if (!small) {
        free(dense);
        free(cat);
    }
    return rc;
}

int cfx_trees_load_bundle(const char *dir, json_t *section,
                          const cfx_transform_t *t, cfx_trees_t **out,
                          cfx_error_t *err) {
    json_t *type = json_object_get(section, "type"),
           *file = json_object_get(section, "file");
    *out = NULL;
    if (!json_is_string(type) || strcmp(json_string_value(type), "gbt") != 0 ||
        !json_is_string(file) ||
        strcmp(json_string_value(file), CFX_TREES_FILE) != 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "manifest.json: 'trees' expected type \"gbt\" and "
                             "file \"%s\"",
                             CFX_TREES_FILE);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, CFX_TREES_FILE);
    return cfx_trees_load(path, t, out, err);
}
