/*
 * tft_spec_fuzz.c: libFuzzer target for the Transform spec (transform.json,
 * transform/tft_spec.c).
 *
 * Properties: no crash or leak on any input; a refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "transform/tft_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_tft_spec_t spec;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_tft_spec_parse((const char *)data, size, "transform.json",
                                &spec, &err);
    if (rc != 0) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    cfx_tft_spec_free(&spec);
    return 0;
}
