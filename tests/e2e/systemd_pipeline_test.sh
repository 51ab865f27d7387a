#!/usr/bin/env bash
# systemd_pipeline_test.sh: the scheduled pipeline pair
# (systemd/cfx-pipeline.{service,timer}) passes `systemd-analyze verify`
# with ExecStart pointed at the built cfx, and the timer names the service.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd_pipeline_test: systemd-analyze not installed; skipped"
    exit 0
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sed "s#/usr/local/bin/cfx #$CFX #" "$CFX_SOURCE_DIR/systemd/cfx-pipeline.service" >"$T/cfx-pipeline.service"
cp "$CFX_SOURCE_DIR/systemd/cfx-pipeline.timer" "$T/"
grep -q "^ExecStart=$CFX run" "$T/cfx-pipeline.service" || { echo "FAIL: ExecStart not rewritten" >&2; exit 1; }
# verify checks both units, the timer's Unit= reference and the binary.
OUT=$(cd "$T" && systemd-analyze verify cfx-pipeline.timer cfx-pipeline.service 2>&1) || {
    echo "FAIL: systemd-analyze verify: $OUT" >&2; exit 1; }
# Only warnings about the build machine itself (no cfx user) may remain.
BAD=$(printf '%s\n' "$OUT" | grep -v -E '^$' | grep -v -i -E 'user|group' || true)
[ -z "$BAD" ] || { echo "FAIL: systemd-analyze verify said: $BAD" >&2; exit 1; }
grep -q '^Unit=cfx-pipeline.service' "$T/cfx-pipeline.timer" || { echo "FAIL: timer unit" >&2; exit 1; }
grep -q '^OnCalendar=' "$T/cfx-pipeline.timer" || { echo "FAIL: no schedule" >&2; exit 1; }
echo "systemd_pipeline_test: OK"
