#!/usr/bin/env bash
# Checks a cfx Debian package built by `cpack -G DEB` without installing it:
#   - control fields: Package cfx, an Architecture, the maintainer scripts;
#   - Depends covers every shared library the two binaries name (readelf's
#     NEEDED): each, where ldd finds it here, belongs (dpkg -S) to a
#     package that Depends names, so dpkg-shlibdeps missed none;
#   - Depends names the sysusers and tmpfiles programs the postinst runs;
#   - the files: bin/cfx and bin/cfx-serve under /usr (both run
#     --version), the units with ExecStart naming /usr/bin, the sysusers.d
#     and tmpfiles.d entries, README, docs, examples and deploy/ in
#     /usr/share/doc/cfx;
#   - the units pass `systemd-analyze verify` (ExecStart pointed at the
#     extracted binaries);
#   - the sysusers.d and tmpfiles.d entries applied to an empty root
#     (`systemd-sysusers --root`, `systemd-tmpfiles --root`) make the cfx
#     user (no login shell) and /srv/models, /var/lib/cfx owned by it.
#   scripts/check-deb.sh PATH/cfx_VERSION_ARCH.deb
set -euo pipefail
DEB=${1:?usage: scripts/check-deb.sh PATH/cfx_VERSION_ARCH.deb}
[ -f "$DEB" ] || { echo "check-deb: FAIL: no file $DEB" >&2; exit 1; }
DEB=$(realpath "$DEB")
cd "$(dirname "$0")/.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }

field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = cfx ] || fail "Package is '$(field Package)', not cfx"
[ -n "$(field Architecture)" ] || fail "no Architecture"
DEPENDS=$(field Depends)
[ -n "$DEPENDS" ] || fail "no Depends"
dpkg-deb --ctrl-tarfile "$DEB" | tar -t >"$W/control.list"
for s in postinst prerm postrm; do
    grep -qx "./$s" "$W/control.list" || fail "no $s maintainer script"
done
mkdir "$W/ctrl"
dpkg-deb -e "$DEB" "$W/ctrl"
for s in postinst prerm postrm; do
    [ -x "$W/ctrl/$s" ] || fail "$s is not executable"
    sh -n "$W/ctrl/$s" || fail "$s: shell syntax"
done
grep -q 'systemd-sysusers .*cfx.conf' "$W/ctrl/postinst" || fail "postinst does not run systemd-sysusers"
grep -q 'systemd-tmpfiles .*--create cfx.conf' "$W/ctrl/postinst" || fail "postinst does not run systemd-tmpfiles"

# One alternative list per clause, package names only: "a (>= 1) | b" -> "a b".
printf '%s\n' "$DEPENDS" | tr ',' '\n' | sed -e 's/([^)]*)//g' -e 's/|/ /g' -e 's/:[a-z0-9]*//g' \
    | awk '{$1=$1; print}' >"$W/clauses"
declared() { grep -qw -- "$1" "$W/clauses"; }
declared systemd-sysusers || fail "Depends lacks systemd-sysusers: $DEPENDS"
declared systemd-tmpfiles || fail "Depends lacks systemd-tmpfiles: $DEPENDS"

X=$W/root
dpkg-deb -x "$DEB" "$X"
for b in cfx cfx-serve; do
    [ -x "$X/usr/bin/$b" ] || fail "/usr/bin/$b not in the package"
    "$X/usr/bin/$b" --version >/dev/null || fail "/usr/bin/$b --version failed"
    # The libraries it names (DT_NEEDED), where ldd finds them here; what
    # those load in turn their own packages' Depends bring.
    ldd "$X/usr/bin/$b" >"$W/ldd"
    while read -r soname; do
        lib=$(sed -n "s|^[[:space:]]*$soname => \(/[^ ]*\) .*|\1|p" "$W/ldd")
        [ -n "$lib" ] || fail "$b needs $soname, which ldd does not find"
        real=$(readlink -f "$lib")
        owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null) ||
            fail "$b loads $lib, which no installed package owns"
        pkg=${owner%%:*}
        pkg=${pkg%% *}
        declared "$pkg" || fail "$b loads $lib of package $pkg, which Depends lacks: $DEPENDS"
    done < <(readelf -d "$X/usr/bin/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done

UNITS=$X/usr/lib/systemd/system
for f in systemd/*.service systemd/*.timer; do
    [ -f "$UNITS/$(basename "$f")" ] || fail "$(basename "$f") not in $UNITS"
done
mkdir "$W/units"
for u in "$UNITS"/*; do
    n=$(basename "$u")
    while read -r exe; do
        case $exe in /usr/bin/*) ;; *) fail "$n: ExecStart $exe is not in /usr/bin" ;; esac
        [ -x "$X$exe" ] || fail "$n: ExecStart names $exe, which the package lacks"
    done < <(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
    sed "s#^ExecStart=/usr/bin/#ExecStart=$X/usr/bin/#" "$u" >"$W/units/$n"
done
if command -v systemd-analyze >/dev/null; then
    (cd "$W/units" && systemd-analyze verify ./*.service ./*.timer) >"$W/verify.log" 2>&1 ||
        fail "systemd-analyze verify: $(cat "$W/verify.log")"
    ! grep -q . "$W/verify.log" || fail "systemd-analyze verify warns: $(cat "$W/verify.log")"
fi

SYSUSERS=$X/usr/lib/sysusers.d/cfx.conf
TMPFILES=$X/usr/lib/tmpfiles.d/cfx.conf
[ -f "$SYSUSERS" ] || fail "no /usr/lib/sysusers.d/cfx.conf"
[ -f "$TMPFILES" ] || fail "no /usr/lib/tmpfiles.d/cfx.conf"
DOC=$X/usr/share/doc/cfx
for f in README.md Containerfile; do [ -f "$DOC/$f" ] || fail "$f not in /usr/share/doc/cfx"; done
for f in docs/* deploy/*; do [ -e "$DOC/${f#docs/}" ] || fail "$f not in /usr/share/doc/cfx"; done
while read -r f; do [ -f "$DOC/$f" ] || fail "$f not in /usr/share/doc/cfx"; done < <(git ls-files examples)

if command -v systemd-sysusers >/dev/null && [ "$(id -u)" = 0 ]; then
    R=$W/fresh
    mkdir -p "$R/etc"
    systemd-sysusers --root="$R" "$SYSUSERS" >/dev/null 2>&1 || fail "systemd-sysusers on $SYSUSERS"
    ENT=$(grep '^cfx:' "$R/etc/passwd") || fail "no cfx user made by $SYSUSERS"
    IFS=: read -r _ _ uid gid _ home shell <<<"$ENT"
    [ "$home" = /var/lib/cfx ] || fail "cfx's home is $home"
    case $shell in */nologin) ;; *) fail "cfx's shell is $shell, not nologin" ;; esac
    grep -q "^cfx:x:$gid:" "$R/etc/group" || fail "no cfx group with gid $gid"
    systemd-tmpfiles --root="$R" --create "$TMPFILES" 2>"$W/tmpfiles.log" ||
        fail "systemd-tmpfiles on $TMPFILES: $(cat "$W/tmpfiles.log")"
    for d in /srv/models /var/lib/cfx; do
        [ "$(stat -c %u:%g:%a "$R$d")" = "$uid:$gid:755" ] ||
            fail "$d is $(stat -c %u:%g:%a "$R$d"), not $uid:$gid:755"
    done
    [ "$(stat -c %u:%a "$R/etc/cfx")" = 0:755 ] || fail "/etc/cfx is $(stat -c %u:%a "$R/etc/cfx")"
fi

echo "check-deb: OK ($(basename "$DEB"): $(wc -l <"$W/clauses") dependencies, $(ls "$UNITS" | wc -l) units)"
