#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what pidgin-bsproxy needs to build, demo and test, from Debian 12's
# archive. Run as root; safe to run again (it installs only what is missing).
#   --check  only says what is missing (exit status 1), installs nothing
# It never starts or stops a system service: the tests start their own
# Prosody on loopback ports the kernel picks, and their own squid inside a
# network namespace, beside any system ones.
set -eu

packages="
  gcc clang libclang-rt-14-dev clang-format pkg-config meson ninja-build gettext
  libglib2.0-dev libpurple-dev libsoup-3.0-dev libjson-glib-dev
  libpurple-bin appstream
  prosody socat openssl curl squid
  finch pidgin xvfb xauth tmux
"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $p"
  fi
done

if [ "${1:-}" = --check ]; then
  if [ -n "$missing" ]; then
    echo "install-deps: missing packages:$missing" >&2
    exit 1
  fi
  exit 0
fi

if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "install-deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
fi
