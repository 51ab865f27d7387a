/*
 * numfmt.h: decimal <-> binary floating point without printf or a
 * locale-bound strtod on the common path.
 *
 * cfx_numfmt_float_g() is C's "%.<prec>g" for a float, computed exactly
 * from the float's binary value (round half to even on the exact decimal
 * expansion, as glibc's printf), so it is printf's output byte for byte.
 * cfx_numfmt_tf_float() is TF Serving's rule for writing a DT_FLOAT in JSON
 * (docs/serving.md "Numbers"): "%g" (6 significant digits), "%.9g" when 6
 * digits do not read back as the same float, ".0" appended when the text
 * has neither '.' nor 'e', and NaN / Infinity / -Infinity.
 *
 * cfx_numfmt_parse_double() reads a JSON number (already validated) with
 * the exact fast path for short decimals (at most 19 significant digits,
 * the value an exact double times or divided by an exact power of ten)
 * and the C locale's strtod otherwise; either way the result is the
 * correctly rounded double.
 *
 * Thread-safety: reentrant.
 */
#ifndef CFX_FORMATS_NUMFMT_H
#define CFX_FORMATS_NUMFMT_H

#include <stddef.h>

/* Longest output of the functions below, NUL included. */
#define CFX_NUMFMT_MAX 48

/* "%.<prec>g" of v, prec 1..9 (NaN / inf as printf: "nan", "inf").
 * Writes a NUL-terminated string into out; returns its length. */
size_t cfx_numfmt_float_g(float v, int prec, char *out);

/* TF Serving's JSON text for a DT_FLOAT; returns the length (NUL written). */
size_t cfx_numfmt_tf_float(float v, char *out);

/* s[0..n) is a JSON number (sign, digits, fraction, exponent); returns
 * the nearest double (+-inf when out of range). */
double cfx_numfmt_parse_double(const char *s, size_t n);

/* Parses decimal text as strtof in the C locale would (the correctly
 * rounded float); s[0..n) need not be NUL-terminated. */
float cfx_numfmt_parse_float(const char *s, size_t n);

#endif
