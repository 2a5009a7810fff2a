/* bsp-log.c — the plugin's one way into libpurple's debug log
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-log.h"

/* Formats the message and hands it to libpurple with the plugin's
 * category and the trailing newline that purple_debug() expects. */
void
bsp_log (PurpleDebugLevel level, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  g_return_if_fail (format != NULL);

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  purple_debug (level, BSP_LOG_CATEGORY, "%s\n", message);
}

/* Whether the user allowed secrets in the log: URLs that carry a
 * capability token are only logged when this is TRUE. */
gboolean
bsp_log_is_unsafe (void)
{
  return purple_debug_is_unsafe ();
}
