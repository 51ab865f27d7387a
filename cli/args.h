/*
 * args.h: the one argument parser of the cfx commands.
 *
 * Options are GNU-style long options, "--name VALUE" or "--name=VALUE", or
 * flags without a value; "-h" and "--help" print the command's usage to
 * stdout; "--" ends the options. Everything else is a positional argument,
 * wherever it stands (as getopt_long permutes). A command lists its options
 * in a table ending with {NULL}; the parser fills the targets and checks
 * numeric ranges, so each command only checks what needs more than one
 * option (required combinations) or a format of its own.
 *
 * A command whose table has "pipeline-root" also takes
 * `--metadata LOCATION`, the metadata store to record in instead of
 * ROOT/metadata.sqlite (a postgresql:// URL or a SQLite file): the parser
 * sets it as the process's location (cfx_metadata_set_location, mlmd/
 * metadata.h) and adds the option to the command's --help.
 *
 * Threads: for a program's main thread; a table belongs to one call.
 */
#ifndef CFX_CLI_ARGS_H
#define CFX_CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

typedef enum cfx_opt_kind {
    CFX_OPT_STRING, /* dst: const char **; the last one given wins */
    CFX_OPT_FLAG,   /* dst: int *; set to set_to (no value) */
    CFX_OPT_LONG,   /* dst: long *; an integer in [min, max] */
    CFX_OPT_DOUBLE, /* dst: double *; a number in (min, max] */
    CFX_OPT_LIST,   /* dst: cfx_opt_list_t *; every value, in order */
} cfx_opt_kind_t;

typedef struct cfx_opt_list {
    const char **items; /* caller's array of cap pointers */
    size_t cap, n;
} cfx_opt_list_t;

typedef struct cfx_opt {
    const char *name; /* without the leading "--"; NULL ends a table */
    cfx_opt_kind_t kind;
    void *dst;
    double min, max; /* CFX_OPT_LONG / CFX_OPT_DOUBLE bounds */
    int set_to;      /* CFX_OPT_FLAG: the value stored */
} cfx_opt_t;

/* What cfx_args_parse found. */
typedef struct cfx_args {
    char **pos; /* positional arguments, in order (point into argv) */
    size_t n_pos;
} cfx_args_t;

/* Parses argv[1..argc) for command cmd ("cfx <cmd>: ..." in messages).
 * Returns -1 to go on (args filled; args->pos is allocated, release it with
 * cfx_args_free), or the exit status the command returns at once: 0 after
 * printing the usage for --help, 2 after a usage error (message and usage
 * on stderr). */
int cfx_args_parse(const char *cmd, int argc, char **argv,
                   const cfx_opt_t *opts, void (*usage)(FILE *),
                   cfx_args_t *args);
void cfx_args_free(cfx_args_t *args);

/* For a command without positional arguments: as cfx_args_parse, and a
 * positional argument is a usage error. Returns -1 to go on, else the exit
 * status. */
int cfx_args_parse_options(const char *cmd, int argc, char **argv,
                           const cfx_opt_t *opts, void (*usage)(FILE *));

/* The standard refusal of a command's combination of arguments: prints
 * "cfx <cmd>: <what>" (when what is not NULL) and the usage on stderr;
 * returns 2. */
int cfx_args_usage_error(const char *cmd, void (*usage)(FILE *),
                         const char *what);

/* The value of `--part I/N` (docs/data.md): block I, 0-based, of N, N at
 * most 65536. Returns 0 with *part and *nparts set, or 2 after printing
 * "cfx <cmd>: --part 'ARG': expected I/N with 0 <= I < N" on stderr. */
int cfx_args_part(const char *cmd, const char *arg, unsigned *part,
                  unsigned *nparts);

#endif
