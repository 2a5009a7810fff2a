/* pts-http-endpoint.c — an HTTP upload as a relay source, a download as a sink
 *
 * The upload parses its multipart body as libsoup hands over each chunk and
 * pushes the FILE bytes into the relay; what does not fit waits in a
 * one-chunk overflow while the request is paused (backpressure). The
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

/* Largest slice handed to libsoup at once. */
#define PTS_DOWNLOAD_CHUNK (256 * 1024)
/* A failed upload with more than this still to come is answered at once
 * and its connection closed, instead of reading the rest for nothing. */
#define PTS_UPLOAD_DRAIN_MAX (256 * 1024)
/* How long a closed upload's connection is drained so that the answer
 * reaches the client before the close resets the connection. */
#define PTS_LINGER_SECONDS 2

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
  if (G_IS_SOCKET_CONNECTION (linger->stream))
    g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (linger->stream)),
                       FALSE, TRUE, NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (linger->stream), linger->scratch,
                             sizeof linger->scratch, G_PRIORITY_LOW, linger->cancellable,
                             pts_linger_read_cb, linger);
}

static void
pts_http_answer_and_close (SoupServerMessage *msg, guint status, const char *text)
{
  GIOStream *stream = soup_server_message_steal_connection (msg);
  PtsLinger *linger;

  if (stream == NULL)
    return;
  linger = g_new0 (PtsLinger, 1);
  linger->stream = stream;
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

void
pts_http_endpoint_shutdown (void)
{
  while (pts_lingers != NULL)
    pts_linger_free (pts_lingers->data);
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
} PtsHttpUpload;

static void pts_http_upload_flush (PtsHttpUpload *self);

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
      if (!bsp_sidhash_is_valid (lower, strlen (lower)) || strcmp (lower, self->sidhash) != 0)
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

static void
pts_http_upload_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  PtsHttpUpload *self = user_data;
  g_autoptr (GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (chunk, &len);

  self->body_received += len;
  if (self->error != NULL || self->finished)
    return; /* dropping the rest */
  if (!pts_multipart_feed (self->multipart, data, len, &error))
    {
      g_message ("upload refused: %s", error->message);
      pts_http_upload_refuse (self, g_steal_pointer (&error));
      return;
    }
  if (self->overflow->len > 0 && !self->paused)
    {
      self->paused = TRUE;
      soup_server_message_pause (msg);
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

  if (self->msg != NULL || self->body_done || self->finished)
    return SOUP_STATUS_CONFLICT; /* the first upload goes on undisturbed */
  /* Other refusals from the request head end the session (protocol.md §5). */
  type = soup_message_headers_get_content_type (headers, &params);
  boundary = params ? g_hash_table_lookup (params, "boundary") : NULL;
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    content_length = soup_message_headers_get_content_length (headers);
  if (type == NULL || g_ascii_strcasecmp (type, "multipart/form-data") != 0 || boundary == NULL
      || (multipart = pts_multipart_new (boundary, &pts_http_upload_multipart, self)) == NULL)
    {
      g_set_error_literal (&error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                           "an upload is multipart/form-data with a boundary");
      pts_relay_fail (self->parent.relay, error);
      return SOUP_STATUS_BAD_REQUEST;
    }
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
  g_autoptr (GError) error = NULL;

  self->body_done = TRUE;
  /* The answer waits until every byte reached the receiver. */
  soup_server_message_pause (msg);
  if (self->error == NULL && !self->finished)
    {
      if (!pts_multipart_finish (self->multipart, &error))
        pts_http_upload_refuse (self, g_steal_pointer (&error));
      else if (!self->file_seen)
        pts_http_upload_refuse (self, g_error_new_literal (PTS_RELAY_ERROR,
                                                           PTS_RELAY_ERROR_BAD_INPUT,
                                                           "no FILE part in the upload"));
    }
  pts_http_upload_respond (self);
}

gboolean
pts_http_upload_is_attached (PtsEndpoint *ep)
{
  return ((PtsHttpUpload *) ep)->msg != NULL;
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
  pts_http_upload_flush ((PtsHttpUpload *) ep);
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
