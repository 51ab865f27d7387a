#!/usr/bin/env bash
# prom_check_test.sh: the Prometheus text-format checker the serving tests
# use (tests/e2e/prom_check.py) accepts a valid exposition and refuses
# each kind of invalid one.
set -euo pipefail

: "${CFX_SOURCE_DIR:?source tree}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$PY" "$CFX_SOURCE_DIR/tests/e2e/prom_check.py" --self-test || fail "prom_check self-test"
