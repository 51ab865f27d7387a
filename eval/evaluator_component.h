/*
 * evaluator_component.h: the Evaluator component as a spec
 * (mlmd/component.h), run alike by `cfx run` and `cfx evaluate`.
 *
 * Inputs: examples (raw; Split-eval is read), model (the candidate),
 * baseline_model (optional). Settings: config (the EvalConfig JSON,
 * required). Outputs: evaluation, blessing (with TFX's blessed,
 * current_model[_id] and baseline_model[_id] properties; blessed is 0 when
 * no threshold is configured). The gate stops the rollout unless the
 * blessing says blessed = 1. ctx->result, when not NULL: a
 * cfx_evaluator_result_t.
 *
 * Threads: the spec is read-only; one exec per run.
 */
#ifndef CFX_EVAL_EVALUATOR_COMPONENT_H
#define CFX_EVAL_EVALUATOR_COMPONENT_H

#include "mlmd/component.h"

extern const cfx_component_spec_t cfx_evaluator_component;

/* The gate on TFX's blessing convention shared with the InfraValidator:
 * custom `blessed` = 1 on output "blessing" goes on; otherwise
 * CFX_ENOTBLESSED with reason "model <what> (<blessing uri>)" ("has no
 * blessing" when the property is absent). */
int cfx_blessing_gate(cfx_component_ctx_t *ctx, const char *what, char *reason,
                      size_t cap);

#endif
