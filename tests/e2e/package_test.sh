#!/usr/bin/env bash
# package_test.sh: the Debian package and the container image's runtime
# stage, installed for real in throwaway copies of this machine.
#   1. `cpack -G DEB` of the build tree passes scripts/check-deb.sh, and a
#      copy of it whose Depends lacks one library fails it.
#   2. In a copy-on-write copy of this machine's root (overlayfs in a
#      private mount and network namespace, entered with chroot; nothing
#      reaches the real root), as an admin would on a fresh Debian machine:
#      `apt-get install ./cfx_*.deb` (no download: the dependencies are
#      installed here), then `cfx-serve --version` and `cfx --version` from
#      PATH, the cfx user and its directories made by the postinst,
#      `systemd-analyze verify` of the installed units, a model served from
#      /srv/models by cfx-serve running as cfx (/v1/ready and a predict),
#      a second install over the first (the postinst is idempotent), then
#      `apt-get remove`: binaries and units gone, user and /srv/models kept.
#   3. In a second copy: the Containerfile's runtime stage, its RUN lines
#      (less `apt-get update`) on this root instead of bookworm-slim, then
#      its ENTRYPOINT as its USER with MODEL_NAME=taxi and the metrics flag
#      of its header comment: ready, predicts, /metrics. The build stage's
#      packages all exist in the apt lists here and include the package of
#      every library and program the build tree's configure found.
# Parts 2 and 3 need root, unshare and overlayfs. Not root (a developer's
# machine), part 1 runs and the test then ends with "SKIP: ..." on stderr
# and exit status 77, which ctest reports as skipped, not passed. As root
# (CI) a missing unshare or overlayfs, or a user cfx already on the machine
# (the install would not have to create it), fails the test.
set -eEuo pipefail
: "${CFX_BUILD_DIR:?}"
for c in cpack dpkg-deb readelf; do
    command -v "$c" >/dev/null || { echo "package_test: $c not installed"; exit 1; }
done
FAIL_LOG_LINES=40
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
SRC=$CFX_SOURCE_DIR

# --- 1. build and check the package ------------------------------------------
mkdir "$T/pkg"
cpack -G DEB -B "$T/pkg" --config "$CFX_BUILD_DIR/CPackConfig.cmake" >"$T/cpack.log" 2>&1 ||
    fail "cpack: $(tail -20 "$T/cpack.log")"
DEBS=("$T"/pkg/cfx_*.deb)
[ ${#DEBS[@]} = 1 ] && [ -f "${DEBS[0]}" ] || fail "cpack made no cfx_*.deb: $(ls "$T/pkg")"
DEB=${DEBS[0]}
bash "$SRC/scripts/check-deb.sh" "$DEB" || fail "check-deb on $DEB"

# The check must catch an undeclared library: drop libjansson4 from Depends.
dpkg-deb -R "$DEB" "$T/bad"
grep -q 'libjansson4' "$T/bad/DEBIAN/control" || fail "no libjansson4 in Depends to drop"
sed -i 's/ libjansson4 ([^)]*),//' "$T/bad/DEBIAN/control"
dpkg-deb -b "$T/bad" "$T/bad.deb" >/dev/null
if bash "$SRC/scripts/check-deb.sh" "$T/bad.deb" >"$T/bad.log" 2>&1; then
    fail "check-deb passed a package whose Depends lacks libjansson4"
fi
grep -q 'libjansson' "$T/bad.log" || fail "check-deb failed for another reason: $(cat "$T/bad.log")"
echo "package_test: $(basename "$DEB") passes check-deb; without libjansson4 it fails"

# The build stage's packages exist in this machine's apt lists (bookworm),
# and they hold every library and program this build tree's configure
# found (CMakeCache: pkg-config libraries, find_library, protoc-c; cmocka
# is for the tests only, which the image does not build).
PKGS=$(sed -n '/AS build/,/^FROM/p' "$SRC/Containerfile" | tr '\\' ' ' |
    sed -n '/apt-get install/,/rm -rf/p' | tr ' ' '\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update|noninteractive)$')
for p in $PKGS; do
    apt-cache show "$p" >/dev/null 2>&1 || fail "Containerfile build stage: no package $p"
done
N_FOUND=0
while IFS='=' read -r key path; do
    case $key in pkgcfg_lib_CMOCKA_*) continue ;; esac
    owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null) ||
        fail "$key: $path belongs to no package"
    pkg=${owner%%:*}
    pkg=${pkg%%,*}
    grep -qxF "$pkg" <<<"$PKGS" || fail "Containerfile build stage lacks $pkg ($key: $path)"
    N_FOUND=$((N_FOUND + 1))
done < <(grep -E '^(pkgcfg_lib_[A-Za-z0-9_-]+|[A-Z0-9_]+_LIB|PROTOC_C):FILEPATH=/' "$CFX_BUILD_DIR/CMakeCache.txt" |
    sed 's/:FILEPATH=/=/')
[ "$N_FOUND" -ge 10 ] || fail "only $N_FOUND build dependencies found in $CFX_BUILD_DIR/CMakeCache.txt"
echo "package_test: the Containerfile's build stage has the packages of all $N_FOUND build dependencies"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: package_test: parts 2 and 3 (the install and the Containerfile's runtime stage" \
        "in a copy of this machine) need root; part 1 passed" >&2
    exit 77
fi
command -v unshare >/dev/null || fail "unshare (util-linux) is not installed: the installs cannot run"
grep -qw overlay /proc/filesystems || fail "this kernel has no overlayfs: the installs cannot run"
! getent passwd cfx >/dev/null ||
    fail "this machine already has a user cfx, so the install could not show that it creates it" \
        "(remove it with userdel cfx, or run the test elsewhere)"

# A model for the installed servers.
taxi_data
taxi_train "$T/train" 60 10 1
ROW=$(sed -n 1p "$T/train/model/assets.extra/warmup.jsonl")
echo "{\"signature_name\": \"predict_raw\", \"instances\": [$ROW]}" >"$T/body.json"
cp "$DEB" "$T/cfx.deb"

# in_copy SCRIPT: runs SCRIPT (bash) chrooted in a fresh overlay copy of /,
# in new mount and network namespaces, with $T at /mnt/cfxtest.
in_copy() {
    local d
    d=$(mktemp -d "$T/copy.XXXXXX")
    mkdir "$d/up" "$d/work" "$d/root"
    unshare --mount --net --propagation private bash -ec '
        d=$1 t=$2 script=$3
        mount -t overlay overlay -o "lowerdir=/,upperdir=$d/up,workdir=$d/work" "$d/root"
        mkdir -p "$d/root/mnt/cfxtest"
        mount --bind "$t" "$d/root/mnt/cfxtest"
        mount -t proc proc "$d/root/proc"
        mount --rbind /dev "$d/root/dev"
        mount -t tmpfs tmpfs "$d/root/run"
        mount -t tmpfs tmpfs "$d/root/tmp"
        ip link set lo up
        chroot "$d/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -eu "/mnt/cfxtest/$script"
    ' in_copy "$d" "$T" "$1"
}

# --- 2. apt-get install, use, reinstall, remove ------------------------------
cat >"$T/install.sh" <<'EOF'
M=/mnt/cfxtest
fail() { echo "FAIL (installed copy): $*" >&2; tail -20 /tmp/serve.log 2>/dev/null >&2; exit 1; }
! command -v cfx-serve >/dev/null || fail "cfx-serve already on PATH before the install"
cp "$M/cfx.deb" /tmp/cfx_test.deb
apt-get install -y /tmp/cfx_test.deb >/tmp/apt.log 2>&1 || fail "apt-get install: $(tail -20 /tmp/apt.log)"
[ "$(command -v cfx-serve)" = /usr/bin/cfx-serve ] || fail "cfx-serve not at /usr/bin"
cfx-serve --version | grep -q '^cfx-serve ' || fail "cfx-serve --version: $(cfx-serve --version)"
cfx --version >/dev/null || fail "cfx --version"
ENT=$(getent passwd cfx) || fail "no user cfx after the install"
case $ENT in *:/var/lib/cfx:*/nologin) ;; *) fail "user cfx: $ENT" ;; esac
for d in /srv/models /var/lib/cfx; do
    [ "$(stat -c %U:%G "$d")" = cfx:cfx ] || fail "$d owned by $(stat -c %U:%G "$d")"
done
[ -d /etc/cfx ] || fail "no /etc/cfx"
cd /usr/lib/systemd/system
systemd-analyze verify cfx-serve.service cfx-pipeline.service cfx-pipeline.timer >/tmp/verify.log 2>&1 ||
    fail "systemd-analyze verify: $(cat /tmp/verify.log)"
! grep -q . /tmp/verify.log || fail "systemd-analyze verify warns: $(cat /tmp/verify.log)"
cd /
# Publish as the pipeline would (user cfx), serve as user cfx.
cp -r "$M/train/model" /tmp/model && chown -R cfx:cfx /tmp/model
setpriv --reuid=cfx --regid=cfx --init-groups sh -c \
    "mkdir -p /srv/models/taxi && cp -r /tmp/model /srv/models/taxi/.tmp-1 && mv /srv/models/taxi/.tmp-1 /srv/models/taxi/1"
setpriv --reuid=cfx --regid=cfx --init-groups cfx-serve --port=8500 --rest_api_port=8501 \
    --model_name=taxi --model_base_path=/srv/models/taxi >/tmp/serve.log 2>&1 &
SPID=$!
trap 'kill -9 "$SPID" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8501/v1/ready)" = 200 ] && break
    kill -0 "$SPID" 2>/dev/null || fail "cfx-serve (user cfx) exited"
    sleep 0.05
done
curl -sf http://127.0.0.1:8501/v1/ready >/dev/null || fail "not ready"
[ "$(ps -o user= -p "$SPID")" = cfx ] || fail "cfx-serve runs as $(ps -o user= -p "$SPID")"
curl -sf -d @"$M/body.json" http://127.0.0.1:8501/v1/models/taxi:predict | grep -q '"predictions"' ||
    fail "predict"
kill -TERM "$SPID"
wait "$SPID" || fail "cfx-serve exit status $? after SIGTERM"
UID1=$(id -u cfx)
apt-get install -y --reinstall /tmp/cfx_test.deb >/tmp/apt2.log 2>&1 ||
    fail "second install: $(tail -20 /tmp/apt2.log)"
[ "$(id -u cfx)" = "$UID1" ] || fail "the second install changed cfx's uid"
apt-get remove -y cfx >/tmp/apt3.log 2>&1 || fail "apt-get remove: $(tail -20 /tmp/apt3.log)"
[ ! -e /usr/bin/cfx-serve ] && [ ! -e /usr/bin/cfx ] || fail "binaries left after remove"
[ ! -e /usr/lib/systemd/system/cfx-serve.service ] || fail "unit left after remove"
getent passwd cfx >/dev/null || fail "remove deleted the user cfx"
[ -d /srv/models/taxi/1 ] || fail "remove deleted the models"
echo "installed copy: OK (uid $UID1)"
EOF
in_copy install.sh || fail "the install in a copy of this machine"

# --- 3. the Containerfile's runtime stage ------------------------------------
$PY - "$SRC/Containerfile" >"$T/runtime.sh" <<'PYEOF'
import json, re, shlex, sys
text = open(sys.argv[1]).read()
lines = re.sub(r"\\\n", " ", text).splitlines()
stages, cur = {}, None
for ln in lines:
    ln = ln.strip()
    if not ln or ln.startswith("#"):
        continue
    word, _, rest = ln.partition(" ")
    if word == "FROM":
        m = re.match(r"(\S+)\s+AS\s+(\S+)$", rest)
        assert m, "FROM without AS: " + ln
        cur = stages.setdefault(m.group(2), {"base": m.group(1), "ins": []})
    else:
        cur["ins"].append((word, rest.strip()))
rt = stages["runtime"]
assert rt["base"].endswith("debian:bookworm-slim"), rt["base"]
assert stages["build"]["base"].endswith("debian:bookworm"), stages["build"]["base"]
out = ["set -eu", "M=/mnt/cfxtest"]
env, user, entry = {}, None, None
for word, rest in rt["ins"]:
    if word == "COPY":
        m = re.match(r"--from=build\s+/build/cfx_\*\.deb\s+(\S+)$", rest)
        assert m, "unexpected COPY: " + rest
        out.append("mkdir -p %s && cp $M/cfx.deb %s/cfx_test.deb" % (m.group(1), m.group(1).rstrip("/")))
    elif word == "RUN":
        # No network here: apt-get update is left out, the rest runs as is.
        cmd = re.sub(r"apt-get update\s*&&", "", rest)
        out.append("sh -ec %s >>/tmp/stage.log 2>&1 || { tail -30 /tmp/stage.log >&2; exit 1; }"
                   % shlex.quote(cmd))
    elif word == "ENV":
        for kv in shlex.split(rest):
            k, v = kv.split("=", 1)
            env[k] = v
    elif word == "USER":
        user = rest
    elif word == "ENTRYPOINT":
        entry = json.loads(rest)
    elif word in ("EXPOSE", "WORKDIR"):
        if word == "WORKDIR":
            out.append("cd " + shlex.quote(rest))
    else:
        raise SystemExit("unexpected instruction " + word)
assert user and entry, "no USER or ENTRYPOINT"
uid, gid = user.split(":")
env["MODEL_NAME"] = "taxi"
envs = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in env.items())
out.append("mkdir -p /models/taxi && cp -r $M/train/model /models/taxi/1")
out.append("echo %s:%s >/tmp/user" % (uid, gid))
out.append("env %s setpriv --reuid=%s --regid=%s --clear-groups %s "
           "--monitoring_config_file=/etc/cfx/monitoring.txt >/tmp/serve.log 2>&1 &"
           % (envs, uid, gid, " ".join(shlex.quote(a) for a in entry)))
out.append("echo $! >/tmp/serve.pid")
print("\n".join(out))
PYEOF
cat >>"$T/runtime.sh" <<'EOF'
fail() { echo "FAIL (runtime stage): $*" >&2; tail -20 /tmp/serve.log >&2; exit 1; }
SPID=$(cat /tmp/serve.pid)
trap 'kill -9 "$SPID" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8501/v1/ready)" = 200 ] && break
    kill -0 "$SPID" 2>/dev/null || fail "the ENTRYPOINT exited"
    sleep 0.05
done
curl -sf http://127.0.0.1:8501/v1/ready >/dev/null || fail "not ready on 8501"
[ "$(id -u cfx):$(id -g cfx)" = "$(cat /tmp/user)" ] || fail "cfx is $(id -u cfx):$(id -g cfx), USER $(cat /tmp/user)"
[ "$(ps -o uid= -p "$SPID" | tr -d ' ')" = "$(id -u cfx)" ] || fail "not running as cfx"
curl -sf -d @"$M/body.json" http://127.0.0.1:8501/v1/models/taxi:predict | grep -q '"predictions"' ||
    fail "predict on 8501"
curl -sf http://127.0.0.1:8501/metrics | grep -q '^:tensorflow:serving:' || fail "no metrics at /metrics"
kill -TERM "$SPID"
wait "$SPID" 2>/dev/null || true
echo "runtime stage: OK (uid $(cat /tmp/user))"
EOF
in_copy runtime.sh || fail "the Containerfile's runtime stage in a copy of this machine"

echo "package_test: OK"
