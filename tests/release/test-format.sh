#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-format.sh SRCDIR — every C source file is laid out as .clang-format
# says (TAP on stdout). Needs clang-format 14, Debian 12's: another version
# lays some constructs out differently, so without it the test is skipped.
set -u

cd "$1" || exit 1
cf=
for c in clang-format-14 clang-format; do
  if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q ' version 14\.'; then
    cf=$c
    break
  fi
done
if [ -z "$cf" ]; then
  echo "1..0 # SKIP clang-format 14 is not installed (apt-get install clang-format)"
  exit 0
fi

unformatted=
count=0
for f in $(find . \( -name .git -o -name 'build*' -o -name '_build*' -o -name 'obj-*' \
  -o -name debian -o -name corpus \) -prune -o -type f \( -name '*.c' -o -name '*.h' \) \
  -print | sort); do
  count=$((count + 1))
  "$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted="$unformatted ${f#./}"
done

echo "1..1"
if [ -z "$unformatted" ]; then
  echo "ok 1 - $count C files laid out as .clang-format says"
else
  echo "not ok 1 - not as .clang-format says (run: $cf -i FILE):$unformatted"
  exit 1
fi
