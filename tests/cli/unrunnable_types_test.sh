#!/usr/bin/env bash
# A GGUF file holding a ggml type snug lists but cannot run (issue 15 item 7: IQ2_XXS here):
# `snug inspect` shows every tensor with its type and says the file cannot run and why;
# run, serve, plan and convert refuse it in one line naming the tensor and the type.
#   tests/cli/unrunnable_types_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$snug" make-model llama-tiny --type f32 -q -o "$work/f32.gguf" || fail "make-model"
# blk.0.ffn_down.weight is f32 [128, 256] (ne0 = ffn = 256, one IQ2_XXS super-block per row):
# retyped as IQ2_XXS (ggml type 16, 66 bytes per 256 values) it needs 8,448 of its 131,072
# bytes, so the file stays well-formed.
python3 - "$work/f32.gguf" "$work/iq2.gguf" <<'PY' || fail "retyping a tensor"
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
name = b"blk.0.ffn_down.weight"
at = data.find(struct.pack("<Q", len(name)) + name)
assert at > 0
pos = at + 8 + len(name)
n_dims = struct.unpack_from("<I", data, pos)[0]
ne = struct.unpack_from("<%dQ" % n_dims, data, pos + 4)
assert ne[0] == 256, ne
type_pos = pos + 4 + 8 * n_dims
assert struct.unpack_from("<I", data, type_pos)[0] == 0  # f32
struct.pack_into("<I", data, type_pos, 16)  # GGML_TYPE_IQ2_XXS
open(sys.argv[2], "wb").write(data)
PY

out=$("$snug" inspect "$work/iq2.gguf" 2>&1) || fail "inspect refused the file: $out"
echo "$out" | grep -q "blk.0.ffn_down.weight *iq2_xxs *\[128, 256\] *8448" ||
  fail "inspect does not list the tensor as iq2_xxs: $(echo "$out" | grep ffn_down | head -2)"
echo "$out" | grep -q "iq2_xxs .*(snug cannot run this type)" || fail "totals do not flag iq2_xxs"
case "$out" in *"cannot run: snug has no kernels for iq2_xxs"*) ;; *) fail "no verdict: $out" ;; esac
json=$("$snug" inspect "$work/iq2.gguf" --json) || fail "inspect --json"
python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["runs"] is False, j["runs"]
assert any(t["type"] == "iq2_xxs" and t["runs"] is False for t in j["totals"]), j["totals"]' \
  "$json" || fail "inspect --json"
out=$("$snug" inspect "$work/f32.gguf") || fail "inspect f32"
case "$out" in *"cannot run"*) fail "a runnable file is flagged" ;; esac

for command in "run $work/iq2.gguf hi -n 1" "serve $work/iq2.gguf --port 0" \
               "convert $work/iq2.gguf -o $work/out.gguf --type f32"; do
  # shellcheck disable=SC2086
  out=$(timeout 60 "$snug" $command 2>&1)
  status=$?
  [ "$status" -eq 1 ] || fail "$command exited $status: $out"
  case "$out" in *"blk.0.ffn_down.weight"*"iq2_xxs"*) ;; *) fail "$command: $out" ;; esac
done
out=$("$snug" plan "$work/iq2.gguf" --memory 256MiB 2>&1) && fail "plan of an unrunnable file fits"
case "$out" in *"iq2_xxs"*) ;; *) fail "plan: $out" ;; esac

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "unrunnable types: all checks passed"
