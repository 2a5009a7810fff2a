/* pts-test-sanitizer.c — the sanitizer defaults of every test program
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-test-sanitizer.h"

#ifdef PTS_TEST_ASAN
const char *__asan_default_options (void);
const char *__lsan_default_suppressions (void);

const char *
__asan_default_options (void)
{
  return PTS_TEST_ASAN_OPTIONS;
}

/* G_TEST_OPTION_ISOLATE_DIRS leaks GLib's previous user dirs on purpose
 * (g_set_user_dirs: callers may still hold them). */
const char *
__lsan_default_suppressions (void)
{
  return "leak:g_set_user_dirs\n";
}
#endif

void
pts_test_sanitizer_setenv (GSubprocessLauncher *launcher)
{
#ifdef PTS_TEST_ASAN
  const char *options = g_getenv ("ASAN_OPTIONS");
  g_autoptr (GString) merged = g_string_new (options);
  g_auto (GStrv) ours = g_strsplit (PTS_TEST_ASAN_OPTIONS, ":", -1);

  for (char **flag = ours; *flag != NULL; flag++)
    {
      g_autofree char *name = g_strndup (*flag, strcspn (*flag, "="));

      if (options != NULL && strstr (options, name) != NULL)
        continue;
      if (merged->len > 0)
        g_string_append_c (merged, ':');
      g_string_append (merged, *flag);
    }
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", merged->str, TRUE);
#endif
}
