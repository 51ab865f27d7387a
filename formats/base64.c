/* base64.c: RFC 4648 base64 encode (standard) and decode (standard or
 * URL-safe, padding optional but exact when present: base64.h). */
#include "formats/base64.h"

#include <stdint.h>

static const char enc_tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cfx_base64_encoded_len(size_t n) {
    return (n + 2) / 3 * 4;
}

int cfx_base64_encode(const void *data, size_t n, cfx_buf_t *out) {
    if (n > (SIZE_MAX / 4) * 3 - 3)
        return CFX_ENOMEM;
    int rc = cfx_buf_reserve(out, cfx_base64_encoded_len(n));
    if (rc)
        return rc;
    const uint8_t *p = data;
    char *o = (char *)out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = enc_tab[v >> 18];
        *o++ = enc_tab[(v >> 12) & 63];
        *o++ = enc_tab[(v >> 6) & 63];
        *o++ = enc_tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = enc_tab[v >> 18];
        *o++ = enc_tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = enc_tab[v >> 18];
        *o++ = enc_tab[(v >> 12) & 63];
        *o++ = enc_tab[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len = (size_t)((uint8_t *)o - out->data);
    return 0;
}

static int dec_char(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int cfx_base64_decode(const char *s, size_t n, cfx_buf_t *out,
                      cfx_error_t *err) {
    /* Padding only at the end: at most two '=' completing a 4-char group. */
    size_t data_n = n;
    while (data_n > 0 && s[data_n - 1] == '=' && n - data_n < 2)
        data_n--;
    size_t pad = n - data_n;
    if (pad > 0 && n % 4 != 0)
        return cfx_error_set(err, CFX_EPARSE,
                             "base64: padding at offset %zu does not complete "
                             "a 4-character group",
                             data_n);
    if (data_n % 4 == 1)
        return cfx_error_set(err, CFX_EPARSE,
                             "base64: dangling character at offset %zu",
                             data_n - 1);
    int rc = cfx_buf_reserve(out, data_n / 4 * 3 + 2);
    if (rc)
        return rc;
    uint8_t *o = out->data + out->len;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < data_n; i++) {
        int v = dec_char((unsigned char)s[i]);
        if (v < 0)
            return cfx_error_set(
                err, CFX_EPARSE,
                "base64: invalid character 0x%02x at offset %zu",
                (unsigned char)s[i], i);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    out->len = (size_t)(o - out->data);
    return 0;
}
