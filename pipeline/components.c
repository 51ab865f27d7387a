/*
 * components.c: the table of `cfx run` (see components.h). Each step is the
 * spec its library exports and its inputs' producers; the Pusher also gets
 * its push_destination from the config's serving_dir and model_name.
 */
#include "pipeline/components.h"

#include <limits.h>
#include <stdio.h>

#include "data/components.h"
#include "eval/evaluator_component.h"
#include "push/infravalidator_component.h"
#include "push/pusher_component.h"
#include "train/trainer_component.h"
#include "transform/tft_component.h"

/* <serving_dir>/<model_name>: where the Pusher publishes versions. */
static int pusher_props(const cfx_pipeline_config_t *cfg, json_t *props,
                        cfx_error_t *err) {
    char base[PATH_MAX];
    if (!cfg->serving_dir)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: serving_dir is required to push", cfg->path);
    int n =
        snprintf(base, sizeof base, "%s/%s", cfg->serving_dir, cfg->model_name);
    if (n < 0 || (size_t)n >= sizeof base)
        return cfx_error_set(err, CFX_ETOOBIG, "%s: serving path too long",
                             cfg->path);
    if (json_object_set_new(props, "push_destination", json_string(base)))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

const cfx_runner_step_t cfx_pipeline_steps[] = {
    {&cfx_examplegen_component,
     {{"input", CFX_RUNNER_FROM_DATA, NULL, 0}},
     NULL},
    {&cfx_statisticsgen_component,
     {{"examples", "ExampleGen", "examples", 0}},
     NULL},
    {&cfx_schemagen_component,
     {{"statistics", "StatisticsGen", "statistics", 0}},
     NULL},
    {&cfx_example_validator_component,
     {{"statistics", "StatisticsGen", "statistics", 0},
      {"schema", "SchemaGen", "schema", 0}},
     NULL},
    {&cfx_transform_component,
     {{"examples", "ExampleGen", "examples", 0},
      {"schema", "SchemaGen", "schema", 0}},
     NULL},
    {&cfx_trainer_component,
     {{"examples", "Transform", "transformed_examples", 0},
      {"transform_graph", "Transform", "transform_graph", 0},
      {"raw_examples", "ExampleGen", "examples", 0}},
     NULL},
    {&cfx_evaluator_component,
     {{"examples", "ExampleGen", "examples", 0},
      {"model", "Trainer", "model", 0},
      {"baseline_model", CFX_RUNNER_FROM_BLESSED, NULL, 1}},
     NULL},
    {&cfx_infravalidator_component, {{"model", "Trainer", "model", 0}}, NULL},
    {&cfx_pusher_component,
     {{"model", "Trainer", "model", 0},
      {"model_blessing", "Evaluator", "blessing", 0},
      {"infra_blessing", "InfraValidator", "blessing", 1}},
     pusher_props},
};
const size_t cfx_pipeline_num_steps =
    sizeof cfx_pipeline_steps / sizeof cfx_pipeline_steps[0];
