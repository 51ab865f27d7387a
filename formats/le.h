/*
 * le.h: little-endian integers and doubles in byte buffers, the byte order of
 * TFRecord framing and of cfx's own saved state (statistics, quantiles).
 *
 * The byte helpers are inline (TFRecord framing calls them per record). The
 * reader is a cursor over a caller-owned span: reading past the end sets
 * `bad` and yields zeros/NULL from then on, so a loader reads a whole group
 * of fields and checks `bad` once.
 *
 * Reentrant; a reader belongs to one thread at a time.
 */
#ifndef CFX_FORMATS_LE_H
#define CFX_FORMATS_LE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"

static inline uint64_t cfx_le_get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint32_t cfx_le_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void cfx_le_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cfx_le_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Append 8 bytes to b; 0 or CFX_ENOMEM. A double goes as its IEEE-754 bits. */
int cfx_le_append_u64(cfx_buf_t *b, uint64_t v);
int cfx_le_append_f64(cfx_buf_t *b, double d);

/* A bounds-checked cursor over p[0..n); does not own p. */
typedef struct cfx_le_reader {
    const uint8_t *p;
    size_t n, off;
    int bad; /* set once a read ran past n; sticky */
} cfx_le_reader_t;

void cfx_le_reader_init(cfx_le_reader_t *r, const uint8_t *p, size_t n);
uint64_t cfx_le_read_u64(cfx_le_reader_t *r);
double cfx_le_read_f64(cfx_le_reader_t *r);
/* The next n bytes (pointing into the span), or NULL when fewer are left. */
const uint8_t *cfx_le_read_bytes(cfx_le_reader_t *r, uint64_t n);

#endif
