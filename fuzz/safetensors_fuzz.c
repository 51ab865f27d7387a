/*
 * safetensors_fuzz.c: libFuzzer target for the safetensors reader (the
 * bundle's weights file is input a server loads from a shared path).
 *
 * Any parse that succeeds must give tensors whose data lies inside the
 * block and whose counts match their shapes, and re-encoding it must parse
 * again to the same tensors; a failure must carry a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_safetensors_t *st = NULL, *again = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_safetensors_parse(data, size, "fuzz", &st, &err) != 0) {
        if (err.msg[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i < st->count; i++) {
        const cfx_st_tensor_t *t = &st->tensors[i];
        size_t c = 1;
        for (size_t d = 0; d < t->ndim; d++)
            c *= (size_t)t->shape[d];
        if (c != t->count)
            abort();
        volatile float sink = 0;
        for (size_t k = 0; k < t->count; k++)
            sink += t->data[k];
        (void)sink;
    }
    cfx_buf_t buf;
    cfx_buf_init(&buf);
    if (cfx_safetensors_encode(st->tensors, st->count, st->meta, st->nmeta,
                               &buf, &err) != 0)
        abort();
    if (cfx_safetensors_parse(buf.data, buf.len, "re-encoded", &again, &err) !=
        0)
        abort();
    if (again->count != st->count)
        abort();
    for (size_t i = 0; i < st->count; i++) {
        const cfx_st_tensor_t *a = &st->tensors[i];
        const cfx_st_tensor_t *b = cfx_safetensors_find(again, a->name);
        if (b == NULL || b->count != a->count ||
            (a->count &&
             memcmp(a->data, b->data, a->count * sizeof(float)) != 0))
            abort();
    }
    cfx_safetensors_free(again);
    cfx_buf_free(&buf);
    cfx_safetensors_free(st);
    return 0;
}
