/* pts-http-request.c — an upload request taken from libsoup: its body, then its answer
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <libsoup/soup.h>
#include <string.h>

#include "pts-chunked.h"
#include "pts-http-guard.h"
#include "pts-http-request.h"

/* Most body bytes read (and dropped) before an answer that waits for the
 * body's end; with more left the answer goes out at once. */
#define PTS_REQUEST_DRAIN_MAX (256 * 1024)
/* How long the connection is drained around the answer: before it (the
 * rest of the body) and after it (so that the close does not reset the
 * connection before the client read the answer). */
#define PTS_REQUEST_LINGER_MS 2000

typedef enum
{
  PTS_REQUEST_BODY,     /* the body is being read by its owner */
  PTS_REQUEST_DRAINING, /* reading the rest of the body before the answer */
  PTS_REQUEST_WRITING,  /* the answer is going out */
  PTS_REQUEST_LINGERING /* answered; reading what still comes until the close */
} PtsRequestState;

struct _PtsHttpRequest
{
  GHashTable *registry;
  GIOStream *stream;
  GSocket *socket; /* NULL under TLS */
  GPollableInputStream *input;
  GInputStream *guard; /* under libsoup's buffer: what it passed tells when that is empty
                        * (NULL once it is, or when it can't tell) */
  gboolean unbuffered; /* the body's next bytes are the socket's */
  GCancellable *cancellable;
  PtsRequestState state;

  gint64 remaining;    /* Content-Length bytes left, or -1 when chunked */
  PtsChunked *chunked; /* the decoder of a chunked body */
  gboolean body_done;

  GSource *source;
  PtsHttpRequestFunc func;
  gpointer func_data;

  guint timer_id;
  gsize drained;
  char *answer;
  guint8 scratch[16384];
};

PtsHttpRequest *
pts_http_request_new (GIOStream *stream, GSocket *socket, gint64 content_length,
                      GHashTable *registry)
{
  PtsHttpRequest *self = g_new0 (PtsHttpRequest, 1);

  self->registry = registry;
  self->stream = stream;
  self->socket = socket;
  self->input = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  self->cancellable = g_cancellable_new ();
  self->remaining = content_length;
  if (content_length < 0)
    self->chunked = pts_chunked_new ();
  else if (socket != NULL && G_IS_FILTER_INPUT_STREAM (self->input))
    {
      /* libsoup's input keeps what it read past the head; the guard
       * under it (pts-http-guard.h) tells when that is used up. */
      GInputStream *base
          = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (self->input));

      if (pts_http_guard_bytes_passed (base) >= 0)
        self->guard = base;
    }
  self->body_done = content_length == 0;
  g_hash_table_add (registry, self);
  return self;
}

void
pts_http_request_free (PtsHttpRequest *self)
{
  g_hash_table_remove (self->registry, self);
  pts_http_request_unwatch (self);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close (self->stream, NULL, NULL);
  g_object_unref (self->stream);
  g_clear_object (&self->socket);
  g_object_unref (self->cancellable);
  g_clear_pointer (&self->chunked, pts_chunked_free);
  g_free (self->answer);
  g_free (self);
}

gint64
pts_http_request_remaining (PtsHttpRequest *self)
{
  return self->body_done ? 0 : self->remaining;
}

gssize
pts_http_request_read (PtsHttpRequest *self, guint8 *buf, gsize max, GError **error)
{
  /* Bounded: each round reads input, and a round that yields no body byte
   * consumed framing only (a chunk's size line), of which there is at
   * most a few KiB per chunk. */
  for (;;)
    {
      gsize want = max;
      gssize n;
      gsize used = 0;
      gssize data;
      gint64 passed = 0;

      if (self->body_done)
        return 0;
      if (self->guard != NULL)
        passed = pts_http_guard_bytes_passed (self->guard);
      if (self->remaining >= 0)
        want = (gsize) MIN ((guint64) want, (guint64) self->remaining);
      n = g_pollable_input_stream_read_nonblocking (self->input, buf, want, NULL, error);
      if (n < 0)
        return -1;
      /* Bytes that came up through the guard during this read came from
       * the socket: libsoup's buffer is empty, for good (it fills it only
       * while it parses a head). */
      if (n > 0 && self->guard != NULL && pts_http_guard_bytes_passed (self->guard) - passed == n)
        {
          self->unbuffered = TRUE;
          self->guard = NULL; /* known for good: no need to look again */
        }
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                               "the connection closed before the end of the body");
          return -1;
        }
      if (self->chunked == NULL)
        {
          self->remaining -= n;
          self->body_done = self->remaining == 0;
          return n;
        }
      data = pts_chunked_decode (self->chunked, buf, (gsize) n, &used, error);
      if (data < 0)
        return -1;
      /* What follows a chunked body on this connection is never read:
       * the answer closes it. */
      self->body_done = pts_chunked_is_done (self->chunked);
      if (data > 0 || self->body_done)
        return data;
    }
}

int
pts_http_request_raw_fd (PtsHttpRequest *self)
{
  if (!self->unbuffered || self->body_done || self->state != PTS_REQUEST_BODY)
    return -1;
  return g_socket_get_fd (self->socket);
}

void
pts_http_request_consumed (PtsHttpRequest *self, gsize n)
{
  g_return_if_fail (self->chunked == NULL && (guint64) n <= (guint64) self->remaining);
  self->remaining -= (gint64) n;
  self->body_done = self->remaining == 0;
}

static gboolean
pts_http_request_readable (GObject *stream, gpointer user_data)
{
  PtsHttpRequest *self = user_data;

  /* One call per readiness; the owner reads until it would block. */
  if (self->func != NULL)
    self->func (self, self->func_data);
  return G_SOURCE_CONTINUE;
}

static void
pts_http_request_set_source (PtsHttpRequest *self, GSourceFunc callback)
{
  if (self->source != NULL)
    return;
  self->source = g_pollable_input_stream_create_source (self->input, self->cancellable);
  g_source_set_callback (self->source, callback, self, NULL);
  g_source_attach (self->source, NULL);
}

void
pts_http_request_watch (PtsHttpRequest *self, PtsHttpRequestFunc func, gpointer user_data)
{
  self->func = func;
  self->func_data = user_data;
  pts_http_request_set_source (self, G_SOURCE_FUNC (pts_http_request_readable));
}

void
pts_http_request_unwatch (PtsHttpRequest *self)
{
  if (self->source == NULL)
    return;
  g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
}

/* ---- the answer --------------------------------------------------------------- */

static void pts_http_request_write_answer (PtsHttpRequest *self);

static gboolean
pts_http_request_linger_timeout (gpointer user_data)
{
  PtsHttpRequest *self = user_data;

  self->timer_id = 0;
  if (self->state == PTS_REQUEST_DRAINING)
    {
      /* The rest did not come in time: answer now. */
      pts_http_request_unwatch (self);
      pts_http_request_write_answer (self);
      return G_SOURCE_REMOVE;
    }
  pts_http_request_free (self);
  return G_SOURCE_REMOVE;
}

/* Reads and drops what the client still sends: the rest of the body before
 * the answer, anything after it. */
static gboolean
pts_http_request_drain (GObject *stream, gpointer user_data)
{
  PtsHttpRequest *self = user_data;

  for (guint i = 0; i < 16; i++)
    {
      g_autoptr (GError) error = NULL;
      gssize n;

      if (self->state == PTS_REQUEST_DRAINING)
        {
          n = pts_http_request_read (self, self->scratch, sizeof self->scratch, &error);
          if (n > 0)
            self->drained += (gsize) n;
          if (n == 0 || self->drained > PTS_REQUEST_DRAIN_MAX
              || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
            {
              pts_http_request_unwatch (self);
              g_clear_handle_id (&self->timer_id, g_source_remove);
              pts_http_request_write_answer (self);
              return G_SOURCE_REMOVE;
            }
        }
      else
        {
          n = g_pollable_input_stream_read_nonblocking (self->input, self->scratch,
                                                        sizeof self->scratch, NULL, &error);
          if (n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
            {
              /* The client has read the answer and closed. */
              pts_http_request_free (self);
              return G_SOURCE_REMOVE;
            }
        }
      if (n < 0)
        return G_SOURCE_CONTINUE;
    }
  return G_SOURCE_CONTINUE;
}

static void
pts_http_request_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsHttpRequest *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pts_http_request_free (self);
      return;
    }
  self->state = PTS_REQUEST_LINGERING;
  if (self->socket != NULL)
    g_socket_shutdown (self->socket, FALSE, TRUE, NULL);
  pts_http_request_set_source (self, G_SOURCE_FUNC (pts_http_request_drain));
  self->timer_id = g_timeout_add (PTS_REQUEST_LINGER_MS, pts_http_request_linger_timeout, self);
}

static void
pts_http_request_write_answer (PtsHttpRequest *self)
{
  self->state = PTS_REQUEST_WRITING;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream), self->answer,
                                   strlen (self->answer), G_PRIORITY_DEFAULT, self->cancellable,
                                   pts_http_request_written, self);
}

void
pts_http_request_answer (PtsHttpRequest *self, guint status, const char *text, gboolean read_rest)
{
  gint64 left = pts_http_request_remaining (self);

  pts_http_request_unwatch (self);
  self->func = NULL;
  self->answer = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                                  "Content-Type: text/plain; charset=utf-8\r\n"
                                  "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                                  "Cache-Control: no-store\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "%s\n",
                                  status, soup_status_get_phrase (status), strlen (text) + 1, text);
  if (read_rest && !self->body_done && left <= PTS_REQUEST_DRAIN_MAX)
    {
      self->state = PTS_REQUEST_DRAINING;
      pts_http_request_set_source (self, G_SOURCE_FUNC (pts_http_request_drain));
      self->timer_id = g_timeout_add (PTS_REQUEST_LINGER_MS, pts_http_request_linger_timeout, self);
      return;
    }
  pts_http_request_write_answer (self);
}
