/*
 * report_fuzz.c: libFuzzer target for what `cfx report` reads from an
 * artifact: the first byte picks the kind, the rest is the file.
 *   0: Split-train/FeatureStats.pb   (statistics section)
 *   1: train/events.out.tfevents.1.x (training section: TFRecord of Events)
 *   2: metrics.json of an evaluation (evaluation section)
 *   3: plots.json beside a fixed metrics.json
 * Whatever fails must say why; whatever renders must be one page whose
 * only <script is its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/file.h"
#include "report/report.h"

static char dir[64];

static void put(const char *rel, const uint8_t *data, size_t size) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/cfx-fuzz-XXXXXX",
                 t && t[0] && strlen(t) < 40 ? t : "/tmp");
        if (!mkdtemp(dir))
            abort();
        char p[128];
        snprintf(p, sizeof p, "%s/Split-train", dir);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/train", dir);
        mkdir(p, 0755);
    }
    if (size < 1)
        return 0;
    int kind = data[0] % 4;
    data++, size--;
    char p[128];
    /* one kind present at a time */
    snprintf(p, sizeof p, "%s/Split-train/FeatureStats.pb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/train/events.out.tfevents.1.x", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/metrics.json", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/plots.json", dir);
    unlink(p);
    if (kind == 0) {
        put("Split-train/FeatureStats.pb", data, size);
    } else if (kind == 1) {
        put("train/events.out.tfevents.1.x", data, size);
    } else if (kind == 2) {
        put("metrics.json", data, size);
        put("eval_config.json", (const uint8_t *)"{}", 2);
    } else {
        static const char m[] =
            "{\"model\": \"m\", \"baseline\": \"b\", \"example_count\": 1, "
            "\"slices\": [{\"slice\": \"Overall\", \"metrics\": {}}]}";
        put("metrics.json", (const uint8_t *)m, sizeof m - 1);
        put("eval_config.json", (const uint8_t *)"{}", 2);
        put("plots.json", data, size);
    }
    char out[128];
    snprintf(out, sizeof out, "%s/out.html", dir);
    cfx_report_opts_t o = {dir, out, NULL};
    cfx_error_t err;
    cfx_error_init(&err);
    if (cfx_report_write(&o, NULL, &err) < 0) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    cfx_buf_t b;
    cfx_buf_init(&b);
    if (cfx_file_read(out, 1u << 30, &b, &err) < 0 || cfx_buf_cstr(&b) < 0)
        abort();
    const char *s = strstr((const char *)b.data, "<script");
    if (!s || strstr(s + 1, "<script"))
        abort();
    cfx_buf_free(&b);
    return 0;
}
