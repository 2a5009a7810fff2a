/* bsp-extra-proxy.c — the additional bs-proxy of the preferences
 *
 * libpurple 2.x's preference frames have no validation: the dialog can
 * only show what the plugin says when it is opened. So the plugin says it
 * there (a line under the field, from bsp_extra_proxy_status ()), in a
 * plugin action that shows it any time, and in the debug log; and it uses
 * a changed JID at once on every signed-in account, without a new sign-in.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "bsp-extra-proxy.h"
#include "bsp-log.h"
#include "bsp-prefs.h"

/* Pidgin sets a text preference at every key stroke: wait this long after
 * the last one before the JID is looked up. */
#define BSP_EXTRA_PROXY_SETTLE_MS 1000

static gboolean
bsp_extra_proxy_settled (gpointer user_data)
{
  BspPlugin *self = user_data;
  g_autofree char *jid = bsp_prefs_dup_proxy_jid ();
  GList *conns;

  self->extra_timer = 0;
  if (jid == NULL)
    return G_SOURCE_REMOVE; /* empty, or not a JID (bsp_prefs_dup_proxy_jid logged it) */
  conns = bsp_connection_table_list (self->connections);
  for (GList *l = conns; l != NULL; l = l->next)
    {
      BspConnection *conn = l->data;
      if (conn->signed_on)
        bsp_discovery_add (conn->discovery, jid);
    }
  bsp_log_info ("additional bs-proxy %s: looked up on %u signed-in account(s)", jid,
                g_list_length (conns));
  g_list_free (conns);
  return G_SOURCE_REMOVE;
}

static void
bsp_extra_proxy_changed (const char *name, PurplePrefType type, gconstpointer value,
                         gpointer user_data)
{
  BspPlugin *self = user_data;

  g_clear_handle_id (&self->extra_timer, g_source_remove);
  self->extra_timer = g_timeout_add (BSP_EXTRA_PROXY_SETTLE_MS, bsp_extra_proxy_settled, self);
}

void
bsp_extra_proxy_watch (BspPlugin *self)
{
  purple_prefs_connect_callback (self->plugin, BSP_PREF_PROXY_JID, bsp_extra_proxy_changed, self);
}

void
bsp_extra_proxy_unwatch (BspPlugin *self)
{
  purple_prefs_disconnect_by_handle (self->plugin);
  g_clear_handle_id (&self->extra_timer, g_source_remove);
}

char *
bsp_extra_proxy_status (BspPlugin *self)
{
  g_autofree char *text = g_strdup (purple_prefs_get_string (BSP_PREF_PROXY_JID));
  g_autofree char *jid = NULL;
  BspProxyState best = BSP_PROXY_UNKNOWN;
  gboolean any = FALSE;
  GList *conns;

  if (text == NULL || *g_strstrip (text) == '\0')
    return NULL;
  jid = bsp_prefs_dup_proxy_jid ();
  if (jid == NULL)
    return g_strdup_printf (_("\"%s\" is not a valid JID: write the proxy's address, for "
                              "example proxy.example.org."),
                               text);
  /* The best that any signed-in account knows. */
  conns = bsp_connection_table_list (self->connections);
  for (GList *l = conns; l != NULL; l = l->next)
    {
      BspConnection *conn = l->data;
      if (conn->signed_on)
        {
          any = TRUE;
          best = MAX (best, bsp_discovery_state (conn->discovery, jid));
        }
    }
  g_list_free (conns);
  if (!any)
    return g_strdup_printf (_("%s will be checked when an XMPP account signs in."), jid);
  switch (best)
    {
    case BSP_PROXY_HTTP:
      return g_strdup_printf (_("%s is a bs-proxy, and its HTTP side answers from here."), jid);
    case BSP_PROXY_HTTP_BLOCKED:
      return g_strdup_printf (_("%s is a bs-proxy, but its HTTP side does not answer from here: "
                                "files through it go the usual XMPP way."),
                                 jid);
    case BSP_PROXY_SOCKS5_ONLY:
      return g_strdup_printf (_("%s is a file transfer proxy without HTTP (SOCKS5 only)."), jid);
    case BSP_PROXY_NOT_PROXY:
      return g_strdup_printf (_("%s did not answer as a file transfer proxy."), jid);
    case BSP_PROXY_UNKNOWN:
    case BSP_PROXY_CHECKING:
    default: return g_strdup_printf (_("Checking %s…"), jid);
    }
}

static void
bsp_extra_proxy_check_action (PurplePluginAction *action)
{
  PurplePlugin *plugin = action->plugin;
  g_autofree char *status = NULL;

  if (plugin->extra != NULL)
    status = bsp_extra_proxy_status (plugin->extra);
  purple_notify_info (plugin,
                      _("HTTP File Transfer"),
                         _("Additional bs-proxy"),
                            status ? status
                                   : _("No additional bs-proxy is set. Set one in the plugin's "
                                 "preferences if your server announces none."));
}

GList *
bsp_extra_proxy_actions (PurplePlugin *plugin, gpointer context)
{
  return g_list_append (NULL, purple_plugin_action_new (_("Check the additional bs-proxy"),
                                                           bsp_extra_proxy_check_action));
}
