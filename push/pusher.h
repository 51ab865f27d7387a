/*
 * pusher.h: the Pusher component — publishes a blessed bundle as the next
 * version under a serving base path, atomically (docs/push.md):
 *
 *   1. leftovers of crashed pushes (hidden `.tmp-<pid>-<n>` folders whose
 *      process is gone) are removed;
 *   2. the bundle is verified (cfx_bundle_load: manifest and checksums);
 *   3. it is copied into `<base>/.tmp-<pid>-<n>/`, every file and folder
 *      fsynced;
 *   4. the folder is renamed to `<base>/<N+1>` (N = the largest numeric
 *      version present, 0 when none; never replacing an existing version)
 *      and `<base>` is fsynced.
 *
 * A server watching <base> (or a replica on a shared path) therefore sees a
 * version complete or not at all, even after kill -9 or a power cut. TFX
 * names versions by UNIX time; cfx uses the next integer so versions order
 * by push even within one second (docs/push.md).
 *
 * An s3://bucket/prefix base is published by uploads instead
 * (cfx_pusher_push_s3).
 *
 * Threads: reentrant; concurrent pushers to one local base get distinct
 * versions.
 */
#ifndef CFX_PUSH_PUSHER_H
#define CFX_PUSH_PUSHER_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

/* Largest file copied (bound everything sized by input). */
#define CFX_PUSH_MAX_FILE (4ull << 30)
/* Deepest folder nesting copied. */
#define CFX_PUSH_MAX_DEPTH 16

/* 1 when dir holds the empty `yes` file (e.g. "BLESSED") and not `no`
 * ("NOT_BLESSED"); 0 otherwise with why (cap bytes) saying what was found. */
int cfx_pusher_is_blessed(const char *dir, const char *yes, const char *no,
                          char *why, size_t cap);

/* Publishes model_dir as the next version under base (created when
 * absent). *version and dest (cap bytes, may be NULL) get the version and
 * its path. A base s3://bucket/prefix goes to cfx_pusher_push_s3. */
int cfx_pusher_push(const char *model_dir, const char *base, int64_t *version,
                    char *dest, size_t cap, cfx_error_t *err);

/* Publishes model_dir (already verified) as s3://bucket/prefix/<N+1>, N
 * the largest version with any object there: every file the manifest
 * lists first, manifest.json last, so a reader that lists a version by
 * its manifest never sees it partial (docs/s3.md). The connection comes
 * from the S3 environment (store/s3.h). One pusher per base path at a
 * time: S3 has no rename to settle two pushes racing for one number. */
int cfx_pusher_push_s3(const char *model_dir, const char *base,
                       int64_t *version, char *dest, size_t cap,
                       cfx_error_t *err);

/* Removes hidden temporary folders of pushes whose process is gone; returns
 * how many were removed (or a negative code). */
int cfx_pusher_clean(const char *base, cfx_error_t *err);

/* The largest numeric version folder under base (0 when none). */
int cfx_pusher_latest_version(const char *base, int64_t *version,
                              cfx_error_t *err);

#endif
