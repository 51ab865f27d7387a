/*
 * bundle_writer.h: writing a model bundle (bundle.h, docs/design.md)
 * atomically.
 *
 * Files go into a hidden temporary directory beside the destination
 * (<parent>/.<name>.tmp-XXXXXX, same file system); each is fsynced as it
 * is written and its SHA-256 and size recorded. Commit writes manifest.json
 * with the "files" table, fsyncs every directory, renames the temporary
 * directory to the destination and fsyncs the parent. A reader therefore
 * sees either no bundle or a complete one; an aborted writer leaves nothing.
 *
 * A writer belongs to one thread.
 */
#ifndef CFX_MODEL_BUNDLE_WRITER_H
#define CFX_MODEL_BUNDLE_WRITER_H

#include <jansson.h>
#include <stddef.h>

#include "formats/err.h"
#include "model/network.h"
#include "model/task.h"
#include "model/transform.h"

/* Largest file a bundle may hold (writer and loader). */
#define CFX_BUNDLE_MAX_FILE ((size_t)1 << 30)

typedef struct cfx_bundle_writer cfx_bundle_writer_t;

/* final_dir must not exist yet, or be an empty folder (a pipeline's output
 * folder), which the publishing rename replaces; anything else is
 * CFX_EEXIST. Its parent must exist. */
int cfx_bundle_writer_open(const char *final_dir, cfx_bundle_writer_t **out,
                           cfx_error_t *err);

/* Writes relpath (a relative path without "." or ".." components; parent
 * folders are created) with len bytes of data. */
int cfx_bundle_writer_add(cfx_bundle_writer_t *w, const char *relpath,
                          const void *data, size_t len, cfx_error_t *err);
/* Copies the regular file src to relpath. */
int cfx_bundle_writer_add_file(cfx_bundle_writer_t *w, const char *relpath,
                               const char *src, cfx_error_t *err);
/* Copies the regular files of src_dir (and its subfolders) under reldir. */
int cfx_bundle_writer_add_dir(cfx_bundle_writer_t *w, const char *reldir,
                              const char *src_dir, cfx_error_t *err);

/* Adds "files" to manifest (borrowed; an object with everything else),
 * writes manifest.json and publishes. The writer is freed whatever the
 * result; on failure nothing is left behind. */
int cfx_bundle_writer_commit(cfx_bundle_writer_t *w, json_t *manifest,
                             cfx_error_t *err);
/* Removes the temporary directory and frees the writer (may be NULL). */
void cfx_bundle_writer_abort(cfx_bundle_writer_t *w);

/* The manifest of a bundle holding net and transform t: format_version,
 * model_name, created (UTC, RFC 3339), label, inputs (the raw feature spec:
 * [{"name", "dtype": "DT_INT64"|"DT_FLOAT"|"DT_STRING"}]), network (what
 * cfx_bundle_load rebuilds; none when net is NULL, for a model type that
 * records its own section, such as "trees") and signatures. New reference,
 * NULL when out of memory. */
json_t *cfx_bundle_manifest_new(const char *model_name, const cfx_net_t *net,
                                const cfx_transform_t *t);

/* Records head (task, classes, label standardisation) in manifest as
 * "head", the network section's "num_outputs" and "output" (sigmoid,
 * softmax, linear; when the manifest has a network section), and makes the
 * signatures the task's, as TF Estimator heads export them: binary
 * predict + classify (2 classes) + regress; multiclass predict ("outputs"
 * [-1, N]) + classify ("classes", "scores" [-1, N]); regression predict +
 * regress. 0 or CFX_ENOMEM. */
int cfx_bundle_manifest_set_head(json_t *manifest, const cfx_head_t *head);

#endif
