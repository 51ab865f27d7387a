/*
 * status_page.h: the page an operator opens at cfx-serve's REST port:
 * GET / (HTML, refreshing itself every 5 s) and GET /v1/status (the same
 * facts as JSON). docs/reports.md ("The status page") describes both.
 *
 * It shows the models and each version's state with its load error, the
 * load attempts and load time of each version, requests per model, API
 * and entrypoint (count, rate over the last minute and averaged since
 * start, latency percentiles from the request_latency histogram), request
 * outcomes by status, the uptime and the build. Everything comes from the
 * server's own state: the Prometheus text of serve/metrics.c with its
 * recent window (cfx_metrics_render_with_recent) and the manager's version
 * gauges (cfx_manager_render_versions), parsed back, and GetModelStatus
 * (cfx_manager_status) for the errors. Nothing else: no flag values,
 * tokens or file paths beyond what GetModelStatus already answers (a
 * failed load's message).
 *
 * Cost: linear in the number of metric series, which serve/metrics.c
 * bounds (4,096); at most CFX_STATUS_MAX_ROWS rows of each table.
 *
 * Thread-safety: any thread; reads only thread-safe server state.
 */
#ifndef CFX_SERVE_STATUS_PAGE_H
#define CFX_SERVE_STATUS_PAGE_H

#include "formats/buf.h"
#include "serve/server.h"

#define CFX_STATUS_MAX_ROWS 256
#define CFX_STATUS_REFRESH_SECONDS 5

/* The answer to GET / (html = 1: the HTML page) or GET /v1/status (the
 * JSON document): replaces out's content with the body, sets
 * *content_type (a static string) and returns the HTTP status: 200 with
 * the whole page, or 500 with a short error (possibly an empty body) when
 * the page could not be made whole (out of memory part way); never a
 * part of a page. */
int cfx_status_page_respond(cfx_server_t *srv, int html, cfx_buf_t *out,
                            const char **content_type);

#endif
