/* bsp-transfer-recv.c — the receiver of a transfer taken over by the
 * plugin: the sender's streamhost offer, <connect/> to a bs-proxy, the proxy's pushes, and the
 * GET into the PurpleXfer (PROTOCOL.md §2)
 *
 * Direct first, without waiting: when the offer also names the sender's
 * own streamhosts, those are tried at once (bsp-direct.c) and the bs-proxy
 * path starts beside them after BSP_DIRECT_HEAD_START_MS. Whichever is
 * ready first wins: a direct connection whose SOCKS5 handshake went through
 * is answered with streamhost-used naming the sender and handed to
 * libpurple, which moves the bytes as on its own direct path; a proxy that
 * confirmed <connect/> is answered with its own name as before. The loser
 * ends: a <connect/> still on its way gets an <abort/> behind it, so the
 * proxy keeps no session; a direct connection stays open until the
 * proxy's <activated/> (libpurple's sender takes its close before then as
 * the end of the transfer). 300 ms covers TCP and the handshake's two
 * round trips on a LAN or between hosts of one region, and is all a
 * receiver behind a firewall loses.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "bsp-log.h"
#include "bsp-prefs.h"
#include "bsp-protocol.h"
#include "bsp-transfer-private.h"
#include "bsp-url.h"

static gboolean
bsp_transfer_recv_chunk (const guint8 *data, gsize len, gpointer user_data)
{
  BspTransfer *t = user_data;

  if (t->owner == NULL || purple_xfer_is_canceled (t->xfer))
    return FALSE;
  t->writing = TRUE;
  if (!purple_xfer_write_file (t->xfer, data, len))
    return FALSE; /* libpurple cancelled it (disk full…) */
  t->writing = FALSE;
  bsp_transfer_progress (t);
  return TRUE;
}

static void
bsp_transfer_recv_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = bsp_http_download_finish (result, &error);

  bsp_transfer_http_done (user_data, ok, error);
}

static void
bsp_transfer_recv_activated (BspTransfer *t, const char *url)
{
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&t->timer_id, g_source_remove);
  /* The sender used the proxy: a direct connection left open may go. */
  g_clear_pointer (&t->direct, bsp_direct_free);
  if (!bsp_url_check (url, t->http_base, &error))
    {
      g_autofree char *reason = g_strdup_printf (
          _("refused the download address from the proxy (%s)"), error->message);
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
static gboolean bsp_transfer_recv_connect_again (gpointer user_data);

static void
bsp_transfer_recv_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTransfer *t = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &error);
  xmlnode *answer, *query, *used;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* ended, or the direct path won: @t may be gone */
  t->connect_pending = FALSE;
  if (reply == NULL && bsp_transfer_retry_later (t, error, bsp_transfer_recv_connect_again))
    return;
  if (reply == NULL)
    {
      bsp_log_info ("transfer %s: %s refused <connect> (%s)", t->sid, t->proxy, error->message);
      t->candidate++;
      t->retries = 0;
      bsp_transfer_recv_try_next (t);
      return;
    }

  /* The proxy path won the race with the direct one, if there was one. */
  if (t->direct != NULL)
    {
      bsp_log_info ("transfer %s from %s: %s answered before any direct streamhost", t->sid,
                    t->peer, t->proxy);
      bsp_direct_stop (t->direct);
    }
  /* Tell the sender which streamhost we "used": the proxy. */
  answer = bsp_iq_new ("result", xmlnode_get_attrib (t->consumed, "from"),
                       xmlnode_get_attrib (t->consumed, "id"), "query", BSP_NS_BYTESTREAMS, &query);
  xmlnode_set_attrib (query, "sid", t->sid);
  used = xmlnode_new_child (query, "streamhost-used");
  xmlnode_set_attrib (used, "jid", t->proxy);
  bsp_iq_send_stanza (t->owner->gc, answer);
  /* From here on the offer is answered: no more fallback. */
  g_clear_pointer (&t->consumed, xmlnode_free);
  t->state = BSP_STATE_WAIT_ACTIVATED;
  t->timer_id = g_timeout_add_seconds (BSP_ACTIVATION_WAIT, bsp_transfer_recv_timeout, t);
  bsp_log_info ("transfer %s from %s: waiting for the sender at %s", t->sid, t->peer, t->proxy);
}

static void bsp_transfer_recv_connect (BspTransfer *t);

static void
bsp_transfer_recv_candidate_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTransfer *t = user_data;
  g_autoptr (GError) error = NULL;
  const BspProxyInfo *info = bsp_discovery_ensure_finish (result, &error);
  guint64 size;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* ended, or the direct path won: @t may be gone */
  size = purple_xfer_get_size (t->xfer);
  if (!bsp_proxy_info_http_usable (info) || (info->max_file_size > 0 && size > info->max_file_size))
    {
      bsp_transfer_note_blocked (t, info);
      t->candidate++;
      bsp_transfer_recv_try_next (t);
      return;
    }
  g_free (t->proxy);
  t->proxy = g_strdup (info->jid);
  g_free (t->http_base);
  t->http_base = g_strdup (info->http_base);
  bsp_transfer_recv_connect (t);
}

static gboolean
bsp_transfer_recv_connect_again (gpointer user_data)
{
  BspTransfer *t = user_data;

  t->timer_id = 0;
  bsp_transfer_recv_connect (t);
  return G_SOURCE_REMOVE;
}

/* <connect/> to t->proxy (PROTOCOL.md §2.2). */
static void
bsp_transfer_recv_connect (BspTransfer *t)
{
  guint64 size = purple_xfer_get_size (t->xfer);
  char size_text[24];
  xmlnode *iq, *connect;
  xmlnode *offer_query;

  iq = bsp_iq_new ("set", t->proxy, NULL, "connect", BSP_NS_BSPROXY, &connect);
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
  bsp_iq_tracker_send_async (t->owner->iq, iq, 30, t->waits, bsp_transfer_recv_connected, t);
  t->connect_pending = TRUE;
}

static void
bsp_transfer_recv_try_next (BspTransfer *t)
{
  if (t->candidate >= t->candidates->len)
    {
      if (t->direct != NULL)
        {
          /* The direct attempts still run: they decide. */
          t->proxies_tried = TRUE;
          return;
        }
      bsp_transfer_fall_back (t, "no offered streamhost speaks bs-proxy");
      return;
    }
  bsp_discovery_ensure_async (t->owner->discovery, t->candidates->pdata[t->candidate], t->waits,
                              bsp_transfer_recv_candidate_info, t);
}

/* A direct connection won: the offer is answered with the sender's own
 * streamhost and libpurple reads the stream from @fd. */
static void
bsp_transfer_recv_direct_won (BspTransfer *t, int fd, const char *jid)
{
  BspTransfers *owner = t->owner;
  xmlnode *answer, *query, *used;

  g_clear_handle_id (&t->head_start_id, g_source_remove);
  g_clear_handle_id (&t->timer_id, g_source_remove); /* a <connect/> tried again later */
  bsp_transfer_stop_waiting (t);
  /* A <connect/> on its way: the <abort/> reaches the proxy after it and
   * ends the session there (PROTOCOL.md §5.6); no one else knows of it. */
  bsp_transfer_abort (t, FALSE, NULL);
  t->connect_pending = FALSE;
  bsp_log_info ("transfer %s from %s: connected directly to the sender's streamhost", t->sid,
                t->peer);
  purple_xfer_start (t->xfer, fd, NULL, 0);
  if (purple_xfer_is_canceled (t->xfer))
    {
      /* libpurple could not open the file, said so, and closed @fd. */
      bsp_iq_send_error (owner->gc, xmlnode_get_attrib (t->consumed, "from"),
                         xmlnode_get_attrib (t->consumed, "id"), "cancel", "item-not-found");
      bsp_transfer_detach (t);
      return;
    }
  answer = bsp_iq_new ("result", xmlnode_get_attrib (t->consumed, "from"),
                       xmlnode_get_attrib (t->consumed, "id"), "query", BSP_NS_BYTESTREAMS, &query);
  xmlnode_set_attrib (query, "sid", t->sid);
  used = xmlnode_new_child (query, "streamhost-used");
  xmlnode_set_attrib (used, "jid", jid);
  bsp_iq_send_stanza (owner->gc, answer);
  g_clear_pointer (&t->consumed, xmlnode_free);
  bsp_transfer_say_path (t, FALSE, NULL, TRUE);
  /* libpurple's own transfer from here on, as if it had connected itself. */
  bsp_transfer_detach (t);
}

static void
bsp_transfer_recv_direct_done (int fd, const char *jid, const GError *error, gpointer user_data)
{
  BspTransfer *t = user_data;

  if (fd >= 0)
    {
      bsp_transfer_recv_direct_won (t, fd, jid);
      return;
    }
  bsp_log_info ("transfer %s from %s: no direct connection (%s)", t->sid, t->peer, error->message);
  g_clear_pointer (&t->direct, bsp_direct_free);
  if (t->head_start_id != 0)
    {
      /* No need to wait any longer. */
      g_clear_handle_id (&t->head_start_id, g_source_remove);
      bsp_transfer_recv_try_next (t);
    }
  else if (t->proxies_tried)
    bsp_transfer_fall_back (t, "no offered streamhost speaks bs-proxy or is reachable directly");
}

static gboolean
bsp_transfer_recv_head_start_over (gpointer user_data)
{
  BspTransfer *t = user_data;

  t->head_start_id = 0;
  bsp_log_info ("transfer %s from %s: no direct connection yet; trying the bs-proxies beside it",
                t->sid, t->peer);
  bsp_transfer_recv_try_next (t);
  return G_SOURCE_REMOVE;
}

/* Whether the receiver may connect to the sender itself: not when the
 * account goes through a proxy of its own (Tor, an office's), which a
 * direct connection would bypass. */
static gboolean
bsp_transfer_recv_may_go_direct (BspTransfer *t)
{
  PurpleProxyInfo *info = purple_proxy_get_setup (purple_connection_get_account (t->owner->gc));

  return info == NULL || purple_proxy_info_get_type (info) == PURPLE_PROXY_NONE;
}

/* The sender's streamhost offer: take it when the user wants HTTP and a
 * proxy in it might speak bs-proxy. */
gboolean
bsp_transfers_recv_offer (BspTransfers *self, const char *from, xmlnode *iq, xmlnode *query)
{
  BspTransfer *t
      = bsp_transfers_find (self, BSP_ROLE_RECV, xmlnode_get_attrib (query, "sid"), from);
  g_autofree char *peer = NULL;
  BspDirect *direct;

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
  direct = bsp_transfer_recv_may_go_direct (t) ? bsp_direct_new (t->sidhash) : NULL;
  t->candidates = g_ptr_array_new_with_free_func (g_free);
  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      const char *jid = xmlnode_get_attrib (sh, "jid");
      g_autofree char *norm = jid ? bsp_jid_normalize (jid) : NULL;
      /* The sender's own address is a direct connection, not a proxy. */
      if (norm != NULL && g_strcmp0 (norm, peer) == 0 && direct != NULL)
        bsp_direct_add (direct, jid, xmlnode_get_attrib (sh, "host"),
                        xmlnode_get_attrib (sh, "port"));
      if (norm != NULL && g_strcmp0 (norm, peer) != 0
          && !g_ptr_array_find_with_equal_func (t->candidates, norm, g_str_equal, NULL))
        g_ptr_array_add (t->candidates, g_steal_pointer (&norm));
    }
  if (t->candidates->len == 0)
    {
      /* No proxy offered (a sender that reaches none): when our own
       * network keeps a bs-proxy's HTTP side from us, that is worth
       * saying too. */
      bsp_transfer_note_blocked (t, bsp_discovery_find_http_blocked (self->discovery));
      bsp_transfer_say_path (t, FALSE, NULL, FALSE);
      g_clear_pointer (&direct, bsp_direct_free);
      return FALSE;
    }

  t->consumed = xmlnode_copy (iq);
  t->state = BSP_STATE_CONNECTING;
  t->candidate = 0;
  if (direct != NULL && bsp_direct_count (direct) > 0)
    {
      bsp_log_info ("transfer %s from %s: trying %u direct streamhost(s), then %u other(s) "
                    "for a bs-proxy",
                    t->sid, t->peer, bsp_direct_count (direct), t->candidates->len);
      t->direct = g_steal_pointer (&direct);
      t->head_start_id
          = g_timeout_add (BSP_DIRECT_HEAD_START_MS, bsp_transfer_recv_head_start_over, t);
      bsp_direct_start (t->direct, bsp_transfer_recv_direct_done, t);
      return TRUE;
    }
  g_clear_pointer (&direct, bsp_direct_free);
  bsp_log_info ("transfer %s from %s: looking for a bs-proxy among %u streamhost(s)", t->sid,
                t->peer, t->candidates->len);
  bsp_transfer_recv_try_next (t);
  return TRUE;
}

/* The proxy's pushes: <activated/>, <progress/> and, to either role,
 * <ended/>. Every IQ set from a proxy gets an answer (PROTOCOL.md §2.5). */
gboolean
bsp_transfers_proxy_push (BspTransfers *self, const char *id, const char *from, xmlnode *child)
{
  const char *sidhash = xmlnode_get_attrib (child, "sidhash");
  g_autofree char *norm = from ? bsp_jid_normalize (from) : NULL;

  bsp_iq_send_result (self->gc, from, id);
  for (guint i = 0; i < self->transfers->len; i++)
    {
      BspTransfer *t = self->transfers->pdata[i];
      if (g_strcmp0 (t->sidhash, sidhash) != 0 || g_strcmp0 (t->proxy, norm) != 0)
        continue;
      if (strcmp (child->name, "ended") == 0)
        {
          /* Only from the session's proxy, once it knows us. */
          if (t->state == BSP_STATE_WAIT_ACTIVATED || t->state == BSP_STATE_ACTIVATING
              || t->state == BSP_STATE_TRANSFERRING)
            bsp_transfer_ended (t, child);
          return TRUE;
        }
      if (t->role != BSP_ROLE_RECV)
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
