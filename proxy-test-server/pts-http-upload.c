/* pts-http-upload.c — the sender's HTTP upload as a relay source
 *
 * The request's body is read in blocks no larger than the relay's free
 * space, so the FILE bytes always fit: backpressure is simply not reading
 * while the relay is full. The multipart parser may hold back a few bytes
 * that could start its delimiter and release them with the next block;
 * what then does not fit waits in a small overflow. The answer goes out
 * once the relay ended (PROTOCOL.md §3.5, §5).
 *
 * A FILE part that declares its length over plain HTTP is read another
 * way once libsoup's buffer is used up (pts_http_request_raw_fd()): its
 * declared bytes come straight from the socket into the relay, spliced
 * into the relay's pipe when the sink is a socket too (SOCKS5, or a
 * download taken from libsoup), received into the ring otherwise, with
 * neither the stream layers nor the parser in between. The parser takes
 * over again for what follows (the closing delimiter).
 *
 * Threads: main thread only, with libsoup and the HTTP server: an
 * upload's relay is never handed to a worker (pts_relay_sink_became_socket()
 * moves only a SOCKS5 sender's).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <libsoup/soup.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-chunked.h"
#include "pts-http-upload.h"
#include "pts-multipart.h"
#include "pts-secret.h"
#include "pts-socket-endpoint.h"

/* Body bytes read at once (small: it is per upload, beside the relay's
 * buffer; 256 KiB put 128 concurrent uploads over the 64 MiB bound)... */
#define PTS_UPLOAD_BLOCK (64 * 1024)
/* ...and at most this many reads per main-loop dispatch. */
#define PTS_UPLOAD_READS_PER_DISPATCH 8
/* A request may be somewhat larger than its file (part heads, delimiters). */
#define PTS_UPLOAD_FRAMING_MAX (64 * 1024)

guint
pts_http_status_for_error (const GError *error)
{
  if (error == NULL)
    return SOUP_STATUS_OK;
  if (error->domain == PTS_MULTIPART_ERROR || error->domain == PTS_CHUNKED_ERROR)
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
    case PTS_RELAY_ERROR_SHORT: return SOUP_STATUS_BAD_GATEWAY;
    }
  return SOUP_STATUS_INTERNAL_SERVER_ERROR;
}

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
  gboolean finished; /* the relay ended */

  /* The request being read, and what its body showed so far. */
  PtsHttpRequest *request;
  PtsMultipart *multipart;
  gint64 content_length; /* of the request, or -1 */
  guint64 body_read;
  PtsUploadPart part;
  GString *sidhash_value;
  gboolean sidhash_ok;
  gboolean file_seen; /* the FILE part began: the session is this request's now */
  gboolean file_done;
  gboolean direct; /* the FILE part's declared bytes come from the socket itself */
  gint64 total;    /* expected file size, or -1 */
  gint64 declared; /* the FILE part's own Content-Length, or -1 */
  guint64 file_bytes;
  GByteArray *overflow; /* file bytes the relay had no room for */
  guint8 *buf;
} PtsHttpUpload;

static const PtsEndpointClass pts_http_upload_class;

gboolean
pts_http_endpoint_is_upload (PtsEndpoint *ep)
{
  return ep != NULL && ep->klass == &pts_http_upload_class;
}

gint64
pts_http_upload_get_total (PtsEndpoint *ep)
{
  return ((PtsHttpUpload *) ep)->total;
}

/* ---- the multipart body ---------------------------------------------------------- */

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
  if (part->content_length >= 0 && self->content_length >= 0
      && (guint64) part->content_length
             > (guint64) self->content_length - MIN (offset, (guint64) self->content_length))
    {
      /* Declared bytes are read as they are, maybe straight from the
       * socket: never past the request's own body. */
      g_set_error (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                   "the FILE part announces %" G_GINT64_FORMAT
                   " bytes, more than the rest of the request's body",
                   part->content_length);
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
    case PTS_UPLOAD_PART_OTHER: return TRUE;
    case PTS_UPLOAD_PART_SIDHASH:
      if (self->sidhash_value->len + len > 256)
        {
          g_set_error_literal (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                               "the SIDHASH part is too long");
          return FALSE;
        }
      g_string_append_len (self->sidhash_value, (const char *) data, len);
      return TRUE;
    case PTS_UPLOAD_PART_FILE: break;
    }

  if (self->declared >= 0 && self->file_bytes + len > (guint64) self->declared)
    {
      g_set_error (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                   "the FILE part has more than the %" G_GINT64_FORMAT " bytes it announced",
                   self->declared);
      return FALSE;
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

/* ---- the request ------------------------------------------------------------------- */

/* Back to waiting for a POST, as if the last one never came. */
static void
pts_http_upload_reset (PtsHttpUpload *self)
{
  self->request = NULL;
  g_clear_pointer (&self->multipart, pts_multipart_free);
  self->content_length = -1;
  self->body_read = 0;
  self->part = PTS_UPLOAD_PART_OTHER;
  g_string_truncate (self->sidhash_value, 0);
  self->sidhash_ok = FALSE;
  self->total = -1;
  self->declared = -1;
}

/* The request went wrong. Before its FILE part began, it is refused for
 * what it is and the upload waits for its rightful sender; after, the
 * transfer fails (and pts_http_upload_finish() answers). */
static void
pts_http_upload_request_failed (PtsHttpUpload *self, GError *error)
{
  g_autoptr (GError) owned = error;

  if (!self->file_seen && !g_error_matches (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_TOO_LARGE))
    {
      g_message ("upload request refused: %s", error->message);
      pts_http_request_answer (self->request, pts_http_status_for_error (error), error->message,
                               FALSE);
      pts_http_upload_reset (self);
      return;
    }
  g_message ("upload refused: %s", error->message);
  pts_http_request_unwatch (self->request);
  if (error->domain != PTS_RELAY_ERROR)
    {
      /* Bad framing (multipart, chunked) is bad input, as counted. */
      g_autoptr (GError) bad
          = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT, error->message);
      pts_relay_fail (self->parent.relay, bad);
      return;
    }
  pts_relay_fail (self->parent.relay, error);
}

static void pts_http_upload_readable (PtsHttpRequest *request, gpointer user_data);

/* The connection broke: nobody to answer. */
static void
pts_http_upload_broke_off (PtsHttpUpload *self, const char *why)
{
  g_autoptr (GError) error = NULL;

  g_message ("upload broke off: %s", why);
  pts_http_request_free (g_steal_pointer (&self->request));
  if (!self->file_seen)
    {
      pts_http_upload_reset (self);
      return;
    }
  error = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_SENDER_GONE,
                               "the sender's upload broke off");
  pts_relay_fail (self->parent.relay, error);
}

/* The rest of the FILE part's declared bytes are read from the socket
 * itself from here on, if they can be; then the relay learns it. */
static void
pts_http_upload_go_direct (PtsHttpUpload *self)
{
  if (self->part != PTS_UPLOAD_PART_FILE || self->declared < 0 || self->overflow->len > 0
      || pts_multipart_declared_left (self->multipart) == 0
      || pts_http_request_raw_fd (self->request) < 0)
    return;
  self->direct = TRUE;
  pts_relay_source_became_socket (self->parent.relay);
}

/* Reads declared FILE bytes from the socket into the relay. TRUE: they are
 * all in, the parser goes on with what follows; FALSE: wait (the watch or
 * the relay's wake comes back), or the upload ended. */
static gboolean
pts_http_upload_read_direct (PtsHttpUpload *self)
{
  /* Never past the request's body (part_begin made sure of it). */
  guint64 left = MIN (pts_multipart_declared_left (self->multipart),
                      (guint64) pts_http_request_remaining (self->request));
  guint64 moved = 0;
  int err = 0;
  PtsSocketRead how = pts_socket_read_into_relay (
      self->parent.relay, pts_http_request_raw_fd (self->request), left, &moved, &err);

  self->file_bytes += moved;
  self->body_read += moved;
  pts_multipart_skip_declared (self->multipart, moved);
  pts_http_request_consumed (self->request, (gsize) moved);
  switch (how)
    {
    case PTS_SOCKET_READ_LIMIT: self->direct = FALSE; return TRUE;
    case PTS_SOCKET_READ_DRAINED:
    case PTS_SOCKET_READ_YIELD:
      pts_http_request_watch (self->request, pts_http_upload_readable, self);
      return FALSE;
    case PTS_SOCKET_READ_FULL:
      pts_http_request_unwatch (self->request); /* the relay's wake brings us back */
      return FALSE;
    case PTS_SOCKET_READ_END:
      pts_http_upload_broke_off (self, "the connection closed before the end of the body");
      return FALSE;
    case PTS_SOCKET_READ_ERROR: pts_http_upload_broke_off (self, g_strerror (err)); return FALSE;
    }
  return FALSE;
}

static void
pts_http_upload_pump (PtsHttpUpload *self)
{
  for (guint i = 0; i < PTS_UPLOAD_READS_PER_DISPATCH; i++)
    {
      GError *error = NULL;
      gsize space;
      gssize n;

      if (self->request == NULL || self->finished)
        return;
      if (self->direct && !pts_http_upload_read_direct (self))
        return;
      if (self->overflow->len > 0 || (space = pts_relay_space (self->parent.relay)) == 0)
        {
          /* Full: the relay's wake brings us back. */
          pts_http_request_unwatch (self->request);
          return;
        }
      n = pts_http_request_read (self->request, self->buf, MIN (space, PTS_UPLOAD_BLOCK), &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          pts_http_request_watch (self->request, pts_http_upload_readable, self);
          return;
        }
      if (n < 0 && error->domain == G_IO_ERROR)
        {
          pts_http_upload_broke_off (self, error->message);
          g_error_free (error);
          return;
        }
      if (n < 0)
        {
          pts_http_upload_request_failed (self, error); /* bad chunked framing */
          return;
        }
      if (n == 0)
        {
          /* The whole body is in: the answer waits for the relay's end. */
          pts_http_request_unwatch (self->request);
          if (!pts_multipart_finish (self->multipart, &error))
            pts_http_upload_request_failed (self, error);
          else if (!self->file_seen)
            pts_http_upload_request_failed (
                self, g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                                           "no FILE part in the upload"));
          return;
        }
      self->body_read += (guint64) n;
      if (!pts_multipart_feed (self->multipart, self->buf, (gsize) n, &error))
        {
          pts_http_upload_request_failed (self, error);
          return;
        }
      if (!self->finished && self->request != NULL)
        pts_http_upload_go_direct (self);
    }
  /* More may be readable: the watch (or the relay's wake) comes back. */
  pts_http_request_watch (self->request, pts_http_upload_readable, self);
}

static void
pts_http_upload_readable (PtsHttpRequest *request, gpointer user_data)
{
  pts_http_upload_pump (user_data);
}

guint
pts_http_upload_check (PtsEndpoint *ep, const char *boundary, gint64 content_length)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;
  g_autoptr (PtsMultipart) probe = NULL;

  if (self->finished)
    return SOUP_STATUS_NOT_FOUND;
  if (self->request != NULL || self->file_seen)
    return SOUP_STATUS_CONFLICT; /* the first upload goes on undisturbed */
  if (boundary == NULL
      || (probe = pts_multipart_new (boundary, &pts_http_upload_multipart, self)) == NULL)
    return SOUP_STATUS_BAD_REQUEST;
  if (self->max_size > 0 && content_length > self->max_size + PTS_UPLOAD_FRAMING_MAX)
    {
      g_autoptr (GError) error
          = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_TOO_LARGE,
                         "the upload is larger than %" G_GINT64_FORMAT " bytes", self->max_size);
      pts_relay_fail (self->parent.relay, error);
      return SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE;
    }
  return 0;
}

void
pts_http_upload_attach (PtsEndpoint *ep, PtsHttpRequest *request, const char *boundary)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  g_return_if_fail (self->request == NULL && !self->finished);
  self->request = request;
  self->multipart = pts_multipart_new (boundary, &pts_http_upload_multipart, self);
  self->content_length = pts_http_request_remaining (request);
  pts_http_upload_pump (self);
}

/* ---- the endpoint -------------------------------------------------------------------- */

static void
pts_http_upload_wake (PtsEndpoint *ep)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  if (self->overflow->len > 0)
    {
      gsize n = pts_relay_push (self->parent.relay, self->overflow->data, self->overflow->len);

      g_byte_array_remove_range (self->overflow, 0, (guint) n);
      if (self->overflow->len > 0)
        return;
      if (self->file_done)
        pts_relay_source_done (self->parent.relay);
    }
  pts_http_upload_pump (self);
}

static void
pts_http_upload_finish (PtsEndpoint *ep, const GError *error)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  if (self->finished)
    return;
  self->finished = TRUE;
  if (self->request != NULL)
    {
      /* HTTP/1.1 answers after the request: what little is left is read
       * first; with much left the answer goes out now. */
      pts_http_request_answer (self->request, pts_http_status_for_error (error),
                               error != NULL ? error->message : "delivered", TRUE);
      self->request = NULL;
    }
}

static void
pts_http_upload_free (PtsEndpoint *ep)
{
  PtsHttpUpload *self = (PtsHttpUpload *) ep;

  if (self->request != NULL)
    pts_http_request_free (self->request);
  pts_multipart_free (self->multipart);
  g_byte_array_unref (self->overflow);
  g_string_free (self->sidhash_value, TRUE);
  g_free (self->sidhash);
  g_free (self->buf);
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
  self->buf = g_malloc (PTS_UPLOAD_BLOCK);
  return &self->parent;
}
