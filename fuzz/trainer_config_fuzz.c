/*
 * trainer_config_fuzz.c: libFuzzer target for trainer.json
 * (train/trainer_config.c), which reads a path: each input is written to
 * one temporary file first.
 *
 * Properties: no crash on any input; a refusal says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/trainer_config.h"

static char path[64];

static void write_input(const uint8_t *data, size_t size) {
    if (!path[0]) {
        strcpy(path, "/tmp/cfx-fuzz-trainer-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    write_input(data, size);
    cfx_trainer_config_t cfg;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_trainer_config_load(path, &cfg, &err) != 0 && !err.msg[0])
        abort();
    return 0;
}
