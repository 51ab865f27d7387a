/*
 * base64.h: RFC 4648 base64, used for bytes in protobuf JSON and for the
 * {"b64": ...} values of the TF Serving REST API.
 *
 * Encoding writes the standard alphabet with '=' padding. Decoding accepts
 * the standard and the URL-safe alphabet, with or without padding, and
 * refuses anything else naming the offset of the bad character.
 *
 * The padding rule is the one TF Serving's REST API applies to "b64" values
 * (docs/serving.md): no padding at all, or exactly the one or two '=' that
 * complete the last 4-character group. "Zg" and "Zg==" decode to "f";
 * "Zg=", "Zg===" and "Zm9v=" are refused. White space is refused too (TF
 * Serving skips it; no client of ours sends it).
 *
 * Reentrant.
 */
#ifndef CFX_FORMATS_BASE64_H
#define CFX_FORMATS_BASE64_H

#include <stddef.h>

#include "formats/buf.h"
#include "formats/err.h"

/* Length of the padded encoding of n bytes. */
size_t cfx_base64_encoded_len(size_t n);

/* Appends the encoding of data[0..n) to out (not NUL-terminated). */
int cfx_base64_encode(const void *data, size_t n, cfx_buf_t *out);

/* Appends the decoding of s[0..n) to out; CFX_EPARSE with err set on a
 * character outside the alphabets, misplaced padding or a dangling
 * 6-bit group. */
int cfx_base64_decode(const char *s, size_t n, cfx_buf_t *out,
                      cfx_error_t *err);

#endif
