/*
 * trainer_component.h: the Trainer component as a spec (mlmd/component.h),
 * run alike by `cfx run` and `cfx train`.
 *
 * Inputs: examples (transformed), transform_graph, raw_examples (optional:
 * the warm-up rows of the bundle). Settings: config (the trainer JSON;
 * absent or empty: the defaults). Outputs: model (the bundle), model_run
 * (TensorBoard events, metrics.csv). Progress goes to ctx->progress.
 * ctx->result, when not NULL: a cfx_train_result_t.
 *
 * Threads: the spec is read-only; one exec per run.
 */
#ifndef CFX_TRAIN_TRAINER_COMPONENT_H
#define CFX_TRAIN_TRAINER_COMPONENT_H

#include "mlmd/component.h"

extern const cfx_component_spec_t cfx_trainer_component;

#endif
