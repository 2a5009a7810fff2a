/* bsp-test-fake-xmpp.c — a connection of libpurple's without a server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "bsp-test-fake-xmpp.h"

#ifdef BSP_PURPLE_HAS_DBUS
/* From libpurple's dbus-server.h, which wants D-Bus's own headers. */
void purple_dbus_init_ids (void);
#endif

/* Stands in for prpl-jabber: the instance its signal is registered on. */
static int fake_prpl;
static char *fake_user_dir;

/* Timers on GLib's default context, as Pidgin's and Finch's. No sockets:
 * nothing here connects anywhere. */
static PurpleEventLoopUiOps fake_eventloop_ops = {
  .timeout_add = g_timeout_add,
  .timeout_remove = g_source_remove,
  .timeout_add_seconds = g_timeout_add_seconds,
};

void
fake_xmpp_init (gboolean proxies)
{
#ifdef BSP_PURPLE_HAS_DBUS
  /* A libpurple built with D-Bus registers every xmlnode in its maps. */
  purple_dbus_init_ids ();
#endif
  purple_signals_init ();
  /* Without its value types: they are for D-Bus, which is not running. */
  purple_signal_register (&fake_prpl, "jabber-sending-xmlnode",
                          purple_marshal_VOID__POINTER_POINTER, NULL, 0);
  if (proxies)
    {
      fake_user_dir = g_dir_make_tmp ("bsp-fake-xmpp-XXXXXX", NULL);
      g_assert_nonnull (fake_user_dir);
      purple_util_set_user_dir (fake_user_dir);
      purple_eventloop_set_ui_ops (&fake_eventloop_ops);
      purple_prefs_init ();
      purple_proxy_init ();
    }
}

void
fake_xmpp_uninit (void)
{
  if (fake_user_dir != NULL)
    {
      g_autofree char *prefs = g_build_filename (fake_user_dir, "prefs.xml", NULL);

      purple_proxy_uninit ();
      purple_prefs_uninit ();
      g_remove (prefs);
      g_rmdir (fake_user_dir);
      g_clear_pointer (&fake_user_dir, g_free);
    }
  purple_signals_unregister_by_instance (&fake_prpl);
  purple_signals_uninit ();
}

static void
fake_xmpp_sending (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  FakeXmpp *x = user_data;

  g_assert_true (gc == &x->gc);
  g_ptr_array_add (x->sent, xmlnode_copy (*packet));
}

void
fake_xmpp_set_up (FakeXmpp *x)
{
  x->gc.prpl = (PurplePlugin *) &fake_prpl;
  x->gc.display_name = g_strdup (FAKE_ME);
  x->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) xmlnode_free);
  purple_signal_connect (&fake_prpl, "jabber-sending-xmlnode", x,
                         PURPLE_CALLBACK (fake_xmpp_sending), x);
  x->tracker = bsp_iq_tracker_new (&x->gc);
}

void
fake_xmpp_tear_down (FakeXmpp *x)
{
  bsp_iq_tracker_free (x->tracker, "the test ended");
  purple_signals_disconnect_by_handle (x);
  g_ptr_array_unref (x->sent);
  g_free (x->gc.display_name);
  /* Nothing left for the main loop: a leftover source would be a leak. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

const char *
fake_xmpp_sent_id (FakeXmpp *x, guint index, const char *to)
{
  xmlnode *sent;

  g_assert_cmpuint (index, <, x->sent->len);
  sent = x->sent->pdata[index];
  g_assert_cmpstr (sent->name, ==, "iq");
  g_assert_cmpstr (xmlnode_get_attrib (sent, "to"), ==, to);
  return xmlnode_get_attrib (sent, "id");
}

xmlnode *
fake_xmpp_answer (const char *id, const char *from, const char *type, const char *condition,
                  const char *name, const char *xmlns)
{
  xmlnode *iq;

  if (type == NULL)
    iq = bsp_iq_new ("result", FAKE_ME, id, name, xmlns, NULL);
  else
    {
      xmlnode *error;

      iq = bsp_iq_new ("error", FAKE_ME, id, "error", NULL, &error);
      xmlnode_set_attrib (error, "type", type);
      if (condition != NULL)
        xmlnode_set_namespace (xmlnode_new_child (error, condition),
                               "urn:ietf:params:xml:ns:xmpp-stanzas");
    }
  if (from != NULL)
    xmlnode_set_attrib (iq, "from", from);
  return iq;
}

gboolean
fake_xmpp_dispatch (FakeXmpp *x, xmlnode *iq)
{
  gboolean ours = bsp_iq_tracker_dispatch (x->tracker, xmlnode_get_attrib (iq, "type"),
                                           xmlnode_get_attrib (iq, "id"),
                                           xmlnode_get_attrib (iq, "from"), iq);

  xmlnode_free (iq);
  return ours;
}

static gboolean
fake_xmpp_too_long (gpointer user_data)
{
  g_error ("no callback within 10 s");
  return G_SOURCE_REMOVE;
}

void
fake_xmpp_wait_for (guint *counter)
{
  guint before = *counter;
  guint guard = g_timeout_add_seconds (10, fake_xmpp_too_long, NULL);

  while (*counter == before)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (guard);
}

static gboolean
fake_xmpp_time_is_up (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
fake_xmpp_run_for (guint ms)
{
  gboolean up = FALSE;

  g_timeout_add (ms, fake_xmpp_time_is_up, &up);
  while (!up)
    g_main_context_iteration (NULL, TRUE);
}
