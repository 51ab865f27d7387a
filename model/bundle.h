/*
 * bundle.h: the model bundle (docs/design.md, docs/model.md), the contract
 * between trainer, evaluator, pusher and server.
 *
 *   <version>/manifest.json               format version, model name, created
 *                                         time, signatures, sha256 + size of
 *                                         every other file
 *   <version>/schema.pbtxt                raw input schema
 *   <version>/transform.json, assets/     the transform graph
 *   <version>/variables/model.safetensors weights
 *   <version>/assets.extra/warmup.jsonl   real raw requests (one JSON object
 *                                         of raw features per line)
 *
 * Signatures (TF Serving names; what cfx-serve exposes), shown for a
 * binary head; a multi-class head of N classes has "outputs" [-1,N] and
 * classify's [-1,N] and no regress, a regression head no classify
 * (bundle_writer.h, cfx_bundle_manifest_set_head):
 *   serving_default  tensorflow/serving/predict, input "examples" (DT_STRING,
 *                    serialized tf.Example, as TFX's serving signature) ->
 *                    "outputs" (DT_FLOAT [-1,1], probability of class 1)
 *   predict_raw      tensorflow/serving/predict, one input per raw feature
 *                    (DT_INT64 / DT_FLOAT / DT_STRING, shape [-1]) ->
 *                    "outputs"
 *   classify         tensorflow/serving/classify, "inputs" (DT_STRING) ->
 *                    "classes" (DT_STRING [-1,2]), "scores" (DT_FLOAT [-1,2])
 *   regress          tensorflow/serving/regress, "inputs" -> "outputs"
 *
 * Loading verifies everything (format version, every checksum and size,
 * tensor names, dtypes and shapes) and refuses with a message naming the
 * file, the expected and the found value.
 *
 * A loaded bundle is immutable: prediction is reentrant and may run on any
 * number of threads at once. Reference counting is the server's business.
 */
#ifndef CFX_MODEL_BUNDLE_H
#define CFX_MODEL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "formats/example.h"
#include "model/task.h"
#include "model/transform.h"

/* The newest bundle format this build reads (docs/model.md, "The
 * bundle"): 1, and 2 for a network with learned embeddings, which a build
 * that reads only 1 must refuse by name. A bundle is written with the
 * lowest version that holds it. */
#define CFX_BUNDLE_FORMAT_VERSION 2
#define CFX_BUNDLE_FORMAT_VERSION_MIN 1

typedef struct cfx_bundle cfx_bundle_t;

int cfx_bundle_load(const char *dir, cfx_bundle_t **out, cfx_error_t *err);
void cfx_bundle_free(cfx_bundle_t *b);

const char *cfx_bundle_model_name(const cfx_bundle_t *b);
const char *cfx_bundle_dir(const cfx_bundle_t *b);
const cfx_transform_t *cfx_bundle_transform(const cfx_bundle_t *b);

/* Predictions for n raw examples, out[n * cfx_bundle_output_width(b)]:
 * binary P(class 1), multiclass N probabilities per example, regression the
 * value. Reentrant. */
int cfx_bundle_predict(const cfx_bundle_t *b, const cfx_example_t *const *raw,
                       size_t n, float *out, cfx_error_t *err);

/* Path of assets.extra/warmup.jsonl, NULL when the bundle has none. */
const char *cfx_bundle_warmup_path(const cfx_bundle_t *b);

/* 1 when p may name a file of a bundle (what the writer writes and the
 * manifest lists): relative, at most 1024 bytes, no empty, "." or ".."
 * component, no trailing '/'; so it stays inside the bundle folder. */
int cfx_bundle_relpath_ok(const char *p);

/* ---- extensions (compatible additions) ---------------------------------- */

struct cfx_net;
/* The loaded network (model/network.h); owned by the bundle; NULL for a
 * trees bundle. */
const struct cfx_net *cfx_bundle_network(const cfx_bundle_t *b);

struct cfx_trees;
/* The loaded trees of a gbt bundle (model/trees.h), owned by the bundle;
 * NULL for a network bundle, whose cfx_bundle_network is then non-NULL. */
const struct cfx_trees *cfx_bundle_trees(const cfx_bundle_t *b);

/* The plain reference of the bundle's model (cfx_net_forward_ref or
 * cfx_trees_predict_ref): transformed rows -> logits (n, num_logits), before
 * the head; for checking the optimised path. */
void cfx_bundle_forward_ref(const cfx_bundle_t *b, const float *dense,
                            const int32_t *cat, size_t n, float *logits);

/* What the model predicts (model/task.h): the head recorded in the
 * manifest ("head"; a manifest without one is binary with classes "0" and
 * "1"). num_classes is 2 for binary, N for multiclass, 0 for regression;
 * class_label(j) is NULL past the last class; output_width is the floats
 * of one prediction (N for multiclass, else 1). */
const cfx_head_t *cfx_bundle_head(const cfx_bundle_t *b);
cfx_task_t cfx_bundle_task(const cfx_bundle_t *b);
size_t cfx_bundle_num_classes(const cfx_bundle_t *b);
const char *cfx_bundle_class_label(const cfx_bundle_t *b, size_t j);
size_t cfx_bundle_output_width(const cfx_bundle_t *b);

/* Predictions (as cfx_bundle_predict) for n already-transformed rows: dense (n,
 * num_dense) and categorical (n, num_categorical) in the transform's slot
 * order, as the transformed examples hold them. Reentrant. */
int cfx_bundle_predict_transformed(const cfx_bundle_t *b, const float *dense,
                                   const int32_t *cat, size_t n, float *out,
                                   cfx_error_t *err);

#endif
