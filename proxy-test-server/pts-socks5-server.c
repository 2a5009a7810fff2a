/* pts-socks5-server.c — the SOCKS5 listener: handshakes, then hands sockets to the proxy
 *
 * Each handshake reads exactly the bytes of the greeting and the request, so
 * that nothing the initiator sends after them is consumed here: it waits in
 * the kernel until the relay starts (never dropped).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-socks5"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "pts-listener.h"
#include "pts-socks5-server.h"
#include "pts-socks5.h"

struct _PtsSocks5Server
{
  PtsProxy *proxy;
  PtsListener *listener;
  GList *handshakes; /* PtsSocks5Handshake */
  guint timeout;
};

typedef enum
{
  PTS_HS_GREETING_HEAD, /* VER NMETHODS */
  PTS_HS_GREETING_METHODS,
  PTS_HS_REQUEST_HEAD, /* VER CMD RSV ATYP LEN */
  PTS_HS_REQUEST_ADDR, /* ADDR PORT */
  PTS_HS_REPLYING,
} PtsHandshakeStep;

typedef struct
{
  PtsSocks5Server *server;
  GSocketConnection *conn;
  GCancellable *cancellable;
  guint timer_id;
  PtsHandshakeStep step;
  guint8 buf[8 + 255 + 2];
  gsize have;
  gsize want;
  guint8 reply[7 + 40];
  gsize reply_len;
  gboolean accepted;
} PtsSocks5Handshake;

static void pts_socks5_handshake_next (PtsSocks5Handshake *hs, gsize want);

static void
pts_socks5_handshake_free (PtsSocks5Handshake *hs)
{
  hs->server->handshakes = g_list_remove (hs->server->handshakes, hs);
  g_clear_handle_id (&hs->timer_id, g_source_remove);
  g_cancellable_cancel (hs->cancellable);
  g_object_unref (hs->cancellable);
  if (!hs->accepted)
    g_io_stream_close (G_IO_STREAM (hs->conn), NULL, NULL);
  g_object_unref (hs->conn);
  g_free (hs);
}

static void
pts_socks5_handshake_replied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsSocks5Handshake *hs = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("SOCKS5 reply not delivered: %s", error->message);
      hs->accepted = FALSE;
      pts_socks5_handshake_free (hs);
      return;
    }
  if (hs->step == PTS_HS_GREETING_METHODS)
    {
      if (hs->reply[1] == PTS_SOCKS5_METHOD_NONE_ACCEPTABLE)
        {
          pts_socks5_handshake_free (hs);
          return;
        }
      hs->step = PTS_HS_REQUEST_HEAD;
      hs->have = 0;
      pts_socks5_handshake_next (hs, 5);
      return;
    }
  /* The request's reply went out: the connection now belongs to the proxy
   * (when accepted) or is closed. */
  pts_socks5_handshake_free (hs);
}

static void
pts_socks5_handshake_reply (PtsSocks5Handshake *hs, const guint8 *data, gsize len)
{
  memcpy (hs->reply, data, len);
  hs->reply_len = len;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (hs->conn)),
                                   hs->reply, hs->reply_len, G_PRIORITY_DEFAULT, hs->cancellable,
                                   pts_socks5_handshake_replied, hs);
}

static void
pts_socks5_handshake_refuse (PtsSocks5Handshake *hs, guint8 rep, const char *why)
{
  guint8 reply[7];
  gsize len;

  g_message ("SOCKS5 client refused: %s", why);
  if (rep == 0xff)
    {
      pts_socks5_handshake_free (hs);
      return;
    }
  len = pts_socks5_build_reply (reply, rep, NULL, 0);
  hs->step = PTS_HS_REPLYING;
  pts_socks5_handshake_reply (hs, reply, len);
}

static void
pts_socks5_handshake_process (PtsSocks5Handshake *hs)
{
  const char *why = NULL;
  gsize consumed = 0;

  switch (hs->step)
    {
    case PTS_HS_GREETING_HEAD:
    case PTS_HS_GREETING_METHODS:
      {
        guint8 reply[2];
        PtsSocks5Status status
            = pts_socks5_parse_greeting (hs->buf, hs->have, &consumed, reply, &why);
        if (status == PTS_SOCKS5_NEED_MORE)
          {
            hs->step = PTS_HS_GREETING_METHODS;
            pts_socks5_handshake_next (hs, 2 + hs->buf[1]);
            return;
          }
        if (status == PTS_SOCKS5_FAIL)
          g_message ("SOCKS5 greeting refused: %s", why);
        if (status == PTS_SOCKS5_FAIL && hs->have >= 1 && hs->buf[0] != 0x05)
          {
            pts_socks5_handshake_free (hs);
            return;
          }
        hs->step = PTS_HS_GREETING_METHODS;
        pts_socks5_handshake_reply (hs, reply, 2);
        return;
      }
    case PTS_HS_REQUEST_HEAD:
    case PTS_HS_REQUEST_ADDR:
      {
        char hash[41];
        guint16 port = 0;
        guint8 rep;
        PtsSocks5Status status
            = pts_socks5_parse_request (hs->buf, hs->have, &consumed, hash, &port, &rep, &why);
        guint8 reply[7 + 40];
        gsize len;

        if (status == PTS_SOCKS5_NEED_MORE)
          {
            hs->step = PTS_HS_REQUEST_ADDR;
            pts_socks5_handshake_next (hs, 5 + hs->buf[4] + 2);
            return;
          }
        if (status == PTS_SOCKS5_FAIL)
          {
            pts_socks5_handshake_refuse (hs, rep, why);
            return;
          }
        if (!pts_proxy_socks5_attach (hs->server->proxy, hash, hs->conn, &why))
          {
            pts_socks5_handshake_refuse (hs, PTS_SOCKS5_REP_GENERAL_FAILURE, why);
            return;
          }
        hs->accepted = TRUE;
        hs->step = PTS_HS_REPLYING;
        g_clear_handle_id (&hs->timer_id, g_source_remove);
        len = pts_socks5_build_reply (reply, PTS_SOCKS5_REP_SUCCEEDED, hash, port);
        pts_socks5_handshake_reply (hs, reply, len);
        return;
      }
    case PTS_HS_REPLYING: break;
    }
  g_assert_not_reached ();
}

static void
pts_socks5_handshake_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsSocks5Handshake *hs = user_data;
  g_autoptr (GError) error = NULL;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("SOCKS5 handshake failed: %s", error->message);
      pts_socks5_handshake_free (hs);
      return;
    }
  hs->have += n;
  if (hs->have < hs->want)
    {
      g_debug ("SOCKS5 client closed during the handshake");
      pts_socks5_handshake_free (hs);
      return;
    }
  pts_socks5_handshake_process (hs);
}

/* Reads until @want bytes of the current message are in. */
static void
pts_socks5_handshake_next (PtsSocks5Handshake *hs, gsize want)
{
  g_assert (want <= sizeof hs->buf && want > hs->have);
  hs->want = want;
  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (hs->conn)),
                                 hs->buf + hs->have, want - hs->have, G_PRIORITY_DEFAULT,
                                 hs->cancellable, pts_socks5_handshake_read, hs);
}

static gboolean
pts_socks5_handshake_timeout (gpointer user_data)
{
  PtsSocks5Handshake *hs = user_data;

  hs->timer_id = 0;
  g_message ("SOCKS5 handshake timed out");
  pts_socks5_handshake_free (hs);
  return G_SOURCE_REMOVE;
}

static void
pts_socks5_server_incoming (GSocketConnection *conn, gpointer user_data)
{
  PtsSocks5Server *self = user_data;
  PtsSocks5Handshake *hs = g_new0 (PtsSocks5Handshake, 1);

  hs->server = self;
  hs->conn = g_object_ref (conn);
  hs->cancellable = g_cancellable_new ();
  hs->timer_id = g_timeout_add_seconds (self->timeout, pts_socks5_handshake_timeout, hs);
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  self->handshakes = g_list_prepend (self->handshakes, hs);
  pts_socks5_handshake_next (hs, 2);
}

PtsSocks5Server *
pts_socks5_server_new (PtsProxy *proxy, guint handshake_timeout, guint max_connections,
                       guint max_per_address)
{
  /* A refused SOCKS5 client just sees the close. */
  PtsListenerConfig listener = { "SOCKS5", max_connections, max_per_address, TRUE, 0, NULL };
  PtsSocks5Server *self = g_new0 (PtsSocks5Server, 1);

  self->proxy = proxy;
  self->timeout = handshake_timeout;
  self->listener = pts_listener_new (&listener, pts_socks5_server_incoming, self);
  return self;
}

guint16
pts_socks5_server_listen (PtsSocks5Server *self, const char *address, guint16 port, GError **error)
{
  return pts_listener_listen (self->listener, address, port, error);
}

void
pts_socks5_server_free (PtsSocks5Server *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->listener, pts_listener_free);
  while (self->handshakes != NULL)
    pts_socks5_handshake_free (self->handshakes->data);
  g_free (self);
}
