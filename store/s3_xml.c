/*
 * s3_xml.c: the two S3 XML bodies cfx reads, ListBucketResult (one
 * ListObjectsV2 page) and Error, with a narrow scanner: elements,
 * attributes skipped, character data with the five named entities and
 * numeric character references, CDATA, comments and the XML declaration.
 * A DOCTYPE (and so any entity definition) is refused. Depth and every
 * text value are bounded; the input is never read past len.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/buf.h"
#include "store/s3.h"

#define MAX_DEPTH 16
#define MAX_NAME 64
#define MAX_TEXT 4096 /* a leaf's text: a key is at most 1024 bytes */

typedef struct scan {
    const char *p, *end, *start;
    char path[MAX_DEPTH][MAX_NAME];
    int depth;
    char text[MAX_TEXT + 1];
    size_t tlen;
    int text_over; /* the current leaf's text was longer than MAX_TEXT */
    /* element callbacks */
    int (*open)(struct scan *sc, void *ud);
    int (*close)(struct scan *sc, void *ud); /* text of a leaf in text */
    cfx_error_t *err;
} scan_t;

static int bad(scan_t *sc, const char *what) {
    return cfx_error_set(sc->err, CFX_EPARSE, "S3 XML at byte %zu: %s",
                         (size_t)(sc->p - sc->start), what);
}

static int starts(const scan_t *sc, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(sc->end - sc->p) >= n && memcmp(sc->p, lit, n) == 0;
}

/* Skips to just past the literal lit; 0 or an error when absent. */
static int skip_past(scan_t *sc, const char *lit, const char *what) {
    size_t n = strlen(lit);
    for (const char *q = sc->p; (size_t)(sc->end - q) >= n; q++)
        if (memcmp(q, lit, n) == 0) {
            sc->p = q + n;
            return 0;
        }
    return bad(sc, what);
}

static int text_add(scan_t *sc, const char *s, size_t n) {
    if (sc->tlen + n > MAX_TEXT) {
        sc->text_over = 1;
        return 0;
    }
    memcpy(sc->text + sc->tlen, s, n);
    sc->tlen += n;
    sc->text[sc->tlen] = 0;
    return 0;
}

/* At '&': one reference into the text. */
static int entity(scan_t *sc) {
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp;", '&'},
                 {"lt;", '<'},
                 {"gt;", '>'},
                 {"quot;", '"'},
                 {"apos;", '\''}};
    sc->p++;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (starts(sc, named[i].name)) {
            sc->p += strlen(named[i].name);
            return text_add(sc, &named[i].c, 1);
        }
    if (sc->p < sc->end && *sc->p == '#') {
        sc->p++;
        int hex = sc->p < sc->end && *sc->p == 'x';
        if (hex)
            sc->p++;
        unsigned long c = 0;
        int digits = 0;
        while (sc->p < sc->end && *sc->p != ';' && digits < 8) {
            char ch = *sc->p;
            int d = ch >= '0' && ch <= '9'          ? ch - '0'
                    : hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                    : -1;
            if (d < 0)
                return bad(sc, "bad character reference");
            c = c * (hex ? 16 : 10) + (unsigned long)d;
            digits++;
            sc->p++;
        }
        /* a character XML allows: not NUL, not a surrogate, in Unicode */
        if (!digits || sc->p >= sc->end || *sc->p != ';' || c == 0 ||
            (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
            return bad(sc, "bad character reference");
        sc->p++;
        uint8_t u[4];
        return text_add(sc, (const char *)u,
                        cfx_buf_utf8_encode((uint32_t)c, u));
    }
    return bad(sc, "unknown entity");
}

static int is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == ':' || (unsigned char)c >= 0x80;
}

/* At '<' of a start or end tag. */
static int tag(scan_t *sc, void *ud) {
    int closing = 0, rc;
    sc->p++;
    if (sc->p < sc->end && *sc->p == '/') {
        closing = 1;
        sc->p++;
    }
    const char *n0 = sc->p;
    while (sc->p < sc->end && is_name_char(*sc->p))
        sc->p++;
    size_t nl = (size_t)(sc->p - n0);
    if (nl == 0 || nl >= MAX_NAME)
        return bad(sc, "bad element name");
    if (closing) {
        while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
                                   *sc->p == '\r' || *sc->p == '\n'))
            sc->p++;
        if (sc->p >= sc->end || *sc->p != '>')
            return bad(sc, "bad end tag");
        sc->p++;
        if (sc->depth == 0 || strlen(sc->path[sc->depth - 1]) != nl ||
            memcmp(sc->path[sc->depth - 1], n0, nl) != 0)
            return bad(sc, "end tag does not match its start tag");
        if (sc->close && (rc = sc->close(sc, ud)))
            return rc;
        sc->depth--;
        sc->tlen = 0;
        sc->text[0] = 0;
        sc->text_over = 0;
        return 0;
    }
    /* attributes: skipped, but quotes respected */
    int empty = 0;
    for (;;) {
        if (sc->p >= sc->end)
            return bad(sc, "unterminated start tag");
        char c = *sc->p;
        if (c == '"' || c == '\'') {
            const char *q = memchr(sc->p + 1, c, (size_t)(sc->end - sc->p - 1));
            if (!q)
                return bad(sc, "unterminated attribute value");
            sc->p = q + 1;
            continue;
        }
        if (c == '<')
            return bad(sc, "'<' in a start tag");
        if (c == '/' && sc->p + 1 < sc->end && sc->p[1] == '>') {
            empty = 1;
            sc->p += 2;
            break;
        }
        sc->p++;
        if (c == '>')
            break;
    }
    if (sc->depth >= MAX_DEPTH)
        return bad(sc, "elements nested too deep");
    memcpy(sc->path[sc->depth], n0, nl);
    sc->path[sc->depth][nl] = 0;
    sc->depth++;
    sc->tlen = 0;
    sc->text[0] = 0;
    sc->text_over = 0;
    if (sc->open && (rc = sc->open(sc, ud)))
        return rc;
    if (empty) {
        if (sc->close && (rc = sc->close(sc, ud)))
            return rc;
        sc->depth--;
    }
    return 0;
}

static int scan_run(scan_t *sc, void *ud) {
    int rc, seen_root = 0;
    while (sc->p < sc->end) {
        if (*sc->p != '<') {
            if (sc->depth == 0) {
                char c = *sc->p;
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
                    return bad(sc, "text outside the root element");
                sc->p++;
                continue;
            }
            if (*sc->p == '&') {
                if ((rc = entity(sc)))
                    return rc;
                continue;
            }
            const char *q = sc->p;
            while (q < sc->end && *q != '<' && *q != '&')
                q++;
            text_add(sc, sc->p, (size_t)(q - sc->p));
            sc->p = q;
            continue;
        }
        if (starts(sc, "<?")) {
            if ((rc = skip_past(sc, "?>", "unterminated declaration")))
                return rc;
        } else if (starts(sc, "<!--")) {
            if ((rc = skip_past(sc, "-->", "unterminated comment")))
                return rc;
        } else if (starts(sc, "<![CDATA[")) {
            if (sc->depth == 0)
                return bad(sc, "CDATA outside the root element");
            sc->p += 9;
            const char *q0 = sc->p;
            if ((rc = skip_past(sc, "]]>", "unterminated CDATA")))
                return rc;
            text_add(sc, q0, (size_t)(sc->p - 3 - q0));
        } else if (starts(sc, "<!")) {
            return bad(sc, "DOCTYPE and declarations are not accepted");
        } else {
            if (sc->depth == 0 && seen_root)
                return bad(sc, "a second root element");
            if ((rc = tag(sc, ud)))
                return rc;
            seen_root = 1;
        }
    }
    if (sc->depth != 0 || !seen_root)
        return bad(sc, "document ends inside an element or has none");
    return 0;
}

static void scan_init(scan_t *sc, const char *xml, size_t len,
                      cfx_error_t *err) {
    memset(sc, 0, sizeof(*sc));
    sc->p = sc->start = xml;
    sc->end = xml + len;
    sc->err = err;
}

/* 1 when the open elements are exactly the names given (depth matches). */
static int at(const scan_t *sc, int depth, const char *a, const char *b) {
    if (sc->depth != depth || strcmp(sc->path[0], a) != 0)
        return 0;
    return depth == 1 || strcmp(sc->path[1], b) == 0;
}

/* ---- ListBucketResult --------------------------------------------------- */

typedef struct list_state {
    cfx_s3_listing_t *l;
    size_t max;
    cfx_s3_object_t cur;
    int have_key, have_size;
    int truncated_seen;
} list_state_t;

static int list_open(scan_t *sc, void *ud) {
    list_state_t *st = ud;
    if (sc->depth == 1 && strcmp(sc->path[0], "ListBucketResult") != 0)
        return bad(sc, "expected a ListBucketResult");
    if (sc->depth == 2 && !strcmp(sc->path[1], "Contents")) {
        free(st->cur.key);
        memset(&st->cur, 0, sizeof(st->cur));
        st->have_key = st->have_size = 0;
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int list_close(scan_t *sc, void *ud) {
    list_state_t *st = ud;
    cfx_s3_listing_t *l = st->l;
    if (at(sc, 3, "ListBucketResult", "Contents")) {
        const char *leaf = sc->path[2];
        if (!strcmp(leaf, "Key")) {
            if (sc->text_over || sc->tlen == 0 || sc->tlen > CFX_S3_MAX_KEY ||
                memchr(sc->text, 0, sc->tlen))
                return bad(sc, "Key empty or longer than 1024 bytes");
            free(st->cur.key);
            st->cur.key = strdup(sc->text);
            if (!st->cur.key)
                return cfx_error_set(sc->err, CFX_ENOMEM, "out of memory");
            st->have_key = 1;
        } else if (!strcmp(leaf, "Size")) {
            if (sc->text_over || parse_u64(sc->text, &st->cur.size))
                return bad(sc, "Size is not a decimal number");
            st->have_size = 1;
        } else if (!strcmp(leaf, "ETag")) {
            const char *t = sc->text;
            size_t n = sc->tlen;
            if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
                t++;
                n -= 2;
            }
            if (sc->text_over || n >= sizeof(st->cur.etag))
                return bad(sc, "ETag too long");
            memcpy(st->cur.etag, t, n);
            st->cur.etag[n] = 0;
        }
        return 0;
    }
    if (at(sc, 2, "ListBucketResult", "Contents")) {
        if (!st->have_key || !st->have_size)
            return bad(sc, "Contents without Key or Size");
        if (l->n >= st->max)
            return cfx_error_set(sc->err, CFX_ETOOBIG,
                                 "the listing holds more than %zu objects",
                                 st->max);
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            cfx_s3_object_t *o = realloc(l->objects, cap * sizeof(*o));
            if (!o)
                return cfx_error_set(sc->err, CFX_ENOMEM, "out of memory");
            l->objects = o;
            l->cap = cap;
        }
        l->objects[l->n++] = st->cur;
        memset(&st->cur, 0, sizeof(st->cur));
        return 0;
    }
    if (at(sc, 2, "ListBucketResult", "IsTruncated")) {
        if (!strcmp(sc->text, "true"))
            l->is_truncated = 1;
        else if (!strcmp(sc->text, "false"))
            l->is_truncated = 0;
        else
            return bad(sc, "IsTruncated is neither true nor false");
        st->truncated_seen = 1;
        return 0;
    }
    if (at(sc, 2, "ListBucketResult", "NextContinuationToken")) {
        if (sc->text_over || sc->tlen == 0)
            return bad(sc, "NextContinuationToken empty or too long");
        free(l->next_token);
        l->next_token = strdup(sc->text);
        if (!l->next_token)
            return cfx_error_set(sc->err, CFX_ENOMEM, "out of memory");
    }
    return 0;
}

void cfx_s3_listing_init(cfx_s3_listing_t *l) {
    memset(l, 0, sizeof(*l));
}

void cfx_s3_listing_free(cfx_s3_listing_t *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->objects[i].key);
    free(l->objects);
    free(l->next_token);
    memset(l, 0, sizeof(*l));
}

int cfx_s3_xml_parse_list(const char *xml, size_t len, size_t max_objects,
                          cfx_s3_listing_t *l, cfx_error_t *err) {
    scan_t *sc = malloc(sizeof(*sc));
    if (!sc)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    scan_init(sc, xml, len, err);
    sc->open = list_open;
    sc->close = list_close;
    list_state_t st = {.l = l, .max = max_objects};
    free(l->next_token);
    l->next_token = NULL;
    l->is_truncated = 0;
    int rc = scan_run(sc, &st);
    free(st.cur.key);
    if (!rc && !st.truncated_seen)
        rc = cfx_error_set(err, CFX_EPARSE,
                           "S3 XML: ListBucketResult without IsTruncated");
    if (!rc && l->is_truncated && !l->next_token)
        rc = cfx_error_set(err, CFX_EPARSE,
                           "S3 XML: a truncated listing without "
                           "NextContinuationToken");
    free(sc);
    return rc;
}

/* ---- Error -------------------------------------------------------------- */

typedef struct error_state {
    char *code, *msg;
    size_t code_cap, msg_cap;
    int found;
} error_state_t;

static int error_open(scan_t *sc, void *ud) {
    (void)ud;
    if (sc->depth == 1 && strcmp(sc->path[0], "Error") != 0)
        return bad(sc, "expected an Error");
    return 0;
}

static int error_close(scan_t *sc, void *ud) {
    error_state_t *st = ud;
    if (at(sc, 2, "Error", "Code")) {
        snprintf(st->code, st->code_cap, "%s", sc->text);
        st->found = 1;
    } else if (at(sc, 2, "Error", "Message")) {
        snprintf(st->msg, st->msg_cap, "%s", sc->text);
    }
    return 0;
}

int cfx_s3_xml_parse_error(const char *xml, size_t len, char *code,
                           size_t code_cap, char *message, size_t msg_cap) {
    if (code_cap)
        code[0] = 0;
    if (msg_cap)
        message[0] = 0;
    if (!code_cap || !msg_cap)
        return CFX_EINVAL;
    scan_t *sc = malloc(sizeof(*sc));
    if (!sc)
        return CFX_ENOMEM;
    cfx_error_t err;
    cfx_error_init(&err);
    scan_init(sc, xml, len, &err);
    sc->open = error_open;
    sc->close = error_close;
    error_state_t st = {code, message, code_cap, msg_cap, 0};
    int rc = scan_run(sc, &st);
    free(sc);
    if (rc || !st.found) {
        code[0] = 0;
        message[0] = 0;
        return CFX_EPARSE;
    }
    return 0;
}
