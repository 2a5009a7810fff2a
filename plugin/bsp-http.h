/* bsp-http.h — the plugin's HTTP client: a streamed multipart upload and a
 * chunked download, on libsoup 3
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <purple.h>

#include "bsp-http-proxy.h"

G_BEGIN_DECLS

#define BSP_HTTP_ERROR (bsp_http_error_quark ())
GQuark bsp_http_error_quark (void);

typedef enum
{
  BSP_HTTP_ERROR_STATUS,    /* the proxy answered with a non-2xx status */
  BSP_HTTP_ERROR_SHORT,     /* the body ended before the announced size */
  BSP_HTTP_ERROR_LONG,      /* more bytes than announced */
  BSP_HTTP_ERROR_ABORTED,   /* the consumer stopped the download */
  BSP_HTTP_ERROR_PEER_GONE, /* 502: the other side went away (PROTOCOL.md §5.1) */
  /* The network's own HTTP proxy said no; the message starts with its
   * HOST:PORT, then a space and what it answered. */
  BSP_HTTP_ERROR_PROXY_AUTH,      /* 407 again: it refused the credentials */
  BSP_HTTP_ERROR_PROXY_NEED_AUTH, /* 407, and no credentials are configured */
  BSP_HTTP_ERROR_PROXY_REFUSED,   /* any other refusal (403, 502, 503…) */
} BspHttpError;

/* One session per account: the account's proxy settings, TLS certificates
 * checked against the system's database and, when that fails, by libpurple
 * (its prompt; bsp-tls.h) before the request is sent again. */
SoupSession *bsp_http_session_new (PurpleAccount *account);

typedef void (*BspHttpProgress) (guint64 done, gpointer user_data);
/* A downloaded chunk; return FALSE to stop with BSP_HTTP_ERROR_ABORTED. */
typedef gboolean (*BspHttpChunk) (const guint8 *data, gsize len, gpointer user_data);

typedef struct _BspHttpUpload BspHttpUpload;

/* POSTs @path as the FILE part of a multipart/form-data body whose SIDHASH
 * part comes first, with an exact Content-Length (chunked through an HTTP
 * proxy in the clear): exactly @size bytes of the file, read in large
 * blocks as they are sent. The request runs in a worker thread with
 * libsoup's synchronous API, on a session of its own with @session's proxy
 * settings and credentials. @progress (throttled) and @callback (GTask:
 * once, at the end) run on the calling thread's thread-default main
 * context. */
BspHttpUpload *bsp_http_upload_start (SoupSession *session, const char *url, const char *sidhash,
                                      const char *path, const char *filename, goffset size,
                                      GCancellable *cancellable, BspHttpProgress progress,
                                      GAsyncReadyCallback callback, gpointer user_data);
/* TRUE only for a 2xx answer; else why in @error: G_IO_ERROR_CANCELLED
 * when @cancellable was cancelled or the upload freed first (then the
 * callback touches nothing), BSP_TLS_ERROR when the certificate was not
 * accepted, BSP_HTTP_ERROR, or another error of the transport. */
gboolean bsp_http_upload_finish (GAsyncResult *result, GError **error);
/* Cancels the upload if it still runs, waits for its thread, and drops
 * whatever it has not told yet: @progress does not run after this, and
 * the callback, if it has not run, gets G_IO_ERROR_CANCELLED. May be
 * called from the callback. */
void bsp_http_upload_free (BspHttpUpload *upload);

typedef struct _BspHttpDownload BspHttpDownload;

/* GETs @url and hands the body to @chunk in order, in blocks of up to
 * 256 KiB (as much as arrived while @chunk was busy);
 * @expected >= 0 is checked against the announced and the received
 * length. The request runs in a worker thread like an upload's, at most
 * a few blocks ahead of @chunk. @chunk and @callback (GTask: once, at
 * the end) run on the calling thread's thread-default main context. */
BspHttpDownload *bsp_http_download_start (SoupSession *session, const char *url, gint64 expected,
                                          GCancellable *cancellable, BspHttpChunk chunk,
                                          GAsyncReadyCallback callback, gpointer user_data);
/* TRUE only when the whole body arrived and @chunk took it; else why in
 * @error, as bsp_http_upload_finish () says, or BSP_HTTP_ERROR_ABORTED
 * when @chunk said stop. */
gboolean bsp_http_download_finish (GAsyncResult *result, GError **error);
/* As bsp_http_upload_free (): @chunk does not run after this, and the
 * callback, if it has not run, gets G_IO_ERROR_CANCELLED. May be called
 * from either. */
void bsp_http_download_free (BspHttpDownload *download);

/* ---- shared by the upload and the download ---- */

/* In a worker thread: runs @func with a session of its own (@proxy's
 * settings and credentials) on a main context of its own, then closes the
 * session. */
typedef gboolean (*BspHttpWorkerFunc) (gpointer data, SoupSession *session, GError **error);
gboolean bsp_http_worker_run (BspHttpProxy *proxy, BspHttpWorkerFunc func, gpointer data,
                              GError **error);
/* An idle source on @context calling @func (@data, released by @notify). */
GSource *bsp_http_post (GMainContext *context, GSourceFunc func, gpointer data,
                        GDestroyNotify notify, int priority);
/* Ends *@task (taken; nothing when NULL): TRUE when @error is NULL, else
 * @error (taken). */
void bsp_http_task_end (GTask **task, GError *error);
/* Destroys and releases @source (NULL is fine). */
void bsp_http_source_drop (GSource *source);
/* A block the kernel copies into: page-aligned, freed with g_aligned_free (). */
guint8 *bsp_http_block_new (gsize size);
/* The error for a non-2xx answer, with the start of @body when given. */
GError *bsp_http_status_error (SoupMessage *msg, GBytes *body);

G_END_DECLS
