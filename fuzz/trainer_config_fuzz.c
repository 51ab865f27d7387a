/*
 * trainer_config_fuzz.c: libFuzzer target for trainer.json
 * (train/trainer_config.c), which reads a path: each input is written to
 * one temporary file first.
 *
 * Properties: no crash on any input; a refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "input_file.h"

#include "train/trainer_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_file(data, size);
    cfx_trainer_config_t cfg;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_trainer_config_load(path, &cfg, &err) != 0 && !err.msg[0])
        abort();
    return 0;
}
