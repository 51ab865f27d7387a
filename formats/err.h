/*
 * err.h: the one error convention of cfx.
 *
 * Every function that can fail returns 0 or a negative code from the table
 * below; the table generates the enum, the names and the messages, so codes
 * are never renumbered (append only). Context for a person travels in a
 * caller-owned cfx_error_t ("data.csv:12: column 'fare': expected a number").
 * Translation to HTTP/gRPC statuses happens only at the server boundary.
 *
 * Thread-safety: all functions are reentrant; a cfx_error_t belongs to one
 * thread at a time.
 */
#ifndef CFX_FORMATS_ERR_H
#define CFX_FORMATS_ERR_H

#include <stddef.h>

#define CFX_ERRORS(X)                                                          \
    X(OK, 0, "success")                                                        \
    X(ENOMEM, -1, "out of memory")                                             \
    X(EIO, -2, "input/output error")                                           \
    X(ECORRUPT, -3, "corrupt data")                                            \
    X(EPARSE, -4, "parse error")                                               \
    X(EINVAL, -5, "invalid argument")                                          \
    X(ENOTFOUND, -6, "not found")                                              \
    X(ETOOBIG, -7, "size limit exceeded")                                      \
    X(EUNSUPPORTED, -8, "unsupported")                                         \
    X(EEXIST, -9, "already exists")                                            \
    X(ESTATE, -10, "failed precondition")                                      \
    X(ETRUNCATED, -11, "truncated input")                                      \
    X(ECHECKSUM, -12, "checksum mismatch")                                     \
    X(EINTERNAL, -13, "internal error")                                        \
    X(ETIMEOUT, -14, "deadline exceeded")                                      \
    X(EUNAVAILABLE, -15, "unavailable")                                        \
    X(EANOMALIES, -16, "anomalies found")                                      \
    X(ENOTBLESSED, -17, "model not blessed")                                   \
    X(ECANCELLED, -18, "cancelled")

enum cfx_err {
#define CFX_ERR_ENUM(name, code, msg) CFX_##name = (code),
    CFX_ERRORS(CFX_ERR_ENUM)
#undef CFX_ERR_ENUM
};

#define CFX_ERROR_MSG_MAX 1024

/* Caller-owned error context. msg is always NUL-terminated. */
typedef struct cfx_error {
    int code;
    char msg[CFX_ERROR_MSG_MAX];
} cfx_error_t;

void cfx_error_init(cfx_error_t *e);

/* Sets e (may be NULL) to code with a printf-style message; returns code so
 * callers can write `return cfx_error_set(err, CFX_EINVAL, "...")`. */
int cfx_error_set(cfx_error_t *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<context>: " to the message already in e (may be NULL);
 * returns e->code (or CFX_EINTERNAL when e is NULL). */
int cfx_error_prefix(cfx_error_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "ENOMEM", "EIO", ... and the fixed English message for a code. */
const char *cfx_err_name(int code);
const char *cfx_err_str(int code);

#endif
