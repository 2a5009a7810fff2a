/* pts-socket-endpoint.h — a plain socket as a relay source or sink
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

/* A sink on @socket (plain, non-blocking) that sends @head before the
 * relay's bytes; @stream (a reference is taken) is what closes it. */
PtsEndpoint *pts_socket_endpoint_new_sink_with_head (GIOStream *stream, GSocket *socket,
                                                     const char *head);

G_END_DECLS
