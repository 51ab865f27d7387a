/*
 * metrics.c: Prometheus counters and histograms with TF Serving's metric
 * names. A handful of series live in one small table under a mutex: a
 * request touches it twice for a few hundred nanoseconds, far below the
 * cost of the request itself. Label sets are rendered once, when a series
 * is created, and compared as strings. The recent window (metrics.h) is
 * read from the clock under the same mutex, so the seconds a series sees
 * never go back and a slot is only ever reused for a later second.
 */
#include "serve/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "formats/clock.h"
#include "serve/service.h"

#define LAT_BUCKETS 33  /* 10 * 1.8^k µs, k = 0..32, then +Inf */
#define CNT_BUCKETS 15  /* 1, 2, 4, ... 2^14 examples, then +Inf */
#define MAX_SERIES 4096 /* bounded: label values come from requests */

typedef enum metric_id {
    M_REQUEST_COUNT = 0,
    M_REQUEST_LATENCY,
    M_EXAMPLE_COUNTS,
    M_EXAMPLE_COUNT_TOTAL,
    M_LOAD_ATTEMPT,
    M_LOAD_LATENCY,
    M_COUNT
} metric_id_t;

static const struct {
    const char *name;
    const char *type;
    const char *help;
} metric_info[M_COUNT] = {
    {":tensorflow:serving:request_count", "counter",
     "The total number of requests."},
    {":tensorflow:serving:request_latency", "histogram",
     "Distribution of wall time (in microseconds) for Tensorflow Serving "
     "request."},
    {":tensorflow:serving:request_example_counts", "histogram",
     "The number of tensorflow.Examples per request."},
    {":tensorflow:serving:request_example_count_total", "counter",
     "The total number of tensorflow.Examples."},
    {":tensorflow:cc:saved_model:load_attempt_count", "counter",
     "The number of times a model was loaded."},
    {":tensorflow:cc:saved_model:load_latency", "histogram",
     "Latency in microseconds for models that were loaded successfully."},
};

/* Successful requests per second of the recent window, a ring indexed by
 * the second (since the metrics' start) modulo its size. */
typedef struct recent {
    uint32_t second[CFX_METRICS_RECENT_SLOTS]; /* 1 + the second counted;
                                                  0: never used */
    uint32_t count[CFX_METRICS_RECENT_SLOTS];
} recent_t;

typedef struct series {
    metric_id_t id;
    char *labels; /* rendered: model_name="m",status="OK" */
    uint64_t count;
    double sum;
    uint64_t buckets[LAT_BUCKETS + 1]; /* non-cumulative; last = +Inf */
    recent_t *recent;                  /* request_latency series only */
} series_t;

struct cfx_metrics {
    pthread_mutex_t mu;
    series_t *series;
    size_t n, cap;
    double lat_bounds[LAT_BUCKETS];
    double cnt_bounds[CNT_BUCKETS];
    uint64_t (*now)(void *arg); /* µs, monotonic */
    void *now_arg;
    uint64_t start_us; /* now() at cfx_metrics_new / cfx_metrics_set_clock */
};

static uint64_t mono_now(void *arg) {
    (void)arg;
    return cfx_clock_mono_us();
}

int cfx_metrics_new(cfx_metrics_t **out) {
    *out = NULL;
    cfx_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    pthread_mutex_init(&m->mu, NULL);
    double b = 10;
    for (int i = 0; i < LAT_BUCKETS; i++, b *= 1.8)
        m->lat_bounds[i] = b;
    b = 1;
    for (int i = 0; i < CNT_BUCKETS; i++, b *= 2)
        m->cnt_bounds[i] = b;
    m->now = mono_now;
    m->start_us = mono_now(NULL);
    *out = m;
    return 0;
}

void cfx_metrics_free(cfx_metrics_t *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->series[i].labels);
        free(m->series[i].recent);
    }
    free(m->series);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Appends name="value" with Prometheus escaping to a fixed buffer. */
static void put_label(char *dst, size_t cap, size_t *len, const char *name,
                      const char *value) {
    size_t l = *len;
    const char *p;
    if (l && l + 1 < cap)
        dst[l++] = ',';
    for (p = name; *p && l + 1 < cap; p++)
        dst[l++] = *p;
    if (l + 2 < cap) {
        dst[l++] = '=';
        dst[l++] = '"';
    }
    for (p = value ? value : ""; *p && l + 3 < cap; p++) {
        char c = *p;
        if (c == '\\' || c == '"') {
            dst[l++] = '\\';
            dst[l++] = c;
        } else if (c == '\n') {
            dst[l++] = '\\';
            dst[l++] = 'n';
        } else {
            dst[l++] = c;
        }
    }
    if (l + 1 < cap)
        dst[l++] = '"';
    dst[l] = 0;
    *len = l;
}

/* Finds or creates a series; called with mu held. NULL when full. */
static series_t *series_get(cfx_metrics_t *m, metric_id_t id,
                            const char *labels) {
    for (size_t i = 0; i < m->n; i++)
        if (m->series[i].id == id && strcmp(m->series[i].labels, labels) == 0)
            return &m->series[i];
    if (m->n >= MAX_SERIES)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        series_t *s = realloc(m->series, cap * sizeof(*s));
        if (!s)
            return NULL;
        m->series = s;
        m->cap = cap;
    }
    series_t *s = &m->series[m->n];
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->labels = strdup(labels);
    if (!s->labels)
        return NULL;
    if (id == M_REQUEST_LATENCY && !(s->recent = calloc(1, sizeof(recent_t)))) {
        free(s->labels);
        return NULL;
    }
    m->n++;
    return s;
}

void cfx_metrics_set_clock(cfx_metrics_t *m, uint64_t (*now)(void *arg),
                           void *arg) {
    m->now = now;
    m->now_arg = arg;
    m->start_us = now(arg);
}

/* Microseconds since the start; called with mu held. */
static uint64_t elapsed_us(cfx_metrics_t *m) {
    uint64_t t = m->now(m->now_arg);
    return t > m->start_us ? t - m->start_us : 0;
}

static void recent_add(recent_t *r, uint64_t second) {
    if (second >= UINT32_MAX)
        return; /* 136 years up */
    size_t i = (size_t)(second % CFX_METRICS_RECENT_SLOTS);
    if (r->second[i] != second + 1) {
        r->second[i] = (uint32_t)(second + 1);
        r->count[i] = 0;
    }
    if (r->count[i] < UINT32_MAX)
        r->count[i]++;
}

/* The requests counted in seconds first..last. */
static uint64_t recent_sum(const recent_t *r, uint64_t first, uint64_t last) {
    uint64_t n = 0;
    for (size_t i = 0; i < CFX_METRICS_RECENT_SLOTS; i++)
        if (r->second[i] > first && r->second[i] <= last + 1)
            n += r->count[i];
    return n;
}

static void observe(series_t *s, const double *bounds, int nb, double v) {
    int i = 0;
    while (i < nb && v > bounds[i])
        i++;
    s->buckets[i]++;
    s->count++;
    s->sum += v;
}

void cfx_metrics_record(cfx_metrics_t *m, const char *model, const char *api,
                        const char *entrypoint, int tf_code,
                        uint64_t latency_us) {
    char l1[512], l2[512];
    size_t n1 = 0, n2 = 0;
    if (!m)
        return;
    put_label(l1, sizeof(l1), &n1, "model_name", model);
    put_label(l1, sizeof(l1), &n1, "status", cfx_service_tf_code_name(tf_code));
    put_label(l2, sizeof(l2), &n2, "model_name", model);
    put_label(l2, sizeof(l2), &n2, "API", api);
    put_label(l2, sizeof(l2), &n2, "entrypoint", entrypoint);
    pthread_mutex_lock(&m->mu);
    series_t *s = series_get(m, M_REQUEST_COUNT, l1);
    if (s)
        s->count++;
    if (tf_code == 0) {
        s = series_get(m, M_REQUEST_LATENCY, l2);
        if (s) {
            observe(s, m->lat_bounds, LAT_BUCKETS, (double)latency_us);
            recent_add(s->recent, elapsed_us(m) / 1000000);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void cfx_metrics_record_examples(cfx_metrics_t *m, const char *model,
                                 size_t n) {
    char l[512];
    size_t len = 0;
    if (!m)
        return;
    put_label(l, sizeof(l), &len, "model", model);
    pthread_mutex_lock(&m->mu);
    series_t *s = series_get(m, M_EXAMPLE_COUNTS, l);
    if (s)
        observe(s, m->cnt_bounds, CNT_BUCKETS, (double)n);
    s = series_get(m, M_EXAMPLE_COUNT_TOTAL, l);
    if (s)
        s->count += n;
    pthread_mutex_unlock(&m->mu);
}

void cfx_metrics_record_load(cfx_metrics_t *m, const char *model_path,
                             int tf_code, uint64_t latency_us) {
    char l1[1024], l2[1024];
    size_t n1 = 0, n2 = 0;
    if (!m)
        return;
    put_label(l1, sizeof(l1), &n1, "model_path", model_path);
    put_label(l1, sizeof(l1), &n1, "status", cfx_service_tf_code_name(tf_code));
    put_label(l2, sizeof(l2), &n2, "model_path", model_path);
    pthread_mutex_lock(&m->mu);
    series_t *s = series_get(m, M_LOAD_ATTEMPT, l1);
    if (s)
        s->count++;
    if (tf_code == 0) {
        s = series_get(m, M_LOAD_LATENCY, l2);
        if (s)
            observe(s, m->lat_bounds, LAT_BUCKETS, (double)latency_us);
    }
    pthread_mutex_unlock(&m->mu);
}

static int render_hist(cfx_buf_t *out, const char *name, const series_t *s,
                       const double *bounds, int nb) {
    uint64_t cum = 0;
    int rc = 0;
    for (int i = 0; i < nb && !rc; i++) {
        cum += s->buckets[i];
        rc = cfx_buf_printf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name,
                            s->labels, bounds[i], (unsigned long long)cum);
    }
    cum += s->buckets[nb];
    if (!rc)
        rc = cfx_buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name,
                            s->labels, (unsigned long long)cum);
    if (!rc)
        rc = cfx_buf_printf(out, "%s_sum{%s} %.17g\n%s_count{%s} %llu\n", name,
                            s->labels, s->sum, name, s->labels,
                            (unsigned long long)s->count);
    return rc;
}

/* Called with mu held. */
static int render_locked(cfx_metrics_t *m, cfx_buf_t *out) {
    int rc = 0;
    for (int id = 0; id < M_COUNT && !rc; id++) {
        int any = 0;
        for (size_t i = 0; i < m->n && !rc; i++) {
            const series_t *s = &m->series[i];
            if ((int)s->id != id)
                continue;
            if (!any) {
                rc = cfx_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
                                    metric_info[id].name, metric_info[id].help,
                                    metric_info[id].name, metric_info[id].type);
                any = 1;
                if (rc)
                    break;
            }
            if (!strcmp(metric_info[id].type, "counter"))
                rc = cfx_buf_printf(out, "%s{%s} %llu\n", metric_info[id].name,
                                    s->labels, (unsigned long long)s->count);
            else
                rc = render_hist(
                    out, metric_info[id].name, s,
                    id == M_EXAMPLE_COUNTS ? m->cnt_bounds : m->lat_bounds,
                    id == M_EXAMPLE_COUNTS ? CNT_BUCKETS : LAT_BUCKETS);
        }
    }
    return rc;
}

int cfx_metrics_render(cfx_metrics_t *m, cfx_buf_t *out) {
    pthread_mutex_lock(&m->mu);
    int rc = render_locked(m, out);
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int cfx_metrics_render_with_recent(cfx_metrics_t *m, cfx_buf_t *out) {
    pthread_mutex_lock(&m->mu);
    int rc = render_locked(m, out);
    uint64_t t = elapsed_us(m), last = t / 1000000,
             first = last > CFX_METRICS_RECENT_SECONDS
                         ? last - CFX_METRICS_RECENT_SECONDS
                         : 0;
    if (!rc)
        rc = cfx_buf_printf(out, ":cfx:serving:recent_window_seconds %.6f\n",
                            (double)(t - first * 1000000) / 1e6);
    for (size_t i = 0; i < m->n && !rc; i++)
        if (m->series[i].id == M_REQUEST_LATENCY)
            rc = cfx_buf_printf(out,
                                ":cfx:serving:recent_request_count{%s} %llu\n",
                                m->series[i].labels,
                                (unsigned long long)recent_sum(
                                    m->series[i].recent, first, last));
    pthread_mutex_unlock(&m->mu);
    return rc;
}
