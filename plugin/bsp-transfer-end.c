/* bsp-transfer-end.c — how the two sides of a transfer learn why it ended
 *
 * This side tells the proxy why it ends a session (<abort/>, PROTOCOL.md
 * §5.6) before its HTTP side goes; the proxy's <ended/> (§5.7) tells this
 * side why the session ended, and the user reads the true reason: the
 * peer's cancel in libpurple's own words, the peer's failure with the
 * peer's text, a broken link named for whose it was. Also: a proxy's
 * wait-type answer tried again after a short back-off.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "bsp-log.h"
#include "bsp-protocol.h"
#include "bsp-transfer-private.h"

/* Whether the proxy knows @t's session with us as a party: once it
 * answered our <connect/> (recv; or may have, while the answer is on its
 * way), once we asked for the activation (send). */
static gboolean
bsp_transfer_proxy_knows (BspTransfer *t)
{
  if (t->proxy == NULL)
    return FALSE;
  switch (t->state)
    {
    case BSP_STATE_CONNECTING: return t->connect_pending;
    case BSP_STATE_WAIT_ACTIVATED:
    case BSP_STATE_ACTIVATING:
    case BSP_STATE_TRANSFERRING: return TRUE;
    default: return FALSE;
    }
}

static void
bsp_transfer_aborted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &error);

  if (reply == NULL)
    bsp_log_debug ("the proxy did not take our <abort/> (%s)", error->message);
}

void
bsp_transfer_abort (BspTransfer *t, gboolean failed, const char *text)
{
  g_autofree char *clean = NULL;
  xmlnode *iq, *abort;

  if (t->told || t->owner == NULL || !bsp_transfer_proxy_knows (t))
    return;
  t->told = TRUE;
  iq = bsp_iq_new ("set", t->proxy, NULL, "abort", BSP_NS_BSPROXY, &abort);
  xmlnode_set_attrib (abort, "sid", t->sid);
  xmlnode_set_attrib (abort, "jid", purple_xfer_get_remote_user (t->xfer));
  xmlnode_set_attrib (abort, "reason", failed ? "failed" : "cancelled");
  clean = bsp_text_clean (text, BSP_END_TEXT_MAX);
  if (*clean != '\0')
    xmlnode_insert_data (abort, clean, -1);
  bsp_log_info ("transfer %s with %s: telling %s that it %s", t->sid, t->peer, t->proxy,
                failed ? "failed" : "was cancelled");
  /* Not tied to @t: it is usually gone before the answer comes. */
  bsp_iq_tracker_send_async (t->owner->iq, iq, 10, NULL, bsp_transfer_aborted, NULL);
}

/* How libpurple names the peer in its own messages ("bob cancelled…"):
 * the buddy's alias, else the JID. */
static const char *
bsp_transfer_peer_name (BspTransfer *t)
{
  const char *who = purple_xfer_get_remote_user (t->xfer);
  PurpleBuddy *buddy = purple_find_buddy (purple_xfer_get_account (t->xfer), who);

  return buddy != NULL ? purple_buddy_get_alias (buddy) : who;
}

/* What the proxy's <ended reason/> means for this side's user. Returns
 * NULL with PEER for the peer's cancel (libpurple says it). */
static char *
bsp_transfer_ended_reason (BspTransfer *t, const char *reason, const char *text, BspCause *cause)
{
  gboolean send = t->role == BSP_ROLE_SEND;
  const char *theirs = send ? "receiver-" : "sender-";
  const char *mine = send ? "sender-" : "receiver-";
  const char *peer = bsp_transfer_peer_name (t);

  *cause = BSP_CAUSE_LOCAL;
  if (g_str_has_prefix (reason, theirs))
    {
      const char *what = reason + strlen (theirs);

      if (g_str_equal (what, "cancelled"))
        {
          *cause = BSP_CAUSE_PEER;
          return NULL;
        }
      if (g_str_equal (what, "failed") && *text != '\0')
        /* TRANSLATORS: the other user's name, then what failed on their side */
        return g_strdup_printf (_("%s's side failed: %s"), peer, text);
      if (g_str_equal (what, "failed"))
        return g_strdup_printf (_("%s's side failed"), peer);
      if (g_str_equal (what, "lost"))
        return g_strdup_printf (_("the connection between %s and the file transfer proxy broke"),
                                   peer);
    }
  else if (g_str_equal (reason, (send ? "sender-lost" : "receiver-lost")) && t->broke_off != NULL)
    return g_strdup_printf (_("the link to the file transfer proxy %s broke (%s)"), t->proxy,
                               t->broke_off);
  else if (g_str_has_prefix (reason, mine) && g_str_equal (reason + strlen (mine), "lost"))
    return g_strdup_printf (_("the link to the file transfer proxy %s broke"), t->proxy);
  else if (g_str_equal (reason, "short") && !send)
    {
      /* A sender that stops early without a word: a plain client's cancel. */
      *cause = BSP_CAUSE_PEER;
      return NULL;
    }
  else if (g_str_equal (reason, "refused") && *text != '\0')
    return g_strdup_printf (_("the file transfer proxy %s refused the transfer (%s)"), t->proxy,
                               text);
  else if (g_str_equal (reason, "timeout"))
    return g_strdup_printf (_("the file transfer proxy %s saw no data move for too long"),
                               t->proxy);
  else if (g_str_equal (reason, "expired") && !send)
    return g_strdup (_("the sender never started sending"));
  return g_strdup_printf (_("the file transfer proxy %s ended the transfer (%s)"), t->proxy,
                             reason);
}

void
bsp_transfer_ended (BspTransfer *t, xmlnode *ended)
{
  g_autofree char *raw = xmlnode_get_data (ended);
  g_autofree char *text = bsp_text_clean (raw, BSP_END_TEXT_MAX);
  g_autofree char *reason = bsp_text_clean (xmlnode_get_attrib (ended, "reason"), 40);
  g_autofree char *why = NULL;
  BspCause cause;

  bsp_log_info ("transfer %s with %s: %s says it ended: %s%s%s", t->sid, t->peer, t->proxy, reason,
                *text ? ": " : "", text);
  /* The proxy knows: no <abort/> back. */
  t->told = TRUE;
  why = bsp_transfer_ended_reason (t, reason, text, &cause);
  bsp_transfer_fail (t, why != NULL ? why : reason, cause);
}

gboolean
bsp_transfer_retry_later (BspTransfer *t, const GError *error, GSourceFunc retry)
{
  if (!g_error_matches (error, BSP_IQ_ERROR, BSP_IQ_ERROR_WAIT) || t->retries >= BSP_WAIT_RETRIES)
    return FALSE;
  t->retries++;
  bsp_log_info ("transfer %s with %s: %s says wait (%s); trying again in %u s", t->sid, t->peer,
                t->proxy, error->message, t->retries);
  g_clear_handle_id (&t->timer_id, g_source_remove);
  t->timer_id = g_timeout_add (t->retries * 1000, retry, t);
  return TRUE;
}
