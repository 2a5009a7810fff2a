/* bsp-http.c — the plugin's HTTP client: a streamed multipart upload and a
 * chunked download, on libsoup 3
 *
 * Nothing here blocks the main loop or holds a whole file. The upload runs
 * in a worker thread of its own with libsoup's synchronous API: libsoup
 * writes a request body in small pieces, and on the main loop every piece
 * cost a turn of libpurple's loop. The body is a small stream class
 * (bsp-multipart-stream.c) that yields the multipart head, then the file
 * (read in large blocks), then the tail; the worker touches no libpurple
 * object and hands progress and the end back to the main context. The
 * download (bsp-http-download.c) works the same way, reading in large
 * blocks.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-http-proxy.h"
#include "bsp-http.h"
#include "bsp-log.h"
#include "bsp-multipart.h"
#include "bsp-multipart-stream.h"
#include "bsp-tls.h"

G_DEFINE_QUARK (bsp - http - error - quark, bsp_http_error)

/* ==== the session =========================================================== */

SoupSession *
bsp_http_session_new (PurpleAccount *account)
{
  g_autoptr (BspHttpProxy) proxy = bsp_http_proxy_new (account);
  g_autoptr (BspTlsTrust) trust = bsp_tls_trust_new ();
  SoupSession *session = bsp_http_proxy_session_new (proxy);

  /* The certificates the user accepts in this sign-in (bsp-tls.c). */
  bsp_tls_trust_set (session, trust);
  return session;
}

/* ==== worker threads ========================================================= */

gboolean
bsp_http_worker_run (BspHttpProxy *proxy, BspHttpWorkerFunc func, gpointer data, GError **error)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  SoupSession *session;
  gboolean ok;

  /* The session belongs to this thread, and libsoup's sync I/O runs on
   * this thread's own context, never on libpurple's. It has the account's
   * proxy settings and answers the network proxy's 407 with them. */
  g_main_context_push_thread_default (context);
  session = bsp_http_proxy_session_new (proxy);
  ok = func (data, session, error);
  soup_session_abort (session);
  g_object_unref (session);
  g_main_context_pop_thread_default (context);
  return ok;
}

GSource *
bsp_http_post (GMainContext *context, GSourceFunc func, gpointer data, GDestroyNotify notify,
               int priority)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, data, notify);
  g_source_attach (source, context);
  return source;
}

void
bsp_http_source_drop (GSource *source)
{
  if (source == NULL)
    return;
  g_source_destroy (source);
  g_source_unref (source);
}

void
bsp_http_task_end (GTask **task, GError *error)
{
  g_autoptr (GTask) ending = g_steal_pointer (task);

  if (ending == NULL)
    g_clear_error (&error);
  else if (error != NULL)
    g_task_return_error (ending, error);
  else
    g_task_return_boolean (ending, TRUE);
}

/* "the proxy answered 502 Bad Gateway: <first line of its text>" */
GError *
bsp_http_status_error (SoupMessage *msg, GBytes *body)
{
  guint status = soup_message_get_status (msg);
  const char *reason = soup_message_get_reason_phrase (msg);
  g_autofree char *detail = NULL;
  GError *office = bsp_http_proxy_status_error (msg);

  if (office != NULL)
    return office;
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
  return g_error_new (
      BSP_HTTP_ERROR,
      status == SOUP_STATUS_BAD_GATEWAY ? BSP_HTTP_ERROR_PEER_GONE : BSP_HTTP_ERROR_STATUS,
      "the proxy answered %u %s%s%s", status, reason ? reason : soup_status_get_phrase (status),
      detail && *detail ? ": " : "", detail ? detail : "");
}

/* A buffer the kernel copies file or socket data into. Page-aligned: a
 * large g_malloc () block starts 16 bytes into a page, and copying into a
 * destination that is not aligned to a cache line costs several times
 * more (measured: reading a file into a 256 KiB block at offset 16 of a
 * page took 4× as long as at offset 0). Freed with g_aligned_free (). */
guint8 *
bsp_http_block_new (gsize size)
{
  return g_aligned_alloc (1, size, 4096);
}

/* ==== upload ================================================================== */

/* One upload: a worker thread runs the POST with libsoup's synchronous
 * API on a SoupSession of its own (made in that thread, as libsoup wants),
 * so the body moves without a main-loop turn per piece. The thread never
 * touches libpurple: progress and the end go back to the caller's main
 * context as sources this object keeps track of, so that
 * bsp_http_upload_free () can drop them. References: the owner's (given
 * up in bsp_http_upload_free (), after the thread was joined), the
 * thread's, and one per pending source; the last one always goes on the
 * owner's thread. */
struct _BspHttpUpload
{
  gint ref_count;  /* atomic */
  GThread *thread; /* owner's side; NULL once joined */
  GMainContext *context;
  GCancellable *cancellable;
  BspHttpProxy *proxy;
  BspTlsTrust *trust;   /* the session's accepted certificates */
  BspTlsPeer *tls_peer; /* a certificate the system rejected, from the worker */
  gboolean tls_asked;   /* libpurple was asked about it once */
  char *url;
  char *sidhash;
  char *path;
  char *filename;
  goffset size;
  BspHttpProgress progress; /* owner's side: called on @context */
  GTask *task;              /* owner's side; NULL once it ended */
  gpointer user_data;
  /* The worker's own: */
  gboolean chunked;      /* through an HTTP proxy in the clear */
  GError *body_error;    /* the body could not be set again on a restart */
  GInputStream *body;    /* the message's current body (the message owns it) */
  GOutputStream *direct; /* the connection's output, once libsoup told it */

  GMutex lock; /* the fields below */
  guint64 sent;
  gint64 last_post;
  GSource *progress_source; /* pending, a reference held */
  GSource *done_source;
  GError *error; /* the end, for the done source */
};

/* Progress goes to the main loop at most this often. */
#define BSP_HTTP_PROGRESS_INTERVAL (G_USEC_PER_SEC / 20)

static BspHttpUpload *
bsp_http_upload_ref (BspHttpUpload *up)
{
  g_atomic_int_inc (&up->ref_count);
  return up;
}

static void
bsp_http_upload_unref (BspHttpUpload *up)
{
  if (!g_atomic_int_dec_and_test (&up->ref_count))
    return;
  g_assert (up->thread == NULL && up->progress_source == NULL && up->done_source == NULL
            && up->task == NULL);
  g_main_context_unref (up->context);
  g_clear_object (&up->cancellable);
  g_clear_pointer (&up->proxy, bsp_http_proxy_unref);
  g_clear_error (&up->body_error);
  g_clear_object (&up->direct);
  bsp_tls_trust_unref (up->trust);
  bsp_tls_peer_free (up->tls_peer);
  g_free (up->url);
  g_free (up->sidhash);
  g_free (up->path);
  g_free (up->filename);
  g_clear_error (&up->error);
  g_mutex_clear (&up->lock);
  g_free (up);
}

/* Attaches @func to the owner's context; with the lock held. */
static GSource *
bsp_http_upload_post_locked (BspHttpUpload *up, GSourceFunc func, int priority)
{
  return bsp_http_post (up->context, func, bsp_http_upload_ref (up),
                        (GDestroyNotify) bsp_http_upload_unref, priority);
}

/* On the owner's context. */
static gboolean
bsp_http_upload_progress_cb (gpointer user_data)
{
  BspHttpUpload *up = user_data;
  guint64 sent;

  g_mutex_lock (&up->lock);
  sent = up->sent;
  g_clear_pointer (&up->progress_source, g_source_unref);
  /* The interval counts from here: a busy loop gets no new one at once. */
  up->last_post = g_get_monotonic_time ();
  g_mutex_unlock (&up->lock);
  if (up->progress != NULL)
    up->progress (MIN (sent, (guint64) up->size), up->user_data);
  return G_SOURCE_REMOVE;
}

/* In the worker: from the body stream, for every piece libsoup takes. */
static void
bsp_http_upload_note_progress (guint64 file_done, gpointer user_data)
{
  BspHttpUpload *up = user_data;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&up->lock);
  up->sent = file_done;
  /* Progress is for the eye: it waits for the loop to be idle. */
  if (up->progress_source == NULL && now - up->last_post >= BSP_HTTP_PROGRESS_INTERVAL)
    up->progress_source
        = bsp_http_upload_post_locked (up, bsp_http_upload_progress_cb, G_PRIORITY_DEFAULT_IDLE);
  g_mutex_unlock (&up->lock);
}

static gpointer bsp_http_upload_thread (gpointer data);

/* libpurple's answer about the certificate (bsp-tls.c). */
static void
bsp_http_upload_verdict (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspHttpUpload *up = user_data;
  g_autoptr (GError) error = NULL;

  bsp_tls_ask_finish (result, &error);
  if (up->task == NULL)
    ; /* freed meanwhile: nobody to tell */
  else if (error != NULL)
    bsp_http_task_end (&up->task, g_steal_pointer (&error));
  else
    up->thread = g_thread_new ("bsp-upload", bsp_http_upload_thread, bsp_http_upload_ref (up));
  bsp_http_upload_unref (up);
}

/* On the owner's context: the thread is over, or about to be. */
static gboolean
bsp_http_upload_done_cb (gpointer user_data)
{
  BspHttpUpload *up = user_data;
  GError *error;

  g_mutex_lock (&up->lock);
  error = g_steal_pointer (&up->error);
  g_clear_pointer (&up->done_source, g_source_unref);
  g_mutex_unlock (&up->lock);
  if (up->thread != NULL)
    g_clear_pointer (&up->thread, g_thread_join);
  if (up->tls_peer != NULL && !up->tls_asked
      && g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    {
      /* Nothing was sent: ask libpurple, then send again or end. */
      up->tls_asked = TRUE;
      g_clear_error (&error);
      bsp_tls_ask_async (up->trust, up->tls_peer, up->cancellable, bsp_http_upload_verdict,
                         bsp_http_upload_ref (up));
      return G_SOURCE_REMOVE;
    }
  if (up->task != NULL)
    bsp_http_task_end (&up->task, g_steal_pointer (&error));
  g_clear_error (&error);
  return G_SOURCE_REMOVE;
}

/* The multipart body of the POST, as a stream. */
static GInputStream *
bsp_http_upload_body (BspHttpUpload *up, GInputStream *file, char **content_type, goffset *length)
{
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *boundary = g_strconcat ("bsproxy-", uuid, NULL);
  char *head = bsp_multipart_head (boundary, up->sidhash, up->filename, up->size);
  char *tail = bsp_multipart_tail (boundary);

  *length = strlen (head) + up->size + strlen (tail);
  *content_type = g_strdup_printf ("multipart/form-data; boundary=%s", boundary);
  return bsp_multipart_stream_new (g_bytes_new_take (head, strlen (head)), file, up->size,
                                   g_bytes_new_take (tail, strlen (tail)),
                                   bsp_http_upload_note_progress, up);
}

/* In the worker: the connection the request goes on, once it is
 * complete (through any proxy, TLS included), for the body stream to
 * write onto. Not when the body goes chunked: that framing is libsoup's. */
static void
bsp_http_upload_network_event (SoupMessage *msg, GSocketClientEvent event, GIOStream *connection,
                               gpointer user_data)
{
  BspHttpUpload *up = user_data;

  if (event != G_SOCKET_CLIENT_COMPLETE || connection == NULL || up->chunked)
    return;
  g_set_object (&up->direct, g_io_stream_get_output_stream (connection));
  if (up->body != NULL)
    bsp_multipart_stream_set_direct (BSP_MULTIPART_STREAM (up->body), msg, up->direct);
}

/* In the worker: (re)sets the body of the POST, from the file's start.
 * libsoup drops a streamed body whenever it restarts the message (to
 * answer the network proxy's 407). */
static gboolean
bsp_http_upload_set_body (BspHttpUpload *up, SoupMessage *msg, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (up->path);
  g_autoptr (GFileInputStream) in = g_file_read (file, up->cancellable, error);
  g_autoptr (GInputStream) body = NULL;
  g_autofree char *content_type = NULL;
  goffset length;

  if (in == NULL)
    return FALSE;
  body = bsp_http_upload_body (up, G_INPUT_STREAM (in), &content_type, &length);
  if (up->direct != NULL && !up->chunked)
    bsp_multipart_stream_set_direct (BSP_MULTIPART_STREAM (body), msg, up->direct);
  up->body = body;
  soup_message_set_request_body (msg, content_type, body, up->chunked ? -1 : length);
  return TRUE;
}

static void
bsp_http_upload_restarted (SoupMessage *msg, gpointer user_data)
{
  BspHttpUpload *up = user_data;

  if (up->body_error == NULL && !bsp_http_upload_set_body (up, msg, &up->body_error))
    g_cancellable_cancel (up->cancellable);
}

/* In the worker: the whole POST. */
static gboolean
bsp_http_upload_run (gpointer data, SoupSession *session, GError **error)
{
  BspHttpUpload *up = data;
  g_autoptr (SoupMessage) msg = NULL;
  g_autoptr (GInputStream) response = NULL;
  g_autoptr (GBytes) detail = NULL;
  g_autofree char *via = NULL;

  msg = soup_message_new (SOUP_METHOD_POST, up->url);
  if (msg == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "the proxy gave an invalid upload URL");
      return FALSE;
    }
  /* A redirect could take the file anywhere: never follow one. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  bsp_tls_watch (up->trust, msg);
  bsp_http_proxy_watch (up->proxy, msg);
  via = bsp_http_proxy_http_for (up->proxy, up->url, up->cancellable);
  if (via != NULL && g_strcmp0 (g_uri_peek_scheme (up->url), "http") == 0)
    {
      /* Through an HTTP proxy in the clear (no CONNECT tunnel): chunked.
       * squid 5.7 (Debian 12) aborts a large body sent with
       * Content-Length when the bs-proxy drains it slowly, as it does
       * while the receiver downloads through the same squid: squid's
       * request buffer fills, a read of 0 bytes is taken for the client
       * leaving, and the upload is reset after a few MB (squid's bug
       * 5405). Sent chunked, the same upload passes; the bs-proxy
       * accepts both (PROTOCOL.md §3). Elsewhere Content-Length stays:
       * chunked framing costs speed. */
      up->chunked = TRUE;
      if (!bsp_http_proxy_sign_in (up->proxy, session, up->url, up->cancellable, error))
        return FALSE;
    }
  g_signal_connect (msg, "network-event", G_CALLBACK (bsp_http_upload_network_event), up);
  if (!bsp_http_upload_set_body (up, msg, error))
    return FALSE;
  g_signal_connect (msg, "restarted", G_CALLBACK (bsp_http_upload_restarted), up);

  response = soup_session_send (session, msg, up->cancellable, error);
  up->body = NULL;
  if (up->body_error != NULL)
    {
      g_clear_error (error);
      g_propagate_error (error, g_steal_pointer (&up->body_error));
      return FALSE;
    }
  if (response == NULL)
    {
      if (bsp_tls_can_ask (msg, *error))
        {
          g_mutex_lock (&up->lock);
          bsp_tls_peer_free (up->tls_peer);
          up->tls_peer = bsp_tls_peer_take (msg);
          g_mutex_unlock (&up->lock);
        }
      return FALSE;
    }
  if (SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    return TRUE;
  /* The start of the proxy's explanation, for the reason. */
  detail = g_input_stream_read_bytes (response, 200, up->cancellable, NULL);
  g_propagate_error (error, bsp_http_status_error (msg, detail));
  return FALSE;
}

static gpointer
bsp_http_upload_thread (gpointer data)
{
  BspHttpUpload *up = data;
  GError *error = NULL;

  bsp_http_worker_run (up->proxy, bsp_http_upload_run, up, &error);

  g_mutex_lock (&up->lock);
  up->error = error;
  up->done_source = bsp_http_upload_post_locked (up, bsp_http_upload_done_cb, G_PRIORITY_DEFAULT);
  g_mutex_unlock (&up->lock);
  bsp_http_upload_unref (up);
  return NULL;
}

BspHttpUpload *
bsp_http_upload_start (SoupSession *session, const char *url, const char *sidhash, const char *path,
                       const char *filename, goffset size, GCancellable *cancellable,
                       BspHttpProgress progress, GAsyncReadyCallback callback, gpointer user_data)
{
  BspHttpUpload *up = g_new0 (BspHttpUpload, 1);

  up->ref_count = 1;
  g_mutex_init (&up->lock);
  up->context = g_main_context_ref_thread_default ();
  up->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  up->proxy = bsp_http_proxy_ref (bsp_http_proxy_from_session (session));
  up->trust = bsp_tls_trust_get (session);
  up->url = g_strdup (url);
  up->sidhash = g_strdup (sidhash);
  up->path = g_strdup (path);
  up->filename = g_strdup (filename);
  up->size = size;
  up->progress = progress;
  up->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (up->task, bsp_http_upload_start);
  up->user_data = user_data;
  up->thread = g_thread_new ("bsp-upload", bsp_http_upload_thread, bsp_http_upload_ref (up));
  return up;
}

void
bsp_http_upload_free (BspHttpUpload *up)
{
  GSource *progress_source, *done_source;

  if (up == NULL)
    return;
  g_cancellable_cancel (up->cancellable);
  if (up->thread != NULL)
    g_clear_pointer (&up->thread, g_thread_join);
  /* No thread posts anything now; drop what is still pending. */
  up->progress = NULL;
  g_mutex_lock (&up->lock);
  progress_source = g_steal_pointer (&up->progress_source);
  done_source = g_steal_pointer (&up->done_source);
  g_mutex_unlock (&up->lock);
  bsp_http_source_drop (progress_source);
  bsp_http_source_drop (done_source);
  bsp_http_task_end (
      &up->task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the upload was stopped"));
  bsp_http_upload_unref (up);
}

gboolean
bsp_http_upload_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bsp_http_upload_start, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
