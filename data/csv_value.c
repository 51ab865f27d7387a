/*
 * csv_value.c: Python int()/float() rules for CSV cells (see csv_value.h).
 *
 * Floats are validated against Python's grammar first. Short decimals
 * (at most 18 significant digits, |exponent| <= 22) take Clinger's exact
 * fast path; the rest go to strtod, which glibc rounds correctly. Either
 * way the double equals Python's float(); examplegen narrows it to float32
 * as TFX does.
 */
#include "data/csv_value.h"

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

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

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

/* Checks Python's float grammar on the stripped text; *special is set for
 * inf/infinity/nan (value in *v). */
static int float_syntax(const char *s, size_t n, int *special, double *v) {
    size_t i = 0;
    int neg = 0;
    *special = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    size_t rest = n - i;
    char c0 = rest ? (char)(s[i] | 0x20) : 0;
    if (c0 == 'i' && ((rest == 3 && strncasecmp(s + i, "inf", 3) == 0) ||
                      (rest == 8 && strncasecmp(s + i, "infinity", 8) == 0))) {
        *special = 1;
        *v = neg ? -__builtin_inf() : __builtin_inf();
        return 1;
    }
    if (c0 == 'n' && rest == 3 && strncasecmp(s + i, "nan", 3) == 0) {
        *special = 1;
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
    return i == n;
}

/* Exact powers of ten representable in a double. */
static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: a mantissa below 2^53 times an exact power of ten
 * is one correctly rounded IEEE operation. 0 when it does not apply. */
static int fast_decimal(const char *s, size_t n, double *v) {
    size_t i = 0;
    int neg = 0, digits = 0;
    uint64_t m = 0;
    long e10 = 0;
    if (s[i] == '+' || s[i] == '-')
        neg = s[i++] == '-';
    for (; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
        char c = s[i];
        if (c == '_')
            continue;
        if (c == '.') {
            for (i++; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
                if (s[i] == '_')
                    continue;
                if (m || s[i] != '0')
                    digits++;
                if (digits > 18)
                    return 0;
                m = m * 10 + (uint64_t)(s[i] - '0');
                e10--;
            }
            break;
        }
        if (m || c != '0')
            digits++;
        if (digits > 18)
            return 0;
        m = m * 10 + (uint64_t)(c - '0');
    }
    if (i < n) { /* exponent */
        int eneg = 0;
        long ex = 0;
        i++;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        for (; i < n; i++) {
            if (s[i] == '_')
                continue;
            ex = ex * 10 + (s[i] - '0');
            if (ex > 1000)
                return 0;
        }
        e10 += eneg ? -ex : ex;
    }
    if (m > (1ull << 53) || e10 < -22 || e10 > 22)
        return 0;
    double d = (double)m;
    d = e10 >= 0 ? d * pow10_exact[e10] : d / pow10_exact[-e10];
    *v = neg ? -d : d;
    return 1;
}

int cfx_csv_parse_float(const char *s, size_t n, double *v) {
    int special;
    strip(&s, &n);
    if (!float_syntax(s, n, &special, v))
        return 0;
    if (special || fast_decimal(s, n, v))
        return 1;
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
    /* the grammar suffices here: the value is computed in the second pass */
    /* an integer outside int64 parses as a float in Python, but TFX makes
     * such a column STRING: check the int grammar before the float one */
    const char *p = s;
    size_t l = n;
    strip(&p, &l);
    size_t i = (l && (p[0] == '+' || p[0] == '-')) ? 1 : 0;
    size_t d = i < l ? digitpart(p + i, l - i) : 0;
    if (d && i + d == l)
        return CFX_CSV_STRING;
    int special;
    if (float_syntax(p, l, &special, &dv))
        return CFX_CSV_FLOAT;
    return CFX_CSV_STRING;
}
