#!/usr/bin/env bash
# Issue 11 item 5: `snug run MODEL PROMPT --image F --audio F` (repeatable, --image-tokens) and
# the chat's /image and /audio, on gemma4-unified-tiny: the soft tokens of models.md §3.2/§3.4
# show in the prompt count; a text-only model, a missing file and --raw with media are refused.
#   tests/cli/media_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
has() { case "$1" in *"$2"*) ;; *) fail "$3: '$1' lacks '$2'" ;; esac; }

unified="$work/unified.gguf"
text_only="$work/gemma4.gguf"
[ -f "$unified" ] || "$snug" make-model gemma4-unified-tiny -q -o "$unified" || fail "make-model"
[ -f "$text_only" ] || "$snug" make-model gemma4-tiny -q -o "$text_only" || fail "make-model"
convert -size 64x48 gradient:red-blue "$work/img.png" || fail "convert"
sox -n -r 16000 -b 16 -c 1 "$work/tone.wav" synth 1 sine 440 || fail "sox"  # 16000 samples
run=(-n 1 --temperature 0 -t 1)

# The prompt count of a run's statistics line: "[length] prompt N tokens, ...".
prompt_tokens() { sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' <<<"$1" | tail -n 1; }

out=$("$snug" run "$unified" "Describe." "${run[@]}" 2>&1) || fail "text only: $out"
plain=$(prompt_tokens "$out")
out=$("$snug" run "$unified" "Describe." --image "$work/img.png" "${run[@]}" 2>&1) ||
  fail "--image: $out"
auto=$(prompt_tokens "$out")
out=$("$snug" run "$unified" "Describe." --image "$work/img.png" --image-tokens 70 "${run[@]}" 2>&1) ||
  fail "--image-tokens 70: $out"
low=$(prompt_tokens "$out")
# 64×48 takes 912×672 (19 × 14 = 266 patches) at 280 and 432×336 (9 × 7 = 63) at 70.
[ "$((auto - low))" -eq 203 ] || fail "--image-tokens 70 vs 280: $low vs $auto (want 203 apart)"
[ "$((auto - plain))" -ge 268 ] || fail "an image adds its 266 soft tokens: $plain → $auto"
out=$("$snug" run "$unified" "Describe." --image "$work/img.png" --image "$work/img.png" \
      --audio "$work/tone.wav" "${run[@]}" 2>&1) || fail "two images and audio: $out"
both=$(prompt_tokens "$out")
# The second image and 25 audio frames (1 s of 16 kHz) with their markers.
extra=$((both - auto - 266 - 25))
[ "$extra" -ge 2 ] && [ "$extra" -le 8 ] || fail "two images and audio: $auto → $both"

# The chat: /image and /audio attach to the next message; later turns keep them.
out=$(printf '/image %s\nwhat is it?\n/audio %s\nand this?\n' "$work/img.png" "$work/tone.wav" |
      "$snug" run "$unified" "${run[@]}" 2>&1) || fail "chat: $out"
has "$out" "img.png attached: 266 soft tokens" "/image"
has "$out" "tone.wav attached: 25 soft tokens" "/audio"
turns=$(sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' <<<"$out" | tr '\n' ' ')
read -r first second <<<"$turns"
[ -n "${second:-}" ] && [ "$second" -gt "$((first + 25))" ] || fail "chat turns: $turns"

# Refusals.
out=$("$snug" run "$text_only" "x" --image "$work/img.png" "${run[@]}" 2>&1)
[ $? -eq 1 ] || fail "text-only model: exit status"
has "$out" "this model takes no images" "text-only model"
out=$("$snug" run "$unified" "x" --audio "$work/missing.wav" "${run[@]}" 2>&1)
[ $? -eq 1 ] || fail "missing file: exit status"
has "$out" "cannot open" "missing file"
out=$("$snug" run "$unified" "x" --raw --image "$work/img.png" 2>&1)
[ $? -eq 2 ] || fail "--raw --image: exit status"
has "$out" "need the chat template" "--raw --image"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "media CLI checks passed"
