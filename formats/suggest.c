/*
 * suggest.c: edit distance and the closest valid name (suggest.h).
 */
#include "formats/suggest.h"

#include <stdio.h>
#include <string.h>

#define MAX_LEN 64

size_t cfx_suggest_distance(const char *a, const char *b) {
    size_t la = strnlen(a, MAX_LEN), lb = strnlen(b, MAX_LEN);
    /* three rows of the (la+1) x (lb+1) table: i-2, i-1, i */
    size_t rows[3][MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++)
        rows[1][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = rows[(i + 1) % 3], *prev = rows[i % 3],
               *prev2 = rows[(i + 2) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = prev[j - 1] + cost;
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
    }
    return la == 0 ? lb : rows[(la + 1) % 3][lb];
}

const char *cfx_suggest_closest(const char *word, const char *const *names,
                                size_t n) {
    size_t len = strlen(word), limit = len / 3 > 2 ? len / 3 : 2;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n && names[i]; i++) {
        size_t d = cfx_suggest_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    if (!best || best_d > limit || best_d >= len)
        return NULL;
    return best;
}

const char *cfx_suggest_hint(char *buf, size_t cap, const char *word,
                             const char *const *names, size_t n) {
    const char *s = cfx_suggest_closest(word, names, n);
    if (cap)
        buf[0] = 0;
    if (s && cap)
        snprintf(buf, cap, " (did you mean '%s'?)", s);
    return buf;
}

int cfx_suggest_check_keys(const json_t *obj, const char *const *allowed,
                           int code, const char *noun, const char *file,
                           const char *where, cfx_error_t *err) {
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return 0;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        if (!strcmp(key, "comment")) {
            /* A note for the reader, accepted in every object (cfx init
             * writes why it made each choice there); never read. */
            if (json_is_string(v))
                continue;
            if (where && where[0])
                return cfx_error_set(err, code,
                                     "%s: %s: 'comment' must be a "
                                     "string",
                                     file, where);
            return cfx_error_set(err, code, "%s: 'comment' must be a string",
                                 file);
        }
        while (allowed[i] && strcmp(allowed[i], key))
            i++;
        if (allowed[i])
            continue;
        char hint[160];
        cfx_suggest_hint(hint, sizeof hint, key, allowed, (size_t)-1);
        if (where && where[0])
            return cfx_error_set(err, code, "%s: %s: unknown %s '%s'%s", file,
                                 where, noun, key, hint);
        return cfx_error_set(err, code, "%s: unknown %s '%s'%s", file, noun,
                             key, hint);
    }
    return 0;
}
