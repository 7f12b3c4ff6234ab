#!/usr/bin/env bash
# A model whose tensors are missing or misshapen (issue 14, items 12 and 14): run, bench and
# serve print one line naming the first problem (all of them with --verbose) and exit 1; serve
# exits 1 promptly while a client polls /health, never staying up to listen.
#   tests/cli/load_failure_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

model="$work/gemma3-tiny.gguf"
"$snug" make-model gemma3-tiny --vocab builtin --type f16 -q -o "$model" || { echo "FAIL: make-model"; exit 1; }
# Every layer's attn_q renamed (all missing), and blk.0.ffn_up's two dimensions swapped (the
# same bytes, the wrong shape).
python3 - "$model" "$work/missing.gguf" "$work/shape.gguf" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data.replace(b"attn_q.weight", b"attn_Q.weight"))
name = b"blk.0.ffn_up.weight"
at = data.index(name) + len(name)
dims, = struct.unpack_from("<I", data, at)
assert dims == 2, dims
a, b = struct.unpack_from("<QQ", data, at + 4)
assert a != b, (a, b)
shaped = bytearray(data)
struct.pack_into("<QQ", shaped, at + 4, b, a)
open(sys.argv[3], "wb").write(bytes(shaped))
PY

# expect_one_line NAME WORD CMD...: exit 1, one line on stderr naming WORD; with --verbose more.
expect_one_line() {
  local name=$1 word=$2
  shift 2
  local out status lines
  out=$(timeout 60 "$@" 2>&1 >/dev/null)
  status=$?
  [ "$status" -eq 1 ] || fail "$name exited $status (want 1): $out"
  lines=$(printf '%s\n' "$out" | grep -c .)
  [ "$lines" -eq 1 ] || fail "$name printed $lines lines (want 1): $out"
  case "$out" in *"$word"*) ;; *) fail "$name: '$out' lacks '$word'" ;; esac
}
expect_one_line "run (missing)" "tensor 'blk.0.attn_q.weight' is missing" \
  "$snug" run "$work/missing.gguf" --tokens 1,2 -n 1
case "$(timeout 60 "$snug" run "$work/missing.gguf" --tokens 1,2 -n 1 2>&1)" in
  *"(--verbose for details)"*) ;; *) fail "run (missing) does not point at --verbose" ;; esac
verbose=$(timeout 60 "$snug" run "$work/missing.gguf" --tokens 1,2 -n 1 --verbose 2>&1)
[ "$(printf '%s\n' "$verbose" | grep -c "attn_q.weight' is missing")" -ge 2 ] ||
  fail "run --verbose does not list every missing tensor: $verbose"
expect_one_line "run (shape)" "blk.0.ffn_up.weight' has shape" \
  "$snug" run "$work/shape.gguf" --tokens 1,2 -n 1
expect_one_line "bench (missing)" "is missing" "$snug" bench "$work/missing.gguf" -n 1 --lengths 8

# serve: the load fails while a client polls /health; serve exits 1 within seconds.
for bad in missing shape; do
  start=$(date +%s%N)
  "$snug" serve "$work/$bad.gguf" --port 0 --memory 256MiB --max-queue 4 --max-body-bytes 65536 \
    -t 1 2>"$work/serve-$bad.log" &
  pid=$!
  exited=""
  for _ in $(seq 200); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve-$bad.log")
    [ -n "$port" ] && curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/health"
    if ! kill -0 "$pid" 2>/dev/null; then exited=1; break; fi
    sleep 0.05
  done
  if [ -z "$exited" ]; then
    fail "serve ($bad) still running 10 s after a load failure: $(tail -3 "$work/serve-$bad.log")"
    kill -KILL "$pid"
  fi
  wait "$pid"
  status=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$status" -eq 1 ] || fail "serve ($bad) exited $status (want 1)"
  grep -q "listening on" "$work/serve-$bad.log" || fail "serve ($bad) never listened"
  [ "$(grep -c 'model: ' "$work/serve-$bad.log")" -eq 1 ] &&
    grep -q "^snug serve: model: " "$work/serve-$bad.log" ||
    fail "serve ($bad) did not print the load error in one line: $(cat "$work/serve-$bad.log")"
  echo "serve ($bad): exit $status after ${ms} ms"
done

if [ "$failures" -eq 0 ]; then echo "PASS load failures"; else echo "$failures failure(s)"; exit 1; fi
