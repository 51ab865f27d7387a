/*
 * numfmt.c: exact float formatting and fast decimal parsing (numfmt.h).
 *
 * Formatting works on the exact decimal expansion of the float: a float is
 * m * 2^e with m < 2^24, so for e >= 0 the value is an integer below 2^128
 * and for e < 0 it is m * 5^-e / 10^-e, whose numerator fits 128 bits for
 * -e <= 44 and takes a few base-1e9 limbs below that (subnormals: at most
 * 113 digits). Rounding to the wanted digits is then exact, ties to even.
 *
 * The fallbacks (strtod / strtof) read in the C locale: nothing in cfx
 * calls setlocale, so the decimal point is always '.'.
 */
#include "formats/numfmt.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

/* Decimal digits of x (no leading zeros; "0" never asked) into d. */
static int u128_digits(u128 x, char *d) {
    char tmp[48];
    int n = 0;
    while (x) {
        uint64_t chunk = (uint64_t)(x % 10000000000000000000ull);
        x /= 10000000000000000000ull;
        for (int i = 0; i < 19; i++) {
            tmp[n++] = (char)('0' + chunk % 10);
            chunk /= 10;
            if (!x && !chunk)
                break;
        }
    }
    for (int i = 0; i < n; i++)
        d[i] = tmp[n - 1 - i];
    return n;
}

/* A positive finite float as m * 2^e with m odd. */
static void float_parts(float v, uint64_t *m, int *e) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof(bits));
    uint32_t frac = bits & 0x7fffffu;
    int be = (int)((bits >> 23) & 0xff);
    uint64_t mm = be ? (frac | 0x800000u) : frac;
    int ee = be ? be - 150 : -149;
    while (!(mm & 1)) {
        mm >>= 1;
        ee++;
    }
    *m = mm;
    *e = ee;
}

/* Exact digits of a positive finite float: value = d[0..n) * 10^dexp. */
static int float_digits(float v, char *d, int *dexp) {
    uint64_t m;
    int e;
    float_parts(v, &m, &e);
    if (e >= 0) {
        *dexp = 0;
        return u128_digits((u128)m << e, d);
    }
    int k = -e;
    *dexp = e;
    if (k <= 44) {
        u128 x = m;
        for (int i = 0; i < k; i++)
            x *= 5;
        return u128_digits(x, d);
    }
    /* m * 5^k in base 1e9, least significant limb first. */
    uint32_t limb[16];
    int nl = 1;
    limb[0] = (uint32_t)m; /* m < 2^24 < 1e9 */
    while (k > 0) {
        int s = k > 13 ? 13 : k;
        uint64_t f = 1;
        for (int i = 0; i < s; i++)
            f *= 5;
        uint64_t carry = 0;
        for (int i = 0; i < nl; i++) {
            uint64_t t = (uint64_t)limb[i] * f + carry;
            limb[i] = (uint32_t)(t % 1000000000u);
            carry = t / 1000000000u;
        }
        while (carry) {
            limb[nl++] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
        k -= s;
    }
    int n = 0;
    char tmp[12];
    uint32_t top = limb[nl - 1];
    int t = 0;
    while (top) {
        tmp[t++] = (char)('0' + top % 10);
        top /= 10;
    }
    while (t)
        d[n++] = tmp[--t];
    for (int i = nl - 2; i >= 0; i--) {
        uint32_t x = limb[i];
        for (int j = 8; j >= 0; j--) {
            d[n + j] = (char)('0' + x % 10);
            x /= 10;
        }
        n += 9;
    }
    return n;
}

/* The P significant digits of d[0..nd) rounded half to even into r;
 * *x10 grows by one when rounding carries into a new digit. */
static void round_digits(const char *d, int nd, int P, char *r, int *x10) {
    for (int i = 0; i < P; i++)
        r[i] = i < nd ? d[i] : '0';
    if (nd <= P)
        return;
    int up = 0;
    if (d[P] > '5') {
        up = 1;
    } else if (d[P] == '5') {
        for (int j = P + 1; j < nd && !up; j++)
            up = d[j] != '0';
        if (!up)
            up = (r[P - 1] - '0') & 1;
    }
    if (!up)
        return;
    int j = P - 1;
    while (j >= 0 && r[j] == '9')
        r[j--] = '0';
    if (j < 0) {
        r[0] = '1';
        (*x10)++;
    } else {
        r[j]++;
    }
}

/* The P digits of q, rounded from more digits, into r: q = p10P (10^P,
 * 99..9 rounded up) is 10..0 with *x10 one higher. */
static void put_rounded(uint64_t q, uint64_t p10P, int P, char *r, int *x10) {
    if (q == p10P) {
        q /= 10;
        (*x10)++;
    }
    for (int i = P - 1; i >= 0; i--) {
        r[i] = (char)('0' + q % 10);
        q /= 10;
    }
}

/* round_digits for the usual floats (first digit between 10^(P-13) and
 * 10^(P-1), e.g. 1e-7 to 1e6 for 6 digits) in double arithmetic that is
 * exact: v * 10^k with k <= 12 is m * 5^k * 2^j with m < 2^24 and
 * 5^k < 2^28, so the product has at most 52 significant bits, and so does
 * its fraction. 0 when v is outside that range. */
static int round_double(float v, int P, char *r, int *x10) {
    static const double p10[] = {1e0, 1e1, 1e2, 1e3,  1e4,  1e5, 1e6,
                                 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
    static const uint64_t lim[] = {1,         10,        100,     1000,
                                   10000,     100000,    1000000, 10000000,
                                   100000000, 1000000000};
    double d = v;
    int x = (int)((ilogb(d) * 1233) >> 12); /* floor(log10(2^e)) */
    if (ilogb(d) < 0)
        x = -((-ilogb(d) * 1233 + 4095) >> 12); /* rounded down */
    for (int tries = 0; tries < 3; tries++) {
        int k = P - 1 - x;
        if (k < 0 || k > 12)
            return 0;
        double y = d * p10[k]; /* exact */
        uint64_t q = (uint64_t)y;
        if (q < lim[P - 1]) { /* first digit lower than guessed */
            x--;
            continue;
        }
        if (q >= lim[P]) {
            x++;
            continue;
        }
        double frac = y - (double)q; /* exact */
        if (frac > 0.5 || (frac == 0.5 && (q & 1)))
            q++;
        *x10 = x;
        put_rounded(q, lim[P], P, r, x10);
        return 1;
    }
    return 0;
}

/* round_digits for a float whose exact value is X * 10^dexp with X below
 * 2^128 (every float from 2^-44 up): one 128-bit division instead of the
 * whole digit string. 0 when the float is smaller. */
static int round_fast(float v, int P, char *r, int *x10) {
    uint64_t m;
    int e;
    float_parts(v, &m, &e);
    static const uint64_t p10[20] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull,
                                     10000000000000000ull,
                                     100000000000000000ull,
                                     1000000000000000000ull,
                                     10000000000000000000ull};
    u128 x;
    int dexp = 0;
    if (e >= 0) {
        x = (u128)m << e;
    } else if (e >= -44) {
        /* m * 5^k, 5^27 being the largest power of 5 below 2^64 */
        int k = -e;
        uint64_t p5a = 1, p5b = 1;
        for (int i = 0; i < (k < 27 ? k : 27); i++)
            p5a *= 5;
        for (int i = 27; i < k; i++)
            p5b *= 5;
        x = (u128)m * p5a * p5b;
        dexp = e;
    } else {
        return 0;
    }
    /* D: the digits of x (x < 10^D); from its bit length, then one
     * comparison. */
    int bitlen = 128 - (x >> 64 ? __builtin_clzll((uint64_t)(x >> 64))
                                : 64 + __builtin_clzll((uint64_t)x));
    int D = (bitlen * 1233 >> 12) + 1; /* floor(log10(2^bitlen)) + 1 */
    if (D > 39)
        D = 39;
    /* 10^(D-1) as a 128-bit number */
    u128 lo_pow = D - 1 <= 19 ? (u128)p10[D - 1] : (u128)p10[19] * p10[D - 20];
    if (x < lo_pow)
        D--;
    uint64_t q;
    if (D <= P) {
        q = (uint64_t)x * p10[P - D];
    } else {
        int z = D - P;
        u128 div = z <= 19 ? (u128)p10[z] : (u128)p10[19] * p10[z - 19];
        u128 qq = x / div, rem = x - qq * div;
        q = (uint64_t)qq;
        u128 twice = rem * 2; /* rem < div <= 10^38: no overflow */
        if (twice > div || (twice == div && (q & 1)))
            q++;
    }
    *x10 = D - 1 + dexp;
    put_rounded(q, p10[P], P, r, x10);
    return 1;
}

/* "%.<P>g" of a finite float; *mant / *q get the rounded P digits as an
 * integer and its power of ten (value = mant * 10^q), for the round-trip
 * test. */
static size_t gfmt(float v, int P, char *out, uint32_t *mant, int *q) {
    char *o = out;
    if (signbit(v)) {
        *o++ = '-';
        v = -v;
    }
    if (v == 0) {
        *o++ = '0';
        *o = 0;
        *mant = 0;
        *q = 0;
        return (size_t)(o - out);
    }
    char r[10];
    int x10; /* power of ten of the first digit */
    if (!round_double(v, P, r, &x10) && !round_fast(v, P, r, &x10)) {
        char d[128];
        int dexp;
        int nd = float_digits(v, d, &dexp);
        x10 = nd - 1 + dexp;
        round_digits(d, nd, P, r, &x10);
    }
    uint32_t mv = 0;
    for (int i = 0; i < P; i++)
        mv = mv * 10 + (uint32_t)(r[i] - '0');
    *mant = mv;
    *q = x10 - (P - 1);
    int last = P - 1; /* last digit kept: trailing zeros go */
    while (last > 0 && r[last] == '0')
        last--;
    if (x10 < -4 || x10 >= P) {
        *o++ = r[0];
        if (last > 0) {
            *o++ = '.';
            for (int i = 1; i <= last; i++)
                *o++ = r[i];
        }
        *o++ = 'e';
        int x = x10;
        *o++ = x < 0 ? '-' : '+';
        if (x < 0)
            x = -x;
        if (x >= 100)
            *o++ = (char)('0' + x / 100);
        *o++ = (char)('0' + x / 10 % 10);
        *o++ = (char)('0' + x % 10);
    } else if (x10 >= 0) {
        for (int i = 0; i <= x10; i++)
            *o++ = r[i];
        if (last > x10) {
            *o++ = '.';
            for (int i = x10 + 1; i <= last; i++)
                *o++ = r[i];
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -x10 - 1; i++)
            *o++ = '0';
        for (int i = 0; i <= last; i++)
            *o++ = r[i];
    }
    *o = 0;
    return (size_t)(o - out);
}

size_t cfx_numfmt_float_g(float v, int prec, char *out) {
    uint32_t m;
    int q;
    if (isnan(v)) {
        memcpy(out, signbit(v) ? "-nan" : "nan", signbit(v) ? 5 : 4);
        return signbit(v) ? 4 : 3;
    }
    if (isinf(v)) {
        memcpy(out, v < 0 ? "-inf" : "inf", v < 0 ? 5 : 4);
        return v < 0 ? 4 : 3;
    }
    if (prec < 1)
        prec = 1;
    if (prec > 9)
        prec = 9;
    return gfmt(v, prec, out, &m, &q);
}

/* Whether mant * 10^q reads back as |v| (the nearest float to it). */
static int reads_back(float av, uint32_t mant, int q, const char *text,
                      size_t len) {
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    static const float p10[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                1e6f, 1e7f, 1e8f, 1e9f, 1e10f};
    while (mant && mant % 10 == 0 && q < 0) {
        mant /= 10;
        q++;
    }
    /* mant < 2^24 and 10^|q| <= 10^10 are exact floats: one rounding. */
    if (q >= 0 && q <= 10)
        return (float)mant * p10[q] == av;
    if (q < 0 && q >= -10)
        return (float)mant / p10[-q] == av;
#else
    (void)mant;
    (void)q;
#endif
    float f = cfx_numfmt_parse_float(text, len);
    return fabsf(f) == av;
}

size_t cfx_numfmt_tf_float(float v, char *out) {
    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "Infinity" : "-Infinity", v > 0 ? 9 : 10);
        return v > 0 ? 8 : 9;
    }
    uint32_t m;
    int q;
    size_t n = gfmt(v, 6, out, &m, &q);
    if (!reads_back(fabsf(v), m, q, out, n))
        n = gfmt(v, 9, out, &m, &q);
    if (!memchr(out, '.', n) && !memchr(out, 'e', n)) {
        out[n++] = '.';
        out[n++] = '0';
        out[n] = 0;
    }
    return n;
}

/* strtof (as_float: exact in a double) or strtod of s[0..n), which need
 * not end in a NUL. */
static double parse_c(const char *s, size_t n, int as_float) {
    char small[64];
    char *buf = n < sizeof(small) ? small : malloc(n + 1);
    if (!buf)
        return NAN;
    memcpy(buf, s, n);
    buf[n] = 0;
    double d = as_float ? strtof(buf, NULL) : strtod(buf, NULL);
    if (buf != small)
        free(buf);
    return d;
}

float cfx_numfmt_parse_float(const char *s, size_t n) {
    return (float)parse_c(s, n, 1);
}

double cfx_numfmt_parse_double(const char *s, size_t n) {
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s, *e = s + n;
    int neg = 0;
    if (p < e && *p == '-') {
        neg = 1;
        p++;
    }
    if (p < e && *p == 'N')
        return NAN;
    if (p < e && *p == 'I')
        return neg ? -INFINITY : INFINITY;
    uint64_t m = 0;
    int nd = 0, exp10 = 0, inexact = 0;
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        if (m == 0 && *p == '0')
            continue;
        if (nd < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            nd++;
        } else {
            exp10++;
            inexact |= *p != '0';
        }
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++) {
            if (m == 0 && *p == '0') {
                exp10--;
            } else if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                nd++;
                exp10--;
            } else {
                inexact |= *p != '0';
            }
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0, ev = 0;
        if (p < e && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        for (; p < e && *p >= '0' && *p <= '9'; p++)
            if (ev < 100000)
                ev = ev * 10 + (*p - '0');
        exp10 += eneg ? -ev : ev;
    }
    if (m == 0)
        return neg ? -0.0 : 0.0;
    if (!inexact && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)m;
        d = exp10 >= 0 ? d * p10[exp10] : d / p10[-exp10];
        return neg ? -d : d;
    }
    return parse_c(s, n, 0);
}
