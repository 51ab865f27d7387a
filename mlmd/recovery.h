/*
 * recovery.h: what a run killed mid-way leaves in a pipeline root, and how
 * the next run clears it (docs/metadata.md, Crashes).
 *
 * A process killed with SIGKILL (or a machine losing power) cannot finish
 * its execution: the store keeps it RUNNING, and its output folders,
 * half-written, stay under `<root>/<Component>/<key>/<execution id>/`. So
 * that a later run can tell such a leftover from a run still going on in
 * another process, cfx_component_begin records the owner of each execution
 * in the same transaction that creates it, as custom properties:
 *
 *   owner_pid         the process id
 *   owner_start_time  its start time (/proc/<pid>/stat, clock ticks since
 *                     boot), so a reused pid is not mistaken for the owner
 *   owner_boot_id     /proc/sys/kernel/random/boot_id: a reboot ends every
 *                     owner
 *   owner_host        the host name
 *   owner_pid_ns      the pid namespace (/proc/self/ns/pid): a pid means
 *                     nothing to a process in another namespace
 *
 * The owner is judged dead only on evidence: same host and pid namespace,
 * and either another boot, or no such process (kill(pid, 0) == ESRCH), or
 * a process with that pid that is a zombie or started at another time.
 * Anything else (another host sharing the root over a network file system,
 * another container, an execution recorded by a cfx that kept no owner) is
 * left alone: deleting a live run's outputs would be worse than a stale
 * RUNNING line.
 *
 * Recovering an execution whose owner is dead is one write transaction:
 * the execution goes from RUNNING to FAILED with the custom property
 * failure_reason saying why, its output folders made by
 * cfx_component_output_dir (`<root>/<Component>/<key>/<id>/`) and the
 * temporary folders beside them (`<id>.tmp-*` of ExampleGen and
 * StatisticsGen, `.<id>.tmp-*` of the bundle writer; the other temporary
 * folders of a run live inside its outputs) are removed, and its PENDING
 * outputs become ABANDONED. Holding the write lock orders it after the owner's
 * own last transaction (an owner that completed and exited just after being
 * judged is found COMPLETE, and nothing is removed); killed half-way, the
 * transaction rolls back and the next recovery removes the rest. Several
 * processes recovering at once agree through the state change: exactly one
 * marks it and reports it.
 *
 * Threads: as metadata.h (a store handle belongs to one thread).
 */
#ifndef CFX_MLMD_RECOVERY_H
#define CFX_MLMD_RECOVERY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/err.h"
#include "mlmd/metadata.h"

/* Custom execution property holding why an execution FAILED (an error
 * message, or what recovery found). */
#define CFX_RECOVERY_REASON "failure_reason"
/* Custom execution property holding the pipeline root whose folders hold
 * the execution's outputs (cfx_component_begin records it). A store shared
 * by several roots (PostgreSQL, docs/metadata.md) is recovered root by
 * root: cfx_recovery_run leaves an execution of another root alone, for a
 * run in that root to recover with its folders. An execution without it
 * (recorded by an older cfx) counts as the recovering root's. */
#define CFX_RECOVERY_ROOT "pipeline_root"

/* Records the calling process as the owner of an execution (the properties
 * above). Call inside the transaction that creates it. */
int cfx_recovery_record_owner(cfx_metadata_t *md, int64_t execution_id,
                              cfx_error_t *err);

typedef enum cfx_owner_state {
    CFX_OWNER_ALIVE = 0,   /* the owner still runs (or it is this process) */
    CFX_OWNER_DEAD = 1,    /* evidence that it is gone: recoverable */
    CFX_OWNER_UNKNOWN = 2, /* cannot tell from here: left alone */
} cfx_owner_state_t;

/* Judges the owner of execution id; why (may be NULL) gets a sentence for
 * a person ("pid 123 on host h is no longer running"). A store error
 * counts as UNKNOWN. */
cfx_owner_state_t cfx_recovery_owner_state(cfx_metadata_t *md,
                                           int64_t execution_id, char *why,
                                           size_t cap);

/* Recovers every RUNNING execution of the store whose owner is dead (see
 * the top of this file); root is the pipeline root holding the outputs.
 * One line per execution recovered goes to log (may be NULL). *recovered
 * (may be NULL) counts those this call marked. */
int cfx_recovery_run(cfx_metadata_t *md, const char *root, FILE *log,
                     size_t *recovered, cfx_error_t *err);

#endif
