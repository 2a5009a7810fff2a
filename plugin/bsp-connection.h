/* bsp-connection.h — per-connection state and the table that holds it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <purple.h>

#include "bsp-discovery.h"
#include "bsp-iq.h"
#include "bsp-transfer.h"

G_BEGIN_DECLS

/* What the plugin keeps for one XMPP connection, from signing-on to
 * signing-off. Discovery results, pending IQs and transfers will hang
 * off it. */
typedef struct _BspConnection BspConnection;

struct _BspConnection
{
  PurpleConnection *gc;   /* not owned: the table's key */
  PurpleAccount *account; /* not owned */
  gboolean signed_on;
  BspIqTracker *iq;
  BspDiscovery *discovery;
  BspTransfers *transfers;
  char *end_reason;     /* shown on transfers still running at the end */
  gboolean end_by_user; /* whether that end is this user's own act */
  char *lost_reason;    /* the server connection's error, once it came */
};

BspConnection *bsp_connection_new (PurpleConnection *gc, PurplePlugin *jabber);
void bsp_connection_free (BspConnection *conn);
/* Starts the per-connection work that needs a signed-on stream. */
void bsp_connection_start (BspConnection *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspConnection, bsp_connection_free)

gboolean bsp_connection_is_xmpp (PurpleConnection *gc);

/* The table: PurpleConnection * → BspConnection * (owned). */
typedef struct _BspConnectionTable BspConnectionTable;

BspConnectionTable *bsp_connection_table_new (void);
void bsp_connection_table_free (BspConnectionTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspConnectionTable, bsp_connection_table_free)

BspConnection *bsp_connection_table_ensure (BspConnectionTable *table, PurpleConnection *gc,
                                            PurplePlugin *jabber);
BspConnection *bsp_connection_table_lookup (BspConnectionTable *table, PurpleConnection *gc);
/* Ends @gc's state; transfers still running are cancelled with @reason,
 * or, when the connection was lost, with that. */
gboolean bsp_connection_table_remove (BspConnectionTable *table, PurpleConnection *gc,
                                      const char *reason);
/* Ends every connection's state with @reason (this user's act). */
void bsp_connection_table_clear (BspConnectionTable *table, const char *reason);
guint bsp_connection_table_size (BspConnectionTable *table);
/* The connections now (BspConnection *, not owned); free with g_list_free. */
GList *bsp_connection_table_list (BspConnectionTable *table);

G_END_DECLS
