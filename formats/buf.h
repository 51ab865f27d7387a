/*
 * buf.h: a growable byte buffer (the one used for encoding everything:
 * protobuf wire bytes, JSON, TFRecord frames).
 *
 * Caller-owned struct: cfx_buf_init / cfx_buf_free. Not thread-safe.
 */
#ifndef CFX_FORMATS_BUF_H
#define CFX_FORMATS_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct cfx_buf {
    uint8_t *data; /* owned; may be NULL while len == 0 */
    size_t len;
    size_t cap;
} cfx_buf_t;

void cfx_buf_init(cfx_buf_t *b);
void cfx_buf_free(cfx_buf_t *b);
static inline void cfx_buf_reset(cfx_buf_t *b) {
    b->len = 0;
}
/* Ensures room for `extra` more bytes; 0 or CFX_ENOMEM. */
int cfx_buf_reserve(cfx_buf_t *b, size_t extra);
int cfx_buf_append(cfx_buf_t *b, const void *p, size_t n);
int cfx_buf_putc(cfx_buf_t *b, uint8_t c);
int cfx_buf_printf(cfx_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Keeps the data NUL-terminated (not counted in len); for text users. */
int cfx_buf_cstr(cfx_buf_t *b);
/* Protobuf base-128 varint. */
int cfx_buf_varint(cfx_buf_t *b, uint64_t v);
/* The UTF-8 encoding of code point cp (at most 0x10FFFF; not checked) into
 * out; returns its length, 1 to 4. */
size_t cfx_buf_utf8_encode(uint32_t cp, uint8_t out[4]);
/* Appends the UTF-8 encoding of code point cp (as cfx_buf_utf8_encode). */
int cfx_buf_put_utf8(cfx_buf_t *b, uint32_t cp);

#endif
