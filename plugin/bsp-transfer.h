/* bsp-transfer.h — taking XMPP file transfers over to the bs-proxy's HTTP side
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <purple.h>

#include "bsp-discovery.h"
#include "bsp-iq.h"

G_BEGIN_DECLS

/* The transfers of one connection. */
typedef struct _BspTransfers BspTransfers;

BspTransfers *bsp_transfers_new (PurpleConnection *gc, PurplePlugin *jabber, BspIqTracker *iq,
                                 BspDiscovery *discovery);
/* Ends every transfer still running with @reason (shown to the user: as
 * this user's own act when @by_user, as a failure otherwise) and frees
 * the table. */
void bsp_transfers_free (BspTransfers *transfers, const char *reason, gboolean by_user);

/* From jabber-receiving-iq: TRUE when the plugin consumed the IQ. */
gboolean bsp_transfers_receiving_iq (BspTransfers *transfers, const char *type, const char *id,
                                     const char *from, xmlnode *iq);
/* From jabber-sending-xmlnode: watches SI and streamhost offers. */
void bsp_transfers_sending_xmlnode (BspTransfers *transfers, xmlnode *node);
/* From file-recv-request: binds an incoming offer to its PurpleXfer. */
void bsp_transfers_recv_request (BspTransfers *transfers, PurpleXfer *xfer);
/* From file-send-cancel / file-recv-cancel: the user or libpurple ended it. */
void bsp_transfers_cancelled (BspTransfers *transfers, PurpleXfer *xfer);
/* Every transfer of ours currently moving bytes over HTTP. */
guint bsp_transfers_count_active (BspTransfers *transfers);

G_END_DECLS
