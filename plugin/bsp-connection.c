/* bsp-connection.c — per-connection state and the table that holds it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "bsp-connection.h"
#include "bsp-prefs.h"

#define BSP_XMPP_PRPL_ID "prpl-jabber"

struct _BspConnectionTable
{
  GHashTable *by_gc; /* PurpleConnection * → BspConnection * */
};

BspConnection *
bsp_connection_new (PurpleConnection *gc, PurplePlugin *jabber)
{
  BspConnection *conn;

  g_return_val_if_fail (gc != NULL, NULL);

  conn = g_new0 (BspConnection, 1);
  conn->gc = gc;
  conn->account = purple_connection_get_account (gc);
  conn->iq = bsp_iq_tracker_new (gc);
  conn->discovery = bsp_discovery_new (gc, conn->iq);
  conn->transfers = bsp_transfers_new (gc, jabber, conn->iq, conn->discovery);
  return conn;
}

void
bsp_connection_start (BspConnection *conn)
{
  g_autofree char *extra = bsp_prefs_dup_proxy_jid ();

  bsp_discovery_start (conn->discovery, extra);
}

/* Transfers first (they wait on discovery and IQs), then discovery (it
 * waits on IQs), then the IQ tracker. */
void
bsp_connection_free (BspConnection *conn)
{
  const char *reason;

  if (conn == NULL)
    return;
  reason = conn->end_reason ? conn->end_reason : _("the connection ended");
  bsp_transfers_free (conn->transfers, reason, conn->end_by_user);
  bsp_discovery_free (conn->discovery);
  bsp_iq_tracker_free (conn->iq, reason);
  g_free (conn->end_reason);
  g_free (conn->lost_reason);
  g_free (conn);
}

/* Whether @gc belongs to an account of prpl-jabber, the only protocol
 * the plugin works with. */
gboolean
bsp_connection_is_xmpp (PurpleConnection *gc)
{
  PurpleAccount *account;

  if (gc == NULL)
    return FALSE;
  account = purple_connection_get_account (gc);
  return account != NULL
         && g_strcmp0 (purple_account_get_protocol_id (account), BSP_XMPP_PRPL_ID) == 0;
}

BspConnectionTable *
bsp_connection_table_new (void)
{
  BspConnectionTable *table = g_new0 (BspConnectionTable, 1);

  table->by_gc = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                        (GDestroyNotify) bsp_connection_free);
  return table;
}

void
bsp_connection_table_free (BspConnectionTable *table)
{
  if (table == NULL)
    return;
  g_clear_pointer (&table->by_gc, g_hash_table_unref);
  g_free (table);
}

/* The entry for @gc, created on first use. */
BspConnection *
bsp_connection_table_ensure (BspConnectionTable *table, PurpleConnection *gc, PurplePlugin *jabber)
{
  BspConnection *conn;

  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (gc != NULL, NULL);

  conn = g_hash_table_lookup (table->by_gc, gc);
  if (conn == NULL)
    {
      conn = bsp_connection_new (gc, jabber);
      g_hash_table_insert (table->by_gc, gc, conn);
    }
  return conn;
}

BspConnection *
bsp_connection_table_lookup (BspConnectionTable *table, PurpleConnection *gc)
{
  g_return_val_if_fail (table != NULL, NULL);

  return g_hash_table_lookup (table->by_gc, gc);
}

/* Frees the entry for @gc; FALSE when there was none. */
gboolean
bsp_connection_table_remove (BspConnectionTable *table, PurpleConnection *gc, const char *reason)
{
  BspConnection *conn;

  g_return_val_if_fail (table != NULL, FALSE);

  conn = g_hash_table_lookup (table->by_gc, gc);
  if (conn == NULL)
    return FALSE;
  g_free (conn->end_reason);
  if (conn->lost_reason != NULL)
    {
      /* The server went away: not something this user did. */
      conn->end_reason
          = g_strdup_printf (_("the connection to the server was lost (%s)"), conn->lost_reason);
      conn->end_by_user = FALSE;
    }
  else
    {
      conn->end_reason = g_strdup (reason);
      conn->end_by_user = TRUE;
    }
  return g_hash_table_remove (table->by_gc, gc);
}

void
bsp_connection_table_clear (BspConnectionTable *table, const char *reason)
{
  GHashTableIter iter;
  BspConnection *conn;

  g_hash_table_iter_init (&iter, table->by_gc);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conn))
    {
      g_free (conn->end_reason);
      conn->end_reason = g_strdup (reason);
      conn->end_by_user = TRUE;
      g_hash_table_iter_remove (&iter);
    }
}

guint
bsp_connection_table_size (BspConnectionTable *table)
{
  g_return_val_if_fail (table != NULL, 0);

  return g_hash_table_size (table->by_gc);
}

GList *
bsp_connection_table_list (BspConnectionTable *table)
{
  return g_hash_table_get_values (table->by_gc);
}
