/* pts-http-endpoint.c — an HTTP upload as a relay source, a download as a sink
 *
 * The upload parses its multipart body as libsoup hands over each chunk and
 * pushes the FILE bytes into the relay; what does not fit waits in a
 * one-chunk overflow while the request is paused (backpressure). A body
 * with a Content-Length is libsoup's only for its first chunk: then the
 * connection is taken over and the rest read in large blocks, no larger
 * than the relay's free space, and answered here (PtsHttpBody). The
 * download hands libsoup slices of the relay's buffer without copying them
 * and consumes each slice once libsoup has written it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <string.h>

#include "bsp-protocol.h"
#include "pts-http-endpoint.h"
#include "pts-multipart.h"
#include "pts-secret.h"

/* Largest slice handed to libsoup at once. */
#define PTS_DOWNLOAD_CHUNK (256 * 1024)
/* A failed upload with more than this still to come is answered at once
 * and its connection closed, instead of reading the rest for nothing. */
#define PTS_UPLOAD_DRAIN_MAX (256 * 1024)
/* How long a closed upload's connection is drained so that the answer
 * reaches the client before the close resets the connection. */
#define PTS_LINGER_SECONDS 2
/* A Content-Length upload's body is read by us, not by libsoup (whose
 * server reads bodies 8 KiB at a time), in blocks of up to this (small: it is per upload, beside the relay buffer)... */
#define PTS_BODY_BLOCK (64 * 1024)
/* ...and at most this many blocks per main-loop dispatch. */
#define PTS_BODY_READS_PER_DISPATCH 8

guint
pts_http_status_for_error (const GError *error)
{
  if (error == NULL)
    return SOUP_STATUS_OK;
  if (error->domain == PTS_MULTIPART_ERROR)
    return SOUP_STATUS_BAD_REQUEST;
  if (error->domain != PTS_RELAY_ERROR)
    return SOUP_STATUS_INTERNAL_SERVER_ERROR;
  switch ((PtsRelayError) error->code)
    {
    case PTS_RELAY_ERROR_RECEIVER_GONE: return SOUP_STATUS_BAD_GATEWAY;
    case PTS_RELAY_ERROR_TIMEOUT: return SOUP_STATUS_GATEWAY_TIMEOUT;
    case PTS_RELAY_ERROR_BAD_INPUT: return SOUP_STATUS_BAD_REQUEST;
    case PTS_RELAY_ERROR_FORBIDDEN: return SOUP_STATUS_FORBIDDEN;
    case PTS_RELAY_ERROR_TOO_LARGE: return SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
    case PTS_RELAY_ERROR_CANCELLED: return SOUP_STATUS_SERVICE_UNAVAILABLE;
    case PTS_RELAY_ERROR_SENDER_GONE: return SOUP_STATUS_BAD_GATEWAY;
    }
  return SOUP_STATUS_INTERNAL_SERVER_ERROR;
}

static void
pts_http_respond_error (SoupServerMessage *msg, guint status, const char *message)
{
  g_autofree char *body = g_strdup_printf ("%s\n", message);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

/* ---- answering early and closing ----------------------------------------- */

/* HTTP/1.1 lets a server answer before the request body ended and then
 * close. libsoup's server only answers after the whole body, so this takes
 * the connection over: writes the answer, shuts the sending side, and reads
 * (and drops) what the client still sends for a short while, so that a
 * close with unread data does not reset the connection before the client
 * read the answer. */
typedef struct
{
  GIOStream *stream;
  GSocket *socket; /* its sending side is shut after the answer; NULL with TLS */
  GCancellable *cancellable;
  guint timer_id;
  char *answer;
  guint8 scratch[16384];
} PtsLinger;

static GList *pts_lingers;

static void
pts_linger_free (PtsLinger *linger)
{
  pts_lingers = g_list_remove (pts_lingers, linger);
  g_clear_handle_id (&linger->timer_id, g_source_remove);
  g_cancellable_cancel (linger->cancellable);
  g_io_stream_close (linger->stream, NULL, NULL);
  g_object_unref (linger->stream);
  g_clear_object (&linger->socket);
  g_object_unref (linger->cancellable);
  g_free (linger->answer);
  g_free (linger);
}

static gboolean
pts_linger_timeout (gpointer user_data)
{
  PtsLinger *linger = user_data;

  linger->timer_id = 0;
  pts_linger_free (linger);
  return G_SOURCE_REMOVE;
}

static void
pts_linger_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsLinger *linger = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* @linger is gone already */
  if (n <= 0)
    {
      pts_linger_free (linger);
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (source), linger->scratch, sizeof linger->scratch,
                             G_PRIORITY_LOW, linger->cancellable, pts_linger_read_cb, linger);
}

static void
pts_linger_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsLinger *linger = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pts_linger_free (linger);
      return;
    }
  if (linger->socket != NULL)
    g_socket_shutdown (linger->socket, FALSE, TRUE, NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (linger->stream), linger->scratch,
                             sizeof linger->scratch, G_PRIORITY_LOW, linger->cancellable,
                             pts_linger_read_cb, linger);
}

/* Takes @stream (and @socket, may be NULL): answers, then lingers. */
static void
pts_linger_start (GIOStream *stream, GSocket *socket, guint status, const char *text)
{
  PtsLinger *linger = g_new0 (PtsLinger, 1);

  linger->stream = stream;
  linger->socket = socket;
  linger->cancellable = g_cancellable_new ();
  linger->answer = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                    "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                                    "Connection: close\r\n"
                                    "\r\n"
                                    "%s\n",
                                    status, soup_status_get_phrase (status), strlen (text) + 1,
                                    text);
  linger->timer_id = g_timeout_add_seconds (PTS_LINGER_SECONDS, pts_linger_timeout, linger);
  pts_lingers = g_list_prepend (pts_lingers, linger);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), linger->answer,
                                   strlen (linger->answer), G_PRIORITY_DEFAULT,
                                   linger->cancellable, pts_linger_written_cb, linger);
}

/* The message's socket, unless TLS runs over it (then shutting it down
 * would cut the TLS stream short). */
static GSocket *
pts_http_plain_socket (SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  GUri *uri = soup_server_message_get_uri (msg);

  if (socket == NULL || uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0)
    return NULL;
  return g_object_ref (socket);
}

static void
pts_http_answer_and_close (SoupServerMessage *msg, guint status, const char *text)
{
  GSocket *socket = pts_http_plain_socket (msg);
  GIOStream *stream = soup_server_message_steal_connection (msg);

  if (stream == NULL)
    {
      g_clear_object (&socket);
      return;
    }
  pts_linger_start (stream, socket, status, text);
}

#define PTS_HTTP_PENDING_STATUS "pts-pending-status"
#define PTS_HTTP_PENDING_TEXT "pts-pending-text"

/* The upload's endpoint can end before libsoup has read the whole request;
 * the answer then waits on the message itself. */
static void
pts_http_set_pending_answer (SoupServerMessage *msg, const GError *error)
{
  g_object_set_data (G_OBJECT (msg), PTS_HTTP_PENDING_STATUS,
                     GUINT_TO_POINTER (pts_http_status_for_error (error)));
  g_object_set_data_full (G_OBJECT (msg), PTS_HTTP_PENDING_TEXT,
                          g_strdup (error ? error->message : "delivered"), g_free);
}

gboolean
pts_http_answer_pending (SoupServerMessage *msg)
{
  guint status = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (msg), PTS_HTTP_PENDING_STATUS));
  const char *text = g_object_get_data (G_OBJECT (msg), PTS_HTTP_PENDING_TEXT);

  if (status == 0)
    return FALSE;
  if (status == SOUP_STATUS_OK)
    {
      soup_server_message_set_status (msg, status, NULL);
      soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC,
                                        "delivered\n", 10);
    }
  else
    pts_http_respond_error (msg, status, text);
  return TRUE;
}

/* ==== upload (source) ====================================================== */

typedef enum
{
  PTS_UPLOAD_PART_OTHER,
  PTS_UPLOAD_PART_SIDHASH,
  PTS_UPLOAD_PART_FILE,
} PtsUploadPart;

typedef struct _PtsHttpBody PtsHttpBody;

typedef struct
{
  PtsEndpoint parent;
  char *sidhash;
  gint64 max_size;

  SoupServerMessage *msg;
  PtsMultipart *multipart;
  gint64 content_length;
  guint64 body_received;
  PtsUploadPart part;
  GString *sidhash_value;
  gboolean sidhash_ok;
  gboolean file_seen;
  gboolean file_done;
  gint64 total;      /* expected file size, or -1 */
  gint64 declared;   /* the FILE part's own Content-Length, or -1 */
  guint64 file_bytes;
  GByteArray *overflow; /* file bytes the relay had no room for */
  gboolean paused;
  gboolean body_done;  /* libsoup read the whole request */
  gboolean responded;
  gboolean finished;   /* the relay ended */
  GError *error;       /* why the upload is refused */
  PtsHttpBody *body;   /* the connection, once taken from libsoup */
  guint takeover_id;
  GError *rejected;    /* this request is refused, the session goes on */
  guint reject_id;
} PtsHttpUpload;

static void pts_http_upload_flush (PtsHttpUpload *self);
static void pts_http_upload_feed (PtsHttpUpload *self, const guint8 *data, gsize len);
static void pts_http_upload_body_done (PtsHttpUpload *self);

/* ---- reading a body ourselves ---------------------------------------------- */

/* A Content-Length upload's connection, taken from libsoup after its first
 * chunk: the rest of the body is read here in large blocks, no larger than
 * the relay's free space (so that the FILE bytes always fit: backpressure is
 * simply not reading while the relay is full), and the answer is written
 * here once both the body and the relay ended. It outlives its endpoint
 * when the relay ends before the body does: it then reads and drops the
 * rest, and answers. */
struct _PtsHttpBody
{
  PtsHttpUpload *upload; /* NULL once the endpoint is gone */
  GIOStream *stream;
  GSocket *socket;
  GPollableInputStream *input;
  GSource *source;
  guint64 remaining;
  guint status; /* the answer, once the relay ended */
  char *text;
  guint8 *buf;
};

static GList *pts_bodies;

static void
pts_http_body_unwatch (PtsHttpBody *body)
{
  if (body->source == NULL)
    return;
  g_source_destroy (body->source);
  g_clear_pointer (&body->source, g_source_unref);
}

static void
pts_http_body_free (PtsHttpBody *body)
{
  pts_bodies = g_list_remove (pts_bodies, body);
  if (body->upload != NULL)
    body->upload->body = NULL;
  pts_http_body_unwatch (body);
  if (body->stream != NULL)
    {
      g_io_stream_close (body->stream, NULL, NULL);
      g_object_unref (body->stream);
    }
  g_clear_object (&body->socket);
  g_free (body->text);
  g_free (body->buf);
  g_free (body);
}

/* Once the relay ended: with nothing more to read (or, with @now, at
 * once), the answer goes out and the connection lingers. */
static void
pts_http_body_answer (PtsHttpBody *body, gboolean now)
{
  if (body->status == 0 || (body->remaining > 0 && !now))
    return;
  pts_linger_start (g_steal_pointer (&body->stream), g_steal_pointer (&body->socket),
                    body->status, body->text);
  pts_http_body_free (body);
}

static void
pts_http_body_set_answer (PtsHttpBody *body, const GError *error)
{
  if (body->status != 0)
    return;
  body->status = pts_http_status_for_error (error);
  body->text = g_strdup (error != NULL ? error->message : "delivered");
}

void
pts_http_endpoint_shutdown (void)
{
  while (pts_bodies != NULL)
    pts_http_body_free (pts_bodies->data);
  while (pts_lingers != NULL)
    pts_linger_free (pts_lingers->data);
}

static gboolean pts_http_body_readable (GObject *stream, gpointer user_data);

static void
pts_http_body_watch (PtsHttpBody *body)
{
  if (body->source != NULL || body->remaining == 0)
    return;
  body->source = g_pollable_input_stream_create_source (body->input, NULL);
  g_source_set_callback (body->source, G_SOURCE_FUNC (pts_http_body_readable), body, NULL);
  g_source_attach (body->source, NULL);
}

static gboolean
pts_http_body_readable (GObject *stream, gpointer user_data)
{
  PtsHttpBody *body = user_data;

  for (guint i = 0; i < PTS_BODY_READS_PER_DISPATCH; i++)
    {
      PtsHttpUpload *upload = body->upload;
      gboolean feeding = upload != NULL && upload->error == NULL && !upload->finished
                         && upload->rejected == NULL;
      gsize want = (gsize) MIN ((guint64) PTS_BODY_BLOCK, body->remaining);
      g_autoptr (GError) error = NULL;
      gssize n;

      if (feeding)
        {
          gsize space = pts_relay_space (upload->parent.relay);

          if (space == 0 || upload->overflow->len > 0)
            {
              /* Full: the relay's wake brings us back. */
              pts_http_body_unwatch (body);
              return G_SOURCE_REMOVE;
            }
          want = MIN (want, space);
        }
      n = g_pollable_input_stream_read_nonblocking (body->input, body->buf, want, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (n <= 0)
        {
          if (upload != NULL && !upload->finished)
            {
              g_autoptr (GError) gone = g_error_new_literal (
                  PTS_RELAY_ERROR, PTS_RELAY_ERROR_SENDER_GONE, "the sender's upload broke off");
              pts_relay_fail (upload->parent.relay, gone);
            }
          pts_http_body_free (body);
          return G_SOURCE_REMOVE;
        }
      body->remaining -= (guint64) n;
      if (upload != NULL)
        {
          upload->body_received += (guint64) n;
          if (feeding)
            pts_http_upload_feed (upload, body->buf, (gsize) n);
          if (upload->rejected != NULL)
            {
              /* Its idle answers and lets go of this connection. */
              pts_http_body_unwatch (body);
              return G_SOURCE_REMOVE;
            }
        }
      if (body->remaining == 0)
        {
          pts_http_body_unwatch (body);
          if (body->upload != NULL)
            pts_http_upload_body_done (body->upload);
          pts_http_body_answer (body, FALSE);
          return G_SOURCE_REMOVE;
        }
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
pts_http_upload_part_begin (gpointer user_data, const PtsMultipartPart *part, guint64 offset,
                            GError **error)
{
  PtsHttpUpload *self = user_data;

  if (self->file_seen)
    {
      self->part = PTS_UPLOAD_PART_OTHER; /* parts after FILE are ignored */
      return TRUE;
    }
  if (g_strcmp0 (part->name, "SIDHASH") == 0)
    {
      self->part = PTS_UPLOAD_PART_SIDHASH;
      g_string_truncate (self->sidhash_value, 0);
      return TRUE;
    }
  if (g_strcmp0 (part->name, "FILE") != 0)
    {
      self->part = PTS_UPLOAD_PART_OTHER;
      return TRUE;
    }
  if (!self->sidhash_ok)
    {
      g_set_error_literal (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                           "the SIDHASH part must come before the FILE part");
      return FALSE;
    }
  self->part = PTS_UPLOAD_PART_FILE;
  self->file_seen = TRUE;
  self->declared = part->content_length;
  if (part->content_length >= 0)
    self->total = part->content_length;
  else if (self->content_length >= 0)
    {
      /* The usual layout: only the closing delimiter follows the file. */
      gint64 rest = self->content_length - (gint64) offset
                    - (gint64) pts_multipart_trailer_length (self->multipart);
      self->total = rest >= 0 ? rest : -1;
    }
  if (self->max_size > 0 && self->total > self->max_size)
    {
      g_set_error (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_TOO_LARGE,
                   "the file is larger than %" G_GINT64_FORMAT " bytes", self->max_size);
      return FALSE;
    }
  /* A size from the part's own Content-Length is exact and goes into the
   * download's headers; the estimate is for progress only. */
  pts_relay_set_file_info (self->parent.relay, part->content_length, part->filename);
  return TRUE;
}

static gboolean
pts_http_upload_part_data (gpointer user_data, const guint8 *data, gsize len, GError **error)
{
  PtsHttpUpload *self = user_data;
  gsize n = 0;

  switch (self->part)
    {
    case PTS_UPLOAD_PART_OTHER:
      return TRUE;
    case PTS_UPLOAD_PART_SIDHASH:
      if (self->sidhash_value->len + len > 256)
        {
          g_set_error_literal (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                               "the SIDHASH part is too long");
          return FALSE;
        }
      g_string_append_len (self->sidhash_value, (const char *) data, len);
      return TRUE;
    case PTS_UPLOAD_PART_FILE:
      break;
    }

  self->file_bytes += len;
  if (self->max_size > 0 && self->file_bytes > (guint64) self->max_size)
    {
      g_set_error (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_TOO_LARGE,
                   "the file is larger than %" G_GINT64_FORMAT " bytes", self->max_size);
      return FALSE;
    }
  if (self->overflow->len == 0)
    n = pts_relay_push (self->parent.relay, data, len);
  if (n < len)
    g_byte_array_append (self->overflow, data + n, (guint) (len - n));
  return TRUE;
}

static gboolean
pts_http_upload_part_end (gpointer user_data, GError **error)
{
  PtsHttpUpload *self = user_data;

  if (self->part == PTS_UPLOAD_PART_SIDHASH)
    {
      g_autofree char *value = g_strstrip (g_strdup (self->sidhash_value->str));
      g_autofree char *lower = g_ascii_strdown (value, -1);
      if (!bsp_sidhash_is_valid (lower, strlen (lower))
          || !pts_secret_equal (lower, strlen (lower), self->sidhash, strlen (self->sidhash)))
        {
          g_set_error_literal (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_FORBIDDEN,
                               "SIDHASH does not match this upload URL's session");
          return FALSE;
        }
      self->sidhash_ok = TRUE;
    }
  else if (self->part == PTS_UPLOAD_PART_FILE)
    {
      self->file_done = TRUE;
      if (self->declared >= 0 && self->file_bytes != (guint64) self->declared)
        {
          g_set_error (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                       "the FILE part has %" G_GUINT64_FORMAT " bytes, not the %" G_GINT64_FORMAT
                       " it announced",
                       self->file_bytes, self->declared);
          return FALSE;
        }
      if (self->overflow->len == 0)
        pts_relay_source_done (self->parent.relay);
    }
  self->part = PTS_UPLOAD_PART_OTHER;
  return TRUE;
}

static const PtsMultipartCallbacks pts_http_upload_multipart = {
  pts_http_upload_part_begin,
  pts_http_upload_part_data,
  pts_http_upload_part_end,
};

/* Refuses the rest of the upload: the body is read and dropped, and the
 * status goes out once libsoup has it all (HTTP/1.1 answers after the
 * request). The relay ends now. */
static void
pts_http_upload_refuse (PtsHttpUpload *self, GError *error)
{
  if (self->error == NULL)
    self->error = error;
  else
    g_error_free (error);
  g_byte_array_set_size (self->overflow, 0);
  if (self->paused && self->msg != NULL)
    {
      self->paused = FALSE;
      soup_server_message_unpause (self->msg);
    }
  if (!self->finished)
    pts_relay_fail (self->parent.relay, self->error);
}

static void
pts_http_upload_respond (PtsHttpUpload *self)
{
  if (self->responded || self->msg == NULL || !self->body_done || !self->finished)
    return;
  self->responded = TRUE;
  if (self->error != NULL)
    pts_http_respond_error (self->msg, pts_http_status_for_error (self->error),
                            self->error->message);
  else
    {
      soup_server_message_set_status (self->msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (self->msg, "text/plain; charset=utf-8",
                                        SOUP_MEMORY_STATIC, "delivered\n", 10);
    }
  soup_server_message_unpause (self->msg);
}

/* Back to waiting for a POST, as if this one never came. */
static void
pts_http_upload_reset (PtsHttpUpload *self)
{
  g_clear_pointer (&self->multipart, pts_multipart_free);
  self->content_length = -1;
  self->body_received = 0;
  self->part = PTS_UPLOAD_PART_OTHER;
  g_string_truncate (self->sidhash_value, 0);
  self->sidhash_ok = FALSE;
  self->file_seen = FALSE;
  self->file_done = FALSE;
  self->total = -1;
  self->declared = -1;
  self->file_bytes = 0;
  g_byte_array_set_size (self->overflow, 0);
  self->paused = FALSE;
  self->body_done = FALSE;
  self->responded = FALSE;
}

/* From an idle (never under libsoup's or our own read callback): answers
 * the refused request and closes its connection; the upload URL stays for
 * its rightful sender (PROTOCOL.md §5). */
static gboolean
pts_http_upload_reject_idle (gpointer user_data)
{
  PtsHttpUpload *self = user_data;
  g_autoptr (GError) error = g_steal_pointer (&self->rejected);
  guint status = pts_http_status_for_error (error);

  self->reject_id = 0;
  g_clear_handle_id (&self->takeover_id, g_source_remove);
  if (self->body != NULL)
    {
      PtsHttpBody *body = g_steal_pointer (&self->body);

      body->upload = NULL;
      pts_http_body_set_answer (body, error);
      pts_http_body_answer (body, TRUE);
    }
  else if (self->msg != NULL)
    {
      SoupServerMessage *msg = g_steal_pointer (&self->msg);

      g_signal_handlers_disconnect_by_data (msg, self);
      pts_http_answer_and_close (msg, status, error->message);
      g_object_unref (msg);
    }
  pts_http_upload_reset (self);
  return G_SOURCE_REMOVE;
}

static void
pts_http_upload_feed (PtsHttpUpload *self, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  if (pts_multipart_feed (self->multipart, data, len, &error))
    return;
  if (!self->file_seen && self->rejected == NULL)
    {
      /* Refused for what this request is (a wrong SIDHASH, a malformed
       * head) before any of its file reached the relay: only the request
       * ends, not the session. */
      g_message ("upload request refused: %s", error->message);
      self->rejected = g_steal_pointer (&error);
      if (self->msg != NULL && !self->paused)
        {
          self->paused = TRUE;
          soup_server_message_pause (self->msg);
        }
      self->reject_id = g_idle_add (pts_http_upload_reject_idle, self);
      return;
    }
  g_message ("upload refused: %s", error->message);
  pts_http_upload_refuse (self, g_steal_pointer (&error));
}

/* From an idle, with libsoup off the stack and the message paused after
 * its first chunk: the connection becomes ours. */
static gboolean
pts_http_upload_take_over (gpointer user_data)
{
  PtsHttpUpload *self = user_data;
  SoupServerMessage *msg = self->msg;
  GSocket *socket;
  GIOStream *stream;
  PtsHttpBody *body;

  self->takeover_id = 0;
  if (msg == NULL || !self->paused || self->error != NULL || self->finished
      || self->overflow->len > 0)
    return G_SOURCE_REMOVE; /* libsoup goes on */
  socket = pts_http_plain_socket (msg);
  stream = soup_server_message_steal_connection (msg);
  if (stream == NULL || !G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream))
      || !g_pollable_input_stream_can_poll (
          G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream))))
    {
      g_autoptr (GError) error = g_error_new_literal (
          PTS_RELAY_ERROR, PTS_RELAY_ERROR_SENDER_GONE, "the upload's connection is unusable");
      g_clear_object (&socket);
      if (stream != NULL)
        {
          g_io_stream_close (stream, NULL, NULL);
          g_object_unref (stream);
        }
      g_signal_handlers_disconnect_by_data (msg, self);
      g_clear_object (&self->msg);
      self->paused = FALSE;
      self->responded = TRUE;
      pts_relay_fail (self->parent.relay, error);
      return G_SOURCE_REMOVE;
    }
  g_signal_handlers_disconnect_by_data (msg, self);
  g_clear_object (&self->msg);
  self->paused = FALSE;

  body = g_new0 (PtsHttpBody, 1);
  body->upload = self;
  body->stream = stream;
  body->socket = socket;
  body->input = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  body->remaining = (guint64) self->content_length - self->body_received;
  body->buf = g_malloc (PTS_BODY_BLOCK);
  pts_bodies = g_list_prepend (pts_bodies, body);
  self->body = body;
  pts_http_body_watch (body);
  return G_SOURCE_REMOVE;
}

static void
pts_http_upload_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  PtsHttpUpload *self = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (chunk, &len);

  self->body_received += len;
  if (self->error != NULL || self->finished || self->rejected != NULL)
    return; /* dropping the rest */
  pts_http_upload_feed (self, data, len);
  if (self->error != NULL || self->rejected != NULL)
    return;
  if (self->overflow->len > 0 && !self->paused)
    {
      self->paused = TRUE;
      soup_server_message_pause (msg);
    }
  else if (!self->paused && self->takeover_id == 0 && self->content_length >= 0
           && self->body_received < (guint64) self->content_length)
    {
      /* More is to come, with known framing: read it ourselves. */
      self->paused = TRUE;
      soup_server_message_pause (msg);
      self->takeover_id = g_idle_add (pts_http_upload_take_over, self);
    }
}

static void
pts_http_upload_finished (SoupServerMessage *msg, gpointer user_data)
{
  PtsHttpUpload *self = user_data;

  if (!self->body_done && !self->finished)
    {
      g_autoptr (GError) error = g_error_new_literal (
          PTS_RELAY_ERROR, PTS_RELAY_ERROR_SENDER_GONE, "the sender's upload broke off");
      pts_relay_fail (self->parent.relay, error);
    }
  g_signal_handlers_disconnect_by_data (msg, self);
  g_clear_object (&self->msg);
}

guint
pts_http_upload_attach (PtsEndpoint *ep, SoupServerMessage *msg)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr (GHashTable) params = NULL;
  g_autoptr (GError) error = NULL;
  PtsMultipart *multipart = NULL;
  gint64 content_length = -1;
  const char *type;
  const char *boundary;

  if (self->multipart != NULL || self->body_done || self->finished || self->rejected != NULL)
    return SOUP_STATUS_CONFLICT; /* the first upload goes on undisturbed */
  /* A request refused for what it is leaves the session to its rightful
   * sender; one over the size limit ends it (PROTOCOL.md §5). */
  type = soup_message_headers_get_content_type (headers, &params);
  boundary = params ? g_hash_table_lookup (params, "boundary") : NULL;
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    content_length = soup_message_headers_get_content_length (headers);
  if (type == NULL || g_ascii_strcasecmp (type, "multipart/form-data") != 0 || boundary == NULL
      || (multipart = pts_multipart_new (boundary, &pts_http_upload_multipart, self)) == NULL)
    return SOUP_STATUS_BAD_REQUEST;
  if (self->max_size > 0 && content_length > self->max_size + 64 * 1024)
    {
      g_set_error (&error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_TOO_LARGE,
                   "the upload is larger than %" G_GINT64_FORMAT " bytes", self->max_size);
      pts_relay_fail (self->parent.relay, error);
      pts_multipart_free (multipart);
      return SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
    }

  self->multipart = multipart;
  self->content_length = content_length;
  self->msg = g_object_ref (msg);
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (pts_http_upload_got_chunk), self);
  g_signal_connect (msg, "finished", G_CALLBACK (pts_http_upload_finished), self);
  return 0;
}

void
pts_http_upload_got_body (PtsEndpoint *ep, SoupServerMessage *msg)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  /* The answer waits until every byte reached the receiver. */
  soup_server_message_pause (msg);
  pts_http_upload_body_done (self);
  pts_http_upload_respond (self);
}

/* The whole request body is in. */
static void
pts_http_upload_body_done (PtsHttpUpload *self)
{
  g_autoptr (GError) error = NULL;

  self->body_done = TRUE;
  if (self->error == NULL && !self->finished)
    {
      if (!pts_multipart_finish (self->multipart, &error))
        pts_http_upload_refuse (self, g_steal_pointer (&error));
      else if (!self->file_seen)
        pts_http_upload_refuse (self, g_error_new_literal (PTS_RELAY_ERROR,
                                                           PTS_RELAY_ERROR_BAD_INPUT,
                                                           "no FILE part in the upload"));
    }
}

gboolean
pts_http_upload_is_attached (PtsEndpoint *ep)
{
  return ((PtsHttpUpload *) ep)->msg != NULL || ((PtsHttpUpload *) ep)->body != NULL;
}

gint64
pts_http_upload_get_total (PtsEndpoint *ep)
{
  return ((PtsHttpUpload *) ep)->total;
}

static void
pts_http_upload_flush (PtsHttpUpload *self)
{
  gsize n;

  if (self->overflow->len == 0)
    return;
  n = pts_relay_push (self->parent.relay, self->overflow->data, self->overflow->len);
  g_byte_array_remove_range (self->overflow, 0, (guint) n);
  if (self->overflow->len > 0)
    return;
  if (self->file_done)
    pts_relay_source_done (self->parent.relay);
  if (self->paused && self->msg != NULL)
    {
      self->paused = FALSE;
      soup_server_message_unpause (self->msg);
    }
}

static void
pts_http_upload_wake (PtsEndpoint *ep)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  pts_http_upload_flush (self);
  if (self->body != NULL && self->overflow->len == 0)
    pts_http_body_watch (self->body);
}

static void
pts_http_upload_finish (PtsEndpoint *ep, const GError *error)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  if (self->finished)
    return;
  self->finished = TRUE;
  if (error != NULL && self->error == NULL)
    self->error = g_error_copy (error);
  if (self->body != NULL)
    {
      PtsHttpBody *body = self->body;

      /* Much still to come after a failure: answer now and close; else
       * read (and drop) the rest first. */
      self->responded = TRUE;
      pts_http_body_set_answer (body, self->error);
      if (self->error != NULL && body->remaining > PTS_UPLOAD_DRAIN_MAX)
        pts_http_body_answer (body, TRUE);
      else if (body->remaining > 0)
        pts_http_body_watch (body);
      else
        pts_http_body_answer (body, FALSE);
      return;
    }
  if (self->error != NULL && self->msg != NULL && !self->body_done
      && self->content_length >= 0
      && (guint64) self->content_length - self->body_received > PTS_UPLOAD_DRAIN_MAX)
    {
      /* Much is still to come: answer now and close. */
      SoupServerMessage *msg = g_steal_pointer (&self->msg);
      g_signal_handlers_disconnect_by_data (msg, self);
      self->responded = TRUE;
      pts_http_answer_and_close (msg, pts_http_status_for_error (self->error),
                                 self->error->message);
      g_object_unref (msg);
      return;
    }
  if (self->msg != NULL && self->paused)
    {
      /* Let libsoup read (and drop) the rest, then answer. */
      self->paused = FALSE;
      soup_server_message_unpause (self->msg);
    }
  pts_http_upload_respond (self);
}

static void
pts_http_upload_free (PtsEndpoint *ep)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  g_clear_handle_id (&self->takeover_id, g_source_remove);
  if (self->reject_id != 0)
    pts_http_upload_reject_idle (self); /* answers the refused request now */
  g_clear_handle_id (&self->reject_id, g_source_remove);
  if (self->body != NULL)
    {
      /* The connection lives on without us: it answers once it read the
       * whole body. */
      PtsHttpBody *body = self->body;

      self->body = NULL;
      body->upload = NULL;
      pts_http_body_set_answer (body, self->error);
      pts_http_body_watch (body);
      pts_http_body_answer (body, FALSE);
    }
  if (self->msg != NULL)
    {
      /* The relay goes away before the request ends: the message lives on
       * in libsoup, answered, without us. */
      if (!self->responded && self->body_done)
        {
          self->finished = TRUE;
          pts_http_upload_respond (self);
        }
      else if (!self->responded)
        pts_http_set_pending_answer (self->msg, self->error);
      g_signal_handlers_disconnect_by_data (self->msg, self);
      g_clear_object (&self->msg);
    }
  pts_multipart_free (self->multipart);
  g_byte_array_unref (self->overflow);
  g_string_free (self->sidhash_value, TRUE);
  g_clear_error (&self->error);
  g_free (self->sidhash);
  g_free (self);
}

static const PtsEndpointClass pts_http_upload_class = {
  "http",
  pts_http_upload_wake,
  pts_http_upload_finish,
  pts_http_upload_free,
};

PtsEndpoint *
pts_http_upload_new (const char *sidhash, gint64 max_size)
{
  PtsHttpUpload *self = g_new0 (PtsHttpUpload, 1);

  self->parent.klass = &pts_http_upload_class;
  self->sidhash = g_strdup (sidhash);
  self->max_size = max_size;
  self->content_length = -1;
  self->total = -1;
  self->declared = -1;
  self->sidhash_value = g_string_new (NULL);
  self->overflow = g_byte_array_new ();
  return &self->parent;
}

/* ==== download (sink) ====================================================== */

typedef struct
{
  PtsEndpoint parent;
  SoupServerMessage *msg;
  gboolean headers_set;
  gsize outstanding; /* bytes of the relay's buffer libsoup is writing */
  gint64 size;        /* announced in Content-Length, or -1 */
  guint64 written;
  gboolean completed; /* the body's end is queued */
  gboolean finished;
  gboolean used;      /* a GET was attached once */
} PtsHttpDownload;

static char *
pts_http_content_disposition (const char *name)
{
  g_autofree char *escaped = NULL;
  GString *ascii;

  if (name == NULL || *name == '\0')
    return g_strdup ("attachment");
  /* A plain ASCII fallback for old clients, and the exact name in
   * filename* (RFC 6266). */
  ascii = g_string_new (NULL);
  for (const char *p = name; *p; p++)
    g_string_append_c (ascii, (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '/')
                                  ? *p
                                  : '_');
  escaped = g_uri_escape_string (name, NULL, FALSE);
  {
    char *out = g_strdup_printf ("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii->str,
                                 escaped);
    g_string_free (ascii, TRUE);
    return out;
  }
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
    {
      g_autoptr (GError) error = g_error_new_literal (
          PTS_RELAY_ERROR, PTS_RELAY_ERROR_RECEIVER_GONE, "the receiver's download broke off");
      pts_relay_fail (self->parent.relay, error);
    }
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
  pts_http_download_pump (self);
  return 0;
}

gboolean
pts_http_download_is_attached (PtsEndpoint *ep)
{
  return ((PtsHttpDownload *) ep)->used;
}

static void
pts_http_download_wake (PtsEndpoint *ep)
{
  pts_http_download_pump ((PtsHttpDownload *) ep);
}

static void
pts_http_download_finish (PtsEndpoint *ep, const GError *error)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  if (self->finished)
    return;
  self->finished = TRUE;
  if (self->msg == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->msg, self);
  if (error != NULL && !self->headers_set)
    {
      pts_http_respond_error (self->msg, pts_http_status_for_error (error), error->message);
      soup_server_message_unpause (self->msg);
    }
  else if (error != NULL || !self->completed)
    {
      /* Mid-body: cut the connection, so that the receiver can never take
       * a short file for a whole one (no closing chunk, short length). The
       * socket is shut first: libsoup would otherwise write the closing
       * chunk when it lets go of the message. */
      GSocket *socket = soup_server_message_get_socket (self->msg);
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

static void
pts_http_download_free (PtsEndpoint *ep)
{
  PtsHttpDownload *self = (PtsHttpDownload *) ep;

  pts_http_download_finish (ep, NULL);
  g_free (self);
}

static const PtsEndpointClass pts_http_download_class = {
  "http",
  pts_http_download_wake,
  pts_http_download_finish,
  pts_http_download_free,
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
pts_http_endpoint_is_upload (PtsEndpoint *ep)
{
  return ep != NULL && ep->klass == &pts_http_upload_class;
}

gboolean
pts_http_endpoint_is_download (PtsEndpoint *ep)
{
  return ep != NULL && ep->klass == &pts_http_download_class;
}
