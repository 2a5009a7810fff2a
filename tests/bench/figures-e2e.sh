#!/bin/sh
# tests/bench/figures-e2e.sh — the figures of tests/bench/run.sh that drive
# whole clients: XEP-0363 through Prosody, and libpurple end to end
#
# Sourced by run.sh, after servers.sh; uses its measure, log and state.
#
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh disable=SC2034

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
  # Receivers, plain or with the plugin, would take alice's own streamhosts
  # first: as behind NAT, they use the proxy only, unless the row is about
  # direct.
  [ "$variant" = direct ] || receiver_args="$receiver_args --no-direct"
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
