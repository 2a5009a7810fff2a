/* pts-http-client.c — a small blocking HTTP/1.1 client for the bs-proxy tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http-client"

#include <string.h>

#include "pts-http-client.h"
#include "pts-test-util.h"

G_DEFINE_QUARK (pts - http - client - error - quark, pts_http_client_error)

#define PTS_HTTP_CHUNK (256 * 1024)
#define PTS_HTTP_MAX_HEAD (64 * 1024)
#define PTS_HTTP_MAX_LINE 1024
#define PTS_HTTP_BOUNDARY "pts-http-client-3f9a1c27e4b5d680"

struct _PtsHttpConn
{
  GSocketConnection *conn;
  GSocket *socket;
  char *host_header; /* host[:port] */
  char *target;      /* path?query */
  guint8 *buf;       /* received, not yet taken: buf[start..end) */
  gsize start;
  gsize end;
  gboolean eof; /* the server closed (or reset) the connection */
};

void
pts_http_response_clear (PtsHttpResponse *response)
{
  g_clear_pointer (&response->reason, g_free);
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_pointer (&response->body, g_byte_array_unref);
  memset (response, 0, sizeof *response);
}

void
pts_http_upload_result_clear (PtsHttpUploadResult *result)
{
  g_clear_error (&result->send_error);
  pts_http_response_clear (&result->response);
  memset (result, 0, sizeof *result);
}

/* ---- the connection ---------------------------------------------------------- */

PtsHttpConn *
pts_http_conn_open (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, error);
  g_autoptr (PtsHttpConn) self = NULL;
  const char *query;
  int port;

  if (uri == NULL)
    return NULL;
  if (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 || g_uri_get_host (uri) == NULL)
    {
      g_set_error (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_MALFORMED,
                   "not an http:// URL: %s", url);
      return NULL;
    }
  port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 80;
  query = g_uri_get_query (uri);

  self = g_new0 (PtsHttpConn, 1);
  self->buf = g_malloc (PTS_HTTP_CHUNK);
  self->host_header = port == 80 ? g_strdup (g_uri_get_host (uri))
                                 : g_strdup_printf ("%s:%d", g_uri_get_host (uri), port);
  self->target = g_strdup_printf ("%s%s%s", *g_uri_get_path (uri) ? g_uri_get_path (uri) : "/",
                                  query ? "?" : "", query ? query : "");
  self->conn = pts_test_tcp_connect (g_uri_get_host (uri), (guint16) port, error);
  if (self->conn == NULL)
    return NULL;
  self->socket = g_socket_connection_get_socket (self->conn);
  return g_steal_pointer (&self);
}

void
pts_http_conn_free (PtsHttpConn *self)
{
  if (self == NULL)
    return;
  if (self->conn != NULL)
    {
      g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
      g_object_unref (self->conn);
    }
  g_free (self->host_header);
  g_free (self->target);
  g_free (self->buf);
  g_free (self);
}

/* Waits up to the client timeout for @condition; TRUE once it holds. */
static gboolean
pts_http_conn_wait (PtsHttpConn *self, GIOCondition condition, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (g_socket_condition_timed_wait (
          self->socket, condition, (gint64) PTS_HTTP_CLIENT_TIMEOUT_MS * 1000, NULL, &local_error))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_TIMED_OUT,
                 "the server did nothing for %u ms (waiting to %s)", PTS_HTTP_CLIENT_TIMEOUT_MS,
                 (condition & G_IO_OUT) ? "send" : "receive");
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
pts_http_conn_send (PtsHttpConn *self, const void *data, gsize len, GError **error)
{
  gsize done = 0;

  /* Bounded: every round waits at most the client timeout and then sends
   * at least one byte, or stops. */
  while (done < len)
    {
      gssize n;

      if (!pts_http_conn_wait (self, G_IO_OUT | G_IO_IN, error))
        return FALSE;
      if (g_socket_condition_check (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0)
        {
          g_set_error (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_ANSWERED,
                       "the server answered (or closed) with %" G_GSIZE_FORMAT
                       " bytes of this write unsent",
                       len - done);
          return FALSE;
        }
      n = pts_test_socket_send_some (self->socket, (const char *) data + done, len - done, error);
      if (n < 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

gboolean
pts_http_conn_send_head (PtsHttpConn *self, const char *method, const char *content_type,
                         gint64 content_length, GError **error)
{
  g_autoptr (GString) head = g_string_new (NULL);

  g_string_append_printf (head, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method,
                          self->target, self->host_header);
  if (content_type != NULL)
    g_string_append_printf (head, "Content-Type: %s\r\n", content_type);
  if (content_length >= 0)
    g_string_append_printf (head, "Content-Length: %" G_GINT64_FORMAT "\r\n", content_length);
  g_string_append (head, "\r\n");
  return pts_http_conn_send (self, head->str, head->len, error);
}

/* Receives more into the buffer (after compacting it). FALSE on a timeout;
 * the end of the connection (or a reset) sets self->eof and is no error. */
static gboolean
pts_http_conn_fill (PtsHttpConn *self, GError **error)
{
  /* Bounded: each round waits at most the client timeout, and a readable
   * socket yields data, the end, or an error. */
  if (self->start > 0)
    {
      memmove (self->buf, self->buf + self->start, self->end - self->start);
      self->end -= self->start;
      self->start = 0;
    }
  if (self->end == PTS_HTTP_CHUNK || self->eof)
    return TRUE;
  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n;

      if (!pts_http_conn_wait (self, G_IO_IN, error))
        return FALSE;
      n = g_socket_receive_with_blocking (self->socket, (char *) self->buf + self->end,
                                          PTS_HTTP_CHUNK - self->end, FALSE, NULL, &local_error);
      if (n > 0)
        {
          self->end += n;
          return TRUE;
        }
      if (n == 0 || !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          /* A reset is an end too: what matters is whether the body was
           * whole before it. */
          self->eof = TRUE;
          return TRUE;
        }
    }
}

gboolean
pts_http_conn_read_head (PtsHttpConn *self, PtsHttpResponse *response, GError **error)
{
  SoupHTTPVersion version;
  const char *head;
  const char *blank = NULL;

  /* Bounded: every round adds bytes or ends (the head is limited). */
  while (blank == NULL)
    {
      head = (const char *) self->buf + self->start;
      blank = g_strstr_len (head, self->end - self->start, "\r\n\r\n");
      if (blank != NULL)
        break;
      if (self->end - self->start >= PTS_HTTP_MAX_HEAD)
        {
          g_set_error_literal (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_MALFORMED,
                               "the response head is too long");
          return FALSE;
        }
      if (self->eof)
        {
          g_set_error (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_CLOSED,
                       "the connection ended after %" G_GSIZE_FORMAT
                       " bytes, before a whole response head",
                       self->end - self->start);
          return FALSE;
        }
      if (!pts_http_conn_fill (self, error))
        return FALSE;
    }

  pts_http_response_clear (response);
  response->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  response->body = g_byte_array_new ();
  response->content_length = -1;
  /* The head without its blank line, as libsoup wants it. */
  if (!soup_headers_parse_response (head, (int) (blank + 2 - head), response->headers, &version,
                                    &response->status, &response->reason))
    {
      g_set_error (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_MALFORMED,
                   "the response head does not parse: %.*s", (int) (blank - head), head);
      return FALSE;
    }
  self->start += blank + 4 - head;
  response->encoding = soup_message_headers_get_encoding (response->headers);
  if (response->encoding == SOUP_ENCODING_CONTENT_LENGTH)
    response->content_length = soup_message_headers_get_content_length (response->headers);
  return TRUE;
}

/* Takes up to @max buffered body bytes (filling the buffer if it is empty);
 * *@len 0 at the end of the connection. */
static gboolean
pts_http_conn_take (PtsHttpConn *self, guint64 max, const guint8 **data, gsize *len, GError **error)
{
  if (self->start == self->end && !self->eof && !pts_http_conn_fill (self, error))
    return FALSE;
  *data = self->buf + self->start;
  *len = (gsize) MIN ((guint64) (self->end - self->start), max);
  self->start += *len;
  return TRUE;
}

/* One CRLF-terminated line of chunk framing, without the CRLF; NULL with
 * *@cut TRUE when the connection ended first. */
static char *
pts_http_conn_read_line (PtsHttpConn *self, gboolean *cut, GError **error)
{
  *cut = FALSE;
  /* Bounded: every round adds bytes or ends (lines are limited). */
  for (;;)
    {
      const char *line = (const char *) self->buf + self->start;
      const char *crlf = g_strstr_len (line, self->end - self->start, "\r\n");

      if (crlf != NULL)
        {
          char *copy = g_strndup (line, crlf - line);
          self->start += crlf + 2 - line;
          return copy;
        }
      if (self->end - self->start > PTS_HTTP_MAX_LINE)
        {
          g_set_error_literal (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_MALFORMED,
                               "a chunk line is too long");
          return NULL;
        }
      if (self->eof)
        {
          *cut = TRUE;
          return NULL;
        }
      if (!pts_http_conn_fill (self, error))
        return NULL;
    }
}

/* Reads up to @len body bytes into the response; FALSE on error, *@cut
 * when the connection ended first. */
static gboolean
pts_http_conn_read_data (PtsHttpConn *self, PtsHttpResponse *response, GChecksum *sha, gsize keep,
                         guint64 len, gboolean *cut, GError **error)
{
  *cut = FALSE;
  while (len > 0)
    {
      const guint8 *data;
      gsize n;

      if (!pts_http_conn_take (self, len, &data, &n, error))
        return FALSE;
      if (n == 0)
        {
          *cut = TRUE;
          return TRUE;
        }
      g_checksum_update (sha, data, n);
      if (response->body->len < keep)
        g_byte_array_append (response->body, data, (guint) MIN (n, keep - response->body->len));
      response->body_length += n;
      len -= n;
    }
  return TRUE;
}

gboolean
pts_http_conn_read_body (PtsHttpConn *self, PtsHttpResponse *response, gsize keep,
                         guint64 stop_after, GError **error)
{
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  guint64 limit = stop_after > 0 ? stop_after : G_MAXUINT64;
  gboolean cut = FALSE;
  gboolean ok = TRUE;

  response->complete = FALSE;
  switch (response->encoding)
    {
    case SOUP_ENCODING_NONE: response->complete = TRUE; break;

    case SOUP_ENCODING_CONTENT_LENGTH:
      ok = pts_http_conn_read_data (self, response, sha, keep,
                                    MIN ((guint64) response->content_length, limit), &cut, error);
      response->complete
          = ok && !cut && response->body_length == (guint64) response->content_length;
      break;

    case SOUP_ENCODING_CHUNKED:
      /* Bounded: every chunk is read whole, or the end comes. */
      while (ok && !cut && response->body_length < limit)
        {
          g_autofree char *line = pts_http_conn_read_line (self, &cut, error);
          g_autofree char *crlf = NULL;
          char *end;
          guint64 size;

          if (line == NULL)
            {
              ok = cut;
              break;
            }
          size = g_ascii_strtoull (line, &end, 16);
          if (end == line || (*end != '\0' && *end != ';' && *end != ' '))
            {
              g_set_error (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_MALFORMED,
                           "bad chunk size line \"%s\"", line);
              ok = FALSE;
              break;
            }
          if (size == 0)
            {
              /* The last chunk: trailers, then an empty line. */
              for (;;)
                {
                  g_autofree char *trailer = pts_http_conn_read_line (self, &cut, error);
                  if (trailer == NULL)
                    {
                      ok = cut;
                      break;
                    }
                  if (*trailer == '\0')
                    {
                      response->complete = TRUE;
                      break;
                    }
                }
              break;
            }
          if (!pts_http_conn_read_data (self, response, sha, keep,
                                        MIN (size, limit - response->body_length), &cut, error))
            {
              ok = FALSE;
              break;
            }
          if (cut || response->body_length >= limit)
            break;
          crlf = pts_http_conn_read_line (self, &cut, error);
          if (crlf == NULL)
            {
              ok = cut;
              break;
            }
          if (*crlf != '\0')
            {
              g_set_error_literal (error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_MALFORMED,
                                   "a chunk does not end with CRLF");
              ok = FALSE;
            }
        }
      break;

    case SOUP_ENCODING_EOF:
    default:
      ok = pts_http_conn_read_data (self, response, sha, keep, limit, &cut, error);
      /* Only the end of the connection ends such a body. */
      response->complete = ok && cut;
      break;
    }
  g_strlcpy (response->sha256, g_checksum_get_string (sha), sizeof response->sha256);
  return ok;
}

/* ---- whole requests -------------------------------------------------------------- */

gboolean
pts_http_get (const char *url, gsize keep, PtsHttpResponse *response, GError **error)
{
  g_autoptr (PtsHttpConn) conn = pts_http_conn_open (url, error);

  return conn != NULL && pts_http_conn_send_head (conn, "GET", NULL, -1, error)
         && pts_http_conn_read_head (conn, response, error)
         && pts_http_conn_read_body (conn, response, keep, 0, error);
}

guint64
pts_http_stream_state (guint64 seed)
{
  return seed * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) + 1;
}

void
pts_http_stream_sha256 (guint64 seed, guint64 len, char *out)
{
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (PTS_HTTP_CHUNK);
  guint64 state = pts_http_stream_state (seed);

  for (guint64 done = 0; done < len;)
    {
      gsize n = (gsize) MIN ((guint64) PTS_HTTP_CHUNK, len - done);
      pts_test_random_fill (&state, buf, n);
      g_checksum_update (sha, buf, n);
      done += n;
    }
  g_strlcpy (out, g_checksum_get_string (sha), 65);
}

static void
pts_http_append_part (GString *body, const char *headers, const char *value)
{
  g_string_append_printf (body, "--%s\r\n%s\r\n", PTS_HTTP_BOUNDARY, headers);
  if (value != NULL)
    g_string_append_printf (body, "%s\r\n", value);
}

gboolean
pts_http_post_upload (const char *url, const PtsHttpUpload *upload, PtsHttpUploadResult *result,
                      GError **error)
{
  g_autoptr (PtsHttpConn) conn = NULL;
  g_autoptr (GString) before = g_string_new (NULL);
  g_autoptr (GString) after = g_string_new (NULL);
  g_autoptr (GString) file_head = g_string_new (NULL);
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (PTS_HTTP_CHUNK);
  g_autofree char *sidhash_head = NULL;
  guint64 state = pts_http_stream_state (upload->seed);
  gboolean paused = FALSE;
  GError **send_error = &result->send_error;

  memset (result, 0, sizeof *result);

  /* The body: [SIDHASH part] FILE part [SIDHASH part] closing delimiter. */
  sidhash_head = g_strdup ("Content-Disposition: form-data; name=\"SIDHASH\"\r\n");
  g_string_append_printf (file_head,
                          "Content-Disposition: form-data; name=\"FILE\"; filename=\"%s\"\r\n"
                          "Content-Type: application/octet-stream\r\n",
                          upload->filename ? upload->filename : "file.bin");
  if (upload->declare_size)
    g_string_append_printf (file_head, "Content-Length: %" G_GUINT64_FORMAT "\r\n",
                            upload->declare_more + upload->size);
  if (upload->sidhash != NULL && !upload->file_first)
    pts_http_append_part (before, sidhash_head, upload->sidhash);
  pts_http_append_part (before, file_head->str, NULL);
  if (upload->sidhash != NULL && upload->file_first)
    {
      g_string_append (after, "\r\n");
      pts_http_append_part (after, sidhash_head, upload->sidhash);
      /* That part's own CRLF belongs to the closing delimiter. */
      g_string_truncate (after, after->len - 2);
    }
  /* CRLF "--" boundary "--" CRLF: the delimiter's CRLF ends the last part. */
  g_string_append_printf (after, "\r\n--%s--\r\n", PTS_HTTP_BOUNDARY);

  conn = pts_http_conn_open (url, error);
  if (conn == NULL)
    return FALSE;
  {
    g_autofree char *type
        = upload->content_type
              ? g_strdup (upload->content_type)
              : g_strdup_printf ("multipart/form-data; boundary=%s", PTS_HTTP_BOUNDARY);
    if (!pts_http_conn_send_head (conn, "POST", type,
                                  (gint64) (before->len + upload->size + after->len), send_error)
        || !pts_http_conn_send (conn, before->str, before->len, send_error))
      goto answer;
  }

  /* Bounded by the size: every round sends one chunk or stops. */
  while (result->file_sent < upload->size)
    {
      guint64 stop = upload->size;
      gsize n;

      if (upload->close_after > 0)
        stop = MIN (stop, upload->close_after);
      if (upload->pause_after > 0 && !paused)
        stop = MIN (stop, upload->pause_after);
      if (result->file_sent == stop)
        {
          if (upload->close_after > 0 && stop == upload->close_after)
            {
              g_strlcpy (result->sent_sha256, g_checksum_get_string (sha),
                         sizeof result->sent_sha256);
              return TRUE; /* breaking off: the connection closes unanswered */
            }
          paused = TRUE;
          upload->pause (upload->pause_data);
          continue;
        }
      /* Whole chunks of the stream, so that it does not depend on where
       * we stop: close_after and pause_after fall on chunk boundaries or
       * cut the last chunk sent. */
      n = (gsize) MIN ((guint64) PTS_HTTP_CHUNK, stop - result->file_sent);
      pts_test_random_fill (&state, buf, n);
      g_checksum_update (sha, buf, n);
      if (!pts_http_conn_send (conn, buf, n, send_error))
        goto answer;
      result->file_sent += n;
    }
  pts_http_conn_send (conn, after->str, after->len, send_error);

answer:
  g_strlcpy (result->sent_sha256, g_checksum_get_string (sha), sizeof result->sent_sha256);
  result->answered_early
      = g_error_matches (result->send_error, PTS_HTTP_CLIENT_ERROR, PTS_HTTP_CLIENT_ERROR_ANSWERED);
  /* Whatever happened to the request, the answer may be there. */
  if (!pts_http_conn_read_head (conn, &result->response, error))
    {
      if (result->send_error != NULL)
        g_prefix_error (error, "(the request was not sent whole: %s) ",
                        result->send_error->message);
      return FALSE;
    }
  return pts_http_conn_read_body (conn, &result->response, 4096, 0, error);
}
