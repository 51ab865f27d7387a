/*
 * html_escape.c: HTML text escaping (html_escape.h).
 */
#include "formats/html_escape.h"

#include <stdint.h>

#include "formats/err.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    uint32_t c;
    size_t len;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, c = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, c = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
        (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return 0;
    return len;
}

/* Appends the len-byte character at p, or U+FFFD for the one byte at p
 * when len is 0 (not UTF-8); advances *i past what it used. */
static int put_char(cfx_buf_t *out, const unsigned char *p, size_t len,
                    size_t *i) {
    if (len == 0) {
        *i += 1;
        return cfx_buf_append(out, "\xEF\xBF\xBD", 3);
    }
    *i += len;
    return cfx_buf_append(out, p, len);
}

int cfx_html_escape(cfx_buf_t *out, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        unsigned char c = p[i];
        const char *ent = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&quot;"
                          : c == '\'' ? "&#39;"
                                      : NULL;
        if (ent) {
            rc = cfx_buf_printf(out, "%s", ent);
            i++;
            continue;
        }
        size_t len = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F
                         ? 0
                         : utf8_len(p + i, n - i);
        rc = put_char(out, p + i, len, &i);
    }
    return rc ? CFX_ENOMEM : 0;
}

int cfx_utf8_repair(cfx_buf_t *out, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;
    for (size_t i = 0; i < n && !rc;)
        rc = put_char(out, p + i, utf8_len(p + i, n - i), &i);
    return rc ? CFX_ENOMEM : 0;
}
