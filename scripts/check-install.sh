#!/usr/bin/env bash
# Checks `cmake --install` of a built tree into a fresh prefix: both
# binaries run, every systemd unit is there with each ExecStart naming
# PREFIX/bin (not the committed /usr/local/bin), the sysusers.d and
# tmpfiles.d entries of the cfx user are there (and systemd-sysusers and
# systemd-tmpfiles read them without complaint, where installed), and
# README, Containerfile, docs, examples and deploy/ are in the doc
# directory.
#   scripts/check-install.sh BUILD_DIR
# BUILD_DIR is a configured and built cfx tree (BUILD_TESTING may be OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:?usage: scripts/check-install.sh BUILD_DIR}
P=$(mktemp -d)
trap 'rm -rf "$P"' EXIT
fail() { echo "check-install: FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$P" >/dev/null

for b in cfx cfx-serve; do
  [ -x "$P/bin/$b" ] || fail "bin/$b not installed"
  "$P/bin/$b" --version >/dev/null || fail "bin/$b --version exited non-zero"
done

UNITDIR=$(sed -n 's/^CFX_SYSTEMD_UNITDIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
case $UNITDIR in /*) ;; *) UNITDIR=$P/$UNITDIR ;; esac
for f in systemd/*.service systemd/*.timer; do
  u=$UNITDIR/$(basename "$f")
  [ -f "$u" ] || fail "$f not installed as $u"
  ! grep -q /usr/local/bin "$u" || fail "$u still names /usr/local/bin"
done
for f in systemd/*.service; do
  u=$UNITDIR/$(basename "$f")
  n=0
  while read -r exe; do
    n=$((n + 1))
    [ -x "$exe" ] || fail "$u: ExecStart names $exe, not an installed binary"
    case $exe in "$P"/bin/*) ;; *) fail "$u: ExecStart $exe is not under $P/bin" ;; esac
  done < <(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
  [ "$n" -gt 0 ] || fail "$u has no ExecStart"
done

for kind in sysusers tmpfiles; do
  dir=$(sed -n "s/^CFX_$(echo "$kind" | tr a-z A-Z)_DIR:[A-Z]*=//p" "$BUILD/CMakeCache.txt")
  case $dir in /*) ;; *) dir=$P/$dir ;; esac
  f=$dir/cfx.conf
  cmp -s "$f" "packaging/cfx.$kind" || fail "packaging/cfx.$kind not installed as $f"
done
# Applied to an empty root (as root only: tmpfiles chowns), the entries
# must be accepted as they are: each tool fails on a line it cannot parse.
if [ "$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
  R=$P/fresh-root
  mkdir -p "$R/etc"
  out=$(systemd-sysusers --root="$R" "$P/lib/sysusers.d/cfx.conf" 2>&1) ||
    fail "systemd-sysusers refuses $P/lib/sysusers.d/cfx.conf: $out"
  out=$(systemd-tmpfiles --root="$R" --create "$P/lib/tmpfiles.d/cfx.conf" 2>&1) ||
    fail "systemd-tmpfiles refuses $P/lib/tmpfiles.d/cfx.conf: $out"
  [ -d "$R/srv/models" ] || fail "tmpfiles.d entry made no /srv/models"
elif command -v systemd-sysusers >/dev/null; then
  out=$(systemd-sysusers --dry-run "$P/lib/sysusers.d/cfx.conf" 2>&1) ||
    fail "systemd-sysusers refuses $P/lib/sysusers.d/cfx.conf: $out"
fi

DOC=$P/share/doc/cfx
for f in README.md Containerfile; do
  [ -f "$DOC/$f" ] || fail "$f not in $DOC"
done
for f in docs/*; do
  [ -e "$DOC/$(basename "$f")" ] || fail "$f not in $DOC"
done
while read -r f; do
  [ -f "$DOC/$f" ] || fail "$f not in $DOC"
done < <(git ls-files examples deploy)

echo "check-install: OK (binaries, $(ls systemd | wc -l) units, sysusers.d, tmpfiles.d, docs, examples, deploy)"
