/*
 * tft_component.h: the Transform component as a spec (mlmd/component.h),
 * run alike by `cfx run` and `cfx transform`.
 *
 * Inputs: examples (Split-<name>/), schema (optional: a Schema folder, or
 * the file a command line gave). Settings: spec (the transform spec JSON,
 * required), max_quantile_values (0: the default budget). Outputs:
 * transform_graph, transformed_examples (split_names recorded).
 * ctx->result, when not NULL: a cfx_tft_result_t (free it with
 * cfx_tft_result_free).
 *
 * Threads: the spec is read-only; one exec per run.
 */
#ifndef CFX_TRANSFORM_TFT_COMPONENT_H
#define CFX_TRANSFORM_TFT_COMPONENT_H

#include "mlmd/component.h"

extern const cfx_component_spec_t cfx_transform_component;

#endif
