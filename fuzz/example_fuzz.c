/*
 * example_fuzz.c: libFuzzer target for the tf.Example decoder and encoder.
 *
 * Anything that decodes must re-encode, and the encoding must be a fixed
 * point: decode(encode(x)) encodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/example.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_example_t ex, ex2;
    cfx_example_init(&ex);
    cfx_example_init(&ex2);
    cfx_buf_t a, b;
    cfx_buf_init(&a);
    cfx_buf_init(&b);
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_example_decode(&ex, data, size, &err) == 0) {
        for (size_t i = 0; i < ex.count; i++)
            (void)cfx_example_find(&ex, ex.features[i].name);
        if (cfx_example_encode(&ex, &a) != 0)
            abort();
        if (cfx_example_decode(&ex2, a.data, a.len, &err) != 0)
            abort();
        if (ex2.count != ex.count)
            abort();
        if (cfx_example_encode(&ex2, &b) != 0)
            abort();
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            abort();
        cfx_example_sort(&ex2);
        for (size_t i = 0; i < ex.count; i++)
            if (cfx_example_find(&ex2, ex.features[i].name) == NULL)
                abort();
    } else if (err.msg[0] == '\0') {
        abort();
    }
    cfx_buf_free(&a);
    cfx_buf_free(&b);
    cfx_example_free(&ex);
    cfx_example_free(&ex2);
    return 0;
}
