/* pts-net.h — small socket helpers shared by the listeners
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A listening socket, bound and listening with a large backlog (PtsListener
 * accepts on it); NULL with @error set. */
GSocket *pts_net_listen_socket (const char *address, guint16 port, GError **error);
guint16 pts_net_local_port (GSocket *socket);

G_END_DECLS
