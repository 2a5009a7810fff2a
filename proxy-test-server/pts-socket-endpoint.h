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

/* How pts_socket_read_into_relay() stopped. */
typedef enum
{
  PTS_SOCKET_READ_DRAINED, /* the socket has no more for now: wait until it is readable */
  PTS_SOCKET_READ_FULL,    /* the relay has no room: wait for its wake */
  PTS_SOCKET_READ_YIELD,   /* a round's share is done: come back at the next dispatch */
  PTS_SOCKET_READ_LIMIT,   /* @max bytes are in */
  PTS_SOCKET_READ_END,     /* the peer closed */
  PTS_SOCKET_READ_ERROR,   /* errno in *err */
} PtsSocketRead;

/* Reads at most @max bytes from the plain non-blocking socket @fd into
 * @relay, in a bounded number of rounds: spliced into the relay's pipe when
 * it has one, received into its ring otherwise, committed as they come
 * (*@moved says how many). The relay's thread only. Shared by the socket
 * endpoint and an upload that reads its file's bytes from its socket
 * (pts-http-upload.c). */
PtsSocketRead pts_socket_read_into_relay (PtsRelay *relay, int fd, guint64 max, guint64 *moved,
                                          int *err);

G_END_DECLS
