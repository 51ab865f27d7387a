/*
 * examplegen_part_fuzz.c: libFuzzer target for the manifest of an
 * examplegen part (part.json, which `cfx examplegen --merge` reads;
 * data/examplegen.c).
 *
 * Each input is the part.json of a one-part run whose Split-train holds no
 * records; the merge must refuse it with a message, or succeed (then its
 * output is removed for the next input). Properties: no crash or leak; a
 * refusal says why and leaves no output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/examplegen.h"
#include "formats/file.h"

static char dir[64], part[96], out[96];

static void setup(void) {
    const char *t = getenv("TMPDIR");
    char p[160];
    snprintf(dir, sizeof dir, "%s/cfx-fuzz-XXXXXX",
             t && t[0] && strlen(t) < 40 ? t : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(part, sizeof part, "%s/part", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(p, sizeof p, "%s/Split-train", part);
    if (mkdir(part, 0700) != 0 || mkdir(p, 0700) != 0)
        abort();
    snprintf(p, sizeof p, "%s/Split-train/examples.tfrecord", part);
    FILE *f = fopen(p, "wb");
    if (!f || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char p[160];
    if (!dir[0])
        setup();
    snprintf(p, sizeof p, "%s/part.json", part);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    const char *parts[1] = {part};
    cfx_examplegen_result_t res;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc = cfx_examplegen_merge_parts(parts, 1, out, &res, &err);
    cfx_examplegen_result_free(&res);
    if (rc < 0) {
        struct stat sb;
        if (!err.msg[0] || stat(out, &sb) == 0)
            abort();
        return 0;
    }
    if (cfx_file_remove_tree(out, NULL) < 0)
        abort();
    return 0;
}
