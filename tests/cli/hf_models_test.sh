#!/usr/bin/env bash
# End-to-end checks of Hugging Face / MLX model directories (issue 10): make-model --format
# mlx|hf, plan / run / convert / inspect on a directory, and `snug serve ORG/NAME` from a Hugging
# Face cache laid out as huggingface_hub writes it, /v1/models reporting the name given.
#   tests/cli/hf_models_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mlx="$work/gptoss-mlx"
"$snug" make-model gptoss-tiny --format mlx --bits 8 --expert-type mxfp4 -q -o "$mlx" ||
  fail "make-model --format mlx"
for file in config.json model.safetensors tokenizer.json tokenizer_config.json; do
  [ -s "$mlx/$file" ] || fail "make-model --format mlx wrote no $file"
done
python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["quantization"]
assert q["bits"] == 8 and q["group_size"] == 64, q
assert q["model.layers.0.mlp.experts.up_proj"]["mode"] == "mxfp4", q' "$mlx/config.json" ||
  fail "config.json quantization"

out=$("$snug" plan "$mlx" --memory 256MiB 2>&1) || fail "plan DIR: $out"
case "$out" in *"gpt-oss"*) ;; *) fail "plan DIR does not name the architecture: $out" ;; esac
out=$("$snug" inspect "$mlx") || fail "inspect DIR"
case "$out" in *mlx_mxfp4*mlx_q8*|*mlx_q8*mlx_mxfp4*) ;; *) fail "inspect DIR: no MLX types: $out" ;; esac
"$snug" run "$mlx" "hello world" --raw -n 4 --temperature 0 -c 256 -t 1 >/dev/null 2>&1 ||
  fail "run DIR"

"$snug" convert "$mlx" -o "$work/converted.gguf" --type f32 || fail "convert DIR --type f32"
out=$("$snug" inspect "$work/converted.gguf") || fail "inspect the converted file"
case "$out" in *mlx_*) fail "the converted file still has MLX types" ;; esac
"$snug" convert "$mlx" -o "$work/q8.gguf" --type q8_0 || fail "convert DIR --type q8_0"
out=$("$snug" convert "$mlx" -o "$work/x.gguf" --type mlx_q4 2>&1) && fail "convert to an MLX type"
case "$out" in *"not a GGUF type"*) ;; *) fail "convert --type mlx_q4: $out" ;; esac

# The Hugging Face cache: models--ORG--NAME/{refs/main, snapshots/<commit>/}.
export HF_HUB_CACHE="$work/hub"
commit=0123456789abcdef0123456789abcdef01234567
repo="$HF_HUB_CACHE/models--org--tiny"
mkdir -p "$repo/refs" "$repo/snapshots"
printf '%s' "$commit" > "$repo/refs/main"
"$snug" make-model llama-tiny --format hf -q -o "$repo/snapshots/$commit" || fail "make-model --format hf"
out=$("$snug" run org/absent "hi" -n 1 2>&1) && fail "run org/absent succeeded"
case "$out" in *"snug pull org/absent"*) ;; *) fail "run org/absent: $out" ;; esac

"$snug" serve org/tiny --port 0 --memory 256MiB --ctx 512 -t 1 2>"$work/serve.log" &
serve_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.log")
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
models=$(curl -sf "http://127.0.0.1:$port/v1/models") || fail "GET /v1/models"
case "$models" in *'"id":"org/tiny"'*) ;; *) fail "/v1/models does not say org/tiny: $models" ;; esac
reply=$(curl -sf "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"org/tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3}') ||
  fail "chat completion on org/tiny: $(tail -3 "$work/serve.log")"
case "$reply" in *'"completion_tokens":3'*) ;; *) fail "chat completion: $reply" ;; esac
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "serve did not exit 0 on SIGTERM: $(tail -5 "$work/serve.log")"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "hf_models: all checks passed"
