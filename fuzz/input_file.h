/*
 * input_file.h: for fuzz targets whose parser reads a path: each input is
 * written to one temporary file, made on the first call and reused.
 */
#ifndef CFX_FUZZ_INPUT_FILE_H
#define CFX_FUZZ_INPUT_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes data to the target's temporary file and returns its path; aborts
 * (a harness failure, not a finding) when the file cannot be written. */
static inline const char *fuzz_input_file(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/cfx-fuzz-XXXXXX",
                 dir && dir[0] && strlen(dir) < 40 ? dir : "/tmp");
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    return path;
}

#endif
