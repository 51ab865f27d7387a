/*
 * model_identity.h: which model a blessing is about.
 *
 * A blessing folder (Evaluator's BLESSED / NOT_BLESSED, InfraValidator's
 * INFRA_BLESSED / INFRA_NOT_BLESSED) also holds `model.json`:
 *
 *   {"model": "<absolute path of the bundle>",
 *    "manifest_sha256": "<hex SHA-256 of the bundle's manifest.json>"}
 *
 * The manifest lists the SHA-256 of every other file of the bundle, so its
 * digest names the bundle's whole content. The Pusher refuses a blessing
 * whose digest is not the one of the bundle it is asked to push (or that
 * names no model at all), so the blessing of one model can never publish
 * another (docs/push.md).
 *
 * Threads: reentrant.
 */
#ifndef CFX_EVAL_MODEL_IDENTITY_H
#define CFX_EVAL_MODEL_IDENTITY_H

#include <stddef.h>

#include "formats/err.h"

#define CFX_MODEL_IDENTITY_FILE "model.json"

/* Hex SHA-256 of <model_dir>/manifest.json into hex (65 bytes). */
int cfx_model_identity_digest(const char *model_dir, char hex[65],
                              cfx_error_t *err);

/* Writes <blessing_dir>/model.json for model_dir (atomically). A bundle
 * whose manifest cannot be read gets "manifest_sha256": null, which no
 * push accepts. */
int cfx_model_identity_write(const char *blessing_dir, const char *model_dir,
                             cfx_error_t *err);

/* Writes the verdict of a blessing folder: removes the other answer's
 * marker (a reused folder must never hold both), writes "reason" (text and
 * a newline), model.json for model_dir, and last the empty marker file
 * (`yes` when blessed, else `no`), each atomically: a reader that sees the
 * marker sees the rest. */
int cfx_model_identity_write_verdict(const char *blessing_dir,
                                     const char *model_dir, int blessed,
                                     const char *yes, const char *no,
                                     const char *text, cfx_error_t *err);

/* 0 when blessing_dir's model.json names the bundle model_dir (same
 * manifest digest). CFX_ENOTBLESSED, err naming both models, when it names
 * another one or none (no model.json); other negative codes when model_dir's
 * manifest cannot be read. */
int cfx_model_identity_check(const char *blessing_dir, const char *model_dir,
                             cfx_error_t *err);

/* Whether baseline_dir may stand in comparison with the candidate
 * model_dir: 0 when it may; 1 with why (cap bytes, one line naming both
 * values) when the two answer different questions, so their metrics must
 * not be compared: another label (the "label" of each bundle's
 * transform.json, name and definition), another signature (the manifest's
 * signatures[signature_name]), or another pipeline (the manifest's
 * training.pipeline, when both record one). A negative code when a file
 * cannot be read. */
int cfx_model_identity_comparable(const char *model_dir,
                                  const char *baseline_dir,
                                  const char *signature_name, char *why,
                                  size_t cap, cfx_error_t *err);

#endif
