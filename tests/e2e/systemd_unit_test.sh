#!/usr/bin/env bash
# systemd_unit_test.sh: systemd/cfx-serve.service passes `systemd-analyze
# verify` (with ExecStart pointed at the built cfx-serve) and its offline
# security exposure stays at or below 2.0. Fails where systemd-analyze is
# missing (scripts/install-deps.sh installs systemd).
set -euo pipefail
: "${CFX_SERVE:?}" "${CFX_SOURCE_DIR:?}"
if ! command -v systemd-analyze >/dev/null; then
    echo "systemd_unit_test: systemd-analyze not installed (scripts/install-deps.sh installs systemd)" >&2
    exit 1
fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sed "s#/usr/local/bin/cfx-serve#$CFX_SERVE#" "$CFX_SOURCE_DIR/systemd/cfx-serve.service" >"$T/cfx-serve.service"
systemd-analyze verify "$T/cfx-serve.service"
OUT=$(systemd-analyze security --offline=true "$T/cfx-serve.service" 2>&1)
LEVEL=$(printf '%s\n' "$OUT" | sed -n 's/.*Overall exposure level for cfx-serve.service: \([0-9.]*\).*/\1/p')
[ -n "$LEVEL" ] || fail "no exposure level in: $OUT"
awk -v l="$LEVEL" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $LEVEL > 2.0"
grep -q '^Type=notify' "$T/cfx-serve.service" || fail "not Type=notify"
# The loader's setpriority (nice 10) must pass the system-call filter,
# listed after the deny list so it is added back; everything else of
# @resources stays out, and a denied call returns EPERM (no SIGSYS kill).
printf '%s\n' "$OUT" | grep -q 'SystemCallFilter=~@resources.*setpriority is allowed' \
    || fail "setpriority not allowed by the unit's filter: $(printf '%s\n' "$OUT" | grep resources)"
grep -qx 'SystemCallErrorNumber=EPERM' "$T/cfx-serve.service" || fail "no SystemCallErrorNumber=EPERM"
echo "systemd_unit_test: OK (exposure $LEVEL)"
