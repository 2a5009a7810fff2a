/* pts-net.c — small socket helpers shared by the listeners
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-net.h"

#define PTS_NET_BACKLOG 1024

GSocket *
pts_net_listen_socket (const char *address, guint16 port, GError **error)
{
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSocket) socket = NULL;

  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--listen wants an IP address, got \"%s\"", address);
      return NULL;
    }
  addr = g_inet_socket_address_new (inet, port);
  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  /* Many transfers start at once (each with two connections): the default
   * backlog of 10 would drop connections under load. */
  g_socket_set_listen_backlog (socket, PTS_NET_BACKLOG);
  if (!g_socket_bind (socket, addr, TRUE, error) || !g_socket_listen (socket, error))
    {
      g_prefix_error (error, "cannot listen on %s port %u: ", address, port);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

guint16
pts_net_local_port (GSocket *socket)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (socket, NULL);

  return local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

GIOStream *
pts_net_tls_server_new (GIOStream *conn, GTlsCertificate *certificate, GError **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();

  return g_initable_new (g_tls_backend_get_server_connection_type (backend), NULL, error,
                         "base-io-stream", conn, "certificate", certificate, "database", NULL,
                         NULL);
}
