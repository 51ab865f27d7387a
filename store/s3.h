/*
 * s3.h: the object-store client: s3:// URLs, TF Serving's S3 environment
 * variables, and ListObjectsV2 / GET / PUT over libcurl (docs/s3.md).
 *
 * libcurl does the HTTP and signs every request itself
 * (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3"); this file only builds the
 * canonical request line (path-style URL, URI-encoded key, query
 * parameters sorted by name, as SigV4 wants them) and sends the
 * x-amz-content-sha256 header with the payload's SHA-256, which S3
 * requires and which curl then signs. Everything is bounded: a listing
 * page's body, the number of pages and of objects, every object's size,
 * the connect time, a stalled transfer and a whole request.
 *
 * Thread-safety: a cfx_s3_t is one libcurl handle (its connections are
 * reused); one thread at a time. Separate clients may run on separate
 * threads. URL and configuration functions are reentrant.
 */
#ifndef CFX_STORE_S3_H
#define CFX_STORE_S3_H

#include <stddef.h>
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"

#define CFX_S3_MAX_KEY 1024        /* S3's own limit on a key, in bytes */
#define CFX_S3_MAX_PAGE (8u << 20) /* body of one listing page */
#define CFX_S3_MAX_PAGES 1000      /* pages of one listing (1,000 keys each) */

/* s3://bucket/prefix: the bucket (S3's naming rules: 3..63 of [a-z0-9.-],
 * also upper case and '_' of older buckets) and a key prefix without a
 * leading or trailing '/', "" for the whole bucket. */
typedef struct cfx_s3_url {
    char bucket[64];
    char prefix[CFX_S3_MAX_KEY - 64]; /* leaves room for "/<N>/<file>" */
} cfx_s3_url_t;

/* 1 when s starts with "s3://". */
int cfx_s3_is_url(const char *s);
/* Parses url; the error names the URL and what is wrong. A prefix may not
 * hold an empty, "." or ".." component. */
int cfx_s3_url_parse(const char *url, cfx_s3_url_t *out, cfx_error_t *err);

/* The connection settings, from TF Serving's environment (TensorFlow's S3
 * file system reads the same names; docs/s3.md):
 *   AWS_REGION (else S3_REGION)  region; us-east-1
 *   S3_ENDPOINT        host[:port] or http(s)://host[:port]; default
 *                      s3.<region>.amazonaws.com. Requests are path-style:
 *                      <endpoint>/<bucket>/<key>, as TensorFlow's.
 *   S3_USE_HTTPS       0 for http; 1 (https) by default
 *   S3_VERIFY_SSL      0 skips the TLS certificate check; 1 by default
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  both or neither; without
 *                      them requests go unsigned (a public bucket)
 *   AWS_SESSION_TOKEN  sent as x-amz-security-token when set
 *   S3_CONNECT_TIMEOUT_MSEC  connect limit; 5000
 *   S3_REQUEST_TIMEOUT_MSEC  a transfer stalled (under 1 byte/s) this
 *                      long fails; 10000
 * Booleans take 0/1/true/false; anything else is an error naming the
 * variable. */
typedef struct cfx_s3_config {
    char region[64];
    char scheme[8];     /* "http" or "https" */
    char endpoint[256]; /* host[:port] */
    int verify_ssl;
    char access_key[256]; /* "" when unsigned */
    char secret_key[256];
    char session_token[4096];
    long connect_timeout_ms;
    long request_timeout_ms;
} cfx_s3_config_t;

/* Reads the variables above through get (getenv in the programs; tests
 * pass their own table). */
typedef const char *(*cfx_s3_getenv_fn)(void *ud, const char *name);
int cfx_s3_config_from(cfx_s3_config_t *c, cfx_s3_getenv_fn get, void *ud,
                       cfx_error_t *err);
/* The same from the process environment. */
int cfx_s3_config_from_env(cfx_s3_config_t *c, cfx_error_t *err);

/* Appends to out the URI encoding of s[0..n) as SigV4 wants it: every byte
 * but A-Z a-z 0-9 - . _ ~ as %XX (upper case), and '/' kept when
 * keep_slash (object paths) or encoded (query values). */
int cfx_s3_uri_encode(cfx_buf_t *out, const char *s, size_t n, int keep_slash);

/* ---- ListObjectsV2 ------------------------------------------------------ */

typedef struct cfx_s3_object {
    char *key; /* owned, the full key */
    uint64_t size;
    char etag[72]; /* as S3 sends it, quotes removed */
} cfx_s3_object_t;

typedef struct cfx_s3_listing {
    cfx_s3_object_t *objects; /* owned array, in S3's (key) order */
    size_t n, cap;
    int is_truncated;
    char *next_token; /* owned; NextContinuationToken, NULL when none */
} cfx_s3_listing_t;

void cfx_s3_listing_init(cfx_s3_listing_t *l);
void cfx_s3_listing_free(cfx_s3_listing_t *l);

/* Parses one ListBucketResult page (xml[0..len), not NUL-terminated) and
 * appends its objects to l (at most max_objects in l in all: more is
 * CFX_ETOOBIG); sets is_truncated and next_token. A key longer than
 * CFX_S3_MAX_KEY, a Size that is not a decimal number, a truncated page
 * without a token, or anything that is not well-formed XML is CFX_EPARSE
 * naming the byte offset. Unknown elements are skipped. */
int cfx_s3_xml_parse_list(const char *xml, size_t len, size_t max_objects,
                          cfx_s3_listing_t *l, cfx_error_t *err);
/* The Code and Message of an S3 <Error> body (each cut to its cap); 0 when
 * found, CFX_EPARSE otherwise (code and message then ""). */
int cfx_s3_xml_parse_error(const char *xml, size_t len, char *code,
                           size_t code_cap, char *message, size_t msg_cap);

/* ---- the client --------------------------------------------------------- */

typedef struct cfx_s3 cfx_s3_t;

/* Takes a copy of c. */
int cfx_s3_new(const cfx_s3_config_t *c, cfx_s3_t **out, cfx_error_t *err);
void cfx_s3_free(cfx_s3_t *s); /* NULL is fine */

/* Every object whose key starts with prefix (all pages; at most
 * max_objects, else CFX_ETOOBIG). Errors: CFX_EUNAVAILABLE when the store
 * cannot be reached, times out or answers 5xx; CFX_ENOTFOUND for a missing
 * bucket; CFX_EIO for another refusal (the message has S3's code and
 * text). */
int cfx_s3_list(cfx_s3_t *s, const char *bucket, const char *prefix,
                size_t max_objects, cfx_s3_listing_t *out, cfx_error_t *err);

/* Receives the next n bytes of an object; 0 to go on, else a negative
 * code (with err set) that ends the transfer and is returned. */
typedef int (*cfx_s3_sink_fn)(void *ud, const void *data, size_t n,
                              cfx_error_t *err);
/* GETs an object into sink; more than max bytes is CFX_ETOOBIG. A missing
 * object is CFX_ENOTFOUND; other errors as cfx_s3_list. */
int cfx_s3_get(cfx_s3_t *s, const char *bucket, const char *key, uint64_t max,
               cfx_s3_sink_fn sink, void *ud, cfx_error_t *err);
/* The same into a buffer (appended, NUL-terminated, not counted). */
int cfx_s3_get_buf(cfx_s3_t *s, const char *bucket, const char *key, size_t max,
                   cfx_buf_t *out, cfx_error_t *err);

/* PUTs data[0..len) / the file at path (at most max_bytes) as key. */
int cfx_s3_put_buf(cfx_s3_t *s, const char *bucket, const char *key,
                   const void *data, size_t len, cfx_error_t *err);
int cfx_s3_put_file(cfx_s3_t *s, const char *bucket, const char *key,
                    const char *path, uint64_t max_bytes, cfx_error_t *err);

#endif
