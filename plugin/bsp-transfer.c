/* bsp-transfer.c — taking XMPP file transfers over to the bs-proxy's HTTP side
 *
 * prpl-jabber keeps the XEP-0096 negotiation and its own PurpleXfer; this
 * file steps in at the bytestreams step only (plugin/HOOKS.md §2):
 *
 *   receiver: the sender's streamhost offer names a bs-proxy → <connect> to
 *             it → streamhost-used to the sender → the proxy's <activated
 *             url> push → GET into the PurpleXfer, chunk by chunk.
 *   sender:   the receiver answers streamhost-used with a bs-proxy that can
 *             deliver → activation with <x/> → POST of the file as a stream;
 *             complete on the proxy's 2xx.
 *
 * Whenever the HTTP path cannot serve before a byte has moved, the consumed
 * IQ goes back to prpl-jabber (bsp-fallback.c) and its own SOCKS5 path runs,
 * so a transfer never does worse with the plugin than without it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "bsp-fallback.h"
#include "bsp-http.h"
#include "bsp-log.h"
#include "bsp-prefs.h"
#include "bsp-protocol.h"
#include "bsp-transfer.h"
#include "bsp-url.h"

#define BSP_NS_SI "http://jabber.org/protocol/si"
#define BSP_NS_SI_FT "http://jabber.org/protocol/si/profile/file-transfer"
/* How long a receiver waits for the sender to activate. */
#define BSP_ACTIVATION_WAIT 90

typedef enum
{
  BSP_ROLE_SEND,
  BSP_ROLE_RECV,
} BspRole;

typedef enum
{
  BSP_STATE_OFFERED,        /* SI negotiated; the bytestreams step is ahead */
  BSP_STATE_CONNECTING,     /* recv: choosing a proxy, <connect> sent */
  BSP_STATE_WAIT_ACTIVATED, /* recv: streamhost-used sent, waiting for the push */
  BSP_STATE_ACTIVATING,     /* send: <activate/><x/> sent */
  BSP_STATE_TRANSFERRING,   /* HTTP under way */
  BSP_STATE_ENDED,
} BspState;

typedef struct _BspTransfer BspTransfer;

struct _BspTransfer
{
  gint ref_count;
  BspTransfers *owner; /* NULL once ended */
  PurpleXfer *xfer;    /* a reference is held */
  BspRole role;
  BspState state;
  char *sid;
  char *peer;          /* full JID, normalised */
  char *sidhash;
  char *proxy;         /* the bs-proxy in use */
  char *http_base;     /* where that proxy's URLs must be (NULL: it said nothing) */
  char *offer_id;      /* send: id of our streamhost offer */
  GPtrArray *offered;  /* send: streamhost JIDs we offered */
  xmlnode *consumed;   /* the IQ taken from prpl-jabber, for the fallback */
  GPtrArray *candidates; /* recv: bs-proxy candidates from the offer */
  guint candidate;
  guint timer_id;
  gint64 last_progress;
  guint64 watched_bytes; /* the byte count the stall watchdog last saw */
  guint still_seconds;   /* how long it has not changed */
  GCancellable *cancellable;
  BspHttpUpload *upload; /* send: the POST's worker, while it runs */
  BspHttpDownload *download; /* recv: the GET's worker, while it runs */
  char *broke_off;       /* why the HTTP side broke, while the proxy is asked */
  gboolean path_said;    /* the conversation was told which path it takes */
};

struct _BspTransfers
{
  PurpleConnection *gc;
  PurplePlugin *jabber;
  BspIqTracker *iq;
  BspDiscovery *discovery;
  SoupSession *http;
  GPtrArray *transfers; /* BspTransfer, one reference each */
  /* The latest incoming SI offer, bound in file-recv-request. */
  char *pending_sid;
  char *pending_from;
};

/* ---- life cycle ------------------------------------------------------------ */

static BspTransfer *
bsp_transfer_ref (BspTransfer *t)
{
  t->ref_count++;
  return t;
}

static void
bsp_transfer_unref (BspTransfer *t)
{
  if (--t->ref_count > 0)
    return;
  g_clear_handle_id (&t->timer_id, g_source_remove);
  g_clear_pointer (&t->upload, bsp_http_upload_free);
  g_clear_pointer (&t->download, bsp_http_download_free);
  if (t->xfer != NULL)
    purple_xfer_unref (t->xfer);
  g_free (t->sid);
  g_free (t->peer);
  g_free (t->sidhash);
  g_free (t->proxy);
  g_free (t->http_base);
  g_free (t->broke_off);
  g_free (t->offer_id);
  if (t->offered != NULL)
    g_ptr_array_unref (t->offered);
  if (t->candidates != NULL)
    g_ptr_array_unref (t->candidates);
  if (t->consumed != NULL)
    xmlnode_free (t->consumed);
  g_clear_object (&t->cancellable);
  g_free (t);
}

static BspTransfer *
bsp_transfer_new (BspTransfers *owner, PurpleXfer *xfer, BspRole role, const char *sid,
                  const char *peer)
{
  BspTransfer *t = g_new0 (BspTransfer, 1);
  const char *me = purple_connection_get_display_name (owner->gc);

  t->ref_count = 1;
  t->owner = owner;
  t->xfer = xfer;
  purple_xfer_ref (xfer);
  t->role = role;
  t->state = BSP_STATE_OFFERED;
  t->sid = g_strdup (sid);
  t->peer = bsp_jid_normalize (peer);
  t->sidhash = role == BSP_ROLE_SEND ? bsp_sidhash (sid, me, peer) : bsp_sidhash (sid, peer, me);
  t->cancellable = g_cancellable_new ();
  g_ptr_array_add (owner->transfers, t);
  return t;
}

/* Drops @t from its table and stops everything it has pending. */
static void
bsp_transfer_detach (BspTransfer *t)
{
  BspTransfers *owner = t->owner;

  if (owner == NULL)
    return;
  t->owner = NULL;
  t->state = BSP_STATE_ENDED;
  g_clear_handle_id (&t->timer_id, g_source_remove);
  g_cancellable_cancel (t->cancellable);
  /* Joins the upload's or download's worker: nothing of it outlives this. */
  g_clear_pointer (&t->upload, bsp_http_upload_free);
  g_clear_pointer (&t->download, bsp_http_download_free);
  bsp_iq_tracker_forget (owner->iq, t);
  bsp_discovery_cancel (owner->discovery, t);
  /* The table's reference goes last. */
  if (g_ptr_array_remove_fast (owner->transfers, t))
    bsp_transfer_unref (t);
}

static const char *
bsp_transfer_filename (BspTransfer *t)
{
  const char *name = purple_xfer_get_filename (t->xfer);
  return name ? name : "";
}

/* Why a transfer ended, and so how libpurple is told (libpurple's own
 * protocols do the same: a failure here is an error notice and a local
 * cancel, a stream the other side ended is a remote cancel). */
typedef enum
{
  BSP_CAUSE_USER,  /* this user's own act (signing off, unloading the plugin) */
  BSP_CAUSE_LOCAL, /* a failure on this side or on its path to the bs-proxy */
  BSP_CAUSE_PEER,  /* the other side ended its half of the stream */
} BspCause;

/* Ends the PurpleXfer for @cause. A local failure shows @reason where
 * libpurple shows its own errors: the error notice (Pidgin's dialog,
 * Finch's window) and the conversation; libpurple's cancel then marks
 * the transfer cancelled here. The peer's end is libpurple's own
 * "… cancelled the transfer" and nothing else: the socket error behind
 * it would only confuse. */
static void
bsp_transfer_cancel_with_reason (BspTransfer *t, const char *reason, BspCause cause)
{
  PurpleXfer *xfer = t->xfer;
  g_autofree char *msg = NULL;

  if (purple_xfer_is_canceled (xfer) || purple_xfer_is_completed (xfer))
    return;
  if (cause == BSP_CAUSE_PEER)
    {
      purple_xfer_cancel_remote (xfer);
      return;
    }
  msg = g_strdup_printf (_("Transfer of %s failed: %s"), bsp_transfer_filename (t), reason);
  purple_xfer_conversation_write (xfer, msg, cause == BSP_CAUSE_LOCAL);
  if (cause == BSP_CAUSE_LOCAL)
    {
      /* The notice's heading already says that it failed and with whom. */
      /* TRANSLATORS: a file's name, then why its transfer failed */
      g_autofree char *notice = g_strdup_printf (_("%s: %s"), bsp_transfer_filename (t), reason);
      purple_xfer_error (purple_xfer_get_type (xfer), purple_xfer_get_account (xfer),
                         purple_xfer_get_remote_user (xfer), notice);
    }
  purple_xfer_cancel_local (xfer);
}

/* What an HTTP error means for the user, and whose end it is. */
static char *
bsp_transfer_http_reason (BspTransfer *t, const GError *error, BspCause *cause)
{
  gboolean send = t->role == BSP_ROLE_SEND;

  *cause = BSP_CAUSE_LOCAL;
  if (g_error_matches (error, BSP_HTTP_ERROR, BSP_HTTP_ERROR_PEER_GONE)
      || (!send && g_error_matches (error, BSP_HTTP_ERROR, BSP_HTTP_ERROR_SHORT))
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
    {
      /* The bs-proxy ends one half of a session only when the other half
       * ended (PROTOCOL.md §5.1, §5.3): the peer cancelled or went away. */
      *cause = BSP_CAUSE_PEER;
      /* Only logged: libpurple's own remote cancel tells the user. */
      return g_strdup_printf (send ? "the receiver stopped receiving (%s)"
                                   : "the sender stopped sending (%s)",
                              error->message);
    }
  if (error->domain == G_TLS_ERROR)
    return g_strdup_printf (_("the certificate of the file transfer proxy %s was refused (%s)"),
                            t->proxy, error->message);
  if (g_error_matches (error, BSP_HTTP_ERROR, BSP_HTTP_ERROR_PROXY_AUTH)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED))
    return g_strdup_printf (_("the network's proxy refused the connection (%s)"), error->message);
  if (error->domain == G_RESOLVER_ERROR
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_strdup_printf (_("could not reach the file transfer proxy %s (%s)"), t->proxy,
                            error->message);
  if (error->domain == BSP_HTTP_ERROR)
    return g_strdup_printf (_("the file transfer proxy %s refused the transfer (%s)"), t->proxy,
                            error->message);
  if (send)
    return g_strdup_printf (_("the upload to the file transfer proxy %s failed (%s)"), t->proxy,
                            error->message);
  return g_strdup_printf (_("the download from the file transfer proxy %s broke off (%s)"),
                          t->proxy, error->message);
}

/* Ends the transfer on our side with @reason; the other side learns it
 * from the proxy (its HTTP or SOCKS5 stream breaks). */
static void
bsp_transfer_fail (BspTransfer *t, const char *reason, BspCause cause)
{
  if (t->owner == NULL)
    return;
  bsp_log_info ("transfer %s with %s failed: %s", t->sid, t->peer, reason);
  if (t->role == BSP_ROLE_RECV && t->consumed != NULL)
    {
      /* The sender's offer is still unanswered: say no, or it waits forever. */
      bsp_iq_send_error (t->owner->gc, xmlnode_get_attrib (t->consumed, "from"),
                         xmlnode_get_attrib (t->consumed, "id"), "cancel", "item-not-found");
      g_clear_pointer (&t->consumed, xmlnode_free);
    }
  bsp_transfer_ref (t);
  bsp_transfer_detach (t);
  bsp_transfer_cancel_with_reason (t, reason, cause);
  bsp_transfer_unref (t);
}

/* Which path the transfer takes, once, where libpurple writes its own
 * transfer messages. @proxy: the bs-proxy (with @http) or the SOCKS5
 * streamhost; NULL with !@http: libpurple's own path, details unknown
 * here. */
static void
bsp_transfer_say_path (BspTransfer *t, gboolean http, const char *proxy, gboolean direct)
{
  g_autofree char *msg = NULL;
  const char *name = bsp_transfer_filename (t);

  if (t->path_said || purple_xfer_is_canceled (t->xfer))
    return;
  t->path_said = TRUE;
  if (http)
    msg = g_strdup_printf (_("%s goes over HTTP through the file transfer proxy %s"), name, proxy);
  else if (direct)
    msg = g_strdup_printf (_("%s goes directly, the usual XMPP way"), name);
  else if (proxy != NULL)
    msg = g_strdup_printf (_("%s goes by SOCKS5 through %s, the usual XMPP way"), name, proxy);
  else
    msg = g_strdup_printf (_("%s goes the usual XMPP way (directly or by SOCKS5), not over HTTP"),
                           name);
  purple_xfer_conversation_write (t->xfer, msg, FALSE);
}

/* Gives the consumed IQ back to prpl-jabber, which then tries its own
 * SOCKS5 path (only before any byte moved). */
static void
bsp_transfer_fall_back (BspTransfer *t, const char *why)
{
  BspTransfers *owner = t->owner;
  xmlnode *iq = g_steal_pointer (&t->consumed);

  if (owner == NULL)
    {
      g_clear_pointer (&iq, xmlnode_free);
      return;
    }
  bsp_log_info ("transfer %s with %s: %s; falling back to libpurple's own transfer", t->sid,
                t->peer, why);
  bsp_transfer_ref (t);
  bsp_transfer_detach (t);
  if (iq != NULL && !bsp_fallback_reinject (owner->gc, iq))
    {
      g_autofree char *reason = g_strdup_printf (_("no usable file transfer proxy (%s)"), why);
      if (t->role == BSP_ROLE_RECV)
        bsp_iq_send_error (owner->gc, xmlnode_get_attrib (iq, "from"),
                           xmlnode_get_attrib (iq, "id"), "cancel", "item-not-found");
      bsp_transfer_cancel_with_reason (t, reason, BSP_CAUSE_LOCAL);
    }
  else if (iq != NULL)
    bsp_transfer_say_path (t, FALSE, t->role == BSP_ROLE_SEND ? t->proxy : NULL, FALSE);
  g_clear_pointer (&iq, xmlnode_free);
  bsp_transfer_unref (t);
}

static BspTransfer *
bsp_transfers_find (BspTransfers *self, BspRole role, const char *sid, const char *peer)
{
  g_autofree char *norm = peer ? bsp_jid_normalize (peer) : NULL;

  for (guint i = 0; i < self->transfers->len; i++)
    {
      BspTransfer *t = self->transfers->pdata[i];
      if (t->role == role && g_strcmp0 (t->sid, sid) == 0 && g_strcmp0 (t->peer, norm) == 0)
        return t;
    }
  return NULL;
}

static BspTransfer *
bsp_transfers_find_xfer (BspTransfers *self, PurpleXfer *xfer)
{
  for (guint i = 0; i < self->transfers->len; i++)
    {
      BspTransfer *t = self->transfers->pdata[i];
      if (t->xfer == xfer)
        return t;
    }
  return NULL;
}

/* Tells the UI, at most ten times a second: a redraw per 64 KiB chunk
 * would cost more than the transfer. */
static void
bsp_transfer_progress (BspTransfer *t)
{
  gint64 now = g_get_monotonic_time ();

  if (now - t->last_progress < G_USEC_PER_SEC / 10
      && purple_xfer_get_bytes_remaining (t->xfer) > 0)
    return;
  t->last_progress = now;
  purple_xfer_update_progress (t->xfer);
}

/* The proxy's answer to a ping after the HTTP side broke: an answer
 * (result or error) means the proxy is alive, so it was the peer's half
 * that ended; none means the proxy itself went away. */
static void
bsp_transfer_proxy_pinged (PurpleConnection *gc, xmlnode *iq, const char *why, gpointer user_data)
{
  BspTransfer *t = user_data;
  g_autofree char *reason = NULL;

  if (t->owner == NULL)
    return;
  if (iq != NULL)
    {
      bsp_transfer_fail (t, t->broke_off, BSP_CAUSE_PEER);
      return;
    }
  reason = g_strdup_printf (_("the file transfer proxy %s stopped answering"), t->proxy);
  bsp_transfer_fail (t, reason, BSP_CAUSE_LOCAL);
}

/* The HTTP side of @t ended with @error. A stream that the proxy cut
 * looks the same whether the peer ended its half or the proxy died: the
 * proxy is asked over XMPP which one it was before the user is told. */
static void
bsp_transfer_http_failed (BspTransfer *t, const GError *error)
{
  BspCause cause;
  g_autofree char *reason = bsp_transfer_http_reason (t, error, &cause);
  xmlnode *ping;

  if (cause != BSP_CAUSE_PEER)
    {
      bsp_transfer_fail (t, reason, cause);
      return;
    }
  bsp_log_info ("transfer %s with %s: %s; asking %s whether it is still there", t->sid, t->peer,
                reason, t->proxy);
  g_clear_handle_id (&t->timer_id, g_source_remove);
  g_free (t->broke_off);
  t->broke_off = g_steal_pointer (&reason);
  ping = bsp_iq_new ("get", t->proxy, NULL, "query", "http://jabber.org/protocol/disco#info", NULL);
  bsp_iq_tracker_send (t->owner->iq, ping, 10, bsp_transfer_proxy_pinged, t);
}

/* Once a second while HTTP moves the file: a transfer that moved no
 * byte for the configured time ends with that reason (the HTTP client's
 * own timeout is much longer). While it waits, the UI is refreshed, so
 * that its speed and time left fall instead of standing still. */
static gboolean
bsp_transfer_watch (gpointer user_data)
{
  BspTransfer *t = user_data;
  guint64 bytes = purple_xfer_get_bytes_sent (t->xfer);
  guint limit = bsp_prefs_get_stall_seconds ();
  g_autofree char *reason = NULL;

  if (bytes != t->watched_bytes)
    {
      t->watched_bytes = bytes;
      t->still_seconds = 0;
      return G_SOURCE_CONTINUE;
    }
  if (++t->still_seconds < limit)
    {
      if (t->still_seconds >= 2)
        purple_xfer_update_progress (t->xfer);
      return G_SOURCE_CONTINUE;
    }
  t->timer_id = 0;
  /* TRANSLATORS: %u is a number of seconds */
  reason = g_strdup_printf (_("no data for %u s"), limit);
  bsp_transfer_fail (t, reason, BSP_CAUSE_LOCAL);
  return G_SOURCE_REMOVE;
}

static void
bsp_transfer_watch_start (BspTransfer *t)
{
  g_clear_handle_id (&t->timer_id, g_source_remove);
  t->watched_bytes = purple_xfer_get_bytes_sent (t->xfer);
  t->still_seconds = 0;
  t->timer_id = g_timeout_add_seconds (1, bsp_transfer_watch, t);
}

/* ---- receiver ------------------------------------------------------------------ */

static gboolean
bsp_transfer_recv_chunk (const guint8 *data, gsize len, gpointer user_data)
{
  BspTransfer *t = user_data;

  if (t->owner == NULL || purple_xfer_is_canceled (t->xfer))
    return FALSE;
  if (!purple_xfer_write_file (t->xfer, data, len))
    return FALSE; /* libpurple cancelled it (disk full…) and said why */
  bsp_transfer_progress (t);
  return TRUE;
}

static void
bsp_transfer_recv_done (const GError *error, gpointer user_data)
{
  BspTransfer *t = user_data;

  if (t->owner != NULL)
    {
      if (error == NULL)
        {
          PurpleXfer *xfer = t->xfer;
          bsp_log_info ("transfer %s from %s complete over HTTP", t->sid, t->peer);
          bsp_transfer_ref (t);
          bsp_transfer_detach (t);
          purple_xfer_set_completed (xfer, TRUE);
          purple_xfer_end (xfer);
          bsp_transfer_unref (t);
        }
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          bsp_transfer_http_failed (t, error);
        }
    }
}

static void
bsp_transfer_recv_activated (BspTransfer *t, const char *url)
{
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&t->timer_id, g_source_remove);
  if (!bsp_url_check (url, t->http_base, &error))
    {
      g_autofree char *reason = g_strdup_printf (_("refused the download address from the proxy (%s)"),
                                                 error->message);
      bsp_transfer_fail (t, reason, BSP_CAUSE_LOCAL);
      return;
    }
  t->state = BSP_STATE_TRANSFERRING;
  if (purple_debug_is_unsafe ())
    bsp_log_info ("transfer %s from %s: downloading %s", t->sid, t->peer, url);
  else
    bsp_log_info ("transfer %s from %s: downloading from %s", t->sid, t->peer, t->proxy);
  purple_xfer_start (t->xfer, -1, NULL, 0);
  if (purple_xfer_is_canceled (t->xfer))
    {
      bsp_transfer_detach (t); /* libpurple could not open the file, and said so */
      return;
    }
  bsp_transfer_say_path (t, TRUE, t->proxy, FALSE);
  /* The offered size is exact: 0 is an empty file, not an unknown size. */
  bsp_transfer_watch_start (t);
  /* @t owns the download and frees it when it ends: no reference needed. */
  t->download = bsp_http_download_start (t->owner->http, url,
                                         (gint64) purple_xfer_get_size (t->xfer), t->cancellable,
                                         bsp_transfer_recv_chunk, bsp_transfer_recv_done, t);
}

static gboolean
bsp_transfer_recv_timeout (gpointer user_data)
{
  BspTransfer *t = user_data;

  t->timer_id = 0;
  bsp_transfer_fail (t, _("the sender never started sending"), BSP_CAUSE_LOCAL);
  return G_SOURCE_REMOVE;
}

static void bsp_transfer_recv_try_next (BspTransfer *t);

static void
bsp_transfer_recv_connected (PurpleConnection *gc, xmlnode *iq, const char *why,
                             gpointer user_data)
{
  BspTransfer *t = user_data;
  xmlnode *answer, *query, *used;

  if (t->owner == NULL)
    return;
  if (iq == NULL || g_strcmp0 (xmlnode_get_attrib (iq, "type"), "result") != 0)
    {
      bsp_log_info ("transfer %s: %s refused <connect> (%s)", t->sid, t->proxy,
                    why ? why : bsp_iq_error_condition (iq));
      t->candidate++;
      bsp_transfer_recv_try_next (t);
      return;
    }

  /* Tell the sender which streamhost we "used": the proxy. */
  answer = bsp_iq_new ("result", xmlnode_get_attrib (t->consumed, "from"),
                       xmlnode_get_attrib (t->consumed, "id"), "query", BSP_NS_BYTESTREAMS,
                       &query);
  xmlnode_set_attrib (query, "sid", t->sid);
  used = xmlnode_new_child (query, "streamhost-used");
  xmlnode_set_attrib (used, "jid", t->proxy);
  bsp_iq_send_stanza (t->owner->gc, answer);
  /* From here on the offer is answered: no more fallback. */
  g_clear_pointer (&t->consumed, xmlnode_free);
  t->state = BSP_STATE_WAIT_ACTIVATED;
  t->timer_id = g_timeout_add_seconds (BSP_ACTIVATION_WAIT, bsp_transfer_recv_timeout, t);
  bsp_log_info ("transfer %s from %s: waiting for the sender at %s", t->sid, t->peer,
                t->proxy);
}

static void
bsp_transfer_recv_candidate_info (const BspProxyInfo *info, gpointer user_data)
{
  BspTransfer *t = user_data;
  guint64 size = purple_xfer_get_size (t->xfer);
  char size_text[24];
  xmlnode *iq, *connect;
  xmlnode *offer_query;

  if (t->owner == NULL)
    return;
  if (info == NULL || !info->http || (info->max_file_size > 0 && size > info->max_file_size))
    {
      t->candidate++;
      bsp_transfer_recv_try_next (t);
      return;
    }
  g_free (t->proxy);
  t->proxy = g_strdup (info->jid);
  g_free (t->http_base);
  t->http_base = g_strdup (info->http_base);
  iq = bsp_iq_new ("set", info->jid, NULL, "connect", BSP_NS_BSPROXY, &connect);
  xmlnode_set_attrib (connect, "sid", t->sid);
  xmlnode_set_attrib (connect, "jid", xmlnode_get_attrib (t->consumed, "from"));
  /* The size from the offer, so that the proxy can announce it on the
   * download and cut a transfer that ends short. */
  g_snprintf (size_text, sizeof size_text, "%" G_GUINT64_FORMAT, size);
  xmlnode_set_attrib (connect, "size", size_text);
  /* The offer's streamhosts, as the seed does (the proxy ignores them). */
  offer_query = xmlnode_get_child_with_namespace (t->consumed, "query", BSP_NS_BYTESTREAMS);
  for (xmlnode *sh = xmlnode_get_child (offer_query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    xmlnode_insert_child (connect, xmlnode_copy (sh));
  bsp_iq_tracker_send (t->owner->iq, iq, 30, bsp_transfer_recv_connected, t);
}

static void
bsp_transfer_recv_try_next (BspTransfer *t)
{
  if (t->candidate >= t->candidates->len)
    {
      bsp_transfer_fall_back (t, "no offered streamhost speaks bs-proxy");
      return;
    }
  bsp_discovery_ensure (t->owner->discovery, t->candidates->pdata[t->candidate],
                        bsp_transfer_recv_candidate_info, t);
}

/* The sender's streamhost offer: take it when the user wants HTTP and a
 * proxy in it might speak bs-proxy. */
static gboolean
bsp_transfers_recv_offer (BspTransfers *self, const char *from, xmlnode *iq, xmlnode *query)
{
  BspTransfer *t = bsp_transfers_find (self, BSP_ROLE_RECV, xmlnode_get_attrib (query, "sid"),
                                       from);
  g_autofree char *peer = NULL;

  if (t == NULL || t->state != BSP_STATE_OFFERED)
    return FALSE;
  if (!bsp_prefs_get_recv_http ())
    {
      bsp_transfer_say_path (t, FALSE, NULL, FALSE);
      return FALSE;
    }
  if (purple_xfer_is_canceled (t->xfer))
    {
      bsp_transfer_detach (t);
      return FALSE;
    }

  peer = bsp_jid_normalize (from);
  t->candidates = g_ptr_array_new_with_free_func (g_free);
  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      const char *jid = xmlnode_get_attrib (sh, "jid");
      g_autofree char *norm = jid ? bsp_jid_normalize (jid) : NULL;
      /* The sender's own address is a direct connection, not a proxy. */
      if (norm != NULL && g_strcmp0 (norm, peer) != 0
          && !g_ptr_array_find_with_equal_func (t->candidates, norm, g_str_equal, NULL))
        g_ptr_array_add (t->candidates, g_steal_pointer (&norm));
    }
  if (t->candidates->len == 0)
    {
      bsp_transfer_say_path (t, FALSE, NULL, FALSE);
      return FALSE;
    }

  t->consumed = xmlnode_copy (iq);
  t->state = BSP_STATE_CONNECTING;
  t->candidate = 0;
  bsp_log_info ("transfer %s from %s: looking for a bs-proxy among %u streamhost(s)", t->sid,
                t->peer, t->candidates->len);
  bsp_transfer_recv_try_next (t);
  return TRUE;
}

/* The proxy's pushes: <activated/> and <progress/>. Every IQ set from a
 * proxy gets an answer (PROTOCOL.md §2.5). */
static gboolean
bsp_transfers_proxy_push (BspTransfers *self, const char *id, const char *from, xmlnode *child)
{
  const char *sidhash = xmlnode_get_attrib (child, "sidhash");
  g_autofree char *norm = from ? bsp_jid_normalize (from) : NULL;

  bsp_iq_send_result (self->gc, from, id);
  for (guint i = 0; i < self->transfers->len; i++)
    {
      BspTransfer *t = self->transfers->pdata[i];
      if (t->role != BSP_ROLE_RECV || g_strcmp0 (t->sidhash, sidhash) != 0
          || g_strcmp0 (t->proxy, norm) != 0)
        continue;
      if (strcmp (child->name, "activated") == 0 && t->state == BSP_STATE_WAIT_ACTIVATED)
        {
          const char *url = xmlnode_get_attrib (child, "url");
          if (url == NULL)
            bsp_transfer_fail (t, _("the proxy sent no download address"), BSP_CAUSE_LOCAL);
          else
            bsp_transfer_recv_activated (t, url);
        }
      return TRUE;
    }
  return TRUE;
}

/* ---- sender ----------------------------------------------------------------------- */

static void
bsp_transfer_send_progress (guint64 done, gpointer user_data)
{
  BspTransfer *t = user_data;

  if (t->owner == NULL || purple_xfer_is_canceled (t->xfer))
    return;
  purple_xfer_set_bytes_sent (t->xfer, done);
  bsp_transfer_progress (t);
}

static void
bsp_transfer_send_done (const GError *error, gpointer user_data)
{
  BspTransfer *t = user_data;

  if (t->owner != NULL)
    {
      if (error == NULL)
        {
          PurpleXfer *xfer = t->xfer;
          bsp_log_info ("transfer %s to %s delivered over HTTP", t->sid, t->peer);
          bsp_transfer_ref (t);
          bsp_transfer_detach (t);
          purple_xfer_set_bytes_sent (xfer, purple_xfer_get_size (xfer));
          purple_xfer_update_progress (xfer);
          purple_xfer_set_completed (xfer, TRUE);
          purple_xfer_end (xfer);
          bsp_transfer_unref (t);
        }
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          bsp_transfer_http_failed (t, error);
        }
    }
}

static void
bsp_transfer_send_activated (PurpleConnection *gc, xmlnode *iq, const char *why,
                             gpointer user_data)
{
  BspTransfer *t = user_data;
  xmlnode *activated = iq ? xmlnode_get_child_with_namespace (iq, "activated", BSP_NS_BSPROXY)
                          : NULL;
  const char *url = activated ? xmlnode_get_attrib (activated, "url") : NULL;
  g_autoptr (GError) error = NULL;
  const char *path;

  if (t->owner == NULL)
    return;
  if (url == NULL)
    {
      g_autofree char *reason = g_strdup_printf (
          "the proxy refused HTTP activation (%s)",
          why ? why : (iq && bsp_iq_error_condition (iq) ? bsp_iq_error_condition (iq)
                                                         : "no upload URL"));
      bsp_transfer_fall_back (t, reason);
      return;
    }

  /* Activated: the stream is ours now, no more fallback. */
  g_clear_pointer (&t->consumed, xmlnode_free);
  if (!bsp_url_check (url, t->http_base, &error))
    {
      g_autofree char *reason = g_strdup_printf (_("refused the upload address from the proxy (%s)"),
                                                 error->message);
      bsp_transfer_fail (t, reason, BSP_CAUSE_LOCAL);
      return;
    }
  t->state = BSP_STATE_TRANSFERRING;
  if (purple_debug_is_unsafe ())
    bsp_log_info ("transfer %s to %s: uploading to %s", t->sid, t->peer, url);
  else
    bsp_log_info ("transfer %s to %s: uploading through %s", t->sid, t->peer, t->proxy);
  purple_xfer_start (t->xfer, -1, NULL, 0);
  if (purple_xfer_is_canceled (t->xfer))
    {
      bsp_transfer_detach (t); /* libpurple could not open the file, and said so */
      return;
    }
  bsp_transfer_say_path (t, TRUE, t->proxy, FALSE);
  path = purple_xfer_get_local_filename (t->xfer);
  bsp_transfer_watch_start (t);
  /* @t owns the upload and frees it when it ends: no reference needed. */
  t->upload = bsp_http_upload_start (t->owner->http, url, t->sidhash, path,
                                     bsp_transfer_filename (t), purple_xfer_get_size (t->xfer),
                                     t->cancellable, bsp_transfer_send_progress,
                                     bsp_transfer_send_done, t);
}

/* May this proxy deliver an upload to this receiver? */
static gboolean
bsp_transfers_can_upload (BspTransfers *self, const BspProxyInfo *info, PurpleXfer *xfer,
                          const char *receiver)
{
  gboolean speaks = FALSE;

  if (info == NULL || !info->http)
    return FALSE;
  if (info->max_file_size > 0 && purple_xfer_get_size (xfer) > info->max_file_size)
    return FALSE;
  if (info->bridge)
    return TRUE;
  /* Without the bridge, only a receiver that downloads over HTTP itself. */
  purple_plugin_ipc_call (self->jabber, "contact_has_feature", &speaks,
                          purple_connection_get_account (self->gc), receiver, BSP_NS_BSPROXY);
  return speaks;
}

/* The receiver's streamhost-used answer to our offer. */
static gboolean
bsp_transfers_send_used (BspTransfers *self, const char *id, const char *from, xmlnode *iq)
{
  xmlnode *query = xmlnode_get_child_with_namespace (iq, "query", BSP_NS_BYTESTREAMS);
  xmlnode *used = query ? xmlnode_get_child (query, "streamhost-used") : NULL;
  const char *jid = used ? xmlnode_get_attrib (used, "jid") : NULL;
  g_autofree char *proxy = jid ? bsp_jid_normalize (jid) : NULL;
  const BspProxyInfo *info;
  BspTransfer *t = NULL;
  xmlnode *activate, *q;

  if (proxy == NULL)
    return FALSE;
  for (guint i = 0; i < self->transfers->len; i++)
    {
      BspTransfer *c = self->transfers->pdata[i];
      g_autofree char *norm = from ? bsp_jid_normalize (from) : NULL;
      if (c->role == BSP_ROLE_SEND && g_strcmp0 (c->offer_id, id) == 0
          && g_strcmp0 (c->peer, norm) == 0)
        t = c;
    }
  if (t == NULL || t->state != BSP_STATE_OFFERED || purple_xfer_is_canceled (t->xfer))
    return FALSE;
  /* It must name a host we offered (XEP-0065 §5.3.3). */
  if (t->offered == NULL
      || !g_ptr_array_find_with_equal_func (t->offered, proxy, g_str_equal, NULL))
    return FALSE;
  info = bsp_discovery_lookup (self->discovery, proxy);
  if (!bsp_prefs_get_send_http () || !bsp_transfers_can_upload (self, info, t->xfer, from))
    {
      g_autofree char *me = bsp_jid_normalize (purple_connection_get_display_name (self->gc));
      /* libpurple goes on with the streamhost the receiver chose */
      bsp_transfer_say_path (t, FALSE, proxy, g_strcmp0 (me, proxy) == 0);
      return FALSE;
    }

  t->consumed = xmlnode_copy (iq);
  t->proxy = g_steal_pointer (&proxy);
  t->http_base = g_strdup (info->http_base);
  t->state = BSP_STATE_ACTIVATING;
  /* Nobody may attach to our local streamhost any more. */
  if (t->xfer->watcher != 0)
    {
      purple_input_remove (t->xfer->watcher);
      t->xfer->watcher = 0;
    }
  activate = bsp_iq_new ("set", t->proxy, NULL, "query", BSP_NS_BYTESTREAMS, &q);
  xmlnode_set_attrib (q, "sid", t->sid);
  xmlnode_insert_data (xmlnode_new_child (q, "activate"), purple_xfer_get_remote_user (t->xfer),
                       -1);
  xmlnode_set_namespace (xmlnode_new_child (q, "x"), BSP_NS_BSPROXY);
  bsp_iq_tracker_send (self->iq, activate, 30, bsp_transfer_send_activated, t);
  bsp_log_info ("transfer %s to %s: activating HTTP upload at %s", t->sid, t->peer, t->proxy);
  return TRUE;
}

/* Our outgoing SI offer: bind it to its PurpleXfer (prpl-jabber keeps the
 * mapping private, so match account, receiver, name and size). */
static void
bsp_transfers_send_si (BspTransfers *self, const char *to, xmlnode *si)
{
  xmlnode *file = xmlnode_get_child_with_namespace (si, "file", BSP_NS_SI_FT);
  const char *sid = xmlnode_get_attrib (si, "id");
  const char *name = file ? xmlnode_get_attrib (file, "name") : NULL;
  const char *size = file ? xmlnode_get_attrib (file, "size") : NULL;
  PurpleAccount *account = purple_connection_get_account (self->gc);
  g_autofree char *norm_to = bsp_jid_normalize (to);

  if (sid == NULL || name == NULL || norm_to == NULL)
    return;
  for (GList *l = purple_xfers_get_all (); l != NULL; l = l->next)
    {
      PurpleXfer *xfer = l->data;
      g_autofree char *who = NULL;
      g_autofree char *xsize = NULL;

      if (purple_xfer_get_type (xfer) != PURPLE_XFER_SEND
          || purple_xfer_get_account (xfer) != account
          || purple_xfer_get_status (xfer) == PURPLE_XFER_STATUS_STARTED
          || purple_xfer_is_completed (xfer) || purple_xfer_is_canceled (xfer)
          || bsp_transfers_find_xfer (self, xfer) != NULL)
        continue;
      who = bsp_jid_normalize (purple_xfer_get_remote_user (xfer));
      xsize = g_strdup_printf ("%" G_GSIZE_FORMAT, purple_xfer_get_size (xfer));
      if (g_strcmp0 (who, norm_to) == 0 && g_strcmp0 (purple_xfer_get_filename (xfer), name) == 0
          && g_strcmp0 (xsize, size) == 0)
        {
          bsp_transfer_new (self, xfer, BSP_ROLE_SEND, sid, to);
          bsp_log_debug ("outgoing transfer %s of %s to %s", sid, name, to);
          return;
        }
    }
}

/* Our streamhost offer: remember its id and hosts; add the configured
 * bs-proxy when prpl-jabber did not offer it. */
static void
bsp_transfers_send_offer (BspTransfers *self, const char *to, xmlnode *iq, xmlnode *query)
{
  BspTransfer *t = bsp_transfers_find (self, BSP_ROLE_SEND, xmlnode_get_attrib (query, "sid"),
                                       to);
  g_autofree char *extra = bsp_prefs_dup_proxy_jid ();
  g_autofree char *extra_norm = extra && *extra ? bsp_jid_normalize (extra) : NULL;
  const BspProxyInfo *info;

  if (t == NULL)
    return;
  g_free (t->offer_id);
  t->offer_id = g_strdup (xmlnode_get_attrib (iq, "id"));
  if (t->offered != NULL)
    g_ptr_array_unref (t->offered);
  t->offered = g_ptr_array_new_with_free_func (g_free);
  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      const char *jid = xmlnode_get_attrib (sh, "jid");
      if (jid != NULL)
        g_ptr_array_add (t->offered, bsp_jid_normalize (jid));
    }
  info = extra_norm ? bsp_discovery_lookup (self->discovery, extra_norm) : NULL;
  if (info != NULL && info->host != NULL && info->port != 0 && bsp_prefs_get_send_http ()
      && !g_ptr_array_find_with_equal_func (t->offered, extra_norm, g_str_equal, NULL))
    {
      /* Modifying in place is what the signal allows. */
      xmlnode *sh = xmlnode_new_child (query, "streamhost");
      char port[8];
      g_snprintf (port, sizeof port, "%u", info->port);
      xmlnode_set_attrib (sh, "jid", info->jid);
      xmlnode_set_attrib (sh, "host", info->host);
      xmlnode_set_attrib (sh, "port", port);
      g_ptr_array_add (t->offered, g_strdup (info->jid));
    }
}

/* ---- the table ---------------------------------------------------------------------- */

BspTransfers *
bsp_transfers_new (PurpleConnection *gc, PurplePlugin *jabber, BspIqTracker *iq,
                   BspDiscovery *discovery)
{
  BspTransfers *self = g_new0 (BspTransfers, 1);

  self->gc = gc;
  self->jabber = jabber;
  self->iq = iq;
  self->discovery = discovery;
  self->http = bsp_http_session_new (purple_connection_get_account (gc));
  self->transfers = g_ptr_array_new ();
  return self;
}

void
bsp_transfers_free (BspTransfers *self, const char *reason, gboolean by_user)
{
  if (self == NULL)
    return;
  while (self->transfers->len > 0)
    {
      BspTransfer *t = self->transfers->pdata[self->transfers->len - 1];
      if (t->state == BSP_STATE_OFFERED || t->state == BSP_STATE_ENDED)
        bsp_transfer_detach (t); /* libpurple still owns these: leave them be */
      else
        bsp_transfer_fail (t, reason, by_user ? BSP_CAUSE_USER : BSP_CAUSE_LOCAL);
    }
  g_ptr_array_unref (self->transfers);
  soup_session_abort (self->http);
  g_object_unref (self->http);
  g_free (self->pending_sid);
  g_free (self->pending_from);
  g_free (self);
}

gboolean
bsp_transfers_receiving_iq (BspTransfers *self, const char *type, const char *id,
                            const char *from, xmlnode *iq)
{
  xmlnode *child;

  if (bsp_fallback_is_reinjected (iq))
    return FALSE;
  for (child = iq->child; child != NULL && child->type != XMLNODE_TYPE_TAG; child = child->next)
    ;
  if (g_strcmp0 (type, "set") == 0 && child != NULL)
    {
      const char *xmlns = xmlnode_get_namespace (child);

      if (g_strcmp0 (xmlns, BSP_NS_SI) == 0 && strcmp (child->name, "si") == 0)
        {
          /* Not consumed: prpl-jabber makes the PurpleXfer and emits
           * file-recv-request within this same dispatch. */
          g_free (self->pending_sid);
          g_free (self->pending_from);
          self->pending_sid = g_strdup (xmlnode_get_attrib (child, "id"));
          self->pending_from = g_strdup (from);
          return FALSE;
        }
      if (g_strcmp0 (xmlns, BSP_NS_BYTESTREAMS) == 0 && strcmp (child->name, "query") == 0
          && xmlnode_get_child (child, "streamhost") != NULL && from != NULL)
        return bsp_transfers_recv_offer (self, from, iq, child);
      if (g_strcmp0 (xmlns, BSP_NS_BSPROXY) == 0
          && (strcmp (child->name, "activated") == 0 || strcmp (child->name, "progress") == 0))
        return bsp_transfers_proxy_push (self, id, from, child);
      return FALSE;
    }
  if (g_strcmp0 (type, "result") == 0 && from != NULL)
    return bsp_transfers_send_used (self, id, from, iq);
  return FALSE;
}

void
bsp_transfers_sending_xmlnode (BspTransfers *self, xmlnode *node)
{
  xmlnode *child;
  const char *to;

  if (node == NULL || node->name == NULL || strcmp (node->name, "iq") != 0
      || g_strcmp0 (xmlnode_get_attrib (node, "type"), "set") != 0)
    return;
  to = xmlnode_get_attrib (node, "to");
  if (to == NULL)
    return;
  if ((child = xmlnode_get_child_with_namespace (node, "si", BSP_NS_SI)) != NULL)
    bsp_transfers_send_si (self, to, child);
  else if ((child = xmlnode_get_child_with_namespace (node, "query", BSP_NS_BYTESTREAMS)) != NULL
           && xmlnode_get_child (child, "streamhost") != NULL)
    bsp_transfers_send_offer (self, to, node, child);
}

void
bsp_transfers_recv_request (BspTransfers *self, PurpleXfer *xfer)
{
  g_autofree char *who = NULL;
  g_autofree char *from = NULL;

  if (self->pending_sid == NULL || purple_xfer_get_type (xfer) != PURPLE_XFER_RECEIVE)
    return;
  who = bsp_jid_normalize (purple_xfer_get_remote_user (xfer));
  from = bsp_jid_normalize (self->pending_from);
  if (g_strcmp0 (who, from) == 0
      && bsp_transfers_find (self, BSP_ROLE_RECV, self->pending_sid, from) == NULL)
    {
      bsp_transfer_new (self, xfer, BSP_ROLE_RECV, self->pending_sid, self->pending_from);
      bsp_log_debug ("incoming transfer %s of %s from %s", self->pending_sid,
                     purple_xfer_get_filename (xfer), self->pending_from);
    }
  g_clear_pointer (&self->pending_sid, g_free);
  g_clear_pointer (&self->pending_from, g_free);
}

void
bsp_transfers_cancelled (BspTransfers *self, PurpleXfer *xfer)
{
  BspTransfer *t = bsp_transfers_find_xfer (self, xfer);

  if (t == NULL)
    return;
  if (t->state != BSP_STATE_OFFERED)
    bsp_log_info ("transfer %s with %s cancelled; aborting its HTTP side", t->sid, t->peer);
  /* Aborting the request tells the proxy, and through it the peer. */
  bsp_transfer_detach (t);
}

guint
bsp_transfers_count_active (BspTransfers *self)
{
  guint n = 0;

  for (guint i = 0; i < self->transfers->len; i++)
    if (((BspTransfer *) self->transfers->pdata[i])->state == BSP_STATE_TRANSFERRING)
      n++;
  return n;
}
