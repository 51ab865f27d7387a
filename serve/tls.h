/*
 * tls.h: TLS on cfx-serve's two ports (--ssl_config_file, TF Serving's
 * SSLConfig; docs/serving.md, "TLS"), over OpenSSL.
 *
 * A cfx_tls_t is one server SSL_CTX built from the PEM text of the config:
 * the key and certificate chain, the client CA bundle, and the protocol
 * the port speaks, which ALPN selects ("h2" on the gRPC port, "http/1.1"
 * on the REST port). A client that offers ALPN without that protocol gets
 * the no_application_protocol alert; one that offers none proceeds.
 *
 * Client certificates, as TF Serving's client_verify: when true the
 * handshake requires a certificate that chains to custom_ca and fails
 * without one. When false but custom_ca is given, a certificate is asked
 * for but not required, and one that does not verify does not fail the
 * handshake; either way cfx_tls_peer_verified says whether the client
 * proved itself (the authorization code reads it). Without custom_ca no
 * certificate is asked for.
 *
 * TLS 1.2 and 1.3 only; no renegotiation; a peer that closes without
 * close_notify is a plain end of stream (HTTP and HTTP/2 frame their own
 * messages, so a truncation is seen there).
 *
 * Thread-safety: a cfx_tls_t is read-only once made (each server worker
 * makes its own); an SSL belongs to the thread of its connection.
 * OpenSSL's error queue is per thread: the I/O code empties it after every
 * failure (cfx_tls_error does).
 */
#ifndef CFX_SERVE_TLS_H
#define CFX_SERVE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "formats/err.h"
#include "serve/config.h"

typedef struct cfx_tls cfx_tls_t;

#define CFX_TLS_ALPN_H2 "h2"
#define CFX_TLS_ALPN_HTTP1 "http/1.1"

/* A server context from cfg (server_key and server_cert required; PEM
 * text, not file names); alpn: the protocol of the port, a string
 * constant (CFX_TLS_ALPN_*). Errors name `where` (the config file, NULL:
 * "--ssl_config_file") and the field: "ssl.conf: server_key: no PEM
 * private key (...)". */
int cfx_tls_new(const cfx_ssl_config_t *cfg, const char *where,
                const char *alpn, cfx_tls_t **out, cfx_error_t *err);
/* NULL is fine. Connections made from t keep what they need alive. */
void cfx_tls_free(cfx_tls_t *t);

/* A server-side SSL for one accepted connection, in accept state, with
 * no descriptor attached; NULL when out of memory. */
SSL *cfx_tls_conn_new(const cfx_tls_t *t);

/* After the handshake: 1 when the client presented a certificate that
 * verified against custom_ca. */
int cfx_tls_peer_verified(const SSL *ssl);

/* The reason of the last OpenSSL failure on this thread, into buf (""
 * when none); empties the thread's error queue. Returns buf. */
const char *cfx_tls_error(char *buf, size_t n);

/* 1 when the last failure on this thread is a handshake that received a
 * plain-text HTTP request instead (look before cfx_tls_error). */
int cfx_tls_error_is_plain_http(void);

#endif
