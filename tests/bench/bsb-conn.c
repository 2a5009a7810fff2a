/* bsb-conn.c — one HTTP connection of the benchmark clients, plain or TLS
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <unistd.h>

#include "bsb-conn.h"

struct _BsbConn
{
  int fd;
  GIOStream *tls; /* NULL: plain, the socket is used directly */
  GInputStream *in;
  GOutputStream *out;
};

/* Set once by the main thread before any transfer starts. */
static GTlsDatabase *bsb_conn_ca;

gboolean
bsb_conn_set_ca_file (const char *path, GError **error)
{
  g_clear_object (&bsb_conn_ca);
  if (path == NULL)
    return TRUE;
  bsb_conn_ca = g_tls_file_database_new (path, error);
  return bsb_conn_ca != NULL;
}

BsbConn *
bsb_conn_open (const char *host, guint16 port, gboolean tls, int timeout_s, GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketConnection) base = NULL;
  g_autoptr (GSocketConnectable) identity = NULL;
  g_autoptr (GIOStream) stream = NULL;
  BsbConn *conn;
  int fd;

  fd = bsb_net_connect (host, port, timeout_s, error);
  if (fd < 0)
    return NULL;
  conn = g_new0 (BsbConn, 1);
  conn->fd = fd;
  if (!tls)
    return conn;

  /* From here the GSocket owns the descriptor. */
  socket = g_socket_new_from_fd (fd, error);
  if (socket == NULL)
    {
      close (fd);
      g_free (conn);
      return NULL;
    }
  g_socket_set_timeout (socket, (guint) timeout_s);
  base = g_socket_connection_factory_create_connection (socket);
  identity = g_network_address_new (host, port);
  /* The CA file's database is given at construction: set afterwards, the
   * system's whole trust store would be parsed first, for every connection. */
  if (bsb_conn_ca != NULL)
    stream = g_initable_new (
        g_tls_backend_get_client_connection_type (g_tls_backend_get_default ()), NULL, error,
        "base-io-stream", base, "server-identity", identity, "database", bsb_conn_ca, NULL);
  else
    stream = g_tls_client_connection_new (G_IO_STREAM (base), identity, error);
  if (stream == NULL || !g_tls_connection_handshake (G_TLS_CONNECTION (stream), NULL, error))
    {
      g_prefix_error (error, "TLS with %s:%u: ", host, port);
      g_free (conn);
      return NULL;
    }
  conn->tls = g_steal_pointer (&stream);
  conn->in = g_io_stream_get_input_stream (conn->tls);
  conn->out = g_io_stream_get_output_stream (conn->tls);
  return conn;
}

int
bsb_conn_get_fd (BsbConn *conn)
{
  return conn->fd;
}

gboolean
bsb_conn_write_all (BsbConn *conn, const void *data, gsize len, GError **error)
{
  if (conn->tls == NULL)
    return bsb_net_write_all (conn->fd, data, len, error);
  return g_output_stream_write_all (conn->out, data, len, NULL, NULL, error);
}

gssize
bsb_conn_read (BsbConn *conn, void *data, gsize len, GError **error)
{
  if (conn->tls == NULL)
    return bsb_net_read (conn->fd, data, len, error);
  return g_input_stream_read (conn->in, data, len, NULL, error);
}

void
bsb_conn_close (BsbConn *conn)
{
  if (conn == NULL)
    return;
  if (conn->tls != NULL)
    g_object_unref (conn->tls); /* closes the socket with its GSocket */
  else
    close (conn->fd);
  g_free (conn);
}
