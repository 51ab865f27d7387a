/*
 * infravalidator_component.h: the InfraValidator component as a spec
 * (mlmd/component.h), run alike by `cfx run` and `cfx infravalidate`.
 *
 * Input: model. Settings: serve_binary (absent: $CFX_SERVE, else the
 * cfx-serve beside the running executable), num_requests, load_timeout_s,
 * load_check ("p99<50ms,errors<=0"), load_seconds (0, 3600],
 * load_concurrency 1..1024 (the last two need load_check); a bad setting is
 * a configuration error, not a verdict on the model. Output: blessing (an
 * InfraBlessing with blessed, current_model, current_model_id). The gate
 * stops the rollout unless blessed = 1. ctx->result, when not NULL: a
 * cfx_infra_result_t.
 *
 * Threads: the spec is read-only; one exec per run.
 */
#ifndef CFX_PUSH_INFRAVALIDATOR_COMPONENT_H
#define CFX_PUSH_INFRAVALIDATOR_COMPONENT_H

#include "mlmd/component.h"

extern const cfx_component_spec_t cfx_infravalidator_component;

#endif
