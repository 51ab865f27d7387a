/*
 * show.c: `cfx show` dispatch — the table of artifact kinds and the
 * detection that picks one (see show.h). Add a kind by adding its line.
 */
#include "report/show.h"

#include <string.h>

static const cfx_show_kind_t kinds[] = {
    {"statistics", cfx_show_statistics_detect, cfx_show_statistics},
    {"anomalies", cfx_show_anomalies_detect, cfx_show_anomalies},
    {"schema", cfx_show_schema_detect, cfx_show_schema},
};

const cfx_show_kind_t *cfx_show_kinds(size_t *n) {
    *n = sizeof kinds / sizeof kinds[0];
    return kinds;
}

int cfx_show(const char *path, const char *kind, FILE *out, cfx_error_t *err) {
    size_t n;
    const cfx_show_kind_t *k = cfx_show_kinds(&n);
    char names[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (kind ? !strcmp(kind, k[i].name) : k[i].detect(path))
            return k[i].render(path, out, err);
        size_t w = strlen(names);
        snprintf(names + w, sizeof names - w, "%s%s", i ? ", " : "", k[i].name);
    }
    if (kind)
        return cfx_error_set(err, CFX_EINVAL, "unknown kind '%s' (known: %s)",
                             kind, names);
    return cfx_error_set(err, CFX_EUNSUPPORTED,
                         "%s: not an artifact cfx can show (known: %s)", path,
                         names);
}
