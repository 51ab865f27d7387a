/*
 * show_eval.h: `cfx show` for the Evaluator's outputs — the blessing, the
 * failed thresholds and a table of metrics per slice (with the baseline and
 * the difference when there was one).
 *
 * Accepts the evaluation folder (metrics.json), the metrics.json file
 * itself, the blessing folder, or the `cfx evaluate --output` folder that
 * holds evaluation/ and blessing/.
 *
 * Writes only to `out`; reentrant.
 */
#ifndef CFX_REPORT_SHOW_EVAL_H
#define CFX_REPORT_SHOW_EVAL_H

#include <stdio.h>

#include "formats/err.h"

/* 1 when path is one of the forms above. */
int cfx_show_eval_detect(const char *path);
int cfx_show_eval(const char *path, FILE *out, cfx_error_t *err);

#endif
