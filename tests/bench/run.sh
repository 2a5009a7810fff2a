#!/bin/sh
# tests/bench/run.sh — proxy-test-server against socat, ejabberd and Prosody, on loopback
#
#   sh tests/bench/run.sh           the full benchmark (about 20 to 25 minutes)
#   sh tests/bench/run.sh --quick   small sizes, one run each: a smoke check
#   sh tests/bench/run.sh --only e2e
#                 only the figures named (comma-separated: relay, conc, sizes,
#                 e2e, upload), same sizes and runs; combines with --quick.
#                 The end-to-end figure alone takes a few minutes.
#
# Figures: relay (one transfer per pair, HTTPS → HTTPS included, against
# socat, ejabberd and Prosody), conc (N = 1, 8, 32, 128 at once, the relay's
# worker threads shown, one thread at 128), sizes (peak RSS against the
# file), e2e (libpurple with and without the plugin), upload (XEP-0363
# through Prosody's mod_http_file_share); then the targets table.
#
# Installs what it needs from Debian (only what is missing), builds the project
# in release mode into build-bench/, starts every server itself on 127.0.0.1
# with generated configurations under a temporary directory, and stops them
# all on exit. Contestants are measured in the same invocation, one run of
# each in turn (A B C A B C …), and the median counts: the machine is shared.
#
# Prints the tables (markdown, also written to tests/bench/results/latest.md,
# or results/quick.md with --quick, results/partial.md with --only) and one
# line per figure:
#   RESULT {"name": "...", "mib_s": ..., "ratio_vs_socat": ..., …, "peak_rss_kib": ...}
# Exits 1 when any transfer failed or its bytes did not verify.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BENCH_DIR=$ROOT/tests/bench
BUILD=$ROOT/build-bench

ALL_FIGURES="relay conc sizes e2e upload"
QUICK=0
FIGURES=$ALL_FIGURES
only_next=0
for arg in "$@"; do
  if [ "$only_next" = 1 ]; then
    arg=--only=$arg
    only_next=0
  fi
  case $arg in
    --quick) QUICK=1 ;;
    --only) only_next=1 ;;
    --only=*)
      FIGURES=$(echo "${arg#--only=}" | tr ',' ' ')
      for f in $FIGURES; do
        case " $ALL_FIGURES " in
          *" $f "*) ;;
          *)
            echo "run.sh: unknown figure '$f' (one of: $ALL_FIGURES)" >&2
            exit 2
            ;;
        esac
      done
      [ -n "$FIGURES" ] || FIGURES=$ALL_FIGURES
      ;;
    -h | --help)
      sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done
if [ "$only_next" = 1 ]; then
  echo "run.sh: --only needs a list of figures ($ALL_FIGURES)" >&2
  exit 2
fi

# wants FIGURE: whether this invocation measures FIGURE.
wants() {
  case " $FIGURES " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

if [ "$QUICK" = 1 ]; then
  RUNS=1
  RELAY_SIZE=128M RELAY_LABEL="128 MiB"
  CONC_SIZE=4M CONC_LABEL="4 MiB"
  SIZES="16M 64M 256M"
  E2E_SIZE=16M E2E_LABEL="16 MiB"
  UPLOAD_SIZE=64M UPLOAD_LABEL="64 MiB"
  UPLOAD_STOCK_SIZE=16M UPLOAD_STOCK_LABEL="16 MiB"
else
  RUNS=3
  RELAY_SIZE=1G RELAY_LABEL="1 GiB"
  CONC_SIZE=64M CONC_LABEL="64 MiB"
  SIZES="64M 1G 4G"
  E2E_SIZE=1G E2E_LABEL="1 GiB"
  UPLOAD_SIZE=1G UPLOAD_LABEL="1 GiB"
  # Stock Prosody takes 10 to 15 s for this (about 2 to 3 MiB/s).
  UPLOAD_STOCK_SIZE=32M UPLOAD_STOCK_LABEL="32 MiB"
fi
# mod_http_file_share's size limit: the largest file and a little more.
UPLOAD_LIMIT=$((1024 * 1024 * 1024 + 1048576))
UPLOAD_NOTE=""
LEVELS="1 8 32 128"
PAIRS="socks5-socks5 http-socks5 socks5-http http-http"
SOCAT_BUFFER=131072
# Seconds any one measurement may take before it counts as failed.
RUN_TIMEOUT=600

log() {
  echo "bench: $*" >&2
}

# ---- packages ------------------------------------------------------------------

install_deps() {
  packages="socat prosody ejabberd openssl glib-networking gcc pkg-config meson ninja-build
    libglib2.0-dev libsoup-3.0-dev libjson-glib-dev"
  missing=""
  for p in $packages; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      missing="$missing $p"
    fi
  done
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing packages:$missing (run as root to install them)"
    exit 1
  fi
  log "installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >&2
  # A package that just came in may have started its system service; the
  # benchmark runs its own instances, so stop only those it brought.
  for service in prosody ejabberd; do
    case " $missing " in *" $service "*) ;; *) continue ;; esac
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
      systemctl stop "$service" || true
    fi
  done
}

# ---- build ---------------------------------------------------------------------

build() {
  if [ -f "$BUILD/build.ninja" ]; then
    meson configure "$BUILD" -Dbuildtype=release >/dev/null
  else
    meson setup "$BUILD" --buildtype=release >/dev/null
  fi
  meson compile -C "$BUILD" proxy-test-server >&2
  PTS=$BUILD/proxy-test-server/proxy-test-server
  # The client is a meson target once tests/meson.build has subdir('bench');
  # until then it is compiled here with the same release flags.
  if meson introspect "$BUILD" --targets 2>/dev/null | grep -q '"name": "bsb-bench"'; then
    meson compile -C "$BUILD" bsb-bench >&2
    BSB=$BUILD/tests/bench/bsb-bench
  else
    mkdir -p "$BUILD/bench-client"
    BSB=$BUILD/bench-client/bsb-bench
    # shellcheck disable=SC2046
    ${CC:-cc} -O3 -std=gnu11 -D_GNU_SOURCE -DNDEBUG -Wall -Wno-unused-parameter \
      -I "$BUILD" -I "$BENCH_DIR" "$BENCH_DIR"/bsb-*.c \
      $(pkg-config --cflags --libs gio-2.0) -pthread -o "$BSB"
  fi
}

# ---- servers -------------------------------------------------------------------

WORK=""
FAILED=0
KEEP_WORK=0 # set when a figure is skipped: its logs stay
PTS_NAMES=""
EJ_CTL=""
EJ_PID=""
PR_PID=""
PR_PIDS=""
PR_HTTP=""
TLS_DIR=""
TLS_NOTE=""

# Waits (bounded) until process $1 is gone; kills it if it lingers.
reap() {
  pid=$1
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# start_pts NAME [OPTION…]: a fresh proxy-test-server with its embedded XMPP
# server and the benchmark's accounts, any OPTIONs added; its pid, c2s and
# SOCKS5 addresses go to $WORK/pts-NAME.env. Exits when it does not start.
start_pts() {
  name=$1
  shift
  start_pts_with "$name" --c2s-port 0 --user alice:pw --user bob:pw "$@" || exit 1
}

# start_pts_with NAME OPTION…: the same with only these OPTIONs (SOCKS5 and
# HTTP on free ports added); "-" for the c2s address of a component.
# Returns 1 when it does not start.
start_pts_with() {
  name=$1
  shift
  out=$WORK/pts-$name.out
  "$PTS" --socks5-port 0 --http-port 0 --max-per-initiator 256 "$@" >"$out" \
    2>"$WORK/pts-$name.log" &
  pid=$!
  i=0
  while ! grep -q '^READY ' "$out" 2>/dev/null; do
    if [ $i -ge 200 ] || ! kill -0 "$pid" 2>/dev/null; then
      log "proxy-test-server $name did not start:"
      cat "$WORK/pts-$name.log" >&2
      kill -TERM "$pid" 2>/dev/null || true
      reap "$pid"
      return 1
    fi
    sleep 0.05
    i=$((i + 1))
  done
  PTS_NAMES="$PTS_NAMES $name"
  c2s=$(sed -n 's/^READY .*"c2s":"\([^"]*\)".*/\1/p' "$out")
  socks5=$(sed -n 's/^READY .*"socks5":"\([^"]*\)".*/\1/p' "$out")
  echo "$pid ${c2s:--} $socks5" >"$WORK/pts-$name.env"
}

# The relay's worker threads: RELAY_THREADS for every instance (the
# machine's cores, as the option's default is documented) when the binary
# has --relay-threads; else the relay is one thread on the main loop.
relay_threads_setup() {
  if "$PTS" --help 2>/dev/null | grep -q -- '--relay-threads'; then
    RELAY_THREADS=$(nproc)
    THREADS_OPT="--relay-threads $RELAY_THREADS"
    THREADS_NOTE=""
  else
    RELAY_THREADS=1
    THREADS_OPT=""
    THREADS_NOTE="this proxy-test-server has no --relay-threads: its relay runs on one thread, and the rows with one worker thread are left out"
  fi
}

# make_tls: a throwaway CA and a certificate for localhost and 127.0.0.1
# signed by it, under $WORK/tls (ca/ca.pem is the CA alone, for the
# drivers' --ca-dir). Sets TLS_DIR, or TLS_NOTE and returns 1.
make_tls() {
  [ -z "$TLS_DIR" ] || return 0
  [ -z "$TLS_NOTE" ] || return 1
  d=$WORK/tls
  mkdir -p "$d/ca"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
  if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bsb-bench throwaway CA" -keyout "$d/ca.key" -out "$d/ca/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    >"$d/openssl.log" 2>&1 &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout "$d/server.key" -out "$d/server.csr" >>"$d/openssl.log" 2>&1 &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca/ca.pem" -CAkey "$d/ca.key" \
      -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" >>"$d/openssl.log" 2>&1; then
    TLS_DIR=$d
    return 0
  fi
  TLS_NOTE="openssl could not make the certificates: $(tail -n 1 "$d/openssl.log")"
  return 1
}

stop_pts() {
  name=$1
  [ -f "$WORK/pts-$name.env" ] || return 0
  read -r pid _ _ <"$WORK/pts-$name.env"
  rm -f "$WORK/pts-$name.env"
  kill -TERM "$pid" 2>/dev/null || true
  reap "$pid"
  rm -f "$WORK/pts-$name.env"
}

# ejabberd with its own configuration, control configuration, node name,
# cookie, spool, logs and pid file. Debian's ejabberdctl sources the control
# file after its options, so everything it needs is in ours; ERL_DIST_PORT
# keeps epmd out of the picture. As root, ejabberdctl runs the node as the
# package's ejabberd user; otherwise a copy of it runs as the caller.
start_ejabberd() {
  dir=$WORK/ejabberd
  mkdir -p "$dir/spool" "$dir/logs" "$dir/modules.d"
  # shellcheck disable=SC2046
  set -- $("$BSB" ports --count 4)
  EJ_C2S=$1 EJ_P65=$2 ej_dist=$3 EJ_SVC=$4
  # The secret of the XEP-0114 listener, where the HTTPS proxy-test-server
  # attaches as a component (see figure_relay).
  EJ_SECRET=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  echo "$EJ_SECRET" >"$WORK/ejabberd-component.secret"
  cat >"$dir/ejabberd.yml" <<EOF
# generated by tests/bench/run.sh
hosts:
  - localhost
loglevel: warning
log_rotate_count: 0
auth_method: internal
auth_password_format: plain
listen:
  -
    port: $EJ_C2S
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    starttls: false
    starttls_required: false
  -
    port: $EJ_SVC
    ip: "127.0.0.1"
    module: ejabberd_service
    password: "$EJ_SECRET"
acl:
  local:
    user_regexp: ""
access_rules:
  c2s:
    allow: all
  local:
    allow: local
modules:
  mod_disco: {}
  mod_roster: {}
  mod_admin_extra: {}
  mod_proxy65:
    host: "proxy.localhost"
    ip: "127.0.0.1"
    hostname: "127.0.0.1"
    port: $EJ_P65
    access: local
    max_connections: infinity
EOF
  cookie=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  cat >"$dir/ejabberdctl.cfg" <<EOF
# generated by tests/bench/run.sh
ERLANG_NODE=bsbench$$@localhost
ERL_OPTIONS="-setcookie $cookie -env ERL_CRASH_DUMP_BYTES 0"
ERL_DIST_PORT=$ej_dist
INET_DIST_INTERFACE=127.0.0.1
EJABBERD_CONFIG_PATH=$dir/ejabberd.yml
EJABBERD_PID_PATH=$dir/ejabberd.pid
EJABBERD_BYPASS_WARNINGS=true
CONTRIB_MODULES_CONF_DIR=$dir/modules.d
EOF
  printf '{lookup,["file","native"]}.\n{host,{127,0,0,1},["localhost"]}.\n' >"$dir/inetrc"
  ctl=/usr/sbin/ejabberdctl
  if [ "$(id -u)" = 0 ]; then
    chown -R ejabberd:ejabberd "$dir"
  else
    sed 's/^INSTALLUSER=.*/INSTALLUSER=/' /usr/sbin/ejabberdctl >"$WORK/ejabberdctl"
    ctl="bash $WORK/ejabberdctl"
  fi
  EJ_CTL="$ctl --config-dir $dir --ctl-config $dir/ejabberdctl.cfg --config $dir/ejabberd.yml
    --logs $dir/logs --spool $dir/spool"
  # shellcheck disable=SC2086
  if ! $EJ_CTL start >"$WORK/ejabberd.out" 2>&1 || ! $EJ_CTL started >>"$WORK/ejabberd.out" 2>&1; then
    log "ejabberd did not start:"
    cat "$WORK/ejabberd.out" "$dir"/logs/*.log >&2 2>/dev/null || true
    return 1
  fi
  EJ_PID=$(cat "$dir/ejabberd.pid")
  # shellcheck disable=SC2086
  $EJ_CTL register alice localhost pw >>"$WORK/ejabberd.out" 2>&1 &&
    $EJ_CTL register bob localhost pw >>"$WORK/ejabberd.out" 2>&1 &&
    $EJ_CTL add_rosteritem alice localhost bob localhost bob bench both >>"$WORK/ejabberd.out" 2>&1 &&
    $EJ_CTL add_rosteritem bob localhost alice localhost alice bench both >>"$WORK/ejabberd.out" 2>&1 &&
    "$BSB" wait --address "127.0.0.1:$EJ_C2S" --timeout 30
}

stop_ejabberd() {
  [ -n "$EJ_CTL" ] || return 0
  # shellcheck disable=SC2086,SC2015
  $EJ_CTL stop >/dev/null 2>&1 && $EJ_CTL stopped >/dev/null 2>&1 || true
  if [ -n "$EJ_PID" ] && kill -0 "$EJ_PID" 2>/dev/null; then
    kill -TERM "$EJ_PID" 2>/dev/null || true
    sleep 1
    kill -KILL "$EJ_PID" 2>/dev/null || true
  fi
  EJ_CTL=""
}

# Prosody 0.12 with a generated configuration, one instance per NAME under
# $WORK/prosody-NAME. It refuses root unless run_as_root is set; prosodyctl
# registers the accounts before it starts. KIND is proxy65 (the relay
# contestant) or upload-tuned / upload-stock (XEP-0363 through
# mod_http_file_share on its own HTTP port, files up to UPLOAD_LIMIT bytes).
# Sets PR_C2S, PR_P65 (proxy65) or PR_HTTP (upload), and PR_PID.
start_prosody() {
  name=$1
  kind=$2
  dir=$WORK/prosody-$name
  mkdir -p "$dir/data" "$dir/certs"
  # shellcheck disable=SC2046
  set -- $("$BSB" ports --count 2)
  PR_C2S=$1 PR_HTTP=""
  case $kind in
    proxy65)
      PR_P65=$2
      modules='"roster", "saslauth", "disco", "ping"'
      settings="proxy65_ports = { $PR_P65 }
proxy65_interfaces = { \"127.0.0.1\" }
http_ports = { }"
      component='Component "proxy.localhost" "proxy65"
    proxy65_address = "127.0.0.1"'
      ;;
    upload-*)
      PR_HTTP=$2
      modules='"roster", "saslauth", "disco", "ping", "http"'
      settings="http_ports = { $PR_HTTP }
http_interfaces = { \"127.0.0.1\" }"
      # Tuned as an operator expecting large files would: the network layer
      # reads 1 MiB at a time instead of its default 4 KiB
      # (network_default_read_size). "*a" (whatever the socket has) was as
      # fast in trials but overran the HTTP parser's buffer limit now and
      # then. Stock leaves it alone. Both have the size limit (10 MB by
      # default) and the quotas raised to let the files through at all;
      # uploads larger than http_max_content_size are streamed to disk
      # either way. http_host: the URLs point at 127.0.0.1, and Prosody
      # routes HTTP requests by their Host.
      if [ "$kind" = upload-tuned ]; then
        settings="$settings
network_default_read_size = 1048576"
      fi
      component="Component \"upload.localhost\" \"http_file_share\"
    http_file_share_size_limit = $UPLOAD_LIMIT
    http_file_share_daily_quota = $((UPLOAD_LIMIT * 16))
    http_file_share_global_quota = $((UPLOAD_LIMIT * 16))
    http_host = \"127.0.0.1\"
    http_external_url = \"http://127.0.0.1:$PR_HTTP/\""
      ;;
  esac
  cat >"$dir/prosody.cfg.lua" <<EOF
-- generated by tests/bench/run.sh
run_as_root = true
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
certificates = "$dir/certs"
log = { { levels = { min = "warn" }, to = "file", filename = "$dir/prosody.log" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $PR_C2S }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
https_ports = { }
$settings
modules_enabled = { $modules }
modules_disabled = { "s2s", "offline", "tls" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
VirtualHost "localhost"
$component
EOF
  if ! prosodyctl --config "$dir/prosody.cfg.lua" register alice localhost pw >"$dir/prosody.out" 2>&1 ||
    ! prosodyctl --config "$dir/prosody.cfg.lua" register bob localhost pw >>"$dir/prosody.out" 2>&1; then
    log "prosodyctl could not register the accounts:"
    cat "$dir/prosody.out" >&2
    return 1
  fi
  prosody --config "$dir/prosody.cfg.lua" >>"$dir/prosody.out" 2>&1 &
  PR_PID=$!
  PR_PIDS="$PR_PIDS $PR_PID"
  if ! "$BSB" wait --address "127.0.0.1:$PR_C2S" --timeout 30 ||
    { [ -n "$PR_HTTP" ] && ! "$BSB" wait --address "127.0.0.1:$PR_HTTP" --timeout 30; }; then
    log "Prosody did not start:"
    cat "$dir/prosody.out" "$dir/prosody.log" >&2 2>/dev/null || true
    return 1
  fi
}

# stop_prosody [PID]: that instance; without one, every instance started.
stop_prosody() {
  for p in ${1:-$PR_PIDS}; do
    kill -TERM "$p" 2>/dev/null || true
    reap "$p"
    PR_PIDS=$(echo " $PR_PIDS " | sed "s/ $p / /; s/^ *//; s/ *\$//")
  done
}

cleanup() {
  status=$?
  trap - EXIT INT TERM
  for name in $PTS_NAMES; do
    stop_pts "$name"
  done
  stop_prosody
  stop_ejabberd
  if [ -n "$WORK" ]; then
    if [ "$FAILED" = 0 ] && [ "$KEEP_WORK" = 0 ] && [ "$status" = 0 ]; then
      rm -rf "$WORK"
    else
      log "logs kept in $WORK"
    fi
  fi
  exit "$status"
}

# ---- measurements --------------------------------------------------------------

# measure KEY BSB-ARGUMENTS…: one run; its RUN line goes to runs.txt.
measure() {
  key=$1
  shift
  if "$BSB" "$@" --name "$key" --timeout "$RUN_TIMEOUT" >"$WORK/run.out" 2>"$WORK/run.err"; then
    line=$(grep '^RUN ' "$WORK/run.out" || true)
  else
    line=$(grep '^RUN ' "$WORK/run.out" || echo "RUN name=$key ok=0")
    FAILED=1
    log "FAIL $key: $(cat "$WORK/run.err")"
    cat "$WORK/run.err" >>"$WORK/errors.log"
  fi
  echo "$line" >>"$WORK/runs.txt"
  mib=$(echo "$line" | sed -n 's/.* mib_s=\([^ ]*\).*/\1/p')
  rss=$(echo "$line" | sed -n 's/.* peak_rss_kib=\([^ ]*\).*/\1/p')
  log "$key: ${mib:-?} MiB/s, peak RSS ${rss:-?} KiB"
}

# contestant ARGS for CONTESTANT (a pair on pts instance INSTANCE, or a baseline)
contestant_args() {
  c=$1
  instance=$2
  case $c in
    socat)
      echo "socat --socat-buffer $SOCAT_BUFFER"
      ;;
    ejabberd)
      echo "relay --pair socks5-socks5 --c2s 127.0.0.1:$EJ_C2S --socks5 127.0.0.1:$EJ_P65 --server-pid $EJ_PID"
      ;;
    prosody)
      echo "relay --pair socks5-socks5 --c2s 127.0.0.1:$PX_C2S --socks5 127.0.0.1:$PX_P65 --server-pid $PX_PID"
      ;;
    https-https)
      read -r pid _ _ <"$WORK/pts-relay-https.env"
      echo "relay --pair http-http --c2s 127.0.0.1:$EJ_C2S --proxy-jid bsproxy.localhost --ca-file $TLS_DIR/ca/ca.pem --server-pid $pid"
      ;;
    *)
      read -r pid c2s socks5 <"$WORK/pts-$instance.env"
      echo "relay --pair ${c%-t1} --c2s $c2s --socks5 $socks5 --server-pid $pid"
      ;;
  esac
}

BASELINES=""

# https_setup: proxy-test-server with the generated certificate, attached as
# the XEP-0114 component bsproxy.localhost to the benchmark's ejabberd (the
# embedded server would require STARTTLS, which bsb-bench's XMPP does not
# speak; only IQs take that path, the bytes go over HTTPS). Adds the
# contestant https-https, or says in HTTPS_NOTE why not.
HTTPS_NOTE=""
https_setup() {
  HTTPS=""
  case " $BASELINES " in
    *" ejabberd "*) ;;
    *)
      HTTPS_NOTE="SKIP HTTPS → HTTPS: ejabberd, which it attaches to, did not start"
      return 0
      ;;
  esac
  if ! make_tls; then
    HTTPS_NOTE="SKIP HTTPS → HTTPS: $TLS_NOTE"
    return 0
  fi
  # shellcheck disable=SC2086
  if start_pts_with relay-https --component "127.0.0.1:$EJ_SVC" \
    --component-secret-file "$WORK/ejabberd-component.secret" --proxy-jid bsproxy.localhost \
    --tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key" $THREADS_OPT; then
    HTTPS=https-https
  else
    FAILED=1
    HTTPS_NOTE="SKIP HTTPS → HTTPS: proxy-test-server did not start with TLS as a component of ejabberd"
  fi
}

figure_relay() {
  log "figure 1: relay, one stream of $RELAY_LABEL, $RUNS run(s) each, alternating"
  for pair in $PAIRS; do
    # shellcheck disable=SC2086
    start_pts "relay-$pair" $THREADS_OPT
  done
  https_setup
  run=1
  while [ $run -le "$RUNS" ]; do
    for c in $PAIRS $HTTPS socat $BASELINES; do
      # shellcheck disable=SC2046
      measure "relay/$c" $(contestant_args "$c" "relay-$c") --size "$RELAY_SIZE" --seed $((run * 7919))
    done
    run=$((run + 1))
  done
  for pair in $PAIRS; do
    stop_pts "relay-$pair"
  done
  stop_pts relay-https
}

# N simultaneous transfers per pair, with RELAY_THREADS workers; at the
# highest N also the same binary with one worker thread (pair-t1), and
# socat's single stream at N = 1.
figure_concurrency() {
  log "figure 2: concurrency $LEVELS × $CONC_LABEL, $RELAY_THREADS relay thread(s), $RUNS run(s) each, alternating"
  for pair in $PAIRS; do
    # shellcheck disable=SC2086
    start_pts "conc-$pair" $THREADS_OPT
  done
  top=""
  for n in $LEVELS; do top=$n; done
  one_thread=""
  if [ -n "$THREADS_OPT" ]; then
    for pair in $PAIRS; do
      start_pts "conc-$pair-t1" --relay-threads 1
      one_thread="$one_thread $pair-t1"
    done
  fi
  for n in $LEVELS; do
    extra=""
    [ "$n" != 1 ] || extra=socat
    [ "$n" != "$top" ] || extra=$one_thread
    run=1
    while [ $run -le "$RUNS" ]; do
      for c in $PAIRS $extra $BASELINES; do
        # shellcheck disable=SC2046
        if [ "$c" = socat ]; then
          measure "conc/$n/$c" $(contestant_args "$c" "") --size "$CONC_SIZE" \
            --seed $((run * 104729 + n))
        else
          measure "conc/$n/$c" $(contestant_args "$c" "conc-$c") --size "$CONC_SIZE" \
            --streams "$n" --seed $((run * 104729 + n))
        fi
      done
      run=$((run + 1))
    done
  done
  for pair in $PAIRS $one_thread; do
    stop_pts "conc-$pair"
  done
}

figure_sizes() {
  log "figure 3: peak RSS against file size ($SIZES), fresh servers"
  for pair in $PAIRS; do
    start_pts "size-$pair"
    for s in $SIZES; do
      # shellcheck disable=SC2046
      measure "size/$s/$pair" $(contestant_args "$pair" "size-$pair") --size "$s" --seed 31337
    done
    stop_pts "size-$pair"
  done
}

# ---- XEP-0363 HTTP File Upload through Prosody -------------------------------------

# The alternative users have today: alice asks Prosody's mod_http_file_share
# for a slot, PUTs the file, then GETs it back as bob would, every byte
# checked; the clock runs from the slot request to the download's last byte.
# Two Prosody instances side by side, tuned and stock (see start_prosody);
# stock reads uploads 4 KiB at a time, hence its smaller file. Each stored
# file is deleted after its run (the disk would fill otherwise).
figure_upload() {
  log "figure 5: XEP-0363 through Prosody's mod_http_file_share, tuned $UPLOAD_LABEL, stock $UPLOAD_STOCK_LABEL, $RUNS run(s) each, alternating"
  if ! start_prosody upload-tuned upload-tuned; then
    FAILED=1
    UPLOAD_NOTE="SKIP XEP-0363: Prosody (tuned) did not start"
    return 0
  fi
  up_tuned="$PR_C2S $PR_PID"
  if ! start_prosody upload-stock upload-stock; then
    FAILED=1
    UPLOAD_NOTE="SKIP XEP-0363: Prosody (stock) did not start"
    return 0
  fi
  up_stock="$PR_C2S $PR_PID"
  run=1
  while [ $run -le "$RUNS" ]; do
    for variant in tuned stock; do
      # shellcheck disable=SC2086
      if [ $variant = tuned ]; then
        set -- $up_tuned
        size=$UPLOAD_SIZE
      else
        set -- $up_stock
        size=$UPLOAD_STOCK_SIZE
      fi
      measure "upload/$variant" upload --c2s "127.0.0.1:$1" --server-pid "$2" --size "$size" \
        --seed $((run * 6151))
      find "$WORK/prosody-upload-$variant/data" -type f -path '*http_file_share*' -size +1M \
        -delete 2>/dev/null || true
    done
    run=$((run + 1))
  done
  stop_prosody "${up_tuned#* }"
  stop_prosody "${up_stock#* }"
}

# ---- end to end: libpurple + plugin ----------------------------------------------

# The libpurple side, timed: two tests/purple drivers (alice sends, bob
# accepts), each with or without the plugin, through a fresh
# proxy-test-server; plain → plain through it is the reference row. Combos
# are SENDER-RECEIVER[-VARIANT]: -https through a proxy-test-server with the
# generated certificate (STARTTLS for XMPP, HTTPS for the bytes; both
# drivers trust the CA with --ca-dir); -direct with bob not behind NAT, so
# that he may take alice's own streamhost; and, as the baseline of the
# issue, two plain drivers through the benchmark's own ejabberd and its
# mod_proxy65 (plain-plain-ejabberd, bob as behind NAT). The clock runs from
# bob's "xfer-offered" to bob's "xfer-completed" (each driver line stamped
# with the monotonic clock as it comes); the received file must equal the
# sent one. Each driver runs under `bsb-bench rusage`: its CPU time and
# peak RSS, sign-in included, from wait4().
E2E_COMBOS="plain-plain plugin-plugin plugin-plain plain-plugin plain-plain-direct plugin-plugin-direct"
E2E_HTTPS=plugin-plugin-https
E2E_EJ=plain-plain-ejabberd
E2E_NOTE=""
E2E_EJ_NOTE=""
E2E_HTTPS_NOTE=""
DRIVER=$BUILD/tests/purple/bsp-purple-driver
PLUGIN=$BUILD/plugin/bsproxy.so

# e2e_pair DIR HOST PORT TIMEOUT FILE SENDER-ARGS RECEIVER-ARGS: bob accepts
# into DIR/recv while alice sends FILE, both signed in to HOST:PORT; their
# stamped events go to DIR/alice.events and DIR/bob.events, their stderr to
# DIR/*.log, their exit statuses to DIR/*.status, their CPU time and peak
# RSS to DIR/*.rusage.
e2e_pair() {
  dir=$1
  rm -rf "$dir"
  mkdir -p "$dir/recv"
  # shellcheck disable=SC2086
  (
    DBUS_SESSION_BUS_ADDRESS=disabled: "$BSB" rusage "$dir/bob.rusage" "$DRIVER" --user-dir "$dir/bob" \
      --account bob@localhost/bench:pw --server "$2" --port "$3" --timeout "$4" \
      $7 --accept-dir "$dir/recv" 2>"$dir/bob.log"
    echo $? >"$dir/bob.status"
  ) | "$BSB" stamp >"$dir/bob.events" &
  bob=$!
  # shellcheck disable=SC2086
  (
    DBUS_SESSION_BUS_ADDRESS=disabled: "$BSB" rusage "$dir/alice.rusage" "$DRIVER" --user-dir "$dir/alice" \
      --account alice@localhost/bench:pw --server "$2" --port "$3" --timeout "$4" \
      $6 --send-file "$5" --to bob@localhost/bench 2>"$dir/alice.log"
    echo $? >"$dir/alice.status"
  ) | "$BSB" stamp >"$dir/alice.events"
  wait "$bob" || true
}

# e2e_ej_route DIR: the path a transfer through ejabberd took, from bob's
# libpurple log (--debug): SOCKS5-SOCKS5 when bob used the proxy's
# streamhost, IBB when libpurple fell back to in-band bytestreams.
e2e_ej_route() {
  if grep -q "<streamhost-used jid='proxy\.localhost'/>" "$1/bob.log" 2>/dev/null; then
    echo SOCKS5-SOCKS5
  elif grep -q "<open [^>]*protocol/ibb" "$1/bob.log" 2>/dev/null; then
    echo IBB
  else
    echo none
  fi
}

# e2e_once COMBO FILE SIZE
e2e_once() {
  combo=$1
  file=$2
  size=$3
  dir=$WORK/e2e/run
  sender=${combo%%-*}
  rest=${combo#*-}
  receiver=${rest%%-*}
  variant=${rest#"$receiver"}
  variant=${variant#-}
  instance=e2e
  [ "$variant" != https ] || instance=e2e-tls
  case $variant in
    ejabberd)
      pid=$EJ_PID host=127.0.0.1 port=$EJ_C2S
      ;;
    *)
      read -r pid c2s _ <"$WORK/pts-$instance.env"
      host=${c2s%:*}
      port=${c2s##*:}
      ;;
  esac
  sender_args="" receiver_args=""
  [ "$sender" != plugin ] || sender_args="--plugin $PLUGIN"
  [ "$receiver" != plugin ] || receiver_args="--plugin $PLUGIN"
  # Plain libpurple receivers would take alice's own streamhosts first: as
  # behind NAT, they use the proxy only, unless the row is about direct.
  [ "$receiver" != plain ] || [ "$variant" = direct ] || receiver_args="--no-direct"
  if [ "$variant" = https ]; then
    sender_args="$sender_args --ca-dir $TLS_DIR/ca"
    receiver_args="$receiver_args --ca-dir $TLS_DIR/ca"
  fi
  # Through ejabberd, bob's libpurple log tells which streamhost it used
  # (a few hundred lines per run, none per block).
  [ "$variant" != ejabberd ] || receiver_args="$receiver_args --debug"
  log=$WORK/pts-$instance.log
  seen_active=$(grep -c 'active: ' "$log" 2>/dev/null || true)
  clk=$(getconf CLK_TCK)
  cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
  e2e_pair "$dir" "$host" "$port" "$RUN_TIMEOUT" "$file" "$sender_args" "$receiver_args"
  cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
  case $variant in
    ejabberd)
      route=$(e2e_ej_route "$dir")
      want=SOCKS5-SOCKS5
      ;;
    *)
      # The relay this transfer opened, if any: a direct transfer opens none.
      route=$(grep 'active: ' "$log" | tail -n +$((seen_active + 1)) |
        sed -n 's/.*active: .* (\([A-Z0-9]*\)) → .* (\([A-Z0-9]*\))$/\1-\2/p' | tail -n 1)
      if [ "$variant" = direct ]; then
        route=${route:-direct}
        want=$route
      else
        want=${route:-"a relay through the proxy"}
      fi
      ;;
  esac
  t0=$(sed -n 's/^\([0-9]*\) {"event":"xfer-offered".*/\1/p' "$dir/bob.events" | head -n 1)
  t1=$(sed -n 's/^\([0-9]*\) {"event":"xfer-completed".*/\1/p' "$dir/bob.events" | head -n 1)
  received=$dir/recv/$(basename "$file")
  if [ "$(cat "$dir/alice.status" 2>/dev/null)" = 0 ] && [ "$(cat "$dir/bob.status" 2>/dev/null)" = 0 ] &&
    [ -n "$t0" ] && [ -n "$t1" ] && [ "$route" = "$want" ] && cmp -s "$file" "$received"; then
    awk -v k="e2e/$combo" -v size="$size" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" \
      -v clk="$clk" -v rss="$rss" -v route="$route" \
      -v snd="$(cat "$dir/alice.rusage" 2>/dev/null)" -v rcv="$(cat "$dir/bob.rusage" 2>/dev/null)" '
      function get(s, key,    m) {
        return match(s, key "=[-0-9.]+") ? substr(s, RSTART + length(key) + 1, RLENGTH - length(key) - 1) : -1
      }
      BEGIN {
        s = (t1 - t0) / 1e6; cpu = (c1 - c0) / clk; gib = size / 1073741824
        printf "RUN name=%s ok=1 streams=1 bytes=%d seconds=%.4f mib_s=%.1f cpu_s=%.3f cpu_s_per_gib=%.3f cpu_pct=%.1f peak_rss_kib=%d route=%s",
          k, size, s, size / 1048576 / s, cpu, cpu / gib, 100 * cpu / s, rss, route
        printf " snd_cpu_s_per_gib=%.3f snd_rss_kib=%d rcv_cpu_s_per_gib=%.3f rcv_rss_kib=%d\n",
          get(snd, "cpu_s") / gib, get(snd, "peak_rss_kib"), get(rcv, "cpu_s") / gib, get(rcv, "peak_rss_kib")
      }' >>"$WORK/runs.txt"
  else
    FAILED=1
    echo "RUN name=e2e/$combo ok=0 route=$route" >>"$WORK/runs.txt"
    if [ "$route" != "$want" ]; then
      log "FAIL e2e/$combo: the bytes did not take the expected path (route ${route:-none}, wanted $want; drivers' logs: $WORK/e2e/failed-$combo)"
    else
      log "FAIL e2e/$combo: the file did not arrive whole (drivers' logs: $WORK/e2e/failed-$combo)"
    fi
    rm -rf "$WORK/e2e/failed-$combo"
    mv "$dir" "$WORK/e2e/failed-$combo"
    return 0
  fi
  log "e2e/$combo ($route): $(tail -n 1 "$WORK/runs.txt" | sed -n 's/.* mib_s=\([^ ]*\).*/\1/p') MiB/s"
}

# e2e_probe_ejabberd: one small transfer, not counted, plain libpurple to
# plain libpurple through ejabberd before its figure is measured. Prints why
# ejabberd cannot serve as the baseline, or nothing when it can.
e2e_probe_ejabberd() {
  case " $BASELINES " in
    *" ejabberd "*) ;;
    *)
      echo "ejabberd did not start (see the log above)"
      return 0
      ;;
  esac
  dir=$WORK/e2e/probe-ejabberd
  "$BSB" file --size 1M --seed 99 --output "$WORK/e2e/probe.bin" >/dev/null
  e2e_pair "$dir" 127.0.0.1 "$EJ_C2S" 60 "$WORK/e2e/probe.bin" "" "--no-direct --debug"
  a=$dir/alice.events
  b=$dir/bob.events
  if ! grep -q '"event":"signed-on"' "$a" || ! grep -q '"event":"signed-on"' "$b"; then
    reason=$(sed -n 's/.*"event":"connection-error".*"reason":"\([^"]*\)".*/\1/p' "$a" "$b" | head -n 1)
    echo "libpurple could not sign in to ejabberd's c2s on 127.0.0.1:$EJ_C2S (${reason:-no signed-on event}; logs in $dir)"
  elif ! grep -q '"event":"ft-proxy-ready"' "$a" || ! grep -q '"event":"ft-proxy-ready"' "$b"; then
    echo "libpurple found no bytestreams proxy: no ft-proxy-ready event, so disco#items of localhost gave no proxy.localhost with a streamhost (logs in $dir)"
  elif ! grep -q '"event":"buddy-online"' "$a"; then
    echo "alice never saw bob online: the rosters (mod_roster, ejabberdctl add_rosteritem) are not in place (logs in $dir)"
  elif [ "$(e2e_ej_route "$dir")" != SOCKS5-SOCKS5 ]; then
    echo "bob did not use ejabberd's proxy (route $(e2e_ej_route "$dir"); logs in $dir)"
  elif ! grep -q '"event":"xfer-completed"' "$b" || ! cmp -s "$WORK/e2e/probe.bin" "$dir/recv/probe.bin"; then
    echo "a 1 MiB transfer through ejabberd's proxy did not arrive whole (logs in $dir)"
  else
    rm -rf "$dir"
  fi
  rm -f "$WORK/e2e/probe.bin"
}

figure_end_to_end() {
  for target in bsp-purple-driver bsproxy; do
    if meson introspect "$BUILD" --targets 2>/dev/null | grep -q "\"name\": \"$target\""; then
      meson compile -C "$BUILD" "$target" >/dev/null 2>&1 || true
    fi
  done
  if [ ! -x "$DRIVER" ] || ! "$DRIVER" --help 2>/dev/null | grep -q -- '--send-file'; then
    E2E_NOTE="SKIP end-to-end: plugin driver not available"
    echo "$E2E_NOTE"
    return 0
  fi
  if [ ! -f "$PLUGIN" ]; then
    E2E_NOTE="SKIP end-to-end: the plugin (bsproxy.so) was not built"
    echo "$E2E_NOTE"
    return 0
  fi
  mkdir -p "$WORK/e2e"
  combos=$E2E_COMBOS
  E2E_EJ_NOTE=$(e2e_probe_ejabberd)
  if [ -z "$E2E_EJ_NOTE" ]; then
    combos="$combos $E2E_EJ"
  else
    E2E_EJ_NOTE="SKIP end-to-end through ejabberd: $E2E_EJ_NOTE"
    echo "$E2E_EJ_NOTE"
    KEEP_WORK=1
  fi
  log "figure 4: end to end, libpurple drivers with and without the plugin, $E2E_LABEL, $RUNS run(s) each, alternating"
  "$BSB" file --size "$E2E_SIZE" --seed 4242 --output "$WORK/e2e/bench-file.bin"
  bytes=$(wc -c <"$WORK/e2e/bench-file.bin")
  # shellcheck disable=SC2086
  start_pts e2e $THREADS_OPT
  # shellcheck disable=SC2086
  if ! make_tls; then
    E2E_HTTPS_NOTE="SKIP end-to-end over HTTPS: $TLS_NOTE"
  elif ! "$DRIVER" --help 2>/dev/null | grep -q -- '--ca-dir'; then
    E2E_HTTPS_NOTE="SKIP end-to-end over HTTPS: the driver cannot trust a CA (no --ca-dir)"
  elif start_pts_with e2e-tls --c2s-port 0 --user alice:pw --user bob:pw \
    --tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key" $THREADS_OPT; then
    combos="$combos $E2E_HTTPS"
  else
    FAILED=1
    E2E_HTTPS_NOTE="SKIP end-to-end over HTTPS: proxy-test-server did not start with the certificate"
  fi
  [ -z "$E2E_HTTPS_NOTE" ] || echo "$E2E_HTTPS_NOTE"
  run=1
  while [ $run -le "$RUNS" ]; do
    for combo in $combos; do
      e2e_once "$combo" "$WORK/e2e/bench-file.bin" "$bytes"
    done
    run=$((run + 1))
  done
  stop_pts e2e
  stop_pts e2e-tls
  rm -f "$WORK/e2e/bench-file.bin"
}

# report MODE: report.awk over the RUN lines, "table" or "results".
report() {
  awk -v mode="$1" -v relay_label="$RELAY_LABEL" -v conc_label="$CONC_LABEL" \
    -v conc_levels="$LEVELS" -v size_labels="$SIZES" -v runs="$RUNS" \
    -v socat_buffer="$SOCAT_BUFFER" -v e2e_label="$E2E_LABEL" -v e2e_note="$E2E_NOTE" \
    -v e2e_ej_note="$E2E_EJ_NOTE" -v e2e_https_note="$E2E_HTTPS_NOTE" -v https_note="$HTTPS_NOTE" \
    -v relay_threads="$RELAY_THREADS" -v threads_note="$THREADS_NOTE" \
    -v upload_label="$UPLOAD_LABEL" -v upload_stock_label="$UPLOAD_STOCK_LABEL" \
    -v upload_note="$UPLOAD_NOTE" -v any_failed="$FAILED" -v figures="$FIGURES" \
    -f "$BENCH_DIR/report.awk" "$WORK/runs.txt"
}

# ---- main ----------------------------------------------------------------------

install_deps
build
relay_threads_setup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bsb-bench.XXXXXX")
chmod 755 "$WORK" # the ejabberd user reads its configuration in here
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
: >"$WORK/runs.txt"

STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
COMMAND="sh tests/bench/run.sh${1:+ $*}"

# ejabberd is a contestant of the relay figures and the baseline of the
# end-to-end one; Prosody only of the relay figures.
if ! wants relay && ! wants conc && ! wants e2e; then
  :
elif start_ejabberd; then
  BASELINES="$BASELINES ejabberd"
else
  FAILED=1
  log "ejabberd is left out"
fi
if ! wants relay && ! wants conc; then
  :
elif start_prosody relay proxy65; then
  PX_C2S=$PR_C2S PX_P65=$PR_P65 PX_PID=$PR_PID
  BASELINES="$BASELINES prosody"
else
  FAILED=1
  log "Prosody is left out"
fi

if wants relay; then figure_relay; fi
if wants conc; then figure_concurrency; fi
if wants sizes; then figure_sizes; fi
if wants e2e; then figure_end_to_end; fi
if wants upload; then figure_upload; fi

stop_prosody
stop_ejabberd

{
  echo "## Benchmark results"
  echo
  echo "\`$COMMAND\` — $STARTED; $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)), Linux $(uname -r), load average at start $LOAD."
  echo "proxy-test-server $(sed -n "s/^  version: '\([^']*\)'.*/\1/p" meson.build) (release build, --buffer-size default),"
  echo "socat $(dpkg-query -W -f='${Version}' socat) with -b $SOCAT_BUFFER,"
  echo "ejabberd $(dpkg-query -W -f='${Version}' ejabberd) (mod_proxy65 defaults, no shaper),"
  echo "Prosody $(dpkg-query -W -f='${Version}' prosody) (mod_proxy65 defaults; mod_http_file_share tuned and stock, see its table)."
  echo "proxy-test-server's relay: $RELAY_THREADS worker thread(s)${THREADS_OPT:+ (--relay-threads $RELAY_THREADS)}; HTTPS with a certificate from a throwaway CA made by openssl for the run."
  echo "Clients: tests/bench/bsb-bench (C, 256 KiB buffers, every byte checked; TLS through GIO); time from the activation IQ to the receiver's last byte;"
  echo "server CPU and peak RSS from /proc (VmHWM after clear_refs, and VmRSS samples), socat's from wait4()."
  echo
  report table
} >"$WORK/table.md"

cat "$WORK/table.md"
echo
report results

# A smoke check or a part does not replace the figures of a full run.
if [ "$QUICK" = 1 ]; then
  TABLE=tests/bench/results/quick.md
elif [ "$FIGURES" != "$ALL_FIGURES" ]; then
  TABLE=tests/bench/results/partial.md
else
  TABLE=tests/bench/results/latest.md
fi
mkdir -p "$BENCH_DIR/results"
cp "$WORK/table.md" "$ROOT/$TABLE"
log "table written to $TABLE"

if [ "$FAILED" != 0 ]; then
  log "some transfers failed or did not verify: see above"
  exit 1
fi
