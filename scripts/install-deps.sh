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
  libxgboost-dev                       # the gbt model type (XGBoost's C API)
  libcurl4-openssl-dev                 # the s3:// model repository (SigV4)
  libpq-dev postgresql                 # the PostgreSQL metadata backend
  chromium                             # reports and the status page, headless
  python3-sklearn python3-pandas       # reference models: bench/ and e2e
  dpkg-dev file                        # CPack's .deb (dpkg-shlibdeps)
  python3-yaml                         # deploy_manifests_test.sh: the manifests of deploy/
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
# kubectl (offline checks of deploy/): Debian's kubernetes-client, unless a
# kubectl is already installed (its file would conflict).
if ! command -v kubectl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends kubernetes-client
fi
# npm (for s3rver, the S3 test server): Debian's package, unless a node
# that brings its own npm is already installed.
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends npm
fi
# The S3-compatible test server of tests/e2e/s3_*_test.sh: s3rver, in the
# fork that verifies SigV4 signatures (s3rver 3.x accepts any), pinned,
# into .deps/npm of this tree (git-ignored); tests never download it.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S3RVER=@20minutes/s3rver@5.0.0
if ! grep -qs '"version": "5.0.0"' "$ROOT/.deps/npm/node_modules/@20minutes/s3rver/package.json"; then
  npm install --no-audit --no-fund --no-save --engine-strict=false \
    --prefix "$ROOT/.deps/npm" "$S3RVER"
fi
