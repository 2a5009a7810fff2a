#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The second README command: install, build, run every test, then run the
# whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer with
# leak checking.
set -eu
cd "$(dirname "$0")/.."

sh tests/install-deps.sh

setup() {
  dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

echo "== build (-Werror)"
setup build-check --werror --buildtype=debugoptimized
meson compile -C build-check
echo "== tests"
meson test -C build-check --print-errorlogs --num-processes 2

echo "== build (ASan + UBSan, -Werror)"
setup build-asan --werror --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C build-asan
echo "== tests under ASan + UBSan + LSan"
# Whole-stack unwinding on every malloc (for suppressions that must see GLib
# frames) is slow: only the programs that need it ask for it, in their own
# __asan_default_options.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3
