/*
 * http1_chunked.c: the chunked transfer coding decoder (see
 * http1_chunked.h).
 *
 * A byte-at-a-time state machine for the framing (size lines, CRLFs,
 * trailers), so a boundary may fall anywhere between two calls; chunk
 * data is copied in one piece. Grammar (RFC 9112 §7.1):
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = 1*HEXDIG [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*"0" [ chunk-ext ] CRLF
 *   chunk-ext    = *( BWS ";" BWS name [ BWS "=" BWS value ] )
 *
 * Spaces/tabs after the size are accepted (evhttp and most servers do);
 * what follows a ';' up to the CR is only checked for control characters.
 */
#include "serve/http1_chunked.h"

enum {
    S_SIZE,    /* hex digits of a chunk size */
    S_SIZE_WS, /* spaces/tabs after the size */
    S_EXT,     /* chunk extensions, up to the CR */
    S_SIZE_LF, /* the LF ending a size line */
    S_DATA,    /* chunk data */
    S_DATA_CR, /* the CRLF after chunk data */
    S_DATA_LF,
    S_TRAILER, /* start of a trailer line, or the final CRLF */
    S_TRAILER_NAME,
    S_TRAILER_VALUE,
    S_TRAILER_LF,
    S_END_LF, /* the LF of the final CRLF */
    S_DONE,
    S_FAILED,
};

void cfx_http1_chunked_init(cfx_http1_chunked_t *d, size_t max_body,
                            size_t max_trailer) {
    *d = (cfx_http1_chunked_t){
        .max_body = max_body, .max_trailer = max_trailer, .state = S_SIZE};
}

int cfx_http1_chunked_status(const cfx_http1_chunked_t *d) {
    return d->status;
}

static int hexval(uint8_t ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* tchar of RFC 9110 §5.6.2. */
static int is_tchar(uint8_t ch) {
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
        (ch >= 'A' && ch <= 'Z'))
        return 1;
    switch (ch) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return 1;
    default:
        return 0;
    }
}

/* Field and extension text: visible, space, tab, obs-text; no CTLs. */
static int is_text(uint8_t ch) {
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int fail(cfx_http1_chunked_t *d, int status, int code, cfx_error_t *err,
                size_t at, const char *what, uint8_t ch) {
    d->state = S_FAILED;
    d->status = status;
    if (ch)
        return cfx_error_set(
            err, code, "chunked body, byte %zu: %s (got 0x%02x)", at, what, ch);
    return cfx_error_set(err, code, "chunked body, byte %zu: %s", at, what);
}

int cfx_http1_chunked_decode(cfx_http1_chunked_t *d, const uint8_t *in,
                             size_t len, cfx_buf_t *body, size_t *used,
                             cfx_error_t *err) {
    size_t i = 0;
    *used = 0;
    if (d->state == S_FAILED)
        return cfx_error_set(err, CFX_ESTATE, "chunked body: already failed");
    while (i < len && d->state != S_DONE) {
        uint8_t ch = in[i];
        int st = d->state;
        size_t at = d->offset; /* for the messages */
        switch (st) {
        case S_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                /* More than 64 bits is no size at all (400), as opposed to
                 * a size over the limit (413), checked at the line's end. */
                if (d->size > (UINT64_MAX >> 4))
                    return fail(d, 400, CFX_EPARSE, err, at,
                                "chunk size does not fit 64 bits", 0);
                d->size = (d->size << 4) | (uint64_t)v;
                d->ndigits++;
                break;
            }
            if (d->ndigits == 0)
                return fail(d, 400, CFX_EPARSE, err, at,
                            "expected a hex chunk size", ch);
            if (d->size > d->max_body - d->body_len) {
                d->state = S_FAILED;
                d->status = 413;
                return cfx_error_set(err, CFX_ETOOBIG,
                                     "chunked body: a chunk of %llu bytes "
                                     "after %zu takes the body over the limit "
                                     "of %zu bytes",
                                     (unsigned long long)d->size, d->body_len,
                                     d->max_body);
            }
            if (ch == ' ' || ch == '\t')
                d->state = S_SIZE_WS;
            else if (ch == ';')
                d->state = S_EXT;
            else if (ch == '\r')
                d->state = S_SIZE_LF;
            else
                return fail(d, 400, CFX_EPARSE, err, at,
                            "bad character after the chunk size", ch);
            break;
        }
        case S_SIZE_WS:
            if (ch == ';')
                d->state = S_EXT;
            else if (ch == '\r')
                d->state = S_SIZE_LF;
            else if (ch != ' ' && ch != '\t')
                return fail(d, 400, CFX_EPARSE, err, at,
                            "bad character after the chunk size", ch);
            break;
        case S_EXT:
            if (ch == '\r')
                d->state = S_SIZE_LF;
            else if (!is_text(ch))
                return fail(d, 400, CFX_EPARSE, err, at,
                            "control character in a chunk extension", ch);
            break;
        case S_SIZE_LF:
            if (ch != '\n')
                return fail(d, 400, CFX_EPARSE, err, at,
                            "chunk size line: CR without LF", ch);
            d->state = d->size ? S_DATA : S_TRAILER;
            break;
        case S_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > d->size)
                n = (size_t)d->size;
            if (cfx_buf_append(body, in + i, n)) {
                d->state = S_FAILED;
                d->status = 500;
                return cfx_error_set(err, CFX_ENOMEM,
                                     "chunked body: out of memory at %zu bytes",
                                     d->body_len);
            }
            d->body_len += n;
            d->size -= n;
            d->offset += n;
            i += n;
            if (d->size == 0)
                d->state = S_DATA_CR;
            continue; /* i and offset moved already */
        }
        case S_DATA_CR:
            if (ch != '\r')
                return fail(d, 400, CFX_EPARSE, err, at,
                            "chunk data longer than its size (expected CRLF)",
                            ch);
            d->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (ch != '\n')
                return fail(d, 400, CFX_EPARSE, err, at,
                            "CR without LF after chunk data", ch);
            d->state = S_SIZE;
            d->size = 0;
            d->ndigits = 0;
            d->line_len = 0;
            break;
        case S_TRAILER:
            if (ch == '\r')
                d->state = S_END_LF;
            else if (is_tchar(ch))
                d->state = S_TRAILER_NAME;
            else
                return fail(d, 400, CFX_EPARSE, err, at,
                            "malformed trailer field", ch);
            break;
        case S_TRAILER_NAME:
            if (ch == ':')
                d->state = S_TRAILER_VALUE;
            else if (!is_tchar(ch))
                return fail(d, 400, CFX_EPARSE, err, at,
                            "malformed trailer field name", ch);
            break;
        case S_TRAILER_VALUE:
            if (ch == '\r')
                d->state = S_TRAILER_LF;
            else if (!is_text(ch))
                return fail(d, 400, CFX_EPARSE, err, at,
                            "control character in a trailer field", ch);
            break;
        case S_TRAILER_LF:
            if (ch != '\n')
                return fail(d, 400, CFX_EPARSE, err, at,
                            "trailer field: CR without LF", ch);
            d->state = S_TRAILER;
            break;
        case S_END_LF:
            if (ch != '\n')
                return fail(d, 400, CFX_EPARSE, err, at,
                            "end of trailers: CR without LF", ch);
            d->state = S_DONE;
            break;
        default:
            return fail(d, 500, CFX_EINTERNAL, err, at, "bad decoder state", 0);
        }
        /* Only framing bytes get here: bound the size line or the trailer
         * section they belong to. */
        if (st <= S_SIZE_LF) {
            if (++d->line_len > CFX_HTTP1_CHUNK_LINE_MAX)
                return fail(d, 400, CFX_EPARSE, err, at,
                            "chunk size line too long", 0);
        } else if (st >= S_TRAILER) {
            if (++d->trailer_len > d->max_trailer) {
                d->state = S_FAILED;
                d->status = 431;
                return cfx_error_set(err, CFX_ETOOBIG,
                                     "chunked body: trailer fields over %zu "
                                     "bytes",
                                     d->max_trailer);
            }
        }
        i++;
        d->offset++;
    }
    *used = i;
    return d->state == S_DONE;
}
