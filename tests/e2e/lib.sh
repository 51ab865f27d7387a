# lib.sh: the setup every end-to-end test shares, sourced by each right
# after its `set` line (not a test itself: ctest runs only *_test.sh).
# It gives:
#   T          a new temporary folder, named for the test, removed on exit
#   PIDS       processes the test started; each is killed (-9) on exit
#   on_exit    if the test defines this function, it runs first on exit
#              (to stop a server gently, say); the exit status is kept
#   fail MSG   prints "FAIL: MSG" (and the end of $T/serve.log when there
#              is one, FAIL_LOG_LINES lines, 20 by default), exits 1
#   PY         Debian's python3 (it has grpcio and numpy)
PY=${PY:-/usr/bin/python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/cfx-$(basename "$0" .sh).XXXXXX")
PIDS=()
cfx_e2e_cleanup() {
    local rc=$?
    if declare -F on_exit >/dev/null; then on_exit || true; fi
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
    exit "$rc"
}
trap cfx_e2e_cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -f "$T/serve.log" ] && tail -"${FAIL_LOG_LINES:-20}" "$T/serve.log" >&2
    exit 1
}
