/* bsp-connection.c — per-connection state and the table that holds it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-connection.h"

#define BSP_XMPP_PRPL_ID "prpl-jabber"

struct _BspConnectionTable
{
  GHashTable *by_gc; /* PurpleConnection * → BspConnection * */
};

BspConnection *
bsp_connection_new (PurpleConnection *gc)
{
  BspConnection *conn;

  g_return_val_if_fail (gc != NULL, NULL);

  conn = g_new0 (BspConnection, 1);
  conn->gc = gc;
  conn->account = purple_connection_get_account (gc);
  return conn;
}

void
bsp_connection_free (BspConnection *conn)
{
  if (conn == NULL)
    return;
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
bsp_connection_table_ensure (BspConnectionTable *table, PurpleConnection *gc)
{
  BspConnection *conn;

  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (gc != NULL, NULL);

  conn = g_hash_table_lookup (table->by_gc, gc);
  if (conn == NULL)
    {
      conn = bsp_connection_new (gc);
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
bsp_connection_table_remove (BspConnectionTable *table, PurpleConnection *gc)
{
  g_return_val_if_fail (table != NULL, FALSE);

  return g_hash_table_remove (table->by_gc, gc);
}

guint
bsp_connection_table_size (BspConnectionTable *table)
{
  g_return_val_if_fail (table != NULL, 0);

  return g_hash_table_size (table->by_gc);
}
