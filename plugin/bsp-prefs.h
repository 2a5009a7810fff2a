/* bsp-prefs.h — the plugin's preferences and their UI-agnostic frame
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <purple.h>

G_BEGIN_DECLS

#define BSP_PREFS_ROOT "/plugins/core/bsproxy"
#define BSP_PREF_SEND_HTTP BSP_PREFS_ROOT "/send_http"
#define BSP_PREF_HTTP_ONLY BSP_PREFS_ROOT "/offer_http_only"
#define BSP_PREF_RECV_HTTP BSP_PREFS_ROOT "/recv_http"
#define BSP_PREF_PROXY_JID BSP_PREFS_ROOT "/proxy_jid"
#define BSP_PREF_STALL_SECONDS BSP_PREFS_ROOT "/stall_seconds"

/* The bounds of the stall time, in seconds, and its default. */
#define BSP_STALL_MIN 5
#define BSP_STALL_MAX 600
#define BSP_STALL_DEFAULT 30

/* Not in the dialog (prefs.xml, or a test that must allow for a slow
 * build): how long a check of a bs-proxy's HTTP or SOCKS5 side may take
 * before that side counts as not reachable (bsp-probe.h), its bounds and
 * its default. */
#define BSP_PREF_PROBE_SECONDS BSP_PREFS_ROOT "/probe_seconds"
#define BSP_PROBE_MIN 1
#define BSP_PROBE_MAX 600
#define BSP_PROBE_DEFAULT 10

void bsp_prefs_init (void);
/* @proxy_status: a line on the additional bs-proxy as it is now, or NULL. */
PurplePluginPrefFrame *bsp_prefs_get_frame (PurplePlugin *plugin, const char *proxy_status);
/* The same for Finch's layout (@finch) or Pidgin's. */
PurplePluginPrefFrame *bsp_prefs_build_frame (gboolean finch, const char *proxy_status);
/* @text broken into lines of at most @width characters, at spaces. */
char *bsp_prefs_wrap (const char *text, guint width);

gboolean bsp_prefs_get_send_http (void);
gboolean bsp_prefs_get_http_only (void);
gboolean bsp_prefs_get_recv_http (void);
char *bsp_prefs_dup_proxy_jid (void);
guint bsp_prefs_get_stall_seconds (void);
int bsp_prefs_get_probe_seconds (void);

G_END_DECLS
