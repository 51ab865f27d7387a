/*
 * s3.c: s3:// URLs, the S3 environment and the libcurl client of s3.h.
 *
 * Requests are path-style (<scheme>://<endpoint>/<bucket>/<key>), as
 * TensorFlow's S3 file system sends them, so any S3-compatible server
 * works without wildcard DNS. libcurl 7.88 signs the request line as it is
 * given and does not sort or re-encode the query, so the URL built here is
 * already canonical (docs/s3.md, "How requests are signed").
 */
#include "store/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/sha256.h"

#define MAX_ERROR_BODY (64u << 10)
#define LIST_TIMEOUT_MS 60000L     /* one listing page, whole request */
#define OBJECT_TIMEOUT_MS 3600000L /* one object, whole request */
#define EMPTY_SHA256                                                           \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- URLs ---------------------------------------------------------------- */

int cfx_s3_is_url(const char *s) {
    return s && strncmp(s, "s3://", 5) == 0;
}

static int bucket_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

int cfx_s3_url_parse(const char *url, cfx_s3_url_t *out, cfx_error_t *err) {
    memset(out, 0, sizeof(*out));
    if (!cfx_s3_is_url(url))
        return cfx_error_set(err, CFX_EINVAL,
                             "%.200s: an S3 URL starts with s3://", url);
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl < 3 || bl > 63)
        return cfx_error_set(err, CFX_EINVAL,
                             "%.200s: the bucket name must have 3 to 63 "
                             "characters",
                             url);
    for (size_t i = 0; i < bl; i++)
        if (!bucket_char(b[i]))
            return cfx_error_set(
                err, CFX_EINVAL,
                "%.200s: bad character '%c' in the bucket name", url, b[i]);
    memcpy(out->bucket, b, bl);
    if (!slash)
        return 0;
    const char *p = slash + 1;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    if (pl >= sizeof(out->prefix))
        return cfx_error_set(err, CFX_EINVAL,
                             "%.200s: the key prefix is longer than %zu bytes",
                             url, sizeof(out->prefix) - 1);
    /* each component non-empty, not "." or "..", no control character */
    for (size_t i = 0, s = 0; i <= pl; i++) {
        if (i < pl && (unsigned char)p[i] < 0x20)
            return cfx_error_set(
                err, CFX_EINVAL,
                "%.200s: a control character in the key prefix", url);
        if (i == pl || p[i] == '/') {
            size_t n = i - s;
            if (pl && (n == 0 || (n == 1 && p[s] == '.') ||
                       (n == 2 && p[s] == '.' && p[s + 1] == '.')))
                return cfx_error_set(err, CFX_EINVAL,
                                     "%.200s: the key prefix has an empty, '.' "
                                     "or '..' component",
                                     url);
            s = i + 1;
        }
    }
    memcpy(out->prefix, p, pl);
    return 0;
}

int cfx_s3_uri_encode(cfx_buf_t *out, const char *s, size_t n, int keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~' || (keep_slash && c == '/');
        int rc;
        if (plain)
            rc = cfx_buf_putc(out, c);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = cfx_buf_append(out, e, 3);
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the environment ----------------------------------------------------- */

static int env_bool(const char *name, const char *v, int dflt, int *out,
                    cfx_error_t *err) {
    if (!v || !*v) {
        *out = dflt;
        return 0;
    }
    if (!strcmp(v, "1") || !strcmp(v, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "false")) {
        *out = 0;
        return 0;
    }
    return cfx_error_set(err, CFX_EINVAL,
                         "environment variable %s: expected 0, 1, true or "
                         "false, got \"%.64s\"",
                         name, v);
}

static int env_ms(const char *name, const char *v, long dflt, long *out,
                  cfx_error_t *err) {
    if (!v || !*v) {
        *out = dflt;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 1 || x > 3600000)
        return cfx_error_set(err, CFX_EINVAL,
                             "environment variable %s: expected milliseconds "
                             "in [1, 3600000], got \"%.64s\"",
                             name, v);
    *out = x;
    return 0;
}

static int env_copy(const char *name, const char *v, char *dst, size_t cap,
                    cfx_error_t *err) {
    size_t n = strlen(v);
    if (n >= cap)
        return cfx_error_set(err, CFX_EINVAL,
                             "environment variable %s: longer than %zu bytes",
                             name, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return cfx_error_set(err, CFX_EINVAL,
                                 "environment variable %s: a control "
                                 "character",
                                 name);
    memcpy(dst, v, n + 1);
    return 0;
}

int cfx_s3_config_from(cfx_s3_config_t *c, cfx_s3_getenv_fn get, void *ud,
                       cfx_error_t *err) {
    memset(c, 0, sizeof(*c));
    int rc, https;
    const char *region = get(ud, "AWS_REGION");
    const char *rname = "AWS_REGION";
    if (!region || !*region) {
        region = get(ud, "S3_REGION");
        rname = "S3_REGION";
    }
    if (!region || !*region)
        region = "us-east-1";
    size_t rl = strlen(region);
    if (rl >= sizeof(c->region))
        return cfx_error_set(err, CFX_EINVAL,
                             "environment variable %s: longer than %zu bytes",
                             rname, sizeof(c->region) - 1);
    for (size_t i = 0; i < rl; i++) {
        char ch = region[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return cfx_error_set(err, CFX_EINVAL,
                                 "environment variable %s: a region is "
                                 "lower-case letters, digits and '-', got "
                                 "\"%.64s\"",
                                 rname, region);
    }
    memcpy(c->region, region, rl + 1);
    if ((rc = env_bool("S3_USE_HTTPS", get(ud, "S3_USE_HTTPS"), 1, &https,
                       err)) ||
        (rc = env_bool("S3_VERIFY_SSL", get(ud, "S3_VERIFY_SSL"), 1,
                       &c->verify_ssl, err)))
        return rc;
    snprintf(c->scheme, sizeof(c->scheme), "%s", https ? "https" : "http");
    const char *ep = get(ud, "S3_ENDPOINT");
    if (ep && *ep) {
        if (!strncmp(ep, "http://", 7)) {
            snprintf(c->scheme, sizeof(c->scheme), "http");
            ep += 7;
        } else if (!strncmp(ep, "https://", 8)) {
            snprintf(c->scheme, sizeof(c->scheme), "https");
            ep += 8;
        }
        size_t el = strlen(ep);
        while (el && ep[el - 1] == '/')
            el--;
        if (el == 0 || el >= sizeof(c->endpoint))
            return cfx_error_set(err, CFX_EINVAL,
                                 "environment variable S3_ENDPOINT: expected "
                                 "host[:port], got \"%.64s\"",
                                 ep);
        for (size_t i = 0; i < el; i++) {
            char ch = ep[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
                  ch == ':' || ch == '[' || ch == ']' || ch == '_'))
                return cfx_error_set(err, CFX_EINVAL,
                                     "environment variable S3_ENDPOINT: "
                                     "expected host[:port] (a scheme is "
                                     "allowed, a path is not), got "
                                     "\"%.64s\"",
                                     ep);
        }
        memcpy(c->endpoint, ep, el);
        c->endpoint[el] = 0;
    } else {
        snprintf(c->endpoint, sizeof(c->endpoint), "s3.%s.amazonaws.com",
                 c->region);
    }
    const char *ak = get(ud, "AWS_ACCESS_KEY_ID"),
               *sk = get(ud, "AWS_SECRET_ACCESS_KEY"),
               *tok = get(ud, "AWS_SESSION_TOKEN");
    int have_ak = ak && *ak, have_sk = sk && *sk;
    if (have_ak != have_sk)
        return cfx_error_set(
            err, CFX_EINVAL,
            "environment variable %s is set but %s is not: "
            "set both, or neither for unsigned requests",
            have_ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
            have_ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (have_ak && ((rc = env_copy("AWS_ACCESS_KEY_ID", ak, c->access_key,
                                   sizeof(c->access_key), err)) ||
                    (rc = env_copy("AWS_SECRET_ACCESS_KEY", sk, c->secret_key,
                                   sizeof(c->secret_key), err))))
        return rc;
    if (tok && *tok &&
        (rc = env_copy("AWS_SESSION_TOKEN", tok, c->session_token,
                       sizeof(c->session_token), err)))
        return rc;
    if ((rc = env_ms("S3_CONNECT_TIMEOUT_MSEC",
                     get(ud, "S3_CONNECT_TIMEOUT_MSEC"), 5000,
                     &c->connect_timeout_ms, err)) ||
        (rc = env_ms("S3_REQUEST_TIMEOUT_MSEC",
                     get(ud, "S3_REQUEST_TIMEOUT_MSEC"), 10000,
                     &c->request_timeout_ms, err)))
        return rc;
    return 0;
}

static const char *process_env(void *ud, const char *name) {
    (void)ud;
    return getenv(name);
}

int cfx_s3_config_from_env(cfx_s3_config_t *c, cfx_error_t *err) {
    return cfx_s3_config_from(c, process_env, NULL, err);
}

/* ---- the client ---------------------------------------------------------- */

struct cfx_s3 {
    cfx_s3_config_t cfg;
    CURL *h;
    char sigv4[128];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) {
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cfx_s3_new(const cfx_s3_config_t *c, cfx_s3_t **out, cfx_error_t *err) {
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return cfx_error_set(err, CFX_EINTERNAL, "libcurl: %s",
                             curl_easy_strerror(curl_init_rc));
    cfx_s3_t *s = calloc(1, sizeof(*s));
    if (!s)
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    s->cfg = *c;
    s->h = curl_easy_init();
    if (!s->h) {
        free(s);
        return cfx_error_set(err, CFX_ENOMEM, "libcurl: no handle");
    }
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", c->region);
    *out = s;
    return 0;
}

void cfx_s3_free(cfx_s3_t *s) {
    if (!s)
        return;
    curl_easy_cleanup(s->h);
    explicit_bzero(s->cfg.secret_key, sizeof(s->cfg.secret_key));
    free(s);
}

typedef struct req {
    cfx_s3_t *s;
    const char *what; /* s3://bucket/key, for messages */
    /* response body: to sink while the status is 2xx, else to errbody */
    cfx_s3_sink_fn sink;
    void *ud;
    uint64_t max, got;
    int sink_rc;
    cfx_buf_t errbody;
    cfx_error_t *err;
    /* upload */
    FILE *in;
    const uint8_t *data;
    size_t len, off;
} req_t;

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud) {
    req_t *r = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(r->s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        if (r->errbody.len + n <= MAX_ERROR_BODY &&
            cfx_buf_append(&r->errbody, p, n))
            return 0;
        return n; /* the rest of a long error body is dropped */
    }
    if (r->got + n > r->max) {
        r->sink_rc =
            cfx_error_set(r->err, CFX_ETOOBIG, "%s: larger than %llu bytes",
                          r->what, (unsigned long long)r->max);
        return 0;
    }
    r->got += n;
    if (n && (r->sink_rc = r->sink(r->ud, p, n, r->err)))
        return 0;
    return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud) {
    req_t *r = ud;
    size_t n = size * nmemb;
    if (r->in) {
        size_t k = fread(p, 1, n, r->in);
        if (k < n && ferror(r->in))
            return CURL_READFUNC_ABORT;
        return k;
    }
    if (n > r->len - r->off)
        n = r->len - r->off;
    memcpy(p, r->data + r->off, n);
    r->off += n;
    return n;
}

/* Performs one request; url is complete, method GET or PUT (then with
 * r->in or r->data and payload_sha256 its hex digest). */
static int perform(req_t *r, const char *method, const char *url,
                   const char *payload_sha256, curl_off_t upload_size,
                   long timeout_ms) {
    cfx_s3_t *s = r->s;
    CURL *h = s->h;
    char errbuf[CURL_ERROR_SIZE] = "";
    char hdr_sha[128], hdr_tok[4200];
    struct curl_slist *hdrs = NULL, *t;
    int rc = 0;
    curl_easy_reset(h);
    snprintf(hdr_sha, sizeof(hdr_sha), "x-amz-content-sha256: %s",
             payload_sha256);
    if (!(t = curl_slist_append(hdrs, hdr_sha)))
        goto nomem;
    hdrs = t;
    if (s->cfg.session_token[0]) {
        snprintf(hdr_tok, sizeof(hdr_tok), "x-amz-security-token: %s",
                 s->cfg.session_token);
        if (!(t = curl_slist_append(hdrs, hdr_tok)))
            goto nomem;
        hdrs = t;
    }
    if (!strcmp(method, "PUT")) {
        /* No "Expect:" header to suppress 100-continue: curl 7.88 would
         * sign it as a header although it sends none. */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, upload_size);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->cfg.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                     (s->cfg.request_timeout_ms + 999) / 1000);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->cfg.verify_ssl ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->cfg.verify_ssl ? 2L : 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (s->cfg.access_key[0]) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, s->cfg.access_key);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->cfg.secret_key);
    }
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (r->sink_rc) {
        rc = r->sink_rc;
    } else if (cc != CURLE_OK) {
        rc = cfx_error_set(r->err, CFX_EUNAVAILABLE, "%s: %s %s://%s: %s",
                           r->what, method, s->cfg.scheme, s->cfg.endpoint,
                           errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else if (status < 200 || status > 299) {
        char code[128], msg[512];
        /* an empty error body has no buffer: "" rather than NULL */
        cfx_s3_xml_parse_error(
            r->errbody.data ? (const char *)r->errbody.data : "",
            r->errbody.len, code, sizeof(code), msg, sizeof(msg));
        int c = status == 404                    ? CFX_ENOTFOUND
                : status >= 500 || status == 429 ? CFX_EUNAVAILABLE
                                                 : CFX_EIO;
        rc = cfx_error_set(r->err, c, "%s: %s answered HTTP %ld%s%s%s%s",
                           r->what, method, status, code[0] ? " " : "", code,
                           msg[0] ? ": " : "", msg);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    return rc;
nomem:
    curl_slist_free_all(hdrs);
    return cfx_error_set(r->err, CFX_ENOMEM, "out of memory");
}

/* <scheme>://<endpoint>/<bucket>[/<key>] into url. */
static int object_url(const cfx_s3_t *s, const char *bucket, const char *key,
                      cfx_buf_t *url) {
    int rc = cfx_buf_printf(url, "%s://%s/", s->cfg.scheme, s->cfg.endpoint);
    if (!rc)
        rc = cfx_s3_uri_encode(url, bucket, strlen(bucket), 0);
    if (!rc && key) {
        rc = cfx_buf_putc(url, '/');
        if (!rc)
            rc = cfx_s3_uri_encode(url, key, strlen(key), 1);
    }
    if (!rc)
        rc = cfx_buf_cstr(url);
    return rc;
}

static int buf_sink(void *ud, const void *data, size_t n, cfx_error_t *err) {
    if (cfx_buf_append(ud, data, n))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    return 0;
}

int cfx_s3_list(cfx_s3_t *s, const char *bucket, const char *prefix,
                size_t max_objects, cfx_s3_listing_t *out, cfx_error_t *err) {
    cfx_s3_listing_init(out);
    char *token = NULL;
    cfx_buf_t url, body;
    cfx_buf_init(&url);
    cfx_buf_init(&body);
    char what[CFX_S3_MAX_KEY + 80];
    snprintf(what, sizeof(what), "s3://%s/%s (listing)", bucket, prefix);
    int rc = 0;
    for (size_t page = 0;; page++) {
        if (page >= CFX_S3_MAX_PAGES) {
            rc = cfx_error_set(err, CFX_ETOOBIG, "%s: more than %d pages", what,
                               CFX_S3_MAX_PAGES);
            break;
        }
        cfx_buf_reset(&url);
        cfx_buf_reset(&body);
        /* query parameters in SigV4's canonical order (sorted by name) */
        rc = object_url(s, bucket, NULL, &url);
        if (!rc)
            rc = cfx_buf_putc(&url, '?');
        if (!rc && token) {
            rc = cfx_buf_printf(&url, "continuation-token=");
            if (!rc)
                rc = cfx_s3_uri_encode(&url, token, strlen(token), 0);
            if (!rc)
                rc = cfx_buf_putc(&url, '&');
        }
        if (!rc)
            rc = cfx_buf_printf(&url, "list-type=2&max-keys=1000");
        if (!rc && *prefix) {
            rc = cfx_buf_printf(&url, "&prefix=");
            if (!rc)
                rc = cfx_s3_uri_encode(&url, prefix, strlen(prefix), 0);
        }
        if (!rc)
            rc = cfx_buf_cstr(&url);
        if (rc) {
            rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
            break;
        }
        req_t r = {.s = s,
                   .what = what,
                   .sink = buf_sink,
                   .ud = &body,
                   .max = CFX_S3_MAX_PAGE,
                   .err = err};
        cfx_buf_init(&r.errbody);
        rc = perform(&r, "GET", (const char *)url.data, EMPTY_SHA256, 0,
                     LIST_TIMEOUT_MS);
        cfx_buf_free(&r.errbody);
        if (rc)
            break;
        if ((rc = cfx_s3_xml_parse_list((const char *)body.data, body.len,
                                        max_objects, out, err))) {
            cfx_error_prefix(err, "%s", what);
            break;
        }
        if (!out->is_truncated)
            break;
        free(token);
        token = out->next_token;
        out->next_token = NULL;
    }
    free(token);
    cfx_buf_free(&url);
    cfx_buf_free(&body);
    if (rc)
        cfx_s3_listing_free(out);
    return rc;
}

int cfx_s3_get(cfx_s3_t *s, const char *bucket, const char *key, uint64_t max,
               cfx_s3_sink_fn sink, void *ud, cfx_error_t *err) {
    cfx_buf_t url;
    cfx_buf_init(&url);
    char what[CFX_S3_MAX_KEY + 80];
    snprintf(what, sizeof(what), "s3://%s/%s", bucket, key);
    if (object_url(s, bucket, key, &url)) {
        cfx_buf_free(&url);
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    }
    req_t r = {
        .s = s, .what = what, .sink = sink, .ud = ud, .max = max, .err = err};
    cfx_buf_init(&r.errbody);
    int rc = perform(&r, "GET", (const char *)url.data, EMPTY_SHA256, 0,
                     OBJECT_TIMEOUT_MS);
    cfx_buf_free(&r.errbody);
    cfx_buf_free(&url);
    return rc;
}

int cfx_s3_get_buf(cfx_s3_t *s, const char *bucket, const char *key, size_t max,
                   cfx_buf_t *out, cfx_error_t *err) {
    size_t before = out->len;
    int rc = cfx_s3_get(s, bucket, key, max, buf_sink, out, err);
    if (!rc && cfx_buf_cstr(out))
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if (rc)
        out->len = before;
    return rc;
}

static int put(cfx_s3_t *s, const char *bucket, const char *key, req_t *r,
               const char *sha_hex, curl_off_t size) {
    cfx_buf_t url;
    cfx_buf_init(&url);
    if (object_url(s, bucket, key, &url)) {
        cfx_buf_free(&url);
        return cfx_error_set(r->err, CFX_ENOMEM, "out of memory");
    }
    cfx_buf_init(&r->errbody);
    r->sink = buf_sink; /* a 2xx body (none from S3) goes nowhere useful */
    cfx_buf_t ignored;
    cfx_buf_init(&ignored);
    r->ud = &ignored;
    r->max = MAX_ERROR_BODY;
    int rc = perform(r, "PUT", (const char *)url.data, sha_hex, size,
                     OBJECT_TIMEOUT_MS);
    cfx_buf_free(&ignored);
    cfx_buf_free(&r->errbody);
    cfx_buf_free(&url);
    return rc;
}

int cfx_s3_put_buf(cfx_s3_t *s, const char *bucket, const char *key,
                   const void *data, size_t len, cfx_error_t *err) {
    uint8_t d[CFX_SHA256_LEN];
    char hex[CFX_SHA256_HEX_LEN + 1];
    if (cfx_sha256(data, len, d))
        return cfx_error_set(err, CFX_EINTERNAL, "sha256 failed");
    cfx_sha256_hex(d, hex);
    char what[CFX_S3_MAX_KEY + 80];
    snprintf(what, sizeof(what), "s3://%s/%s", bucket, key);
    req_t r = {.s = s, .what = what, .data = data, .len = len, .err = err};
    return put(s, bucket, key, &r, hex, (curl_off_t)len);
}

int cfx_s3_put_file(cfx_s3_t *s, const char *bucket, const char *key,
                    const char *path, uint64_t max_bytes, cfx_error_t *err) {
    char hex[CFX_SHA256_HEX_LEN + 1];
    uint64_t size = 0;
    int rc = cfx_sha256_file_hex(path, max_bytes, hex, &size, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cfx_error_set(err, CFX_EIO, "%s: %s", path, strerror(errno));
    char what[CFX_S3_MAX_KEY + 80];
    snprintf(what, sizeof(what), "s3://%s/%s", bucket, key);
    req_t r = {.s = s, .what = what, .in = f, .err = err};
    /* A file changed after hashing is refused by the store (the signed
     * x-amz-content-sha256 no longer matches the body). */
    rc = put(s, bucket, key, &r, hex, (curl_off_t)size);
    fclose(f);
    return rc;
}
