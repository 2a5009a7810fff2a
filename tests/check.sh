#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The second README command: build, run every test, then run the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer with leak
# checking.
#
# Dependencies come from tests/install-deps.sh, which runs only when a
# package is missing (so a fresh Debian 12 machine, as root, gets them) or
# when asked: --install-deps, or PTS_INSTALL_DEPS=1. A developer who has
# them already needs neither root nor the network.
set -eu
cd "$(dirname "$0")/.."

install=${PTS_INSTALL_DEPS:-0}
for arg in "$@"; do
  case $arg in
    --install-deps) install=1 ;;
    *)
      echo "usage: sh tests/check.sh [--install-deps]" >&2
      exit 2
      ;;
  esac
done
if [ "$install" = 1 ] || ! sh tests/install-deps.sh --check 2>/dev/null; then
  sh tests/install-deps.sh
fi

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
# Every test's meson timeout is set for the plain build; the sanitizers
# make the slowest several times slower (e2e: about 25 s plain, 90 to 250 s
# here; the parsers fed at every split: 1 s plain, 8 to 11 s here), and the
# multiplier still leaves each at least three times its time measured here.
# Whole-stack unwinding on every malloc (for suppressions that must see GLib
# frames) is slow: only the programs that need it ask for it, through the
# test support library's defaults (tests/support/pts-test-sanitizer.h).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3

echo "== build (ThreadSanitizer, -Werror): the server and the relay's unit tests"
# The relays run on worker threads (proxy-test-server/pts-relay.c says who
# owns what). The server is built again under ThreadSanitizer, and the
# tests that move bytes through it in every pair and break them at every
# point run against it (the test programs themselves from the first build:
# their own threads hand data over under GLib's GMutex, which the sanitizer
# cannot see); the relay's unit tests, with their worker threads, are built
# under it too. tests/tsan.supp says what is left out of GLib's, GIO's and
# libsoup's own calls and why; report_mutex_bugs=0 likewise, for GLib's
# type system locks, which it takes where the sanitizer does not look.
# Left out as well: the thousand quick aborts, whose bound on the server's
# RSS says nothing under the sanitizer's shadow memory. The load test (512
# transfers at once beside an abort loop) stays: it is what once caught a
# connection finalized in a worker, whose listener bookkeeping then raced
# the main thread's (GLib's hash tables are not instrumented, so the
# sanitizer did not see it; pts-listener.c now says so in a critical, fatal
# in every pass). About 4 minutes on 2 cores.
setup build-tsan --werror --buildtype=debug -Db_sanitize=thread -Db_lundef=false
meson compile -C build-tsan proxy-test-server test-relay test-relay-threads
echo "== relay tests under ThreadSanitizer"
TSAN_OPTIONS="halt_on_error=1:report_mutex_bugs=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
export TSAN_OPTIONS
meson test -C build-tsan --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
  test-relay test-relay-threads
meson test -C build-check --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
  --wrapper "env PTS_SERVER=$PWD/build-tsan/proxy-test-server/proxy-test-server" \
  --test-args "-s /server/faults/thousand-aborts" \
  server-socks5 server-socks5-copy server-socks5-one-thread server-relay-mode \
  server-faults server-faults-copy server-faults-one-thread
