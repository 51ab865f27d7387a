/* buf.c: growable byte buffer. Doubling growth; every failure is CFX_ENOMEM. */
#include "formats/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/err.h"

void cfx_buf_init(cfx_buf_t *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cfx_buf_free(cfx_buf_t *b) {
    free(b->data);
    cfx_buf_init(b);
}

int cfx_buf_reserve(cfx_buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return CFX_ENOMEM;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return CFX_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int cfx_buf_append(cfx_buf_t *b, const void *p, size_t n) {
    if (n == 0)
        return 0;
    int rc = cfx_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int cfx_buf_putc(cfx_buf_t *b, uint8_t c) {
    int rc = cfx_buf_reserve(b, 1);
    if (rc)
        return rc;
    b->data[b->len++] = c;
    return 0;
}

int cfx_buf_printf(cfx_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CFX_EINVAL;
    int rc = cfx_buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int cfx_buf_cstr(cfx_buf_t *b) {
    int rc = cfx_buf_reserve(b, 1);
    if (rc)
        return rc;
    b->data[b->len] = '\0';
    return 0;
}

int cfx_buf_varint(cfx_buf_t *b, uint64_t v) {
    int rc = cfx_buf_reserve(b, 10);
    if (rc)
        return rc;
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
    return 0;
}

size_t cfx_buf_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

int cfx_buf_put_utf8(cfx_buf_t *b, uint32_t cp) {
    uint8_t u[4];
    return cfx_buf_append(b, u, cfx_buf_utf8_encode(cp, u));
}
