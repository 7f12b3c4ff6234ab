#!/usr/bin/env bash
# `make install` and `make uninstall` (issue 15 item 8) into a DESTDIR temporary root, never
# the real system: the installed binary runs on its own (version, a synthetic model's plan).
# The binary under test is the one CTest built (`make -o build-app` skips rebuilding it).
#   tests/cli/install_test.sh PATH/TO/snug WORKDIR
set -uo pipefail
snug=$1
work=$2
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work"
mkdir -p "$work/root"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

version=$("$snug" --version) || fail "snug --version"
out=$(make -s -C "$source_dir" -o build-app install DESTDIR="$work/root" PREFIX=/opt/snug \
  SNUG_APP="$snug" 2>&1) || fail "make install: $out"
installed="$work/root/opt/snug/bin/snug"
[ -x "$installed" ] || fail "no executable at $installed: $(find "$work/root" | head)"
[ "$(find "$work/root" -type f | wc -l)" -eq 1 ] || fail "make install wrote more than the binary"
# It runs from there, away from the build tree.
cp "$installed" "$work/snug-copy"
out=$(cd "$work" && "$installed" --version) || fail "installed snug --version"
[ "$out" = "$version" ] || fail "installed version '$out', built '$version'"
(cd "$work" && "$installed" make-model llama-tiny -q -o "$work/tiny.gguf" &&
  "$installed" plan "$work/tiny.gguf" --memory 256MiB >/dev/null) ||
  fail "the installed snug cannot make and plan a model"

out=$(make -s -C "$source_dir" -o build-app uninstall DESTDIR="$work/root" PREFIX=/opt/snug 2>&1) ||
  fail "make uninstall: $out"
[ -e "$installed" ] && fail "make uninstall left $installed"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "install: all checks passed"
