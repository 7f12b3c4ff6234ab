#!/usr/bin/env bash
# Builds and runs the benchmarks (bench/), printing their JSON lines on stdout.
# Usage: scripts/bench.sh [build-dir]   (default build/release; configured if missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$build" --target bandwidth matmul_bench thread_pool_bench >&2
"$build/bench/bandwidth"
"$build/bench/thread_pool_bench"
"$build/bench/matmul_bench"
