#!/usr/bin/env bash
# systemd_pipeline_test.sh: the scheduled pipeline pair
# (systemd/cfx-pipeline.{service,timer}) passes `systemd-analyze verify`
# with ExecStart pointed at the built cfx, and the timer names the service.
set -euo pipefail
: "${CFX:?}" "${CFX_SOURCE_DIR:?}"
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd_pipeline_test: systemd-analyze not installed (scripts/install-deps.sh installs systemd)" >&2
    exit 1
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sed "s#/usr/local/bin/cfx #$CFX #" "$CFX_SOURCE_DIR/systemd/cfx-pipeline.service" >"$T/cfx-pipeline.service"
cp "$CFX_SOURCE_DIR/systemd/cfx-pipeline.timer" "$T/"
grep -q "^ExecStart=$CFX run" "$T/cfx-pipeline.service" || fail "ExecStart not rewritten"
# verify checks both units, the timer's Unit= reference and the binary.
OUT=$(cd "$T" && systemd-analyze verify cfx-pipeline.timer cfx-pipeline.service 2>&1) || fail "systemd-analyze verify: $OUT"
# Only warnings about the build machine itself (no cfx user) may remain.
BAD=$(printf '%s\n' "$OUT" | grep -v -E '^$' | grep -v -i -E 'user|group' || true)
[ -z "$BAD" ] || fail "systemd-analyze verify said: $BAD"
grep -q '^Unit=cfx-pipeline.service' "$T/cfx-pipeline.timer" || fail "timer unit"
grep -q '^OnCalendar=' "$T/cfx-pipeline.timer" || fail "no schedule"
echo "systemd_pipeline_test: OK"
