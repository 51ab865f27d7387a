/*
 * file.h: whole-file reads with a size bound and atomic whole-file writes
 * (configs, schema.pbtxt, manifests, blessings).
 *
 * cfx_file_write_atomic writes "<dir>/.<name>.tmp.<pid>.<n>" in the target's
 * directory, fsyncs it, renames it over the target and fsyncs the directory,
 * so a reader sees either the old or the new content, never a mix, even
 * after a crash.
 *
 * Reentrant (cfx_file_remove_tree keeps its failure note in thread-local
 * storage).
 */
#ifndef CFX_FORMATS_FILE_H
#define CFX_FORMATS_FILE_H

#include <stddef.h>

#include "formats/buf.h"
#include "formats/err.h"

/* Appends the contents of path to out, NUL-terminated (not counted in
 * out->len). CFX_ETOOBIG when the file is larger than max bytes,
 * CFX_ENOTFOUND when it does not exist; err names the path. */
int cfx_file_read(const char *path, size_t max, cfx_buf_t *out,
                  cfx_error_t *err);

/* Replaces path with data[0..len) atomically (mode 0644). */
int cfx_file_write_atomic(const char *path, const void *data, size_t len,
                          cfx_error_t *err);

/* mkdir -p: creates dir and its missing parents (mode 0755 before umask);
 * an existing directory is fine. err names the component that failed. */
int cfx_file_mkdirs(const char *dir, cfx_error_t *err);

/* fsyncs the directory dir (after a rename or create inside it). */
int cfx_file_fsync_dir(const char *dir, cfx_error_t *err);

/* rm -r: removes path and, when it is a directory, everything under it.
 * Symbolic links are removed, never followed. A missing path (or an entry
 * that vanishes during the walk) is fine. CFX_EIO names the first entry that
 * could not be removed; the walk stops there. */
int cfx_file_remove_tree(const char *path, cfx_error_t *err);

#endif
