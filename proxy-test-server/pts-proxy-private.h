/* pts-proxy-private.h — what pts-proxy.c and pts-proxy-session.c share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-pairing.h"
#include "pts-proxy.h"
#include "pts-relay-pool.h"
#include "pts-relay.h"
#include "pts-session.h"

G_BEGIN_DECLS

typedef struct _PtsProxySession PtsProxySession;

/* A party of a session, as <abort/> and <ended/> name them. */
typedef enum
{
  PTS_PARTY_NONE,
  PTS_PARTY_INITIATOR,
  PTS_PARTY_TARGET,
} PtsParty;

/* The proxy's side of a session (its glue in the table): the connections
 * waiting for activation, then the relay, and the timers. */
struct _PtsProxySession
{
  PtsProxy *proxy;
  PtsSession *session;
  GPtrArray *candidates; /* PtsCandidate, in arrival order, until activation */
  PtsRelay *relay;
  /* The SOCKS5 parties' connections (NULL for an HTTP side), held until
   * the session goes, on the main thread: a worker only closes them. */
  GSocketConnection *initiator_conn;
  GSocketConnection *target_conn;
  guint timer_id; /* activation timeout, then idle check */
  guint progress_id;
  guint64 progress_last;
  PtsParty aborted_by; /* the party whose <abort/> ended it, if one did */
  char *abort_kind;    /* "cancelled" or "failed" */
  char *abort_text;    /* cleaned, bounded */
};

struct _PtsProxy
{
  const PtsConfig *config;
  PtsProxySendFunc send;
  gpointer send_data;
  char *host;
  guint16 port;
  char *http_base; /* NULL = HTTP side disabled */
  PtsSessionTable *table;
  PtsProxyPeerFunc peer; /* where a full JID's XMPP connection comes from */
  gpointer peer_data;
  guint next_id;
  GHashTable *endings; /* SIDHASH → PtsProxyEnding: lost, waiting for an <abort/> */
  PtsRelayPool *pool;  /* the relays' workers; NULL: all on the main thread */
};

/* pts-proxy.c */
void pts_proxy_send (PtsProxy *proxy, PtsNode *stanza);
void pts_proxy_reply_error (PtsProxy *proxy, const PtsNode *iq, const char *condition,
                            const char *text);

/* pts-proxy-session.c */
void pts_proxy_session_free (PtsProxySession *ps);
/* A new pending session with its glue, or NULL with the reason in @why. */
PtsProxySession *pts_proxy_new_session (PtsProxy *proxy, const char *hash, const char **why);
/* Picks the SOCKS5 connections of the parties that come by SOCKS5 and
 * hands them out (references); the others stay as candidates. */
PtsPairingResult pts_proxy_pair (PtsProxy *proxy, PtsProxySession *ps, const char *initiator,
                                 const char *target, gboolean want_initiator, gboolean want_target,
                                 GSocketConnection **initiator_conn,
                                 GSocketConnection **target_conn);
/* The relay of an activated session: timers, progress pushes to an HTTP
 * target. @socks5_source: the sender comes by SOCKS5 (no file headers). */
void pts_proxy_session_start_relay (PtsProxySession *ps, PtsEndpoint *source, PtsEndpoint *sink,
                                    gboolean socks5_source);
/* A push (IQ set) from the proxy to a session's target, or to @to. */
PtsNode *pts_proxy_push_new (PtsProxy *proxy, PtsSession *session, const char *name);
PtsNode *pts_proxy_push_to (PtsProxy *proxy, const char *to, const char *hash, const char *name);
void pts_proxy_describe_session (PtsSession *session, JsonBuilder *builder, gpointer user_data);

/* pts-proxy-end.c: how a session's parties learn why it ended
 * (PROTOCOL.md §5.6, §5.7). */
GHashTable *pts_proxy_endings_new (void);
/* <abort xmlns=NS sid jid reason>text</abort> from a party. */
void pts_proxy_abort (PtsProxy *proxy, const PtsNode *iq, const PtsNode *abort);
/* @ps's relay ended with @error (not a success): its parties are told,
 * a lost connection after a short grace in which an <abort/> may still
 * explain it. Call before the table frees the session. */
void pts_proxy_session_failed (PtsProxySession *ps, const GError *error);
/* @ps ended before its activation for @reason ("expired"…): its target
 * is told when it came by <connect/>. */
void pts_proxy_session_expired (PtsProxySession *ps, const char *reason);

G_END_DECLS
