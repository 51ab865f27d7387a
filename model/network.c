/*
 * network.c: building the wide & deep network and its forward pass
 * (network.h).
 *
 * The optimized kernel keeps a block of 8 or 16 outputs in registers while
 * it walks the non-zero inputs of a row (ReLU leaves about half of them at
 * zero), using GCC vector extensions so the same source compiles to SSE,
 * AVX2 or NEON. On x86-64 GCC builds an AVX2+FMA clone chosen at load time.
 * An output count that is not a multiple of 8 ends with one overlapping
 * block, which recomputes a few outputs to the same values.
 */
#include "model/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/vec8.h"

uint64_t cfx_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float cfx_rng_uniform(uint64_t *state) {
    return (float)(cfx_rng_next(state) >> 40) * (1.0f / 16777216.0f);
}

void cfx_net_free(cfx_net_t *n) {
    if (n == NULL)
        return;
    if (n->cat_names)
        for (size_t c = 0; c < n->num_categorical; c++)
            free(n->cat_names[c]);
    free(n->cat_names);
    free(n->cat_cardinality);
    free(n->cat_deep);
    free(n->emb_dim);
    free(n->emb_col);
    free(n->wide_off);
    free(n->emb_off);
    free(n->params);
    if (n->tensors)
        for (size_t i = 0; i < n->num_tensors; i++)
            free(n->tensors[i].name);
    free(n->tensors);
    free(n);
}

static int add_tensor(cfx_net_t *n, size_t *off, size_t ndim, int64_t d0,
                      int64_t d1, const char *fmt, const char *arg) {
    cfx_net_tensor_t *t = &n->tensors[n->num_tensors];
    char name[512];
    snprintf(name, sizeof name, fmt, arg);
    t->name = strdup(name);
    if (t->name == NULL)
        return CFX_ENOMEM;
    t->offset = *off;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = ndim == 2 ? d1 : 0;
    t->count = (size_t)d0 * (ndim == 2 ? (size_t)d1 : 1);
    *off += t->count;
    n->num_tensors++;
    return 0;
}

int cfx_net_new(const cfx_net_spec_t *spec, cfx_net_t **out, cfx_error_t *err) {
    int rc = 0;
    *out = NULL;
    if (spec->num_hidden < 1 || spec->num_hidden > CFX_NET_MAX_HIDDEN)
        return cfx_error_set(err, CFX_EINVAL,
                             "network: %zu hidden layers, expected 1..%d",
                             spec->num_hidden, CFX_NET_MAX_HIDDEN);
    if (spec->num_dense > CFX_NET_MAX_WIDTH ||
        spec->num_categorical > CFX_NET_MAX_WIDTH)
        return cfx_error_set(
            err, CFX_ETOOBIG,
            "network: %zu dense / %zu categorical inputs, at most %d",
            spec->num_dense, spec->num_categorical, CFX_NET_MAX_WIDTH);
    for (size_t k = 0; k < spec->num_hidden; k++)
        if (spec->hidden[k] < 1 || spec->hidden[k] > CFX_NET_MAX_WIDTH)
            return cfx_error_set(
                err, CFX_EINVAL,
                "network: hidden layer %zu has width %zu, expected 1..%d", k,
                spec->hidden[k], CFX_NET_MAX_WIDTH);
    for (size_t c = 0; c < spec->num_categorical; c++)
        if (spec->cat_cardinality[c] < 1 ||
            spec->cat_cardinality[c] > CFX_NET_MAX_CARDINALITY)
            return cfx_error_set(
                err, CFX_EINVAL,
                "network: '%s' has cardinality %lld, expected 1..%d",
                spec->cat_names[c], (long long)spec->cat_cardinality[c],
                CFX_NET_MAX_CARDINALITY);
    size_t emb_total = 0;
    for (size_t c = 0; c < spec->num_categorical; c++) {
        size_t d = spec->cat_embedding_dim ? spec->cat_embedding_dim[c] : 0;
        int deep =
            spec->deep_categorical && (!spec->cat_deep || spec->cat_deep[c]);
        if (d > CFX_NET_MAX_EMBEDDING_DIM)
            return cfx_error_set(
                err, CFX_EINVAL,
                "network: '%s' has embedding_dim %zu, expected 0..%d",
                spec->cat_names[c], d, CFX_NET_MAX_EMBEDDING_DIM);
        if (d && !deep)
            return cfx_error_set(err, CFX_EINVAL,
                                 "network: '%s' has embedding_dim %zu but "
                                 "does not go into the deep part",
                                 spec->cat_names[c], d);
        emb_total += d;
    }
    if (spec->num_dense + emb_total > CFX_NET_MAX_WIDTH)
        return cfx_error_set(err, CFX_ETOOBIG,
                             "network: the first layer has %zu dense + %zu "
                             "embedding inputs, at most %d in all",
                             spec->num_dense, emb_total, CFX_NET_MAX_WIDTH);
    size_t K = spec->num_outputs ? spec->num_outputs : 1;
    if (K > CFX_NET_MAX_WIDTH)
        return cfx_error_set(err, CFX_EINVAL,
                             "network: %zu outputs, at most %d", K,
                             CFX_NET_MAX_WIDTH);
    cfx_net_t *n = calloc(1, sizeof *n);
    size_t nc = spec->num_categorical;
    if (n == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "network: out of memory");
    n->num_dense = spec->num_dense;
    n->num_categorical = nc;
    n->num_hidden = spec->num_hidden;
    n->num_outputs = K;
    n->cat_names = calloc(nc + 1, sizeof *n->cat_names);
    n->cat_deep = calloc(nc + 1, sizeof *n->cat_deep);
    n->emb_dim = calloc(nc + 1, sizeof *n->emb_dim);
    n->emb_col = calloc(nc + 1, sizeof *n->emb_col);
    n->cat_cardinality = calloc(nc + 1, sizeof *n->cat_cardinality);
    n->wide_off = calloc(nc + 1, sizeof *n->wide_off);
    n->emb_off = calloc(nc + 1, sizeof *n->emb_off);
    n->tensors = calloc(2 * spec->num_hidden + 3 + 2 * nc, sizeof *n->tensors);
    if (!n->cat_names || !n->cat_deep || !n->emb_dim || !n->emb_col ||
        !n->cat_cardinality || !n->wide_off || !n->emb_off || !n->tensors) {
        rc = cfx_error_set(err, CFX_ENOMEM, "network: out of memory");
        goto out;
    }
    for (size_t c = 0; c < nc; c++) {
        if ((n->cat_names[c] = strdup(spec->cat_names[c])) == NULL) {
            rc = cfx_error_set(err, CFX_ENOMEM, "network: out of memory");
            goto out;
        }
        n->cat_cardinality[c] = spec->cat_cardinality[c];
        n->cat_deep[c] =
            spec->deep_categorical && (!spec->cat_deep || spec->cat_deep[c]);
        n->deep_categorical |= n->cat_deep[c];
        n->emb_dim[c] =
            spec->cat_embedding_dim ? spec->cat_embedding_dim[c] : 0;
        n->emb_col[c] = spec->num_dense + n->emb_total;
        n->emb_total += n->emb_dim[c];
        n->deep_onehot |= n->cat_deep[c] && n->emb_dim[c] == 0;
    }
    size_t L = spec->num_hidden;
    n->width[0] = spec->num_dense + n->emb_total;
    n->max_width = 1;
    for (size_t k = 0; k < L; k++) {
        n->width[k + 1] = spec->hidden[k];
        if (spec->hidden[k] > n->max_width)
            n->max_width = spec->hidden[k];
    }
    n->width[L + 1] = K;
    size_t off = 0;
    char kbuf[32];
    for (size_t k = 0; k <= L; k++) {
        if (k < L)
            snprintf(kbuf, sizeof kbuf, "dense_%zu", k);
        else
            snprintf(kbuf, sizeof kbuf, "logits");
        n->w_off[k] = off;
        rc |= add_tensor(n, &off, 2, (int64_t)n->width[k],
                         (int64_t)n->width[k + 1], "deep/%s/kernel", kbuf);
        n->b_off[k] = off;
        rc |= add_tensor(n, &off, 1, (int64_t)n->width[k + 1], 0,
                         "deep/%s/bias", kbuf);
    }
    n->wide_bias_off = off;
    rc |= add_tensor(n, &off, 1, (int64_t)K, 0, "wide/linear/bias%s", "");
    n->dense_end = off;
    for (size_t c = 0; c < nc; c++) {
        n->wide_off[c] = off;
        rc |= add_tensor(n, &off, 2, n->cat_cardinality[c], (int64_t)K,
                         "wide/linear/%s", n->cat_names[c]);
    }
    for (size_t c = 0; c < nc; c++) {
        if (!n->cat_deep[c])
            continue;
        n->emb_off[c] = off;
        if (n->emb_dim[c])
            rc |= add_tensor(n, &off, 2, n->cat_cardinality[c],
                             (int64_t)n->emb_dim[c], "deep/embedding/%s",
                             n->cat_names[c]);
        else
            rc |= add_tensor(n, &off, 2, n->cat_cardinality[c],
                             (int64_t)n->width[1], "deep/dense_0/onehot/%s",
                             n->cat_names[c]);
    }
    if (rc != 0) {
        rc = cfx_error_set(err, CFX_ENOMEM, "network: out of memory");
        goto out;
    }
    n->num_params = off;
    n->params = calloc(off, sizeof *n->params);
    if (n->params == NULL) {
        rc = cfx_error_set(err, CFX_ENOMEM,
                           "network: out of memory (%zu parameters)", off);
        goto out;
    }
    *out = n;
    n = NULL;
out:
    cfx_net_free(n);
    return rc;
}

static inline int is_onehot(const cfx_net_t *n, size_t c) {
    return n->cat_deep[c] && n->emb_dim[c] == 0;
}

/* A standard normal draw truncated to [-2, 2] (redrawn outside), from one
 * Box-Muller pair of which the cosine half is kept. */
static double truncated_normal(uint64_t *rng_state) {
    for (;;) {
        double u1 = ((double)(cfx_rng_next(rng_state) >> 11) + 1.0) * 0x1p-53;
        double u2 = (double)(cfx_rng_next(rng_state) >> 11) * 0x1p-53;
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        if (fabs(z) <= 2.0)
            return z;
    }
}

void cfx_net_init_params(cfx_net_t *n, uint64_t *rng_state) {
    memset(n->params, 0, n->num_params * sizeof *n->params);
    for (size_t k = 0; k <= n->num_hidden; k++) {
        double fan_in = (double)n->width[k];
        if (k == 0)
            for (size_t c = 0; c < n->num_categorical; c++)
                fan_in += is_onehot(n, c);
        double a = sqrt(6.0 / (fan_in + (double)n->width[k + 1]));
        float *w = n->params + n->w_off[k];
        for (size_t i = 0; i < n->width[k] * n->width[k + 1]; i++)
            w[i] = (float)((2.0 * cfx_rng_uniform(rng_state) - 1.0) * a);
        if (k == 0)
            for (size_t c = 0; c < n->num_categorical; c++) {
                if (!is_onehot(n, c))
                    continue;
                float *e = n->params + n->emb_off[c];
                for (size_t i = 0;
                     i < (size_t)n->cat_cardinality[c] * n->width[1]; i++)
                    e[i] =
                        (float)((2.0 * cfx_rng_uniform(rng_state) - 1.0) * a);
            }
    }
    /* after everything else, so a network without embeddings draws the
     * same numbers as before they existed */
    for (size_t c = 0; c < n->num_categorical; c++) {
        if (!n->cat_deep[c] || n->emb_dim[c] == 0)
            continue;
        double sd = 1.0 / sqrt((double)n->emb_dim[c]);
        float *e = n->params + n->emb_off[c];
        for (size_t i = 0; i < (size_t)n->cat_cardinality[c] * n->emb_dim[c];
             i++)
            e[i] = (float)(truncated_normal(rng_state) * sd);
    }
}

const cfx_net_tensor_t *cfx_net_find(const cfx_net_t *n, const char *name) {
    for (size_t i = 0; i < n->num_tensors; i++)
        if (!strcmp(n->tensors[i].name, name))
            return &n->tensors[i];
    return NULL;
}

size_t cfx_net_scratch_floats(const cfx_net_t *n, size_t B) {
    return 3 * B * n->max_width + (n->emb_total ? B * n->width[0] : 0);
}

static inline size_t cat_index(const cfx_net_t *n, size_t c, int32_t v) {
    return (v >= 0 && (int64_t)v < n->cat_cardinality[c]) ? (size_t)v : 0;
}

/* ---- reference ---------------------------------------------------------- */

void cfx_net_forward_ref(const cfx_net_t *n, const float *dense,
                         const int32_t *cat, size_t B, float *logits) {
    float a[CFX_NET_MAX_WIDTH], z[CFX_NET_MAX_WIDTH];
    const float *p = n->params;
    for (size_t b = 0; b < B; b++) {
        const float *x = dense + b * n->num_dense;
        const int32_t *cb = cat + b * n->num_categorical;
        size_t in = n->width[0];
        for (size_t i = 0; i < n->num_dense; i++)
            a[i] = x[i];
        for (size_t c = 0; c < n->num_categorical; c++)
            for (size_t j = 0; j < n->emb_dim[c]; j++)
                a[n->emb_col[c] + j] =
                    p[n->emb_off[c] + cat_index(n, c, cb[c]) * n->emb_dim[c] +
                      j];
        for (size_t k = 0; k <= n->num_hidden; k++) {
            size_t out = n->width[k + 1];
            const float *w = p + n->w_off[k], *bias = p + n->b_off[k];
            for (size_t o = 0; o < out; o++) {
                float s = bias[o];
                for (size_t i = 0; i < in; i++)
                    s += a[i] * w[i * out + o];
                if (k == 0)
                    for (size_t c = 0; c < n->num_categorical; c++)
                        if (is_onehot(n, c))
                            s += p[n->emb_off[c] +
                                   cat_index(n, c, cb[c]) * out + o];
                z[o] = s;
            }
            for (size_t o = 0; o < out; o++)
                a[o] = (k < n->num_hidden && z[o] < 0) ? 0 : z[o];
            in = out;
        }
        size_t K = n->num_outputs;
        for (size_t k = 0; k < K; k++) {
            float wide = p[n->wide_bias_off + k];
            for (size_t c = 0; c < n->num_categorical; c++)
                wide += p[n->wide_off[c] + cat_index(n, c, cb[c]) * K + k];
            logits[b * K + k] = a[k] + wide;
        }
    }
}

/* ---- optimized ---------------------------------------------------------- */

/* x (B, in), w (in, out), bias (out) or (B, out) when bias_stride == out
 * -> y (B, out), ReLU applied when relu. y must not alias x. */
CFX_CLONES
static void dense_layer(float *restrict y, const float *restrict x,
                        const float *restrict w, const float *bias,
                        size_t bias_stride, size_t B, size_t in, size_t out,
                        int relu) {
    uint16_t nz[CFX_NET_MAX_WIDTH];
    float xv[CFX_NET_MAX_WIDTH];
    for (size_t b = 0; b < B; b++) {
        const float *xr = x + b * in;
        const float *br = bias + b * bias_stride;
        float *yr = y + b * out;
        size_t m = 0;
        for (size_t i = 0; i < in; i++)
            if (xr[i] != 0.0f) {
                nz[m] = (uint16_t)i;
                xv[m++] = xr[i];
            }
        if (out < 8) {
            for (size_t o = 0; o < out; o++) {
                float s = br[o];
                for (size_t j = 0; j < m; j++)
                    s += xv[j] * w[(size_t)nz[j] * out + o];
                yr[o] = relu && s < 0 ? 0 : s;
            }
            continue;
        }
        size_t o = 0;
        for (; o + 16 <= out; o += 16) {
            v8f a0, a1, w0, w1;
            V8_LOAD(a0, br + o);
            V8_LOAD(a1, br + o + 8);
            for (size_t j = 0; j < m; j++) {
                const float *wr = w + (size_t)nz[j] * out + o;
                V8_LOAD(w0, wr);
                V8_LOAD(w1, wr + 8);
                a0 += xv[j] * w0;
                a1 += xv[j] * w1;
            }
            if (relu) {
                V8_RELU(a0);
                V8_RELU(a1);
            }
            V8_STORE(yr + o, a0);
            V8_STORE(yr + o + 8, a1);
        }
        for (;;) {
            if (o >= out)
                break;
            if (o + 8 > out)
                o = out - 8; /* overlapping last block */
            v8f a0, w0;
            V8_LOAD(a0, br + o);
            for (size_t j = 0; j < m; j++) {
                V8_LOAD(w0, w + (size_t)nz[j] * out + o);
                a0 += xv[j] * w0;
            }
            if (relu)
                V8_RELU(a0);
            V8_STORE(yr + o, a0);
            o += 8;
        }
    }
}

/* First-layer base rows: bias + sum_c onehot_c[cat_c]  -> base (B, h0). */
CFX_CLONES
static void first_layer_base(const cfx_net_t *n, const int32_t *cat, size_t B,
                             float *base) {
    size_t h0 = n->width[1], nc = n->num_categorical;
    const float *bias = n->params + n->b_off[0];
    const float *rows[CFX_NET_MAX_WIDTH];
    for (size_t b = 0; b < B; b++) {
        float *r = base + b * h0;
        const int32_t *cb = cat + b * nc;
        size_t m = 0;
        for (size_t c = 0; c < nc; c++)
            if (is_onehot(n, c))
                rows[m++] =
                    n->params + n->emb_off[c] + cat_index(n, c, cb[c]) * h0;
        size_t o = 0;
        for (; o + 8 <= h0; o += 8) {
            v8f a, e;
            V8_LOAD(a, bias + o);
            for (size_t c = 0; c < m; c++) {
                V8_LOAD(e, rows[c] + o);
                a += e;
            }
            V8_STORE(r + o, a);
        }
        for (; o < h0; o++) {
            float a = bias[o];
            for (size_t c = 0; c < m; c++)
                a += rows[c][o];
            r[o] = a;
        }
    }
}

/* x0 (B, width[0]) = [dense (B, num_dense), each embedding's row]. */
static void gather_first_input(const cfx_net_t *n, const float *dense,
                               const int32_t *cat, size_t B, float *x0) {
    size_t nd = n->num_dense, nc = n->num_categorical, w = n->width[0];
    for (size_t b = 0; b < B; b++) {
        float *r = x0 + b * w;
        memcpy(r, dense + b * nd, nd * sizeof *r);
        for (size_t c = 0; c < nc; c++)
            if (n->emb_dim[c])
                memcpy(r + n->emb_col[c],
                       n->params + n->emb_off[c] +
                           cat_index(n, c, cat[b * nc + c]) * n->emb_dim[c],
                       n->emb_dim[c] * sizeof *r);
    }
}

/* y (B, w) *= mask (B, w) */
static void apply_mask(float *y, const float *mask, size_t len) {
    for (size_t i = 0; i < len; i++)
        y[i] *= mask[i];
}

static void forward(const cfx_net_t *n, const float *dense, const int32_t *cat,
                    size_t B, float *const *acts, const float *const *dropout,
                    float *base, float *x0, float *logits) {
    const float *p = n->params;
    size_t L = n->num_hidden;
    const float *in = dense;
    if (n->emb_total) {
        gather_first_input(n, dense, cat, B, x0);
        in = x0;
    }
    if (n->deep_onehot) {
        first_layer_base(n, cat, B, base);
        dense_layer(acts[0], in, p + n->w_off[0], base, n->width[1], B,
                    n->width[0], n->width[1], 1);
    } else {
        dense_layer(acts[0], in, p + n->w_off[0], p + n->b_off[0], 0, B,
                    n->width[0], n->width[1], 1);
    }
    if (dropout)
        apply_mask(acts[0], dropout[0], B * n->width[1]);
    for (size_t k = 1; k < L; k++) {
        dense_layer(acts[k], acts[k - 1], p + n->w_off[k], p + n->b_off[k], 0,
                    B, n->width[k], n->width[k + 1], 1);
        if (dropout)
            apply_mask(acts[k], dropout[k], B * n->width[k + 1]);
    }
    size_t K = n->num_outputs;
    dense_layer(logits, acts[L - 1], p + n->w_off[L], p + n->b_off[L], 0, B,
                n->width[L], K, 0);
    for (size_t b = 0; b < B; b++) {
        const int32_t *cb = cat + b * n->num_categorical;
        for (size_t k = 0; k < K; k++) {
            float wide = p[n->wide_bias_off + k];
            for (size_t c = 0; c < n->num_categorical; c++)
                wide += p[n->wide_off[c] + cat_index(n, c, cb[c]) * K + k];
            logits[b * K + k] += wide;
        }
    }
}

void cfx_net_forward_acts(const cfx_net_t *n, const float *dense,
                          const int32_t *cat, size_t B, float *const *acts,
                          const float *const *dropout, float *base, float *x0,
                          float *logits) {
    forward(n, dense, cat, B, acts, dropout, base, x0, logits);
}

void cfx_net_forward(const cfx_net_t *n, const float *dense, const int32_t *cat,
                     size_t B, float *logits, float *scratch) {
    float *acts[CFX_NET_MAX_HIDDEN];
    for (size_t k = 0; k < n->num_hidden; k++)
        acts[k] = scratch + (k % 2) * B * n->max_width;
    forward(n, dense, cat, B, acts, NULL, scratch + 2 * B * n->max_width,
            scratch + 3 * B * n->max_width, logits);
}
