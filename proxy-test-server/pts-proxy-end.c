/* pts-proxy-end.c — how a session's parties learn why it ended: <abort/> and <ended/>
 *
 * A party that ends a session on purpose or by a failure says so with
 * <abort/> (PROTOCOL.md §5.6); when a session ends without delivery, the
 * proxy pushes <ended/> with the true reason to each party that it knows
 * on XMPP (§5.7). A connection that merely broke is told after a short
 * grace, in which the party behind it may still explain it with an
 * <abort/> (its XMPP stanza may well arrive after its TCP reset).
 *
 * Only the session's parties are ever told, and only text that
 * bsp_text_clean() made safe.
 *
 * Threads: main thread only. An <abort/> fails a relay with
 * pts_relay_fail(), which a worker's relay receives in its own context;
 * its end comes back here on the main thread.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-proxy"

#include <string.h>

#include "bsp-protocol.h"
#include "pts-proxy-private.h"
#include "pts-stanza.h"

/* How long a lost connection waits for its party's <abort/> (§5.7). */
#define PTS_ENDED_GRACE_MS 1000

/* A session that ended with a lost connection, during the grace. */
typedef struct
{
  PtsProxy *proxy;
  char *hash;
  char *initiator; /* normalised full JIDs; NULL when the proxy does not know */
  char *target;    /* that party on XMPP */
  char *reason;
  char *text;
  guint timer;
} PtsProxyEnding;

static void
pts_proxy_ending_free (PtsProxyEnding *ending)
{
  g_clear_handle_id (&ending->timer, g_source_remove);
  g_free (ending->hash);
  g_free (ending->initiator);
  g_free (ending->target);
  g_free (ending->reason);
  g_free (ending->text);
  g_free (ending);
}

GHashTable *
pts_proxy_endings_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                (GDestroyNotify) pts_proxy_ending_free);
}

/* <ended xmlns=NS sidhash reason>text</ended> to @to. */
static void
pts_proxy_push_ended (PtsProxy *self, const char *to, const char *hash, const char *reason,
                      const char *text)
{
  PtsNode *iq;
  PtsNode *ended;

  if (to == NULL)
    return;
  iq = pts_proxy_push_to (self, to, hash, "ended");
  ended = iq->children->pdata[0];
  pts_node_set_attr (ended, "reason", reason);
  if (text != NULL && *text != '\0')
    pts_node_set_text (ended, text);
  g_debug ("session %.8s…: <ended reason='%s'/> to %s", hash, reason, to);
  pts_proxy_send (self, iq);
}

/* Tells both parties it knows, but @skip (the one that explained the
 * end itself). */
static void
pts_proxy_tell (PtsProxy *self, const char *hash, const char *initiator, const char *target,
                PtsParty skip, const char *reason, const char *text)
{
  if (skip != PTS_PARTY_INITIATOR)
    pts_proxy_push_ended (self, initiator, hash, reason, text);
  if (skip != PTS_PARTY_TARGET)
    pts_proxy_push_ended (self, target, hash, reason, text);
}

static gboolean
pts_proxy_ending_due (gpointer user_data)
{
  PtsProxyEnding *ending = user_data;
  PtsProxy *self = ending->proxy;

  ending->timer = 0;
  pts_proxy_tell (self, ending->hash, ending->initiator, ending->target, PTS_PARTY_NONE,
                  ending->reason, ending->text);
  g_hash_table_remove (self->endings, ending->hash);
  return G_SOURCE_REMOVE;
}

/* "sender-cancelled", "receiver-failed"… */
static char *
pts_proxy_abort_reason (PtsParty by, const char *kind)
{
  return g_strconcat (by == PTS_PARTY_INITIATOR ? "sender-" : "receiver-", kind, NULL);
}

/* Which of the parties the proxy knows on XMPP: the target once it sent
 * <connect/>, the initiator once it activated (the server vouches for
 * the 'from' of both; a JID only named by the other party is never
 * pushed to). */
static void
pts_proxy_known_parties (PtsSession *session, const char **initiator, const char **target)
{
  *initiator = session->state == PTS_SESSION_ACTIVE ? session->initiator : NULL;
  *target = session->http_target ? session->target : NULL;
}

void
pts_proxy_session_failed (PtsProxySession *ps, const GError *error)
{
  PtsProxy *self = ps->proxy;
  PtsSession *session = ps->session;
  const char *initiator, *target;
  const char *reason;
  const char *text = NULL;
  PtsProxyEnding *ending;

  pts_proxy_known_parties (session, &initiator, &target);
  if (ps->aborted_by != PTS_PARTY_NONE)
    {
      g_autofree char *why = pts_proxy_abort_reason (ps->aborted_by, ps->abort_kind);
      pts_proxy_tell (self, session->hash, initiator, target, ps->aborted_by, why, ps->abort_text);
      return;
    }
  if (g_error_matches (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_SENDER_GONE))
    reason = "sender-lost";
  else if (g_error_matches (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_RECEIVER_GONE))
    reason = "receiver-lost";
  else if (g_error_matches (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_SHORT))
    reason = "short";
  else if (g_error_matches (error, PTS_RELAY_ERROR, PTS_RELAY_ERROR_TIMEOUT))
    reason = "timeout";
  else
    {
      /* The proxy refused the sender's bytes (too many, malformed, over
       * the limit): its own words say why. */
      reason = "refused";
      text = error->message;
    }
  if (initiator == NULL && target == NULL)
    return;
  /* A lost connection (or one that ended short: a sender's cancel looks
   * like that) waits for the <abort/> that may explain it. */
  ending = g_new0 (PtsProxyEnding, 1);
  ending->proxy = self;
  ending->hash = g_strdup (session->hash);
  ending->initiator = g_strdup (initiator);
  ending->target = g_strdup (target);
  ending->reason = g_strdup (reason);
  ending->text = text != NULL ? bsp_text_clean (text, BSP_END_TEXT_MAX) : NULL;
  if (text != NULL || g_str_equal (reason, "timeout"))
    {
      /* Nothing a party could add: told at once. */
      pts_proxy_tell (self, ending->hash, initiator, target, PTS_PARTY_NONE, reason, ending->text);
      pts_proxy_ending_free (ending);
      return;
    }
  /* A session that ended twice in the grace (a new one under the same
   * SIDHASH) replaces the older record, whose parties are told now. */
  {
    PtsProxyEnding *old = g_hash_table_lookup (self->endings, ending->hash);
    if (old != NULL)
      {
        g_clear_handle_id (&old->timer, g_source_remove);
        pts_proxy_ending_due (old);
      }
  }
  ending->timer = g_timeout_add (PTS_ENDED_GRACE_MS, pts_proxy_ending_due, ending);
  g_hash_table_insert (self->endings, ending->hash, ending);
}

void
pts_proxy_session_expired (PtsProxySession *ps, const char *reason)
{
  PtsSession *session = ps->session;

  if (session->http_target)
    pts_proxy_push_ended (ps->proxy, session->target, session->hash, reason, NULL);
}

/* ---- <abort/> ---------------------------------------------------------------------- */

/* The live session of @sid between @from and @other in which @from is a
 * known party, and which party it is. */
static PtsSession *
pts_proxy_abort_find (PtsProxy *self, const char *sid, const char *from, const char *other,
                      PtsParty *party, char **hash)
{
  for (int side = 0; side < 2; side++)
    {
      gboolean initiator = side == 0;
      char *h = initiator ? bsp_sidhash (sid, from, other) : bsp_sidhash (sid, other, from);
      PtsSession *session = pts_session_table_lookup (self->table, h);
      PtsProxyEnding *ending = g_hash_table_lookup (self->endings, h);
      const char *known = NULL;

      if (session != NULL)
        known = initiator ? session->initiator : session->target;
      else if (ending != NULL)
        known = initiator ? ending->initiator : ending->target;
      if (known != NULL && g_str_equal (known, from))
        {
          *party = initiator ? PTS_PARTY_INITIATOR : PTS_PARTY_TARGET;
          *hash = h;
          return session;
        }
      g_free (h);
    }
  *party = PTS_PARTY_NONE;
  *hash = NULL;
  return NULL;
}

void
pts_proxy_abort (PtsProxy *self, const PtsNode *iq, const PtsNode *abort)
{
  const char *sid = pts_node_get_attr (abort, "sid");
  const char *jid = pts_node_get_attr (abort, "jid");
  const char *kind = pts_node_get_attr (abort, "reason");
  const char *from_attr = pts_node_get_attr (iq, "from");
  g_autofree char *from = from_attr ? bsp_jid_normalize (from_attr) : NULL;
  g_autofree char *other = jid ? bsp_jid_normalize (jid) : NULL;
  g_autofree char *text = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *reason = NULL;
  PtsSession *session;
  PtsProxySession *ps;
  PtsParty party;

  if (sid == NULL || *sid == '\0' || strlen (sid) > BSP_SID_MAX_LEN || other == NULL
      || !bsp_jid_is_full (other) || from == NULL || !bsp_jid_is_full (from)
      || (g_strcmp0 (kind, "cancelled") != 0 && g_strcmp0 (kind, "failed") != 0))
    {
      pts_proxy_reply_error (self, iq, "bad-request",
                             "sid, the other party's full jid and reason='cancelled|failed' "
                             "are required");
      return;
    }
  session = pts_proxy_abort_find (self, sid, from, other, &party, &hash);
  if (party == PTS_PARTY_NONE)
    {
      /* Not a party, or nothing left to end: nothing changes. */
      pts_proxy_reply_error (self, iq, "item-not-found", "no session of yours for this stream");
      return;
    }
  text = bsp_text_clean (pts_node_get_text (abort), BSP_END_TEXT_MAX);
  reason = pts_proxy_abort_reason (party, kind);
  g_message ("session %.8s…: %s by its %s%s%s", hash, kind,
             party == PTS_PARTY_INITIATOR ? "sender" : "receiver", *text ? ": " : "", text);
  pts_proxy_send (self, pts_stanza_iq_result (iq));

  if (session == NULL)
    {
      /* It ended a moment ago with this party's connection: the <abort/>
       * says why, and the other party learns that instead. */
      PtsProxyEnding *ending = g_hash_table_lookup (self->endings, hash);

      pts_proxy_tell (self, hash, ending->initiator, ending->target, party, reason, text);
      g_hash_table_remove (self->endings, hash);
      return;
    }
  ps = session->glue;
  if (ps->relay != NULL)
    {
      /* The relay ends (asynchronously) and its end tells the other party. */
      g_autoptr (GError) error
          = g_error_new (PTS_RELAY_ERROR,
                         party == PTS_PARTY_INITIATOR ? PTS_RELAY_ERROR_SENDER_GONE
                                                      : PTS_RELAY_ERROR_RECEIVER_GONE,
                         "the %s ended the transfer (%s)",
                         party == PTS_PARTY_INITIATOR ? "sender" : "receiver", kind);
      if (ps->aborted_by == PTS_PARTY_NONE)
        {
          ps->aborted_by = party;
          ps->abort_kind = g_strdup (kind);
          ps->abort_text = g_steal_pointer (&text);
        }
      pts_relay_fail (ps->relay, error);
      return;
    }
  /* Before the activation: only a target that sent <connect/> is known. */
  if (party == PTS_PARTY_INITIATOR && session->http_target)
    pts_proxy_push_ended (self, session->target, hash, reason, text);
  pts_session_table_end (self->table, session, "cancelled", 0);
}
