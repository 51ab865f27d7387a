/*
 * network.h: the wide & deep network (forward pass), shared by the
 * trainer, the evaluator, `cfx predict` and cfx-serve. It computes K logits
 * per example (K = num_outputs: 1 for a binary or regression head, N for N
 * classes); the head (model/task.h) turns them into predictions.
 *
 *   wide  = wide/linear/bias + sum_c wide/linear/<c>[cat_c]        (one-hot of
 *           every categorical transform output into a linear logit,
 *           implemented as an embedding sum)
 *   deep  = ReLU MLP over x0 = [dense outputs, embedding rows]; a deep
 *           categorical (cat_deep) enters the first layer either one-hot,
 *           as an embedding sum (deep/dense_0/onehot/<c>, [cardinality,
 *           h0]), or, when its embedding_dim d_c > 0, as the row
 *           deep/embedding/<c>[cat_c] (d_c floats, learned) concatenated
 *           to the dense outputs in slot order (TF's embedding_column)
 *   logits = wide + deep   (K values)   binary: p = sigmoid(logit)
 *
 * Tensors (safetensors names; kernels are [in, out] as Keras stores them):
 *   deep/dense_<k>/kernel, deep/dense_<k>/bias      k = 0..num_hidden-1
 *     (deep/dense_0/kernel is [num_dense + sum_c d_c, h0])
 *   deep/logits/kernel [h_last, K], deep/logits/bias [K]
 *   wide/linear/bias [K]
 *   wide/linear/<c> [cardinality, K]
 *   deep/dense_0/onehot/<c> [cardinality, h0]   (cat_deep[c], d_c = 0)
 *   deep/embedding/<c> [cardinality, d_c]       (cat_deep[c], d_c > 0)
 * All parameters live in one float block (params) in that order (the deep
 * tables in categorical slot order); the non-embedding tensors come first,
 * [0, dense_end).
 *
 * A categorical index outside [0, cardinality) reads row 0 (TF's identity
 * column with default_value 0), never out of bounds.
 *
 * Dropout is the trainer's (train/trainer.h): cfx_net_forward_acts takes
 * the masks; inference passes have none.
 *
 * A cfx_net_t is immutable once built or loaded: forward passes may run on
 * any number of threads at once, each with its own scratch.
 */
#ifndef CFX_MODEL_NETWORK_H
#define CFX_MODEL_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

#define CFX_NET_MAX_HIDDEN 8
#define CFX_NET_MAX_WIDTH 4096
#define CFX_NET_MAX_CARDINALITY (1 << 20)
#define CFX_NET_MAX_EMBEDDING_DIM 512

/* What a network looks like; also what the bundle manifest records. */
typedef struct cfx_net_spec {
    size_t num_dense;
    size_t num_categorical;
    const char *const *cat_names;   /* num_categorical names */
    const int64_t *cat_cardinality; /* num_categorical values */
    size_t num_hidden;              /* 1..CFX_NET_MAX_HIDDEN */
    size_t hidden[CFX_NET_MAX_HIDDEN];
    int deep_categorical; /* one-hot categoricals into the first deep layer */
    const uint8_t *cat_deep; /* which ones (num_categorical flags); NULL =
                              * all when deep_categorical */
    const size_t *cat_embedding_dim; /* per categorical: 0 = one-hot into the
                                      * first layer, else the width of its
                                      * learned embedding (deep ones only,
                                      * 1..CFX_NET_MAX_EMBEDDING_DIM); NULL =
                                      * all one-hot */
    size_t num_outputs;              /* logits per example, K; 0 means 1 */
} cfx_net_spec_t;

typedef struct cfx_net_tensor {
    char *name;
    size_t offset; /* in floats, into params */
    size_t ndim;   /* 1 or 2 */
    int64_t shape[2];
    size_t count;
} cfx_net_tensor_t;

typedef struct cfx_net {
    size_t num_dense, num_categorical, num_hidden;
    size_t num_outputs;   /* K, logits per example */
    int deep_categorical; /* any cat_deep set */
    int deep_onehot;      /* any deep categorical taken one-hot */
    uint8_t *cat_deep;
    size_t *emb_dim;  /* per categorical: its embedding width, 0 = one-hot */
    size_t *emb_col;  /* per categorical: its first column in x0 */
    size_t emb_total; /* sum of emb_dim; width[0] = num_dense + emb_total */
    char **cat_names;
    int64_t *cat_cardinality;
    size_t width[CFX_NET_MAX_HIDDEN + 2]; /* width[0] = x0's, ..., K */
    size_t w_off[CFX_NET_MAX_HIDDEN + 1], b_off[CFX_NET_MAX_HIDDEN + 1];
    size_t wide_bias_off;
    size_t *wide_off; /* per categorical */
    size_t *emb_off;  /* per categorical: its deep table, where cat_deep[c] */
    size_t dense_end; /* params [0, dense_end) are the non-embedding tensors */
    size_t max_width;
    float *params; /* owned */
    size_t num_params;
    cfx_net_tensor_t *tensors;
    size_t num_tensors;
} cfx_net_t;

/* Builds a network with all-zero parameters. */
int cfx_net_new(const cfx_net_spec_t *spec, cfx_net_t **out, cfx_error_t *err);
void cfx_net_free(cfx_net_t *n);

/* Glorot-uniform kernels and one-hot rows (fan-in of the first layer counts
 * each one-hot categorical as one input, each embedding as d_c), zero
 * biases and zero wide weights, then the embedding tables from a normal
 * distribution of stddev 1/sqrt(d_c) truncated at two stddevs (TF's
 * embedding_column); rng_state is a splitmix64 state advanced in place (one
 * seed, one result). */
void cfx_net_init_params(cfx_net_t *n, uint64_t *rng_state);

uint64_t cfx_rng_next(uint64_t *state); /* splitmix64 */
float cfx_rng_uniform(uint64_t *state); /* [0, 1) */

const cfx_net_tensor_t *cfx_net_find(const cfx_net_t *n, const char *name);

/* Scratch floats a forward pass over a batch of B needs. */
size_t cfx_net_scratch_floats(const cfx_net_t *n, size_t B);

/* dense (B, num_dense), cat (B, num_categorical) -> logits (B, K).
 * The optimized kernel; scratch has cfx_net_scratch_floats(n, B) floats. */
void cfx_net_forward(const cfx_net_t *n, const float *dense, const int32_t *cat,
                     size_t B, float *logits, float *scratch);

/* Same as cfx_net_forward, keeping every hidden activation (post-ReLU,
 * post-dropout): acts[k] is (B, width[k+1]) for k < num_hidden; base is
 * (B, width[1]) scratch; x0 receives the first layer's input (B, width[0])
 * when emb_total > 0 (else unused, may be NULL). dropout is NULL or, per
 * hidden layer, (B, width[k+1]) multipliers applied after the ReLU (0 for a
 * dropped unit, 1/(1-rate) for a kept one). For backprop. */
void cfx_net_forward_acts(const cfx_net_t *n, const float *dense,
                          const int32_t *cat, size_t B, float *const *acts,
                          const float *const *dropout, float *base, float *x0,
                          float *logits);

/* The plain reference: one example at a time, textbook loops, no scratch
 * beyond the stack. Kept beside the optimized kernel and tested to agree. */
void cfx_net_forward_ref(const cfx_net_t *n, const float *dense,
                         const int32_t *cat, size_t B, float *logits);

static inline float cfx_sigmoid(float z) {
    return z >= 0 ? 1.0f / (1.0f + __builtin_expf(-z))
                  : __builtin_expf(z) / (1.0f + __builtin_expf(z));
}

#endif
