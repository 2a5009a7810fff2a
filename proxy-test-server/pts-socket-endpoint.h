/* pts-socket-endpoint.h — a SOCKS5 connection as a relay source or sink
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-relay.h"

G_BEGIN_DECLS

/* Takes a reference on @conn. A source reads the socket into the relay; a
 * sink writes the relay to the socket (and discards whatever the peer sends). */
PtsEndpoint *pts_socket_endpoint_new (GSocketConnection *conn, gboolean is_source);

G_END_DECLS
