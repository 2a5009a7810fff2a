/* bsp-log.h — the plugin's one way into libpurple's debug log
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <purple.h>

G_BEGIN_DECLS

/* Every message goes to purple_debug_*() under this category. */
#define BSP_LOG_CATEGORY "bsproxy"

void bsp_log (PurpleDebugLevel level, const char *format, ...) G_GNUC_PRINTF (2, 3);
gboolean bsp_log_is_unsafe (void);

/* Messages take no trailing newline: bsp_log() adds it. */
#define bsp_log_debug(...) bsp_log (PURPLE_DEBUG_MISC, __VA_ARGS__)
#define bsp_log_info(...) bsp_log (PURPLE_DEBUG_INFO, __VA_ARGS__)
#define bsp_log_warning(...) bsp_log (PURPLE_DEBUG_WARNING, __VA_ARGS__)
#define bsp_log_error(...) bsp_log (PURPLE_DEBUG_ERROR, __VA_ARGS__)

G_END_DECLS
