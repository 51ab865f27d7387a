/*
 * thresholds.c: value and change thresholds on metrics (thresholds.h).
 */
#include "eval/thresholds.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cfx_direction_name(cfx_direction_t d) {
    switch (d) {
    case CFX_DIRECTION_LOWER_IS_BETTER:
        return "LOWER_IS_BETTER";
    case CFX_DIRECTION_HIGHER_IS_BETTER:
        return "HIGHER_IS_BETTER";
    default:
        return "UNKNOWN";
    }
}

static int say(cfx_threshold_outcome_t *out, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(cfx_threshold_outcome_t *out, int ok, const char *fmt, ...) {
    if (out) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out->text, sizeof out->text, fmt, ap);
        va_end(ap);
        out->ok = ok;
    }
    return ok;
}

int cfx_threshold_check_value(const cfx_threshold_t *t, double v,
                              cfx_threshold_outcome_t *out) {
    const char *m = t->metric;
    if (isnan(v))
        return say(out, 0, "%s was not computed (value threshold)", m);
    if (t->has_lower && !(v >= t->lower))
        return say(out, 0, "%s %.6g < lower bound %.6g", m, v, t->lower);
    if (t->has_upper && !(v <= t->upper))
        return say(out, 0, "%s %.6g > upper bound %.6g", m, v, t->upper);
    if (t->has_lower && t->has_upper)
        return say(out, 1, "%s %.6g in [%.6g, %.6g]", m, v, t->lower, t->upper);
    if (t->has_lower)
        return say(out, 1, "%s %.6g >= lower bound %.6g", m, v, t->lower);
    if (t->has_upper)
        return say(out, 1, "%s %.6g <= upper bound %.6g", m, v, t->upper);
    return say(out, 1, "%s %.6g (no bound)", m, v);
}

int cfx_threshold_check_change(const cfx_threshold_t *t, double candidate,
                               double baseline, cfx_threshold_outcome_t *out) {
    const char *m = t->metric, *dn = cfx_direction_name(t->direction);
    if (isnan(candidate) || isnan(baseline))
        return say(out, 0,
                   "%s change not computed (candidate %.6g, baseline %.6g)", m,
                   candidate, baseline);
    if (t->direction != CFX_DIRECTION_HIGHER_IS_BETTER &&
        t->direction != CFX_DIRECTION_LOWER_IS_BETTER)
        return say(out, 0, "%s change threshold without a direction", m);
    int higher = t->direction == CFX_DIRECTION_HIGHER_IS_BETTER;
    double diff = candidate - baseline;
    if (t->has_absolute) {
        int ok = higher ? diff >= t->absolute : diff <= t->absolute;
        if (!ok)
            return say(out, 0,
                       "%s change %.6g (candidate %.6g, baseline %.6g) %s "
                       "absolute %.6g (%s)",
                       m, diff, candidate, baseline, higher ? "<" : ">",
                       t->absolute, dn);
    }
    if (t->has_relative) {
        double rel = diff / baseline; /* +-inf or NaN when the baseline is 0 */
        int ok = higher ? rel >= t->relative : rel <= t->relative;
        if (!ok)
            return say(out, 0,
                       "%s relative change %.6g (candidate %.6g, baseline "
                       "%.6g) %s relative "
                       "%.6g (%s)",
                       m, rel, candidate, baseline, higher ? "<" : ">",
                       t->relative, dn);
    }
    return say(out, 1, "%s %.6g %s baseline %.6g", m, candidate,
               higher ? ">=" : "<=", baseline);
}

void cfx_threshold_describe(const cfx_threshold_t *t, int change, char *out,
                            size_t cap) {
    const char *m = t->metric;
    if (change) {
        const char *cmp =
            t->direction == CFX_DIRECTION_LOWER_IS_BETTER ? "<=" : ">=";
        char a[64] = "", r[64] = "";
        if (t->has_absolute)
            snprintf(a, sizeof a, "absolute %.6g", t->absolute);
        if (t->has_relative)
            snprintf(r, sizeof r, "relative %.6g", t->relative);
        snprintf(out, cap, "%s change %s %s%s%s (%s)", m, cmp, a,
                 a[0] && r[0] ? ", " : "", r, cfx_direction_name(t->direction));
    } else if (t->has_lower && t->has_upper) {
        snprintf(out, cap, "%s in [%.6g, %.6g]", m, t->lower, t->upper);
    } else if (t->has_lower) {
        snprintf(out, cap, "%s >= lower bound %.6g", m, t->lower);
    } else if (t->has_upper) {
        snprintf(out, cap, "%s <= upper bound %.6g", m, t->upper);
    } else {
        snprintf(out, cap, "%s (no bound)", m);
    }
}

int cfx_threshold_same(const cfx_threshold_t *a, const cfx_threshold_t *b,
                       int change) {
    if (strcmp(a->metric, b->metric))
        return 0;
    if (change)
        return a->has_change && b->has_change && a->direction == b->direction &&
               a->has_absolute == b->has_absolute &&
               (!a->has_absolute || a->absolute == b->absolute) &&
               a->has_relative == b->has_relative &&
               (!a->has_relative || a->relative == b->relative);
    return a->has_value && b->has_value && a->has_lower == b->has_lower &&
           (!a->has_lower || a->lower == b->lower) &&
           a->has_upper == b->has_upper &&
           (!a->has_upper || a->upper == b->upper);
}

/* Appends one "slice: text" line; a line that does not fit whole is left
 * out and counted, so no failure is ever shown cut in the middle. */
static void append_line(char *dst, size_t cap, const char *slice,
                        const char *text, size_t *omitted) {
    if (!dst || !cap)
        return;
    size_t l = strlen(dst);
    int w = snprintf(NULL, 0, "%s%s: %s", l ? "\n" : "", slice, text);
    if (w < 0 || l + (size_t)w >= cap) {
        if (omitted)
            (*omitted)++;
        return;
    }
    snprintf(dst + l, cap - l, "%s%s: %s", l ? "\n" : "", slice, text);
}

size_t cfx_slice_thresholds_validate(const cfx_slice_threshold_t *ts, size_t n,
                                     const cfx_slicing_spec_t *from,
                                     const char *slice_name,
                                     const cfx_slice_metrics_t *candidate,
                                     const cfx_slice_metrics_t *baseline,
                                     char *reason, size_t cap, size_t *omitted,
                                     size_t *applied, size_t *checked) {
    size_t failed = 0, count = 0;
    /* indices of the entries already applied to this slice, for the
     * same-threshold rule; bounded by n */
    size_t done[CFX_MAX_THRESHOLD_ENTRIES], ndone = 0;
    for (size_t i = 0; i < n; i++) {
        const cfx_slice_threshold_t *e = &ts[i];
        const cfx_threshold_t *t = &e->threshold;
        if (!e->every_slice &&
            !cfx_slicing_spec_applies(&e->spec, from, slice_name))
            continue;
        if (applied)
            applied[i]++;
        double v = cfx_slice_metrics_get(candidate, t->metric);
        for (int change = 0; change < 2; change++) {
            if (change ? !(t->has_change && baseline) : !t->has_value)
                continue;
            int seen = 0;
            for (size_t k = 0; k < ndone && !seen; k++)
                seen = cfx_threshold_same(&ts[done[k]].threshold, t, change);
            if (seen)
                continue;
            cfx_threshold_outcome_t o;
            int ok =
                change
                    ? cfx_threshold_check_change(
                          t, v, cfx_slice_metrics_get(baseline, t->metric), &o)
                    : cfx_threshold_check_value(t, v, &o);
            count++;
            if (!ok) {
                failed++;
                append_line(reason, cap, slice_name, o.text, omitted);
            }
        }
        if (ndone < sizeof done / sizeof done[0])
            done[ndone++] = i;
    }
    if (checked)
        *checked += count;
    return failed;
}
