/*
 * init_plan.h: the choices `cfx init` makes for a new CSV (docs/
 * your-own-data.md): which task the label column asks for, which transform
 * each feature gets, which model and how long to train, each with the reason
 * printed to the user and written into the generated configuration.
 *
 * The choices are pure functions of a column profile: the feature's
 * statistics (data/stats_io.h: presence, mean, standard deviation, min,
 * median, max) plus the number of distinct values, which TFDV's numeric
 * statistics do not carry and cfx_init_count_distinct counts over the train
 * split. Nothing here knows a data set.
 *
 * Thread-safety: reentrant; a profile belongs to one thread.
 */
#ifndef CFX_DATA_INIT_PLAN_H
#define CFX_DATA_INIT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "data/stats_io.h"
#include "formats/err.h"

/* Distinct values counted per column; past it a column is "many-valued"
 * and its count is a lower bound. */
#define CFX_INIT_DISTINCT_CAP 1000
/* An integer label with at most this many distinct values is a class
 * label (multiclass, or binary with two); more is a quantity (regression). */
#define CFX_INIT_MAX_INT_CLASSES 20
/* An integer feature with at most this many distinct values is a category
 * (vocabulary); more is a quantity (z-score). */
#define CFX_INIT_MAX_INT_CATEGORIES 10
/* Quantile buckets beside a z-score once every bucket would hold at least
 * this many train rows. */
#define CFX_INIT_MIN_ROWS_PER_BUCKET 100
#define CFX_INIT_NUM_BUCKETS 10
/* Pearson's second skewness coefficient 3 (mean - median) / std at or above
 * which a non-negative feature is taken through log1p first. */
#define CFX_INIT_SKEW_LOG 0.6

typedef enum cfx_init_task {
    CFX_INIT_TASK_AUTO = 0,
    CFX_INIT_TASK_BINARY,
    CFX_INIT_TASK_MULTICLASS,
    CFX_INIT_TASK_REGRESSION,
} cfx_init_task_t;

typedef enum cfx_init_kind {
    CFX_INIT_KIND_NONE = 0, /* no value in any row */
    CFX_INIT_KIND_INT,
    CFX_INIT_KIND_FLOAT,
    CFX_INIT_KIND_STRING,
} cfx_init_kind_t;

/* What the choices look at, per column (over the train split). */
typedef struct cfx_init_column {
    char name[256];
    cfx_init_kind_t kind;
    uint64_t rows;     /* examples in the split */
    uint64_t present;  /* examples with a value */
    uint64_t distinct; /* distinct values, at most CFX_INIT_DISTINCT_CAP + 1 */
    int integral;      /* every present value is a whole number */
    double mean, std_dev, min, median, max; /* INT and FLOAT only */
} cfx_init_column_t;

typedef enum cfx_init_op {
    CFX_INIT_OP_SKIP = 0,
    CFX_INIT_OP_Z_SCORE,
    CFX_INIT_OP_LOG_Z_SCORE,
    CFX_INIT_OP_VOCABULARY,
} cfx_init_op_t;

#define CFX_INIT_REASON_MAX 320

typedef struct cfx_init_xf {
    cfx_init_op_t op;
    unsigned num_buckets;            /* > 0: a bucketize output as well */
    unsigned top_k, num_oov_buckets; /* vocabulary */
    char reason[CFX_INIT_REASON_MAX];
} cfx_init_xf_t;

typedef enum cfx_init_model {
    CFX_INIT_MODEL_WIDE_DEEP = 0,
    CFX_INIT_MODEL_GBT,
} cfx_init_model_t;

/* "auto", "binary", "multiclass", "regression" (task_name); parse returns
 * 0, or -1 for another word. */
const char *cfx_init_task_name(cfx_init_task_t t);
int cfx_init_task_parse(const char *s, cfx_init_task_t *t);
const char *cfx_init_op_name(cfx_init_op_t op);

/* Fills c's name, kind, rows, present and numeric statistics from the
 * feature's statistics (f may be NULL: a column no train row has). distinct
 * and integral are left for cfx_init_count_distinct. */
void cfx_init_column_from_stats(cfx_init_column_t *c, const char *name,
                                const cfx_feature_stats_t *f, uint64_t rows);

/* Counts distinct values (up to the cap) and integrality of n columns over
 * every TFRecord file of split_dir (a Split-<name>/ folder of examples). */
int cfx_init_count_distinct(const char *split_dir, cfx_init_column_t *cols,
                            size_t n, cfx_error_t *err);

/* The task of label column c: `requested` when it fits the column, else
 * an error saying why; for CFX_INIT_TASK_AUTO the choice. reason (cap
 * bytes) says why in one sentence. A label missing in some row, or with a
 * single value, is an error naming the column. */
int cfx_init_choose_task(const cfx_init_column_t *c, cfx_init_task_t requested,
                         cfx_init_task_t *out, char *reason, size_t cap,
                         cfx_error_t *err);

/* The transform of feature column c, with its reason. */
void cfx_init_choose_transform(const cfx_init_column_t *c, cfx_init_xf_t *out);

/* The model for a task: gbt (when the build has it) for regression, where
 * boosted trees are the strong default on tabular data; the wide & deep
 * network for classification, whose softmax head over z-scored features
 * is the multinomial logistic regression the classes are usually
 * separable by, plus hidden layers. reason as above. */
cfx_init_model_t cfx_init_choose_model(cfx_init_task_t task, int have_gbt,
                                       char *reason, size_t cap);

/* Training steps for n train rows at batch size b: 50 epochs, at least
 * 2000 and at most 20000 steps. */
size_t cfx_init_train_steps(uint64_t n, size_t b);

/* Hidden layer widths of the network for n train rows, into units (room
 * for 2); returns how many. Small data overfits a wide network: [16]
 * below 1000 rows, [32, 16] below 10000, [64, 32] from there. */
size_t cfx_init_hidden_units(uint64_t n, size_t *units);

/* The validation metric of each task: "auc" (binary),
 * "sparse_categorical_accuracy" (multiclass), "mean_squared_error"
 * (regression), as the evaluator's metrics.json names them. */
const char *cfx_init_select_metric(cfx_init_task_t task);

/* 1 when challenger b beats the default a on n validation rows by more
 * than one standard error of a's estimate (a fraction p: sqrt(p (1 - p) /
 * n); a mean squared error m: m sqrt(2 / n)), so that the noise of a small
 * validation set does not overturn the default; 0 otherwise (a tie, a NaN
 * b). A NaN a (the default failed) gives 1 when b is a number. */
int cfx_init_clearly_better(cfx_init_task_t task, double a, double b, double n);

#endif
