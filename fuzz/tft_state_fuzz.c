/*
 * tft_state_fuzz.c: libFuzzer target for the transform analyzers' part
 * state (analyzers.state, which `cfx transform --merge` reads;
 * transform/tft.c).
 *
 * Properties: no crash, leak or unbounded allocation on any input; a
 * refusal says why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "transform/tft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_tft_part_state_check(data, size, &err) != 0 && !err.msg[0])
        abort();
    return 0;
}
