#!/usr/bin/env bash
# `snug serve --config FILE` and `--print-config`: every serve flag is a key (read from --help,
# not from the code that derives the keys), the printed configuration reads back identically,
# flags win over the file, unknown keys and bad values name the key and the line, and a server
# started from a config file serves.
#   tests/cli/config_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }

model="$work/llama-tiny.gguf"
"$snug" make-model llama-tiny --vocab builtin --type q8_0 -q -o "$model" || fail "make-model"

# Every flag of `snug serve --help` (long name, else short name) is a key of --print-config.
printed=$("$snug" serve --print-config) || fail "serve --print-config exited $?"
flags=$("$snug" serve --help | sed -n 's/^  *\(-[-a-zA-Z0-9,]*\).*/\1/p' | while IFS=, read -ra names; do
  long=""; short=""
  for name in "${names[@]}"; do
    case "$name" in --*) [ -z "$long" ] && long=${name#--} ;; -*) short=${name#-} ;; esac
  done
  echo "${long:-$short}"
done | grep -vxE 'help|help-all|config|print-config')
[ "$(echo "$flags" | wc -l)" -ge 15 ] || fail "found only $(echo "$flags" | wc -l) serve flags in --help: $flags"
for flag in $flags model; do
  echo "$printed" | grep -qE "^(# )?$flag = " || fail "serve flag '$flag' has no key in --print-config"
done

# What --print-config prints is a config file that gives the same configuration back.
cat > "$work/a.toml" <<TOML
model = "$model"
host = "0.0.0.0"
port = 9123
cors-origin = ["http://a.example", "http://b.example"]
kv-type = "q8_0"
memory = "512MiB"
threads = 1
TOML
first=$("$snug" serve --config "$work/a.toml" --print-config) || fail "--config a.toml --print-config"
for line in 'host = "0.0.0.0"' 'port = 9123' 'kv-type = "q8_0"' 'memory = "512MiB"' 'threads = 1' \
            'cors-origin = ["http://a.example", "http://b.example"]' "model = \"$model\""; do
  echo "$first" | grep -qxF "$line" || fail "--print-config lacks '$line': $first"
done
echo "$first" > "$work/b.toml"
second=$("$snug" serve --config "$work/b.toml" --print-config) || fail "--config b.toml --print-config"
[ "$first" = "$second" ] || fail "the printed configuration does not read back the same: $(diff <(echo "$first") <(echo "$second"))"

# Flags win over the file (lists too: the flag's list replaces the file's).
over=$("$snug" serve --config "$work/a.toml" --port 9200 --cors-origin http://c.example -t 2 --print-config)
echo "$over" | grep -qxF 'port = 9200' || fail "--port did not win over the file"
echo "$over" | grep -qxF 'threads = 2' || fail "-t did not win over the file"
echo "$over" | grep -qxF 'cors-origin = ["http://c.example"]' || fail "--cors-origin did not replace the file's list"
echo "$over" | grep -qxF 'host = "0.0.0.0"' || fail "the file's host was lost"

# expect_config_error FILE_CONTENT WORDS...: exit 2 and a message with every word.
expect_config_error() {
  local content=$1; shift
  printf '%s\n' "$content" > "$work/bad.toml"
  local out status
  out=$("$snug" serve --config "$work/bad.toml" --print-config 2>&1)
  status=$?
  [ "$status" -eq 2 ] || fail "config '$content' exited $status (want 2): $out"
  for word in "$@"; do contains "$out" "$word" || fail "config '$content': '$out' lacks '$word'"; done
}
expect_config_error $'port = 8080\n# a comment\nbogus-key = 1' "bad.toml:3" "unknown key 'bogus-key'" "api-key"
expect_config_error $'\nport = "eighty"' "bad.toml:2" "'port'"
expect_config_error $'port = 70000' "bad.toml:1" "'port'"
expect_config_error $'kv-type = "q5_0"' "bad.toml:1" "'kv-type'"
expect_config_error $'host = ["a", "b"]' "bad.toml:1" "'host' takes one value"
expect_config_error $'[serve]\nport = 1' "bad.toml:1" "unknown key 'serve'"
expect_config_error $'port = = 1' "bad.toml:1"
expect_config_error $'port = 1\nport = 2' "bad.toml:2"
out=$("$snug" serve --config "$work/missing.toml" 2>&1)
[ $? -eq 2 ] || fail "a missing config file is not a usage error: $out"
out=$("$snug" serve --port 0 2>&1)
[ $? -eq 2 ] && contains "$out" "MODEL" || fail "serve without a model: $out"

# A server started from a config file serves (the file's port 0: a free one), logging JSON lines
# to a file it rotates.
cat > "$work/serve.toml" <<TOML
model = "$model"
port = 0
memory = "256MiB"
ctx = 512
max-queue = 2
max-body-bytes = 65536
threads = 1
api-key = "sesame"
log-format = "json"
log-file = "$work/snug.log"
log-max-size = "4KiB"
TOML
"$snug" serve --config "$work/serve.toml" 2>"$work/stderr.log" &
pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(cat "$work"/snug.log* 2>/dev/null | sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' | head -1)
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
[ -n "$port" ] || fail "serve --config did not listen: $(cat "$work"/snug.log* "$work/stderr.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/models")
[ "$code" = 401 ] || fail "the file's api-key is not enforced (GET /v1/models: $code)"
for i in $(seq 1 12); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sesame' "http://127.0.0.1:$port/v1/models")
done
[ "$code" = 200 ] || fail "the file's api-key is refused (GET /v1/models: $code)"
kill -TERM "$pid"; wait "$pid" || fail "serve --config did not exit 0 on SIGTERM"
[ -s "$work/stderr.log" ] && fail "serve wrote to stderr despite --log-file: $(cat "$work/stderr.log")"
[ -f "$work/snug.log.1" ] || fail "the log was not rotated at 4 KiB: $(ls -l "$work")"
[ "$(stat -c %s "$work/snug.log.1")" -lt 6000 ] || fail "a rotated log is larger than the limit"
# The rotated files oldest first (snug.log.3 is the oldest), then the live one.
for f in "$work"/snug.log.3 "$work"/snug.log.2 "$work"/snug.log.1 "$work"/snug.log; do
  [ -f "$f" ] && cat "$f"
done | python3 -c '
import json, sys
events = [json.loads(line) for line in sys.stdin]
for event in events:
    assert {"time", "level", "source", "message"} <= event.keys(), event
plans = [e for e in events if e["message"] == "plan"]
assert plans and plans[0]["context_tokens"] == 512 and plans[0]["budget_bytes"] == 256 << 20, plans
requests = [e for e in events if e["message"] == "request" and e["route"] == "/v1/models"]
assert len(requests) == 13, len(requests)
assert requests[0]["status"] == 401 and requests[-1]["status"] == 200, requests
assert isinstance(requests[-1]["total_ms"], float) and requests[-1]["id"] == "", requests[-1]
' || fail "the JSON log is not what serve did"

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "config: all checks passed"
