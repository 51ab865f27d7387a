/*
 * s3_xml_fuzz.c: libFuzzer target for the S3 XML bodies cfx-serve reads
 * from an object store (store/s3_xml.c): a ListObjectsV2 page and an
 * Error. The store is outside cfx's control, so every byte of an answer
 * is untrusted.
 *
 * Properties: no crash or leak on any input; a refusal says why; a parsed
 * page holds at most the objects allowed, each with a non-empty key of at
 * most CFX_S3_MAX_KEY bytes, and a truncated page always carries its
 * continuation token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cfx_s3_listing_t l;
    cfx_s3_listing_init(&l);
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_s3_xml_parse_list((const char *)data, size, 50, &l, &err);
    if (rc && !err.msg[0])
        abort();
    if (!rc) {
        if (l.n > 50 || (l.is_truncated && !l.next_token))
            abort();
        for (size_t i = 0; i < l.n; i++) {
            size_t n = strlen(l.objects[i].key);
            if (n == 0 || n > CFX_S3_MAX_KEY)
                abort();
        }
    }
    cfx_s3_listing_free(&l);
    char code[64], msg[256];
    if (cfx_s3_xml_parse_error((const char *)data, size, code, sizeof(code),
                               msg, sizeof(msg)) == 0 &&
        strlen(code) >= sizeof(code))
        abort();
    return 0;
}
