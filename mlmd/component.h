/*
 * component.h: how a component records one run of itself in the metadata
 * store of a pipeline root (docs/metadata.md) — used alike by `cfx run` and by the
 * standalone commands given `--pipeline-root ROOT`.
 *
 * A run, in order:
 *
 *   cfx_component_run_t run;
 *   cfx_component_input_t in[] = {{"examples", 0, examples_uri}};
 *   cfx_component_begin(&run, root, "StatisticsGen", "{\"stats_options\":...}",
 *                       in, 1, &err);       // Execution RUNNING, contexts,
 *                                            // INPUT events, cache key
 *   int hit = 0;
 *   cfx_component_cached(&run, &hit, &err);  // optional: reuse a prior run
 *   if (!hit) {
 *       const char *dir = cfx_component_output_dir(&run, "statistics", &err);
 *       ... write the artifact into dir ...
 *       cfx_component_set_property(&run, "statistics", "split_names",
 *                                  "[\"train\",\"eval\"]", &err);
 *   }
 *   cfx_component_finish(&run, ok, &err);    // LIVE + OUTPUT events +
 *                                            // COMPLETE, or FAILED and the
 *                                            // output dirs removed
 *   cfx_component_run_free(&run);
 *
 * With root == NULL (standalone, no pipeline root) every call succeeds and
 * records nothing; output_dir returns NULL and the command writes where its
 * own flags say.
 *
 * Layout: outputs live at `<root>/<Component>/<output key>/<execution id>/`.
 * Execution type name = component name; contexts: `pipeline` (name =
 * pipeline name, default the root's base name), `pipeline_run` (run id,
 * default a new time-based id) and `node` (`<pipeline>.<Component>`), and an
 * `execution_cache` context named by the cache key (as TFX does).
 *
 * Cache key: SHA-256 (hex) over the component name, the inputs sorted by
 * (key, uri) with each artifact's id, uri and input_fingerprint property,
 * and the exec properties JSON re-serialised with sorted keys. Content that
 * is not an artifact but changes the result (a config file, a CSV file)
 * belongs in the exec properties: use cfx_component_file_digest /
 * cfx_component_input_fingerprint to put it there.
 *
 * Threads: a run belongs to one thread; it owns its store handle unless one
 * was lent with cfx_component_begin_ex (then the lender keeps it open for the
 * whole run and does not use it from another thread meanwhile).
 */
#ifndef CFX_MLMD_COMPONENT_H
#define CFX_MLMD_COMPONENT_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "mlmd/metadata.h"

#define CFX_COMPONENT_MAX_INPUTS 16
#define CFX_COMPONENT_MAX_OUTPUTS 8

/* One input: an artifact named by id (> 0) or, when id == 0, by uri (the
 * newest artifact registered with that uri; an unknown uri is registered as
 * an external artifact of type "ExternalArtifact"). */
typedef struct cfx_component_input {
    const char *key;  /* "examples", "schema", ... */
    int64_t artifact_id;
    const char *uri;
} cfx_component_input_t;

typedef struct cfx_component_output {
    char key[CFX_MD_NAME_MAX];
    char type[CFX_MD_NAME_MAX]; /* artifact type name ("Examples", ...) */
    char *uri;              /* owned; no trailing '/' */
    int64_t artifact_id;
    int created_dir;        /* we made the dir: removed on failure */
} cfx_component_output_t;

typedef struct cfx_component_input_rec {
    char key[CFX_MD_NAME_MAX];
    cfx_md_artifact_t artifact;
} cfx_component_input_rec_t;

typedef struct cfx_component_run {
    cfx_metadata_t *store;  /* NULL when standalone */
    int owns_store;
    char *root;             /* owned; NULL when standalone */
    char component[64];
    char pipeline_name[CFX_MD_NAME_MAX];
    char run_id[64];
    int64_t execution_id;
    int64_t context_ids[3]; /* pipeline, pipeline_run, node */
    char cache_key[65];     /* hex SHA-256 */
    int cached;             /* set by a cache hit */
    int64_t cached_from;    /* the execution whose outputs were reused */
    int64_t start_ms;
    size_t n_inputs;
    cfx_component_input_rec_t inputs[CFX_COMPONENT_MAX_INPUTS];
    size_t n_outputs;
    cfx_component_output_t outputs[CFX_COMPONENT_MAX_OUTPUTS];
    int finished;
} cfx_component_run_t;

/* Optional settings of a run (all fields may be NULL / 0). */
typedef struct cfx_component_opts {
    cfx_metadata_t *store;     /* an open store of root to use (lent, not
                                  closed); NULL: the run opens its own */
    const char *pipeline_name; /* NULL: base name of root */
    const char *run_id;        /* NULL: a new time-based id */
} cfx_component_opts_t;

/* Starts a run (see the top of this file). exec_properties_json may be NULL
 * ("{}") and must otherwise be a JSON object; each top-level member is
 * stored as an execution property (numbers as int/double, strings as
 * strings, anything else as its JSON text). The run is zeroed first; call
 * cfx_component_run_free afterwards whatever happens. On failure nothing is
 * left RUNNING. */
int cfx_component_begin(cfx_component_run_t *run, const char *root,
                        const char *component, const char *exec_properties_json,
                        const cfx_component_input_t *inputs, size_t n_inputs,
                        cfx_error_t *err);
int cfx_component_begin_ex(cfx_component_run_t *run, const char *root,
                           const cfx_component_opts_t *opts,
                           const char *component,
                           const char *exec_properties_json,
                           const cfx_component_input_t *inputs,
                           size_t n_inputs, cfx_error_t *err);

/* Creates `<root>/<Component>/<key>/<execution id>/` and registers a PENDING
 * artifact there; the type is the TFX type of that output key for that
 * component (examples → Examples, statistics → ExampleStatistics, schema →
 * Schema, anomalies → ExampleAnomalies, transform_graph → TransformGraph,
 * transformed_examples → Examples, model → Model, model_run → ModelRun,
 * evaluation → ModelEvaluation, blessing → ModelBlessing (InfraBlessing for
 * InfraValidator), pushed_model → PushedModel; any other key: its name).
 * Returns the path (owned by run) or NULL with err set. Standalone: NULL
 * with err->code 0. Asking twice for one key returns the same path. */
const char *cfx_component_output_dir(cfx_component_run_t *run, const char *key,
                                     cfx_error_t *err);
/* As output_dir with an explicit type. */
const char *cfx_component_output_dir_typed(cfx_component_run_t *run,
                                           const char *key, const char *type,
                                           cfx_error_t *err);
/* Registers an output that lives at a uri chosen elsewhere (e.g. the
 * directory given by the user, the pushed version dir); it is not created
 * nor removed by the run. type NULL: from the key as above. */
int cfx_component_output_at(cfx_component_run_t *run, const char *key,
                            const char *type, const char *uri,
                            cfx_error_t *err);

/* Sets a custom property of an output: the value is stored as an int when
 * value parses fully as an int64, else as a double when it parses fully as
 * a number, else as a string (so "[\"train\",\"eval\"]" is a string). */
int cfx_component_set_property(cfx_component_run_t *run, const char *key,
                               const char *name, const char *value,
                               cfx_error_t *err);
/* Typed setters; is_custom 0 sets a (non-custom) property. */
int cfx_component_set_int(cfx_component_run_t *run, const char *key,
                          const char *name, int is_custom, int64_t v,
                          cfx_error_t *err);
int cfx_component_set_string(cfx_component_run_t *run, const char *key,
                             const char *name, int is_custom, const char *v,
                             cfx_error_t *err);

/* Sets TFX's split properties of output out_key (ExampleStatistics,
 * ExampleAnomalies): `split_names` (a JSON list string, e.g.
 * "[\"train\",\"eval\"]") and `span`, both copied from the artifact of
 * input in_key when it carries them; otherwise split_names lists the
 * Split-<name> folders of the output (sorted) and span is 0. Standalone: 0. */
int cfx_component_set_split_properties(cfx_component_run_t *run,
                                       const char *out_key, const char *in_key,
                                       cfx_error_t *err);

/* Cache lookup: if an earlier COMPLETE or CACHED execution has the same
 * cache key and all its outputs are LIVE and their uris exist on disk, this
 * execution becomes CACHED with OUTPUT events to those same artifacts
 * (nothing is recomputed; finish then only stamps the time) and *hit = 1;
 * cfx_component_output_uri gives their uris. Otherwise *hit = 0. */
int cfx_component_cached(cfx_component_run_t *run, int *hit, cfx_error_t *err);

/* The uri of an output (after output_dir / output_at / a cache hit), or
 * NULL. Owned by run. */
const char *cfx_component_output_uri(const cfx_component_run_t *run,
                                     const char *key);
/* The artifact id of an output (0 when unknown). */
int64_t cfx_component_output_id(const cfx_component_run_t *run,
                                const char *key);

/* Ends the run: ok → outputs LIVE, OUTPUT events, execution COMPLETE (or
 * stays CACHED after a hit); !ok → outputs ABANDONED, dirs the run created
 * removed, execution FAILED. Idempotent; run_free calls it with ok = 0 when
 * it was never called. */
int cfx_component_finish(cfx_component_run_t *run, int ok, cfx_error_t *err);
/* For the standalone commands: finishes with ok = (rc == 0) and returns rc,
 * or, when rc was 0 and recording the outputs failed, that error (in *err). */
int cfx_component_finish_cli(cfx_component_run_t *run, int rc, cfx_error_t *err);
void cfx_component_run_free(cfx_component_run_t *run);

/* The run's store (NULL when standalone), e.g. for
 * cfx_metadata_latest_blessed_model. */
cfx_metadata_t *cfx_component_store(cfx_component_run_t *run);

/* For the standalone commands given `--pipeline-root ROOT`: begins a run
 * whose exec properties are the NULL-terminated name/value string pairs in
 * props (may be NULL), and sets *output to where the command writes its
 * output `key`: its own --output when given (*output not NULL on entry:
 * recorded at that uri), else `<root>/<Component>/<key>/<id>/` (created).
 * Inputs given by uri resolve to the artifact recorded there, so runs of
 * the standalone commands chain in `cfx lineage`. root NULL: nothing is
 * recorded and *output is left as it is. Finish with cfx_component_finish
 * (ok = the command succeeded) and cfx_component_run_free. */
int cfx_component_begin_cli(cfx_component_run_t *run, const char *root,
                            const char *component, const char *const *props,
                            const cfx_component_input_t *inputs, size_t n_inputs,
                            const char *key, const char **output,
                            cfx_error_t *err);

/* Hex SHA-256 of a file's contents (out: 65 bytes). */
int cfx_component_file_digest(const char *path, char out[65], cfx_error_t *err);
/* ExampleGen's input fingerprint of a file or of the regular files directly
 * in a directory: "split:<split>,num_files:N,total_bytes:B,xor_checksum:X,
 * sum_checksum:S" (X, S: XOR and sum of mtimes in whole seconds) into out
 * (cap bytes). */
int cfx_component_input_fingerprint(const char *path, const char *split,
                                    char *out, size_t cap, cfx_error_t *err);

#endif
