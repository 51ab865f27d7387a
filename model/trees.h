/*
 * trees.h: the gradient-boosted trees model type ("gbt", docs/model.md):
 * cfx's own tree format, which a bundle carries as variables/trees.json,
 * and the evaluator that serving uses (no XGBoost at serving time).
 *
 * Features are the transform's outputs in slot order, the same rows the
 * network reads: feature f < num_dense is dense[f]; feature num_dense + c is
 * the categorical index cat[c] as a float (exact below 2^24).
 *
 * trees.json:
 *   {"format": "cfx-trees", "version": 1,
 *    "features": ["fare_xf", ...],        num_dense then num_categorical
 *                                         names, in slot order
 *    "num_outputs": 1,                    margins per example (N classes
 *                                         for a multi-class model, else 1)
 *    "base_margin": [-1.2],               num_outputs values
 *    "trees": [{"output": 0,              which margin the tree adds to
 *               "feature": [3, 0, 0],     per node; a leaf's is ignored
 *               "value": [0.5, -0.1, 0.2], split threshold, or leaf value
 *               "left": [1, -1, -1], "right": [2, -1, -1],  -1 on leaves
 *               "default_left": [1, 0, 0]}, ...]}   where NaN goes
 * Node 0 is a tree's root. An internal node sends x to the left child when
 * x < value (float32 comparison, as XGBoost does), NaN to its default side.
 * Every child index is greater than its parent's and every node but the
 * root has exactly one parent, so a walk ends within the tree's node count.
 *
 *   margin[k] = base_margin[k] + sum of the leaves of the trees of output k
 *
 * A loaded cfx_trees_t is immutable: evaluation may run on any number of
 * threads at once.
 */
#ifndef CFX_MODEL_TREES_H
#define CFX_MODEL_TREES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "formats/example.h"
#include "model/transform.h"

/* Limits on what a trees.json may hold. */
#define CFX_TREES_MAX_FILE ((size_t)256 << 20)
#define CFX_TREES_MAX_TREES 100000
#define CFX_TREES_MAX_NODES (1u << 24) /* all trees together */
#define CFX_TREES_MAX_OUTPUTS 1000

/* Where a bundle keeps its trees. */
#define CFX_TREES_FILE "variables/trees.json"

typedef struct cfx_trees cfx_trees_t;

/* Builds an ensemble from the JSON above; t (may be NULL) is the transform
 * whose outputs must match "features" slot by slot. where names the source
 * in errors (a file name). The object is only read. */
int cfx_trees_from_json(json_t *root, const char *where,
                        const cfx_transform_t *t, cfx_trees_t **out,
                        cfx_error_t *err);
/* Reads and parses path (at most CFX_TREES_MAX_FILE bytes). */
int cfx_trees_load(const char *path, const cfx_transform_t *t,
                   cfx_trees_t **out, cfx_error_t *err);
/* A bundle's trees: section is the manifest's "trees" object ({"type":
 * "gbt", "file": CFX_TREES_FILE, ...}), t the bundle's transform graph. */
int cfx_trees_load_bundle(const char *dir, json_t *section,
                          const cfx_transform_t *t, cfx_trees_t **out,
                          cfx_error_t *err);
void cfx_trees_free(cfx_trees_t *tr);

size_t cfx_trees_num_outputs(const cfx_trees_t *tr);
size_t cfx_trees_num_trees(const cfx_trees_t *tr);
size_t cfx_trees_num_nodes(const cfx_trees_t *tr);
size_t cfx_trees_num_dense(const cfx_trees_t *tr);
size_t cfx_trees_num_categorical(const cfx_trees_t *tr);
/* Deepest root-to-leaf path, in splits. */
size_t cfx_trees_max_depth(const cfx_trees_t *tr);

/* dense (B, num_dense), cat (B, num_categorical) -> margins (B,
 * num_outputs). The fast evaluator: when no tree is deeper than 10 splits,
 * every tree padded to the deepest one's depth D (a shallower leaf repeated
 * below itself) and walked D steps without a branch, 8 trees side by side;
 * else nodes of all trees in one flat array, each node's children side by
 * side. Leaves are added in tree order, as the reference does, so both
 * give the same floats. */
void cfx_trees_predict(const cfx_trees_t *tr, const float *dense,
                       const int32_t *cat, size_t B, float *margins);

/* The same over rows already laid out as features: x (B, num_dense +
 * num_categorical), categorical indices as floats. */
void cfx_trees_predict_rows(const cfx_trees_t *tr, const float *x, size_t B,
                            float *margins);

/* The same from the arrays as trees.json lists them, one node at a time:
 * the plain reference the fast evaluator is tested against. */
void cfx_trees_predict_ref(const cfx_trees_t *tr, const float *dense,
                           const int32_t *cat, size_t B, float *margins);

/* Raw examples through the transform, then cfx_trees_predict: margins (n,
 * num_outputs). A transform error names the example. Reentrant. */
int cfx_trees_predict_raw(const cfx_trees_t *tr, const cfx_transform_t *t,
                          const cfx_example_t *const *raw, size_t n,
                          float *margins, cfx_error_t *err);

#endif
