/*
 * rest_route.h: TF Serving's REST paths (docs/serving.md), as its
 * regexes match them:
 *   GET  /v1/models/{name}[/versions/{n}|/labels/{label}][/metadata]
 *   POST
 * /v1/models/{name}[/versions/{n}|/labels/{label}]:(predict|classify|regress)
 * Case-insensitive; {name} and {label} are `[^/:]+`, URL-decoded; {n} is
 * `\d+` as int64.
 *
 * Thread-safety: reentrant.
 */
#ifndef CFX_SERVE_REST_ROUTE_H
#define CFX_SERVE_REST_ROUTE_H

#include <stddef.h>
#include <stdint.h>

typedef enum cfx_route_kind {
    CFX_ROUTE_STATUS = 0,
    CFX_ROUTE_METADATA = 1,
    CFX_ROUTE_PREDICT = 2,
    CFX_ROUTE_CLASSIFY = 3,
    CFX_ROUTE_REGRESS = 4,
} cfx_route_kind_t;

typedef struct cfx_rest_route {
    int kind;        /* cfx_route_kind_t */
    char name[256];  /* decoded model name */
    int64_t version; /* -1 when the path names none */
    char label[256]; /* decoded label when has_label */
    int has_label;
} cfx_rest_route_t;

enum {
    CFX_ROUTE_OK = 0,
    CFX_ROUTE_MALFORMED = 1,    /* 400 "Malformed request: METHOD PATH" */
    CFX_ROUTE_MISSING_NAME = 2, /* 400 "Missing model name in request." */
    CFX_ROUTE_BAD_VERSION =
        3, /* 400, msg holds "Failed to convert version: ..." */
};

/* Parses path (no query) for a GET (post = 0) or POST (post = 1). Returns
 * one of CFX_ROUTE_*; msg[msgcap] gets the message of BAD_VERSION. */
int cfx_rest_route_parse(const char *path, int post, cfx_rest_route_t *rt,
                         char *msg, size_t msgcap);

#endif
