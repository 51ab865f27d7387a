/*
 * sha256.h: SHA-256 over OpenSSL's libcrypto (EVP), for bundle checksums,
 * cache keys and hash-based splits.
 *
 * cfx_sha256_t is caller-owned (init, update..., final); final releases it.
 * Reentrant; one context belongs to one thread at a time.
 */
#ifndef CFX_FORMATS_SHA256_H
#define CFX_FORMATS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "formats/err.h"

#define CFX_SHA256_LEN 32
#define CFX_SHA256_HEX_LEN 64

typedef struct cfx_sha256 {
    void *evp; /* EVP_MD_CTX, opaque here */
} cfx_sha256_t;

/* One shot; 0 or CFX_ENOMEM/CFX_EINTERNAL. */
int cfx_sha256(const void *data, size_t len, uint8_t out[CFX_SHA256_LEN]);

int cfx_sha256_init(cfx_sha256_t *h);
int cfx_sha256_update(cfx_sha256_t *h, const void *data, size_t len);
/* Writes the digest and frees the context (also on error). */
int cfx_sha256_final(cfx_sha256_t *h, uint8_t out[CFX_SHA256_LEN]);
/* Frees a context without a digest (error paths); NULL-safe. */
void cfx_sha256_abort(cfx_sha256_t *h);

/* Lowercase hex of a digest: 64 characters and a NUL. */
void cfx_sha256_hex(const uint8_t digest[CFX_SHA256_LEN],
                    char out[CFX_SHA256_HEX_LEN + 1]);

/* Digest of a whole file read in chunks (constant memory) through
 * cfx_file_read_chunks: CFX_ENOTFOUND for a missing file, CFX_EINVAL for a
 * directory. *size (may be NULL) gets the number of bytes hashed. err names
 * the path. No size limit: hashing needs no memory per byte. */
int cfx_sha256_file(const char *path, uint8_t out[CFX_SHA256_LEN],
                    uint64_t *size, cfx_error_t *err);

/* The same with the digest in lowercase hex ("" on error), refusing a file
 * of more than max bytes (CFX_ETOOBIG). This and cfx_sha256_file are the
 * one SHA-256 of a file in the tree (bundle manifests, config digests,
 * model identity). */
int cfx_sha256_file_hex(const char *path, uint64_t max,
                        char hex[CFX_SHA256_HEX_LEN + 1], uint64_t *size,
                        cfx_error_t *err);

#endif
