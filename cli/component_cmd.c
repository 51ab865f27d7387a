/* component_cmd.c: a standalone command's run of a component spec (see
 * component_cmd.h). */
#include "component_cmd.h"

#include <jansson.h>
#include <stdio.h>

#include "formats/clock.h"

int cfx_cmd_run_spec(const char *cmd, const cfx_component_spec_t *spec,
                     cfx_component_cli_t *cli, cfx_component_run_t *run,
                     double *secs) {
    cfx_error_t err;
    cfx_error_init(&err);
    char summary[512];
    double t0 = cfx_clock_mono_s();
    int rc =
        cfx_component_run_cli(run, spec, cli, summary, sizeof summary, &err);
    if (secs)
        *secs = cfx_clock_mono_s() - t0;
    json_decref(cli->props);
    cli->props = NULL;
    if (rc < 0) {
        fprintf(stderr, "cfx %s: %s\n", cmd, err.msg);
        cfx_component_run_free(run);
    }
    return rc < 0 ? rc : 0;
}
