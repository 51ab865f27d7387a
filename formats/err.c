/* err.c: names, messages and context for the codes of err.h. */
#include "formats/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cfx_error_init(cfx_error_t *e) {
    e->code = CFX_OK;
    e->msg[0] = '\0';
}

int cfx_error_set(cfx_error_t *e, int code, const char *fmt, ...) {
    if (e == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

int cfx_error_prefix(cfx_error_t *e, const char *fmt, ...) {
    if (e == NULL)
        return CFX_EINTERNAL;
    char prefix[CFX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix);
    size_t olen = strlen(e->msg);
    if (plen + 2 >= sizeof e->msg)
        plen = sizeof e->msg - 3;
    if (plen + 2 + olen >= sizeof e->msg)
        olen = sizeof e->msg - plen - 3;
    memmove(e->msg + plen + 2, e->msg, olen);
    memcpy(e->msg, prefix, plen);
    e->msg[plen] = ':';
    e->msg[plen + 1] = ' ';
    e->msg[plen + 2 + olen] = '\0';
    return e->code ? e->code : CFX_EINTERNAL;
}

const char *cfx_err_name(int code) {
    switch (code) {
#define CFX_ERR_NAME(name, c, msg)                                             \
    case (c):                                                                  \
        return #name;
        CFX_ERRORS(CFX_ERR_NAME)
#undef CFX_ERR_NAME
    }
    return "EUNKNOWN";
}

const char *cfx_err_str(int code) {
    switch (code) {
#define CFX_ERR_STR(name, c, msg)                                              \
    case (c):                                                                  \
        return msg;
        CFX_ERRORS(CFX_ERR_STR)
#undef CFX_ERR_STR
    }
    return "unknown error";
}
