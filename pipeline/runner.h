/*
 * runner.h: `cfx run` — runs a pipeline's components in order, each
 * recorded in the metadata store of the pipeline root (component.h), each
 * reused from the cache when its inputs and configuration are unchanged.
 *
 * A pipeline is a table of steps (pipeline/components.h). A step is a
 * component's spec (mlmd/component.h: its work and its gate, the same code
 * its standalone command runs), where each input comes from (an output of
 * an earlier step, the config's data, or the latest blessed model) and,
 * when the component needs a pipeline-wide setting, a function adding it to
 * the exec properties. The exec properties are the component's section of
 * the config with its file settings (spec->paths) resolved against the
 * config file and a "<key>_sha256" beside every member naming a file. The
 * gate (anomalies of severity ERROR, a model not blessed) reads only what
 * the store holds, so it answers the same for a step served from the cache.
 *
 * Before the first step the runner recovers what killed runs left in the
 * store (mlmd/recovery.h): executions still RUNNING whose process is gone
 * become FAILED and their partial outputs are removed, one line each in the
 * log. A run may share its pipeline root with other runs going on at the
 * same time (docs/pipeline.md, Concurrency and crashes).
 *
 * Threads: one run per thread; the store handle is the run's own.
 */
#ifndef CFX_PIPELINE_RUNNER_H
#define CFX_PIPELINE_RUNNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "formats/err.h"
#include "mlmd/component.h"
#include "pipeline/pipeline_config.h"

#define CFX_RUNNER_MAX_STEPS 16
#define CFX_RUNNER_MAX_STEP_INPUTS 6

/* Input sources other than an earlier step's output. */
#define CFX_RUNNER_FROM_DATA "@data" /* the config's data */
/* The latest blessed model other than this step's "model" input (list
 * "model" first): TFX's LatestBlessedModelStrategy. */
#define CFX_RUNNER_FROM_BLESSED "@latest_blessed_model"

typedef struct cfx_runner_input_spec {
    const char *key;       /* input key of this step ("examples") */
    const char *component; /* producing step, or CFX_RUNNER_FROM_* */
    const char *output;    /* its output key */
    int optional;          /* absent → the step runs without it */
} cfx_runner_input_spec_t;

typedef struct cfx_runner_step {
    const cfx_component_spec_t *spec; /* its exec NULL: not in this build */
    cfx_runner_input_spec_t inputs[CFX_RUNNER_MAX_STEP_INPUTS];
    /* Adds pipeline-wide settings to props (a json_t object) before the
     * run begins (the Pusher's push_destination). May be NULL. */
    int (*props)(const cfx_pipeline_config_t *cfg, json_t *props,
                 cfx_error_t *err);
} cfx_runner_step_t;

typedef struct cfx_runner_options {
    FILE *log;          /* progress and summaries; NULL: stdout */
    int no_cache;       /* run every step even when a cached result exists */
    const char *run_id; /* NULL: a new time-based id */
} cfx_runner_options_t;

typedef struct cfx_runner_result {
    size_t steps_run, steps_cached, steps_skipped;
    int stopped;           /* a gate stopped the rollout */
    char stop_reason[512]; /* set when stopped */
    double seconds;        /* wall time of the whole run */
} cfx_runner_result_t;

/* Runs steps in order. Returns 0 when every step ran or was cached, the
 * gate's code (CFX_EANOMALIES, CFX_ENOTBLESSED) when the rollout stopped
 * (result says why; err too), or the failing step's error, prefixed with
 * its component. res may be NULL. */
int cfx_runner_run(const cfx_pipeline_config_t *cfg,
                   const cfx_runner_step_t *steps, size_t num_steps,
                   const cfx_runner_options_t *opts, cfx_runner_result_t *res,
                   cfx_error_t *err);

#endif
