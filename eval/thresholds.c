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

static void append(char *dst, size_t cap, const char *sep, const char *s) {
    if (!dst || !cap)
        return;
    size_t l = strlen(dst);
    if (l + 1 >= cap)
        return;
    snprintf(dst + l, cap - l, "%s%s", l ? sep : "", s);
}

size_t cfx_thresholds_validate(const cfx_threshold_t *ts, size_t n,
                               const cfx_slice_metrics_t *candidate,
                               const cfx_slice_metrics_t *baseline,
                               char *reason, size_t cap, char *passed,
                               size_t passed_cap, size_t *checked) {
    size_t failed = 0, count = 0;
    if (reason && cap)
        reason[0] = 0;
    if (passed && passed_cap)
        passed[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const cfx_threshold_t *t = &ts[i];
        cfx_threshold_outcome_t o;
        double v = cfx_slice_metrics_get(candidate, t->metric);
        if (t->has_value) {
            count++;
            if (cfx_threshold_check_value(t, v, &o)) {
                append(passed, passed_cap, "; ", o.text);
            } else {
                failed++;
                append(reason, cap, "\n", o.text);
            }
        }
        if (t->has_change && baseline) {
            count++;
            if (cfx_threshold_check_change(
                    t, v, cfx_slice_metrics_get(baseline, t->metric), &o)) {
                append(passed, passed_cap, "; ", o.text);
            } else {
                failed++;
                append(reason, cap, "\n", o.text);
            }
        }
    }
    if (checked)
        *checked = count;
    return failed;
}
