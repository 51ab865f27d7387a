/*
 * auth.c: bearer tokens and the admin / inference gates (see auth.h).
 */
#include "serve/auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "formats/buf.h"
#include "formats/file.h"
#include "formats/sha256.h"

#define TOKEN_FILE_MAX 4096

int cfx_auth_bearer_ok(const char *token, const char *authorization) {
    if (!token || !*token || !authorization)
        return 0;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    uint8_t want[CFX_SHA256_LEN], got[CFX_SHA256_LEN];
    if (cfx_sha256(token, strlen(token), want) != 0 ||
        cfx_sha256(given, strlen(given), got) != 0)
        return 0;
    return CRYPTO_memcmp(want, got, CFX_SHA256_LEN) == 0;
}

int cfx_auth_admin(const cfx_serve_flags_t *f, const cfx_auth_peer_t *p,
                   char *why, size_t n) {
    if (!f->enable_admin_rpc) {
        snprintf(why, n,
                 "the admin API is disabled (start cfx-serve with "
                 "--enable_admin_rpc to allow HandleReloadConfigRequest)");
        return 7;
    }
    if (p->local || p->peer_verified ||
        cfx_auth_bearer_ok(f->admin_token, p->authorization))
        return 0;
    snprintf(why, n,
             p->authorization ? "invalid admin credentials"
                              : "the admin API needs \"authorization: Bearer "
                                "<token>\" (--admin_token_file), a verified "
                                "client certificate or the unix socket");
    return 16;
}

int cfx_auth_inference(const cfx_serve_flags_t *f, const cfx_auth_peer_t *p,
                       char *why, size_t n) {
    /* The admin token carries the lesser right too, so an admin call
     * passes the inference gate in front of every method. */
    if (!f->inference_token || p->local || p->peer_verified ||
        cfx_auth_bearer_ok(f->inference_token, p->authorization) ||
        cfx_auth_bearer_ok(f->admin_token, p->authorization))
        return 0;
    snprintf(why, n,
             p->authorization
                 ? "invalid bearer token"
                 : "missing \"authorization: Bearer <token>\" header");
    return 16;
}

int cfx_auth_read_token(const char *path, char **out, cfx_error_t *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return cfx_error_set(err, CFX_EIO, "%s: cannot read the token file",
                             path);
    if (st.st_mode & (S_IROTH | S_IWOTH))
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: the token file is readable by other users "
                             "(chmod 600 it)",
                             path);
    cfx_buf_t b;
    cfx_buf_init(&b);
    int rc = cfx_file_read(path, TOKEN_FILE_MAX, &b, err);
    if (rc)
        goto out;
    size_t len = 0;
    while (len < b.len && b.data[len] != '\n' && b.data[len] != '\r')
        len++;
    if (len == 0) {
        rc = cfx_error_set(err, CFX_EINVAL, "%s:1: empty token", path);
        goto out;
    }
    for (size_t i = 0; i < len; i++)
        if (b.data[i] <= 0x20 || b.data[i] >= 0x7f) {
            rc = cfx_error_set(err, CFX_EINVAL,
                               "%s:1: the token may hold only visible ASCII "
                               "characters (byte %zu)",
                               path, i + 1);
            goto out;
        }
    *out = strndup((const char *)b.data, len);
    if (!*out)
        rc = cfx_error_set(err, CFX_ENOMEM, "out of memory");
out:
    cfx_buf_free(&b);
    return rc;
}
