/*
 * rest_route.c: matching TF Serving's REST paths (see rest_route.h),
 * without regexes: a few prefix checks in the order of the pattern.
 */
#include "serve/rest_route.h"

#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int prefix_ci(const char *s, const char *p, const char **rest) {
    size_t n = strlen(p);
    if (strncasecmp(s, p, n) != 0)
        return 0;
    *rest = s + n;
    return CFX_ROUTE_MALFORMED;
}

/* Copies a `[^/:]+` segment, URL-decoded; returns chars consumed or 0. */
static size_t segment(const char *s, char *dst, size_t cap) {
    size_t n = strcspn(s, "/:");
    if (n == 0 || n >= cap)
        return 0;
    char raw[256];
    memcpy(raw, s, n);
    raw[n] = 0;
    size_t outlen = 0;
    char *dec = evhttp_uridecode(raw, 0, &outlen);
    if (!dec || outlen >= cap || outlen == 0 || memchr(dec, 0, outlen)) {
        free(dec);
        return 0;
    }
    memcpy(dst, dec, outlen + 1);
    free(dec);
    return n;
}

int cfx_rest_route_parse(const char *path, int post, cfx_rest_route_t *rt,
                         char *msg, size_t msgcap) {
    const char *p;
    memset(rt, 0, sizeof(*rt));
    rt->version = -1;
    if (!prefix_ci(path, "/v1/models", &p))
        return CFX_ROUTE_MALFORMED;
    if (!post && *p == 0)
        return CFX_ROUTE_MISSING_NAME;
    if (*p != '/')
        return CFX_ROUTE_MALFORMED;
    p++;
    size_t n = segment(p, rt->name, sizeof(rt->name));
    if (!n)
        return CFX_ROUTE_MALFORMED;
    p += n;
    const char *q;
    if (prefix_ci(p, "/versions/", &q)) {
        size_t d = strspn(q, "0123456789");
        if (!d)
            return CFX_ROUTE_MALFORMED;
        int64_t v = 0;
        for (size_t i = 0; i < d; i++) {
            if (v > (INT64_MAX - (q[i] - '0')) / 10) {
                snprintf(msg, msgcap, "Failed to convert version: %.*s",
                         (int)(d > 64 ? 64 : d), q);
                return CFX_ROUTE_BAD_VERSION;
            }
            v = v * 10 + (q[i] - '0');
        }
        rt->version = v;
        p = q + d;
    } else if (prefix_ci(p, "/labels/", &q)) {
        n = segment(q, rt->label, sizeof(rt->label));
        if (!n)
            return CFX_ROUTE_MALFORMED;
        rt->has_label = 1;
        p = q + n;
    }
    if (post) {
        if (!strcasecmp(p, ":predict"))
            rt->kind = CFX_ROUTE_PREDICT;
        else if (!strcasecmp(p, ":classify"))
            rt->kind = CFX_ROUTE_CLASSIFY;
        else if (!strcasecmp(p, ":regress"))
            rt->kind = CFX_ROUTE_REGRESS;
        else
            return CFX_ROUTE_MALFORMED;
    } else {
        if (*p == 0)
            rt->kind = CFX_ROUTE_STATUS;
        else if (!strcasecmp(p, "/metadata"))
            rt->kind = CFX_ROUTE_METADATA;
        else
            return CFX_ROUTE_MALFORMED;
    }
    return CFX_ROUTE_OK;
}
