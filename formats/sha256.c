/* sha256.c: SHA-256 through libcrypto's EVP interface (the maintained,
 * hardware-accelerated implementation). */
#include "formats/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define FILE_CHUNK (256 * 1024)

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

int cfx_sha256_file(const char *path, uint8_t out[CFX_SHA256_LEN],
                    uint64_t *size, cfx_error_t *err) {
    if (size != NULL)
        *size = 0;
    int rc = 0;
    uint64_t total = 0;
    cfx_sha256_t h = {NULL};
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfx_error_set(err, errno == ENOENT ? CFX_ENOTFOUND : CFX_EIO,
                             "%s: open: %s", path, strerror(errno));
    buf = malloc(FILE_CHUNK);
    if (buf == NULL || (rc = cfx_sha256_init(&h)) != 0) {
        rc = cfx_error_set(err, rc ? rc : CFX_ENOMEM, "%s: sha256: %s", path,
                           cfx_err_str(rc ? rc : CFX_ENOMEM));
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, FILE_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = cfx_error_set(err, CFX_EIO, "%s: read: %s", path,
                               strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if ((rc = cfx_sha256_update(&h, buf, (size_t)n)) != 0) {
            rc = cfx_error_set(err, rc, "%s: sha256 update failed", path);
            goto out;
        }
        total += (uint64_t)n;
    }
    if ((rc = cfx_sha256_final(&h, out)) != 0) {
        rc = cfx_error_set(err, rc, "%s: sha256 final failed", path);
        goto out;
    }
    if (size != NULL)
        *size = total;
out:
    cfx_sha256_abort(&h);
    free(buf);
    close(fd);
    return rc;
}
