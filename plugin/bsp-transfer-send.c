/* bsp-transfer-send.c — the sender of a transfer taken over by the
 * plugin: the SI offer bound to its PurpleXfer, the streamhost offer,
 * activation with the bs-proxy marker and the POST of the file
 * (PROTOCOL.md §3)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "bsp-log.h"
#include "bsp-prefs.h"
#include "bsp-protocol.h"
#include "bsp-tls.h"
#include "bsp-transfer-private.h"
#include "bsp-url.h"

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
bsp_transfer_send_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = bsp_http_upload_finish (result, &error);

  bsp_transfer_http_done (user_data, ok, error);
}

static gboolean bsp_transfer_send_activate (gpointer user_data);

static void
bsp_transfer_send_activated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTransfer *t = user_data;
  g_autoptr (GError) why = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &why);
  xmlnode *activated
      = reply ? xmlnode_get_child_with_namespace (reply, "activated", BSP_NS_BSPROXY) : NULL;
  const char *url = activated ? xmlnode_get_attrib (activated, "url") : NULL;
  g_autoptr (GError) error = NULL;
  const char *path;

  if (g_error_matches (why, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* ended meanwhile: @t may be gone */
  if (reply == NULL && bsp_transfer_retry_later (t, why, bsp_transfer_send_activate))
    return;
  if (url == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("the proxy refused HTTP activation (%s)",
                                                 why ? why->message : "no upload URL");
      bsp_transfer_fall_back (t, reason);
      return;
    }

  /* Activated: the stream is ours now, no more fallback. */
  g_clear_pointer (&t->consumed, xmlnode_free);
  if (!bsp_url_check (url, t->http_base, &error))
    {
      g_autofree char *reason
          = g_strdup_printf (_("refused the upload address from the proxy (%s)"), error->message);
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
  t->upload
      = bsp_http_upload_start (t->owner->http, url, t->sidhash, path, bsp_transfer_filename (t),
                               purple_xfer_get_size (t->xfer), t->cancellable,
                               bsp_transfer_send_progress, bsp_transfer_send_done, t);
}

/* May this proxy deliver an upload to this receiver? */
static gboolean
bsp_transfers_can_upload (BspTransfers *self, const BspProxyInfo *info, PurpleXfer *xfer,
                          const char *receiver)
{
  gboolean speaks = FALSE;

  if (!bsp_proxy_info_http_usable (info))
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

/* Commits the stream to HTTP: nobody may attach to our local streamhost
 * any more, and the activation goes out. */
static void
bsp_transfer_send_start_activation (BspTransfer *t)
{
  t->state = BSP_STATE_ACTIVATING;
  if (t->xfer->watcher != 0)
    {
      purple_input_remove (t->xfer->watcher);
      t->xfer->watcher = 0;
    }
  bsp_transfer_send_activate (t);
}

/* The user's answer about the certificate of the proxy's HTTP side,
 * asked before the stream is committed to it. Refused (or nobody to
 * ask): libpurple's own SOCKS5 path through the same proxy can still run,
 * unless its SOCKS5 address does not open from here; then the transfer
 * ends with the certificate's reason on both sides. */
static void
bsp_transfer_send_tls_verdict (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTransfer *t = user_data; /* a reference of the question's own */
  g_autoptr (GError) error = NULL;
  const BspProxyInfo *info;

  bsp_tls_ask_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || t->owner == NULL)
    ; /* detached meanwhile: nothing of @t is ours to end */
  else if (purple_xfer_is_canceled (t->xfer))
    bsp_transfer_detach (t);
  else if (error == NULL)
    bsp_transfer_send_start_activation (t);
  else if ((info = bsp_discovery_lookup (t->owner->discovery, t->proxy)) == NULL
           || info->socks5_blocked)
    bsp_transfer_fail (t, error->message, BSP_CAUSE_LOCAL);
  else
    {
      /* The path line says why it does not go over HTTP. */
      g_free (t->http_blocked);
      t->http_blocked = g_strdup (error->message);
      bsp_transfer_fall_back (t, "its certificate was not accepted");
    }
  bsp_transfer_unref (t);
}

/* What is known of the chosen proxy, once it is (its HTTP side may still
 * have been under its reachability check when the receiver chose it). */
static void
bsp_transfer_send_proxy_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTransfer *t = user_data;
  g_autoptr (GError) error = NULL;
  const BspProxyInfo *info = bsp_discovery_ensure_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* ended meanwhile: @t may be gone */
  if (purple_xfer_is_canceled (t->xfer))
    {
      bsp_transfer_detach (t);
      return;
    }
  if (!bsp_transfers_can_upload (t->owner, info, t->xfer, t->peer))
    {
      bsp_transfer_note_blocked (t, info);
      bsp_transfer_fall_back (t, "its HTTP side can't take this upload from here");
      return;
    }
  g_free (t->http_base);
  t->http_base = g_strdup (info->http_base);
  if (info->tls_unverified != NULL)
    {
      g_autoptr (BspTlsTrust) trust = bsp_tls_trust_get (t->owner->http);

      /* libpurple's cache and CAs first, then the user, as for XMPP
       * servers; the answer is kept for the upload (bsp-tls.c). */
      bsp_tls_ask_async (trust, info->tls_unverified, t->cancellable, bsp_transfer_send_tls_verdict,
                         bsp_transfer_ref (t));
      return;
    }
  bsp_transfer_send_start_activation (t);
}

/* The receiver's streamhost-used answer to our offer. */
gboolean
bsp_transfers_send_used (BspTransfers *self, const char *id, const char *from, xmlnode *iq)
{
  xmlnode *query = xmlnode_get_child_with_namespace (iq, "query", BSP_NS_BYTESTREAMS);
  xmlnode *used = query ? xmlnode_get_child (query, "streamhost-used") : NULL;
  const char *jid = used ? xmlnode_get_attrib (used, "jid") : NULL;
  g_autofree char *proxy = jid ? bsp_jid_normalize (jid) : NULL;
  g_autofree char *me = NULL;
  BspTransfer *t = NULL;

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
  me = bsp_jid_normalize (purple_connection_get_display_name (self->gc));
  if (!bsp_prefs_get_send_http () || g_strcmp0 (me, proxy) == 0)
    {
      /* libpurple goes on with the streamhost the receiver chose */
      bsp_transfer_say_path (t, FALSE, proxy, g_strcmp0 (me, proxy) == 0);
      return FALSE;
    }

  /* Ours now: activated over HTTP, or given back to libpurple (which
   * then activates the stream as plain XEP-0065) if the proxy can't. */
  t->consumed = xmlnode_copy (iq);
  t->proxy = g_steal_pointer (&proxy);
  t->state = BSP_STATE_CONNECTING;
  bsp_discovery_ensure_async (self->discovery, t->proxy, t->waits, bsp_transfer_send_proxy_info, t);
  return TRUE;
}

/* The activation with the bs-proxy marker (PROTOCOL.md §3.2); again
 * after a wait-type error. */
static gboolean
bsp_transfer_send_activate (gpointer user_data)
{
  BspTransfer *t = user_data;
  xmlnode *activate, *q;

  t->timer_id = 0;
  activate = bsp_iq_new ("set", t->proxy, NULL, "query", BSP_NS_BYTESTREAMS, &q);
  xmlnode_set_attrib (q, "sid", t->sid);
  xmlnode_insert_data (xmlnode_new_child (q, "activate"), purple_xfer_get_remote_user (t->xfer),
                       -1);
  xmlnode_set_namespace (xmlnode_new_child (q, "x"), BSP_NS_BSPROXY);
  bsp_iq_tracker_send_async (t->owner->iq, activate, 30, t->waits, bsp_transfer_send_activated, t);
  bsp_log_info ("transfer %s to %s: activating HTTP upload at %s", t->sid, t->peer, t->proxy);
  return G_SOURCE_REMOVE;
}

/* Our outgoing SI offer: bind it to its PurpleXfer (prpl-jabber keeps the
 * mapping private, so match account, receiver, name and size). */
void
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

/* Rank of a streamhost in our offer: our own first (a direct connection,
 * as libpurple orders them), then bs-proxies whose HTTP side we reach, then
 * the rest (SOCKS5-only proxies). A plain receiver takes the first proxy
 * that works for it, so a bs-proxy listed after a SOCKS5-only one would
 * leave us needing SOCKS5 — which a user behind an office proxy lacks. */
static guint
bsp_transfers_streamhost_rank (BspTransfers *self, const char *me, xmlnode *sh)
{
  const char *jid = xmlnode_get_attrib (sh, "jid");
  g_autofree char *norm = jid ? bsp_jid_normalize (jid) : NULL;

  if (norm != NULL && g_strcmp0 (norm, me) == 0)
    return 0;
  if (norm != NULL && bsp_proxy_info_http_usable (bsp_discovery_lookup (self->discovery, norm)))
    return 1;
  return 2;
}

/* Whether a streamhost of rank 2 is a proxy of no use from here: a
 * SOCKS5-only proxy whose SOCKS5 address did not open, or any SOCKS5-only
 * proxy when the user wants none (but one still under its check stays); a
 * bs-proxy only when neither its HTTP side nor its SOCKS5 address opens
 * from here (a receiver that picked it would leave us no way to send; the
 * reason goes to the transfer's path line). A bs-proxy whose SOCKS5 side we
 * reach stays: it bridges to a receiver over HTTP. */
static gboolean
bsp_transfers_leave_out (BspTransfers *self, BspTransfer *t, xmlnode *sh, const char **why)
{
  const char *jid = xmlnode_get_attrib (sh, "jid");
  const BspProxyInfo *info = jid ? bsp_discovery_lookup (self->discovery, jid) : NULL;

  if (info != NULL && info->http)
    {
      if (!info->http_blocked || !info->socks5_blocked)
        return FALSE;
      bsp_transfer_note_blocked (t, info);
      *why = "neither its HTTP side nor its SOCKS5 address opens from here";
      return TRUE;
    }
  if (info != NULL && info->socks5_blocked)
    {
      *why = "its SOCKS5 address does not open from here";
      return TRUE;
    }
  if (bsp_prefs_get_http_only ()
      && bsp_discovery_state (self->discovery, jid) != BSP_PROXY_CHECKING)
    {
      *why = "the user wants no SOCKS5-only proxies";
      return TRUE;
    }
  return FALSE;
}

/* Puts the streamhosts of @query in rank order, each rank in the order
 * prpl-jabber gave, without the SOCKS5-only ones this side cannot use,
 * unless nothing else would be left (the list is modified in place, as
 * the signal allows). */
static void
bsp_transfers_order_streamhosts (BspTransfers *self, BspTransfer *t, xmlnode *query)
{
  g_autofree char *me = bsp_jid_normalize (purple_connection_get_display_name (self->gc));
  g_autoptr (GPtrArray) hosts = g_ptr_array_new ();
  guint kept = 0;

  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    g_ptr_array_add (hosts, sh);
  for (guint i = 0; i < hosts->len; i++)
    kept += bsp_transfers_streamhost_rank (self, me, hosts->pdata[i]) < 2;
  for (guint rank = 0; rank < 3; rank++)
    for (guint i = 0; i < hosts->len; i++)
      {
        const char *why = NULL;

        if (bsp_transfers_streamhost_rank (self, me, hosts->pdata[i]) != rank)
          continue;
        if (rank == 2 && kept > 0 && bsp_transfers_leave_out (self, t, hosts->pdata[i], &why))
          {
            bsp_log_info ("transfer %s: %s left out of the offer: %s", t->sid,
                          xmlnode_get_attrib (hosts->pdata[i], "jid"), why);
            continue;
          }
        xmlnode_insert_child (query, xmlnode_copy (hosts->pdata[i]));
      }
  /* The originals go; freeing a node unlinks it from its parent. */
  for (guint i = 0; i < hosts->len; i++)
    xmlnode_free (hosts->pdata[i]);
}

/* When the network's proxy keeps every offered bs-proxy's HTTP side from
 * us, the transfer can only go the usual way: say why, as soon as that is
 * known (the receiver may never answer with a proxy, going in-band
 * instead). Runs as each offered host becomes known. */
static void
bsp_transfer_send_check_offer (BspTransfer *t)
{
  g_autofree char *me = NULL;

  if (t->owner == NULL || t->path_said || t->state != BSP_STATE_OFFERED || t->offered == NULL)
    return;
  me = bsp_jid_normalize (purple_connection_get_display_name (t->owner->gc));
  for (guint i = 0; i < t->offered->len; i++)
    {
      const char *jid = t->offered->pdata[i];
      BspProxyState state = bsp_discovery_state (t->owner->discovery, jid);

      if (g_strcmp0 (jid, me) == 0)
        continue;
      if (state == BSP_PROXY_UNKNOWN || state == BSP_PROXY_CHECKING || state == BSP_PROXY_HTTP)
        return; /* not known yet, or usable */
      bsp_transfer_note_blocked (t, bsp_discovery_lookup (t->owner->discovery, jid));
    }
  if (t->http_blocked != NULL)
    bsp_transfer_say_path (t, FALSE, NULL, FALSE);
}

/* One offered host became known. */
static void
bsp_transfer_send_offered_known (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  bsp_discovery_ensure_finish (result, &error);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    bsp_transfer_send_check_offer (user_data);
}

/* Our streamhost offer: remember its id and hosts; add the configured
 * bs-proxy when prpl-jabber did not offer it; bs-proxies before the
 * SOCKS5-only proxies. */
void
bsp_transfers_send_offer (BspTransfers *self, const char *to, xmlnode *iq, xmlnode *query)
{
  BspTransfer *t = bsp_transfers_find (self, BSP_ROLE_SEND, xmlnode_get_attrib (query, "sid"), to);
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
  info = extra_norm ? bsp_discovery_lookup (self->discovery, extra_norm) : NULL;
  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL && info != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      g_autofree char *jid = bsp_jid_normalize (xmlnode_get_attrib (sh, "jid"));
      if (g_strcmp0 (jid, extra_norm) == 0)
        info = NULL; /* prpl-jabber offers it already */
    }
  if (info != NULL && info->host != NULL && info->port != 0 && bsp_prefs_get_send_http ())
    {
      /* Modifying in place is what the signal allows. */
      xmlnode *sh = xmlnode_new_child (query, "streamhost");
      char port[8];
      g_snprintf (port, sizeof port, "%u", info->port);
      xmlnode_set_attrib (sh, "jid", info->jid);
      xmlnode_set_attrib (sh, "host", info->host);
      xmlnode_set_attrib (sh, "port", port);
    }
  if (bsp_prefs_get_send_http ())
    bsp_transfers_order_streamhosts (self, t, query);
  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      const char *jid = xmlnode_get_attrib (sh, "jid");
      if (jid != NULL)
        g_ptr_array_add (t->offered, bsp_jid_normalize (jid));
    }
  if (!bsp_prefs_get_send_http ())
    return;
  /* Whether the network's proxy keeps the offered bs-proxies' HTTP sides
   * from us, once that is known of each. */
  {
    g_autofree char *me = bsp_jid_normalize (purple_connection_get_display_name (self->gc));
    for (guint i = 0; i < t->offered->len; i++)
      if (g_strcmp0 (t->offered->pdata[i], me) != 0)
        bsp_discovery_ensure_async (self->discovery, t->offered->pdata[i], t->waits,
                                    bsp_transfer_send_offered_known, t);
  }
  /* Every bs-proxy left out for good: say why now. */
  bsp_transfer_send_check_offer (t);
}
