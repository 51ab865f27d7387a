/*
 * eval_config_fuzz.c: libFuzzer target for the Evaluator's config
 * (eval.json, eval/eval_config.c).
 *
 * Properties: no crash on any input; a refusal says why; what parses stays
 * within the config's fixed bounds and prints back as JSON that parses to
 * the same counts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_eval_config_t c, d;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_eval_config_parse((const char *)data, size, "eval.json", &c,
                              &err) != 0) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    if (c.num_slicing_specs > CFX_EVAL_MAX_SLICING_SPECS ||
        c.num_metrics > CFX_EVAL_MAX_METRICS ||
        c.num_thresholds > CFX_EVAL_MAX_METRICS)
        abort();
    char *json = cfx_eval_config_to_json(&c);
    if (json) {
        if (cfx_eval_config_parse(json, strlen(json), "eval.json (printed)", &d,
                                  &err) != 0 ||
            d.num_slicing_specs != c.num_slicing_specs ||
            d.num_metrics != c.num_metrics)
            abort();
        free(json);
    }
    return 0;
}
