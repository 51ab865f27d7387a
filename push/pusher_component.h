/*
 * pusher_component.h: the Pusher component as a spec (mlmd/component.h),
 * run alike by `cfx run` and `cfx push`.
 *
 * Inputs: model, model_blessing, infra_blessing (optional). Setting:
 * push_destination (the serving base path, required). The exec refuses,
 * as TFX's Pusher does, a model whose blessings are not positive, that a
 * blessing's model.json does not name, or (in a recorded run) whose
 * blessing artifacts the store records for another model: the execution
 * then completes with a PushedModel saying pushed = 0 and nothing reaches
 * the serving folder; the gate stops the rollout there. Otherwise the next
 * version is published (push/pusher.h) and recorded as the PushedModel
 * (pushed = 1, pushed_destination, pushed_version).
 *
 * Threads: the spec is read-only; one exec per run.
 */
#ifndef CFX_PUSH_PUSHER_COMPONENT_H
#define CFX_PUSH_PUSHER_COMPONENT_H

#include <stdint.h>

#include "mlmd/component.h"

/* ctx->result of the Pusher, when not NULL. */
typedef struct cfx_pusher_outcome {
    int pushed;             /* 1 published, 0 refused */
    int64_t version;        /* when pushed */
    char destination[4096]; /* when pushed: <push_destination>/<version> */
    char refusal[4400];     /* when refused: why, for a person */
} cfx_pusher_outcome_t;

extern const cfx_component_spec_t cfx_pusher_component;

/* Checks the blessing folders alone (no store): 1 when the model must not
 * be pushed, with refusal (cap bytes) saying why; 0 when both blessings
 * (infra may be NULL) are positive and name model_dir; a negative code
 * when model_dir's identity cannot be read. */
int cfx_pusher_refusal(const char *model_dir, const char *blessing,
                       const char *infra, char *refusal, size_t cap,
                       cfx_error_t *err);

#endif
