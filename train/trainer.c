/*
 * trainer.c: backpropagation, Adam and the training loop (trainer.h).
 *
 * Gradients: the non-embedding tensors [0, dense_end) get a dense gradient
 * and a dense Adam step every batch. Embedding rows (the wide one-hot
 * weights and the deep one-hot rows) get "lazy" Adam: only the rows a
 * batch touches have their moments and values updated, with the global
 * step's bias correction (as TF's LazyAdam). This keeps a step's cost
 * independent of vocabulary sizes. The deep embedding tables
 * (deep/embedding/<c>) are embedding rows too.
 *
 * Dropout multiplies each hidden activation by its mask after the ReLU,
 * so going down the gradient of a layer's output is multiplied by the same
 * mask (network.h); dropped units are zero and pass no gradient.
 *
 * Kernels follow network.c: GCC vector extensions, 8 floats at a time.
 */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/clock.h"
#include "model/vec8.h"

typedef struct touched_row {
    size_t off; /* in floats, into params */
    size_t len;
} touched_row_t;

struct cfx_trainer_ws {
    size_t max_batch;
    float *grad; /* num_params */
    float *acts[CFX_NET_MAX_HIDDEN];
    float *mask[CFX_NET_MAX_HIDDEN]; /* (B, width[k+1]) dropout multipliers */
    int dropout;                     /* masks in use */
    float *x0;      /* (B, width[0]) first-layer input, with embeddings */
    float *base;    /* (B, h0) */
    float *d0, *d1; /* (B, max_width) gradient ping-pong */
    float *logits, *probs, *dlogit;
    uint32_t *row_stamp; /* per embedding row: last batch that touched it */
    size_t *table_row0;  /* per table: index of its first row in row_stamp */
    size_t rows_total;
    uint32_t stamp;
    touched_row_t *rows;
    size_t nrows, rows_cap;
    cfx_trainer_loss_t loss; /* the head's task and loss */
};

void cfx_trainer_ws_free(cfx_trainer_ws_t *ws) {
    if (ws == NULL)
        return;
    free(ws->grad);
    for (size_t k = 0; k < CFX_NET_MAX_HIDDEN; k++) {
        free(ws->acts[k]);
        free(ws->mask[k]);
    }
    free(ws->x0);
    free(ws->base);
    free(ws->d0);
    free(ws->d1);
    free(ws->logits);
    free(ws->probs);
    free(ws->dlogit);
    free(ws->row_stamp);
    free(ws->table_row0);
    free(ws->rows);
    free(ws);
}

int cfx_trainer_ws_new(const cfx_net_t *n, size_t max_batch,
                       cfx_trainer_ws_t **out, cfx_error_t *err) {
    *out = NULL;
    cfx_trainer_ws_t *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return cfx_error_set(err, CFX_ENOMEM, "trainer: out of memory");
    ws->max_batch = max_batch;
    int ok = (ws->grad = calloc(n->num_params, sizeof(float))) != NULL;
    for (size_t k = 0; k < n->num_hidden; k++) {
        ok &= (ws->acts[k] =
                   malloc(max_batch * n->width[k + 1] * sizeof(float))) != NULL;
        ok &= (ws->mask[k] =
                   malloc(max_batch * n->width[k + 1] * sizeof(float))) != NULL;
    }
    if (n->emb_total)
        ok &=
            (ws->x0 = malloc(max_batch * n->width[0] * sizeof(float))) != NULL;
    ok &= (ws->base = malloc(max_batch * n->width[1] * sizeof(float))) != NULL;
    ok &= (ws->d0 = malloc(max_batch * n->max_width * sizeof(float))) != NULL;
    ok &= (ws->d1 = malloc(max_batch * n->max_width * sizeof(float))) != NULL;
    size_t K = n->num_outputs;
    ok &= (ws->logits = malloc(max_batch * K * sizeof(float))) != NULL;
    ok &= (ws->probs = malloc(max_batch * K * sizeof(float))) != NULL;
    ok &= (ws->dlogit = malloc(max_batch * K * sizeof(float))) != NULL;
    cfx_trainer_loss_default(&ws->loss);
    size_t ntables = 2 * n->num_categorical, nrows_total = 0;
    ok &= (ws->table_row0 = calloc(ntables + 1, sizeof(size_t))) != NULL;
    if (ok) {
        for (size_t c = 0; c < n->num_categorical; c++) {
            ws->table_row0[c] = nrows_total;
            nrows_total += (size_t)n->cat_cardinality[c];
        }
        for (size_t c = 0; c < n->num_categorical; c++) {
            ws->table_row0[n->num_categorical + c] = nrows_total;
            if (n->cat_deep[c])
                nrows_total += (size_t)n->cat_cardinality[c];
        }
        ws->rows_total = nrows_total;
        ws->rows_cap = 2 * max_batch * n->num_categorical + 1;
        ok &=
            (ws->row_stamp = calloc(nrows_total + 1, sizeof(uint32_t))) != NULL;
        ok &= (ws->rows = malloc(ws->rows_cap * sizeof *ws->rows)) != NULL;
    }
    if (!ok) {
        cfx_trainer_ws_free(ws);
        return cfx_error_set(err, CFX_ENOMEM,
                             "trainer: out of memory for the workspace");
    }
    *out = ws;
    return 0;
}

void cfx_trainer_loss_default(cfx_trainer_loss_t *l) {
    memset(l, 0, sizeof *l);
    l->task = CFX_TASK_BINARY;
    l->label_std = 1.0;
    l->huber_delta = 1.0;
}

void cfx_trainer_ws_set_loss(cfx_trainer_ws_t *ws,
                             const cfx_trainer_loss_t *loss) {
    ws->loss = *loss;
}

float *cfx_trainer_ws_grad(cfx_trainer_ws_t *ws) {
    return ws->grad;
}
const float *cfx_trainer_ws_probs(const cfx_trainer_ws_t *ws) {
    return ws->probs;
}

void cfx_trainer_ws_draw_dropout(cfx_trainer_ws_t *ws, const cfx_net_t *n,
                                 size_t B, double rate, uint64_t *rng) {
    ws->dropout = rate > 0;
    if (!ws->dropout)
        return;
    /* each splitmix64 draw gives two 32-bit uniforms u: a unit is dropped
     * when u < rate * 2^32 (so the rate counts in steps of 2^-32) */
    float keep = (float)(1.0 / (1.0 - rate));
    uint64_t drop_below = (uint64_t)(rate * 4294967296.0), r = 0;
    size_t j = 0;
    for (size_t k = 0; k < n->num_hidden; k++)
        for (size_t i = 0; i < B * n->width[k + 1]; i++, j++) {
            if ((j & 1) == 0)
                r = cfx_rng_next(rng);
            uint64_t u = (j & 1) ? r >> 32 : r & 0xffffffffu;
            ws->mask[k][i] = u < drop_below ? 0.0f : keep;
        }
}

static void touch(cfx_trainer_ws_t *ws, size_t table, size_t row, size_t off,
                  size_t len) {
    uint32_t *s = &ws->row_stamp[ws->table_row0[table] + row];
    if (*s == ws->stamp)
        return;
    *s = ws->stamp;
    ws->rows[ws->nrows].off = off;
    ws->rows[ws->nrows].len = len;
    ws->nrows++;
}

static inline size_t cat_index(const cfx_net_t *n, size_t c, int32_t v) {
    return (v >= 0 && (int64_t)v < n->cat_cardinality[c]) ? (size_t)v : 0;
}

/* y[0..len) += a * x[0..len) */
CFX_CLONES
static void axpy(float *restrict y, const float *restrict x, float a,
                 size_t len) {
    size_t o = 0;
    for (; o + 8 <= len; o += 8) {
        v8f yv, xv;
        V8_LOAD(yv, y + o);
        V8_LOAD(xv, x + o);
        yv += a * xv;
        V8_STORE(y + o, yv);
    }
    for (; o < len; o++)
        y[o] += a * x[o];
}

CFX_CLONES
static float dot(const float *restrict a, const float *restrict b, size_t len) {
    v8f acc = {0};
    size_t o = 0;
    for (; o + 8 <= len; o += 8) {
        v8f av, bv;
        V8_LOAD(av, a + o);
        V8_LOAD(bv, b + o);
        acc += av * bv;
    }
    float s = 0;
    for (; o < len; o++)
        s += a[o] * b[o];
    for (int i = 0; i < 8; i++)
        s += acc[i];
    return s;
}

/* Given dz (B, out) of a layer with input x (B, in) and kernel w (in, out):
 * gw += x^T dz, gb += sum_b dz; dx (B, in) = dz w^T masked by x > 0 when
 * dx != NULL (x is a ReLU output). */
static void dense_backward(const float *x, const float *w, const float *dz,
                           size_t B, size_t in, size_t out, float *gw,
                           float *gb, float *dx) {
    for (size_t b = 0; b < B; b++) {
        const float *xr = x + b * in, *dzr = dz + b * out;
        axpy(gb, dzr, 1.0f, out);
        for (size_t i = 0; i < in; i++) {
            if (xr[i] == 0.0f) {
                if (dx)
                    dx[b * in + i] = 0.0f;
                continue;
            }
            axpy(gw + i * out, dzr, xr[i], out);
            if (dx)
                dx[b * in + i] =
                    xr[i] > 0.0f ? dot(w + i * out, dzr, out) : 0.0f;
        }
    }
}

/* d (len) *= mask (len): the dropout of the activations d is the gradient
 * of. */
static void mask_grad(float *d, const float *mask, size_t len) {
    for (size_t i = 0; i < len; i++)
        d[i] *= mask[i];
}

/* Given dz (B, h0), the gradient of the first layer's pre-activations: the
 * rows of the deep one-hot tables (dz itself) and of the deep embeddings
 * (dz times the kernel rows of the embedding's columns of x0). */
static void deep_tables_backward(const cfx_net_t *n, const int32_t *cat,
                                 const float *dz, size_t B,
                                 cfx_trainer_ws_t *ws) {
    size_t h0 = n->width[1], nc = n->num_categorical;
    const float *w0 = n->params + n->w_off[0];
    float *g = ws->grad;
    for (size_t b = 0; b < B; b++)
        for (size_t c = 0; c < nc; c++) {
            if (!n->cat_deep[c])
                continue;
            size_t r = cat_index(n, c, cat[b * nc + c]);
            const float *dzr = dz + b * h0;
            size_t d = n->emb_dim[c];
            if (d == 0) {
                size_t off = n->emb_off[c] + r * h0;
                axpy(g + off, dzr, 1.0f, h0);
                touch(ws, nc + c, r, off, h0);
                continue;
            }
            size_t off = n->emb_off[c] + r * d;
            for (size_t j = 0; j < d; j++)
                g[off + j] += dot(w0 + (n->emb_col[c] + j) * h0, dzr, h0);
            touch(ws, nc + c, r, off, d);
        }
}

double cfx_trainer_loss_grad(const cfx_net_t *n, const float *dense,
                             const int32_t *cat, const float *label, size_t B,
                             cfx_trainer_ws_t *ws) {
    size_t L = n->num_hidden, nc = n->num_categorical;
    const float *p = n->params;
    float *g = ws->grad;
    const float *const *mask =
        ws->dropout ? (const float *const *)ws->mask : NULL;
    cfx_net_forward_acts(n, dense, cat, B, ws->acts, mask, ws->base, ws->x0,
                         ws->logits);
    double loss = 0;
    float inv_b = 1.0f / (float)B;
    size_t K = n->num_outputs;
    const cfx_trainer_loss_t *lf = &ws->loss;
    if (lf->task == CFX_TASK_MULTICLASS) {
        /* softmax cross-entropy: log sum exp(z) - z_y; d/dz = p - onehot */
        for (size_t b = 0; b < B; b++) {
            const float *z = ws->logits + b * K;
            float *p = ws->probs + b * K, *d = ws->dlogit + b * K;
            float mx = z[0], sum = 0;
            for (size_t k = 1; k < K; k++)
                mx = z[k] > mx ? z[k] : mx;
            for (size_t k = 0; k < K; k++)
                sum += (p[k] = expf(z[k] - mx));
            size_t y = (size_t)label[b];
            y = y < K ? y : 0;
            loss += (double)(logf(sum) + mx - z[y]);
            for (size_t k = 0; k < K; k++) {
                p[k] /= sum;
                d[k] = (p[k] - (k == y ? 1.0f : 0.0f)) * inv_b;
            }
        }
    } else if (lf->task == CFX_TASK_REGRESSION) {
        /* on the standardised label y' = (y - mean) / std: squared error
         * r^2, or Huber with delta / std (delta is in label units) */
        float mean = (float)lf->label_mean, sd = (float)lf->label_std;
        float delta = (float)(lf->huber_delta / lf->label_std);
        for (size_t b = 0; b < B; b++) {
            float z = ws->logits[b], r = z - (label[b] - mean) / sd;
            ws->probs[b] = mean + sd * z;
            if (lf->huber && fabsf(r) > delta) {
                loss += (double)(delta * (fabsf(r) - 0.5f * delta));
                ws->dlogit[b] = (r > 0 ? delta : -delta) * inv_b;
            } else if (lf->huber) {
                loss += 0.5 * (double)r * (double)r;
                ws->dlogit[b] = r * inv_b;
            } else {
                loss += (double)r * (double)r;
                ws->dlogit[b] = 2.0f * r * inv_b;
            }
        }
    } else {
        for (size_t b = 0; b < B; b++) {
            float z = ws->logits[b], y = label[b];
            /* max(z, 0) - z y + log(1 + exp(-|z|)) */
            loss += (z > 0 ? z : 0) - z * y + log1pf(expf(-fabsf(z)));
            ws->probs[b] = cfx_sigmoid(z);
            ws->dlogit[b] = (ws->probs[b] - y) * inv_b;
        }
    }
    ws->stamp++;
    if (ws->stamp == 0) { /* wrapped: forget every stamp */
        memset(ws->row_stamp, 0, (ws->rows_total + 1) * sizeof *ws->row_stamp);
        ws->stamp = 1;
    }
    ws->nrows = 0;
    /* wide */
    for (size_t b = 0; b < B; b++) {
        const float *d = ws->dlogit + b * K;
        for (size_t k = 0; k < K; k++)
            g[n->wide_bias_off + k] += d[k];
        for (size_t c = 0; c < nc; c++) {
            size_t r = cat_index(n, c, cat[b * nc + c]);
            for (size_t k = 0; k < K; k++)
                g[n->wide_off[c] + r * K + k] += d[k];
            touch(ws, c, r, n->wide_off[c] + r * K, K);
        }
    }
    /* deep: logits layer, then hidden layers down to the first */
    float *dz = ws->d0, *dx = ws->d1;
    dense_backward(ws->acts[L - 1], p + n->w_off[L], ws->dlogit, B, n->width[L],
                   K, g + n->w_off[L], g + n->b_off[L], dz);
    if (mask)
        mask_grad(dz, mask[L - 1], B * n->width[L]);
    for (size_t k = L; k-- > 0;) {
        const float *x = k > 0          ? ws->acts[k - 1]
                         : n->emb_total ? ws->x0
                                        : dense;
        dense_backward(x, p + n->w_off[k], dz, B, n->width[k], n->width[k + 1],
                       g + n->w_off[k], g + n->b_off[k], k > 0 ? dx : NULL);
        if (k > 0 && mask)
            mask_grad(dx, mask[k - 1], B * n->width[k]);
        if (k == 0 && n->deep_categorical)
            deep_tables_backward(n, cat, dz, B, ws);
        float *t = dz;
        dz = dx;
        dx = t;
    }
    return loss / (double)B;
}

/* ---- Adam ---------------------------------------------------------------- */

typedef struct adam {
    float *m, *v;
    double lr, b1, b2, eps;
    size_t t;
} adam_t;

CFX_CLONES
static void adam_range(float *restrict p, float *restrict g, float *restrict m,
                       float *restrict v, size_t len, float lr_t, float b1,
                       float b2, float eps) {
    for (size_t i = 0; i < len; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
        g[i] = 0;
    }
}

/* One step; zeroes the gradient it consumed. */
static void adam_step(adam_t *a, cfx_net_t *n, cfx_trainer_ws_t *ws) {
    a->t++;
    double lr_t = a->lr * sqrt(1 - pow(a->b2, (double)a->t)) /
                  (1 - pow(a->b1, (double)a->t));
    adam_range(n->params, ws->grad, a->m, a->v, n->dense_end, (float)lr_t,
               (float)a->b1, (float)a->b2, (float)a->eps);
    for (size_t r = 0; r < ws->nrows; r++) {
        size_t o = ws->rows[r].off;
        adam_range(n->params + o, ws->grad + o, a->m + o, a->v + o,
                   ws->rows[r].len, (float)lr_t, (float)a->b1, (float)a->b2,
                   (float)a->eps);
    }
}

/* ---- datasets ------------------------------------------------------------ */

void cfx_dataset_init(cfx_dataset_t *ds, size_t num_dense,
                      size_t num_categorical) {
    memset(ds, 0, sizeof *ds);
    ds->num_dense = num_dense;
    ds->num_categorical = num_categorical;
}

void cfx_dataset_free(cfx_dataset_t *ds) {
    free(ds->dense);
    free(ds->cat);
    free(ds->label);
    cfx_dataset_init(ds, ds->num_dense, ds->num_categorical);
}

/* Capacity is kept implicit: arrays grow to the next power of two. */
static int grow(void **p, size_t n, size_t elem) {
    if (n == 0 || (n & (n - 1)) != 0)
        return 0;
    void *q = realloc(*p, 2 * n * elem);
    if (q == NULL)
        return CFX_ENOMEM;
    *p = q;
    return 0;
}

int cfx_dataset_push(cfx_dataset_t *ds, const float *dense, const int32_t *cat,
                     float label) {
    if (ds->n >= CFX_DATASET_MAX_ROWS)
        return CFX_ETOOBIG;
    if (ds->n == 0) {
        ds->dense = malloc(2 * (ds->num_dense + 1) * sizeof *ds->dense);
        ds->cat = malloc(2 * (ds->num_categorical + 1) * sizeof *ds->cat);
        ds->label = malloc(2 * sizeof *ds->label);
        if (!ds->dense || !ds->cat || !ds->label)
            return CFX_ENOMEM;
    } else if (grow((void **)&ds->dense, ds->n,
                    (ds->num_dense + 1) * sizeof *ds->dense) ||
               grow((void **)&ds->cat, ds->n,
                    (ds->num_categorical + 1) * sizeof *ds->cat) ||
               grow((void **)&ds->label, ds->n, sizeof *ds->label)) {
        return CFX_ENOMEM;
    }
    memcpy(ds->dense + ds->n * ds->num_dense, dense,
           ds->num_dense * sizeof *dense);
    memcpy(ds->cat + ds->n * ds->num_categorical, cat,
           ds->num_categorical * sizeof *cat);
    ds->label[ds->n] = label;
    ds->n++;
    return 0;
}

/* ---- metrics ------------------------------------------------------------- */

typedef struct scored {
    float p;
    float y;
} scored_t;

static int cmp_scored(const void *a, const void *b) {
    float x = ((const scored_t *)a)->p, y = ((const scored_t *)b)->p;
    return x < y ? -1 : x > y;
}

static double auc_of(const float *p, const float *label, size_t n) {
    scored_t *s = malloc((n + 1) * sizeof *s);
    if (s == NULL)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        s[i].p = p[i];
        s[i].y = label[i];
    }
    qsort(s, n, sizeof *s, cmp_scored);
    /* Mann-Whitney: sum of the (average) ranks of the positives. */
    double rank_sum = 0, pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].p == s[i].p)
            j++;
        double avg = (double)(i + j + 1) / 2.0; /* ranks i+1..j */
        for (size_t k = i; k < j; k++)
            if (s[k].y > 0.5f) {
                rank_sum += avg;
                pos++;
            }
        i = j;
    }
    free(s);
    double neg = (double)n - pos;
    if (pos == 0 || neg == 0)
        return NAN;
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

void cfx_train_metrics_compute(const float *p, const float *label, size_t n,
                               cfx_train_metrics_t *m) {
    double loss = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        double q = p[i] < 1e-7f ? 1e-7 : p[i] > 1 - 1e-7f ? 1 - 1e-7 : p[i];
        loss -= label[i] > 0.5f ? log(q) : log(1 - q);
        correct += (p[i] > 0.5f) == (label[i] > 0.5f);
    }
    m->count = n;
    m->loss = n ? loss / (double)n : NAN;
    m->accuracy = n ? (double)correct / (double)n : NAN;
    m->auc = auc_of(p, label, n);
}

void cfx_train_metrics_compute_task(cfx_task_t task, size_t K, const float *p,
                                    const float *label, size_t n,
                                    cfx_train_metrics_t *m) {
    if (task == CFX_TASK_BINARY) {
        cfx_train_metrics_compute(p, label, n, m);
        return;
    }
    double loss = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        if (task == CFX_TASK_REGRESSION) {
            double r = (double)p[i] - (double)label[i];
            loss += r * r;
            continue;
        }
        const float *q = p + i * K;
        size_t y = (size_t)label[i], best = 0;
        for (size_t k = 1; k < K; k++)
            if (q[k] > q[best])
                best = k;
        correct += best == y;
        double py = y < K ? (double)q[y] : 0.0;
        loss -= log(py < 1e-7 ? 1e-7 : py);
    }
    m->count = n;
    m->loss = n ? loss / (double)n : NAN;
    m->accuracy =
        task == CFX_TASK_MULTICLASS && n ? (double)correct / (double)n : NAN;
    m->auc = NAN;
}

int cfx_trainer_evaluate(const cfx_net_t *n, const cfx_dataset_t *ds,
                         size_t max_rows, cfx_train_metrics_t *m,
                         cfx_error_t *err) {
    cfx_trainer_loss_t l;
    cfx_trainer_loss_default(&l);
    return cfx_trainer_evaluate_loss(n, &l, ds, max_rows, m, err);
}

int cfx_trainer_evaluate_loss(const cfx_net_t *n, const cfx_trainer_loss_t *l,
                              const cfx_dataset_t *ds, size_t max_rows,
                              cfx_train_metrics_t *m, cfx_error_t *err) {
    size_t rows = max_rows && max_rows < ds->n ? max_rows : ds->n;
    size_t K = n->num_outputs;
    enum { CHUNK = 256 };
    float *p = malloc((rows * K + 1) * sizeof *p);
    float *scratch = malloc(cfx_net_scratch_floats(n, CHUNK) * sizeof *scratch);
    if (p == NULL || scratch == NULL) {
        free(p);
        free(scratch);
        return cfx_error_set(err, CFX_ENOMEM, "evaluate: out of memory");
    }
    cfx_head_t h = {.task = l->task,
                    .num_classes = K,
                    .label_mean = l->label_mean,
                    .label_std = l->label_std};
    for (size_t i = 0; i < rows; i += CHUNK) {
        size_t B = rows - i < CHUNK ? rows - i : CHUNK;
        cfx_net_forward(n, ds->dense + i * ds->num_dense,
                        ds->cat + i * ds->num_categorical, B, p + i * K,
                        scratch);
        cfx_head_apply(&h, p + i * K, B, p + i * K);
    }
    cfx_train_metrics_compute_task(l->task, K, p, ds->label, rows, m);
    free(p);
    free(scratch);
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void shuffle(size_t *order, size_t n, uint64_t *rng) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(cfx_rng_next(rng) % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

int cfx_trainer_fit(cfx_net_t *n, const cfx_trainer_config_t *cfg,
                    const cfx_dataset_t *train, const cfx_dataset_t *eval,
                    cfx_trainer_log_fn log, void *log_ctx, FILE *progress,
                    cfx_train_metrics_t *final_eval, cfx_error_t *err) {
    int rc = 0;
    cfx_trainer_ws_t *ws = NULL;
    size_t *order = NULL;
    float *bd = NULL, *bl = NULL, *wp = NULL, *wl = NULL;
    int32_t *bc = NULL;
    adam_t adam = {.lr = cfg->learning_rate,
                   .b1 = cfg->beta_1,
                   .b2 = cfg->beta_2,
                   .eps = cfg->epsilon};
    if (train->n == 0)
        return cfx_error_set(err, CFX_EINVAL,
                             "train: the train split has no rows");
    if (train->num_dense != n->num_dense ||
        train->num_categorical != n->num_categorical)
        return cfx_error_set(err, CFX_EINVAL,
                             "train: data has %zu dense / %zu categorical "
                             "features, the network %zu / %zu",
                             train->num_dense, train->num_categorical,
                             n->num_dense, n->num_categorical);
    size_t B = cfg->batch_size < train->n ? cfg->batch_size : train->n;
    size_t nd = n->num_dense, nc = n->num_categorical, K = n->num_outputs;
    size_t window = cfg->log_every_steps * B;
    uint64_t rng = cfg->seed;
    uint64_t drop_rng = cfg->seed ^ 0xd50b1d3a6c2f8e47ull; /* dropout's own */
    /* early stopping (trainer_config.h): the validation slice, the best
     * evaluation's parameters */
    cfx_dataset_t valid;
    float *best = NULL;
    double best_loss = INFINITY;
    size_t best_step = 0, since_best = 0, nfit = 0;
    int stop = 0;
    cfx_dataset_init(&valid, nd, nc);
    cfx_net_init_params(n, &rng);
    if ((rc = cfx_trainer_ws_new(n, B, &ws, err)) != 0)
        goto out;
    cfx_trainer_ws_set_loss(ws, &cfg->loss);
    adam.m = calloc(n->num_params, sizeof(float));
    adam.v = calloc(n->num_params, sizeof(float));
    order = malloc(train->n * sizeof *order);
    bd = malloc((B * nd + 1) * sizeof *bd);
    bc = malloc((B * nc + 1) * sizeof *bc);
    bl = malloc(B * sizeof *bl);
    wp = malloc(window * K * sizeof *wp);
    wl = malloc(window * sizeof *wl);
    if (!adam.m || !adam.v || !order || !bd || !bc || !bl || !wp || !wl) {
        rc = cfx_error_set(err, CFX_ENOMEM, "train: out of memory");
        goto out;
    }
    for (size_t i = 0; i < train->n; i++) {
        uint64_t h = cfg->seed ^ (0x9E3779B97F4A7C15ull * (i + 1));
        if (cfg->validation_fraction > 0 &&
            cfx_rng_uniform(&h) < cfg->validation_fraction) {
            if ((rc = cfx_dataset_push(&valid, train->dense + i * nd,
                                       train->cat + i * nc, train->label[i])) !=
                0) {
                rc = cfx_error_set(err, rc, "train: out of memory");
                goto out;
            }
        } else {
            order[nfit++] = i;
        }
    }
    if (cfg->validation_fraction > 0 &&
        (valid.n == 0 || nfit == 0 ||
         (best = malloc(n->num_params * sizeof *best)) == NULL)) {
        rc = cfx_error_set(
            err, valid.n && nfit ? CFX_ENOMEM : CFX_EINVAL, "train: %s",
            valid.n && nfit ? "out of memory"
                            : "too few train rows for validation_fraction");
        goto out;
    }
    if (B > nfit)
        B = nfit;
    shuffle(order, nfit, &rng);
    size_t pos = 0, wn = 0;
    double wloss = 0, t0 = cfx_clock_mono_s(), last_progress = 0;
    for (size_t step = 1; step <= cfg->train_steps; step++) {
        for (size_t b = 0; b < B; b++) {
            if (pos == nfit) {
                shuffle(order, nfit, &rng);
                pos = 0;
            }
            size_t r = order[pos++];
            memcpy(bd + b * nd, train->dense + r * nd, nd * sizeof *bd);
            memcpy(bc + b * nc, train->cat + r * nc, nc * sizeof *bc);
            bl[b] = train->label[r];
        }
        if (cfg->dropout > 0)
            cfx_trainer_ws_draw_dropout(ws, n, B, cfg->dropout, &drop_rng);
        double loss = cfx_trainer_loss_grad(n, bd, bc, bl, B, ws);
        if (!isfinite(loss)) {
            rc = cfx_error_set(
                err, CFX_EINTERNAL,
                "train: loss became %g at step %zu (lower learning_rate?)",
                loss, step);
            goto out;
        }
        if (cfg->l2 > 0) /* L2 on kernels and biases, not embedding rows */
            axpy(cfx_trainer_ws_grad(ws), n->params, (float)cfg->l2,
                 n->dense_end);
        if (cfg->lr_decay_steps)
            adam.lr = cfg->learning_rate *
                      pow(cfg->lr_decay_rate,
                          (double)step / (double)cfg->lr_decay_steps);
        adam_step(&adam, n, ws);
        memcpy(wp + wn * K, cfx_trainer_ws_probs(ws), B * K * sizeof *wp);
        memcpy(wl + wn, bl, B * sizeof *wl);
        wn += B;
        wloss += loss;
        if (step % cfg->log_every_steps == 0 || step == cfg->train_steps) {
            cfx_train_metrics_t m;
            cfx_train_metrics_compute_task(cfg->loss.task, K, wp, wl, wn, &m);
            if (cfg->loss.task != CFX_TASK_REGRESSION) /* its loss is in
                                                          label units */
                m.loss =
                    wloss /
                    (double)(wn / B); /* mean batch loss before each step */
            if (log && (rc = log(log_ctx, "train", step, &m, err)) != 0)
                goto out;
            wn = 0;
            wloss = 0;
        }
        if (eval && eval->n &&
            (step % cfg->eval_every_steps == 0 || step == cfg->train_steps)) {
            cfx_train_metrics_t m;
            if ((rc = cfx_trainer_evaluate_loss(
                     n, &cfg->loss, eval, cfg->eval_steps * B, &m, err)) != 0)
                goto out;
            if (log && (rc = log(log_ctx, "eval", step, &m, err)) != 0)
                goto out;
            if (step == cfg->train_steps && final_eval)
                *final_eval = m;
        }
        if (best &&
            (step % cfg->eval_every_steps == 0 || step == cfg->train_steps)) {
            cfx_train_metrics_t m;
            if ((rc = cfx_trainer_evaluate_loss(n, &cfg->loss, &valid, 0, &m,
                                                err)) != 0)
                goto out;
            if (m.loss < best_loss) {
                best_loss = m.loss;
                best_step = step;
                since_best = 0;
                memcpy(best, n->params, n->num_params * sizeof *best);
            } else if (++since_best >= cfg->early_stopping_evals) {
                stop = 1;
            }
        }
        double t = cfx_clock_mono_s() - t0;
        if (progress &&
            (t - last_progress >= 0.2 || step == cfg->train_steps)) {
            last_progress = t;
            double rate = (double)(step * B) / (t > 0 ? t : 1e-9);
            double eta = (double)((cfg->train_steps - step) * B) / rate;
            fprintf(progress,
                    "\rstep %zu/%zu  loss %.4f  %.0f examples/s  ETA %.1fs   ",
                    step, cfg->train_steps, loss, rate, eta);
            if (step == cfg->train_steps || stop)
                fprintf(progress, "\n");
            fflush(progress);
        }
        if (stop)
            break;
    }
    if (best) { /* the best evaluation's parameters, and their eval */
        memcpy(n->params, best, n->num_params * sizeof *best);
        if (progress)
            fprintf(progress,
                    "kept step %zu: validation loss %.4f on %zu held-out "
                    "train rows\n",
                    best_step, best_loss, valid.n);
        if (eval && eval->n) {
            cfx_train_metrics_t m;
            if ((rc = cfx_trainer_evaluate_loss(
                     n, &cfg->loss, eval, cfg->eval_steps * B, &m, err)) != 0)
                goto out;
            if (log && (rc = log(log_ctx, "eval", best_step, &m, err)) != 0)
                goto out;
            if (final_eval)
                *final_eval = m;
        }
    }
out:
    cfx_dataset_free(&valid);
    free(best);
    cfx_trainer_ws_free(ws);
    free(adam.m);
    free(adam.v);
    free(order);
    free(bd);
    free(bc);
    free(bl);
    free(wp);
    free(wl);
    return rc;
}
