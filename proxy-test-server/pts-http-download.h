/* pts-http-download.h — the receiver's HTTP download as a relay sink
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "pts-relay.h"

G_BEGIN_DECLS

/* The GSocket of a message's connection, set by pts-http.c (libsoup does
 * not know the sockets of connections handed to it as streams). */
#define PTS_HTTP_MESSAGE_SOCKET "pts-socket"

/* The GET of one session's receiver. */
PtsEndpoint *pts_http_download_new (void);
gboolean pts_http_endpoint_is_download (PtsEndpoint *ep);
/* Takes the GET: 0, or the status to refuse it with (a second GET). */
guint pts_http_download_attach (PtsEndpoint *ep, SoupServerMessage *msg);

G_END_DECLS
