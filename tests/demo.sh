#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The first README command: install what is needed from Debian, build, and
# run the real thing on one machine — the proxy with its embedded XMPP
# server, two headless libpurple accounts with the plugin loaded, and a
# 64 MiB file sent from one to the other over the bs-proxy's HTTP side,
# with a live progress bar and the SHA-256 checked on arrival.
#
# As deployed: the proxy speaks HTTPS (and STARTTLS on XMPP) with a
# certificate from a CA made for this run, which the clients trust as
# libpurple's own CAs. --http: plain HTTP and XMPP without TLS instead.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${DEMO_SIZE_MIB:-64}
tls=1
for arg in "$@"; do
  case $arg in
    --http) tls=0 ;;
    --https) tls=1 ;;
    *) echo "usage: bash tests/demo.sh [--https|--http]" >&2; exit 2 ;;
  esac
done

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

server_tls=()
client_tls=()
if [ $tls = 1 ]; then
  echo "== a CA and a certificate for localhost, made for this run"
  mkdir -m 700 "$work/ca"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    > "$work/ext.cnf"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
      -subj "/CN=bsproxy demo CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$work/ca.key" -out "$work/ca/ca.pem"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
      -keyout "$work/key.pem" -out "$work/cert.csr"
    openssl x509 -req -in "$work/cert.csr" -CA "$work/ca/ca.pem" -CAkey "$work/ca.key" \
      -set_serial 2 -days 1 -extfile "$work/ext.cnf" -out "$work/cert.pem"
  } >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; exit 1; }
  server_tls=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
  client_tls=(--ca-dir "$work/ca")
  what="SOCKS5 and HTTPS proxy, STARTTLS"
else
  what="SOCKS5 and HTTP proxy"
fi

echo "== starting proxy-test-server (embedded XMPP server, $what)"
coproc SERVER { exec build-demo/proxy-test-server/proxy-test-server \
  --c2s-port 0 --socks5-port 0 --http-port 0 "${server_tls[@]}" \
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
  --plugin "$plugin" --accept-dir "$work/received" --timeout 300 "${client_tls[@]}" --no-direct \
  >"$work/bob.json" &
bob=$!
start=$(date +%s.%N)
"$driver" --user-dir "$work/alice" --account "alice@localhost/demo:$password" --port "$port" \
  --plugin "$plugin" --send-file "$file" --to bob@localhost/demo --progress-bar \
  --timeout 300 "${client_tls[@]}" >"$work/alice.json"
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
echo "   over $(sed -n 's/.*"http_base_url":"\([a-z]*\):.*/\1/p' <<<"$ready" | tr a-z A-Z)"
awk -v s="$start" -v e="$end" -v m="$size_mib" \
  'BEGIN { printf "== %d MiB delivered in %.2f s, sign-in included (%.0f MiB/s); SHA-256 verified: %s\n", m, e - s, m / (e - s), "'"$got"'" }'
