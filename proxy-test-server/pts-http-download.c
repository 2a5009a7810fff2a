/* pts-http-download.c — the receiver's HTTP download as a relay sink
 *
 * Over plain HTTP with the file's size known when the head is due, the
 * connection is taken from libsoup and the download becomes a socket
 * sink (pts-socket-endpoint.c) that writes the head and then the body:
 * from a SOCKS5 sender through the relay's pipe, with splice(2), as between
 * two SOCKS5 parties. Otherwise (HTTPS, a size not known) libsoup writes
 * the response; the body is handed to it in slices of the relay's buffer
 * without copying them, and each slice is consumed once libsoup has
 * written it (wrote-chunk). A download that cannot end whole is cut, never
 * closed with a final chunk (PROTOCOL.md §5.3).
 *
 * Threads: the main thread, where libsoup is, until the download is taken
 * from it. A relay from a SOCKS5 sender then moves to a worker
 * (pts_relay_sink_became_socket()), and this endpoint with its socket is
 * that worker's from then on: the main thread no longer looks it up
 * (pts_proxy_find_download()). An upload's relay stays on the main thread.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <string.h>

#include "bsp-multipart.h"
#include "pts-http-download.h"
#include "pts-http-upload.h"
#include "pts-socket-endpoint.h"

/* Largest slice handed to libsoup at once. */
#define PTS_DOWNLOAD_CHUNK (256 * 1024)

static void
pts_http_download_respond_error (SoupServerMessage *msg, guint status, const char *message)
{
  g_autofree char *body = g_strdup_printf ("%s\n", message);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

typedef struct
{
  PtsEndpoint parent;
  SoupServerMessage *msg;
  gboolean headers_set;
  gsize outstanding; /* bytes of the relay's buffer libsoup is writing */
  gint64 size;       /* announced in Content-Length, or -1 */
  guint64 written;
  gboolean completed; /* the body's end is queued */
  gboolean finished;
  gboolean used;    /* a GET was attached once */
  guint wake_id;    /* the pump after a wake, once the waker is done */
  PtsEndpoint *raw; /* the plain socket the body goes to, once taken from libsoup */
} PtsHttpDownload;

static char *
pts_http_content_disposition (const char *name)
{
  g_autofree char *names = NULL;

  if (name == NULL || *name == '\0')
    return g_strdup ("attachment");
  names = bsp_disposition_filename (name);
  return g_strconcat ("attachment; ", names, NULL);
}

static void
pts_http_download_broke_off (PtsHttpDownload *self)
{
  g_autoptr (GError) error = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_RECEIVER_GONE,
                                                  "the receiver's download broke off");

  pts_relay_fail (self->parent.relay, error);
}

/* The response's status line and headers, as set on the message. */
static char *
pts_http_download_head (SoupServerMessage *msg)
{
  GString *head = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  guint status = soup_server_message_get_status (msg);

  g_string_append_printf (head, "HTTP/1.1 %u %s\r\n", status, soup_status_get_phrase (status));
  soup_message_headers_iter_init (&iter, soup_server_message_get_response_headers (msg));
  while (soup_message_headers_iter_next (&iter, &name, &value))
    g_string_append_printf (head, "%s: %s\r\n", name, value);
  g_string_append (head, "\r\n");
  return g_string_free (head, FALSE);
}

/* A plain connection and a known size: the connection is taken from
 * libsoup and the response, its head as set on the message, written as a
 * SOCKS5 sink writes (no chunks to frame, and a socket source splices
 * into it). Only from the pump's idle, with libsoup off the stack. FALSE:
 * libsoup writes it. */
static gboolean
pts_http_download_take (PtsHttpDownload *self)
{
  GSocket *socket = g_object_get_data (G_OBJECT (self->msg), PTS_HTTP_MESSAGE_SOCKET);
  g_autoptr (GSocket) kept = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autofree char *head = NULL;

  if (socket == NULL || self->size < 0)
    return FALSE;
  kept = g_object_ref (socket);
  head = pts_http_download_head (self->msg);
  g_signal_handlers_disconnect_by_data (self->msg, self);
  stream = soup_server_message_steal_connection (self->msg);
  g_clear_object (&self->msg);
  if (stream == NULL)
    {
      pts_http_download_broke_off (self);
      return TRUE;
    }
  self->raw = pts_socket_endpoint_new_sink_with_head (stream, kept, head);
  self->raw->relay = self->parent.relay;
  /* The endpoint holds the connection now, alone: if the relay moves, this
   * thread has nothing of it left to drop. */
  g_clear_object (&stream);
  g_clear_object (&kept);
  /* Both ends plain sockets now: the relay may splice, and go on in a
   * worker (which wakes both ends there). */
  if (!pts_relay_sink_became_socket (self->parent.relay))
    self->raw->klass->wake (self->raw);
  return TRUE;
}

static void
pts_http_download_pump (PtsHttpDownload *self)
{
  PtsRelay *relay = self->parent.relay;
  gsize avail;
  const guint8 *ptr;

  if (self->msg == NULL || self->finished || self->completed)
    return;
  if (!self->headers_set)
    {
      SoupMessageHeaders *headers = soup_server_message_get_response_headers (self->msg);
      gint64 size;
      const char *name;
      g_autofree char *disposition = NULL;

      if (!pts_relay_get_file_info (relay, &size, &name))
        return; /* the upload has not started: the GET waits */
      disposition = pts_http_content_disposition (name);
      soup_server_message_set_status (self->msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_replace (headers, "Content-Type", "application/octet-stream");
      soup_message_headers_replace (headers, "Content-Disposition", disposition);
      soup_message_headers_replace (headers, "Cache-Control", "no-store");
      self->size = size;
      if (size >= 0)
        soup_message_headers_set_content_length (headers, size);
      else
        soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
      self->headers_set = TRUE;
      if (pts_http_download_take (self))
        return;
    }
  if (self->outstanding > 0)
    return;
  ptr = pts_relay_read_ptr (relay, &avail);
  if (self->size >= 0 && self->written == (guint64) self->size)
    {
      /* Every announced byte is out: the body is complete, whatever the
       * upload still has to say (its closing boundary, say). */
      self->completed = TRUE;
      soup_message_body_complete (soup_server_message_get_response_body (self->msg));
    }
  else if (avail > 0)
    {
      self->outstanding = MIN (avail, PTS_DOWNLOAD_CHUNK);
      if (self->size >= 0)
        self->outstanding = MIN (self->outstanding, (guint64) self->size - self->written);
      /* No copy: the bytes stay in the relay until libsoup wrote them. */
      soup_message_body_append (soup_server_message_get_response_body (self->msg),
                                SOUP_MEMORY_STATIC, ptr, self->outstanding);
    }
  else if (pts_relay_source_finished (relay))
    {
      self->completed = TRUE;
      soup_message_body_complete (soup_server_message_get_response_body (self->msg));
    }
  else
    return;
  soup_server_message_unpause (self->msg);
}

static void
pts_http_download_wrote_chunk (SoupServerMessage *msg, gpointer user_data)
{
  PtsHttpDownload *self = user_data;
  gsize n = self->outstanding;

  if (n == 0 || self->finished)
    return;
  self->outstanding = 0;
  self->written += n;
  pts_relay_consume (self->parent.relay, n);
  pts_http_download_pump (self);
}

static void
pts_http_download_finished (SoupServerMessage *msg, gpointer user_data)
{
  PtsHttpDownload *self = user_data;

  g_signal_handlers_disconnect_by_data (msg, self);
  g_clear_object (&self->msg);
  if (self->finished)
    return;
  if (self->completed)
    pts_relay_sink_done (self->parent.relay);
  else
    pts_http_download_broke_off (self);
}

guint
pts_http_download_attach (PtsEndpoint *ep, SoupServerMessage *msg)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  if (self->used || self->finished)
    return SOUP_STATUS_GONE;
  self->used = TRUE;
  self->msg = g_object_ref (msg);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-chunk", G_CALLBACK (pts_http_download_wrote_chunk), self);
  g_signal_connect (msg, "finished", G_CALLBACK (pts_http_download_finished), self);
  soup_server_message_pause (msg);
  /* From an idle: the connection may be taken (pts_http_download_take()),
   * which libsoup does not allow from within its handler. */
  self->parent.klass->wake (&self->parent);
  return 0;
}

static gboolean
pts_http_download_woken (gpointer user_data)
{
  PtsHttpDownload *self = user_data;

  self->wake_id = 0;
  pts_http_download_pump (self);
  return G_SOURCE_REMOVE;
}

/* The relay wakes us from within the upload's first push of a read round:
 * pumping right then would hand libsoup that one read (a single TLS record,
 * 16 KiB) as its own HTTP chunk, with its framing in records of their own.
 * The pump waits for the round to end, and takes all of it. */
static void
pts_http_download_wake (PtsEndpoint *ep)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  if (self->raw != NULL)
    {
      self->raw->klass->wake (self->raw);
      return;
    }
  if (self->wake_id == 0 && !self->finished)
    self->wake_id = g_idle_add_full (G_PRIORITY_DEFAULT, pts_http_download_woken, self, NULL);
}

static void
pts_http_download_finish (PtsEndpoint *ep, const GError *error)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  if (self->finished)
    return;
  self->finished = TRUE;
  g_clear_handle_id (&self->wake_id, g_source_remove);
  if (self->raw != NULL)
    self->raw->klass->finish (self->raw, error);
  if (self->msg == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->msg, self);
  if (error != NULL && !self->headers_set)
    {
      pts_http_download_respond_error (self->msg, pts_http_status_for_error (error),
                                       error->message);
      soup_server_message_unpause (self->msg);
    }
  else if (error != NULL || !self->completed)
    {
      /* Mid-body: cut the connection, so that the receiver can never take
       * a short file for a whole one (no closing chunk, short length). The
       * socket is shut first: libsoup would otherwise write the closing
       * chunk when it lets go of the message. */
      GSocket *socket = g_object_get_data (G_OBJECT (self->msg), PTS_HTTP_MESSAGE_SOCKET);
      GIOStream *stream;

      if (socket != NULL)
        g_socket_shutdown (socket, TRUE, TRUE, NULL);
      stream = soup_server_message_steal_connection (self->msg);
      if (stream != NULL)
        {
          g_io_stream_close (stream, NULL, NULL);
          g_object_unref (stream);
        }
    }
  g_clear_object (&self->msg);
}

/* Only once the download is a socket (pts_http_download_take(), from its
 * own idle: no other source of ours is attached). */
static void
pts_http_download_detach (PtsEndpoint *ep)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  g_assert (self->raw != NULL && self->wake_id == 0);
  if (self->raw->klass->detach != NULL)
    self->raw->klass->detach (self->raw);
}

static void
pts_http_download_free (PtsEndpoint *ep)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  pts_http_download_finish (ep, NULL);
  if (self->raw != NULL)
    self->raw->klass->free (self->raw);
  g_free (self);
}

static const PtsEndpointClass pts_http_download_class = {
  "http",
  pts_http_download_wake,
  pts_http_download_finish,
  pts_http_download_free,
  pts_http_download_detach,
};

PtsEndpoint *
pts_http_download_new (void)
{
  PtsHttpDownload *self = g_new0 (PtsHttpDownload, 1);

  self->parent.klass = &pts_http_download_class;
  self->size = -1;
  return &self->parent;
}

gboolean
pts_http_endpoint_is_download (PtsEndpoint *ep)
{
  return ep != NULL && ep->klass == &pts_http_download_class;
}
