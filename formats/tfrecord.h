/*
 * tfrecord.h: TFRecord files, plain or gzip (one gzip stream over the whole
 * record stream, chosen by the ".gz" suffix, as Beam/TF do).
 *
 * Record framing, little-endian: u64 length, u32 masked CRC32C of the 8
 * length bytes, data, u32 masked CRC32C of data. Every CRC is checked on
 * read; a corrupt length, a CRC mismatch or a truncated record is an error
 * naming the file and the byte offset (in the uncompressed stream) of the
 * record. Codes: CFX_ECORRUPT for a length whose CRC does not match (or a
 * broken gzip stream), CFX_ECHECKSUM for a data CRC mismatch,
 * CFX_ETRUNCATED for a record cut short, CFX_ETOOBIG for a record over
 * CFX_TFRECORD_MAX_RECORD. Concatenated gzip members are read as one stream.
 *
 * Objects are owned by one thread at a time.
 */
#ifndef CFX_FORMATS_TFRECORD_H
#define CFX_FORMATS_TFRECORD_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

/* Largest record accepted by the reader (bound everything sized by input). */
#define CFX_TFRECORD_MAX_RECORD (256u * 1024 * 1024)

/* gzip level of cfx_tfrecord_writer_open: 1 (fastest) because examplegen
 * writes millions of records; level 6 costs ~3x the CPU for ~15% less. */
#define CFX_TFRECORD_GZIP_LEVEL 1

uint32_t cfx_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t cfx_crc32c_mask(uint32_t crc);
/* The portable slicing-by-8 path alone (tests compare it with the default,
 * which uses the SSE4.2 instruction when present). */
uint32_t cfx_crc32c_sw(uint32_t crc, const void *data, size_t n);

typedef struct cfx_tfrecord_reader cfx_tfrecord_reader_t;
typedef struct cfx_tfrecord_writer cfx_tfrecord_writer_t;

/* Opens path for reading; gzip when the name ends in ".gz". */
int cfx_tfrecord_reader_open(const char *path, cfx_tfrecord_reader_t **out,
                             cfx_error_t *err);
/* Next record: returns 1 with *data and *len valid until the next call,
 * 0 at a clean end of file, or a negative code with err set. */
int cfx_tfrecord_read(cfx_tfrecord_reader_t *r, const uint8_t **data,
                      size_t *len, cfx_error_t *err);
/* Uncompressed byte offset of the next record. */
uint64_t cfx_tfrecord_reader_offset(const cfx_tfrecord_reader_t *r);
void cfx_tfrecord_reader_free(cfx_tfrecord_reader_t *r);

/* Creates (truncates) path; gzip when the name ends in ".gz". */
int cfx_tfrecord_writer_open(const char *path, cfx_tfrecord_writer_t **out,
                             cfx_error_t *err);
/* Same with an explicit gzip level 0..9 (ignored for plain files). */
int cfx_tfrecord_writer_open_level(const char *path, int gzip_level,
                                   cfx_tfrecord_writer_t **out,
                                   cfx_error_t *err);
int cfx_tfrecord_write(cfx_tfrecord_writer_t *w, const void *data, size_t len,
                       cfx_error_t *err);
/* Flushes, fsyncs and closes; the writer is freed whatever the result. */
int cfx_tfrecord_writer_close(cfx_tfrecord_writer_t *w, cfx_error_t *err);
/* Frees without completing (error paths; the caller removes the file). */
void cfx_tfrecord_writer_abort(cfx_tfrecord_writer_t *w);

/* Sorted list of the regular files in dir (e.g. a Split-<name>/ folder),
 * full paths, names starting with '.' skipped (temporaries); *out is a
 * NULL-terminated malloc'd array freed with cfx_path_list_free. */
int cfx_tfrecord_list_dir(const char *dir, char ***out, size_t *count,
                          cfx_error_t *err);
void cfx_path_list_free(char **list);

/* The record files of one split of an Examples artifact: those of
 * <dir>/Split-<split> when that folder exists, else those of dir itself
 * (a folder of records given directly). As cfx_tfrecord_list_dir. */
int cfx_tfrecord_list_split(const char *dir, const char *split, char ***out,
                            size_t *count, cfx_error_t *err);

#endif
