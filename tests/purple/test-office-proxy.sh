#!/bin/sh
# test-office-proxy.sh — files through a real office proxy (squid)
#
# Usage: test-office-proxy.sh DRIVER PLUGIN SERVER
#   exit 0: every case passed; 1: one failed; 77 (meson's skip): not root,
#   or no network namespaces, squid, nsenter or openssl here.
#
# The whole test runs in a network namespace of its own, "the Internet":
# proxy-test-server on 10.77.0.1 (an address on its loopback) and squid,
# the office proxy, on 10.78.0.1 at the end of a veth pair whose other end
# is the office: a namespace whose only route is that link, so that from
# the office nothing but squid's ports can be reached (no SOCKS5, no XMPP
# port). squid lets CONNECT through to the XMPP port only (libpurple signs
# in through it) and plain HTTP to the bs-proxy's HTTP port only; on its
# second port it wants a user name and password for the latter (Basic,
# squid's basic_ncsa_auth with an htpasswd file made here), on its third
# it refuses it. Two headless
# libpurple clients with the plugin (bsp-purple-driver), one or both in
# the office, send a file; it must arrive intact (SHA-256) and squid's
# access log must show the upload or the download going through it, or,
# with wrong or missing credentials, both sides must end cancelled with
# the reason naming the office proxy. A second proxy-test-server on the
# same address speaks HTTPS and STARTTLS with a certificate from a CA made
# here (the drivers trust it through --ca-dir); squid lets CONNECT through
# to its XMPP and HTTPS ports, on the second port only with credentials.
# A third one hands out URLs under a second address of its host, which its
# certificate does not name: libpurple asks the user, who rejects it.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u

skip() {
  echo "SKIP: $*"
  exit 77
}

if [ "${1:-}" != --inside ]; then
  [ $# -eq 3 ] || { echo "usage: test-office-proxy.sh DRIVER PLUGIN SERVER" >&2; exit 2; }
  [ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
  for tool in ip unshare nsenter squid openssl sha256sum timeout bash; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
  done
  [ -x /usr/lib/squid/basic_ncsa_auth ] || skip "no /usr/lib/squid/basic_ncsa_auth"
  unshare --net true 2>/dev/null || skip "cannot make a network namespace here"
  ip netns list >/dev/null 2>&1 || skip "ip netns is not available"
  exec unshare --net -- sh "$0" --inside "$@"
fi
shift
driver=$1 plugin=$2 server=$3

bsproxy=10.77.0.1
bsproxy_alias=10.77.0.3
office_gw=10.78.0.1
c2s_port=5222
http_port=8080
open_port=3128
auth_port=3129
closed_port=3130
tls_c2s_port=5223
tls_socks5_port=7778
https_port=8443
bad_c2s_port=5224
bad_socks5_port=7779
bad_https_port=8444
# A SOCKS5-only proxy (as mod_proxy65) that the server lists before its
# bs-proxy: from the office it cannot be reached.
socks5_only=socks5.localhost

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bsp-office.XXXXXX") || exit 1
holder=
cleanup() {
  for pidfile in "$tmp"/*.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
  done
  [ -n "$holder" ] && kill "$holder" 2>/dev/null
  wait 2>/dev/null
  if [ -n "${BSP_OFFICE_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$tmp"

failed=0
n=0
ok() {
  n=$((n + 1))
  echo "ok $n - $*"
}
not_ok() {
  n=$((n + 1))
  failed=1
  echo "not ok $n - $*"
}
check() { # DESCRIPTION COMMAND...
  check_what=$1
  shift
  if "$@"; then ok "$check_what"; else not_ok "$check_what"; fi
}

# wait_for FILE TEXT SECONDS: until FILE has a line with TEXT
wait_for() {
  wait_deadline=$(($(date +%s) + $3))
  until grep -q -F -- "$2" "$1" 2>/dev/null; do
    [ "$(date +%s)" -lt "$wait_deadline" ] || return 1
    sleep 0.1
  done
}

# ---- the network ----------------------------------------------------------

ip link set lo up && ip addr add "$bsproxy/32" dev lo && ip addr add "$bsproxy_alias/32" dev lo \
  || exit 1
# The office: a namespace held by a process that dies with us.
unshare --net sleep 600 &
holder=$!
own_ns=$(readlink /proc/self/ns/net)
deadline=$(($(date +%s) + 10))
while [ "$(readlink "/proc/$holder/ns/net" 2>/dev/null)" = "$own_ns" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the office namespace never came" >&2; exit 1; }
  sleep 0.05
done
office() {
  nsenter --net="/proc/$holder/ns/net" "$@"
}
ip link add bsp-gw type veth peer name bsp-office netns "$holder" \
  || skip "veth links are not available"
ip addr add "$office_gw/24" dev bsp-gw && ip link set bsp-gw up || exit 1
office ip addr add 10.78.0.2/24 dev bsp-office || exit 1
office ip link set bsp-office up && office ip link set lo up || exit 1

# ---- proxy-test-server ---------------------------------------------------------

# Sessions that one side never completes end sooner than by default.
"$server" --listen "$bsproxy" --c2s-port "$c2s_port" --socks5-port 7777 \
  --http-port "$http_port" --user alice:secret --user bob:secret \
  --activation-timeout 15 --http-idle-timeout 15 --test-socks5-only-jid "$socks5_only" \
  >"$tmp/server.out" 2>"$tmp/server.log" &
echo $! >"$tmp/server.pid"
wait_for "$tmp/server.out" "READY {" 20 || { cat "$tmp/server.log"; exit 1; }
grep -q -F "\"http_base_url\":\"http://$bsproxy:$http_port" "$tmp/server.out" \
  || { echo "unexpected READY: $(cat "$tmp/server.out")" >&2; exit 1; }

# ---- proxy-test-server with TLS -----------------------------------------------------

# A throwaway CA.
mkdir -m 0755 "$tmp/ca" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=office test CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$tmp/ca.key" -out "$tmp/ca/ca.pem" \
  >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log"; exit 1; }

# start_tls_server NAME C2S SOCKS5 HTTPS SUBJECT_ALT_NAMES [BASE]: one with
# a certificate from that CA for those names, handing out URLs under BASE
# (default: https://$bsproxy:HTTPS)
start_tls_server() {
  sts_base=${6:-https://$bsproxy:$4}
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    "$5" >"$tmp/$1.cnf" || exit 1
  {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj /CN=localhost -keyout "$tmp/$1.key" -out "$tmp/$1.csr" \
      && openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca/ca.pem" -CAkey "$tmp/ca.key" \
        -set_serial "$2" -days 1 -extfile "$tmp/$1.cnf" -out "$tmp/$1.pem"
  } >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log"; exit 1; }
  # GnuTLS keeps some memory to the end: the TLS servers run without leak
  # checks under ASan (the drivers keep theirs).
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:fast_unwind_on_malloc=1 \
    "$server" --listen 0.0.0.0 --advertise-host "$bsproxy" --http-base-url "$sts_base" \
    --c2s-port "$2" --socks5-port "$3" \
    --http-port "$4" --tls-cert "$tmp/$1.pem" --tls-key "$tmp/$1.key" \
    --user alice:secret --user bob:secret --activation-timeout 15 --http-idle-timeout 15 \
    >"$tmp/$1.out" 2>"$tmp/$1.log" &
  echo $! >"$tmp/$1.pid"
  wait_for "$tmp/$1.out" "READY {" 20 || { cat "$tmp/$1.log"; exit 1; }
  grep -q -F "\"http_base_url\":\"$sts_base" "$tmp/$1.out" \
    || { echo "unexpected READY: $(cat "$tmp/$1.out")" >&2; exit 1; }
}
start_tls_server tls-server "$tls_c2s_port" "$tls_socks5_port" "$https_port" \
  "DNS:localhost,IP:$bsproxy"
start_tls_server bad-server "$bad_c2s_port" "$bad_socks5_port" "$bad_https_port" \
  "DNS:localhost,IP:$bsproxy" "https://$bsproxy_alias:$bad_https_port"

# ---- squid ---------------------------------------------------------------------------

mkdir -m 0777 "$tmp/squid" || exit 1
alice_pw=office-$$-a
bob_pw=office-$$-b
{
  printf 'alice:%s\n' "$(openssl passwd -apr1 "$alice_pw")"
  printf 'bob:%s\n' "$(openssl passwd -apr1 "$bob_pw")"
} >"$tmp/squid/htpasswd" || exit 1
chmod 0644 "$tmp/squid/htpasswd"
cat >"$tmp/squid.conf" <<EOF
http_port $office_gw:$open_port name=open
http_port $office_gw:$auth_port name=auth
http_port $office_gw:$closed_port name=closed
visible_hostname office-proxy
pid_filename $tmp/squid/squid.pid
cache_log $tmp/squid/cache.log
access_log stdio:$tmp/squid/access.log
coredump_dir $tmp/squid
cache deny all
cache_mem 8 MB
icp_port 0
htcp_port 0
shutdown_lifetime 0 seconds
dns_nameservers 127.0.0.1
auth_param basic program /usr/lib/squid/basic_ncsa_auth $tmp/squid/htpasswd
auth_param basic realm office
acl office src 10.78.0.0/24
acl bsproxy dst $bsproxy $bsproxy_alias
acl xmpp port $c2s_port $tls_c2s_port $bad_c2s_port
acl web port $http_port
acl https port $https_port $bad_https_port
acl CONNECT method CONNECT
acl authport myportname auth
acl closedport myportname closed
acl authed proxy_auth REQUIRED
http_access deny !office
http_access deny !bsproxy
http_access allow CONNECT xmpp
http_access deny CONNECT !https
http_access deny !CONNECT !web
http_access deny closedport
http_access deny authport !authed
http_access allow all
EOF
squid -N -f "$tmp/squid.conf" >"$tmp/squid.out" 2>&1 &
echo $! >"$tmp/squid.pid"
for port in $open_port $auth_port $closed_port; do
  wait_for "$tmp/squid/cache.log" "Accepting HTTP Socket connections at conn" 30 \
    && wait_for "$tmp/squid/cache.log" "local=$office_gw:$port " 5 \
    || { cat "$tmp/squid.out" "$tmp/squid/cache.log"; exit 1; }
done

# ---- the firewall is real -----------------------------------------------------------

reach() { # HOST PORT: a TCP connection from the office opens
  office timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
not() { ! "$@"; }
check "from the office, SOCKS5 ($bsproxy:7777) is unreachable" not reach "$bsproxy" 7777
check "from the office, XMPP ($bsproxy:$c2s_port) is unreachable" not reach "$bsproxy" "$c2s_port"
check "from the office, the bs-proxy's HTTP side is unreachable" not reach "$bsproxy" "$http_port"
check "from the office, the bs-proxy's HTTPS side is unreachable" not reach "$bsproxy" "$https_port"
check "from the office, squid is reachable" reach "$office_gw" "$open_port"

# ---- the cases ----------------------------------------------------------------------

# run_case NAME SIZE ALICE_WHERE ALICE_PROXY BOB_WHERE BOB_PROXY [DRIVER_ARG…]
#   WHERE: office or internet; PROXY: a driver --proxy value, or "-"
#   (global:PROXY: the global one; env:URL: from http_proxy); DRIVER_ARGs
#   go to both drivers
# $port is the XMPP port (default: the plain server's); $plain names a side that runs plain libpurple (no plugin), $alice_args
# and $bob_args go to that side's driver only; alice (with the plugin)
# sends once her debug log said $send_after, if set: as a user who sends a
# little after signing in, not in the very second.
# Leaves the drivers' events in $tmp/NAME/{alice,bob}.out and the lines
# squid logged meanwhile in $tmp/NAME/access.log; fails unless both
# drivers exited with status 0 (under ASan: without leaks).
port= plain= alice_args= bob_args= send_after= bob_ready=
# Under the sanitizers a driver's first TLS handshake through squid takes up
# to 10 s (the system's trust store read under ASan): its check of the
# bs-proxy's HTTP side gets 40 s there, instead of the default 10 s.
probe_pref=
ldd "$driver" 2>/dev/null | grep -q libasan && probe_pref="--pref /plugins/core/bsproxy/probe_seconds=40"
run_case() {
  # BSP_OFFICE_CASES="NAME…": only these (the others fail)
  case " ${BSP_OFFICE_CASES:-$1} " in *" $1 "*) ;; *) return 1 ;; esac
  rc_name=$1 rc_size=$2 rc_alice_where=$3 rc_alice_proxy=$4 rc_bob_where=$5 rc_bob_proxy=$6
  shift 6
  rc_dir=$tmp/$rc_name
  mkdir -p "$rc_dir/received" || return 1
  head -c "$rc_size" /dev/urandom >"$rc_dir/$rc_name.bin" || return 1
  rc_log_start=$(($(wc -l <"$tmp/squid/access.log") + 1))
  rc_server_log=$tmp/server.log
  [ "${port:-$c2s_port}" = "$tls_c2s_port" ] && rc_server_log=$tmp/tls-server.log
  [ "${port:-$c2s_port}" = "$bad_c2s_port" ] && rc_server_log=$tmp/bad-server.log
  rc_server_start=$(($(wc -l <"$rc_server_log") + 1))
  for rc_who in bob alice; do
    if [ $rc_who = alice ]; then
      rc_where=$rc_alice_where rc_proxy=$rc_alice_proxy
    else
      rc_where=$rc_bob_where rc_proxy=$rc_bob_proxy
    fi
    rc_args="--user-dir $rc_dir/$rc_who --account $rc_who@localhost/office:secret
      --server $bsproxy --port ${port:-$c2s_port} --timeout 60 --debug $probe_pref $*"
    [ "$plain" = $rc_who ] || rc_args="$rc_args --plugin $plugin"
    [ $rc_who = alice ] && rc_args="$rc_args $alice_args --send-file $rc_dir/$rc_name.bin --to bob@localhost/office"
    [ $rc_who = bob ] && rc_args="$rc_args $bob_args --accept-dir $rc_dir/received"
    # The office lets no connection in either: bob outside can't reach
    # alice's own streamhost (a plugin receiver would go there first).
    [ $rc_who = bob ] && [ "$rc_alice_where" = office ] && [ "$rc_bob_where" != office ] \
      && rc_args="$rc_args --no-direct"
    rc_run=
    case $rc_proxy in
      -) ;;
      global:*) rc_args="$rc_args --proxy global --global-proxy ${rc_proxy#global:}" ;;
      env:*) rc_args="$rc_args --proxy envvar" rc_run="env http_proxy=${rc_proxy#env:}" ;;
      *) rc_args="$rc_args --proxy $rc_proxy" ;;
    esac
    [ "$rc_where" = office ] && rc_run="$rc_run nsenter --net=/proc/$holder/ns/net"
    # shellcheck disable=SC2086
    rc_after=
    [ $rc_who = alice ] && rc_after=$send_after
    DBUS_SESSION_BUS_ADDRESS=disabled: $rc_run "$driver" $rc_args \
      ${rc_after:+--send-after "$rc_after"} >"$rc_dir/$rc_who.out" 2>"$rc_dir/$rc_who.log" &
    echo $! >"$tmp/$rc_who.pid"
    # Bob signed in and his check of the bs-proxy ended ($bob_ready in his
    # log) before alice offers: as a user who receives a while after
    # signing in. Bounded: 60 s.
    if [ $rc_who = bob ] && [ -n "$bob_ready" ]; then
      wait_for "$rc_dir/bob.log" "$bob_ready" 60 || true
    fi
  done
  rc_status=0
  for rc_who in alice bob; do
    wait "$(cat "$tmp/$rc_who.pid")" || rc_status=1
    rm -f "$tmp/$rc_who.pid"
  done
  tail -n "+$rc_log_start" "$tmp/squid/access.log" >"$rc_dir/access.log"
  tail -n "+$rc_server_start" "$rc_server_log" >"$rc_dir/server.log"
  for rc_who in alice bob; do
    grep -v '"event":"xfer-progress"\|"event":"plugin-loaded"' "$rc_dir/$rc_who.out" \
      | sed "s/^/# $rc_name $rc_who: /"
  done
  sed "s/^/# $rc_name squid: /" "$rc_dir/access.log"
  return $rc_status
}

arrived() { # NAME: the file arrived intact
  [ -f "$tmp/$1/received/$1.bin" ] && [ "$(sha256sum <"$tmp/$1/$1.bin")" = "$(sha256sum <"$tmp/$1/received/$1.bin" 2>/dev/null)" ]
}
completed() { # NAME WHO
  grep -q '"event":"xfer-completed"' "$tmp/$1/$2.out" \
    && ! grep -q '"event":"xfer-cancelled"' "$tmp/$1/$2.out"
}
cancelled() { # NAME WHO
  grep -q '"event":"xfer-cancelled"' "$tmp/$1/$2.out" \
    && ! grep -q '"event":"xfer-completed"' "$tmp/$1/$2.out"
}
squid_logged() { # NAME METHOD STATUS [USER]: squid passed the bs-proxy's request
  grep -E -q " [A-Z_]+/$3 [0-9]+ $2 http://$bsproxy:$http_port/[^ ]* ${4:--} " "$tmp/$1/access.log"
}
server_says() { # NAME TEXT: proxy-test-server logged TEXT during the case
  grep -q -F -- "$2" "$tmp/$1/server.log"
}
offered() { # NAME JID: the offer bob's libpurple received lists JID as a streamhost
  grep -F "sid=" "$tmp/$1/bob.log" | grep -q -E "<streamhost [^>]*jid=['\"]$2['\"]"
}
offered_without() { # NAME JID: bob received an offer, and without JID
  grep -F "sid=" "$tmp/$1/bob.log" | grep -q "<streamhost " && ! offered "$1" "$2"
}
squid_tunnelled() { # NAME [USER]: squid passed a CONNECT to a bs-proxy's HTTPS side
  grep -E -q " TCP_TUNNEL/200 [0-9]+ CONNECT ($bsproxy:$https_port|$bsproxy_alias:$bad_https_port) ${2:--} " \
    "$tmp/$1/access.log"
}
path_says() { # NAME WHO TEXT: the conversation's one path line says TEXT
  grep '"event":"conversation"' "$tmp/$1/$2.out" | grep ' goes ' | grep -q -F -- "$3"
}

open=http://$office_gw:$open_port
auth=$office_gw:$auth_port
mib=1048576

# One side in the office: the other reaches the bs-proxy directly.
check "sender behind squid: both drivers ended cleanly" run_case \
  sender-behind $((4 * mib)) office "$open" internet -
check "sender behind squid: the file arrives" arrived sender-behind
check "sender behind squid: alice completed" completed sender-behind alice
check "sender behind squid: bob completed" completed sender-behind bob
check "sender behind squid: squid passed the upload" squid_logged sender-behind POST 200

check "receiver behind squid: both drivers ended cleanly" run_case \
  receiver-behind $((4 * mib)) internet - office "$open"
check "receiver behind squid: the file arrives" arrived receiver-behind
check "receiver behind squid: alice completed" completed receiver-behind alice
check "receiver behind squid: bob completed" completed receiver-behind bob
check "receiver behind squid: squid passed the download" squid_logged receiver-behind GET 200

# Both behind the same squid: squid 5.7 resets a large upload framed by
# Content-Length that the bs-proxy drains at the download's pace (its bug
# 5405); the plugin sends it chunked.
check "both behind squid, 64 MiB: both drivers ended cleanly" run_case \
  both-behind $((64 * mib)) office "$open" office "$open"
check "both behind squid: the file arrives" arrived both-behind
check "both behind squid: alice completed" completed both-behind alice
check "both behind squid: bob completed" completed both-behind bob
check "both behind squid: squid passed the upload" squid_logged both-behind POST 200
check "both behind squid: squid passed the download" squid_logged both-behind GET 200

# Basic authentication: alice's from her account's proxy settings, bob's
# from libpurple's global ones.
check "proxy with Basic auth: both drivers ended cleanly" run_case \
  auth $((4 * mib)) office "http://alice:$alice_pw@$auth" \
  office "global:http://bob:$bob_pw@$auth"
check "proxy with Basic auth: the file arrives" arrived auth
check "proxy with Basic auth: alice completed" completed auth alice
check "proxy with Basic auth: bob completed" completed auth bob
check "proxy with Basic auth: squid passed alice's upload" squid_logged auth POST 200 alice
check "proxy with Basic auth: squid passed bob's download" squid_logged auth GET 200 bob

check "credentials from http_proxy: both drivers ended cleanly" run_case \
  auth-env $((2 * mib)) office "env:http://alice:$alice_pw@$auth" internet -
check "credentials from http_proxy: the file arrives" arrived auth-env
check "credentials from http_proxy: alice completed" completed auth-env alice
check "credentials from http_proxy: squid passed the upload" squid_logged auth-env POST 200 alice

# A refusal by squid is learnt at sign-in, when each plugin checks that the
# bs-proxy's HTTP side answers (PROTOCOL.md §1.5): the transfer then goes
# the usual XMPP way (here in-band, through squid's CONNECT to XMPP), the
# file arrives, and the conversation says why it did not go over HTTP.
check "wrong password: both drivers ended cleanly" run_case \
  auth-wrong $mib office "http://alice:wrong-$alice_pw@$auth" internet -
check "wrong password: the file arrives" arrived auth-wrong
check "wrong password: alice completed" completed auth-wrong alice
check "wrong password: bob completed" completed auth-wrong bob
check "wrong password: alice reads that the network's proxy refused her credentials" \
  path_says auth-wrong alice "the network&apos;s proxy $auth refused the user name and password"
check "wrong password: squid refused alice's credentials" squid_logged auth-wrong GET 407 alice

# bob's own check must have found his network's proxy in the way before
# the offer arrives: alice, who reaches no proxy, offers none.
bob_ready="proxy.localhost: its HTTP side is not reachable from here"
check "no credentials: both drivers ended cleanly" run_case \
  auth-missing $mib office "http://$auth" office "http://$auth"
check "no credentials: the file arrives" arrived auth-missing
check "no credentials: alice completed" completed auth-missing alice
check "no credentials: bob completed" completed auth-missing bob
check "no credentials: alice reads that the network's proxy asks for a user name" \
  path_says auth-missing alice "the network&apos;s proxy $auth asks for a user name and password"
check "no credentials: bob reads that the network's proxy asks for a user name" \
  path_says auth-missing bob "the network&apos;s proxy $auth asks for a user name and password"
check "no credentials: squid asked for them" squid_logged auth-missing GET 407

# squid's own refusal (403 and its error page) is named as the office
# proxy's, not the bs-proxy's.
closed=$office_gw:$closed_port
bob_ready="proxy.localhost: its HTTP side is not reachable from here"
check "squid refuses: both drivers ended cleanly" run_case \
  closed $mib office "http://$closed" office "http://$closed"
check "squid refuses: the file arrives" arrived closed
check "squid refuses: alice completed" completed closed alice
check "squid refuses: bob completed" completed closed bob
check "squid refuses: alice reads that the network's proxy did not let it through" \
  path_says closed alice "the network&apos;s proxy $closed did not let the transfer through"
check "squid refuses: bob reads that the network's proxy did not let it through" \
  path_says closed bob "the network&apos;s proxy $closed did not let the transfer through"
check "squid refuses: it refused the check" squid_logged closed GET 403
bob_ready=

# HTTPS: both behind squid, the bs-proxy's HTTP side reached through
# CONNECT tunnels (as XMPP is), its certificate checked by libpurple's
# verifier against the test's CA.
port=$tls_c2s_port
check "HTTPS, both behind squid, 64 MiB: both drivers ended cleanly" run_case \
  https-both $((64 * mib)) office "$open" office "$open" --ca-dir "$tmp/ca"
check "HTTPS, both behind squid: the file arrives" arrived https-both
check "HTTPS, both behind squid: alice completed" completed https-both alice
check "HTTPS, both behind squid: bob completed" completed https-both bob
check "HTTPS, both behind squid: over the bs-proxy's HTTPS side on both ends" \
  server_says https-both "alice@localhost/office (HTTP) → bob@localhost/office (HTTP)"
check "HTTPS, both behind squid: squid tunnelled them" squid_tunnelled https-both
check "HTTPS, both behind squid: nothing in the clear through squid" \
  not squid_logged https-both POST 200

# HTTPS with Basic authentication: squid answers the CONNECT with 407, the
# plugin answers with the account's credentials.
check "HTTPS with Basic auth: both drivers ended cleanly" run_case \
  https-auth $((4 * mib)) office "http://alice:$alice_pw@$auth" \
  office "global:http://bob:$bob_pw@$auth" --ca-dir "$tmp/ca"
check "HTTPS with Basic auth: the file arrives" arrived https-auth
check "HTTPS with Basic auth: alice completed" completed https-auth alice
check "HTTPS with Basic auth: bob completed" completed https-auth bob
check "HTTPS with Basic auth: squid asked for credentials" \
  grep -E -q " TCP_DENIED/407 [0-9]+ CONNECT $bsproxy:$https_port " "$tmp/https-auth/access.log"
check "HTTPS with Basic auth: squid tunnelled alice's" squid_tunnelled https-auth alice
check "HTTPS with Basic auth: squid tunnelled bob's" squid_tunnelled https-auth bob

# A certificate the user rejects (libpurple's prompt, for the address the
# bs-proxy's URLs name), asked before anything was committed to HTTP:
# libpurple's own way would be SOCKS5 through the same proxy, which the
# office can't reach, so the transfer ends on both sides, the sender's with
# the certificate's reason. (Where SOCKS5 can be reached the file goes that
# way: test-certificate.c.)
port=$bad_c2s_port plain=bob bob_args=--no-direct
alice_args="--certificate reject"
send_after="proxy proxy.localhost: its SOCKS5 address"
check "HTTPS, certificate rejected, no SOCKS5: both drivers ended cleanly" run_case \
  https-reject $mib office "$open" internet - --ca-dir "$tmp/ca"
check "HTTPS, certificate rejected: alice was asked" \
  grep -q -F "\"primary\":\"Accept certificate for $bsproxy_alias?\"" "$tmp/https-reject/alice.out"
check "HTTPS, certificate rejected: alice cancelled" cancelled https-reject alice
check "HTTPS, certificate rejected: bob cancelled" cancelled https-reject bob
check "HTTPS, certificate rejected: alice reads the certificate's reason" \
  grep -q -F "https-reject.bin: the certificate of $bsproxy_alias is not trusted: " \
  "$tmp/https-reject/alice.out"
check "HTTPS, certificate rejected: no file arrives" not arrived https-reject
check "HTTPS, certificate rejected: no stream was activated at the bs-proxy" \
  not server_says https-reject " active: "
port= plain= alice_args= bob_args= send_after= bob_ready=

# A server that lists a SOCKS5-only proxy before its bs-proxy (as many
# list mod_proxy65), the plugin's sender in the office, a plain receiver
# outside behind NAT (--no-direct: only proxies). The plain receiver takes
# the first proxy offered: the plugin puts the bs-proxy first and leaves
# out the SOCKS5-only one, whose address does not open from the office;
# the bs-proxy bridges the upload to the receiver's SOCKS5. alice sends once
# her plugin found that address closed, as a user who sends a little after
# signing in.
bridged="alice@localhost/office (HTTP) → bob@localhost/office (SOCKS5)"
plain=bob bob_args=--no-direct
send_after="proxy $socks5_only: its SOCKS5 address $bsproxy:7777 does not open from here"
check "SOCKS5-only proxy listed first, plain receiver: both drivers ended cleanly" run_case \
  socks5-first $((4 * mib)) office "$open" internet -
check "SOCKS5-only proxy listed first: the file arrives" arrived socks5-first
check "SOCKS5-only proxy listed first: alice completed" completed socks5-first alice
check "SOCKS5-only proxy listed first: bob completed" completed socks5-first bob
check "SOCKS5-only proxy listed first: squid passed the upload" squid_logged socks5-first POST 200
check "SOCKS5-only proxy listed first: the bs-proxy bridged it to bob's SOCKS5" \
  server_says socks5-first "$bridged"
check "SOCKS5-only proxy listed first: bob was offered the bs-proxy" \
  offered socks5-first proxy.localhost
check "SOCKS5-only proxy listed first: from the office it is left out of the offer" \
  offered_without socks5-first "$socks5_only"
send_after=

# Outside the office the SOCKS5-only proxy is reachable and offered (after
# the bs-proxy), unless the user asks for proxies reached over HTTP only.
check "SOCKS5-only proxy reachable: both drivers ended cleanly" run_case \
  socks5-reachable $mib internet - internet -
check "SOCKS5-only proxy reachable: the file arrives" arrived socks5-reachable
check "SOCKS5-only proxy reachable: it is offered" offered socks5-reachable "$socks5_only"
alice_args="--pref /plugins/core/bsproxy/offer_http_only=true"
check "HTTP-only preference: both drivers ended cleanly" run_case \
  http-only $mib internet - internet -
check "HTTP-only preference: the file arrives" arrived http-only
check "HTTP-only preference: the bs-proxy bridged it" server_says http-only "$bridged"
check "HTTP-only preference: bob was offered the bs-proxy" offered http-only proxy.localhost
check "HTTP-only preference: the SOCKS5-only proxy is left out of the offer" \
  offered_without http-only "$socks5_only"
plain= alice_args= bob_args=

# under ASan: also without leaks
stop_server() {
  kill -TERM "$(cat "$tmp/server.pid")" && wait "$(cat "$tmp/server.pid")"
}
check "proxy-test-server ended cleanly" stop_server
rm -f "$tmp/server.pid"
for name in tls-server bad-server; do
  check "$name ended cleanly" \
    eval 'kill -TERM "$(cat "$tmp/$name.pid")" && wait "$(cat "$tmp/$name.pid")"'
  rm -f "$tmp/$name.pid"
done

echo "1..$n"
if [ $failed != 0 ]; then
  for f in "$tmp"/*/alice.log "$tmp"/*/bob.log; do
    echo "# ---- the end of $f"
    tail -n 15 "$f" | sed 's/^/# /'
  done
fi
exit $failed
