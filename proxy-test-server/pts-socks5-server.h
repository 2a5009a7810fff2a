/* pts-socks5-server.h — the SOCKS5 listener: handshakes, then hands sockets to the proxy
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-proxy.h"

G_BEGIN_DECLS

typedef struct _PtsSocks5Server PtsSocks5Server;

/* Connections beyond @max_connections in all, or @max_per_address from
 * one address (loopback exempt), are closed at once. */
PtsSocks5Server *pts_socks5_server_new (PtsProxy *proxy, guint handshake_timeout,
                                        guint max_connections, guint max_per_address);
/* Binds @address:@port (0 = any free port); returns the bound port or 0. */
guint16 pts_socks5_server_listen (PtsSocks5Server *server, const char *address, guint16 port,
                                  GError **error);
void pts_socks5_server_free (PtsSocks5Server *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsSocks5Server, pts_socks5_server_free)

G_END_DECLS
