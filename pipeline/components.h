/*
 * components.h: the pipeline `cfx run` runs — every component's spec in
 * TFX's order (ExampleGen, StatisticsGen, SchemaGen, ExampleValidator,
 * Transform, Trainer, Evaluator, InfraValidator, Pusher) with where each
 * input comes from (docs/pipeline.md). The one table of steps; the runner
 * (runner.h) runs it.
 *
 * Threads: read-only.
 */
#ifndef CFX_PIPELINE_COMPONENTS_H
#define CFX_PIPELINE_COMPONENTS_H

#include <stddef.h>

#include "pipeline/runner.h"

extern const cfx_runner_step_t cfx_pipeline_steps[];
extern const size_t cfx_pipeline_num_steps;

#endif
