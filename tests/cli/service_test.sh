#!/usr/bin/env bash
# `snug service`: install/uninstall into a temporary root (systemd system and --user, launchd
# agent and daemon), the unit checked by `systemd-analyze verify` (offline: it loads the unit
# file without asking PID 1), the plist validated by xmllint against Apple's plist DTD (its rules
# are in PropertyList-1.0.dtd beside this script: no network) and its launchd keys read back,
# the config file the service runs with read back by `snug serve --config`, and --dry-run.
#   tests/cli/service_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
has() { grep -qxF "$2" "$1" || fail "$1 lacks the line '$2'"; }

model="$work/models/llama-tiny.gguf"
mkdir -p "$work/models"
"$snug" make-model llama-tiny --vocab builtin --type q8_0 -q -o "$model" || fail "make-model"
chmod -R a+rX "$work"

# Linux, system-wide: unit, config and a root-only API key file.
root="$work/root"
"$snug" service install "$model" --platform linux --root "$root" --host 0.0.0.0 --port 8081 \
  --memory 1GiB --api-key sesame --ctx 1024 2>"$work/install.log" || fail "install: $(cat "$work/install.log")"
unit="$root/etc/systemd/system/snug.service"
config="$root/etc/snug/snug.toml"
key="$root/etc/snug/api-key"
for file in "$unit" "$config" "$key"; do [ -f "$file" ] || fail "install did not write $file"; done
has "$unit" "ExecStart=$(readlink -f "$snug") serve --config /etc/snug/snug.toml --api-key-file \${CREDENTIALS_DIRECTORY}/api-key"
has "$unit" "LoadCredential=api-key:/etc/snug/api-key"
# 1 GiB budget + max(10%, 256 MiB) = 1280 MiB.
has "$unit" "MemoryMax=1280M"
for line in Restart=on-failure RestartSec=2s DynamicUser=yes ProtectSystem=strict PrivateTmp=yes \
            NoNewPrivileges=yes WantedBy=multi-user.target; do
  has "$unit" "$line"
done
[ "$(stat -c %a "$key")" = 600 ] || fail "the API key file is not 0600"
[ "$(cat "$key")" = sesame ] || fail "the API key file does not hold the key"
grep -q sesame "$config" && fail "the world-readable config file holds the API key"
[ "$(stat -c %a "$config")" = 644 ] || fail "the config file is not 0644"

# systemd-analyze verify reads the unit offline. The unit's paths are the real ones (without
# --root): the config path is not checked; the binary is.
mkdir -p "$work/verify"
cp "$unit" "$work/verify/snug.service"
if out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$work/verify/snug.service" 2>&1); then
  [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
else
  fail "systemd-analyze verify: $out"
fi
# It does check offline: a broken copy is reported.
sed 's/^Restart=on-failure/Restart=sometimes/' "$unit" > "$work/verify/broken.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$work/verify/broken.service" 2>&1)
case "$out" in *"restart specifier"*) ;; *) fail "systemd-analyze verify missed a broken unit: $out" ;; esac

# The service's config file is one `snug serve --config` accepts, with the flags given.
printed=$("$snug" serve --config "$config" --print-config) || fail "serve --config on the installed file"
for line in "model = \"$(readlink -f "$model")\"" 'host = "0.0.0.0"' 'port = 8081' 'memory = "1GiB"' 'ctx = 1024'; do
  echo "$printed" | grep -qxF "$line" || fail "the installed config lacks '$line'"
done

# A port below 1024 gets exactly the capability to bind it.
"$snug" service install "$model" --platform linux --root "$work/low" --port 80 --memory 1GiB 2>/dev/null
has "$work/low/etc/systemd/system/snug.service" "AmbientCapabilities=CAP_NET_BIND_SERVICE"

# uninstall removes what install wrote, and leaves what it did not write.
echo "keep me" > "$root/etc/snug/notes.txt"
"$snug" service uninstall --platform linux --root "$root" 2>/dev/null || fail "uninstall"
for file in "$unit" "$config" "$key"; do [ -e "$file" ] && fail "uninstall left $file"; done
[ -f "$root/etc/snug/notes.txt" ] || fail "uninstall removed a file it did not write"

# Linux, --user: under $HOME, the key stays in the 0600 config; no DynamicUser.
HOME="$work/home" "$snug" service install "$model" --platform linux --user --root "$work/u" \
  --memory 1GiB --api-key sesame 2>/dev/null || fail "install --user"
uunit="$work/u$work/home/.config/systemd/user/snug.service"
uconfig="$work/u$work/home/.config/snug/snug.toml"
[ -f "$uunit" ] && [ -f "$uconfig" ] || fail "install --user did not write $uunit and $uconfig"
has "$uunit" "WantedBy=default.target"
grep -q DynamicUser "$uunit" && fail "a user unit asks for DynamicUser"
[ "$(stat -c %a "$uconfig")" = 600 ] || fail "a config file holding the key is not 0600"
grep -qxF 'api-key = "sesame"' "$uconfig" || fail "the user config lacks the key"
cp "$uunit" "$work/verify/snug-user.service"
# A user manager needs a runtime folder, even offline.
mkdir -p -m 700 "$work/xdg"
out=$(XDG_RUNTIME_DIR="$work/xdg" SYSTEMD_LOG_LEVEL=warning systemd-analyze --user verify \
      "$work/verify/snug-user.service" 2>&1) && [ -z "$out" ] || fail "systemd-analyze --user verify: $out"

# macOS: a LaunchAgent (default) and a LaunchDaemon, valid against the DTD, with launchd's keys.
check_plist() {
  local plist=$1 label=$2
  [ -f "$plist" ] || { fail "no plist at $plist"; return; }
  xmllint --noout --dtdvalid "$here/PropertyList-1.0.dtd" "$plist" 2>"$work/xmllint.log" ||
    fail "$plist is not a valid plist: $(cat "$work/xmllint.log")"
  python3 - "$plist" "$label" <<'PY' || fail "$plist: launchd keys"
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
assert p["Label"] == sys.argv[2], p["Label"]
args = p["ProgramArguments"]
assert args[1:3] == ["serve", "--config"] and args[3].endswith("/snug.toml"), args
assert p["RunAtLoad"] is True and p["KeepAlive"] == {"SuccessfulExit": False}, p
assert p["ThrottleInterval"] >= 10, p
assert p["StandardErrorPath"].endswith("/snug.log"), p
PY
}
HOME="/Users/ada" "$snug" service install "$model" --platform macos --root "$work/mac" \
  --memory 13GiB --host 0.0.0.0 2>/dev/null || fail "install --platform macos"
check_plist "$work/mac/Users/ada/Library/LaunchAgents/dev.snug.serve.plist" dev.snug.serve
grep -qxF 'log-file = "/Users/ada/Library/Logs/snug/snug.log"' \
  "$work/mac/Users/ada/Library/Application Support/snug/snug.toml" || fail "the LaunchAgent's config does not rotate its log"
"$snug" service install "$model" --platform macos --system --run-as _snug --root "$work/macd" \
  --memory 13GiB 2>/dev/null || fail "install --platform macos --system"
check_plist "$work/macd/Library/LaunchDaemons/dev.snug.serve.plist" dev.snug.serve
grep -q "<string>_snug</string>" "$work/macd/Library/LaunchDaemons/dev.snug.serve.plist" ||
  fail "the LaunchDaemon does not run as --run-as"
HOME="/Users/ada" "$snug" service uninstall --platform macos --root "$work/mac" 2>/dev/null
[ -e "$work/mac/Users/ada/Library/LaunchAgents/dev.snug.serve.plist" ] && fail "uninstall left the plist"

# --dry-run prints the files and the commands, and writes nothing.
out=$("$snug" service install "$model" --platform linux --dry-run --memory 1GiB 2>/dev/null) || fail "--dry-run"
for word in "### /etc/systemd/system/snug.service" "### /etc/snug/snug.toml" "MemoryMax=1280M" \
            "$ systemctl daemon-reload" "$ systemctl enable --now snug.service"; do
  case "$out" in *"$word"*) ;; *) fail "--dry-run lacks '$word'" ;; esac
done
out=$("$snug" service install "$model" --platform linux --dry-run --memory 1GiB --mlock 2>/dev/null)
case "$out" in *"LimitMEMLOCK=infinity"*) ;; *) fail "--mlock: the unit lacks LimitMEMLOCK" ;; esac
out=$("$snug" service logs --platform linux --user --dry-run) || fail "logs --dry-run"
[ "$out" = '$ journalctl --user-unit snug.service -n 100 --no-pager' ] || fail "logs --user: $out"
out=$("$snug" service status --platform macos --dry-run) || fail "status --dry-run"
case "$out" in '$ launchctl print gui/'*/dev.snug.serve) ;; *) fail "status on macOS: $out" ;; esac
out=$("$snug" service install --platform linux --dry-run 2>&1)
[ $? -eq 2 ] || fail "install without a model is not a usage error: $out"

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "service: all checks passed"
