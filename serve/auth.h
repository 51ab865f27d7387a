/*
 * auth.h: who may call what on cfx-serve (docs/serving.md, "Security").
 *
 * Two surfaces. The admin surface (ModelService/HandleReloadConfigRequest:
 * anything that changes what is served) is refused with PERMISSION_DENIED
 * unless --enable_admin_rpc is given, and then needs an authenticated
 * caller: the admin bearer token (--admin_token_file), a TLS client
 * certificate the TLS layer verified (the connection's peer_verified
 * bit), or the gRPC unix socket (--grpc_socket_path; its file mode 0600
 * is the credential). The inference surface (everything else but health
 * checks) needs the inference bearer token when --inference_token_file is
 * given (the admin token is accepted there too), with the same
 * exemptions.
 *
 * Tokens travel as "authorization: Bearer <token>" (gRPC metadata or HTTP
 * header). They are compared through their SHA-256 digests with
 * CRYPTO_memcmp, so neither the content nor the length of the expected
 * token shows in the time a refusal takes.
 *
 * Thread-safety: pure functions over read-only flags.
 */
#ifndef CFX_SERVE_AUTH_H
#define CFX_SERVE_AUTH_H

#include <stddef.h>

#include "formats/err.h"
#include "serve/config.h"

/* What the server knows about the caller of one request. */
typedef struct cfx_auth_peer {
    const char *authorization; /* the header's value, or NULL */
    int local;                 /* arrived on the gRPC unix socket */
    int peer_verified;         /* TLS verified a client certificate */
} cfx_auth_peer_t;

/* 1 when authorization is "Bearer <token>" (scheme in any case) with
 * exactly token; constant time in the token's content. token NULL or ""
 * never matches. */
int cfx_auth_bearer_ok(const char *token, const char *authorization);

/* The admin surface: 0 when allowed, else the TF error code
 * (PERMISSION_DENIED 7 when disabled, UNAUTHENTICATED 16 without valid
 * credentials) with the reason in why[n]. */
int cfx_auth_admin(const cfx_serve_flags_t *f, const cfx_auth_peer_t *p,
                   char *why, size_t n);
/* The inference surface: 0 or UNAUTHENTICATED (16) with the reason. */
int cfx_auth_inference(const cfx_serve_flags_t *f, const cfx_auth_peer_t *p,
                       char *why, size_t n);

/* Reads a token file: its first line without the line end; refuses an
 * empty token, one with control characters or spaces, and a file other
 * users may read (the error names the file). *out is malloc'd. */
int cfx_auth_read_token(const char *path, char **out, cfx_error_t *err);

#endif
