/* html_escape_test.c: the HTML escaping shared by `cfx report` and the
 * status page: each metacharacter, markup that tries to break out of text
 * and attributes, invalid UTF-8 (overlong, surrogate, past U+10FFFF,
 * truncated), controls and NUL; and 20,000 random byte strings, whose
 * output must hold no metacharacter and only valid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/html_escape.h"

static char *esc(const char *s, size_t n) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_html_escape(&b, s, n), 0);
    char *out = malloc(b.len + 1);
    memcpy(out, b.data ? (const char *)b.data : "", b.len);
    out[b.len] = 0;
    cfx_buf_free(&b);
    return out;
}

static void expect(const char *in, size_t n, const char *want) {
    char *got = esc(in, n);
    assert_string_equal(got, want);
    free(got);
}

#define EXPECT(in, want) expect(in, sizeof in - 1, want)

static void test_vectors(void **state) {
    (void)state;
    EXPECT("", "");
    EXPECT("plain text 123", "plain text 123");
    EXPECT("&<>\"'", "&amp;&lt;&gt;&quot;&#39;");
    EXPECT("<script>alert(1)</script>",
           "&lt;script&gt;alert(1)&lt;/script&gt;");
    EXPECT("\" onmouseover=\"x", "&quot; onmouseover=&quot;x");
    EXPECT("' autofocus onfocus='x", "&#39; autofocus onfocus=&#39;x");
    EXPECT("&amp;", "&amp;amp;");
    EXPECT("tab\tnew\nline", "tab\tnew\nline");
    EXPECT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* invalid UTF-8: one U+FFFD per bad byte */
    EXPECT("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong '/' */
    EXPECT("\xe0\x80\xbc", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* '<' */
    EXPECT("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* D800 */
    EXPECT("\xf4\x90\x80\x80",
           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* 110000 */
    EXPECT("\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd");             /* truncated */
    EXPECT("\xe2<", "\xef\xbf\xbd&lt;");
    /* controls, DEL, NUL */
    EXPECT("a\x01"
           "b\x7f"
           "c",
           "a\xef\xbf\xbd"
           "b\xef\xbf\xbd"
           "c");
    expect("a\0<", 3, "a\xef\xbf\xbd&lt;");
}

/* Length of a valid UTF-8 sequence at s, 0 when invalid (an independent
 * check written from RFC 3629's table). */
static size_t valid_at(const unsigned char *s, size_t n) {
    if (s[0] < 0x80)
        return 1;
    size_t len = (s[0] & 0xE0) == 0xC0   ? 2
                 : (s[0] & 0xF0) == 0xE0 ? 3
                 : (s[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (!len || len > n)
        return 0;
    unsigned long c = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return len;
}

/* cfx_utf8_repair: only invalid UTF-8 changes, metacharacters and
 * controls stay. */
static void expect_repair(const char *in, size_t n, const char *want) {
    cfx_buf_t b;
    cfx_buf_init(&b);
    assert_int_equal(cfx_utf8_repair(&b, in, n), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.len ? (const char *)b.data : "", want, b.len);
    cfx_buf_free(&b);
}

#define REPAIR(in, want) expect_repair(in, sizeof in - 1, want)

static void test_repair(void **state) {
    (void)state;
    REPAIR("", "");
    REPAIR("<a href='x'>&\t\n", "<a href='x'>&\t\n");
    REPAIR("caf\xc3\xa9", "caf\xc3\xa9");
    REPAIR("mod\xe9les", "mod\xef\xbf\xbdles");         /* Latin-1 */
    REPAIR("ab\xe2\x82", "ab\xef\xbf\xbd\xef\xbf\xbd"); /* cut inside */
    REPAIR("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");     /* overlong */
    REPAIR("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_random(void **state) {
    (void)state;
    unsigned seed = 12345;
    unsigned char in[64];
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                       "&#39;"};
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 64);
        for (size_t i = 0; i < n; i++) {
            /* mostly the interesting bytes */
            static const unsigned char pick[] = {
                '<',  '>',  '&',  '"',  '\'', 0,    0xC3, 0xA9,
                0xE2, 0x82, 0xF0, 0x9F, 0xED, 0xA0, 'a',  '\n'};
            in[i] = rand_r(&seed) % 3 ? pick[rand_r(&seed) % sizeof pick]
                                      : (unsigned char)rand_r(&seed);
        }
        char *out = esc((const char *)in, n);
        const unsigned char *o = (const unsigned char *)out;
        size_t len = strlen(out);
        for (size_t i = 0; i < len;) {
            assert_true(o[i] != '<' && o[i] != '>' && o[i] != '"' &&
                        o[i] != '\'');
            assert_true(o[i] >= 0x20 || o[i] == '\n' || o[i] == '\t');
            if (o[i] == '&') {
                int ok = 0;
                for (size_t k = 0; k < 5 && !ok; k++)
                    ok = !strncmp(out + i, ents[k], strlen(ents[k]));
                assert_true(ok);
            }
            size_t l = valid_at(o + i, len - i);
            assert_true(l > 0);
            i += l;
        }
        free(out);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
