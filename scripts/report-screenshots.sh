#!/usr/bin/env bash
# report-screenshots.sh BUILD_DIR: regenerates the screenshots of
# docs/reports.md (docs/img/report-*.png) from the end-to-end tests that
# open the reports and the status page in headless Chromium.
set -euo pipefail
BUILD=${1:?usage: scripts/report-screenshots.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for t in report_pipeline report_escape report_status; do
    CFX_E2E_OUT=$OUT CFX_SOURCE_DIR=$SRC CFX_BUILD_DIR=$BUILD CFX=$BUILD/cfx \
        CFX_SERVE=$BUILD/cfx-serve bash "$SRC/tests/e2e/${t}_test.sh" >/dev/null
done
cp "$OUT/report_pipeline/pipeline_run.png" "$SRC/docs/img/report-run.png"
cp "$OUT/report_pipeline/pipeline_statistics.png" "$SRC/docs/img/report-statistics.png"
cp "$OUT/report_pipeline/pipeline_evaluation.png" "$SRC/docs/img/report-evaluation.png"
cp "$OUT/report_pipeline/stopped_run_evaluation.png" "$SRC/docs/img/report-not-blessed.png"
cp "$OUT/report_pipeline/pipeline_training.png" "$SRC/docs/img/report-training.png"
cp "$OUT/report_escape/statistics_anomalies.png" "$SRC/docs/img/report-anomalies-statistics.png"
cp "$OUT/report_escape/anomalies.png" "$SRC/docs/img/report-anomalies.png"
cp "$OUT/report_status/status.png" "$SRC/docs/img/report-status-page.png"
ls -l "$SRC"/docs/img/report-*.png
