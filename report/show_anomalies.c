/*
 * show_anomalies.c: `cfx show` for ExampleAnomalies — per split, "No
 * anomalies found" or one row per anomalous feature (severity, short and
 * long description, as TFDV's display_anomalies shows them), then the
 * drift / skew measurements.
 */
#include <limits.h>
#include <string.h>

#include "data/validate.h"
#include "report/show.h"

int cfx_show_anomalies_detect(const char *path) {
    return cfx_show_has_split_file(path, "SchemaDiff.pb");
}

static const char *measurement_name(int type) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &tensorflow__metadata__v0__drift_skew_info__measurement__type__descriptor,
        type);
    return v ? v->name : "?";
}

static int render(const char *split, const char *path, FILE *out,
                  cfx_error_t *err) {
    cfx_anomalies_t *a = NULL;
    int rc = cfx_anomalies_read(path, &a, err);
    if (rc < 0)
        return rc;
    fprintf(out, "Split %s: ", split[0] ? split : "-");
    size_t n = cfx_anomalies_count(a);
    if (n == 0) {
        fprintf(out, "No anomalies found%s\n",
                a->has_data_missing && a->data_missing
                    ? " (the data is missing: no examples)"
                    : "");
    } else {
        fprintf(out, "%zu anomal%s\n\n", n, n == 1 ? "y" : "ies");
        cfx_show_table_t t;
        cfx_show_table_init(&t, 4);
        const char *h[] = {"feature", "severity", "short description",
                           "long description"};
        for (size_t i = 0; i < 4 && rc == 0; i++)
            rc = cfx_show_table_cell(&t, "%s", h[i]);
        for (size_t i = 0; i < a->n_anomaly_info && rc == 0; i++) {
            const Tensorflow__Metadata__V0__AnomalyInfo *ai =
                a->anomaly_info[i]->value;
            rc = cfx_show_table_cell(&t, "%s", a->anomaly_info[i]->key);
            if (!rc)
                rc = cfx_show_table_cell(
                    &t, "%s", cfx_anomaly_severity_name(ai ? ai->severity : 0));
            if (!rc)
                rc = cfx_show_table_cell(
                    &t, "%s",
                    ai && ai->short_description ? ai->short_description : "");
            if (!rc)
                rc = cfx_show_table_cell(
                    &t, "%s", ai && ai->description ? ai->description : "");
        }
        const Tensorflow__Metadata__V0__AnomalyInfo *di =
            a->dataset_anomaly_info;
        if (rc == 0 && di && di->n_reason) {
            rc = cfx_show_table_cell(&t, "(dataset)");
            if (!rc)
                rc = cfx_show_table_cell(
                    &t, "%s", cfx_anomaly_severity_name(di->severity));
            if (!rc)
                rc = cfx_show_table_cell(
                    &t, "%s",
                    di->short_description ? di->short_description : "");
            if (!rc)
                rc = cfx_show_table_cell(
                    &t, "%s", di->description ? di->description : "");
        }
        if (rc == 0)
            rc = cfx_show_table_print(&t, out);
        cfx_show_table_free(&t);
    }
    if (rc == 0 && a->n_drift_skew_info) {
        fprintf(out, "\nDrift and skew measurements:\n");
        cfx_show_table_t t;
        cfx_show_table_init(&t, 5);
        t.right_align = 0x18;
        const char *h[] = {"feature", "comparison", "measure", "value",
                           "threshold"};
        for (size_t i = 0; i < 5 && rc == 0; i++)
            rc = cfx_show_table_cell(&t, "%s", h[i]);
        for (size_t i = 0; i < a->n_drift_skew_info && rc == 0; i++) {
            const Tensorflow__Metadata__V0__DriftSkewInfo *d =
                a->drift_skew_info[i];
            const char *name =
                d->path && d->path->n_step ? d->path->step[0] : "?";
            for (int kind = 0; kind < 2 && rc == 0; kind++) {
                size_t nm =
                    kind ? d->n_skew_measurements : d->n_drift_measurements;
                Tensorflow__Metadata__V0__DriftSkewInfo__Measurement **ms =
                    kind ? d->skew_measurements : d->drift_measurements;
                for (size_t k = 0; k < nm && rc == 0; k++) {
                    rc = cfx_show_table_cell(&t, "%s", name);
                    if (!rc)
                        rc = cfx_show_table_cell(&t, "%s",
                                                 kind ? "skew" : "drift");
                    if (!rc)
                        rc = cfx_show_table_cell(&t, "%s",
                                                 measurement_name(ms[k]->type));
                    if (!rc)
                        rc = cfx_show_table_cell(&t, "%.6g", ms[k]->value);
                    if (!rc)
                        rc = cfx_show_table_cell(&t, "%.6g", ms[k]->threshold);
                }
            }
        }
        if (rc == 0)
            rc = cfx_show_table_print(&t, out);
        cfx_show_table_free(&t);
    }
    fputc('\n', out);
    if (rc < 0)
        cfx_error_set(err, rc, "%s: rendering failed", path);
    cfx_anomalies_free(a);
    return rc;
}

int cfx_show_anomalies(const char *path, FILE *out, cfx_error_t *err) {
    return cfx_show_each_split(path, "SchemaDiff.pb", render, out, err);
}
