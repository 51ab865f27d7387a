/* arena.c: chained blocks, each at least 64 KiB; reset keeps one block so a
 * steady per-record workload allocates nothing after warm-up. */
#include "formats/arena.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_MIN_BLOCK (64 * 1024)

struct cfx_arena_block {
    cfx_arena_block_t *prev;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

void cfx_arena_init(cfx_arena_t *a) {
    a->head = NULL;
    a->used = 0;
}

void *cfx_arena_alloc(cfx_arena_t *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (a->head == NULL || a->head->cap - a->used < n) {
        size_t cap = n > ARENA_MIN_BLOCK ? n : ARENA_MIN_BLOCK;
        cfx_arena_block_t *b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->prev = a->head;
        b->cap = cap;
        a->head = b;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

char *cfx_arena_strndup(cfx_arena_t *a, const char *s, size_t n) {
    char *p = cfx_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void cfx_arena_reset(cfx_arena_t *a) {
    if (a->head == NULL)
        return;
    /* Keep the oldest block (usually the only one). */
    cfx_arena_block_t *b = a->head;
    while (b->prev != NULL) {
        cfx_arena_block_t *prev = b->prev;
        free(b);
        b = prev;
    }
    a->head = b;
    a->used = 0;
}

void cfx_arena_free(cfx_arena_t *a) {
    cfx_arena_block_t *b = a->head;
    while (b != NULL) {
        cfx_arena_block_t *prev = b->prev;
        free(b);
        b = prev;
    }
    cfx_arena_init(a);
}
