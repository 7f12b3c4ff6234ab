#!/usr/bin/env bash
# Issue 15 (items 2, 3, 9): llama-server's command-line habits and flag errors in the user's
# words. -m/--model beside the positional MODEL, -c/--ctx-size, -np, -ngl (accepted, warned);
# `snug --version` and `snug version`; `snug foo` names the unknown command and lists the
# commands; --kv-type, --temperature and --memory errors; a --memory beyond the machine warned;
# `snug tokenize`.
#   tests/cli/habits_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# has TEXT SUBSTRING WHAT
has() { case "$1" in *"$2"*) ;; *) fail "$3: '$1' lacks '$2'" ;; esac; }
lacks() { case "$1" in *"$2"*) fail "$3: '$1' has '$2'" ;; esac; }
# usage_error WHAT SUBSTRING ARGS...: exit 2 and the message holds SUBSTRING.
usage_error() {
  local what=$1 want=$2 out status
  shift 2
  out=$("$snug" "$@" 2>&1)
  status=$?
  [ "$status" -eq 2 ] || fail "$what: exit $status (want 2): $out"
  has "$out" "$want" "$what"
}

model="$work/llama-tiny.gguf"
[ -f "$model" ] || "$snug" make-model llama-tiny --vocab builtin --type q8_0 -q -o "$model" ||
  fail "make-model"
plan=(--memory 256MiB --max-queue 4 --max-body-bytes 65536 -t 1)

# Versions.
v1=$("$snug" --version) || fail "snug --version exited $?"
v2=$("$snug" version) || fail "snug version exited $?"
has "$v1" "snug " "--version"
[ "$v1" = "$v2" ] || fail "--version '$v1' and version '$v2' differ"

# Unknown commands, and none.
usage_error "snug foo" "unknown command 'foo'" foo
out=$("$snug" foo 2>&1)
for command in serve run plan bench inspect tokenize version; do has "$out" "$command" "snug foo lists"; done
usage_error "snug alone" "serve" 

# The model as -m/--model, the same plan as positional.
a=$("$snug" plan "$model" "${plan[@]}" --json) || fail "plan MODEL"
b=$("$snug" plan -m "$model" "${plan[@]}" --json) || fail "plan -m MODEL"
c=$("$snug" plan --model "$model" "${plan[@]}" --json) || fail "plan --model MODEL"
[ "$a" = "$b" ] && [ "$a" = "$c" ] || fail "plan -m/--model differs from the positional MODEL"
usage_error "plan without a model" "MODEL" plan --memory 1GiB
usage_error "two models" "two models" plan -m "$model" "$model"
# `run -m FILE PROMPT`: the positional is the prompt.
"$snug" run -m "$model" "hello" --raw -n 2 --seed 1 >/dev/null 2>&1 || fail "run -m FILE PROMPT"

# -c/--ctx-size are --ctx; -np is --parallel.
ctx() { python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["sequences"], p["context_tokens"])'; }
want=$("$snug" plan "$model" "${plan[@]}" --ctx 512 --parallel 2 --json | ctx)
[ "$want" = "2 512" ] || fail "plan --ctx 512 --parallel 2 gave '$want'"
got=$("$snug" plan "$model" "${plan[@]}" -c 512 -np 2 --json | ctx)
[ "$got" = "$want" ] || fail "-c 512 -np 2 gave '$got', want '$want'"
got=$("$snug" plan "$model" "${plan[@]}" --ctx-size 512 -np=2 --json | ctx)
[ "$got" = "$want" ] || fail "--ctx-size 512 -np=2 gave '$got', want '$want'"

# -ngl: accepted, warned as meaningless on the CPU.
out=$("$snug" plan "$model" "${plan[@]}" -ngl 99 2>&1 >/dev/null) || fail "-ngl 99 refused"
has "$out" "no effect" "-ngl 99"
has "$out" "CPU" "-ngl 99"

# Flag errors in the user's words.
usage_error "--kv-type q5_0" "'q5_0' is not a KV cache type; use one of f16, q4_0, q8_0" \
  plan "$model" --kv-type q5_0
out=$("$snug" plan "$model" --kv-type q5_0 2>&1)
lacks "$out" "->" "--kv-type q5_0"
usage_error "--temperature -1" "--temperature: must be between 0 and 2, not -1 (0 = greedy)" \
  run "$model" hi --temperature -1
out=$("$snug" run "$model" hi --temperature -1 2>&1)
[ "${#out}" -lt 300 ] || fail "--temperature -1 prints ${#out} characters: $out"
usage_error "--memory 16" "'16' needs a unit: did you mean 16GiB?" plan "$model" --memory 16
usage_error "--memory lots" "'lots' is not a size" plan "$model" --memory lots
usage_error "--reserve 2" "needs a unit" plan "$model" --reserve 2
usage_error "--parallel 0" "--parallel: must be between 1 and 256, not 0" plan "$model" --parallel 0
usage_error "--ctx abc" "'abc' is not a number" plan "$model" --ctx abc
"$snug" plan "$model" --memory 16GiB >/dev/null 2>&1 || fail "--memory 16GiB refused"
# More than the machine has: warned, still planned.
out=$("$snug" plan "$model" "${plan[@]/256MiB/100TiB}" 2>&1 >/dev/null)
has "$out" "more than this machine has" "--memory 100TiB"
out=$("$snug" plan "$model" "${plan[@]}" 2>&1 >/dev/null)
lacks "$out" "more than this machine has" "--memory 256MiB"

# bench plans exactly what serve (and plan) plan: HTTP buffers included (issue 15 item 5).
pb=$("$snug" plan "$model" --memory 1GiB -t 1 --json | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["total_bytes"], p["sequences"], p["context_tokens"])')
bb=$("$snug" bench "$model" --memory 1GiB -t 1 --lengths 8 --rounds 0 -n 2 --json 2>/dev/null | python3 -c 'import json,sys; p=json.load(sys.stdin)["plan"]; print(p["total_bytes"], p["sequences"], p["context_tokens"])')
[ -n "$pb" ] && [ "$pb" = "$bb" ] || fail "bench planned '$bb', plan (serve's) '$pb'"

# tokenize: ids and pieces, as text and JSON; the same ids as `run --tokens` takes.
out=$("$snug" tokenize "$model" "Hello world" 2>/dev/null) || fail "tokenize exited $?"
[ -n "$out" ] || fail "tokenize printed nothing"
json=$("$snug" tokenize -m "$model" "Hello world" --json) || fail "tokenize --json"
echo "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["count"] == len(d["tokens"]) > 0, d
assert all(isinstance(t["id"], int) and isinstance(t["piece"], str) for t in d["tokens"]), d
assert "".join(t["piece"] for t in d["tokens"]).replace("\u2581", " ").strip() == "Hello world", d
' || fail "tokenize --json: $json"
bos=$("$snug" tokenize "$model" "Hello" --json --add-special | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tokens"]))')
plain=$("$snug" tokenize "$model" "Hello" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tokens"]))')
[ "$bos" -ge "$plain" ] || fail "--add-special gave fewer tokens ($bos < $plain)"
usage_error "tokenize without text" "TEXT" tokenize "$model"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "habits: all checks passed"
