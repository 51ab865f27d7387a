/* sha256.c: SHA-256 through libcrypto's EVP interface (the maintained,
 * hardware-accelerated implementation). */
#include "formats/sha256.h"

#include <openssl/evp.h>

#include "formats/file.h"

int cfx_sha256(const void *data, size_t len, uint8_t out[CFX_SHA256_LEN]) {
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 ||
        n != CFX_SHA256_LEN)
        return CFX_EINTERNAL;
    return 0;
}

int cfx_sha256_init(cfx_sha256_t *h) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    h->evp = c;
    if (c == NULL)
        return CFX_ENOMEM;
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        cfx_sha256_abort(h);
        return CFX_EINTERNAL;
    }
    return 0;
}

int cfx_sha256_update(cfx_sha256_t *h, const void *data, size_t len) {
    if (h->evp == NULL)
        return CFX_ESTATE;
    return EVP_DigestUpdate(h->evp, data, len) == 1 ? 0 : CFX_EINTERNAL;
}

int cfx_sha256_final(cfx_sha256_t *h, uint8_t out[CFX_SHA256_LEN]) {
    if (h->evp == NULL)
        return CFX_ESTATE;
    unsigned int n = 0;
    int ok = EVP_DigestFinal_ex(h->evp, out, &n) == 1 && n == CFX_SHA256_LEN;
    cfx_sha256_abort(h);
    return ok ? 0 : CFX_EINTERNAL;
}

void cfx_sha256_abort(cfx_sha256_t *h) {
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->evp);
    h->evp = NULL;
}

void cfx_sha256_hex(const uint8_t digest[CFX_SHA256_LEN],
                    char out[CFX_SHA256_HEX_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < CFX_SHA256_LEN; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[CFX_SHA256_HEX_LEN] = '\0';
}

static int hash_chunk(void *ud, const void *data, size_t n, cfx_error_t *err) {
    int rc = cfx_sha256_update(ud, data, n);
    return rc ? cfx_error_set(err, rc, "sha256 update failed") : 0;
}

/* The one SHA-256 of a file: chunks from cfx_file_read_chunks. */
static int hash_file(const char *path, uint64_t max,
                     uint8_t out[CFX_SHA256_LEN], uint64_t *size,
                     cfx_error_t *err) {
    if (size != NULL)
        *size = 0;
    cfx_sha256_t h = {NULL};
    int rc = cfx_sha256_init(&h);
    if (rc)
        return cfx_error_set(err, rc, "%s: sha256: %s", path, cfx_err_str(rc));
    uint64_t total = 0;
    rc = cfx_file_read_chunks(path, max, hash_chunk, &h, &total, err);
    if (rc == 0 && (rc = cfx_sha256_final(&h, out)) != 0)
        rc = cfx_error_set(err, rc, "%s: sha256 final failed", path);
    if (rc == 0 && size != NULL)
        *size = total;
    cfx_sha256_abort(&h);
    return rc;
}

int cfx_sha256_file(const char *path, uint8_t out[CFX_SHA256_LEN],
                    uint64_t *size, cfx_error_t *err) {
    return hash_file(path, UINT64_MAX, out, size, err);
}

int cfx_sha256_file_hex(const char *path, uint64_t max,
                        char hex[CFX_SHA256_HEX_LEN + 1], uint64_t *size,
                        cfx_error_t *err) {
    uint8_t d[CFX_SHA256_LEN];
    hex[0] = '\0';
    int rc = hash_file(path, max, d, size, err);
    if (rc == 0)
        cfx_sha256_hex(d, hex);
    return rc;
}
