#!/usr/bin/env bash
# `snug pull` against a fake hub (tests/cli/fake_hub.py) (issue 10): the plan before download
# (refused when it does not fit), the cache layout huggingface_hub writes, a redirect of LFS files
# to another origin (the token stays behind), resume after an interrupted transfer (in one run
# and across runs), a corrupted file re-fetched or refused (never a blob), 401 without a token,
# 404, a GGUF repository with --file, `snug plan ORG/NAME` before download, and `snug serve
# ORG/NAME` from the pulled cache.
#   tests/cli/pull_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work/hub/org" "$work/hub/gated"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$snug" make-model llama-tiny --format hf -q -o "$work/hub/org/tiny" || fail "make-model --format hf"
cp -r "$work/hub/org/tiny" "$work/hub/gated/tiny"
mkdir -p "$work/hub/org/tiny-gguf"
"$snug" make-model llama-tiny --type q8_0 -q -o "$work/hub/org/tiny-gguf/tiny-q8_0.gguf" ||
  fail "make-model gguf"
printf '# tiny\n' > "$work/hub/org/tiny-gguf/README.md"

state="$work/state.json"
log="$work/requests.log"
echo '{}' > "$state"
: > "$log"
python3 "$here/fake_hub.py" "$work/hub" "$work/port" "$state" "$log" &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null' EXIT
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
export HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
unset HF_TOKEN HF_HOME HF_TOKEN_PATH
export HOME="$work"  # no real token file is read
cache() { export HF_HUB_CACHE="$work/cache-$1"; }
repo_dir() { echo "$HF_HUB_CACHE/models--$1--$2"; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
weights_sha=$(sha256_of "$work/hub/org/tiny/model.safetensors")

# snug plan before download: header-only requests, no weights fetched, nothing cached.
cache plan
: > "$log"
out=$("$snug" plan org/tiny --memory 256MiB 2>&1) || fail "plan org/tiny from the hub: $out"
case "$out" in *"not in the local Hugging Face cache"*llama*) ;; *) fail "plan org/tiny: $out" ;; esac
grep -q "range=bytes=0-7" "$log" || fail "plan did not fetch the 8-byte header length"
grep "/cdn/" "$log" | grep -q "range=None" && fail "plan fetched a whole weight file"
[ -e "$HF_HUB_CACHE" ] && fail "plan wrote into the cache"

# A model that cannot fit is not downloaded; both numbers are named.
cache refused
out=$("$snug" pull org/tiny --memory 1MiB 2>&1) && fail "pull into 1 MiB succeeded"
case "$out" in *"does not fit in 1.0 MiB"*needs*) ;; *) fail "pull refusal: $out" ;; esac
ls "$(repo_dir org tiny)/blobs/$weights_sha" 2>/dev/null && fail "a refused pull downloaded"

# Fresh download: the layout huggingface_hub writes.
cache fresh
: > "$log"
out=$("$snug" pull org/tiny --memory 256MiB 2>&1) || fail "pull org/tiny: $out"
case "$out" in *"plan: fits in 256.0 MiB"*"pulled org/tiny"*) ;; *) fail "pull output: $out" ;; esac
case "$out" in *$'\r'*) fail "progress drawn on a non-terminal" ;; esac
dir=$(repo_dir org tiny)
commit=$(cat "$dir/refs/main")
[ ${#commit} -eq 40 ] || fail "refs/main: '$commit'"
[ "$(readlink "$dir/snapshots/$commit/model.safetensors")" = "../../blobs/$weights_sha" ] ||
  fail "model.safetensors link: $(readlink "$dir/snapshots/$commit/model.safetensors")"
cmp -s "$dir/blobs/$weights_sha" "$work/hub/org/tiny/model.safetensors" || fail "weights differ"
config_blob=$(git hash-object "$work/hub/org/tiny/config.json" 2>/dev/null ||
  python3 -c 'import hashlib,sys; d=open(sys.argv[1],"rb").read(); print(hashlib.sha1(b"blob %d\0" % len(d) + d).hexdigest())' "$work/hub/org/tiny/config.json")
[ "$(readlink "$dir/snapshots/$commit/config.json")" = "../../blobs/$config_blob" ] ||
  fail "config.json is not linked to its git blob id"
for file in tokenizer.json tokenizer_config.json; do
  cmp -s "$dir/snapshots/$commit/$file" "$work/hub/org/tiny/$file" || fail "$file differs"
done
grep "/cdn/" "$log" | grep -q "auth=yes" && fail "a token went to the CDN"
ls "$dir/blobs/"*.incomplete 2>/dev/null && fail ".incomplete left behind"
# A second pull finds everything in place and downloads nothing.
: > "$log"
"$snug" pull org/tiny --memory 256MiB >/dev/null 2>&1 || fail "second pull"
grep "/cdn/" "$log" | grep -q "range=None" && fail "second pull downloaded the weights again"

# Interrupted once: resumed in the same run with a Range request.
cache resume1
: > "$log"
echo '{"epoch": 1, "drop_after": 4096, "drop_times": 1}' > "$state"
out=$("$snug" pull org/tiny --memory 256MiB 2>&1) || fail "pull with one drop: $out"
grep -q "range=bytes=4096-" "$log" || fail "no resume at byte 4096: $(cat "$log")"
cmp -s "$(repo_dir org tiny)/blobs/$weights_sha" "$work/hub/org/tiny/model.safetensors" ||
  fail "resumed weights differ"

# Interrupted every time: the run fails and keeps the .incomplete file; the next run resumes.
cache resume2
echo '{"epoch": 2, "drop_after": 4096, "drop_times": 1000}' > "$state"
out=$("$snug" pull org/tiny --memory 256MiB 2>&1) && fail "pull with a dead connection succeeded"
case "$out" in *"run the same command again to resume"*) ;; *) fail "interrupted pull: $out" ;; esac
partial="$(repo_dir org tiny)/blobs/$weights_sha.incomplete"
partial_bytes=$(stat -c %s "$partial" 2>/dev/null || echo 0)
[ "$partial_bytes" -gt 0 ] || fail "no .incomplete file kept"
[ -e "$(repo_dir org tiny)/blobs/$weights_sha" ] && fail "an incomplete file became a blob"
echo '{"epoch": 3}' > "$state"
: > "$log"
out=$("$snug" pull org/tiny --memory 256MiB 2>&1) || fail "resumed pull: $out"
grep -q "range=bytes=$partial_bytes-" "$log" || fail "no resume at byte $partial_bytes"
cmp -s "$(repo_dir org tiny)/blobs/$weights_sha" "$work/hub/org/tiny/model.safetensors" ||
  fail "weights resumed across runs differ"

# Corrupted once: detected by sha256 and fetched again.
cache corrupt1
echo '{"epoch": 4, "corrupt_times": 1}' > "$state"
out=$("$snug" pull org/tiny --memory 256MiB 2>&1) || fail "pull with one corruption: $out"
cmp -s "$(repo_dir org tiny)/blobs/$weights_sha" "$work/hub/org/tiny/model.safetensors" ||
  fail "re-fetched weights differ"
# Corrupted every time: refused, and no blob or partial file is left.
cache corrupt2
echo '{"epoch": 5, "corrupt_times": 1000}' > "$state"
out=$("$snug" pull org/tiny --memory 256MiB 2>&1) && fail "a corrupted pull succeeded"
case "$out" in *"sha256"*"does not match"*) ;; *) fail "corrupted pull: $out" ;; esac
ls "$(repo_dir org tiny)/blobs/" | grep -q "$weights_sha" && fail "a corrupted file was kept"
echo '{"epoch": 6}' > "$state"

# Gated: 401 without a token, the token works, and it never reaches the CDN.
cache gated
out=$("$snug" pull gated/tiny --memory 256MiB 2>&1) && fail "gated pull without a token"
case "$out" in *"HTTP 401"*HF_TOKEN*) ;; *) fail "gated without a token: $out" ;; esac
: > "$log"
out=$(HF_TOKEN=secret "$snug" pull gated/tiny --memory 256MiB 2>&1) || fail "gated pull: $out"
grep "/api/models/gated" "$log" | grep -q "auth=yes" || fail "the token was not sent to the hub"
grep "/cdn/" "$log" | grep -q "auth=yes" && fail "the token went to the CDN"
# The token file huggingface-cli saves works as well.
cache gated-file
printf 'secret\n' > "$work/token"
out=$(HF_TOKEN_PATH="$work/token" "$snug" pull gated/tiny --memory 256MiB 2>&1) ||
  fail "gated pull with a token file: $out"

# 404: a repository that does not exist; a revision that does not exist.
out=$("$snug" pull org/absent 2>&1) && fail "pull org/absent succeeded"
case "$out" in *"HTTP 404"*"no such repository"*) ;; *) fail "pull org/absent: $out" ;; esac
out=$("$snug" pull org/tiny@nope 2>&1) && fail "pull org/tiny@nope succeeded"
case "$out" in *"HTTP 404"*) ;; *) fail "pull org/tiny@nope: $out" ;; esac

# A GGUF repository: the plan from the file's header, --file to choose it.
cache gguf
out=$("$snug" pull org/tiny-gguf 2>&1) && fail "pull of a GGUF repository without --file"
case "$out" in *"--file: tiny-q8_0.gguf"*) ;; *) fail "GGUF repository without --file: $out" ;; esac
out=$("$snug" pull org/tiny-gguf --file tiny-q8_0.gguf --memory 256MiB 2>&1) ||
  fail "pull --file: $out"
case "$out" in *"plan: fits"*) ;; *) fail "pull --file printed no plan: $out" ;; esac
[ -e "$(repo_dir org tiny-gguf)/snapshots/$(cat "$(repo_dir org tiny-gguf)/refs/main")/README.md" ] &&
  fail "pull --file downloaded other files"
"$snug" run org/tiny-gguf "hello" --raw -n 2 -c 256 -t 1 >/dev/null 2>&1 ||
  fail "run org/tiny-gguf from the cache"

# HTTPS (OpenSSL): a hub whose certificate the client trusts through SSL_CERT_FILE, and one
# it does not trust.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || fail "openssl req"
python3 "$here/fake_hub.py" "$work/hub" "$work/tls-port" "$state" "$log" \
  "$work/cert.pem" "$work/key.pem" &
tls_pid=$!
trap 'kill "$hub_pid" "$tls_pid" 2>/dev/null' EXIT
for _ in $(seq 200); do [ -s "$work/tls-port" ] && break; sleep 0.05; done
cache https
out=$(HF_ENDPOINT="https://127.0.0.1:$(cat "$work/tls-port")" SSL_CERT_FILE="$work/cert.pem" \
  "$snug" pull org/tiny --memory 256MiB 2>&1) || fail "pull over HTTPS: $out"
cmp -s "$(repo_dir org tiny)/blobs/$weights_sha" "$work/hub/org/tiny/model.safetensors" ||
  fail "weights over HTTPS differ"
cache https-untrusted
out=$(HF_ENDPOINT="https://127.0.0.1:$(cat "$work/tls-port")" "$snug" pull org/tiny 2>&1) &&
  fail "pull from an untrusted HTTPS hub succeeded"
case "$out" in *"SSL"*|*"certificate"*) ;; *) fail "untrusted HTTPS hub: $out" ;; esac

# snug serve ORG/NAME from the pulled cache.
cache fresh
"$snug" serve org/tiny --port 0 --memory 256MiB --ctx 512 -t 1 2>"$work/serve.log" &
serve_pid=$!
port=""
for _ in $(seq 200); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.log")
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
reply=$(curl -sf "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"org/tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3}') ||
  fail "chat completion on the pulled org/tiny: $(tail -3 "$work/serve.log")"
case "$reply" in *'"completion_tokens":3'*) ;; *) fail "chat completion: $reply" ;; esac
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "serve did not exit 0 on SIGTERM"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "pull: all checks passed"
