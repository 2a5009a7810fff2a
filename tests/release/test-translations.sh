#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test-translations.sh SRCDIR — po/POTFILES.in names every file with
# translatable strings, and every language of po/LINGUAS translates every
# string the sources have today (TAP on stdout).
set -u

cd "$1" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bsp-po.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
report() { # report OK DESCRIPTION
  n=$((n + 1))
  if [ "$1" = yes ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

sed -e 's/#.*//' -e '/^[[:space:]]*$/d' po/POTFILES.in | sort >"$tmp/listed"
# C files that mark strings with _() or N_(), and AppStream/desktop templates
{
  find plugin proxy-test-server \( -name '*.c' -o -name '*.h' \) \
    -exec grep -l -E '(^|[^A-Za-z0-9_])N?_\(' {} + 2>/dev/null
  find plugin proxy-test-server \( -name '*.metainfo.xml.in' -o -name '*.desktop.in' \)
} | sort -u >"$tmp/needed"

languages=$(sed -e 's/#.*//' po/LINGUAS | tr -s ' \n' '  ')
echo "1..$((2 + $(echo $languages | wc -w)))"

unlisted=$(comm -13 "$tmp/listed" "$tmp/needed" | tr '\n' ' ')
if [ -z "$unlisted" ]; then
  report yes "po/POTFILES.in lists every file with translatable strings"
else
  report no "po/POTFILES.in does not list: $unlisted"
fi
gone=
while read -r f; do [ -f "$f" ] || gone="$gone $f"; done <"$tmp/listed"
if [ -z "$gone" ]; then report yes "every file po/POTFILES.in lists exists"; else report no "po/POTFILES.in lists missing files:$gone"; fi

# The strings as the sources have them now, whatever the committed .pot says.
if ! command -v xgettext >/dev/null 2>&1 || ! command -v msgcmp >/dev/null 2>&1; then
  for l in $languages; do report yes "$l # SKIP gettext tools are not installed"; done
  exit $failed
fi
xgettext --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=ngettext:1,2 --files-from="$tmp/listed" \
  --output="$tmp/current.pot" 2>"$tmp/xgettext.log" || cat "$tmp/xgettext.log" >&2
for l in $languages; do
  stats=$(msgfmt --statistics -o /dev/null "po/$l.po" 2>&1)
  if msgcmp "po/$l.po" "$tmp/current.pot" >"$tmp/$l.log" 2>&1 &&
    ! echo "$stats" | grep -q -e fuzzy -e untranslated; then
    report yes "$l translates every string ($stats)"
  else
    report no "$l is incomplete ($stats)"
    sed 's/^/# /' "$tmp/$l.log"
  fi
done
exit $failed
