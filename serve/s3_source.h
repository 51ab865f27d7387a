/*
 * s3_source.h: a model's versions in an S3 bucket, for the model manager
 * (docs/s3.md).
 *
 * A base path s3://bucket/prefix holds one version per numeric "folder"
 * prefix/<N>/, the same bundle layout as on disk (docs/design.md, "The
 * bundle contract"). A version exists once prefix/<N>/manifest.json does:
 * `cfx push --to s3://...` uploads every other file first and the
 * manifest last, so a version without its manifest is a push still under
 * way and is not listed. A listed version is downloaded into the local
 * cache (<cache_dir>/<model>-<hash of the base path>/<N>/), each file
 * checked against the size and SHA-256 the manifest lists while it
 * arrives, the manifest written last and the folder published by one
 * rename; the manager then loads that folder like any local version.
 *
 * A version's total size is bounded (docs/s3.md, "Bounds"): the listed
 * sizes of its objects, then what its manifest declares, are checked
 * against the cap before anything is written, and the bytes that actually
 * arrive are counted against it while they do, so a listing that
 * understates them cannot fill the disk.
 *
 * Thread-safety: one source belongs to the manager's loader thread.
 */
#ifndef CFX_SERVE_S3_SOURCE_H
#define CFX_SERVE_S3_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"
#include "formats/sha256.h"

typedef struct cfx_s3_source cfx_s3_source_t;

/* The cache folder used when none is given: $CACHE_DIRECTORY/models
 * (systemd's CacheDirectory=), else $XDG_CACHE_HOME/cfx-serve/models,
 * else $HOME/.cache/cfx-serve/models, else /var/tmp/cfx-serve-<uid>. */
void cfx_s3_source_default_cache(char *out, size_t cap);

/* base_url is s3://bucket/prefix; cache_dir may be NULL (the default);
 * max_version_bytes caps what one version may download, manifest included
 * (cfx-serve's --s3_max_version_bytes), 0 for no cap. Reads the S3
 * environment (store/s3.h); errors name the variable or the URL. */
int cfx_s3_source_new(const char *model_name, const char *base_url,
                      const char *cache_dir, uint64_t max_version_bytes,
                      cfx_s3_source_t **out, cfx_error_t *err);
void cfx_s3_source_free(cfx_s3_source_t *src); /* NULL is fine */

/* The model's cache folder: <cache_dir>/<model name, cleaned>-<16 hex
 * digits of the SHA-256 of the model name, a NUL byte and base_url>. */
const char *cfx_s3_source_cache(const cfx_s3_source_t *src);

/* The versions that have a manifest, descending; past max, the highest.
 * *out is malloc'd (free it). Errors: the store unreachable or refusing
 * (CFX_EUNAVAILABLE, CFX_EIO, CFX_ENOTFOUND for a missing bucket), a
 * listing past its bounds (CFX_ETOOBIG). */
int cfx_s3_source_list(cfx_s3_source_t *src, size_t max, int64_t **out,
                       size_t *n, cfx_error_t *err);

/* The identity of version v's objects (key, size and ETag of each) in the
 * last listing; all zeros when v was not in it. */
void cfx_s3_source_fingerprint(const cfx_s3_source_t *src, int64_t v,
                               uint8_t fp[CFX_SHA256_LEN]);

/* Makes version v present and verified in the cache (downloading what the
 * cached copy lacks) and writes its folder to dir. CFX_ECHECKSUM names the
 * object whose size or SHA-256 differs from manifest.json. CFX_ETOOBIG,
 * naming the model, the version, the cap and the bytes, when the version
 * is larger than max_version_bytes: by the last listing's sizes of its
 * objects (then nothing is fetched), by the sizes its manifest declares
 * (then nothing but the manifest is fetched), or by the bytes received
 * (then the transfer stops). Whatever was written is removed; a cached
 * copy is not used for a version over the cap either. */
int cfx_s3_source_fetch(cfx_s3_source_t *src, int64_t v, char *dir, size_t cap,
                        cfx_error_t *err);

/* Removes cached versions other than keep[0..n) and leftovers of
 * interrupted downloads. */
void cfx_s3_source_prune(cfx_s3_source_t *src, const int64_t *keep, size_t n);

#endif
