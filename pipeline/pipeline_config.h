/*
 * pipeline_config.h: the pipeline config file of `cfx run` (JSON; see
 * docs/pipeline.md and examples/taxi/pipeline.json).
 *
 *   {
 *     "pipeline_name": "taxi",
 *     "pipeline_root": "../../out/pipeline/taxi",
 *     "data": "data.csv",
 *     "serving_dir": "../../out/serving",
 *     "model_name": "taxi",
 *     "metadata": "postgresql://cfx@db/metadata",   (optional)
 *     "components": { "ExampleGen": {...}, "Transform": {"spec":
 * "transform.json"}, ... }
 *   }
 *
 * Relative paths are relative to the directory of the config file and are
 * resolved to absolute ones at load time, so the run does not depend on the
 * working directory. Each "components" member is that component's settings
 * (see docs/pipeline.md); a component whose member is `false` is skipped.
 * An unknown member, component or setting is refused with the closest
 * valid name ("did you mean 'stop_on_anomalies'?").
 *
 * Threads: a loaded config is read-only; any thread may read it.
 */
#ifndef CFX_PIPELINE_PIPELINE_CONFIG_H
#define CFX_PIPELINE_PIPELINE_CONFIG_H

#include <stddef.h>

#include "formats/err.h"

/* Largest config file accepted. */
#define CFX_PIPELINE_CONFIG_MAX_BYTES (1u << 20)

typedef struct cfx_pipeline_config {
    char *path;          /* absolute path of the config file */
    char *dir;           /* its directory */
    char *pipeline_name; /* default "pipeline" */
    char *pipeline_root; /* absolute */
    char *data;          /* absolute: a CSV file or a directory of them */
    char *serving_dir;   /* absolute; may be NULL (then nothing is pushed) */
    char *model_name;    /* default: pipeline_name */
    /* the metadata store (a postgresql:// URL, or an absolute file path);
     * NULL: <pipeline_root>/metadata.sqlite (docs/metadata.md) */
    char *metadata;
    void *components; /* json_t object (may be empty), owned */
} cfx_pipeline_config_t;

/* Loads and validates path; on failure cfg is left zeroed. Errors name the
 * file and the member ("pipeline.json: member 'data': expected a string"). */
int cfx_pipeline_config_load(cfx_pipeline_config_t *cfg, const char *path,
                             cfx_error_t *err);
void cfx_pipeline_config_free(cfx_pipeline_config_t *cfg);

/* The pipeline root a command works on: the pipeline_root of the config file
 * when config is set (loaded into cfg, which the caller frees), else root
 * (--pipeline-root, or $CFX_PIPELINE_ROOT). *out borrows from cfg or root.
 * A config's "metadata" becomes the process's default metadata location
 * (cfx_metadata_set_default_location). */
int cfx_pipeline_root_resolve(cfx_pipeline_config_t *cfg, const char *root,
                              const char *config, const char **out,
                              cfx_error_t *err);

/* The settings a component's section may hold (a NULL-terminated list),
 * NULL for a name that is no component of `cfx run`. Loading refuses any
 * other member of a section, naming the closest valid one. */
const char *const *cfx_pipeline_config_settings(const char *component);

/* The settings object of a component (a borrowed json_t *), NULL when
 * absent; *disabled is set when the member is `false`. */
void *cfx_pipeline_config_component(const cfx_pipeline_config_t *cfg,
                                    const char *component, int *disabled);

/* A string setting of a component, or NULL. */
const char *cfx_pipeline_config_string(const cfx_pipeline_config_t *cfg,
                                       const char *component, const char *key);
/* An integer setting of a component, or def. */
long long cfx_pipeline_config_int(const cfx_pipeline_config_t *cfg,
                                  const char *component, const char *key,
                                  long long def);
/* A path setting resolved against the config's directory into out (cap
 * bytes); returns 1 when set, 0 when absent, negative on error. */
int cfx_pipeline_config_path(const cfx_pipeline_config_t *cfg,
                             const char *component, const char *key, char *out,
                             size_t cap, cfx_error_t *err);

/* Resolves rel against the config's directory (absolute paths pass). */
int cfx_pipeline_config_resolve(const cfx_pipeline_config_t *cfg,
                                const char *rel, char *out, size_t cap,
                                cfx_error_t *err);

#endif
