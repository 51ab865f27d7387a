/*
 * lineage.h: the metadata store rendered for a person — `cfx ls` (what ran,
 * what it made) and `cfx lineage` (where a pushed model version came from,
 * walking events backwards from its PushedModel artifact).
 *
 * Threads: each call opens its own store handle; any thread.
 */
#ifndef CFX_MLMD_LINEAGE_H
#define CFX_MLMD_LINEAGE_H

#include <stdio.h>

#include "formats/err.h"

/* Prints two tables to out: executions (id, component, state, start,
 * duration, cache source) and artifacts (id, type, uri relative to root,
 * state, key properties). CFX_ENOTFOUND when root holds no store. */
int cfx_lineage_print_ls(FILE *out, const char *root, cfx_error_t *err);

/* Prints the provenance tree of `what`: a pushed version directory (found
 * by the PushedModel's pushed_destination or uri), any artifact uri, or an
 * artifact id written as "#<id>". Each artifact shows the execution that
 * produced it and, under it, that execution's inputs, down to the raw data.
 * CFX_ENOTFOUND when no artifact matches. */
int cfx_lineage_print(FILE *out, const char *root, const char *what,
                      cfx_error_t *err);

#endif
