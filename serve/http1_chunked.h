/*
 * http1_chunked.h: an incremental decoder for the chunked transfer coding
 * of HTTP/1.1 request bodies (RFC 9112 §7.1), used by http1.c.
 *
 * Bytes are fed as they arrive, split anywhere; the decoded data is
 * appended to a caller-owned buffer. The decoder needs no input to be kept
 * between calls, so the caller can drop what it consumed.
 *
 * Strict on framing, since a lenient chunk parser behind a proxy that
 * reads the framing differently is how requests get smuggled: every line
 * ends in CRLF (a bare LF or CR is an error), the chunk size is hex digits
 * (either case, leading zeros allowed) that must fit 64 bits, optionally
 * followed by spaces/tabs and chunk extensions (";name=value", checked for
 * control characters and otherwise ignored). Trailer fields are checked
 * for the field-line shape (token ':' value) and discarded.
 *
 * Bounded: the decoded size by max_body (413), a chunk-size line with its
 * extensions by CFX_HTTP1_CHUNK_LINE_MAX (400), the trailer section by
 * max_trailer (431).
 *
 * Thread-safety: a decoder belongs to one connection, on one thread.
 */
#ifndef CFX_SERVE_HTTP1_CHUNKED_H
#define CFX_SERVE_HTTP1_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"

/* Longest chunk-size line (hex digits, extensions, CRLF) accepted. */
#define CFX_HTTP1_CHUNK_LINE_MAX 4096

typedef struct cfx_http1_chunked {
    size_t max_body;    /* decoded bytes allowed */
    size_t max_trailer; /* trailer section bytes allowed (CRLFs included) */
    /* private */
    int state;
    int status;      /* after an error: the HTTP status to answer */
    uint64_t size;   /* the chunk size being read, then bytes of it left */
    size_t ndigits;  /* hex digits of the current size */
    size_t line_len; /* bytes of the current size line */
    size_t trailer_len;
    size_t body_len; /* decoded so far */
    size_t offset;   /* encoded bytes consumed so far */
} cfx_http1_chunked_t;

/* Starts a new body. */
void cfx_http1_chunked_init(cfx_http1_chunked_t *d, size_t max_body,
                            size_t max_trailer);

/*
 * Decodes in[0, len) and appends the chunk data to body. *used: the bytes
 * of in consumed. Returns 1 when the body ended (in[*used] is the first
 * byte after it, e.g. a pipelined request), 0 when all of in was consumed
 * and the body goes on, or a negative CFX_E* code with err set (may be
 * NULL) and cfx_http1_chunked_status() telling the HTTP status; a decoder
 * that failed stays failed.
 */
int cfx_http1_chunked_decode(cfx_http1_chunked_t *d, const uint8_t *in,
                             size_t len, cfx_buf_t *body, size_t *used,
                             cfx_error_t *err);

/* After an error: 400 (malformed), 413 (body over max_body), 431 (trailers
 * over max_trailer) or 500 (out of memory); 0 before any error. */
int cfx_http1_chunked_status(const cfx_http1_chunked_t *d);

#endif
