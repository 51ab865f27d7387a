#!/usr/bin/env bash
# Installs every Debian package cfx needs to build, test and benchmark.
# Idempotent; needs root (or sudo). Nothing is downloaded at build or run time.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config git
  clang clang-format libclang-rt-dev   # CI's second compiler, format check, libFuzzer
  protobuf-c-compiler libprotobuf-c-dev
  protobuf-compiler                    # protoc --decode: tfmd_conformance_test.sh
  libevent-dev libnghttp2-dev libjansson-dev libcsv-dev
  libsqlite3-dev sqlite3 zlib1g-dev libssl-dev libfarmhash-dev
  libcmocka-dev
  curl wrk nghttp2-client nginx-light python3 python3-grpcio python3-numpy
  openssl                              # the command: serve_tls_test.sh's certificates
  systemd
  procps iproute2                      # pgrep, ss: crash_test.sh
)
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
