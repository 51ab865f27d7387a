/*
 * tls.c: the OpenSSL server context of cfx-serve's ports (see tls.h).
 *
 * The PEM text of the SSLConfig is read through memory BIOs: the first
 * private key of server_key; the first certificate of server_cert as the
 * leaf and the rest as its chain; every certificate of custom_ca into the
 * verify store and into the CA names a CertificateRequest lists. Each
 * failure names the field and OpenSSL's reason.
 */
#include "serve/tls.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct cfx_tls {
    SSL_CTX *ctx;
};

const char *cfx_tls_error(char *buf, size_t n) {
    unsigned long e = ERR_get_error();
    if (n)
        buf[0] = 0;
    if (e && n)
        ERR_error_string_n(e, buf, n);
    ERR_clear_error();
    return buf;
}

int cfx_tls_error_is_plain_http(void) {
    unsigned long e = ERR_peek_error();
    return ERR_GET_LIB(e) == ERR_LIB_SSL &&
           (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST ||
            ERR_GET_REASON(e) == SSL_R_HTTPS_PROXY_REQUEST);
}

/* Fails with "where: field: what (OpenSSL's reason)". */
static int fail(cfx_error_t *err, const char *where, const char *field,
                const char *what) {
    char why[256];
    cfx_tls_error(why, sizeof(why));
    return cfx_error_set(err, CFX_EINVAL, "%s: %s: %s%s%s%s", where, field,
                         what, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

static BIO *pem_bio(const char *text) {
    return BIO_new_mem_buf(text, -1);
}

/* ALPN: the port's protocol when the client offers it, else the
 * no_application_protocol alert. */
static int select_alpn(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
    (void)ssl;
    const char *alpn = arg; /* a string constant, see cfx_tls_new */
    size_t alen = strlen(alpn);
    for (unsigned int i = 0; i < inlen;) {
        unsigned int len = in[i];
        if (i + 1 + len > inlen)
            break;
        if (len == alen && memcmp(in + i + 1, alpn, len) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A certificate asked for but not required: its verdict is kept
 * (SSL_get_verify_result) without failing the handshake. */
static int accept_any(int ok, X509_STORE_CTX *x) {
    (void)ok;
    (void)x;
    return 1;
}

static int load_key_and_chain(SSL_CTX *ctx, const cfx_ssl_config_t *cfg,
                              const char *where, cfx_error_t *err) {
    int rc = 0;
    EVP_PKEY *key = NULL;
    X509 *leaf = NULL, *extra = NULL;
    BIO *b = pem_bio(cfg->server_key);
    if (!b || !(key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL))) {
        rc = fail(err, where, "server_key", "no PEM private key");
        goto out;
    }
    BIO_free(b);
    b = pem_bio(cfg->server_cert);
    if (!b || !(leaf = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        rc = fail(err, where, "server_cert", "no PEM certificate");
        goto out;
    }
    if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
        rc = fail(err, where, "server_cert", "certificate refused");
        goto out;
    }
    while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            rc = fail(err, where, "server_cert", "chain certificate refused");
            goto out;
        }
    }
    ERR_clear_error(); /* the end of the PEM text */
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        rc = fail(err, where, "server_key",
                  "does not match the server_cert certificate");
        goto out;
    }
out:
    BIO_free(b);
    X509_free(leaf);
    EVP_PKEY_free(key);
    return rc;
}

static int load_client_ca(SSL_CTX *ctx, const cfx_ssl_config_t *cfg,
                          const char *where, cfx_error_t *err) {
    int rc = 0, n = 0;
    X509 *ca = NULL;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    BIO *b = pem_bio(cfg->custom_ca);
    if (!b)
        return fail(err, where, "custom_ca", "out of memory");
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (X509_STORE_add_cert(store, ca) != 1 ||
            SSL_CTX_add_client_CA(ctx, ca) != 1) {
            rc = fail(err, where, "custom_ca", "certificate refused");
            goto out;
        }
        X509_free(ca);
        ca = NULL;
        n++;
    }
    if (n == 0) {
        rc = fail(err, where, "custom_ca", "no PEM certificate");
        goto out;
    }
    ERR_clear_error();
out:
    X509_free(ca);
    BIO_free(b);
    return rc;
}

int cfx_tls_new(const cfx_ssl_config_t *cfg, const char *where,
                const char *alpn, cfx_tls_t **out, cfx_error_t *err) {
    int rc = 0;
    *out = NULL;
    where = where ? where : "--ssl_config_file";
    if (!cfg->server_key || !*cfg->server_key)
        return cfx_error_set(err, CFX_EINVAL, "%s: server_key is empty", where);
    if (!cfg->server_cert || !*cfg->server_cert)
        return cfx_error_set(err, CFX_EINVAL, "%s: server_cert is empty",
                             where);
    int have_ca = cfg->custom_ca && *cfg->custom_ca;
    if (cfg->client_verify && !have_ca)
        return cfx_error_set(err, CFX_EINVAL,
                             "%s: client_verify needs custom_ca (the CA "
                             "that signs client certificates)",
                             where);
    size_t alen = strlen(alpn);
    if (alen == 0 || alen > 255)
        return cfx_error_set(err, CFX_EINVAL, "tls: bad ALPN protocol");
    cfx_tls_t *t = calloc(1, sizeof(*t));
    if (!t)
        return cfx_error_set(err, CFX_ENOMEM, "tls: out of memory");
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (!t->ctx) {
        rc = fail(err, where, "tls", "cannot make an SSL context");
        goto out;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                    SSL_OP_NO_COMPRESSION;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    opts |= SSL_OP_IGNORE_UNEXPECTED_EOF;
#endif
    SSL_CTX_set_options(t->ctx, opts);
    /* Idle keep-alive connections give their buffers back. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    /* Resumed sessions of verified clients need a context id. */
    static const unsigned char sid[] = "cfx-serve";
    SSL_CTX_set_session_id_context(t->ctx, sid, sizeof(sid) - 1);
    if ((rc = load_key_and_chain(t->ctx, cfg, where, err)))
        goto out;
    if (have_ca) {
        if ((rc = load_client_ca(t->ctx, cfg, where, err)))
            goto out;
        if (cfg->client_verify)
            SSL_CTX_set_verify(
                t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                NULL);
        else
            SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, accept_any);
    } else {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    }
    SSL_CTX_set_alpn_select_cb(t->ctx, select_alpn, (void *)(uintptr_t)alpn);
out:
    if (rc) {
        cfx_tls_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void cfx_tls_free(cfx_tls_t *t) {
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

SSL *cfx_tls_conn_new(const cfx_tls_t *t) {
    SSL *ssl = SSL_new(t->ctx);
    if (ssl)
        SSL_set_accept_state(ssl);
    else
        ERR_clear_error();
    return ssl;
}

int cfx_tls_peer_verified(const SSL *ssl) {
    X509 *peer = SSL_get0_peer_certificate(ssl);
    return peer && SSL_get_verify_result(ssl) == X509_V_OK;
}
