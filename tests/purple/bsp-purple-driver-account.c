/* bsp-purple-driver-account.c — the driver's accounts: --account parsed,
 * each one set up (server, port, security, --proxy and --global-proxy),
 * the sign-in and buddy signals as events, and the goal the driver waits
 * for before it finishes
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-protocol.h"
#include "bsp-purple-driver.h"

/* ------------------------------------------------------------------ */
/* Accounts and goals                                                  */

void
driver_account_free (DriverAccount *da)
{
  g_free (da->jid);
  g_free (da->bare);
  g_free (da->password);
  g_free (da);
}

/* Parses "JID:PASSWORD"; the JID ends at the first ':'. */
DriverAccount *
driver_account_parse (const char *spec, GError **error)
{
  const char *colon = strchr (spec, ':');
  g_autofree char *jid = NULL;
  DriverAccount *da;

  if (colon == NULL || colon == spec)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--account wants JID:PASSWORD, got '%s'", spec);
      return NULL;
    }
  jid = g_strndup (spec, colon - spec);
  if (!bsp_jid_is_valid (jid) || strchr (jid, '@') == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--account: '%s' is not a user JID", jid);
      return NULL;
    }

  da = g_new0 (DriverAccount, 1);
  da->bare = bsp_jid_bare (jid);
  da->jid = g_steal_pointer (&jid);
  da->password = g_strdup (colon + 1);
  return da;
}

static DriverAccount *
driver_find_account (Driver *self, PurpleAccount *account)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *da = g_ptr_array_index (self->accounts, i);

      if (da->account == account)
        return da;
    }
  return NULL;
}

guint
driver_count_online_buddies (DriverAccount *da)
{
  GSList *buddies = purple_find_buddies (da->account, NULL);
  guint online = 0;

  for (GSList *l = buddies; l != NULL; l = l->next)
    if (PURPLE_BUDDY_IS_ONLINE ((PurpleBuddy *) l->data))
      online++;
  g_slist_free (buddies);
  return online;
}

/* --wait-online N: every account sees every other account of this
 * driver online, and at least N-1 contacts online in all (N counts the
 * participants, itself included, so accounts of another driver process
 * can be waited for too). */
static gboolean
driver_account_sees_others (Driver *self, DriverAccount *da)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *other = g_ptr_array_index (self->accounts, i);

      if (other == da || g_strcmp0 (other->bare, da->bare) == 0)
        continue;
      if (!PURPLE_BUDDY_IS_ONLINE (purple_find_buddy (da->account, other->bare)))
        return FALSE;
    }
  return self->wait_online <= 1
         || driver_count_online_buddies (da) >= (guint) self->wait_online - 1;
}

static gboolean
driver_all_signed_on (Driver *self)
{
  for (guint i = 0; i < self->accounts->len; i++)
    if (!((DriverAccount *) g_ptr_array_index (self->accounts, i))->signed_on)
      return FALSE;
  return TRUE;
}

static gboolean
driver_wants_transfers (Driver *self)
{
  return self->send_file != NULL || self->accept_dir != NULL || self->decline;
}

static gboolean
driver_goal_reached (Driver *self)
{
  if (driver_wants_transfers (self))
    return self->xfers_ended >= self->expect;
  if (!driver_all_signed_on (self))
    return FALSE;
  if (self->plugin_path != NULL && !self->plugin_loaded)
    return FALSE;
  if (self->frame_when != NULL && !self->frame_seen)
    return FALSE;
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *da = g_ptr_array_index (self->accounts, i);

      if (self->wait_online > 0 && !driver_account_sees_others (self, da))
        return FALSE;
    }
  return TRUE;
}

void
driver_finish (Driver *self, int status)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  self->exit_status = status;
  if (status == 0)
    driver_event ("done", NULL);
  g_main_loop_quit (self->loop);
}

void
driver_check_goal (Driver *self)
{
  if (self->finished)
    return;
  driver_maybe_send (self);
  /* --plugin-late: the plugin arrives among connections it must adopt */
  if (self->plugin_path != NULL && !self->plugin_loaded && driver_all_signed_on (self)
      && !driver_start_plugin (self))
    {
      driver_finish (self, 1);
      return;
    }
  /* --pref-online: a change while signed in, as a user makes it in the
   * dialog; --frame-when then watches the dialog's text (bounded by
   * --timeout) for what the plugin must come to say. */
  if (self->prefs_online != NULL && !self->prefs_online_set && driver_all_signed_on (self)
      && (self->plugin_path == NULL || self->plugin_loaded))
    {
      g_autoptr (GError) error = NULL;

      self->prefs_online_set = TRUE;
      if (!driver_apply_prefs (self->prefs_online, "--pref-online", &error))
        {
          g_printerr ("%s\n", error->message);
          driver_finish (self, 1);
          return;
        }
      driver_event ("prefs-set", NULL);
      if (self->frame_when != NULL && self->frame_poll_id == 0)
        self->frame_poll_id = g_timeout_add (100, driver_poll_frame, self);
    }
  if (driver_goal_reached (self))
    driver_finish (self, 0);
}

gboolean
driver_check_goal_idle (gpointer user_data)
{
  driver_check_goal (user_data);
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* libpurple signals                                                   */

static void
driver_signed_on_cb (PurpleConnection *gc, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_connection_get_account (gc));

  if (da == NULL)
    return;
  da->signed_on = TRUE;
  driver_event ("signed-on", "account", da->jid, NULL);
  driver_check_goal (self);
}

static void
driver_connection_error_cb (PurpleConnection *gc, PurpleConnectionError reason,
                            const char *description, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_connection_get_account (gc));

  if (da == NULL)
    return;
  driver_event ("connection-error", "account", da->jid, "reason", description, NULL);
  driver_finish (self, 1);
}

static void
driver_buddy_signed_on_cb (PurpleBuddy *buddy, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_buddy_get_account (buddy));

  if (da == NULL)
    return;
  driver_event ("buddy-online", "account", da->jid, "buddy", purple_buddy_get_name (buddy), NULL);
  driver_check_goal (self);
}

static void
driver_buddy_signed_off_cb (PurpleBuddy *buddy, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_buddy_get_account (buddy));

  if (da == NULL)
    return;
  driver_event ("buddy-offline", "account", da->jid, "buddy", purple_buddy_get_name (buddy), NULL);
}

void
driver_connect_signals (Driver *self)
{
  void *connections = purple_connections_get_handle ();
  void *blist = purple_blist_get_handle ();

  purple_signal_connect (connections, "signed-on", self, PURPLE_CALLBACK (driver_signed_on_cb),
                         self);
  purple_signal_connect (connections, "connection-error", self,
                         PURPLE_CALLBACK (driver_connection_error_cb), self);
  purple_signal_connect (blist, "buddy-signed-on", self,
                         PURPLE_CALLBACK (driver_buddy_signed_on_cb), self);
  purple_signal_connect (blist, "buddy-signed-off", self,
                         PURPLE_CALLBACK (driver_buddy_signed_off_cb), self);
  driver_connect_xfer_signals (self);
}

/* ------------------------------------------------------------------ */
/* Proxy settings and account set-up                                  */

/* --proxy and --global-proxy: "http://[USER[:PASSWORD]@]HOST:PORT" (an
 * HTTP proxy, as the account's Proxy tab sets it), "envvar" (from
 * http_proxy and co.), "global" (--proxy only) or "none". */
PurpleProxyInfo *
driver_proxy_info (const char *spec, GError **error)
{
  PurpleProxyInfo *info = purple_proxy_info_new ();
  g_autoptr (GUri) uri = NULL;

  if (g_str_equal (spec, "envvar") || g_str_equal (spec, "global") || g_str_equal (spec, "none"))
    {
      purple_proxy_info_set_type (info, spec[0] == 'e'   ? PURPLE_PROXY_USE_ENVVAR
                                        : spec[0] == 'g' ? PURPLE_PROXY_USE_GLOBAL
                                                         : PURPLE_PROXY_NONE);
      return info;
    }
  uri = g_uri_parse (spec, G_URI_FLAGS_HAS_PASSWORD, error);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 || g_uri_get_host (uri) == NULL
      || g_uri_get_port (uri) <= 0)
    {
      if (uri != NULL)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "not http://[USER[:PASSWORD]@]HOST:PORT: %s", spec);
      purple_proxy_info_destroy (info);
      return NULL;
    }
  purple_proxy_info_set_type (info, PURPLE_PROXY_HTTP);
  purple_proxy_info_set_host (info, g_uri_get_host (uri));
  purple_proxy_info_set_port (info, g_uri_get_port (uri));
  purple_proxy_info_set_username (info, g_uri_get_user (uri));
  purple_proxy_info_set_password (info, g_uri_get_password (uri));
  return info;
}

void
driver_setup_account (Driver *self, DriverAccount *da)
{
  PurpleAccount *account = purple_accounts_find (da->jid, DRIVER_XMPP_PRPL);

  if (account == NULL)
    {
      account = purple_account_new (da->jid, DRIVER_XMPP_PRPL);
      purple_accounts_add (account);
    }
  da->account = account;

  /* kept in memory only: nothing secret lands in accounts.xml */
  purple_account_set_remember_password (account, FALSE);
  purple_account_set_password (account, da->password);

  if (self->server != NULL)
    purple_account_set_string (account, "connect_server", self->server);
  if (self->port > 0)
    purple_account_set_int (account, "port", self->port);
  if (!self->default_security)
    {
      /* a plaintext local test server: no TLS required, PLAIN allowed */
      purple_account_set_string (account, "connection_security", "opportunistic_tls");
      purple_account_set_bool (account, "auth_plain_in_clear", TRUE);
    }
  /* no public file-transfer proxy (the default is a host on the Internet) */
  purple_account_set_string (account, "ft_proxies", "");
  /* checked by driver_parse_options () */
  if (self->proxy != NULL)
    purple_account_set_proxy_info (account, driver_proxy_info (self->proxy, NULL));
  if (self->global_proxy != NULL)
    purple_global_proxy_set_info (driver_proxy_info (self->global_proxy, NULL));

  purple_account_set_enabled (account, DRIVER_UI_ID, TRUE);
}
