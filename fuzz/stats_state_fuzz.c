/*
 * stats_state_fuzz.c: libFuzzer target for the statistics accumulator
 * state loader (cfx statistics --merge reads these files).
 *
 * Whatever loads must encode as statistics, save again, load again and
 * encode to the same bytes; whatever fails must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/statistics.h"

static void encode(const cfx_stats_acc_t *s, cfx_buf_t *out) {
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_stats_acc_encode(s, out, &err) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_stats_acc_t *s = NULL, *t = NULL;
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_stats_acc_load(NULL, data, size, &s, &err) < 0) {
        if (!err.msg[0] || s)
            abort();
        return 0;
    }
    cfx_buf_t a, b, st;
    cfx_buf_init(&a);
    cfx_buf_init(&b);
    cfx_buf_init(&st);
    encode(s, &a);
    if (cfx_stats_acc_save(s, &st, &err) < 0 ||
        cfx_stats_acc_load(NULL, st.data, st.len, &t, &err) < 0)
        abort();
    encode(t, &b);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    cfx_stats_acc_free(s);
    cfx_stats_acc_free(t);
    cfx_buf_free(&a);
    cfx_buf_free(&b);
    cfx_buf_free(&st);
    return 0;
}
