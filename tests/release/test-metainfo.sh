#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-metainfo.sh METAINFO VERSION — the plugin's AppStream file passes
# appstreamcli validate, and its newest release is the project's version
# (TAP on stdout). Skips the validation when appstreamcli is not installed.
set -u

metainfo=$1 version=$2
echo "1..2"
if ! command -v appstreamcli >/dev/null 2>&1; then
  echo "ok 1 # SKIP appstreamcli is not installed (Debian: appstream)"
elif out=$(appstreamcli validate --no-net "$metainfo" 2>&1); then
  echo "ok 1 - appstreamcli validate accepts $(basename "$metainfo")"
else
  echo "not ok 1 - appstreamcli validate rejects $(basename "$metainfo")"
  echo "$out" | sed 's/^/# /'
  failed=1
fi
newest=$(sed -n 's/.*<release [^>]*version="\([^"]*\)".*/\1/p' "$metainfo" | head -n 1)
if [ "$newest" = "$version" ]; then
  echo "ok 2 - the newest release in the metainfo is $version"
else
  echo "not ok 2 - the newest release in the metainfo is '$newest', the project is $version"
  failed=1
fi
exit ${failed:-0}
