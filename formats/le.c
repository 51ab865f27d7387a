/* le.c: appending little-endian fields to a buffer and reading them back
 * with bounds checks (saved pipeline state). */
#include "formats/le.h"

#include <string.h>

int cfx_le_append_u64(cfx_buf_t *b, uint64_t v) {
    uint8_t x[8];
    cfx_le_put64(x, v);
    return cfx_buf_append(b, x, 8);
}

int cfx_le_append_f64(cfx_buf_t *b, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    return cfx_le_append_u64(b, v);
}

void cfx_le_reader_init(cfx_le_reader_t *r, const uint8_t *p, size_t n) {
    r->p = p;
    r->n = n;
    r->off = 0;
    r->bad = 0;
}

uint64_t cfx_le_read_u64(cfx_le_reader_t *r) {
    if (r->bad || r->n - r->off < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = cfx_le_get64(r->p + r->off);
    r->off += 8;
    return v;
}

double cfx_le_read_f64(cfx_le_reader_t *r) {
    uint64_t v = cfx_le_read_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

const uint8_t *cfx_le_read_bytes(cfx_le_reader_t *r, uint64_t n) {
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += (size_t)n;
    return p;
}
