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
#
# The servers are started by servers.sh, the figures that drive whole
# clients (e2e, upload) are in figures-e2e.sh; both are sourced here.
# Some variables are used only by the sourced servers.sh and figures-e2e.sh
# (shellcheck -x follows them).
# shellcheck disable=SC2034
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

# shellcheck source=tests/bench/servers.sh
. "$BENCH_DIR/servers.sh"

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

# shellcheck source=tests/bench/figures-e2e.sh
. "$BENCH_DIR/figures-e2e.sh"

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
