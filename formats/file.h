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
#include <stdint.h>

#include "formats/buf.h"
#include "formats/err.h"

/* Appends the contents of path to out, NUL-terminated (not counted in
 * out->len). CFX_ETOOBIG when the file is larger than max bytes,
 * CFX_ENOTFOUND when it does not exist, CFX_EINVAL for a directory; err
 * names the path. On error out is as it was. This is the one whole-file
 * read of the tree: every reader of a config, schema, spec or vocabulary
 * passes its own limit here. */
int cfx_file_read(const char *path, size_t max, cfx_buf_t *out,
                  cfx_error_t *err);

/* Receives the next n bytes (n > 0) of a chunked read; 0 to go on, or a
 * negative code (with err set) that ends the read and is returned. */
typedef int (*cfx_file_chunk_fn)(void *ud, const void *data, size_t n,
                                 cfx_error_t *err);

/* Reads path in chunks of up to 256 KiB (constant memory), handing each to
 * fn, with the errors and the limit of cfx_file_read. *size (may be NULL)
 * gets the number of bytes read, 0 on error. */
int cfx_file_read_chunks(const char *path, uint64_t max, cfx_file_chunk_fn fn,
                         void *ud, uint64_t *size, cfx_error_t *err);

/* write(2) until all n bytes are out, retrying on EINTR and short writes:
 * 0, or -1 with errno set (the caller names the file). */
int cfx_file_write_all(int fd, const void *data, size_t n);

/* Replaces path with data[0..len) atomically (mode 0644). */
int cfx_file_write_atomic(const char *path, const void *data, size_t len,
                          cfx_error_t *err);

/* mkdir -p: creates dir and its missing parents (mode 0755 before umask);
 * an existing directory is fine. err names the component that failed. */
int cfx_file_mkdirs(const char *dir, cfx_error_t *err);

/* fsyncs the directory dir (after a rename or create inside it). */
int cfx_file_fsync_dir(const char *dir, cfx_error_t *err);

/* 1 when path (links followed) is a directory / a regular file, else 0
 * (also when it cannot be reached). */
int cfx_file_is_dir(const char *path);
int cfx_file_is_regular(const char *path);

/* 0 when path does not exist (stat fails: creating it reports why) or is a
 * directory with no entries, a place a new artifact may be published;
 * CFX_EEXIST naming path when it is something else ("exists and is not a
 * directory", "output directory exists and is not empty"), CFX_EIO when
 * the directory cannot be read. */
int cfx_file_check_empty_dir(const char *path, cfx_error_t *err);

/* The same as a yes (1) / no (0), for callers with their own message. */
int cfx_file_absent_or_empty(const char *path);

/* rm -r: removes path and, when it is a directory, everything under it.
 * Symbolic links are removed, never followed. A missing path (or an entry
 * that vanishes during the walk) is fine. CFX_EIO names the first entry that
 * could not be removed; the walk stops there. */
int cfx_file_remove_tree(const char *path, cfx_error_t *err);

#endif
