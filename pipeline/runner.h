/*
 * runner.h: `cfx run` — runs a pipeline's components in order, each
 * recorded in the metadata store of the pipeline root (component.h), each
 * reused from the cache when its inputs and configuration are unchanged.
 *
 * A pipeline is a table of steps. A step names its component, where each
 * input comes from (an output of an earlier step, the config's data, or the
 * latest blessed model), and three small functions: extra exec properties,
 * the work itself (calling the component's library function with the
 * output directories of the run), and a gate that can stop the rollout
 * after the step (anomalies of severity ERROR, a model not blessed). The
 * gate reads only what the store holds, so it answers the same for a step
 * served from the cache.
 *
 * The steps of the components in pipeline/ are cfx_runner_data_steps;
 * the evaluator, infra validator and pusher live in libraries above this
 * one and are appended by the caller (cli/cmd_run.c).
 *
 * Threads: one run per thread; the store handle is the run's own.
 */
#ifndef CFX_PIPELINE_RUNNER_H
#define CFX_PIPELINE_RUNNER_H

#include <stddef.h>
#include <stdio.h>

#include "formats/err.h"
#include "mlmd/component.h"
#include "pipeline/pipeline_config.h"

#define CFX_RUNNER_MAX_STEPS 16
#define CFX_RUNNER_MAX_STEP_INPUTS 6

/* Input sources other than an earlier step's output. */
#define CFX_RUNNER_FROM_DATA "@data"                   /* the config's data */
/* The latest blessed model other than this step's "model" input (list
 * "model" first): TFX's LatestBlessedModelStrategy. */
#define CFX_RUNNER_FROM_BLESSED "@latest_blessed_model"

typedef struct cfx_runner cfx_runner_t;

typedef struct cfx_runner_input_spec {
    const char *key;       /* input key of this step ("examples") */
    const char *component; /* producing step, or CFX_RUNNER_FROM_* */
    const char *output;    /* its output key */
    int optional;          /* absent → the step runs without it */
} cfx_runner_input_spec_t;

typedef struct cfx_runner_step {
    const char *component;
    cfx_runner_input_spec_t inputs[CFX_RUNNER_MAX_STEP_INPUTS];
    /* Adds exec properties to props (a json_t object holding the
     * component's config section, with a "<key>_sha256" beside every member
     * that names a file). May be NULL. */
    int (*props)(cfx_runner_t *r, void *props, cfx_error_t *err);
    /* The work: write each output into cfx_component_output_dir(run, key)
     * and set its properties; fill summary (one line for a person). NULL:
     * the component is not in this build (the run stops there). */
    int (*exec)(cfx_runner_t *r, cfx_component_run_t *run, char *summary,
                size_t cap, cfx_error_t *err);
    /* After the step, run or cached: returns 0 to go on, or a negative
     * code (CFX_EANOMALIES, CFX_ENOTBLESSED) with reason filled to stop
     * the rollout. May be NULL. */
    int (*gate)(cfx_runner_t *r, cfx_component_run_t *run, char *reason,
                size_t cap, cfx_error_t *err);
} cfx_runner_step_t;

extern const cfx_runner_step_t cfx_runner_data_steps[];
extern const size_t cfx_runner_num_data_steps;

typedef struct cfx_runner_options {
    FILE *log;        /* progress and summaries; NULL: stdout */
    int no_cache;     /* run every step even when a cached result exists */
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
int cfx_runner_run(const cfx_pipeline_config_t *cfg, const cfx_runner_step_t *steps,
                   size_t num_steps, const cfx_runner_options_t *opts,
                   cfx_runner_result_t *res, cfx_error_t *err);

/* --- for step functions --------------------------------------------------- */
const cfx_pipeline_config_t *cfx_runner_config(const cfx_runner_t *r);
cfx_metadata_t *cfx_runner_store(cfx_runner_t *r);
/* The uri of the run's input with this key, or NULL when absent. */
const char *cfx_runner_input_uri(const cfx_component_run_t *run, const char *key);
/* The artifact id of the run's input with this key, or 0. */
int64_t cfx_runner_input_id(const cfx_component_run_t *run, const char *key);
/* Moves directory src onto dst (an empty directory made by output_dir). */
int cfx_runner_move_dir(const char *src, const char *dst, cfx_error_t *err);
/* A custom int property of an output of run; def when absent. */
long long cfx_runner_output_int(cfx_runner_t *r, const cfx_component_run_t *run,
                                const char *key, const char *name, long long def);

#endif
