/* pts-listener.h — a listening socket that guards the descriptors behind it
 *
 * Every listener of the server (c2s, SOCKS5, HTTP) accepts through one of
 * these: it holds at most so many connections in all and from one address
 * (those over the limit get a short refusal and are closed at once), gives
 * each the idle timeout of its protocol, and when the process runs out of
 * descriptors it stops accepting for a moment instead of spinning on the
 * error, logging once until it recovers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char *name;         /* "c2s", "SOCKS5", "HTTP": for the log */
  guint max_connections;    /* open at once through this listener; 0 = no limit */
  guint max_per_address;    /* of those, from one IP address; 0 = no limit */
  gboolean exempt_loopback; /* loopback is this host (a TLS front, a test): no per-address limit */
  guint idle_timeout;       /* seconds: the socket's I/O timeout (0 = none) */
  const char *refusal;      /* written to a refused connection before the close, or NULL */
} PtsListenerConfig;

typedef struct _PtsListener PtsListener;

/* A connection was accepted; @conn is the callee's to ref. */
typedef void (*PtsListenerFunc) (GSocketConnection *conn, gpointer user_data);

PtsListener *pts_listener_new (const PtsListenerConfig *config, PtsListenerFunc accepted,
                               gpointer user_data);
void pts_listener_free (PtsListener *listener);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsListener, pts_listener_free)

/* Binds @address:@port (0 = any free port) and starts accepting; returns
 * the bound port, or 0 with @error set. */
guint16 pts_listener_listen (PtsListener *listener, const char *address, guint16 port,
                             GError **error);
/* The socket of the open connection from @remote, or NULL: for servers
 * that take connections as streams and forget their sockets (libsoup). */
GSocket *pts_listener_socket_of (PtsListener *listener, GSocketAddress *remote);
/* Connections open through it now. */
guint pts_listener_count (PtsListener *listener);

/* Raises the soft limit on open files to the hard one (at start). */
void pts_listener_raise_fd_limit (void);

G_END_DECLS
