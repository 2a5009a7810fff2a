/* pts-net.c — small socket helpers shared by the listeners
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-net.h"

guint16
pts_net_listen (GSocketListener *listener, const char *address, guint16 port, GError **error)
{
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSocketAddress) bound = NULL;

  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--listen wants an IP address, got \"%s\"", address);
      return 0;
    }
  addr = g_inet_socket_address_new (inet, port);
  if (!g_socket_listener_add_address (listener, addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &bound, error))
    {
      g_prefix_error (error, "cannot listen on %s port %u: ", address, port);
      return 0;
    }
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}
