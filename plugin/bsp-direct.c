/* bsp-direct.c — the receiver's attempts at the sender's own streamhosts
 *
 * Every attempt is TCP, then SOCKS5 with no authentication and a CONNECT
 * to the SIDHASH as a domain name, port 0 (XEP-0065 §6.3). Reads are of
 * exact lengths, so that no byte of the file is taken from the socket
 * before it is handed over. Everything the sender answers is checked; the
 * attempts together are bounded by BSP_DIRECT_TIMEOUT_S.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "bsp-direct.h"
#include "bsp-log.h"

/* The longest reply: VER REP RSV ATYP, a length byte, 255 bytes of name, a port. */
#define BSP_DIRECT_BUF 262

typedef struct
{
  BspDirect *owner;
  char *jid;
  char *host;
  guint16 port;
  GSocketConnection *conn; /* once TCP is up */
  gboolean over;           /* failed, or won */
  gsize want;              /* the bytes the pending read must bring */
  guint8 buf[BSP_DIRECT_BUF];
} BspDirectTry;

struct _BspDirect
{
  gint ref_count;
  char *sidhash;
  GPtrArray *tries; /* BspDirectTry * */
  GSocketClient *client;
  GCancellable *cancellable;
  guint timeout_id;
  guint running;     /* attempts neither failed nor won */
  gboolean finished; /* called back, or stopped */
  GError *last_error;
  BspDirectDone done;
  gpointer user_data;
};

static const guint8 bsp_direct_greeting[] = { 0x05, 0x01, 0x00 };

static void
bsp_direct_close (BspDirectTry *tr)
{
  if (tr->conn == NULL)
    return;
  /* The socket itself: a read still pending (cancelled) must not keep it open. */
  g_socket_close (g_socket_connection_get_socket (tr->conn), NULL);
  g_clear_object (&tr->conn);
}

static void
bsp_direct_try_free (BspDirectTry *tr)
{
  bsp_direct_close (tr);
  g_free (tr->jid);
  g_free (tr->host);
  g_free (tr);
}

static BspDirect *
bsp_direct_ref (BspDirect *self)
{
  self->ref_count++;
  return self;
}

static void
bsp_direct_unref (BspDirect *self)
{
  if (--self->ref_count > 0)
    return;
  g_ptr_array_unref (self->tries);
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->last_error);
  g_free (self->sidhash);
  g_free (self);
}

BspDirect *
bsp_direct_new (const char *sidhash)
{
  BspDirect *self = g_new0 (BspDirect, 1);

  self->ref_count = 1;
  self->sidhash = g_strdup (sidhash);
  self->tries = g_ptr_array_new_with_free_func ((GDestroyNotify) bsp_direct_try_free);
  self->cancellable = g_cancellable_new ();
  self->client = g_socket_client_new ();
  /* Direct means direct: no proxy from the environment. */
  g_socket_client_set_enable_proxy (self->client, FALSE);
  g_socket_client_set_timeout (self->client, BSP_DIRECT_TIMEOUT_S);
  return self;
}

gboolean
bsp_direct_add (BspDirect *self, const char *jid, const char *host, const char *port)
{
  BspDirectTry *tr;
  guint64 number;
  gsize len = host ? strlen (host) : 0;

  if (self->tries->len >= BSP_DIRECT_MAX_HOSTS || jid == NULL || len == 0 || len > 255
      || port == NULL || !g_ascii_string_to_unsigned (port, 10, 1, 65535, &number, NULL))
    return FALSE;
  for (const char *c = host; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && strchr (".-:_", *c) == NULL)
      return FALSE;
  tr = g_new0 (BspDirectTry, 1);
  tr->owner = self;
  tr->jid = g_strdup (jid);
  tr->host = g_strdup (host);
  tr->port = (guint16) number;
  g_ptr_array_add (self->tries, tr);
  return TRUE;
}

guint
bsp_direct_count (BspDirect *self)
{
  return self->tries->len;
}

/* Ends every attempt, the established connections closed when @close. */
static void
bsp_direct_end_all (BspDirect *self, gboolean close)
{
  self->finished = TRUE;
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  for (guint i = 0; close && i < self->tries->len; i++)
    bsp_direct_close (self->tries->pdata[i]);
}

static void
bsp_direct_failed (BspDirectTry *tr, GError *error)
{
  BspDirect *self = tr->owner;

  if (self->finished || tr->over)
    {
      g_error_free (error);
      return;
    }
  bsp_log_info ("direct streamhost %s:%u: %s", tr->host, tr->port, error->message);
  tr->over = TRUE;
  bsp_direct_close (tr);
  g_clear_error (&self->last_error);
  self->last_error = error;
  if (--self->running == 0)
    {
      bsp_direct_end_all (self, TRUE);
      self->done (-1, NULL, self->last_error, self->user_data);
    }
}

/* The whole handshake went through: @tr's socket goes to the caller. */
static void
bsp_direct_won (BspDirectTry *tr)
{
  BspDirect *self = tr->owner;
  int fd = fcntl (g_socket_get_fd (g_socket_connection_get_socket (tr->conn)), F_DUPFD_CLOEXEC, 0);

  if (fd < 0)
    {
      bsp_direct_failed (tr, g_error_new (G_IO_ERROR, g_io_error_from_errno (errno),
                                          "could not take the connection over: %s",
                                          g_strerror (errno)));
      return;
    }
  tr->over = TRUE;
  /* Only one connection can be the sender's: the others are not. */
  bsp_direct_end_all (self, TRUE);
  self->done (fd, tr->jid, NULL, self->user_data);
}

/* Whether an I/O step of @tr finished well; on FALSE the attempt is over. */
static gboolean
bsp_direct_step_ok (BspDirectTry *tr, gboolean ok, gsize got, gsize wanted, GError *error)
{
  if (tr->owner->finished || tr->over)
    {
      g_clear_error (&error);
      return FALSE;
    }
  if (!ok)
    {
      bsp_direct_failed (tr, error);
      return FALSE;
    }
  if (got != wanted)
    {
      bsp_direct_failed (tr, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                                  "the streamhost closed the connection"));
      return FALSE;
    }
  return TRUE;
}

static void
bsp_direct_read (BspDirectTry *tr, gsize offset, gsize len, GAsyncReadyCallback callback)
{
  g_input_stream_read_all_async (g_io_stream_get_input_stream (G_IO_STREAM (tr->conn)),
                                 tr->buf + offset, len, G_PRIORITY_DEFAULT, tr->owner->cancellable,
                                 callback, tr);
  bsp_direct_ref (tr->owner);
}

static void
bsp_direct_write (BspDirectTry *tr, const guint8 *data, gsize len, GAsyncReadyCallback callback)
{
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (tr->conn)), data,
                                   len, G_PRIORITY_DEFAULT, tr->owner->cancellable, callback, tr);
  bsp_direct_ref (tr->owner);
}

/* The rest of the reply: its address (what, is not ours to judge) and port. */
static void
bsp_direct_reply_rest_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDirectTry *tr = user_data;
  BspDirect *self = tr->owner;
  GError *error = NULL;
  gsize got = 0;
  gboolean ok = g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &got, &error);

  if (bsp_direct_step_ok (tr, ok, got, tr->want, error))
    bsp_direct_won (tr);
  bsp_direct_unref (self);
}

/* VER REP RSV ATYP and the first byte of the address. */
static void
bsp_direct_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDirectTry *tr = user_data;
  BspDirect *self = tr->owner;
  GError *error = NULL;
  gsize got = 0, rest = 0;
  gboolean ok = g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &got, &error);

  if (bsp_direct_step_ok (tr, ok, got, 5, error))
    {
      switch (tr->buf[3])
        {
        case 0x01: rest = 4 - 1 + 2; break;
        case 0x03: rest = tr->buf[4] + 2u; break;
        case 0x04: rest = 16 - 1 + 2; break;
        default: rest = 0; break;
        }
      if (tr->buf[0] != 0x05 || tr->buf[1] != 0x00 || rest == 0)
        bsp_direct_failed (tr, g_error_new (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                                            "the streamhost refused the stream (SOCKS5 reply "
                                            "%u %u, address type %u)",
                                            tr->buf[0], tr->buf[1], tr->buf[3]));
      else
        {
          tr->want = rest;
          bsp_direct_read (tr, 5, rest, bsp_direct_reply_rest_cb);
        }
    }
  bsp_direct_unref (self);
}

static void
bsp_direct_requested_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDirectTry *tr = user_data;
  BspDirect *self = tr->owner;
  GError *error = NULL;
  gsize got = 0;
  gsize len = 5 + strlen (self->sidhash) + 2;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &got, &error);

  if (bsp_direct_step_ok (tr, ok, got, len, error))
    bsp_direct_read (tr, 0, 5, bsp_direct_reply_cb);
  bsp_direct_unref (self);
}

/* The method the streamhost chose: "no authentication" or nothing. */
static void
bsp_direct_method_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDirectTry *tr = user_data;
  BspDirect *self = tr->owner;
  GError *error = NULL;
  gsize got = 0;
  gboolean ok = g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &got, &error);

  if (bsp_direct_step_ok (tr, ok, got, 2, error))
    {
      gsize hash_len = strlen (self->sidhash);

      if (tr->buf[0] != 0x05 || tr->buf[1] != 0x00)
        bsp_direct_failed (tr, g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                            "not a SOCKS5 streamhost without authentication "
                                            "(it answered %u %u)",
                                            tr->buf[0], tr->buf[1]));
      else
        {
          /* CONNECT, domain name = SIDHASH, port 0 */
          tr->buf[0] = 0x05;
          tr->buf[1] = 0x01;
          tr->buf[2] = 0x00;
          tr->buf[3] = 0x03;
          tr->buf[4] = (guint8) hash_len;
          memcpy (tr->buf + 5, self->sidhash, hash_len);
          tr->buf[5 + hash_len] = 0;
          tr->buf[6 + hash_len] = 0;
          bsp_direct_write (tr, tr->buf, 7 + hash_len, bsp_direct_requested_cb);
        }
    }
  bsp_direct_unref (self);
}

static void
bsp_direct_greeted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDirectTry *tr = user_data;
  BspDirect *self = tr->owner;
  GError *error = NULL;
  gsize got = 0;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &got, &error);

  if (bsp_direct_step_ok (tr, ok, got, sizeof bsp_direct_greeting, error))
    bsp_direct_read (tr, 0, 2, bsp_direct_method_cb);
  bsp_direct_unref (self);
}

static void
bsp_direct_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDirectTry *tr = user_data;
  BspDirect *self = tr->owner;
  GError *error = NULL;
  GSocketConnection *conn
      = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);

  if (conn != NULL)
    {
      /* Kept even when another path won meanwhile (bsp_direct_stop ()). */
      tr->conn = conn;
      if (!self->finished)
        {
          bsp_log_debug ("direct streamhost %s:%u: connected", tr->host, tr->port);
          bsp_direct_write (tr, bsp_direct_greeting, sizeof bsp_direct_greeting,
                            bsp_direct_greeted_cb);
        }
    }
  else
    bsp_direct_step_ok (tr, FALSE, 0, 0, error);
  bsp_direct_unref (self);
}

static gboolean
bsp_direct_timeout (gpointer user_data)
{
  BspDirect *self = user_data;
  g_autoptr (GError) error
      = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no direct streamhost answered within %u s",
                     BSP_DIRECT_TIMEOUT_S);

  self->timeout_id = 0;
  bsp_log_info ("%s", error->message);
  bsp_direct_end_all (self, TRUE);
  self->done (-1, NULL, error, self->user_data);
  return G_SOURCE_REMOVE;
}

void
bsp_direct_start (BspDirect *self, BspDirectDone done, gpointer user_data)
{
  self->done = done;
  self->user_data = user_data;
  self->running = self->tries->len;
  self->timeout_id = g_timeout_add_seconds (BSP_DIRECT_TIMEOUT_S, bsp_direct_timeout, self);
  for (guint i = 0; i < self->tries->len; i++)
    {
      BspDirectTry *tr = self->tries->pdata[i];
      g_autoptr (GSocketConnectable) address = g_network_address_new (tr->host, tr->port);

      g_socket_client_connect_async (self->client, address, self->cancellable,
                                     bsp_direct_connected_cb, tr);
      bsp_direct_ref (self);
    }
}

void
bsp_direct_stop (BspDirect *self)
{
  if (!self->finished)
    bsp_direct_end_all (self, FALSE);
}

void
bsp_direct_free (BspDirect *self)
{
  if (self == NULL)
    return;
  bsp_direct_end_all (self, TRUE);
  bsp_direct_unref (self);
}
