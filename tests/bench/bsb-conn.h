/* bsb-conn.h — one HTTP connection of the benchmark clients, plain or TLS
 *
 * A plain connection is the blocking socket of bsb-net.h. A TLS one wraps
 * the same socket in GIO's TLS client (the machine's TLS backend), checked
 * against the CA file given to bsb_conn_set_ca_file() (the benchmark's
 * generated CA) or the system's store; the socket's timeouts stay.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "bsb-net.h"

G_BEGIN_DECLS

typedef struct _BsbConn BsbConn;

/* Trust the PEM certificates in @path for TLS (call before any thread
 * connects); NULL: the system's store. */
gboolean bsb_conn_set_ca_file (const char *path, GError **error);

/* A connection to @host:@port, with TLS (and its handshake done) when @tls. */
BsbConn *bsb_conn_open (const char *host, guint16 port, gboolean tls, int timeout_s,
                        GError **error);
/* The socket underneath, for a BsbSocketSlot. */
int bsb_conn_get_fd (BsbConn *conn);
gboolean bsb_conn_write_all (BsbConn *conn, const void *data, gsize len, GError **error);
/* > 0 bytes, 0 at EOF, -1 on error (timeout included). */
gssize bsb_conn_read (BsbConn *conn, void *data, gsize len, GError **error);
void bsb_conn_close (BsbConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsbConn, bsb_conn_close)

G_END_DECLS
