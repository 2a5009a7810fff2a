/* bsp-http-download.c — the plugin's download: a GET read in a worker
 * thread in large blocks, handed to the main loop
 *
 * Read on libpurple's main loop, a download cost a turn of the loop (and
 * two polls) for every few dozen KiB the socket had. Here a worker thread
 * runs the GET with libsoup's synchronous API on a session of its own, as
 * the upload does (bsp-http.c), and fills blocks of up to 256 KiB; each
 * block goes to the owner's main context, which hands it to the consumer
 * (the PurpleXfer's write, with whatever the UI hooks there) and gives
 * the block back. A block goes as soon as the owner is idle, full or not:
 * a slow link still shows every byte when it comes (and never looks
 * stalled), a fast one fills whole blocks while the owner writes. At most
 * BSP_DOWNLOAD_BLOCKS blocks exist: a consumer slower than the network
 * holds the worker, so memory stays bounded and the proxy sees the
 * back-pressure. The worker touches no libpurple object.
 *
 * References: the owner's (given up in bsp_http_download_free (), after
 * the thread was joined), the thread's, and one per pending source; the
 * last one always goes on the owner's thread.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-http.h"
#include "bsp-tls.h"

#define BSP_DOWNLOAD_BLOCK (256 * 1024)
#define BSP_DOWNLOAD_BLOCKS 4

typedef struct
{
  guint8 *data;
  gsize len;
} BspDownloadBlock;

struct _BspHttpDownload
{
  gint ref_count;  /* atomic */
  GThread *thread; /* owner's side; NULL once joined */
  GMainContext *context;
  GCancellable *cancellable; /* the worker's: the owner's one cancels it */
  GCancellable *owner_cancellable;
  gulong owner_handler;
  BspHttpProxy *proxy;
  BspTlsTrust *trust; /* the session's accepted certificates */
  gboolean tls_asked; /* owner's side: libpurple was asked once */
  char *url;
  gint64 expected;
  BspHttpChunk chunk; /* owner's side: called on @context */
  GTask *task;        /* owner's side; NULL once it ended */
  gpointer user_data;
  gboolean aborted; /* owner's side: @chunk said stop */

  GMutex lock; /* the fields below */
  GCond cond;  /* a block came back, or the download stopped */
  gboolean stopped;
  gboolean draining;     /* the owner is busy with a block */
  GQueue filled;         /* BspDownloadBlock for the owner, in order */
  GQueue spare;          /* BspDownloadBlock for the worker */
  guint blocks;          /* allocated */
  GSource *drain_source; /* pending, a reference held */
  GSource *done_source;
  GError *error;        /* the end, for the done source */
  BspTlsPeer *tls_peer; /* a certificate the system rejected, from the worker */
};

static BspHttpDownload *
bsp_http_download_ref (BspHttpDownload *down)
{
  g_atomic_int_inc (&down->ref_count);
  return down;
}

static void
bsp_download_block_free (gpointer data)
{
  BspDownloadBlock *block = data;

  g_aligned_free (block->data);
  g_free (block);
}

static void
bsp_http_download_unref (BspHttpDownload *down)
{
  if (!g_atomic_int_dec_and_test (&down->ref_count))
    return;
  g_assert (down->thread == NULL && down->drain_source == NULL && down->done_source == NULL
            && down->task == NULL);
  g_main_context_unref (down->context);
  g_clear_object (&down->cancellable);
  g_clear_object (&down->owner_cancellable);
  g_clear_pointer (&down->proxy, bsp_http_proxy_unref);
  bsp_tls_trust_unref (down->trust);
  bsp_tls_peer_free (down->tls_peer);
  g_free (down->url);
  g_queue_clear_full (&down->filled, bsp_download_block_free);
  g_queue_clear_full (&down->spare, bsp_download_block_free);
  g_clear_error (&down->error);
  g_mutex_clear (&down->lock);
  g_cond_clear (&down->cond);
  g_free (down);
}

/* From any thread: no more blocks either way, and the worker wakes. */
static void
bsp_http_download_stop (BspHttpDownload *down)
{
  g_mutex_lock (&down->lock);
  down->stopped = TRUE;
  g_cond_broadcast (&down->cond);
  g_mutex_unlock (&down->lock);
  g_cancellable_cancel (down->cancellable);
}

static void
bsp_http_download_owner_cancelled (GCancellable *cancellable, gpointer user_data)
{
  bsp_http_download_stop (user_data);
}

/* ---- the owner's side ------------------------------------------------------- */

/* Hands the filled blocks to @chunk, in order, until none is left or the
 * download stopped. @chunk may free the download: a source being
 * dispatched holds a reference, and a freed download is stopped. */
static void
bsp_http_download_drain (BspHttpDownload *down)
{
  while (TRUE)
    {
      BspDownloadBlock *block;
      gboolean more;

      g_mutex_lock (&down->lock);
      block = down->stopped ? NULL : g_queue_pop_head (&down->filled);
      down->draining = block != NULL;
      g_mutex_unlock (&down->lock);
      if (block == NULL)
        return;
      more = down->chunk (block->data, block->len, down->user_data);
      g_mutex_lock (&down->lock);
      g_queue_push_tail (&down->spare, block);
      g_cond_broadcast (&down->cond);
      g_mutex_unlock (&down->lock);
      if (!more)
        {
          down->aborted = TRUE;
          bsp_http_download_stop (down);
          return;
        }
    }
}

static gboolean
bsp_http_download_drain_cb (gpointer user_data)
{
  BspHttpDownload *down = user_data;

  g_mutex_lock (&down->lock);
  g_clear_pointer (&down->drain_source, g_source_unref);
  g_mutex_unlock (&down->lock);
  bsp_http_download_drain (down);
  return G_SOURCE_REMOVE;
}

static gpointer bsp_http_download_thread (gpointer data);

/* libpurple's answer about the certificate (bsp-tls.c): GET again, or end. */
static void
bsp_http_download_verdict (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspHttpDownload *down = user_data;
  g_autoptr (GError) error = NULL;
  gboolean stopped;

  bsp_tls_ask_finish (result, &error);
  g_mutex_lock (&down->lock);
  stopped = down->stopped;
  g_mutex_unlock (&down->lock);
  if (down->task == NULL || stopped)
    ; /* freed or cancelled meanwhile */
  else if (error != NULL)
    bsp_http_task_end (&down->task, g_steal_pointer (&error));
  else
    down->thread
        = g_thread_new ("bsp-download", bsp_http_download_thread, bsp_http_download_ref (down));
  bsp_http_download_unref (down);
}

/* The thread is over, or about to be: what it read is handed over
 * before the end is told. */
static gboolean
bsp_http_download_done_cb (gpointer user_data)
{
  BspHttpDownload *down = user_data;
  g_autoptr (BspTlsPeer) peer = NULL;
  GError *error;

  bsp_http_download_drain (down);
  if (down->task == NULL)
    return G_SOURCE_REMOVE; /* freed from @chunk */
  g_mutex_lock (&down->lock);
  error = g_steal_pointer (&down->error);
  peer = g_steal_pointer (&down->tls_peer);
  g_clear_pointer (&down->done_source, g_source_unref);
  g_mutex_unlock (&down->lock);
  if (down->thread != NULL)
    g_clear_pointer (&down->thread, g_thread_join);
  if (peer != NULL && !down->tls_asked && !down->aborted
      && g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    {
      /* Nothing was received: ask libpurple, then GET again or end. */
      down->tls_asked = TRUE;
      g_clear_error (&error);
      bsp_tls_ask_async (down->trust, peer, down->owner_cancellable, bsp_http_download_verdict,
                         bsp_http_download_ref (down));
      return G_SOURCE_REMOVE;
    }
  if (down->aborted)
    {
      g_clear_error (&error);
      error = g_error_new_literal (BSP_HTTP_ERROR, BSP_HTTP_ERROR_ABORTED,
                                   "the download was stopped");
    }
  bsp_http_task_end (&down->task, error);
  return G_SOURCE_REMOVE;
}

/* ---- the worker ------------------------------------------------------------ */

/* A block to fill: a spare one, a new one while there are fewer than
 * BSP_DOWNLOAD_BLOCKS, or one the owner gives back. NULL once stopped. */
static BspDownloadBlock *
bsp_http_download_take_block (BspHttpDownload *down)
{
  BspDownloadBlock *block = NULL;

  g_mutex_lock (&down->lock);
  while (!down->stopped && (block = g_queue_pop_head (&down->spare)) == NULL)
    {
      if (down->blocks < BSP_DOWNLOAD_BLOCKS)
        {
          down->blocks++;
          block = g_new0 (BspDownloadBlock, 1);
          block->data = bsp_http_block_new (BSP_DOWNLOAD_BLOCK);
          break;
        }
      g_cond_wait (&down->cond, &down->lock);
    }
  g_mutex_unlock (&down->lock);
  return block;
}

static void
bsp_http_download_give_block (BspHttpDownload *down, BspDownloadBlock *block)
{
  g_mutex_lock (&down->lock);
  if (block->len == 0)
    g_queue_push_tail (&down->spare, block);
  else
    {
      g_queue_push_tail (&down->filled, block);
      if (down->drain_source == NULL)
        down->drain_source = bsp_http_post (
            down->context, bsp_http_download_drain_cb, bsp_http_download_ref (down),
            (GDestroyNotify) bsp_http_download_unref, G_PRIORITY_DEFAULT);
    }
  g_mutex_unlock (&down->lock);
}

/* The answer's head: a 2xx, and a length that agrees with the offer. */
static gboolean
bsp_http_download_check_head (BspHttpDownload *down, SoupMessage *msg, GError **error)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  goffset announced;

  if (!SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    {
      g_propagate_error (error, bsp_http_status_error (msg, NULL));
      return FALSE;
    }
  if (soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    return TRUE;
  announced = soup_message_headers_get_content_length (headers);
  if (down->expected >= 0 && announced != down->expected)
    {
      g_set_error (error, BSP_HTTP_ERROR, BSP_HTTP_ERROR_LONG,
                   "the proxy announces %" G_GOFFSET_FORMAT " bytes, the sender %" G_GINT64_FORMAT,
                   announced, down->expected);
      return FALSE;
    }
  down->expected = announced;
  return TRUE;
}

/* Reads into @block up to @want bytes: until it is full, the body ends
 * (@eof), or the owner is idle with at least some bytes to take. */
static gboolean
bsp_http_download_fill (BspHttpDownload *down, GInputStream *body, BspDownloadBlock *block,
                        gsize want, gboolean *eof, GError **error)
{
  block->len = 0;
  while (block->len < want)
    {
      gssize n = g_input_stream_read (body, block->data + block->len, want - block->len,
                                      down->cancellable, error);
      gboolean idle;

      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          *eof = TRUE;
          break;
        }
      block->len += n;
      g_mutex_lock (&down->lock);
      idle = !down->draining && g_queue_is_empty (&down->filled);
      g_mutex_unlock (&down->lock);
      if (idle)
        break;
    }
  return TRUE;
}

/* In the worker: the whole GET. */
static gboolean
bsp_http_download_run (gpointer data, SoupSession *session, GError **error)
{
  BspHttpDownload *down = data;
  g_autoptr (SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, down->url);
  g_autoptr (GInputStream) body = NULL;
  guint64 received = 0;
  gboolean eof = FALSE;

  if (msg == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "the proxy gave an invalid download URL");
      return FALSE;
    }
  /* A redirect could lead anywhere, the user's own network included. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  /* The network's proxy may ask for the account's credentials. */
  bsp_http_proxy_watch (down->proxy, msg);
  bsp_tls_watch (down->trust, msg);
  body = soup_session_send (session, msg, down->cancellable, error);
  if (body == NULL && bsp_tls_can_ask (msg, *error))
    {
      g_mutex_lock (&down->lock);
      bsp_tls_peer_free (down->tls_peer);
      down->tls_peer = bsp_tls_peer_take (msg);
      g_mutex_unlock (&down->lock);
    }
  if (body == NULL || !bsp_http_download_check_head (down, msg, error))
    return FALSE;

  while (!eof)
    {
      BspDownloadBlock *block = bsp_http_download_take_block (down);
      gsize want = BSP_DOWNLOAD_BLOCK;
      gboolean ok;

      if (block == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the download was stopped");
          return FALSE;
        }
      /* One byte past the expected size is enough to tell it is longer. */
      if (down->expected >= 0)
        want = MIN (want, (guint64) down->expected - received + 1);
      ok = bsp_http_download_fill (down, body, block, want, &eof, error);
      received += block->len;
      if (ok && down->expected >= 0 && received > (guint64) down->expected)
        {
          g_set_error (error, BSP_HTTP_ERROR, BSP_HTTP_ERROR_LONG,
                       "the download is longer than the %" G_GINT64_FORMAT " bytes announced",
                       down->expected);
          ok = FALSE;
          block->len = 0;
        }
      bsp_http_download_give_block (down, block);
      if (!ok)
        return FALSE;
    }
  if (down->expected >= 0 && received != (guint64) down->expected)
    {
      g_set_error (error, BSP_HTTP_ERROR, BSP_HTTP_ERROR_SHORT,
                   "the download ended after %" G_GUINT64_FORMAT " of %" G_GINT64_FORMAT " bytes",
                   received, down->expected);
      return FALSE;
    }
  return TRUE;
}

static gpointer
bsp_http_download_thread (gpointer data)
{
  BspHttpDownload *down = data;
  GError *error = NULL;

  bsp_http_worker_run (down->proxy, bsp_http_download_run, down, &error);
  g_mutex_lock (&down->lock);
  down->error = error;
  down->done_source
      = bsp_http_post (down->context, bsp_http_download_done_cb, bsp_http_download_ref (down),
                       (GDestroyNotify) bsp_http_download_unref, G_PRIORITY_DEFAULT);
  g_mutex_unlock (&down->lock);
  bsp_http_download_unref (down);
  return NULL;
}

/* ---- the API --------------------------------------------------------------- */

BspHttpDownload *
bsp_http_download_start (SoupSession *session, const char *url, gint64 expected,
                         GCancellable *cancellable, BspHttpChunk chunk,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  BspHttpDownload *down = g_new0 (BspHttpDownload, 1);

  down->ref_count = 1;
  g_mutex_init (&down->lock);
  g_cond_init (&down->cond);
  down->context = g_main_context_ref_thread_default ();
  down->cancellable = g_cancellable_new ();
  down->proxy = bsp_http_proxy_ref (bsp_http_proxy_from_session (session));
  down->trust = bsp_tls_trust_get (session);
  down->url = g_strdup (url);
  down->expected = expected;
  down->chunk = chunk;
  down->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (down->task, bsp_http_download_start);
  down->user_data = user_data;
  if (cancellable != NULL)
    {
      /* Runs at once when already cancelled: the worker then ends early. */
      down->owner_cancellable = g_object_ref (cancellable);
      down->owner_handler = g_cancellable_connect (
          cancellable, G_CALLBACK (bsp_http_download_owner_cancelled), down, NULL);
    }
  down->thread
      = g_thread_new ("bsp-download", bsp_http_download_thread, bsp_http_download_ref (down));
  return down;
}

void
bsp_http_download_free (BspHttpDownload *down)
{
  GSource *drain_source, *done_source;

  if (down == NULL)
    return;
  bsp_http_download_stop (down);
  if (down->thread != NULL)
    g_clear_pointer (&down->thread, g_thread_join);
  if (down->owner_cancellable != NULL)
    g_cancellable_disconnect (down->owner_cancellable, down->owner_handler);
  /* No thread posts anything now; drop what is still pending. */
  down->chunk = NULL;
  g_mutex_lock (&down->lock);
  drain_source = g_steal_pointer (&down->drain_source);
  done_source = g_steal_pointer (&down->done_source);
  g_mutex_unlock (&down->lock);
  bsp_http_source_drop (drain_source);
  bsp_http_source_drop (done_source);
  bsp_http_task_end (&down->task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                       "the download was stopped"));
  bsp_http_download_unref (down);
}

gboolean
bsp_http_download_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bsp_http_download_start, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
