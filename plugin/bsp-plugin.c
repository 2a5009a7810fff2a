/* bsp-plugin.c — plugin entry: info, preferences, load/unload, signal wiring
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <purple.h>

#include "bsp-connection.h"
#include "bsp-extra-proxy.h"
#include "bsp-log.h"
#include "bsp-tls.h"
#include "bsp-plugin.h"
#include "bsp-prefs.h"
#include "bsp-protocol.h"

static BspPlugin *
bsp_plugin_new (PurplePlugin *plugin, PurplePlugin *jabber)
{
  BspPlugin *self = g_new0 (BspPlugin, 1);

  self->plugin = plugin;
  self->jabber = jabber;
  self->connections = bsp_connection_table_new ();
  return self;
}

static void
bsp_plugin_free (BspPlugin *self)
{
  if (self == NULL)
    return;
  bsp_extra_proxy_unwatch (self);
  if (self->connections != NULL)
    bsp_connection_table_clear (self->connections,
                                _("the HTTP file transfer plugin was unloaded"));
  g_clear_pointer (&self->connections, bsp_connection_table_free);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspPlugin, bsp_plugin_free)

static const char *
bsp_plugin_account_name (PurpleConnection *gc)
{
  return purple_account_get_username (purple_connection_get_account (gc));
}

/* Starts tracking @gc; @online when it has already finished signing on. */
static void
bsp_plugin_track (BspPlugin *self, PurpleConnection *gc, gboolean online)
{
  BspConnection *conn = bsp_connection_table_ensure (self->connections, gc, self->jabber);

  if (online && !conn->signed_on)
    {
      conn->signed_on = TRUE;
      bsp_log_info ("%s is signed on as %s", bsp_plugin_account_name (gc),
                    purple_connection_get_display_name (gc));
      bsp_connection_start (conn);
    }
}

static BspConnection *
bsp_plugin_lookup (BspPlugin *self, PurpleConnection *gc)
{
  return gc ? bsp_connection_table_lookup (self->connections, gc) : NULL;
}

/* Runs before prpl-jabber's own handlers: answers to our IQs, the proxy's
 * pushes and the bytestreams steps we take over are consumed here. */
static gboolean
bsp_plugin_receiving_iq_cb (PurpleConnection *gc, const char *type, const char *id,
                            const char *from, xmlnode *iq, gpointer user_data)
{
  BspConnection *conn = bsp_plugin_lookup (user_data, gc);

  if (conn == NULL || iq == NULL)
    return FALSE;
  if (bsp_iq_tracker_dispatch (conn->iq, type, id, from, iq))
    return TRUE;
  return bsp_transfers_receiving_iq (conn->transfers, type, id, from, iq);
}

static void
bsp_plugin_sending_xmlnode_cb (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  BspConnection *conn = bsp_plugin_lookup (user_data, gc);

  if (conn != NULL && packet != NULL && *packet != NULL)
    bsp_transfers_sending_xmlnode (conn->transfers, *packet);
}

static BspConnection *
bsp_plugin_lookup_xfer (BspPlugin *self, PurpleXfer *xfer)
{
  PurpleAccount *account = purple_xfer_get_account (xfer);

  return account ? bsp_plugin_lookup (self, purple_account_get_connection (account)) : NULL;
}

static void
bsp_plugin_file_recv_request_cb (PurpleXfer *xfer, gpointer user_data)
{
  BspConnection *conn = bsp_plugin_lookup_xfer (user_data, xfer);

  if (conn != NULL)
    bsp_transfers_recv_request (conn->transfers, xfer);
}

static void
bsp_plugin_file_cancel_cb (PurpleXfer *xfer, gpointer user_data)
{
  BspConnection *conn = bsp_plugin_lookup_xfer (user_data, xfer);

  if (conn != NULL)
    bsp_transfers_cancelled (conn->transfers, xfer);
}

static void
bsp_plugin_signing_on_cb (PurpleConnection *gc, gpointer user_data)
{
  BspPlugin *self = user_data;

  if (!bsp_connection_is_xmpp (gc))
    return;
  bsp_log_debug ("%s is signing on", bsp_plugin_account_name (gc));
  bsp_plugin_track (self, gc, FALSE);
}

static void
bsp_plugin_signed_on_cb (PurpleConnection *gc, gpointer user_data)
{
  BspPlugin *self = user_data;

  if (!bsp_connection_is_xmpp (gc))
    return;
  bsp_plugin_track (self, gc, TRUE);
}

static void
bsp_plugin_signing_off_cb (PurpleConnection *gc, gpointer user_data)
{
  BspPlugin *self = user_data;

  if (bsp_connection_table_remove (self->connections, gc, _("you signed off")))
    bsp_log_debug ("%s is signing off", bsp_plugin_account_name (gc));
}

/* Comes before signing-off when the server connection breaks: the
 * transfers then end as lost, not as signed off. */
static void
bsp_plugin_connection_error_cb (PurpleConnection *gc, PurpleConnectionError error,
                                const char *description, gpointer user_data)
{
  BspConnection *conn = bsp_plugin_lookup (user_data, gc);

  if (conn == NULL || conn->lost_reason != NULL)
    return;
  conn->lost_reason = g_strdup (description && *description ? description : _("unknown error"));
}

/* Takes in the XMPP connections that exist before the plugin loads. */
static void
bsp_plugin_adopt_connections (BspPlugin *self)
{
  for (GList *l = purple_connections_get_all (); l != NULL; l = l->next)
    {
      PurpleConnection *gc = l->data;

      if (!bsp_connection_is_xmpp (gc))
        continue;
      bsp_plugin_track (self, gc, purple_connection_get_state (gc) == PURPLE_CONNECTED);
    }
}

/* Asks prpl-jabber to advertise the bs-proxy namespace in our
 * capabilities, so that peers know we can take an HTTP download. */
static void
bsp_plugin_advertise (BspPlugin *self)
{
  gboolean ok = FALSE;

  purple_plugin_ipc_call (self->jabber, "add_feature", &ok, BSP_NS_BSPROXY);
  if (!ok)
    bsp_log_warning ("prpl-jabber has no add_feature IPC: peers won't see %s in our caps",
                     BSP_NS_BSPROXY);
}

static void
bsp_plugin_connect_signals (BspPlugin *self)
{
  void *conn_handle = purple_connections_get_handle ();
  void *xfer_handle = purple_xfers_get_handle ();

  purple_signal_connect (conn_handle, "signing-on", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_signing_on_cb), self);
  purple_signal_connect (conn_handle, "signed-on", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_signed_on_cb), self);
  purple_signal_connect (conn_handle, "signing-off", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_signing_off_cb), self);
  purple_signal_connect (conn_handle, "connection-error", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_connection_error_cb), self);

  /* Early: purple_signal_emit_return_1 stops at the first handler that
   * consumes, and the sending side must see nodes before they go out. */
  purple_signal_connect_priority (self->jabber, "jabber-receiving-iq", self->plugin,
                                  PURPLE_CALLBACK (bsp_plugin_receiving_iq_cb), self,
                                  PURPLE_SIGNAL_PRIORITY_LOWEST + 100);
  purple_signal_connect_priority (self->jabber, "jabber-sending-xmlnode", self->plugin,
                                  PURPLE_CALLBACK (bsp_plugin_sending_xmlnode_cb), self,
                                  PURPLE_SIGNAL_PRIORITY_LOWEST + 100);

  purple_signal_connect (xfer_handle, "file-recv-request", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_file_recv_request_cb), self);
  purple_signal_connect (xfer_handle, "file-send-cancel", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_file_cancel_cb), self);
  purple_signal_connect (xfer_handle, "file-recv-cancel", self->plugin,
                         PURPLE_CALLBACK (bsp_plugin_file_cancel_cb), self);
}

static gboolean
bsp_plugin_load (PurplePlugin *plugin)
{
  g_autoptr (BspPlugin) self = NULL;
  PurplePlugin *jabber;

  jabber = purple_plugins_find_with_id (BSP_PLUGIN_JABBER_ID);
  if (jabber == NULL || !purple_plugin_is_loaded (jabber))
    {
      bsp_log_error ("cannot load: the XMPP protocol plugin (%s) is not available",
                     BSP_PLUGIN_JABBER_ID);
      g_free (plugin->error);
      plugin->error = g_strdup (_("The XMPP protocol plugin is not available."));
      return FALSE;
    }

  self = bsp_plugin_new (plugin, jabber);
  bsp_plugin_advertise (self);
  bsp_plugin_connect_signals (self);
  bsp_plugin_adopt_connections (self);
  bsp_extra_proxy_watch (self);

  bsp_log_info ("loaded (version %s), %u XMPP connection(s) adopted", PACKAGE_VERSION,
                bsp_connection_table_size (self->connections));
  plugin->extra = g_steal_pointer (&self);
  return TRUE;
}

static gboolean
bsp_plugin_unload (PurplePlugin *plugin)
{
  BspPlugin *self = plugin->extra;

  /* Transfers still running end with a reason first (the signals they
   * emit must still reach us), then nothing of ours runs any more. */
  g_clear_pointer (&self, bsp_plugin_free);
  /* A certificate prompt still open must not call into unloaded code. */
  bsp_tls_shutdown ();
  purple_signals_disconnect_by_handle (plugin);
  plugin->extra = NULL;

  bsp_log_info ("unloaded");
  return TRUE;
}

/* The dialog, with what is known of the additional bs-proxy under its
 * field (the frame is made each time the dialog opens). */
static PurplePluginPrefFrame *
bsp_plugin_get_pref_frame (PurplePlugin *plugin)
{
  g_autofree char *status = plugin->extra ? bsp_extra_proxy_status (plugin->extra) : NULL;

  return bsp_prefs_get_frame (plugin, status);
}

static PurplePluginUiInfo bsp_plugin_prefs_info = {
  .get_plugin_pref_frame = bsp_plugin_get_pref_frame,
};

/* String fields are `char *` in libpurple 2.x, hence the casts. */
static PurplePluginInfo bsp_plugin_info = {
  .magic = PURPLE_PLUGIN_MAGIC,
  .major_version = PURPLE_MAJOR_VERSION,
  .minor_version = PURPLE_MINOR_VERSION,
  .type = PURPLE_PLUGIN_STANDARD,
  .ui_requirement = NULL,
  .flags = 0,
  .dependencies = NULL, /* filled in by bsp_plugin_init () */
  .priority = PURPLE_PRIORITY_DEFAULT,

  .id = (char *) BSP_PLUGIN_ID,
  /* TRANSLATORS: the plugin's name in Pidgin's and Finch's plugin lists:
   * keep it short (Finch shows about 25 characters). */
  .name = (char *) N_("HTTP File Transfer"), .version = (char *) PACKAGE_VERSION,
      .summary = (char *) N_("Send and receive XMPP files over HTTP through a bs-proxy."),
          .description = (char *) N_("When a file transfer goes through an XMPP bytestreams proxy that "
                             "also speaks the bs-proxy protocol (http://oneteam.im/bs-proxy), "
                             "the file is uploaded to and downloaded from the proxy over HTTP "
                             "instead of SOCKS5, so that transfers work behind firewalls that "
                             "only let web traffic through. Where the sender can be reached "
                             "directly, the file still goes directly."),
              .author = (char *) "pidgin-bsproxy developers",
              .homepage = NULL, /* the project has no web site */

              .load = bsp_plugin_load, .unload = bsp_plugin_unload, .destroy = NULL,

              .ui_info = NULL, .extra_info = NULL, .prefs_info = &bsp_plugin_prefs_info,
              .actions = bsp_extra_proxy_actions,
          };

static void
bsp_plugin_init (PurplePlugin *plugin)
{
  /* Our own domain only: textdomain () would change the host program's. */
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  bsp_plugin_info.name = (char *) _(bsp_plugin_info.name);
  bsp_plugin_info.summary = (char *) _(bsp_plugin_info.summary);
  bsp_plugin_info.description = (char *) _(bsp_plugin_info.description);

  /* libpurple frees this list when it destroys the plugin. */
  bsp_plugin_info.dependencies
      = g_list_append (bsp_plugin_info.dependencies, (gpointer) BSP_PLUGIN_JABBER_ID);

  bsp_prefs_init ();
}

PURPLE_INIT_PLUGIN (bsproxy, bsp_plugin_init, bsp_plugin_info)
