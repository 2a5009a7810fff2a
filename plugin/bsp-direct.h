/* bsp-direct.h — the receiver's attempts at the sender's own streamhosts
 *
 * XEP-0065 direct: TCP to each of the sender's own streamhosts at once,
 * then the SOCKS5 handshake to the stream's SIDHASH. The first connection
 * whose handshake succeeds is handed over as a plain file descriptor.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How long the attempts may take in all before they count as failed. */
#define BSP_DIRECT_TIMEOUT_S 10
/* At most this many of an offer's direct streamhosts are tried. */
#define BSP_DIRECT_MAX_HOSTS 8

typedef struct _BspDirect BspDirect;

/* Called once, unless stopped first: @fd (a non-blocking socket, now the
 * callee's) connected to the streamhost @jid with the handshake done, or
 * -1 and @error when every attempt failed. */
typedef void (*BspDirectDone) (int fd, const char *jid, const GError *error, gpointer user_data);

BspDirect *bsp_direct_new (const char *sidhash);
/* One of the sender's streamhosts; FALSE (nothing added) for a host or port
 * that is not one, or past BSP_DIRECT_MAX_HOSTS. */
gboolean bsp_direct_add (BspDirect *self, const char *jid, const char *host, const char *port);
guint bsp_direct_count (BspDirect *self);
void bsp_direct_start (BspDirect *self, BspDirectDone done, gpointer user_data);
/* Another path won: stops every attempt and never calls back. A connection
 * that TCP already established stays open until bsp_direct_free (): the
 * sender may have accepted it, and libpurple's sender takes its close as
 * the end of the whole transfer until it learnt which streamhost was used. */
void bsp_direct_stop (BspDirect *self);
/* Stops and closes everything. */
void bsp_direct_free (BspDirect *self);

G_END_DECLS
