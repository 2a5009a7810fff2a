/* bsb-socks5.h — the XEP-0065 SOCKS5 handshake, client side
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Connects to the proxy and asks for the stream @sidhash (CONNECT, ATYP 3,
 * DST.PORT 0). Returns the socket, ready for data, or -1. */
int bsb_socks5_connect (const char *host, guint16 port, const char *sidhash, int timeout_s,
                        GError **error);

G_END_DECLS
