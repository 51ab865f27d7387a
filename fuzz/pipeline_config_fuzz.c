/*
 * pipeline_config_fuzz.c: libFuzzer target for pipeline.json
 * (pipeline/pipeline_config.c), which reads a path: each input is written
 * to one temporary file first.
 *
 * Properties: no crash or leak on any input; a refusal says why and
 * leaves the config zeroed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "input_file.h"

#include "pipeline/pipeline_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(data, size);
    cfx_pipeline_config_t cfg;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_pipeline_config_load(&cfg, path, &err) != 0) {
        if (!err.msg[0] || cfg.components)
            abort();
        return 0;
    }
    cfx_pipeline_config_free(&cfg);
    return 0;
}
