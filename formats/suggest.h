/*
 * suggest.h: "did you mean" for names a person types into a config file.
 *
 * A misspelt key must never be ignored (it would silently leave a default
 * in force: `stop_on_anomalys` switching the anomaly gate off), and the
 * message refusing it is most useful when it names the key that was meant.
 * The closest valid name is the one at the smallest edit distance
 * (Levenshtein: insertions, deletions, substitutions, each costing 1, plus
 * a swap of two adjacent letters costing 1), offered only when that
 * distance is small next to the name's length.
 *
 * Reentrant; any thread.
 */
#ifndef CFX_FORMATS_SUGGEST_H
#define CFX_FORMATS_SUGGEST_H

#include <jansson.h>
#include <stddef.h>

#include "formats/err.h"

/* Edit distance between a and b, counting at most 64 bytes of each (longer
 * names are compared on their first 64 bytes). */
size_t cfx_suggest_distance(const char *a, const char *b);

/* The entry of names (n of them, or up to a NULL entry when n is
 * (size_t)-1) closest to word, or NULL when none is close: the distance
 * must be at most max(2, strlen(word) / 3) and below strlen(word). Ties go
 * to the earlier entry. */
const char *cfx_suggest_closest(const char *word, const char *const *names,
                                size_t n);

/* Writes " (did you mean 'x'?)" into buf (cap bytes) when names holds a
 * close one, else "" (same names convention); returns buf, for a "%s". */
const char *cfx_suggest_hint(char *buf, size_t cap, const char *word,
                             const char *const *names, size_t n);

/* Refuses a member of the JSON object obj whose key is not in allowed (a
 * NULL-terminated list): code with "<file>: <where>: unknown <noun>
 * '<key>'" and the hint, noun being what the file calls them ("key",
 * "member"); where may be NULL or "" (then "<file>: unknown <noun> ...").
 * A member "comment" is allowed in every object when its value is a
 * string (a note for the reader, never read; another value is refused).
 * Returns 0 when every key is allowed (and for a non-object). */
int cfx_suggest_check_keys(const json_t *obj, const char *const *allowed,
                           int code, const char *noun, const char *file,
                           const char *where, cfx_error_t *err);

#endif
