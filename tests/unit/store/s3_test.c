/*
 * s3_test.c: the pure parts of the S3 client (store/s3.h): s3:// URLs,
 * SigV4's URI encoding, TF Serving's S3 environment variables, and the
 * ListObjectsV2 and Error XML bodies, including pages a real
 * S3-compatible server (s3rver) wrote (fuzz/corpus/s3_xml/). The requests
 * themselves are tested against that server in tests/e2e/s3_serve_test.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/buf.h"
#include "store/s3.h"
#include "test_util.h"

/* ---- URLs ---------------------------------------------------------------- */

static void test_url_ok(void **state) {
    (void)state;
    cfx_s3_url_t u;
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_s3_url_parse("s3://models/taxi", &u, &err), err);
    assert_string_equal(u.bucket, "models");
    assert_string_equal(u.prefix, "taxi");
    CFX_TEST_OK(cfx_s3_url_parse("s3://my.bucket-1/a/b/c//", &u, &err), err);
    assert_string_equal(u.bucket, "my.bucket-1");
    assert_string_equal(u.prefix, "a/b/c");
    CFX_TEST_OK(cfx_s3_url_parse("s3://models", &u, &err), err);
    assert_string_equal(u.prefix, "");
    CFX_TEST_OK(cfx_s3_url_parse("s3://models/", &u, &err), err);
    assert_string_equal(u.prefix, "");
    assert_true(cfx_s3_is_url("s3://x"));
    assert_false(cfx_s3_is_url("/srv/models"));
    assert_false(cfx_s3_is_url("S3://x"));
}

static void test_url_bad(void **state) {
    (void)state;
    static const struct {
        const char *url, *why;
    } cases[] = {
        {"gs://models/taxi", "starts with s3://"},
        {"s3://ab/taxi", "3 to 63 characters"},
        {"s3:///taxi", "3 to 63 characters"},
        {"s3://bu$ket/taxi", "bad character '$'"},
        {"s3://models/a//b", "empty, '.' or '..' component"},
        {"s3://models/a/../b", "empty, '.' or '..' component"},
        {"s3://models/./b", "empty, '.' or '..' component"},
        {"s3://models/a\tb", "control character"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfx_s3_url_t u;
        cfx_error_t err;
        cfx_error_init(&err);
        assert_int_equal(cfx_s3_url_parse(cases[i].url, &u, &err), CFX_EINVAL);
        if (!strstr(err.msg, cases[i].why) || !strstr(err.msg, cases[i].url))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].url, err.msg,
                     cases[i].why);
    }
    char long_url[2048] = "s3://models/";
    memset(long_url + strlen(long_url), 'a', 1500);
    cfx_s3_url_t u;
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_s3_url_parse(long_url, &u, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "longer than"));
}

/* ---- URI encoding ---------------------------------------------------------
 * Expected strings by hand from SigV4's rule (docs/s3.md): unreserved
 * bytes as they are, every other byte %XX in upper case, '/' only in
 * object paths. */
static void test_uri_encode(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int keep_slash;
        const char *out;
    } cases[] = {
        {"taxi/1/manifest.json", 1, "taxi/1/manifest.json"},
        {"taxi/", 0, "taxi%2F"},
        {"a b+c=d&e~f_g-h.i", 1, "a%20b%2Bc%3Dd%26e~f_g-h.i"},
        {"1y+/P/7SO==", 0, "1y%2B%2FP%2F7SO%3D%3D"},
        {"\xc3\xa9*", 1, "%C3%A9%2A"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfx_buf_t b;
        cfx_buf_init(&b);
        assert_int_equal(cfx_s3_uri_encode(&b, cases[i].in, strlen(cases[i].in),
                                           cases[i].keep_slash),
                         0);
        assert_int_equal(cfx_buf_cstr(&b), 0);
        assert_string_equal((const char *)b.data, cases[i].out);
        cfx_buf_free(&b);
    }
}

/* ---- the environment ----------------------------------------------------- */

/* A NULL-terminated list of NAME=value pairs standing in for environ. */
static const char *table_get(void *ud, const char *name) {
    const char *const *t = ud;
    size_t n = strlen(name);
    for (; *t; t++)
        if (!strncmp(*t, name, n) && (*t)[n] == '=')
            return *t + n + 1;
    return NULL;
}

static int config(cfx_s3_config_t *c, const char *const *table,
                  cfx_error_t *err) {
    cfx_error_init(err);
    return cfx_s3_config_from(c, table_get, (void *)table, err);
}

static void test_env_defaults(void **state) {
    (void)state;
    const char *none[] = {NULL};
    cfx_s3_config_t c;
    cfx_error_t err;
    CFX_TEST_OK(config(&c, none, &err), err);
    assert_string_equal(c.region, "us-east-1");
    assert_string_equal(c.scheme, "https");
    assert_string_equal(c.endpoint, "s3.us-east-1.amazonaws.com");
    assert_int_equal(c.verify_ssl, 1);
    assert_string_equal(c.access_key, "");
    assert_string_equal(c.secret_key, "");
    assert_string_equal(c.session_token, "");
    assert_int_equal(c.connect_timeout_ms, 5000);
    assert_int_equal(c.request_timeout_ms, 10000);
}

static void test_env_set(void **state) {
    (void)state;
    cfx_s3_config_t c;
    cfx_error_t err;
    const char *a[] = {"AWS_REGION=eu-west-3",
                       "S3_REGION=us-west-2",
                       "S3_ENDPOINT=127.0.0.1:9000",
                       "S3_USE_HTTPS=0",
                       "S3_VERIFY_SSL=false",
                       "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
                       "AWS_SECRET_ACCESS_KEY=secret/key+1",
                       "AWS_SESSION_TOKEN=tok",
                       "S3_CONNECT_TIMEOUT_MSEC=250",
                       "S3_REQUEST_TIMEOUT_MSEC=1500",
                       NULL};
    CFX_TEST_OK(config(&c, a, &err), err);
    assert_string_equal(c.region, "eu-west-3"); /* AWS_REGION wins */
    assert_string_equal(c.scheme, "http");
    assert_string_equal(c.endpoint, "127.0.0.1:9000");
    assert_int_equal(c.verify_ssl, 0);
    assert_string_equal(c.access_key, "AKIDEXAMPLE");
    assert_string_equal(c.secret_key, "secret/key+1");
    assert_string_equal(c.session_token, "tok");
    assert_int_equal(c.connect_timeout_ms, 250);
    assert_int_equal(c.request_timeout_ms, 1500);

    /* S3_REGION without AWS_REGION; the default endpoint follows it */
    const char *b[] = {"S3_REGION=us-west-2", NULL};
    CFX_TEST_OK(config(&c, b, &err), err);
    assert_string_equal(c.region, "us-west-2");
    assert_string_equal(c.endpoint, "s3.us-west-2.amazonaws.com");

    /* a scheme in S3_ENDPOINT wins over S3_USE_HTTPS; '/' at the end goes */
    const char *d[] = {"S3_ENDPOINT=https://minio.local:9000/",
                       "S3_USE_HTTPS=0", NULL};
    CFX_TEST_OK(config(&c, d, &err), err);
    assert_string_equal(c.scheme, "https");
    assert_string_equal(c.endpoint, "minio.local:9000");
    const char *e[] = {"S3_ENDPOINT=http://[::1]:9000", NULL};
    CFX_TEST_OK(config(&c, e, &err), err);
    assert_string_equal(c.scheme, "http");
    assert_string_equal(c.endpoint, "[::1]:9000");
}

static void test_env_bad(void **state) {
    (void)state;
    static const struct {
        const char *set[3];
        const char *why;
    } cases[] = {
        {{"S3_USE_HTTPS=yes"}, "S3_USE_HTTPS: expected 0, 1, true or false"},
        {{"S3_VERIFY_SSL=2"}, "S3_VERIFY_SSL: expected 0, 1, true or false"},
        {{"AWS_ACCESS_KEY_ID=AK"},
         "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
        {{"AWS_SECRET_ACCESS_KEY=s"},
         "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"},
        {{"S3_ENDPOINT=http://host:9000/path"}, "S3_ENDPOINT: expected"},
        {{"S3_ENDPOINT=http://"}, "S3_ENDPOINT: expected host[:port]"},
        {{"AWS_REGION=US East"}, "AWS_REGION: a region is lower-case"},
        {{"S3_CONNECT_TIMEOUT_MSEC=abc"}, "S3_CONNECT_TIMEOUT_MSEC: expected"},
        {{"S3_REQUEST_TIMEOUT_MSEC=0"}, "S3_REQUEST_TIMEOUT_MSEC: expected"},
        {{"AWS_ACCESS_KEY_ID=a\nb", "AWS_SECRET_ACCESS_KEY=s"},
         "AWS_ACCESS_KEY_ID: a control character"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfx_s3_config_t c;
        cfx_error_t err;
        assert_int_equal(config(&c, cases[i].set, &err), CFX_EINVAL);
        if (!strstr(err.msg, cases[i].why))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].set[0], err.msg,
                     cases[i].why);
    }
}

/* ---- ListObjectsV2 ------------------------------------------------------- */

static int parse(const char *xml, size_t max, cfx_s3_listing_t *l,
                 cfx_error_t *err) {
    cfx_error_init(err);
    return cfx_s3_xml_parse_list(xml, strlen(xml), max, l, err);
}

static void test_list_page(void **state) {
    (void)state;
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!-- two objects and a token -->\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>models</Name><Prefix>taxi/</Prefix><KeyCount>2</KeyCount>"
        "<IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>1y+/P=</NextContinuationToken>"
        "<Contents><Key>taxi/1/a&amp;b &lt;&#x41;&#66;&gt;</Key>"
        "<LastModified>2026-12-07T19:25:04.000Z</LastModified>"
        "<ETag>&quot;b1946ac92492d2347c6235b4d2611184&quot;</ETag>"
        "<Size>6</Size><StorageClass>STANDARD</StorageClass>"
        "<Owner><ID>x</ID></Owner></Contents>"
        "<Contents><Key><![CDATA[taxi/1/manifest.json]]></Key>"
        "<Size>18446744073709551615</Size><ETag/></Contents>"
        "</ListBucketResult>\n";
    cfx_s3_listing_t l;
    cfx_s3_listing_init(&l);
    cfx_error_t err;
    CFX_TEST_OK(parse(xml, 10, &l, &err), err);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.objects[0].key, "taxi/1/a&b <AB>");
    assert_int_equal(l.objects[0].size, 6);
    assert_string_equal(l.objects[0].etag, "b1946ac92492d2347c6235b4d2611184");
    assert_string_equal(l.objects[1].key, "taxi/1/manifest.json");
    assert_true(l.objects[1].size == UINT64_MAX);
    assert_string_equal(l.objects[1].etag, "");
    assert_int_equal(l.is_truncated, 1);
    assert_string_equal(l.next_token, "1y+/P=");
    /* a second page appends and clears the token */
    const char *last = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                       "<Contents><Key>taxi/2/x</Key><Size>0</Size>"
                       "</Contents></ListBucketResult>";
    CFX_TEST_OK(parse(last, 10, &l, &err), err);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.objects[2].key, "taxi/2/x");
    assert_int_equal(l.is_truncated, 0);
    assert_null(l.next_token);
    /* a third would pass the bound */
    assert_int_equal(parse(last, 3, &l, &err), CFX_ETOOBIG);
    assert_non_null(strstr(err.msg, "more than 3 objects"));
    cfx_s3_listing_free(&l);
}

static void test_list_bad(void **state) {
    (void)state;
    char long_key[1300];
    memset(long_key, 0, sizeof(long_key));
    strcpy(long_key, "<ListBucketResult><IsTruncated>false</IsTruncated>"
                     "<Contents><Size>1</Size><Key>");
    memset(long_key + strlen(long_key), 'k', 1025);
    strcat(long_key, "</Key></Contents></ListBucketResult>");
    const struct {
        const char *xml, *why;
    } cases[] = {
        {"<ListBucketResult><IsTruncated>true</IsTruncated>"
         "</ListBucketResult>",
         "truncated listing without NextContinuationToken"},
        {"<ListBucketResult></ListBucketResult>", "without IsTruncated"},
        {"<ListBucketResult><IsTruncated>maybe</IsTruncated>"
         "</ListBucketResult>",
         "IsTruncated is neither true nor false"},
        {"<ListBucketResult><IsTruncated>false</IsTruncated>"
         "<Contents><Key>k</Key></Contents></ListBucketResult>",
         "Contents without Key or Size"},
        {"<ListBucketResult><IsTruncated>false</IsTruncated>"
         "<Contents><Key>k</Key><Size>12x</Size></Contents>"
         "</ListBucketResult>",
         "Size is not a decimal number"},
        {"<ListBucketResult><IsTruncated>false</IsTruncated>"
         "<Contents><Key>k</Key><Size>18446744073709551616</Size>"
         "</Contents></ListBucketResult>",
         "Size is not a decimal number"},
        {"<ListBucketResult><Name>x</Nam></ListBucketResult>",
         "end tag does not match"},
        {"<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>",
         "DOCTYPE and declarations are not accepted"},
        {"<ListBucketResult><Name>&bogus;</Name></ListBucketResult>",
         "unknown entity"},
        {"<ListBucketResult><Name>&#0;</Name></ListBucketResult>",
         "bad character reference"},
        {"<ListBucketResult><Name>x</Name>", "document ends inside"},
        {"<Error><Code>AccessDenied</Code></Error>",
         "expected a ListBucketResult"},
        {"", "has none"},
        {"<ListBucketResult/><ListBucketResult/>", "a second root element"},
        /* a '<' as the last byte (found by fuzz/s3_xml_fuzz.c) */
        {"<ListBucketResult/><", "a second root element"},
        {long_key, "Key empty or longer than 1024 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfx_s3_listing_t l;
        cfx_s3_listing_init(&l);
        cfx_error_t err;
        int rc = parse(cases[i].xml, 100, &l, &err);
        if (rc != CFX_EPARSE || !strstr(err.msg, cases[i].why))
            fail_msg("case %zu: rc %d, \"%s\" lacks \"%s\"", i, rc, err.msg,
                     cases[i].why);
        cfx_s3_listing_free(&l);
    }
    /* deep nesting is bounded */
    char deep[512] = "<ListBucketResult>";
    for (int i = 0; i < 20; i++)
        strcat(deep, "<a>");
    cfx_s3_listing_t l;
    cfx_s3_listing_init(&l);
    cfx_error_t err;
    assert_int_equal(parse(deep, 100, &l, &err), CFX_EPARSE);
    assert_non_null(strstr(err.msg, "nested too deep"));
    cfx_s3_listing_free(&l);
}

static uint8_t *seed(const char *name, size_t *n) {
    const char *src = getenv("CFX_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/fuzz/corpus/s3_xml/%s", src ? src : ".",
             name);
    return cfx_test_read_file(path, n);
}

/* Pages s3rver wrote (fuzz/corpus/s3_xml/): what they hold counted here by
 * plain substring search, independently of the parser. */
static void test_real_pages(void **state) {
    (void)state;
    size_t n;
    uint8_t *xml = seed("list_page.xml", &n);
    size_t contents = 0;
    for (const char *p = (const char *)xml; (p = strstr(p, "<Contents>")); p++)
        contents++;
    assert_true(contents > 5);
    cfx_s3_listing_t l;
    cfx_s3_listing_init(&l);
    cfx_error_t err;
    cfx_error_init(&err);
    CFX_TEST_OK(cfx_s3_xml_parse_list((const char *)xml, n, 1000, &l, &err),
                err);
    assert_int_equal(l.n, contents);
    assert_int_equal(l.is_truncated, 0);
    for (size_t i = 0; i < l.n; i++) {
        char want[1100];
        snprintf(want, sizeof(want), "<Key>%s</Key>", l.objects[i].key);
        assert_non_null(strstr((const char *)xml, want));
        assert_int_equal(strlen(l.objects[i].etag), 32);
    }
    cfx_s3_listing_free(&l);
    free(xml);

    xml = seed("list_truncated.xml", &n);
    cfx_s3_listing_init(&l);
    CFX_TEST_OK(cfx_s3_xml_parse_list((const char *)xml, n, 1000, &l, &err),
                err);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.is_truncated, 1);
    char want[256];
    snprintf(want, sizeof(want), "<NextContinuationToken>%s<", l.next_token);
    assert_non_null(strstr((const char *)xml, want));
    cfx_s3_listing_free(&l);
    free(xml);

    xml = seed("error_signature.xml", &n);
    char code[64], msg[256];
    assert_int_equal(cfx_s3_xml_parse_error((const char *)xml, n, code,
                                            sizeof(code), msg, sizeof(msg)),
                     0);
    assert_string_equal(code, "SignatureDoesNotMatch");
    assert_non_null(strstr(msg, "does not match the signature you provided"));
    /* an error is not a listing */
    cfx_s3_listing_init(&l);
    assert_int_equal(
        cfx_s3_xml_parse_list((const char *)xml, n, 1000, &l, &err),
        CFX_EPARSE);
    cfx_s3_listing_free(&l);
    free(xml);
    /* and a listing is not an error */
    const char *page = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                       "</ListBucketResult>";
    assert_int_equal(cfx_s3_xml_parse_error(page, strlen(page), code,
                                            sizeof(code), msg, sizeof(msg)),
                     CFX_EPARSE);
    assert_string_equal(code, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_ok),     cmocka_unit_test(test_url_bad),
        cmocka_unit_test(test_uri_encode), cmocka_unit_test(test_env_defaults),
        cmocka_unit_test(test_env_set),    cmocka_unit_test(test_env_bad),
        cmocka_unit_test(test_list_page),  cmocka_unit_test(test_list_bad),
        cmocka_unit_test(test_real_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
