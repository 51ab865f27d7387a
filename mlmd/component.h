/*
 * component.h: how a component records one run of itself in the metadata
 * store of a pipeline root (docs/metadata.md), and the one interface every
 * component exports (cfx_component_spec_t, at the end of this file) — run
 * alike by `cfx run` and by the standalone commands.
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
 * records nothing; the inputs are kept as given (cfx_component_input_uri
 * finds them) and output_dir returns what cfx_component_set_output set (the
 * command's --output), else NULL.
 *
 * Layout: outputs live at `<root>/<Component>/<output key>/<execution id>/`.
 * A run that opens its own store (no store lent in the options) first
 * recovers the executions that killed runs left RUNNING in it
 * (mlmd/recovery.h); every run records its owner there for the next one.
 *
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

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/err.h"
#include "mlmd/metadata.h"

#define CFX_COMPONENT_MAX_INPUTS 16
#define CFX_COMPONENT_MAX_OUTPUTS 8

/* One input: an artifact named by id (> 0) or, when id == 0, by uri (the
 * newest artifact registered with that uri; an unknown uri is registered as
 * an external artifact of type "ExternalArtifact"). */
typedef struct cfx_component_input {
    const char *key; /* "examples", "schema", ... */
    int64_t artifact_id;
    const char *uri;
    /* What the component reads, when not the artifact's uri as recorded:
     * a standalone command passes each path as the user gave it (relative,
     * or a file inside the recorded folder: `--schema x.pbtxt`). May be
     * NULL. */
    const char *path;
} cfx_component_input_t;

typedef struct cfx_component_output {
    char key[CFX_MD_NAME_MAX];
    char type[CFX_MD_NAME_MAX]; /* artifact type name ("Examples", ...) */
    char *uri;                  /* owned; no trailing '/' */
    int64_t artifact_id;
    int created_dir; /* we made the dir: removed on failure */
} cfx_component_output_t;

typedef struct cfx_component_input_rec {
    char key[CFX_MD_NAME_MAX];
    cfx_md_artifact_t artifact; /* standalone: only uri is set */
    char *path;                 /* owned; cfx_component_input_t.path or NULL */
} cfx_component_input_rec_t;

typedef struct cfx_component_run {
    cfx_metadata_t *store; /* NULL when standalone */
    int owns_store;
    char *root; /* owned; NULL when standalone */
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
    /* Where a run that opens its own store reports the executions it
     * recovered (mlmd/recovery.h); NULL: quiet. */
    FILE *log;
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
                           const cfx_component_input_t *inputs, size_t n_inputs,
                           cfx_error_t *err);

/* Creates `<root>/<Component>/<key>/<execution id>/` and registers a PENDING
 * artifact there; the type is the TFX type of that output key for that
 * component (examples → Examples, statistics → ExampleStatistics, schema →
 * Schema, anomalies → ExampleAnomalies, transform_graph → TransformGraph,
 * transformed_examples → Examples, model → Model, model_run → ModelRun,
 * evaluation → ModelEvaluation, blessing → ModelBlessing (InfraBlessing for
 * InfraValidator), pushed_model → PushedModel; any other key: its name).
 * Returns the path (owned by run) or NULL with err set. An output placed
 * with cfx_component_set_output or output_at: its uri. Standalone without
 * one: NULL with err->code 0. Asking twice for one key returns the same
 * path. */
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

/* For the standalone commands: output key goes to path (the user's
 * --output), so output_dir returns path from now on. Recorded runs register
 * it there as output_at does (neither created nor removed by the run);
 * standalone runs only remember it. */
int cfx_component_set_output(cfx_component_run_t *run, const char *key,
                             const char *path, cfx_error_t *err);

/* The location the component reads input key from (its path when one was
 * given, else the artifact's uri), or NULL when the run has no such input.
 * Owned by run. */
const char *cfx_component_input_uri(const cfx_component_run_t *run,
                                    const char *key);
/* The artifact id of input key; 0 when absent or standalone. */
int64_t cfx_component_input_id(const cfx_component_run_t *run, const char *key);

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
/* A custom int property of an output as the store holds it (after a cache
 * hit: as the reused artifact holds it); def when absent or standalone. */
long long cfx_component_output_int(cfx_component_run_t *run, const char *key,
                                   const char *name, long long def);

/* Ends the run: ok → outputs LIVE, OUTPUT events, execution COMPLETE (or
 * stays CACHED after a hit); !ok → outputs ABANDONED, dirs the run created
 * removed, execution FAILED. Idempotent; run_free calls it with ok = 0 when
 * it was never called. */
int cfx_component_finish(cfx_component_run_t *run, int ok, cfx_error_t *err);
/* finish(run, 0) that first records why (custom execution property
 * failure_reason, shown by `cfx ls`). */
int cfx_component_fail(cfx_component_run_t *run, const char *reason,
                       cfx_error_t *err);
void cfx_component_run_free(cfx_component_run_t *run);

/* The run's store (NULL when standalone), e.g. for
 * cfx_metadata_latest_blessed_model. */
cfx_metadata_t *cfx_component_store(cfx_component_run_t *run);

/* A new run id: UTC time to the microsecond and the process id, so two
 * runs started at once by two processes never share one (out: >= 48 bytes). */
void cfx_component_new_run_id(char *out, size_t cap);

/* Hex SHA-256 of a file's contents (out: 65 bytes). */
int cfx_component_file_digest(const char *path, char out[65], cfx_error_t *err);
/* ExampleGen's input fingerprint of a file or of the regular files directly
 * in a directory: "split:<split>,num_files:N,total_bytes:B,xor_checksum:X,
 * sum_checksum:S" (X, S: XOR and sum of mtimes in whole seconds) into out
 * (cap bytes). */
int cfx_component_input_fingerprint(const char *path, const char *split,
                                    char *out, size_t cap, cfx_error_t *err);

/* --- one interface per component -------------------------------------------
 *
 * Each component library exports one cfx_component_spec_t (data/components.h,
 * transform/tft_component.h, train/trainer_component.h,
 * eval/evaluator_component.h, push/infravalidator_component.h,
 * push/pusher_component.h). Its exec reads its settings only from the exec
 * properties and its inputs only from the run, so the two callers run the
 * very same code:
 *
 *   `cfx run` (pipeline/runner.h): the properties are the component's
 *   section of the pipeline config, file paths resolved against the config
 *   file, with a "<key>_sha256" beside each file; inputs are earlier
 *   outputs; outputs go to `<root>/<Component>/<key>/<id>/`.
 *
 *   a standalone command (cli/cmd_*.c): the properties are built from its
 *   flags, inputs are the paths given, outputs go to --output:
 *
 *     json_t *props = json_pack("{s:i}", "infer_feature_shape", 1);
 *     cfx_component_input_t in[] = {{"statistics", 0, stats_dir, stats_dir}};
 *     cfx_component_output_path_t out[] = {{"schema", output_dir}};
 *     cfx_component_cli_t cli = {.root = root, .props = props, .inputs = in,
 *                                .n_inputs = 1, .outputs = out, .n_outputs =
 * 1}; cfx_component_run_t run; char summary[512]; int rc =
 * cfx_component_run_cli(&run, &cfx_schemagen_component, &cli, summary, sizeof
 * summary, &err);
 *     ... print, using cfx_component_output_uri(&run, "schema") ...
 *     cfx_component_run_free(&run);
 *     json_decref(props);
 */

#define CFX_COMPONENT_SPEC_MAX_CHANNELS 6
#define CFX_COMPONENT_SPEC_MAX_PATHS 4

/* An input or output of a component: its key and the artifact type. */
typedef struct cfx_component_channel {
    const char *key;  /* NULL ends a list */
    const char *type; /* "Examples", "Schema", ... */
    int optional;     /* inputs: the component runs without it */
} cfx_component_channel_t;

/* What an exec or a gate gets. */
typedef struct cfx_component_ctx {
    cfx_component_run_t *run; /* begun: inputs, output dirs, properties */
    json_t *props; /* the exec properties (a JSON object), borrowed */
    /* Where the settings came from, for error messages: the pipeline config
     * file; NULL: the command line. */
    const char *origin;
    FILE *progress; /* progress and warnings for a person; NULL: quiet */
    /* NULL, or the component's detailed result (its type is named beside
     * the spec), filled by exec also when it fails; the caller owns it. */
    void *result;
} cfx_component_ctx_t;

typedef struct cfx_component_spec {
    const char *name; /* execution type, node and output folder name */
    cfx_component_channel_t inputs[CFX_COMPONENT_SPEC_MAX_CHANNELS];
    cfx_component_channel_t outputs[CFX_COMPONENT_SPEC_MAX_CHANNELS];
    /* Settings that name files (resolved against the pipeline config's
     * folder by the runner; as given on a command line). NULL ends. */
    const char *paths[CFX_COMPONENT_SPEC_MAX_PATHS];
    /* Adds to props what a recorded run keys its cache on beyond the
     * settings (ExampleGen: its input's fingerprint); called before the
     * run begins, only when it is recorded. May be NULL. */
    int (*prepare)(json_t *props, const cfx_component_input_t *inputs,
                   size_t n_inputs, cfx_error_t *err);
    /* The work: each output into cfx_component_output_dir(ctx->run, key),
     * its properties set; summary gets one line for a person. Returns 0 or
     * a negative code with err set. NULL: not available in this build. */
    int (*exec)(cfx_component_ctx_t *ctx, char *summary, size_t cap,
                cfx_error_t *err);
    /* After a pipeline step, run or cached: 0 goes on; a negative code
     * (CFX_EANOMALIES, CFX_ENOTBLESSED) with reason filled stops the
     * rollout. Reads only the store and the properties, so it answers the
     * same for a cached step. May be NULL. */
    int (*gate)(cfx_component_ctx_t *ctx, char *reason, size_t cap,
                cfx_error_t *err);
} cfx_component_spec_t;

/* Settings of ctx->props. A string (NULL when absent or not a string); a
 * path (NULL also when empty); an integer (def unless a JSON integer); a
 * number (def unless a JSON number). */
const char *cfx_component_prop_string(const cfx_component_ctx_t *ctx,
                                      const char *name);
const char *cfx_component_prop_path(const cfx_component_ctx_t *ctx,
                                    const char *name);
long long cfx_component_prop_int(const cfx_component_ctx_t *ctx,
                                 const char *name, long long def);
double cfx_component_prop_number(const cfx_component_ctx_t *ctx,
                                 const char *name, double def);

/* For execs: cfx_component_output_dir of ctx->run, with an error naming
 * the output when it has no place (a standalone run not given one). */
const char *cfx_component_exec_output_dir(cfx_component_ctx_t *ctx,
                                          const char *key, cfx_error_t *err);

/* Where a standalone run puts output key: path (--output) or, with NULL,
 * `<root>/<Component>/<key>/<id>/`. */
typedef struct cfx_component_output_path {
    const char *key;
    const char *path;
} cfx_component_output_path_t;

/* A standalone command's run of a spec. */
typedef struct cfx_component_cli {
    const char *root; /* --pipeline-root; NULL: nothing recorded */
    json_t *props;    /* the settings (borrowed; spec->prepare may add) */
    const cfx_component_input_t *inputs;
    size_t n_inputs;
    const cfx_component_output_path_t *outputs;
    size_t n_outputs;
    FILE *progress; /* as cfx_component_ctx_t */
    void *result;   /* as cfx_component_ctx_t */
} cfx_component_cli_t;

/* Begins the run (recorded under cli->root when set), places the outputs,
 * calls spec->exec and finishes (ok when exec succeeded). Returns exec's
 * code, or the error of beginning (run->execution_id is then 0) or of
 * recording the outputs. Free run with cfx_component_run_free afterwards
 * whatever happens (output uris stay readable until then). */
int cfx_component_run_cli(cfx_component_run_t *run,
                          const cfx_component_spec_t *spec,
                          const cfx_component_cli_t *cli, char *summary,
                          size_t cap, cfx_error_t *err);

#endif
