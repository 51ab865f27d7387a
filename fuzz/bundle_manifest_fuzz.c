/*
 * bundle_manifest_fuzz.c: libFuzzer target for a bundle's manifest.json
 * (model/bundle.c), the first file cfx-serve reads of a version pushed to
 * its model directory. The loader takes a directory: each input is
 * written as manifest.json into one temporary directory that holds
 * nothing else, so a load goes as far as the manifest lets it.
 *
 * Properties: no crash or leak on any input; a refusal says why; nothing
 * loads (the files a manifest must list are absent).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bundle.h"

static char dir[64];
static char path[96];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        strcpy(dir, "/tmp/cfx-fuzz-bundle-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/manifest.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    cfx_bundle_t *b = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_bundle_load(dir, &b, &err);
    if (rc == 0 || b || !err.msg[0])
        abort();
    return 0;
}
