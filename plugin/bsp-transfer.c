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
 * This file: the table of transfers and what both roles share (ends,
 * reasons, the stall watchdog). The receiver is in bsp-transfer-recv.c,
 * the sender in bsp-transfer-send.c, what both sides learn of why a
 * transfer ended (<abort/>, <ended/>) in bsp-transfer-end.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "bsp-fallback.h"
#include "bsp-log.h"
#include "bsp-tls.h"
#include "bsp-prefs.h"
#include "bsp-protocol.h"
#include "bsp-transfer-private.h"
#include "bsp-url.h"

/* ---- life cycle ------------------------------------------------------------ */

BspTransfer *
bsp_transfer_ref (BspTransfer *t)
{
  t->ref_count++;
  return t;
}

void
bsp_transfer_unref (BspTransfer *t)
{
  if (--t->ref_count > 0)
    return;
  g_clear_handle_id (&t->timer_id, g_source_remove);
  g_clear_pointer (&t->upload, bsp_http_upload_free);
  g_clear_pointer (&t->download, bsp_http_download_free);
  g_clear_pointer (&t->direct, bsp_direct_free);
  g_clear_handle_id (&t->head_start_id, g_source_remove);
  if (t->xfer != NULL)
    purple_xfer_unref (t->xfer);
  g_free (t->sid);
  g_free (t->peer);
  g_free (t->sidhash);
  g_free (t->proxy);
  g_free (t->http_base);
  g_free (t->broke_off);
  g_free (t->http_blocked);
  g_free (t->offer_id);
  if (t->offered != NULL)
    g_ptr_array_unref (t->offered);
  if (t->candidates != NULL)
    g_ptr_array_unref (t->candidates);
  if (t->consumed != NULL)
    xmlnode_free (t->consumed);
  g_clear_object (&t->cancellable);
  g_clear_object (&t->waits);
  g_free (t);
}

BspTransfer *
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
  t->waits = g_cancellable_new ();
  g_ptr_array_add (owner->transfers, t);
  return t;
}

/* Drops @t from its table and stops everything it has pending. */
void
bsp_transfer_detach (BspTransfer *t)
{
  BspTransfers *owner = t->owner;

  if (owner == NULL)
    return;
  t->owner = NULL;
  t->state = BSP_STATE_ENDED;
  g_clear_handle_id (&t->timer_id, g_source_remove);
  g_clear_handle_id (&t->head_start_id, g_source_remove);
  g_clear_pointer (&t->direct, bsp_direct_free);
  g_cancellable_cancel (t->cancellable);
  /* Joins the upload's or download's worker: nothing of it outlives this. */
  g_clear_pointer (&t->upload, bsp_http_upload_free);
  g_clear_pointer (&t->download, bsp_http_download_free);
  bsp_transfer_stop_waiting (t);
  /* The table's reference goes last. */
  if (g_ptr_array_remove_fast (owner->transfers, t))
    bsp_transfer_unref (t);
}

void
bsp_transfer_stop_waiting (BspTransfer *t)
{
  /* Their callbacks see G_IO_ERROR_CANCELLED and touch nothing of @t. */
  g_cancellable_cancel (t->waits);
  g_object_unref (t->waits);
  t->waits = g_cancellable_new ();
}

const char *
bsp_transfer_filename (BspTransfer *t)
{
  const char *name = purple_xfer_get_filename (t->xfer);
  return name ? name : "";
}

/* Ends the PurpleXfer for @cause. A local failure shows @reason where
 * libpurple shows its own errors: the error notice (Pidgin's dialog,
 * Finch's window) and the conversation; libpurple's cancel then marks
 * the transfer cancelled here. The peer's end is libpurple's own
 * "… cancelled the transfer" and nothing else: the socket error behind
 * it would only confuse. */
/* Says why the transfer failed: the conversation's line, and for a
 * failure (not the user's own act) the error notice. */
static void
bsp_transfer_say_failure (BspTransfer *t, const char *reason, BspCause cause)
{
  PurpleXfer *xfer = t->xfer;
  g_autofree char *msg
      = g_strdup_printf (_("Transfer of %s failed: %s"), bsp_transfer_filename (t), reason);

  purple_xfer_conversation_write (xfer, msg, cause == BSP_CAUSE_LOCAL);
  if (cause == BSP_CAUSE_LOCAL)
    {
      /* The notice's heading already says that it failed and with whom. */
      /* TRANSLATORS: a file's name, then why its transfer failed */
      g_autofree char *notice = g_strdup_printf (_("%s: %s"), bsp_transfer_filename (t), reason);
      purple_xfer_error (purple_xfer_get_type (xfer), purple_xfer_get_account (xfer),
                         purple_xfer_get_remote_user (xfer), notice);
    }
}

static void
bsp_transfer_cancel_with_reason (BspTransfer *t, const char *reason, BspCause cause)
{
  PurpleXfer *xfer = t->xfer;

  if (purple_xfer_is_canceled (xfer) || purple_xfer_is_completed (xfer))
    return;
  if (cause == BSP_CAUSE_PEER)
    {
      purple_xfer_cancel_remote (xfer);
      return;
    }
  bsp_transfer_say_failure (t, reason, cause);
  purple_xfer_cancel_local (xfer);
}

/* The network's own proxy's refusal (@error from bsp-http-proxy.c), in
 * the user's words, naming the file transfer proxy @proxy; NULL for any
 * other error. */
char *
bsp_transfer_office_reason (const GError *error, const char *proxy)
{
  g_autofree char *office = NULL;
  char *said;

  if (error == NULL || error->domain != BSP_HTTP_ERROR
      || (error->code != BSP_HTTP_ERROR_PROXY_AUTH && error->code != BSP_HTTP_ERROR_PROXY_NEED_AUTH
          && error->code != BSP_HTTP_ERROR_PROXY_REFUSED))
    return NULL;
  /* "HOST:PORT what it answered" (bsp-http.h) */
  office = g_strdup (error->message);
  said = strchr (office, ' ');
  if (said != NULL)
    *said++ = '\0';
  if (error->code == BSP_HTTP_ERROR_PROXY_NEED_AUTH)
    return g_strdup_printf (_("the network's proxy %s asks for a user name and password: "
                              "enter them in the account's proxy settings (%s)"),
                               office, said ? said : "");
  if (error->code == BSP_HTTP_ERROR_PROXY_AUTH)
    return g_strdup_printf (_("the network's proxy %s refused the user name and password "
                              "of the proxy settings (%s)"),
                               office, said ? said : "");
  return g_strdup_printf (_("the network's proxy %s did not let the transfer through to the "
                            "file transfer proxy %s (%s)"),
                             office, proxy, said ? said : "");
}

/* What an HTTP error means for the user, and whose end it is. */
static char *
bsp_transfer_http_reason (BspTransfer *t, const GError *error, BspCause *cause)
{
  char *office;
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
  if (error->domain == BSP_TLS_ERROR)
    return g_strdup (error->message); /* names the host and why, translated (bsp-tls.c) */
  if (error->domain == G_TLS_ERROR)
    return g_strdup_printf (_("the certificate of the file transfer proxy %s was refused (%s)"),
                               t->proxy, error->message);
  if ((office = bsp_transfer_office_reason (error, t->proxy)) != NULL)
    return office;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED)
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

/* Ends the transfer on our side with @reason. The proxy learns it first
 * from our <abort/> (and tells the peer), before the HTTP side goes. */
void
bsp_transfer_fail (BspTransfer *t, const char *reason, BspCause cause)
{
  if (t->owner == NULL)
    return;
  bsp_log_info ("transfer %s with %s failed: %s", t->sid, t->peer, reason);
  if (cause != BSP_CAUSE_PEER)
    bsp_transfer_abort (t, cause == BSP_CAUSE_LOCAL, reason);
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
void
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
  else if (t->http_blocked != NULL)
    /* TRANSLATORS: a file's name, then why its bs-proxy's HTTP side can't be used */
    msg = g_strdup_printf (_("%s goes the usual XMPP way, not over HTTP: %s"), name,
                              t->http_blocked);
  else if (proxy != NULL)
    msg = g_strdup_printf (_("%s goes by SOCKS5 through %s, the usual XMPP way"), name, proxy);
  else
    msg = g_strdup_printf (_("%s goes the usual XMPP way (directly or by SOCKS5), not over HTTP"),
                              name);
  purple_xfer_conversation_write (t->xfer, msg, FALSE);
}

void
bsp_transfer_note_blocked (BspTransfer *t, const BspProxyInfo *info)
{
  if (t->http_blocked == NULL && info != NULL && info->http && info->http_blocked)
    t->http_blocked = bsp_transfer_office_reason (info->http_blocked_why, info->jid);
}

/* Gives the consumed IQ back to prpl-jabber, which then tries its own
 * SOCKS5 path (only before any byte moved). */
void
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

BspTransfer *
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

BspTransfer *
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
void
bsp_transfer_progress (BspTransfer *t)
{
  gint64 now = g_get_monotonic_time ();

  if (now - t->last_progress < G_USEC_PER_SEC / 10 && purple_xfer_get_bytes_remaining (t->xfer) > 0)
    return;
  t->last_progress = now;
  purple_xfer_update_progress (t->xfer);
}

/* The proxy's answer to a ping when its <ended/> did not come after the
 * HTTP side broke (a proxy without PROTOCOL.md §5.7): an answer (result
 * or error) means the proxy is alive, and only the link broke; none
 * means the proxy itself went away. */
static void
bsp_transfer_proxy_pinged (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTransfer *t = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &error);
  g_autofree char *reason = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* ended meanwhile: @t may be gone */
  if (reply != NULL || g_error_matches (error, BSP_IQ_ERROR, BSP_IQ_ERROR_REFUSED)
      || g_error_matches (error, BSP_IQ_ERROR, BSP_IQ_ERROR_WAIT))
    reason = g_strdup_printf (_("the link to the file transfer proxy %s broke (%s)"), t->proxy,
                                 t->broke_off);
  else
    {
      t->told = TRUE; /* nobody there to tell */
      reason = g_strdup_printf (_("the file transfer proxy %s stopped answering"), t->proxy);
    }
  bsp_transfer_fail (t, reason, BSP_CAUSE_LOCAL);
}

/* No <ended/> came in time: the proxy is asked whether it is still there. */
static gboolean
bsp_transfer_ended_late (gpointer user_data)
{
  BspTransfer *t = user_data;
  xmlnode *ping;

  t->timer_id = 0;
  bsp_log_info ("transfer %s with %s: no word from %s; asking whether it is still there", t->sid,
                t->peer, t->proxy);
  ping = bsp_iq_new ("get", t->proxy, NULL, "query", "http://jabber.org/protocol/disco#info", NULL);
  bsp_iq_tracker_send_async (t->owner->iq, ping, 10, t->waits, bsp_transfer_proxy_pinged, t);
  return G_SOURCE_REMOVE;
}

/* The HTTP side of @t ended with @error. A failure of our own is told
 * at once (and the proxy tells the peer). A stream that the proxy cut
 * looks the same whether the peer ended its half, a link broke or the
 * proxy died: its <ended/> says which (bsp_transfer_ended ()); without
 * it, a ping tells a live proxy from a dead one. */
void
bsp_transfer_http_failed (BspTransfer *t, const GError *error)
{
  BspCause cause;
  g_autofree char *reason = bsp_transfer_http_reason (t, error, &cause);

  if (cause != BSP_CAUSE_PEER)
    {
      /* Before the next transfer through it, check again that its HTTP
       * side is reachable from here. */
      if (cause == BSP_CAUSE_LOCAL && t->owner != NULL)
        bsp_discovery_recheck_http (t->owner->discovery, t->proxy);
      bsp_transfer_fail (t, reason, cause);
      return;
    }
  bsp_log_info ("transfer %s with %s: %s; waiting for %s to say why", t->sid, t->peer, reason,
                t->proxy);
  g_clear_handle_id (&t->timer_id, g_source_remove);
  g_free (t->broke_off);
  t->broke_off = g_strdup (error->message);
  t->timer_id = g_timeout_add (BSP_ENDED_WAIT * 1000, bsp_transfer_ended_late, t);
}

void
bsp_transfer_http_done (BspTransfer *t, gboolean ok, const GError *error)
{
  PurpleXfer *xfer;

  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        bsp_transfer_http_failed (t, error);
      return;
    }
  xfer = t->xfer;
  if (t->role == BSP_ROLE_SEND)
    bsp_log_info ("transfer %s to %s delivered over HTTP", t->sid, t->peer);
  else
    bsp_log_info ("transfer %s from %s complete over HTTP", t->sid, t->peer);
  bsp_transfer_ref (t);
  bsp_transfer_detach (t);
  if (t->role == BSP_ROLE_SEND)
    {
      purple_xfer_set_bytes_sent (xfer, purple_xfer_get_size (xfer));
      purple_xfer_update_progress (xfer);
    }
  purple_xfer_set_completed (xfer, TRUE);
  purple_xfer_end (xfer);
  bsp_transfer_unref (t);
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

  if (bytes != t->watched_bytes || bsp_tls_asking ())
    {
      /* Moving, or the user is reading a certificate prompt: not stalled. */
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

void
bsp_transfer_watch_start (BspTransfer *t)
{
  g_clear_handle_id (&t->timer_id, g_source_remove);
  t->watched_bytes = purple_xfer_get_bytes_sent (t->xfer);
  t->still_seconds = 0;
  t->timer_id = g_timeout_add_seconds (1, bsp_transfer_watch, t);
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
        {
          /* Signing off or unloading, the stream still carries our
           * <abort/>; a lost connection carries nothing. */
          t->told = t->told || !by_user;
          bsp_transfer_fail (t, reason, by_user ? BSP_CAUSE_USER : BSP_CAUSE_LOCAL);
        }
    }
  g_ptr_array_unref (self->transfers);
  soup_session_abort (self->http);
  g_object_unref (self->http);
  g_free (self->pending_sid);
  g_free (self->pending_from);
  g_free (self);
}

gboolean
bsp_transfers_receiving_iq (BspTransfers *self, const char *type, const char *id, const char *from,
                            xmlnode *iq)
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
          && (strcmp (child->name, "activated") == 0 || strcmp (child->name, "progress") == 0
              || strcmp (child->name, "ended") == 0))
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
  /* The proxy learns why first, and tells the peer; then the request
   * is aborted. A write that failed (disk full…) made libpurple cancel
   * without a word: that is a failure, not the user's act, and said so. */
  if (t->writing)
    {
      bsp_transfer_abort (t, TRUE, _("could not write the file"));
      bsp_transfer_say_failure (t, _("could not write the file"), BSP_CAUSE_LOCAL);
    }
  else if (purple_xfer_get_status (xfer) == PURPLE_XFER_STATUS_CANCEL_LOCAL)
    bsp_transfer_abort (t, FALSE, NULL);
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
