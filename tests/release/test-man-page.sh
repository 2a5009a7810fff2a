#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-man-page.sh SERVER MANPAGE VERSION — the man page and --help list the
# same long options, and the page's title names VERSION (TAP on stdout). The
# man page is written by hand; this keeps it from falling behind the program.
set -u

server=$1 manpage=$2 version=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bsp-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# "  -c, --config=FILE   Read…" and "  --acl-open   Let…": the option lines
"$server" --help >"$tmp/help" || { echo "1..0 # SKIP $server --help failed"; exit 1; }
sed -n 's/^ *\(-[A-Za-z0-9], \)\{0,1\}\(--[a-z0-9][a-z0-9-]*\).*/\2/p' "$tmp/help" |
  sort -u >"$tmp/help.opts"
# the line after each .TP is an option's heading; roff writes - as \-
awk 'tp { print } { tp = ($0 ~ /^\.TP/) }' "$manpage" | sed 's/\\-/-/g' |
  grep -o -e '--[a-z0-9][a-z0-9-]*' | sort -u >"$tmp/man.opts"

n=0
failed=0
report() { # report OK DESCRIPTION
  n=$((n + 1))
  if [ "$1" = yes ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

echo "1..4"
if [ -s "$tmp/help.opts" ]; then report yes "--help lists $(wc -l <"$tmp/help.opts") long options"; else report no "no long option found in --help"; fi
missing=$(comm -23 "$tmp/help.opts" "$tmp/man.opts" | tr '\n' ' ')
if [ -z "$missing" ]; then report yes "the man page describes every option of --help"; else report no "the man page lacks: $missing"; fi
stale=$(comm -13 "$tmp/help.opts" "$tmp/man.opts" | tr '\n' ' ')
if [ -z "$stale" ]; then report yes "the man page describes no option that --help lacks"; else report no "the man page describes options the program does not have: $stale"; fi
if grep -q "^\.TH .*\"pidgin-bsproxy $version\"" "$manpage"; then
  report yes "the title names pidgin-bsproxy $version"
else
  report no "the .TH line does not name pidgin-bsproxy $version: $(grep '^\.TH' "$manpage")"
fi
exit $failed
