/* cmd_version.c: `cfx version`. */
#include <stdio.h>

#include "model/bundle.h"

int cfx_cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("cfx %s (bundle format %d)\n", CFX_VERSION,
           CFX_BUNDLE_FORMAT_VERSION);
    return 0;
}
