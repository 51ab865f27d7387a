/*
 * arena.h: bump allocator for per-record and per-request scratch
 * (allocate by lifetime: everything freed at once by reset/free).
 *
 * Caller-owned struct: cfx_arena_init / cfx_arena_free. Not thread-safe.
 */
#ifndef CFX_FORMATS_ARENA_H
#define CFX_FORMATS_ARENA_H

#include <stddef.h>

typedef struct cfx_arena_block cfx_arena_block_t;

typedef struct cfx_arena {
    cfx_arena_block_t *head; /* current block; older blocks chain behind */
    size_t used;             /* bytes used in head */
} cfx_arena_t;

void cfx_arena_init(cfx_arena_t *a);
/* Returns 16-byte aligned memory, or NULL when out of memory. */
void *cfx_arena_alloc(cfx_arena_t *a, size_t n);
/* Copies n bytes and appends a NUL; NULL when out of memory. */
char *cfx_arena_strndup(cfx_arena_t *a, const char *s, size_t n);
/* Keeps the first block for reuse, frees the rest. */
void cfx_arena_reset(cfx_arena_t *a);
void cfx_arena_free(cfx_arena_t *a);

#endif
