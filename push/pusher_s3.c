/*
 * pusher_s3.c: publishing a bundle as the next version under an s3:// base
 * path (pusher.h, docs/s3.md).
 *
 * S3 has no rename, so the order of uploads is the publication: every
 * file the manifest lists goes up first, manifest.json last. A reader
 * (serve/s3_source.h) lists a version only once its manifest is there and
 * then finds every file it names, each checked against the manifest's
 * SHA-256 as it downloads.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bundle.h"
#include "model/bundle_writer.h"
#include "push/pusher.h"
#include "store/s3.h"

#define MAX_OBJECTS 200000 /* objects one listing of the base may hold */

/* The largest N with any object under <prefix>/<N>/ (a push under way
 * counts: its number is taken), 0 when none. */
static int latest_version(cfx_s3_t *s3, const cfx_s3_url_t *u, int64_t *out,
                          cfx_error_t *err) {
    char prefix[sizeof(u->prefix) + 1];
    snprintf(prefix, sizeof(prefix), "%s%s", u->prefix,
             u->prefix[0] ? "/" : "");
    size_t pl = strlen(prefix);
    cfx_s3_listing_t l;
    int rc = cfx_s3_list(s3, u->bucket, prefix, MAX_OBJECTS, &l, err);
    if (rc)
        return rc;
    *out = 0;
    for (size_t i = 0; i < l.n; i++) {
        /* the store's answer is checked, not trusted: a key may be shorter
         * than the prefix asked for */
        if (strncmp(l.objects[i].key, prefix, pl) != 0)
            continue;
        const char *rest = l.objects[i].key + pl, *slash = strchr(rest, '/');
        if (!slash || slash == rest || slash - rest > 18)
            continue;
        int64_t v = 0;
        const char *p = rest;
        for (; p < slash && *p >= '0' && *p <= '9'; p++)
            v = v * 10 + (*p - '0');
        if (p == slash && v > *out)
            *out = v;
    }
    cfx_s3_listing_free(&l);
    return 0;
}

int cfx_pusher_push_s3(const char *model_dir, const char *base,
                       int64_t *version, char *dest, size_t cap,
                       cfx_error_t *err) {
    cfx_s3_url_t u;
    cfx_s3_config_t *cfg = NULL;
    cfx_s3_t *s3 = NULL;
    json_t *m = NULL;
    char path[4096], key[CFX_S3_MAX_KEY + 1100];
    int rc;
    *version = 0;
    if ((rc = cfx_s3_url_parse(base, &u, err)))
        return rc;
    if (!(cfg = malloc(sizeof(*cfg))))
        return cfx_error_set(err, CFX_ENOMEM, "out of memory");
    if ((rc = cfx_s3_config_from_env(cfg, err)) ||
        (rc = cfx_s3_new(cfg, &s3, err)))
        goto out;
    int64_t latest;
    if ((rc = latest_version(s3, &u, &latest, err)))
        goto out;
    int64_t v = latest + 1;
    snprintf(path, sizeof(path), "%s/manifest.json", model_dir);
    json_error_t jerr;
    m = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *files = m ? json_object_get(m, "files") : NULL;
    if (!json_is_object(files)) {
        rc = cfx_error_set(err, CFX_EPARSE, "%s: %s", path,
                           m ? "'files' must be an object" : jerr.text);
        goto out;
    }
    const char *pre = u.prefix, *sep = u.prefix[0] ? "/" : "";
    const char *rel;
    json_t *e;
    json_object_foreach(files, rel, e) {
        /* cfx_bundle_load checked every name, size and checksum */
        snprintf(path, sizeof(path), "%s/%s", model_dir, rel);
        snprintf(key, sizeof(key), "%s%s%" PRId64 "/%s", pre, sep, v, rel);
        if ((rc = cfx_s3_put_file(s3, u.bucket, key, path, CFX_BUNDLE_MAX_FILE,
                                  err)))
            goto out;
    }
    snprintf(path, sizeof(path), "%s/manifest.json", model_dir);
    snprintf(key, sizeof(key), "%s%s%" PRId64 "/manifest.json", pre, sep, v);
    if ((rc = cfx_s3_put_file(s3, u.bucket, key, path, CFX_BUNDLE_MAX_FILE,
                              err)))
        goto out;
    *version = v;
    if (dest && cap)
        snprintf(dest, cap, "s3://%s/%s%s%" PRId64, u.bucket, pre, sep, v);
out:
    json_decref(m);
    cfx_s3_free(s3);
    free(cfg);
    return rc;
}
