/*
 * html_escape.h: text from data made safe for an HTML page, the one
 * escaping routine of `cfx report` (report/html.h) and the status page of
 * cfx-serve (serve/status_page.h).
 *
 * The five metacharacters & < > " ' become entities, so the result is safe
 * as element text and inside a quoted attribute value; invalid UTF-8 (also
 * overlong forms and surrogates), DEL and control characters other than
 * tab and newline become U+FFFD. Nothing from the input can open a tag,
 * close an attribute or start a script. (Never place it in an unquoted
 * attribute, a <script> or <style> body, or a URL: those need other rules.)
 *
 * cfx_utf8_repair applies only the UTF-8 rule, for text that goes into
 * JSON rather than HTML.
 *
 * Reentrant.
 */
#ifndef CFX_FORMATS_HTML_ESCAPE_H
#define CFX_FORMATS_HTML_ESCAPE_H

#include <stddef.h>

#include "formats/buf.h"

/* Appends n bytes of s (may hold NULs: each becomes U+FFFD), escaped, to
 * out; CFX_ENOMEM. */
int cfx_html_escape(cfx_buf_t *out, const char *s, size_t n);

/* Appends n bytes of s to out with each byte that does not start a valid
 * UTF-8 sequence (by the rules above) replaced by U+FFFD and nothing else
 * changed: text for a JSON string, which jansson refuses when it is not
 * UTF-8 (a message cut inside a character, a path in another encoding);
 * CFX_ENOMEM. */
int cfx_utf8_repair(cfx_buf_t *out, const char *s, size_t n);

#endif
