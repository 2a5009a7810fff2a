/* pts-net.h — small socket helpers shared by the listeners
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Binds @listener to @address:@port (0 = any free port); returns the bound
 * port, or 0 with @error set. */
guint16 pts_net_listen (GSocketListener *listener, const char *address, guint16 port,
                        GError **error);

/* A listening socket of our own (for servers that take one, like
 * SoupServer), with the same backlog; NULL with @error set. */
GSocket *pts_net_listen_socket (const char *address, guint16 port, GError **error);
guint16 pts_net_local_port (GSocket *socket);

G_END_DECLS
