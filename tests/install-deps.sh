#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs what pidgin-bsproxy needs to build, demo and test, from Debian 12's
# archive. Run as root; safe to run again (it installs only what is missing).
set -eu

packages="
  gcc clang libclang-rt-14-dev pkg-config meson ninja-build gettext
  libglib2.0-dev libpurple-dev libsoup-3.0-dev libjson-glib-dev
  libpurple-bin appstream
  prosody socat openssl curl
  finch pidgin xvfb xauth tmux
"

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing="$missing $p"
  fi
done

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

# prosody's package starts its system service; the tests start their own
# instance on loopback, so keep the system one out of the way.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prosody 2>/dev/null; then
  systemctl stop prosody || true
fi
