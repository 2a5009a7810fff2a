#!/bin/sh
# test-ui-load.sh — the plugin loads and unloads in real Finch and Pidgin
#
# Usage: test-ui-load.sh PLUGIN.so        (TAP on stdout)
#
# Each UI runs twice from a fresh config dir (its prefs.xml naming the plugin
# as loaded, or not): Finch inside a detached tmux session, Pidgin under
# xvfb-run, both with --debug. The run with the plugin must log the plugin's
# load and unload, and no warning, critical or error line that the run
# without it did not log too (both UIs print a few of their own).
# A UI that is not installed is skipped.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u

plugin=${1:-${BSP_PLUGIN:-}}
startup_timeout=30
quit_timeout=20

if [ -z "$plugin" ] || [ ! -f "$plugin" ]; then
  echo "1..0 # SKIP no plugin given (test-ui-load.sh PLUGIN.so)"
  exit 0
fi
if grep -q -a '__asan_init\|__ubsan_handle' "$plugin"; then
  echo "1..0 # SKIP the plugin is built with a sanitizer; Finch and Pidgin cannot load it"
  exit 0
fi

have() {
  command -v "$1" >/dev/null 2>&1
}

finch_skip=
pidgin_skip=
have finch || finch_skip="finch is not installed"
[ -n "$finch_skip" ] || have tmux || finch_skip="tmux is not installed"
have pidgin || pidgin_skip="pidgin is not installed"
[ -n "$pidgin_skip" ] || have xvfb-run || pidgin_skip="xvfb-run is not installed"
[ -n "$pidgin_skip" ] || have xauth || pidgin_skip="xauth is not installed"
if [ -n "$finch_skip" ] && [ -n "$pidgin_skip" ]; then
  echo "1..0 # SKIP $finch_skip; $pidgin_skip"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bsp-ui-load.XXXXXX") || exit 1
cleanup() {
  if [ -S "$tmp/tmux.sock" ]; then
    tmux -S "$tmp/tmux.sock" kill-server >/dev/null 2>&1
  fi
  if [ -f "$tmp/pidgin.pid" ]; then
    kill -KILL "$(cat "$tmp/pidgin.pid")" >/dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Keep the UIs off the caller's home, desktop session and network.
export HOME="$tmp/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share"
export XDG_CACHE_HOME="$HOME/.cache" XDG_RUNTIME_DIR="$tmp/runtime"
export DBUS_SESSION_BUS_ADDRESS="disabled:"
unset DBUS_STARTER_ADDRESS G_DEBUG DISPLAY
mkdir -p "$HOME" && mkdir -m 0700 "$XDG_RUNTIME_DIR" || exit 1

# A plugin in libpurple's own plugin directory (as a package installs it) is
# loaded from there; any other is copied into the fresh config dir.
system_plugindir=$(pkg-config --variable=plugindir purple 2>/dev/null || true)

# seed_config DIR UI WITH_PLUGIN — a fresh config dir for UI (finch/pidgin)
# (POSIX sh has no locals: each function prefixes its variables)
seed_config() {
  seed_dir=$1 seed_ui=$2 seed_with=$3
  mkdir -p "$seed_dir/plugins" || return 1
  seed_loaded=
  if [ "$seed_with" = yes ] && [ "$(dirname "$plugin")" = "$system_plugindir" ]; then
    seed_loaded="<item value='$plugin'/>" # installed: loaded from where it is
  elif [ "$seed_with" = yes ]; then
    cp "$plugin" "$seed_dir/plugins/bsproxy.so" || return 1
    seed_loaded="<item value='$seed_dir/plugins/bsproxy.so'/>"
  fi
  cat >"$seed_dir/prefs.xml" <<EOF
<?xml version='1.0' encoding='UTF-8' ?>
<pref version='1' name='/'>
 <pref name='$seed_ui'>
  <pref name='plugins'>
   <pref name='loaded' type='pathlist'>$seed_loaded</pref>
  </pref>
 </pref>
 <pref name='purple'>
  <pref name='network'>
   <pref name='auto_ip' type='bool' value='0'/>
   <pref name='public_ip' type='string' value='127.0.0.1'/>
   <pref name='map_ports' type='bool' value='0'/>
  </pref>
 </pref>
</pref>
EOF
}

# wait_for FILE PATTERN SECONDS — until a line of FILE matches PATTERN
wait_for() {
  wait_tries=$(($3 * 5))
  while [ "$wait_tries" -gt 0 ]; do
    grep -q -e "$2" "$1" 2>/dev/null && return 0
    sleep 0.2
    wait_tries=$((wait_tries - 1))
  done
  return 1
}

# Both UIs load the saved plugins, then the pounces: this line marks the
# end of start-up, with or without the plugin.
startup_done='^([0-9:]*) pounce: '

# run_finch DIR — start, let it settle, quit with Alt-q; log in DIR.log
run_finch() {
  finch_dir=$1
  TERM=${TERM:-xterm} tmux -S "$tmp/tmux.sock" new-session -d -x 160 -y 48 \
    "env TERM=screen finch --debug --config='$finch_dir' 2>'$finch_dir.log'" || return 1
  wait_for "$finch_dir.log" "$startup_done" "$startup_timeout" || return 1
  sleep 1
  tmux -S "$tmp/tmux.sock" send-keys M-q
  finch_tries=$((quit_timeout * 5))
  while tmux -S "$tmp/tmux.sock" has-session >/dev/null 2>&1; do
    [ "$finch_tries" -gt 0 ] || return 1
    sleep 0.2
    finch_tries=$((finch_tries - 1))
  done
  return 0
}

# run_pidgin DIR — start under Xvfb, let it settle, quit with SIGTERM
run_pidgin() {
  pidgin_dir=$1
  rm -f "$tmp/pidgin.pid"
  timeout $((startup_timeout + quit_timeout + 10)) xvfb-run -a sh -c \
    "pidgin --debug --config='$pidgin_dir' >'$pidgin_dir.log' 2>&1 & echo \$! >'$tmp/pidgin.pid'; wait" \
    >/dev/null 2>&1 &
  pidgin_xvfb=$!
  wait_for "$pidgin_dir.log" "$startup_done" "$startup_timeout" || return 1
  sleep 1
  kill -TERM "$(cat "$tmp/pidgin.pid")" || return 1
  wait "$pidgin_xvfb"
  rm -f "$tmp/pidgin.pid"
  return 0
}

# suspicious LOG DIR — its warning-like lines, with times, addresses,
# numbers and the config dir taken out so that two runs compare. Known
# noise that comes and goes without any plugin is left out: Pidgin 2.14
# sets an uninitialised font weight on about every other start.
suspicious() {
  sed -e 's/^([0-9:]*) //' -e "s|$2|DIR|g" -e 's/0x[0-9a-fA-F]*/0xN/g' -e 's/[0-9][0-9]*/N/g' "$1" |
    grep -i -e 'assert' -e 'critical' -e 'warning' -e 'error' -e 'fail' -e 'invalid' \
      -e 'unable' -e 'cannot' -e 'ignor' |
    grep -v -e "^GLib-GObject: value .* for property 'weight' of type 'gint'$" |
    sort -u
}

failed=0
n=0

# check UI — one TAP line for UI
check() {
  ui=$1
  n=$((n + 1))
  base="$tmp/$ui-base"
  with="$tmp/$ui-plugin"

  if ! seed_config "$base" "$ui" no || ! seed_config "$with" "$ui" yes; then
    echo "not ok $n - $ui: cannot write its config"
    failed=1
    return
  fi
  if ! "run_$ui" "$base"; then
    echo "not ok $n - $ui without the plugin did not start and quit"
    sed 's/^/# /' "$base.log" 2>/dev/null | tail -n 20
    failed=1
    return
  fi
  if ! "run_$ui" "$with"; then
    echo "not ok $n - $ui with the plugin did not start and quit"
    sed 's/^/# /' "$with.log" 2>/dev/null | tail -n 20
    failed=1
    return
  fi

  problems=
  grep -q 'plugins: Loading saved plugin .*bsproxy' "$with.log" ||
    problems="$problems; $ui did not load the saved plugin"
  grep -q 'bsproxy: loaded' "$with.log" || problems="$problems; no 'bsproxy: loaded'"
  grep -q 'bsproxy: unloaded' "$with.log" || problems="$problems; no 'bsproxy: unloaded'"

  suspicious "$base.log" "$base" >"$tmp/$ui-base.bad"
  suspicious "$with.log" "$with" >"$tmp/$ui-plugin.bad"
  comm -13 "$tmp/$ui-base.bad" "$tmp/$ui-plugin.bad" >"$tmp/$ui-new.bad"
  [ -s "$tmp/$ui-new.bad" ] && problems="$problems; new warning lines"

  if [ -z "$problems" ]; then
    echo "ok $n - $ui loads and unloads the plugin without new warnings"
  else
    echo "not ok $n - ${problems#; }"
    sed 's/^/# new: /' "$tmp/$ui-new.bad"
    grep -e 'bsproxy' -e 'plugins: ' "$with.log" | sed 's/^/# log: /'
    failed=1
  fi
}

echo "1..2"
if [ -n "$finch_skip" ]; then
  n=$((n + 1))
  echo "ok $n # SKIP $finch_skip"
else
  check finch
fi
if [ -n "$pidgin_skip" ]; then
  n=$((n + 1))
  echo "ok $n # SKIP $pidgin_skip"
else
  check pidgin
fi
exit $failed
