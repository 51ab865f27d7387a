/*
 * tls_test.c: serve/tls.c without sockets. Keys and certificates are made
 * here with OpenSSL (self-signed P-256), handshakes run between a client
 * SSL and a cfx_tls_conn_new server over an in-memory BIO pair: ALPN
 * selection and refusal, required, optional and absent client
 * certificates and what cfx_tls_peer_verified says of them, and the
 * config errors naming the file and the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "serve/tls.h"

/* A self-signed P-256 certificate for cn, as PEM text (malloc'd). */
typedef struct ident {
    char *key;
    char *cert;
} ident_t;

static char *bio_text(BIO *b) {
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, p, (size_t)n);
    s[n] = 0;
    return s;
}

static void ident_make(ident_t *id, const char *cn) {
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    assert_int_equal(
        PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(PEM_write_bio_X509(cb, x), 1);
    id->key = bio_text(kb);
    id->cert = bio_text(cb);
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(pk);
}

static void ident_free(ident_t *id) {
    free(id->key);
    free(id->cert);
}

static ident_t server, client, stranger;

static int setup(void **state) {
    (void)state;
    ident_make(&server, "localhost");
    ident_make(&client, "a client");
    ident_make(&stranger, "a stranger");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ident_free(&server);
    ident_free(&client);
    ident_free(&stranger);
    return 0;
}

/* One handshake in memory. alpn: the client's offer in wire format (NULL:
 * none); who: the client certificate (NULL: none). Returns 1 when both
 * sides finished, 0 when either failed; *selected: the ALPN protocol,
 * *verified: cfx_tls_peer_verified on the server side. */
static int handshake(const cfx_tls_t *t, const unsigned char *alpn,
                     unsigned alpn_len, const ident_t *who, char *selected,
                     size_t selected_n, int *verified) {
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(cctx);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    if (who) {
        BIO *kb = BIO_new_mem_buf(who->key, -1);
        BIO *cb = BIO_new_mem_buf(who->cert, -1);
        EVP_PKEY *pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        assert_int_equal(SSL_CTX_use_certificate(cctx, x), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey(cctx, pk), 1);
        X509_free(x);
        EVP_PKEY_free(pk);
        BIO_free(kb);
        BIO_free(cb);
    }
    if (alpn)
        assert_int_equal(SSL_CTX_set_alpn_protos(cctx, alpn, alpn_len), 0);
    SSL *cl = SSL_new(cctx), *sv = cfx_tls_conn_new(t);
    assert_non_null(cl);
    assert_non_null(sv);
    BIO *cb = NULL, *sb = NULL;
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(cl, cb, cb);
    SSL_set_bio(sv, sb, sb);
    SSL_set_connect_state(cl);
    int cdone = 0, sdone = 0, failed = 0;
    for (int i = 0; i < 50 && !failed && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(cl);
            int e = SSL_get_error(cl, r);
            cdone = r == 1;
            failed |=
                r != 1 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
        }
        if (!sdone) {
            int r = SSL_do_handshake(sv);
            int e = SSL_get_error(sv, r);
            sdone = r == 1;
            failed |=
                r != 1 && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
        }
    }
    /* TLS 1.3: the server judges the client certificate after the
     * client finished; the client learns it on its next read. */
    if (!failed && cdone && sdone) {
        char b;
        int r = SSL_read(cl, &b, 1);
        int e = SSL_get_error(cl, r);
        failed |= e != SSL_ERROR_WANT_READ;
    }
    const unsigned char *sel = NULL;
    unsigned sel_len = 0;
    SSL_get0_alpn_selected(sv, &sel, &sel_len);
    snprintf(selected, selected_n, "%.*s", (int)sel_len,
             sel ? (const char *)sel : "");
    *verified = sdone ? cfx_tls_peer_verified(sv) : 0;
    ERR_clear_error();
    SSL_free(cl);
    SSL_free(sv);
    SSL_CTX_free(cctx);
    return !failed && cdone && sdone;
}

static cfx_tls_t *make(const char *key, const char *cert, const char *ca,
                       int client_verify, const char *alpn) {
    cfx_ssl_config_t cfg = {(char *)key, (char *)cert, (char *)ca,
                            client_verify};
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_tls_t *t = NULL;
    int rc = cfx_tls_new(&cfg, "ssl.conf", alpn, &t, &err);
    if (rc)
        print_error("cfx_tls_new: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return t;
}

static void test_alpn(void **state) {
    (void)state;
    char sel[32];
    int verified;
    cfx_tls_t *g = make(server.key, server.cert, NULL, 0, CFX_TLS_ALPN_H2);
    static const unsigned char h2_h1[] = "\x02h2\x08http/1.1";
    static const unsigned char h1[] = "\x08http/1.1";
    assert_true(handshake(g, h2_h1, sizeof(h2_h1) - 1, NULL, sel, sizeof(sel),
                          &verified));
    assert_string_equal(sel, "h2");
    assert_int_equal(verified, 0);
    /* Only http/1.1 offered to the gRPC port: no_application_protocol. */
    assert_false(
        handshake(g, h1, sizeof(h1) - 1, NULL, sel, sizeof(sel), &verified));
    /* No ALPN at all: proceeds, nothing selected. */
    assert_true(handshake(g, NULL, 0, NULL, sel, sizeof(sel), &verified));
    assert_string_equal(sel, "");
    cfx_tls_free(g);

    cfx_tls_t *r = make(server.key, server.cert, NULL, 0, CFX_TLS_ALPN_HTTP1);
    assert_true(handshake(r, h2_h1, sizeof(h2_h1) - 1, NULL, sel, sizeof(sel),
                          &verified));
    assert_string_equal(sel, "http/1.1");
    cfx_tls_free(r);
}

static void test_client_certificates(void **state) {
    (void)state;
    char sel[32];
    int verified = -1;
    /* client_verify: the client's own (self-signed) certificate is the CA. */
    cfx_tls_t *m =
        make(server.key, server.cert, client.cert, 1, CFX_TLS_ALPN_HTTP1);
    assert_true(handshake(m, NULL, 0, &client, sel, sizeof(sel), &verified));
    assert_int_equal(verified, 1);
    assert_false(handshake(m, NULL, 0, NULL, sel, sizeof(sel), &verified));
    assert_false(handshake(m, NULL, 0, &stranger, sel, sizeof(sel), &verified));
    cfx_tls_free(m);

    /* custom_ca without client_verify: asked for, optional, recorded. */
    cfx_tls_t *o =
        make(server.key, server.cert, client.cert, 0, CFX_TLS_ALPN_HTTP1);
    assert_true(handshake(o, NULL, 0, &client, sel, sizeof(sel), &verified));
    assert_int_equal(verified, 1);
    assert_true(handshake(o, NULL, 0, NULL, sel, sizeof(sel), &verified));
    assert_int_equal(verified, 0);
    assert_true(handshake(o, NULL, 0, &stranger, sel, sizeof(sel), &verified));
    assert_int_equal(verified, 0);
    cfx_tls_free(o);

    /* No custom_ca: no certificate asked for, so none is sent. */
    cfx_tls_t *p = make(server.key, server.cert, NULL, 0, CFX_TLS_ALPN_HTTP1);
    assert_true(handshake(p, NULL, 0, &client, sel, sizeof(sel), &verified));
    assert_int_equal(verified, 0);
    cfx_tls_free(p);
}

static void refused(const char *key, const char *cert, const char *ca,
                    int client_verify, const char *want) {
    cfx_ssl_config_t cfg = {(char *)key, (char *)cert, (char *)ca,
                            client_verify};
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_tls_t *t = NULL;
    assert_int_equal(cfx_tls_new(&cfg, "ssl.conf", CFX_TLS_ALPN_H2, &t, &err),
                     CFX_EINVAL);
    assert_null(t);
    if (!strstr(err.msg, want))
        fail_msg("\"%s\" lacks \"%s\"", err.msg, want);
    assert_non_null(strstr(err.msg, "ssl.conf: "));
}

static void test_config_errors(void **state) {
    (void)state;
    refused("", server.cert, NULL, 0, "server_key is empty");
    refused(server.key, NULL, NULL, 0, "server_cert is empty");
    refused("not a key", server.cert, NULL, 0,
            "server_key: no PEM private key");
    refused(server.key, "junk", NULL, 0, "server_cert: no PEM certificate");
    refused(client.key, server.cert, NULL, 0,
            "server_key: does not match the server_cert certificate");
    refused(server.key, server.cert, NULL, 1, "client_verify needs custom_ca");
    refused(server.key, server.cert, "junk", 0,
            "custom_ca: no PEM certificate");
    /* A chain after the leaf is taken. */
    size_t n = strlen(server.cert) + strlen(client.cert) + 1;
    char *chain = malloc(n);
    assert_non_null(chain);
    snprintf(chain, n, "%s%s", server.cert, client.cert);
    cfx_tls_free(make(server.key, chain, NULL, 0, CFX_TLS_ALPN_H2));
    free(chain);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpn),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
