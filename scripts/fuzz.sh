#!/usr/bin/env bash
# Runs one libFuzzer target: scripts/fuzz.sh BINARY SECONDS
# Seeds are valid files written by the target itself (SNUG_FUZZ_WRITE_SEEDS); the corpus the
# fuzzer grows is kept next to the binary, so later runs start where earlier ones stopped.
# Exits non-zero (and names the reproducer) when the fuzzer finds a crash, leak or timeout.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY SECONDS" >&2
  exit 2
fi
binary=$1
seconds=$2
if [ ! -x "$binary" ]; then
  echo "fuzz: '$binary' is not an executable (build it: make build-fuzz)" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary").work
seeds=$work/seeds
corpus=$work/corpus
artifacts=$work/artifacts
mkdir -p "$seeds" "$corpus" "$artifacts"

SNUG_FUZZ_WRITE_SEEDS=$seeds "$binary" >/dev/null
echo "fuzz: $(ls "$seeds" | wc -l) seed files, corpus $(ls "$corpus" | wc -l) files," \
  "running $binary for ${seconds}s"

dict=()
name=$(basename "$binary" _fuzz)  # gguf_fuzz -> fuzz/gguf.dict
if [ -f "$root/fuzz/$name.dict" ]; then dict=(-dict="$root/fuzz/$name.dict"); fi
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$binary" "$corpus" "$seeds" "${dict[@]}" -max_len=65536 -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" 2>"$work/log.txt" || status=$?
tail -n 25 "$work/log.txt"
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status); reproducers in $artifacts:" >&2
  ls -l "$artifacts" >&2
  echo "fuzz: replay one with: $binary $artifacts/<file>" >&2
  exit 1
fi
echo "fuzz: no crash in ${seconds}s"
