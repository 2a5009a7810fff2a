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

/* The server side of TLS over @conn with @certificate (HTTPS and STARTTLS),
 * made without a CA database: no client certificate is asked for, and the
 * default database would otherwise be loaded anew for every connection (the
 * whole system trust store parsed on the main loop, some 20 ms of CPU
 * each). NULL with @error set. */
GIOStream *pts_net_tls_server_new (GIOStream *conn, GTlsCertificate *certificate, GError **error);

G_END_DECLS
