/* bsp-http.c — the plugin's HTTP client: a streamed multipart upload and a
 * chunked download, on libsoup 3
 *
 * Nothing here blocks the main loop or holds a whole file: the upload body
 * is a small stream class that yields the multipart head, then the file
 * (read by GIO's file stream, in GIO's worker threads, which never touch
 * libpurple), then the tail; the download reads the response stream in
 * fixed chunks.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-http.h"
#include "bsp-log.h"

G_DEFINE_QUARK (bsp-http-error-quark, bsp_http_error)

#define BSP_HTTP_CHUNK (64 * 1024)
#define BSP_HTTP_IDLE_TIMEOUT 120

/* ==== the session =========================================================== */

static GProxyResolver *
bsp_http_proxy_resolver (PurpleAccount *account)
{
  PurpleProxyInfo *info = purple_proxy_get_setup (account);
  static const char *const no_proxy[] = { "localhost", "127.0.0.0/8", "::1", NULL };
  const char *scheme = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *user = NULL;

  switch (info ? purple_proxy_info_get_type (info) : PURPLE_PROXY_NONE)
    {
    case PURPLE_PROXY_HTTP: scheme = "http"; break;
    case PURPLE_PROXY_SOCKS4: scheme = "socks4"; break;
    case PURPLE_PROXY_SOCKS5:
    case PURPLE_PROXY_TOR: scheme = "socks5"; break;
    case PURPLE_PROXY_USE_ENVVAR:
      /* GIO's default resolver reads the environment (and the desktop). */
      return g_object_ref (g_proxy_resolver_get_default ());
    case PURPLE_PROXY_NONE:
    case PURPLE_PROXY_USE_GLOBAL:
    default:
      /* Direct: a resolver without a default proxy. */
      return g_simple_proxy_resolver_new (NULL, (char **) no_proxy);
    }

  if (purple_proxy_info_get_username (info) != NULL
      && *purple_proxy_info_get_username (info) != '\0')
    {
      g_autofree char *u = g_uri_escape_string (purple_proxy_info_get_username (info), NULL,
                                                FALSE);
      g_autofree char *p = g_uri_escape_string (
          purple_proxy_info_get_password (info) ? purple_proxy_info_get_password (info) : "",
          NULL, FALSE);
      user = g_strdup_printf ("%s:%s@", u, p);
    }
  uri = g_strdup_printf ("%s://%s%s:%d", scheme, user ? user : "",
                         purple_proxy_info_get_host (info), purple_proxy_info_get_port (info));
  return g_simple_proxy_resolver_new (uri, (char **) no_proxy);
}

SoupSession *
bsp_http_session_new (PurpleAccount *account)
{
  g_autoptr (GProxyResolver) resolver = bsp_http_proxy_resolver (account);

  return soup_session_new_with_options ("proxy-resolver", resolver, "user-agent",
                                        "pidgin-bsproxy/" PACKAGE_VERSION, "idle-timeout",
                                        BSP_HTTP_IDLE_TIMEOUT, "timeout", BSP_HTTP_IDLE_TIMEOUT,
                                        NULL);
}

/* "the proxy answered 502 Bad Gateway: <first line of its text>" */
static GError *
bsp_http_status_error (SoupMessage *msg, GBytes *body)
{
  guint status = soup_message_get_status (msg);
  const char *reason = soup_message_get_reason_phrase (msg);
  g_autofree char *detail = NULL;

  if (body != NULL && g_bytes_get_size (body) > 0)
    {
      gsize len = MIN (g_bytes_get_size (body), 200);
      const char *data = g_bytes_get_data (body, NULL);
      const char *end = NULL;
      detail = g_strndup (data, len);
      g_strdelimit (detail, "\r\n", '\0');
      if (!g_utf8_validate (detail, -1, &end))
        detail[end - detail] = '\0';
    }
  if (SOUP_STATUS_IS_REDIRECTION (status))
    return g_error_new (BSP_HTTP_ERROR, BSP_HTTP_ERROR_STATUS,
                        "the proxy answered %u with a redirect, which is not followed", status);
  return g_error_new (BSP_HTTP_ERROR, BSP_HTTP_ERROR_STATUS, "the proxy answered %u %s%s%s", status,
                      reason ? reason : soup_status_get_phrase (status),
                      detail && *detail ? ": " : "", detail ? detail : "");
}

/* ==== the upload body ========================================================= */

/* head, then the inner stream, then tail: a read never spans two of them.
 *
 * GIO splices a request body in 8 KiB reads; a local file stream answers
 * each async read from a worker thread, and a thread hop per 8 KiB made the
 * sender slow. So the file is read in large blocks (one hop each) and the
 * small reads are answered from the block at once. */
#define BSP_MULTIPART_BLOCK (256 * 1024)

#define BSP_TYPE_MULTIPART_STREAM (bsp_multipart_stream_get_type ())
G_DECLARE_FINAL_TYPE (BspMultipartStream, bsp_multipart_stream, BSP, MULTIPART_STREAM,
                      GInputStream)

struct _BspMultipartStream
{
  GInputStream parent;
  GBytes *head;
  GInputStream *inner;
  GBytes *tail;
  gsize head_off;
  gsize tail_off;
  gboolean inner_done;
  guint8 *block;
  gsize block_off;
  gsize block_len;
};

G_DEFINE_TYPE (BspMultipartStream, bsp_multipart_stream, G_TYPE_INPUT_STREAM)

/* Copies from @data at *@off; returns the count, 0 when used up. */
static gsize
bsp_multipart_stream_take (const guint8 *data, gsize len, gsize *off, void *buffer, gsize count)
{
  gsize n = MIN (count, len - *off);

  memcpy (buffer, data + *off, n);
  *off += n;
  return n;
}

static gsize
bsp_multipart_stream_take_bytes (GBytes *bytes, gsize *off, void *buffer, gsize count)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return bsp_multipart_stream_take (data, len, off, buffer, count);
}

/* A read that needs no file I/O: from the head, the block or the tail.
 * Returns FALSE when the block is used up and the file has more. */
static gboolean
bsp_multipart_stream_read_ready (BspMultipartStream *self, void *buffer, gsize count,
                                 gsize *n)
{
  if (self->head_off < g_bytes_get_size (self->head))
    *n = bsp_multipart_stream_take_bytes (self->head, &self->head_off, buffer, count);
  else if (self->block_off < self->block_len)
    *n = bsp_multipart_stream_take (self->block, self->block_len, &self->block_off, buffer,
                                    count);
  else if (self->inner_done)
    *n = bsp_multipart_stream_take_bytes (self->tail, &self->tail_off, buffer, count);
  else
    return FALSE;
  return TRUE;
}

/* A new block of @n bytes came from the file (0 = its end). */
static void
bsp_multipart_stream_refilled (BspMultipartStream *self, gsize n)
{
  self->block_off = 0;
  self->block_len = n;
  if (n == 0)
    self->inner_done = TRUE;
}

static gssize
bsp_multipart_stream_read (GInputStream *stream, void *buffer, gsize count,
                           GCancellable *cancellable, GError **error)
{
  BspMultipartStream *self = BSP_MULTIPART_STREAM (stream);
  gsize n = 0;

  while (!bsp_multipart_stream_read_ready (self, buffer, count, &n))
    {
      gssize got = g_input_stream_read (self->inner, self->block, BSP_MULTIPART_BLOCK,
                                        cancellable, error);
      if (got < 0)
        return -1;
      bsp_multipart_stream_refilled (self, got);
    }
  return n;
}

typedef struct
{
  void *buffer;
  gsize count;
} BspMultipartRead;

static void
bsp_multipart_stream_inner_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BspMultipartStream *self = g_task_get_source_object (task);
  BspMultipartRead *read = g_task_get_task_data (task);
  GError *error = NULL;
  gssize got = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  gsize n = 0;

  if (got < 0)
    {
      g_task_return_error (task, error);
      return;
    }
  bsp_multipart_stream_refilled (self, got);
  /* A block, or the end of the file: either way a read is ready now. */
  bsp_multipart_stream_read_ready (self, read->buffer, read->count, &n);
  g_task_return_int (task, n);
}

static void
bsp_multipart_stream_read_async (GInputStream *stream, void *buffer, gsize count,
                                 int io_priority, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  BspMultipartStream *self = BSP_MULTIPART_STREAM (stream);
  GTask *task = g_task_new (stream, cancellable, callback, user_data);
  BspMultipartRead *read;
  gsize n = 0;

  g_task_set_source_tag (task, bsp_multipart_stream_read_async);
  if (bsp_multipart_stream_read_ready (self, buffer, count, &n))
    {
      g_task_return_int (task, n);
      g_object_unref (task);
      return;
    }
  read = g_new (BspMultipartRead, 1);
  read->buffer = buffer;
  read->count = count;
  g_task_set_task_data (task, read, g_free);
  g_input_stream_read_async (self->inner, self->block, BSP_MULTIPART_BLOCK, io_priority,
                             cancellable, bsp_multipart_stream_inner_read_cb, task);
}

static gssize
bsp_multipart_stream_read_finish (GInputStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_int (G_TASK (result), error);
}

static gboolean
bsp_multipart_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return g_input_stream_close (BSP_MULTIPART_STREAM (stream)->inner, cancellable, error);
}

static void
bsp_multipart_stream_finalize (GObject *object)
{
  BspMultipartStream *self = BSP_MULTIPART_STREAM (object);

  g_bytes_unref (self->head);
  g_bytes_unref (self->tail);
  g_object_unref (self->inner);
  g_free (self->block);
  G_OBJECT_CLASS (bsp_multipart_stream_parent_class)->finalize (object);
}

static void
bsp_multipart_stream_class_init (BspMultipartStreamClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = bsp_multipart_stream_finalize;
  stream_class->read_fn = bsp_multipart_stream_read;
  stream_class->read_async = bsp_multipart_stream_read_async;
  stream_class->read_finish = bsp_multipart_stream_read_finish;
  stream_class->close_fn = bsp_multipart_stream_close;
}

static void
bsp_multipart_stream_init (BspMultipartStream *self)
{
  self->block = g_malloc (BSP_MULTIPART_BLOCK);
}

char *
bsp_http_multipart_head (const char *boundary, const char *sidhash, const char *filename,
                         goffset size)
{
  g_autofree char *escaped = g_uri_escape_string (filename, NULL, FALSE);
  GString *ascii = g_string_new (NULL);
  char *head;

  /* An ASCII filename for old parsers, the exact one in filename*. */
  for (const char *p = filename; *p; p++)
    g_string_append_c (ascii, (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : '_');
  head = g_strdup_printf ("--%s\r\n"
                          "Content-Disposition: form-data; name=\"SIDHASH\"\r\n"
                          "\r\n"
                          "%s\r\n"
                          "--%s\r\n"
                          "Content-Disposition: form-data; name=\"FILE\"; filename=\"%s\"; "
                          "filename*=UTF-8''%s\r\n"
                          "Content-Type: application/octet-stream\r\n"
                          "Content-Length: %" G_GOFFSET_FORMAT "\r\n"
                          "\r\n",
                          boundary, sidhash, boundary, ascii->str, escaped, size);
  g_string_free (ascii, TRUE);
  return head;
}

char *
bsp_http_multipart_tail (const char *boundary)
{
  return g_strdup_printf ("\r\n--%s--\r\n", boundary);
}

/* ==== upload ================================================================== */

typedef struct
{
  BspHttpProgress progress;
  BspHttpDone done;
  gpointer user_data;
  guint64 written;
  gsize head_len;
  goffset size;
} BspHttpUpload;

static void
bsp_http_upload_wrote (SoupMessage *msg, guint chunk_size, gpointer user_data)
{
  BspHttpUpload *up = user_data;
  guint64 file_bytes;

  up->written += chunk_size;
  file_bytes = up->written > up->head_len ? up->written - up->head_len : 0;
  if (up->progress != NULL)
    up->progress (MIN (file_bytes, (guint64) up->size), up->user_data);
}

static void
bsp_http_upload_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspHttpUpload *up = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                                &error);

  g_signal_handlers_disconnect_by_data (msg, up);
  if (error == NULL && !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    error = bsp_http_status_error (msg, body);
  up->done (error, up->user_data);
  g_free (up);
}

void
bsp_http_upload (SoupSession *session, const char *url, const char *sidhash, const char *path,
                 const char *filename, goffset size, GCancellable *cancellable,
                 BspHttpProgress progress, BspHttpDone done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &error);
  g_autofree char *boundary = NULL;
  g_autofree char *head = NULL;
  g_autofree char *tail = NULL;
  g_autofree char *content_type = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (BspMultipartStream) body = NULL;
  BspHttpUpload *up;

  if (in == NULL)
    {
      done (error, user_data);
      return;
    }
  msg = soup_message_new (SOUP_METHOD_POST, url);
  if (msg == NULL)
    {
      g_autoptr (GError) bad = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                            "the proxy gave an invalid upload URL");
      done (bad, user_data);
      return;
    }
  /* A redirect could take the file anywhere: never follow one. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);

  {
    g_autofree char *uuid = g_uuid_string_random ();
    boundary = g_strconcat ("bsproxy-", uuid, NULL);
  }
  head = bsp_http_multipart_head (boundary, sidhash, filename, size);
  tail = bsp_http_multipart_tail (boundary);
  body = g_object_new (BSP_TYPE_MULTIPART_STREAM, NULL);
  body->head = g_bytes_new (head, strlen (head));
  body->tail = g_bytes_new (tail, strlen (tail));
  body->inner = G_INPUT_STREAM (g_steal_pointer (&in));
  content_type = g_strdup_printf ("multipart/form-data; boundary=%s", boundary);
  soup_message_set_request_body (msg, content_type, G_INPUT_STREAM (body),
                                 (gssize) (strlen (head) + size + strlen (tail)));

  up = g_new0 (BspHttpUpload, 1);
  up->progress = progress;
  up->done = done;
  up->user_data = user_data;
  up->head_len = strlen (head);
  up->size = size;
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (bsp_http_upload_wrote), up);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, cancellable,
                                    bsp_http_upload_sent, up);
}

/* ==== download ================================================================ */

typedef struct
{
  GInputStream *stream;
  GCancellable *cancellable;
  BspHttpChunk chunk;
  BspHttpDone done;
  gpointer user_data;
  gint64 expected;
  guint64 received;
  guint8 buf[BSP_HTTP_CHUNK];
} BspHttpDownload;

static void
bsp_http_download_finish (BspHttpDownload *down, GError *error)
{
  down->done (error, down->user_data);
  g_clear_error (&error);
  g_clear_object (&down->stream);
  g_clear_object (&down->cancellable);
  g_free (down);
}

static void bsp_http_download_next (BspHttpDownload *down);

static void
bsp_http_download_read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspHttpDownload *down = user_data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      bsp_http_download_finish (down, error);
      return;
    }
  if (n == 0)
    {
      if (down->expected >= 0 && down->received != (guint64) down->expected)
        error = g_error_new (BSP_HTTP_ERROR, BSP_HTTP_ERROR_SHORT,
                             "the download ended after %" G_GUINT64_FORMAT " of %" G_GINT64_FORMAT
                             " bytes",
                             down->received, down->expected);
      bsp_http_download_finish (down, error);
      return;
    }
  down->received += n;
  if (down->expected >= 0 && down->received > (guint64) down->expected)
    {
      bsp_http_download_finish (down, g_error_new (BSP_HTTP_ERROR, BSP_HTTP_ERROR_LONG,
                                                   "the download is longer than the %" G_GINT64_FORMAT
                                                   " bytes announced",
                                                   down->expected));
      return;
    }
  if (!down->chunk (down->buf, n, down->user_data))
    {
      bsp_http_download_finish (down, g_error_new_literal (BSP_HTTP_ERROR,
                                                           BSP_HTTP_ERROR_ABORTED,
                                                           "the download was stopped"));
      return;
    }
  bsp_http_download_next (down);
}

static void
bsp_http_download_next (BspHttpDownload *down)
{
  g_input_stream_read_async (down->stream, down->buf, sizeof down->buf, G_PRIORITY_DEFAULT,
                             down->cancellable, bsp_http_download_read_cb, down);
}

static void
bsp_http_download_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspHttpDownload *down = user_data;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  SoupMessageHeaders *headers;

  down->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (down->stream == NULL)
    {
      bsp_http_download_finish (down, error);
      return;
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    {
      bsp_http_download_finish (down, bsp_http_status_error (msg, NULL));
      return;
    }
  headers = soup_message_get_response_headers (msg);
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    {
      goffset announced = soup_message_headers_get_content_length (headers);
      if (down->expected >= 0 && announced != down->expected)
        {
          bsp_http_download_finish (
              down, g_error_new (BSP_HTTP_ERROR, BSP_HTTP_ERROR_LONG,
                                 "the proxy announces %" G_GOFFSET_FORMAT
                                 " bytes, the sender %" G_GINT64_FORMAT,
                                 announced, down->expected));
          return;
        }
      down->expected = announced;
    }
  bsp_http_download_next (down);
}

void
bsp_http_download (SoupSession *session, const char *url, gint64 expected,
                   GCancellable *cancellable, BspHttpChunk chunk, BspHttpDone done,
                   gpointer user_data)
{
  g_autoptr (SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);
  BspHttpDownload *down;

  if (msg == NULL)
    {
      g_autoptr (GError) bad = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                            "the proxy gave an invalid download URL");
      done (bad, user_data);
      return;
    }
  /* A redirect could lead anywhere, the user's own network included. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  down = g_new0 (BspHttpDownload, 1);
  down->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  down->chunk = chunk;
  down->done = done;
  down->user_data = user_data;
  down->expected = expected;
  soup_session_send_async (session, msg, G_PRIORITY_DEFAULT, cancellable,
                           bsp_http_download_sent, down);
}
