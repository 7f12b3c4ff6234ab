#!/usr/bin/env bash
# Issue 15 item 4: `snug run MODEL`'s interactive chat in a real terminal (tmux, its own socket):
# /help; an empty line is ignored; an answer; Ctrl-C during an answer stops it and returns to
# the prompt with the conversation kept; Ctrl-C with a typed line discards the line; a bracketed
# paste of two lines is one turn; /system and /save (the saved conversation proves the history);
# Ctrl-C at an empty prompt quits (exit 0); Ctrl-D quits (exit 0).
#   tests/cli/chat_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$(realpath "$1")
work=$2
mkdir -p "$work"
work=$(realpath "$work")
if ! command -v tmux >/dev/null; then echo "FAIL: tmux is missing (scripts/setup.sh --test)"; exit 1; fi
# tmux on its own socket directory, with no user configuration and a known shell (a runner's
# SHELL may be anything); run with -v so a server that dies leaves its log for the failure report.
tmux_dir=$(mktemp -d /tmp/snug-chat.XXXXXX)
# Each start gets a new socket: a killed server removes its socket file as it exits, which can
# land after a new server on the same path has made its own.
socket=chat0
tm() { (cd "$tmux_dir" && SHELL=/bin/sh TMUX_TMPDIR="$tmux_dir" tmux -v -f /dev/null -L "$socket" "$@"); }
trap 'tm kill-server 2>/dev/null; rm -rf "$tmux_dir"' EXIT
diagnose() {
  echo "--- the tmux server's log:"
  grep -v -e cmdq_next -e notify_ -e session_remove_ref -e window_remove_ref "$tmux_dir"/tmux-server-*.log 2>/dev/null | tail -40
}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
screen() { tm capture-pane -p -J -S -100000 -t chat; }
# wait_for TEXT [SECONDS]: until the pane shows TEXT.
wait_for() {
  local i
  for ((i = 0; i < ${2:-20} * 10; i++)); do
    tm has-session -t chat 2>/dev/null ||
      { fail "the terminal closed before '$1'"; diagnose; exit 1; }
    screen | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  fail "the terminal never showed '$1':"
  screen | tail -15
  diagnose
  return 1
}
count() { screen | grep -cF -- "$1"; }
# answering: until the pane grows past what it held (an answer is streaming), so Ctrl-C lands
# on the answer and not on a prompt a loaded machine has not left yet.
answering() {
  local before i
  before=$(screen | wc -c)
  for ((i = 0; i < 200; i++)); do
    [ "$(screen | wc -c)" -gt $((before + 40)) ] && return 0
    sleep 0.1
  done
  fail "no answer started"
}

model="$work/llama-tiny.gguf"
[ -f "$model" ] || "$snug" make-model llama-tiny --vocab builtin --type q8_0 -q -o "$model" ||
  { echo "FAIL: make-model"; exit 1; }
rm -f "$work"/*.json

# The pane runs a script: no paths quoted through tmux's command line. Ctrl-C reaches the whole
# foreground group; the script ignores it (snug sets its own handler) so it outlives snug.
printf '#!/bin/bash\ntrap "" INT\n"$1" run "$2" --temperature 0 --ctx 4096 -n 1000000 -t 1\n%s\n' \
  'echo EXITED:$?; sleep 60' >"$work/chat.sh"
chmod +x "$work/chat.sh"
start() {
  tm kill-server 2>/dev/null
  socket=chat$((${socket#chat} + 1))
  rm -f "$tmux_dir"/tmux-*.log
  tm new-session -d -s chat -x 150 -y 50 "$work/chat.sh" "$snug" "$model"
  wait_for "chatting with"
}

start
tm send-keys -t chat "/help" Enter
wait_for "/save FILE"
# An empty line: no answer.
tm send-keys -t chat Enter
sleep 0.5
[ "$(count "tokens/s")" -eq 0 ] || fail "an empty line started an answer"

# An answer (-n is capped by the room left in the context: it runs for seconds), interrupted.
tm send-keys -t chat "hello there"
wait_for "hello there"
tm send-keys -t chat Enter
answering
tm send-keys -t chat C-c
wait_for "[interrupted]"
sleep 0.3
# The session goes on: /system keeps nothing of the conversation, so save first.
tm send-keys -t chat "/save $work/after-interrupt.json" Enter
wait_for "saved 2 messages"
# A typed line discarded by Ctrl-C.
tm send-keys -t chat "never sent" 
sleep 0.2
tm send-keys -t chat C-c
sleep 0.3
# A pasted two-line block is one turn.
tm set-buffer -b block "first pasted line
second pasted line"
tm paste-buffer -p -b block -t chat
wait_for "second pasted line"
tm send-keys -t chat Enter
answering
tm send-keys -t chat C-c
for ((i = 0; i < 50 && $(count "[interrupted]") < 2; i++)); do sleep 0.1; done
[ "$(count "[interrupted]")" -ge 2 ] || fail "the pasted turn's answer was not interrupted"
tm send-keys -t chat "/save $work/conversation.json" Enter
wait_for "saved 4 messages"
python3 - "$work/after-interrupt.json" "$work/conversation.json" <<'PY' || fail "saved conversations"
import json, sys
first = json.load(open(sys.argv[1]))
assert [m["role"] for m in first] == ["user", "assistant"], first
assert first[0]["content"] == "hello there", first
whole = json.load(open(sys.argv[2]))
assert [m["role"] for m in whole] == ["user", "assistant", "user", "assistant"], whole
assert whole[2]["content"] == "first pasted line\nsecond pasted line", whole[2]
assert all("never sent" not in m["content"] for m in whole), whole
PY
tm send-keys -t chat "/system Be brief." Enter
wait_for "system prompt set"
tm send-keys -t chat "/save $work/system.json" Enter
wait_for "saved 1 messages"
grep -q '"system"' "$work/system.json" || fail "/system did not set the system prompt"
# Ctrl-C at an empty prompt quits.
tm send-keys -t chat C-c
wait_for "EXITED:0"

# Ctrl-D quits too.
start
tm send-keys -t chat C-d
wait_for "EXITED:0"

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "chat: all checks passed"
