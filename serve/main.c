/*
 * main.c: main() of cfx-serve, the model server (built into the cfx-serve
 * program, not into the serve library). Parses the
 * tensorflow_model_server flags and runs the server library; everything
 * else lives in serve/.
 */
#include <stdio.h>
#include <string.h>

#include "serve/config.h"
#include "serve/server.h"

int main(int argc, char **argv) {
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_serve_flags_t flags;
    cfx_serve_flags_init(&flags);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(cfx_serve_flags_usage(), stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            /* tensorflow_model_server prints its version and exits 0. */
            printf("cfx-serve %s (TensorFlow Serving APIs: REST v1, "
                   "tensorflow.serving gRPC)\n",
                   CFX_VERSION);
            return 0;
        }
    if (cfx_serve_flags_parse(&flags, argc, argv, &err)) {
        fprintf(stderr, "cfx-serve: %s\n%s", err.msg, cfx_serve_flags_usage());
        cfx_serve_flags_free(&flags);
        return 2;
    }
    cfx_server_t *srv = NULL;
    int rc = cfx_server_new(&flags, &srv, &err);
    if (!rc)
        rc = cfx_server_run(srv, &err);
    if (rc)
        fprintf(stderr, "Failed to start server. Error: %s\n", err.msg);
    cfx_server_free(srv);
    return rc ? 255 : 0;
}
