#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/package.sh — the Debian packages, built and tested as a user gets
# them. Run as root on Debian 12 (.ci/run calls it after tests/check.sh):
#
#   1. dpkg-buildpackage -us -uc -b in a copy of this tree (which stays clean);
#      with DEB_BUILD_OPTIONS=nocheck unless PACKAGE_BUILD_TESTS=1, as
#      tests/check.sh has just run the same suite twice,
#   2. lintian on the result: no error, no warning,
#   3. apt-get install ./*.deb,
#   4. the headless end-to-end tests with the INSTALLED plugin (from
#      libpurple's system plugin directory) and the installed server,
#   5. the installed plugin in real Finch and Pidgin,
#   6. systemd-analyze verify on the installed unit, and the installed server
#      started with the unit's ExecStart line and its configuration file (on
#      free ports), as an unprivileged user: READY, SIGHUP ignored, SIGTERM
#      ends it with status 0,
#   7. the packages purged again (KEEP_PACKAGES=1 keeps them), so that later
#      test runs on this machine see no system-wide copy of the plugin.
set -eu
cd "$(dirname "$0")/.."

sh tests/install-deps.sh
packaging="debhelper dpkg-dev lintian appstream systemd"
missing=""
for p in $packaging; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "package: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing
fi

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version%-*}
project=$(sed -n "s/^  version: '\([^']*\)'.*/\1/p" meson.build)
if [ "$upstream" != "$project" ]; then
  echo "package: debian/changelog is at $upstream, meson.build at $project" >&2
  exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bsp-package.XXXXXX")
installed=""
server_pid=""
creds=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$installed" ] && [ "${KEEP_PACKAGES:-0}" != 1 ]; then
    echo "== purging the packages"
    apt-get purge -y -q -o DPkg::Lock::Timeout=600 $installed >/dev/null || true
  fi
  rm -rf "$tmp" ${creds:+"$creds"}
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "== dpkg-buildpackage -us -uc -b ($version, in a copy of the tree)"
tree="$tmp/src/pidgin-bsproxy-$upstream"
mkdir -p "$tree"
if [ -d .git ] || [ -f .git ]; then
  # what git tracks, and new files it does not ignore: the tree as it is
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$tree" -xf -
else
  tar --exclude='./build*' --exclude='./_build*' --exclude='./obj-*' -cf - . | tar -C "$tree" -xf -
fi
options="parallel=2"
[ "${PACKAGE_BUILD_TESTS:-0}" = 1 ] || options="$options nocheck"
if ! (cd "$tree" && DEB_BUILD_OPTIONS="$options ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
  kept="${TMPDIR:-/tmp}/pidgin-bsproxy-package-build.log"
  cp "$tmp/build.log" "$kept"
  tail -n 60 "$tmp/build.log"
  echo "package: dpkg-buildpackage failed; its whole log is in $kept" >&2
  exit 1
fi
changes=$(ls "$tmp"/src/*.changes)
debs=$(ls "$tmp"/src/*.deb | grep -v -e '-dbgsym_')
for d in "$tmp"/src/*.deb; do echo "   $(basename "$d")"; done

echo "== lintian (no errors, no warnings)"
lintian --fail-on error,warning --display-info "$changes"

echo "== apt-get install ./*.deb"
installed=$(for d in $debs; do dpkg-deb -f "$d" Package; done | tr '\n' ' ')
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $debs >/dev/null

plugindir=$(pkg-config --variable=plugindir purple)
plugin="$plugindir/bsproxy.so"
server=/usr/bin/bsproxy-server
unit=/lib/systemd/system/bsproxy-server.service
for f in "$plugin" "$server" "$unit" /etc/bsproxy-server/config.json \
  /usr/share/metainfo/im.pidgin.Pidgin.Plugin.bsproxy.metainfo.xml \
  /usr/share/man/man1/bsproxy-server.1.gz /usr/share/locale/de/LC_MESSAGES/pidgin-bsproxy.mo; do
  [ -e "$f" ] || { echo "package: $f is not installed" >&2; exit 1; }
done
"$server" --version

echo "== end to end with the installed plugin ($plugin) and server"
# Only the headless driver and the test program come from a build tree.
meson setup "$tmp/build" -Dfuzzing=false >/dev/null
meson compile -C "$tmp/build" bsp-purple-driver test-e2e >/dev/null
GIO_USE_PROXY_RESOLVER=dummy GIO_USE_VFS=local G_SLICE=always-malloc \
  BSP_PLUGIN="$plugin" PTS_SERVER="$server" "$tmp/build/tests/purple/test-e2e" --tap >"$tmp/e2e.tap" 2>"$tmp/e2e.log" ||
  { cat "$tmp/e2e.tap"; tail -n 40 "$tmp/e2e.log"; exit 1; }
echo "   $(grep -c '^ok' "$tmp/e2e.tap") passed: $(grep -c '^not ok' "$tmp/e2e.tap") failed"
grep -q '^not ok' "$tmp/e2e.tap" && { grep '^not ok' "$tmp/e2e.tap"; exit 1; }

echo "== the installed plugin in Finch and Pidgin"
sh tests/purple/test-ui-load.sh "$plugin" | tee "$tmp/ui.tap"
grep -q '^not ok' "$tmp/ui.tap" && exit 1

echo "== systemd-analyze verify $unit"
# it only warns about lines it ignores: any output is a failure
if ! systemd-analyze verify "$unit" >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
  cat "$tmp/verify.log" >&2
  echo "package: systemd-analyze verify complains about $unit" >&2
  exit 1
fi

echo "== the installed server as its unit starts it"
# LoadCredential=NAME:PATH as systemd does it: a private copy for the service.
# Its ports become 0 (free ones): the shipped 5222/7777/7778 may be taken on
# a CI machine, by a system Prosody for one.
creds=$(mktemp -d "${TMPDIR:-/tmp}/bsp-credentials.XXXXXX")
credential=$(sed -n 's/^LoadCredential=//p' "$unit")
sed -E 's/"(c2s|socks5|http)-port": *[0-9]+/"\1-port": 0/' "${credential#*:}" >"$creds/${credential%%:*}"
grep -q '"c2s-port": 0' "$creds/${credential%%:*}" || { echo "package: no c2s-port in ${credential#*:}" >&2; exit 1; }
chown -R nobody:nogroup "$creds"
execstart=$(sed -n 's/^ExecStart=//p' "$unit" | sed "s|\${CREDENTIALS_DIRECTORY}|$creds|g")
echo "   $(sed -n 's/^ExecStart=//p' "$unit")"
echo "   CREDENTIALS_DIRECTORY=$creds, with a copy of ${credential#*:} (ports 0)"
# as an unprivileged user, like DynamicUser=
mkfifo "$tmp/server.out"
# shellcheck disable=SC2086
setpriv --reuid=nobody --regid=nogroup --clear-groups $execstart >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
ready=$(timeout 30 head -n 1 "$tmp/server.out" || true)
case $ready in
  "READY "*) echo "   $ready" ;;
  *)
    echo "package: the installed server printed no READY line:" >&2
    cat "$tmp/server.log" >&2
    exit 1
    ;;
esac
kill -HUP "$server_pid"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
if [ "$status" -ne 0 ]; then
  echo "package: after SIGHUP and SIGTERM the server exited with status $status:" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
echo "   SIGHUP ignored, SIGTERM: exit status 0"
echo "== package: all passed"
