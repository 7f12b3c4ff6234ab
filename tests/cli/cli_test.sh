#!/usr/bin/env bash
# End-to-end checks of the snug binary: make-model, inspect (text and JSON) on every tiny
# preset, precise errors (not crashes) on corrupted copies, and run on a tiny model.
#   tests/cli/cli_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error FILE SUBSTRING: inspect must exit 1 (not crash: 128+) and name the problem.
expect_error() {
  local output status
  output=$("$snug" inspect "$1" 2>&1)
  status=$?
  if [ "$status" -ne 1 ]; then fail "inspect $1 exited $status (want 1): $output"; return; fi
  case "$output" in *"$2"*) ;; *) fail "inspect $1: '$output' lacks '$2'" ;; esac
}

for preset in gemma3-tiny gemma4-tiny gptoss-tiny llama-tiny; do
  model="$work/$preset.gguf"
  "$snug" make-model "$preset" --vocab builtin --type q8_0 -q -o "$model" || { fail "make-model $preset"; continue; }
  out=$("$snug" inspect "$model") || fail "inspect $preset exited $?"
  for word in "$preset" token_embd.weight q8_0 "blk.0." tokenizer; do
    case "$out" in *"$word"*) ;; *) fail "inspect $preset: no '$word' in the output" ;; esac
  done
  "$snug" inspect --json "$model" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["tensors"], "no tensors"' ||
    fail "inspect --json $preset is not JSON with tensors"

  size=$(stat -c %s "$model")
  head -c $((size / 2)) "$model" > "$work/truncated.gguf"
  expect_error "$work/truncated.gguf" "gguf:"
  head -c 100 "$model" > "$work/header-only.gguf"
  expect_error "$work/header-only.gguf" "gguf:"
  # An absurd tensor count (bytes 8..15) and key-value count (bytes 16..23).
  cp "$model" "$work/count.gguf"
  printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$work/count.gguf" bs=1 seek=8 conv=notrunc status=none
  expect_error "$work/count.gguf" "gguf:"
  cp "$model" "$work/kv.gguf"
  printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$work/kv.gguf" bs=1 seek=16 conv=notrunc status=none
  expect_error "$work/kv.gguf" "gguf:"
done
printf 'GGUF\x03\x00\x00\x00' > "$work/empty-counts.gguf"
expect_error "$work/empty-counts.gguf" "gguf:"
expect_error /nonexistent.gguf "cannot open"

# run: greedy is deterministic, token-id prompts work, bad ids are refused.
model="$work/llama-tiny.gguf"
a=$("$snug" run "$model" --tokens 1,2,3,4 --json --temperature 0 -n 8 2>/dev/null | grep "\"token\"") || fail "run --json"
b=$("$snug" run "$model" --tokens 1,2,3,4 --json --temperature 0 -n 8 2>/dev/null | grep "\"token\"")
[ "$a" = "$b" ] || fail "greedy runs differ"
[ "$(echo "$a" | grep -c '"token"')" -eq 8 ] || fail "run --json did not print 8 tokens: $a"
"$snug" run "$model" --tokens 1,999999 -n 2 >/dev/null 2>&1
[ $? -eq 1 ] || fail "run with an out-of-vocabulary id did not exit 1"
"$snug" run "$model" "hello" --raw -n 4 --seed 3 >/dev/null 2>&1 || fail "run --raw"
"$snug" run --bogus-flag >/dev/null 2>&1
[ $? -eq 2 ] || fail "a usage error did not exit 2"

if [ "$failures" -eq 0 ]; then echo "PASS cli"; else echo "$failures failure(s)"; exit 1; fi
