/* pts-proxy-private.h — what pts-proxy.c and pts-proxy-session.c share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-pairing.h"
#include "pts-proxy.h"
#include "pts-relay.h"
#include "pts-session.h"

G_BEGIN_DECLS

typedef struct _PtsProxySession PtsProxySession;

/* The proxy's side of a session (its glue in the table): the connections
 * waiting for activation, then the relay, and the timers. */
struct _PtsProxySession
{
  PtsProxy *proxy;
  PtsSession *session;
  GPtrArray *candidates; /* PtsCandidate, in arrival order, until activation */
  PtsRelay *relay;
  guint timer_id;        /* activation timeout, then idle check */
  guint progress_id;
  guint64 progress_last;
};

struct _PtsProxy
{
  const PtsConfig *config;
  PtsProxySendFunc send;
  gpointer send_data;
  char *host;
  guint16 port;
  char *http_base;        /* NULL = HTTP side disabled */
  PtsSessionTable *table;
  PtsProxyPeerFunc peer;  /* where a full JID's XMPP connection comes from */
  gpointer peer_data;
  guint next_id;
};

/* pts-proxy.c */
void pts_proxy_send (PtsProxy *proxy, PtsNode *stanza);

/* pts-proxy-session.c */
void pts_proxy_session_free (PtsProxySession *ps);
/* A new pending session with its glue, or NULL with the reason in @why. */
PtsProxySession *pts_proxy_new_session (PtsProxy *proxy, const char *hash, const char **why);
/* Picks the SOCKS5 connections of the parties that come by SOCKS5 and
 * hands them out (references); the others stay as candidates. */
PtsPairingResult pts_proxy_pair (PtsProxy *proxy, PtsProxySession *ps, const char *initiator,
                                 const char *target, gboolean want_initiator,
                                 gboolean want_target, GSocketConnection **initiator_conn,
                                 GSocketConnection **target_conn);
/* The relay of an activated session: timers, progress pushes to an HTTP
 * target. @socks5_source: the sender comes by SOCKS5 (no file headers). */
void pts_proxy_session_start_relay (PtsProxySession *ps, PtsEndpoint *source, PtsEndpoint *sink,
                                    gboolean socks5_source);
/* A push (IQ set) from the proxy to a session's target. */
PtsNode *pts_proxy_push_new (PtsProxy *proxy, PtsSession *session, const char *name);
void pts_proxy_describe_session (PtsSession *session, JsonBuilder *builder, gpointer user_data);

G_END_DECLS
