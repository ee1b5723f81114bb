#!/usr/bin/env bash
# Installs everything fathom needs to build and test on Debian 12. Idempotent: safe to re-run.
set -euo pipefail

APT_PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libpcre2-dev libicu-dev
  libxxhash-dev             # XXH3 content hashes of checkpoints (the weight cache's key)
  libssl-dev openssl libsqlite3-dev libhiredis-dev redis-server libyaml-cpp-dev libpq-dev postgresql
  libhowardhinnant-date-dev tzdata  # IANA time zones (serverless prewarm windows)
  libboost-dev libboost-system-dev
  libeigen3-dev             # fathom quantize: Cholesky and the GPTQ / AWQ matrix products
  wrk nginx-light
  python3
  clang libclang-rt-14-dev  # libFuzzer targets (fuzz/run.sh)
  prometheus                # prometheus + promtool: tests/e2e/deploy_monitoring.test.mjs
  chromium                  # the web console's browser tests (tests/e2e/console_browser.test.mjs)
)
# `scripts/setup.sh --image`: also what scripts/build-image.sh and scripts/test-image.sh need
# (.ci/run asks for it only when the image changed).
if [ "${1:-}" = "--image" ]; then
  APT_PACKAGES+=(podman runc debootstrap)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm: any installation will do (nodesource's nodejs bundles npm and conflicts
# with Debian's npm package), so only install Debian's when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# kubectl (for `kubectl kustomize`, tests/e2e/deploy_*.test.mjs): any installation will do
# (Google's kubectl package conflicts with Debian's), so Debian's only when it is missing.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# The arm64 cross build (cmake --preset arm64; docs/edge.md): Debian's cross compiler, qemu-user
# to run the arm64 tests on this machine, and the arm64 (multiarch) builds of the libraries src/
# links. libpq-dev and libyaml-cpp-dev are not multiarch (their arm64 builds would replace the
# host's), so their arm64 .debs are unpacked into $FATHOM_ARM64_DEV instead, where
# cmake/toolchain-aarch64.cmake looks for them. FATHOM_SKIP_ARM64=1 skips all of it.
FATHOM_ARM64_DEV="${FATHOM_ARM64_DEV:-/opt/fathom-arm64-dev}"
ARM64_APT_PACKAGES=(
  crossbuild-essential-arm64 qemu-user qemu-user-binfmt libc6:arm64
  libgtest-dev:arm64 libgmock-dev:arm64 libpcre2-dev:arm64 libicu-dev:arm64 libssl-dev:arm64
  libsqlite3-dev:arm64 libhiredis-dev:arm64 libhowardhinnant-date-dev:arm64
  libboost-dev:arm64 libboost-system-dev:arm64 libpq5:arm64 libyaml-cpp0.7:arm64
  libxxhash-dev:arm64
)
ARM64_UNPACKED=(libpq-dev libpq5 libyaml-cpp-dev libyaml-cpp0.7)
if [ "${FATHOM_SKIP_ARM64:-0}" != "1" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  arm64_missing=()
  for p in "${ARM64_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || arm64_missing+=("$p")
  done
  if ((${#arm64_missing[@]})); then
    echo "setup: installing ${arm64_missing[*]}"
    dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${arm64_missing[@]}"
  fi
  # One stamp per unpacked version: a Debian update of either library unpacks it again.
  stamp="$FATHOM_ARM64_DEV/.unpacked$(for p in "${ARM64_UNPACKED[@]}"; do
    apt-cache policy "$p:arm64" | awk '/Candidate:/ {printf "-%s", $2}'; done | tr -c 'A-Za-z0-9.+-' _)"
  if [ ! -f "$stamp" ]; then
    echo "setup: unpacking arm64 ${ARM64_UNPACKED[*]} into $FATHOM_ARM64_DEV"
    tmp="$(mktemp -d)" && chmod 755 "$tmp"  # apt's _apt user downloads into it
    (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "${ARM64_UNPACKED[@]/%/:arm64}")
    $SUDO rm -rf "$FATHOM_ARM64_DEV"
    for deb in "$tmp"/*.deb; do $SUDO dpkg-deb -x "$deb" "$FATHOM_ARM64_DEV"; done
    $SUDO touch "$stamp"
    rm -rf "$tmp"
  fi
fi

# The e2e tests' node packages, from package-lock.json: the official openai client, the Vercel
# AI SDK and LangChain (sdk_clients.test.mjs), ajv, yaml (tests/e2e/openapi/extract.mjs), undici
# (tls.test.mjs: fetch with our CA), the Kubernetes/KEDA/Knative/prometheus-operator schemas
# (deploy_manifests.test.mjs), playwright-core (console_browser.test.mjs drives Debian's
# chromium with it). The openssl CLI makes tls.test.mjs's certificates.
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e"
missing_node_package() {
  for p in openai ajv ajv-formats yaml undici ai @ai-sdk/openai @ai-sdk/openai-compatible @langchain/openai zod \
           kubernetes-models @kubernetes-models/keda @kubernetes-models/knative @kubernetes-models/prometheus-operator \
           playwright-core; do
    [ -f "$E2E_DIR/node_modules/$p/package.json" ] || return 0
  done
  return 1
}
if missing_node_package; then
  echo "setup: npm ci in tests/e2e"
  (cd "$E2E_DIR" && npm ci --silent --no-audit --no-fund --prefer-offline)
fi

# The web console's toolchain (vite, vitest) from web/package-lock.json: its unit tests
# (ctest console_unit) and `npm run build`. The built console is committed in web/dist, so the
# fathom build itself never needs it.
WEB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
if [ ! -f "$WEB_DIR/node_modules/vite/package.json" ] || [ ! -f "$WEB_DIR/node_modules/vitest/package.json" ]; then
  echo "setup: npm ci in web"
  (cd "$WEB_DIR" && npm ci --silent --no-audit --no-fund --prefer-offline)
fi
