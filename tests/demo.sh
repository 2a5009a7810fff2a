#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The first README command: install what is needed from Debian, build, and
# run the real thing on one machine — the proxy with its embedded XMPP
# server, two headless libpurple accounts with the plugin loaded, and a
# 64 MiB file sent from one to the other over the bs-proxy's HTTP side,
# with a live progress bar and the SHA-256 checked on arrival.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${DEMO_SIZE_MIB:-64}

sh tests/install-deps.sh
if [ -d build-demo ]; then
  meson setup --reconfigure build-demo --buildtype=release >/dev/null
else
  meson setup build-demo --buildtype=release >/dev/null
fi
meson compile -C build-demo >/dev/null

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/alice" "$work/bob" "$work/received"
file="$work/demo file.bin"
head -c $((size_mib * 1048576)) /dev/urandom > "$file"

# Throwaway accounts with passwords made for this run, given to the server
# in a file (a command line is readable by every local user).
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'alice:%s\nbob:%s\n' "$password" "$password" > "$work/users"
chmod 600 "$work/users"

echo "== starting proxy-test-server (embedded XMPP server, SOCKS5 and HTTP proxy)"
coproc SERVER { exec build-demo/proxy-test-server/proxy-test-server \
  --c2s-port 0 --socks5-port 0 --http-port 0 \
  --user-file "$work/users" 2>"$work/server.log"; }
server_pid=$SERVER_PID
if ! read -r -t 30 ready <&"${SERVER[0]}"; then
  echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1
fi
echo "   $ready"
port=$(sed -n 's/.*"c2s":"[^"]*:\([0-9]*\)".*/\1/p' <<<"$ready")

driver=build-demo/tests/purple/bsp-purple-driver
plugin=build-demo/plugin/bsproxy.so

echo "== bob@localhost waits for files; alice@localhost sends ${size_mib} MiB"
# --no-direct: bob as behind NAT, or the plugin would fetch the file from
# alice's own streamhost directly, not through the bs-proxy
"$driver" --user-dir "$work/bob" --account "bob@localhost/demo:$password" --port "$port" \
  --plugin "$plugin" --accept-dir "$work/received" --timeout 300 --no-direct >"$work/bob.json" &
bob=$!
start=$(date +%s.%N)
"$driver" --user-dir "$work/alice" --account "alice@localhost/demo:$password" --port "$port" \
  --plugin "$plugin" --send-file "$file" --to bob@localhost/demo --progress-bar \
  --timeout 300 >"$work/alice.json"
wait "$bob"
end=$(date +%s.%N)

if ! grep -q '"xfer-completed"' "$work/alice.json" || ! grep -q '"xfer-completed"' "$work/bob.json"; then
  echo "the transfer did not complete:" >&2
  grep -h -E 'cancel|error|notify' "$work/alice.json" "$work/bob.json" >&2 || true
  exit 1
fi
sent=$(sha256sum < "$file" | cut -d' ' -f1)
got=$(sha256sum < "$work/received/demo file.bin" | cut -d' ' -f1)
if [ "$sent" != "$got" ]; then
  echo "SHA-256 differs: sent $sent, received $got" >&2
  exit 1
fi
echo
grep -h -E "active:|done:" "$work/server.log" | sed 's/^.*session/   proxy: session/'
awk -v s="$start" -v e="$end" -v m="$size_mib" \
  'BEGIN { printf "== %d MiB delivered in %.2f s, sign-in included (%.0f MiB/s); SHA-256 verified: %s\n", m, e - s, m / (e - s), "'"$got"'" }'
