#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-spdx.sh SRCDIR — every source file says its licence with an
# SPDX-License-Identifier line near its top (TAP on stdout).
set -u

cd "$1" || exit 1
missing=
count=0
for f in $(find . \( -name .git -o -name 'build*' -o -name '_build*' -o -name 'obj-*' \
  -o -name debian -o -name corpus \) -prune -o -type f \( -name '*.c' -o -name '*.h' \
  -o -name '*.sh' -o -name '*.awk' -o -name meson.build -o -name meson_options.txt \
  -o -name '*.in' -o -name '*.1' \) -print | sort) ./.ci/run; do
  [ -f "$f" ] || continue
  count=$((count + 1))
  head -n 30 "$f" | grep -q 'SPDX-License-Identifier: ' || missing="$missing ${f#./}"
done

echo "1..1"
if [ -z "$missing" ]; then
  echo "ok 1 - $count source files carry an SPDX-License-Identifier line"
else
  echo "not ok 1 - no SPDX-License-Identifier line in:$missing"
  exit 1
fi
