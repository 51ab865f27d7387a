/*
 * component_cmd.h: a standalone command's run of a component spec — the
 * part every `cfx <component>` command shares once its arguments are
 * parsed: run the spec's exec through cfx_component_run_cli, time it, and
 * say why it failed.
 */
#ifndef CFX_CLI_COMPONENT_CMD_H
#define CFX_CLI_COMPONENT_CMD_H

#include "mlmd/component.h"

/* Runs spec for command cmd ("cfx <cmd>: " prefixes the message) with the
 * settings, inputs and outputs in cli; cli->props is released here. On
 * success returns 0 with run to free (cfx_component_run_free) and *secs
 * (may be NULL) the wall time. On failure prints the error on stderr, frees
 * run and returns a negative code. */
int cfx_cmd_run_spec(const char *cmd, const cfx_component_spec_t *spec,
                     cfx_component_cli_t *cli, cfx_component_run_t *run,
                     double *secs);

#endif
