/*
 * csv_value.c: Python int()/float() rules for CSV cells (see csv_value.h).
 *
 * Floats are validated against Python's grammar first, then the digits
 * (underscores dropped) go to strtod, which glibc rounds correctly, so the
 * double equals Python's float(); examplegen narrows it to float32 as
 * TFX does.
 */
#include "pipeline/csv_value.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *cfx_csv_type_name(cfx_csv_type_t t) {
    switch (t) {
    case CFX_CSV_UNKNOWN:
        return "UNKNOWN";
    case CFX_CSV_INT:
        return "INT";
    case CFX_CSV_FLOAT:
        return "FLOAT";
    case CFX_CSV_STRING:
        return "STRING";
    }
    return "?";
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static void strip(const char **s, size_t *n) {
    const char *p = *s;
    size_t l = *n;
    while (l && is_space(*p)) {
        p++;
        l--;
    }
    while (l && is_space(p[l - 1]))
        l--;
    *s = p;
    *n = l;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of a digit part (digits with single '_' between digits) at s,
 * or 0 when none. */
static size_t digitpart(const char *s, size_t n) {
    size_t i = 0;
    if (i >= n || !is_digit(s[i]))
        return 0;
    i++;
    while (i < n) {
        if (is_digit(s[i])) {
            i++;
        } else if (s[i] == '_' && i + 1 < n && is_digit(s[i + 1])) {
            i += 2;
        } else {
            break;
        }
    }
    return i;
}

int cfx_csv_parse_int(const char *s, size_t n, int64_t *v) {
    strip(&s, &n);
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    size_t d = digitpart(s + i, n - i);
    if (d == 0 || i + d != n)
        return 0;
    /* accumulate as a negative number: -2^63 fits, 2^63 does not */
    int64_t acc = 0;
    for (; i < n; i++) {
        if (s[i] == '_')
            continue;
        int dig = s[i] - '0';
        if (acc < (INT64_MIN + dig) / 10)
            return 0;
        acc = acc * 10 - dig;
    }
    if (!neg) {
        if (acc == INT64_MIN)
            return 0;
        acc = -acc;
    }
    *v = acc;
    return 1;
}

int cfx_csv_parse_float(const char *s, size_t n, double *v) {
    strip(&s, &n);
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    size_t rest = n - i;
    if ((rest == 3 && strncasecmp(s + i, "inf", 3) == 0) ||
        (rest == 8 && strncasecmp(s + i, "infinity", 8) == 0)) {
        *v = neg ? -__builtin_inf() : __builtin_inf();
        return 1;
    }
    if (rest == 3 && strncasecmp(s + i, "nan", 3) == 0) {
        *v = neg ? -__builtin_nan("") : __builtin_nan("");
        return 1;
    }
    size_t a = digitpart(s + i, n - i);
    i += a;
    size_t b = 0;
    if (i < n && s[i] == '.') {
        i++;
        b = digitpart(s + i, n - i);
        i += b;
    }
    if (a == 0 && b == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = digitpart(s + i, n - i);
        if (e == 0)
            return 0;
        i += e;
    }
    if (i != n)
        return 0;
    char small[128];
    char *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp)
        return 0;
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        if (s[j] != '_')
            tmp[k++] = s[j];
    tmp[k] = '\0';
    *v = strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    return 1;
}

cfx_csv_type_t cfx_csv_infer(const char *s, size_t n) {
    if (n == 0)
        return CFX_CSV_UNKNOWN;
    int64_t iv;
    double dv;
    if (cfx_csv_parse_int(s, n, &iv))
        return CFX_CSV_INT;
    /* an integer outside int64 parses as a float in Python, but TFX makes
     * such a column STRING: check the int grammar before the float one */
    const char *p = s;
    size_t l = n;
    strip(&p, &l);
    size_t i = (l && (p[0] == '+' || p[0] == '-')) ? 1 : 0;
    size_t d = i < l ? digitpart(p + i, l - i) : 0;
    if (d && i + d == l)
        return CFX_CSV_STRING;
    if (cfx_csv_parse_float(s, n, &dv))
        return CFX_CSV_FLOAT;
    return CFX_CSV_STRING;
}
