/*
 * trainer_log.h: the ModelRun of a training run: TensorBoard event files
 * and a CSV of the same curves.
 *
 *   <logs>/train/events.out.tfevents.<unix seconds>.<host>
 *   <logs>/eval/events.out.tfevents.<unix seconds>.<host>
 *       plain TFRecord files of tensorflow.Event; the first record has
 *       file_version "brain.Event:2", then one Event per log point with
 *       Summary values loss, accuracy, auc (simple_value)
 *   <logs>/metrics.csv
 *       split,step,wall_time,loss,accuracy,auc,examples
 *
 * Point TensorBoard at <logs> to see train and eval curves side by side.
 * A log belongs to one thread.
 */
#ifndef CFX_TRAIN_TRAINER_LOG_H
#define CFX_TRAIN_TRAINER_LOG_H

#include <stddef.h>

#include "formats/buf.h"
#include "formats/err.h"
#include "train/trainer.h"

typedef struct cfx_train_log cfx_train_log_t;

/* Creates logs_dir (and train/, eval/) when missing. */
int cfx_train_log_open(const char *logs_dir, cfx_train_log_t **out,
                       cfx_error_t *err);
/* Matches cfx_trainer_log_fn: ctx is the cfx_train_log_t. */
int cfx_train_log_scalars(void *ctx, const char *split, size_t step,
                          const cfx_train_metrics_t *m, cfx_error_t *err);
/* Flushes, fsyncs and frees (whatever the result). */
int cfx_train_log_close(cfx_train_log_t *log, cfx_error_t *err);

/* One serialized Event with the given scalars (for tests and tools);
 * appends to out. */
int cfx_train_log_encode_event(double wall_time, long long step,
                               const char *const *tags, const float *values,
                               size_t n, cfx_buf_t *out);

#endif
