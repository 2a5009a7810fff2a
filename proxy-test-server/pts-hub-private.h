/* pts-hub-private.h — what the embedded server's files share
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-auth.h"
#include "pts-hub.h"
#include "pts-listener.h"
#include "pts-xmpp-conn.h"

G_BEGIN_DECLS

#define PTS_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define PTS_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define PTS_NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define PTS_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define PTS_NS_ROSTER "jabber:iq:roster"
#define PTS_NS_VCARD "vcard-temp"
#define PTS_NS_VERSION "jabber:iq:version"
#define PTS_MAX_AUTH_FAILURES 5

typedef enum
{
  PTS_CLIENT_CONNECTED, /* waiting for the first stream header */
  PTS_CLIENT_AUTHENTICATING,
  PTS_CLIENT_AUTHENTICATED, /* restarted; waiting for bind */
  PTS_CLIENT_BOUND,
} PtsClientState;

typedef struct
{
  PtsHub *hub;
  PtsXmppConn *conn;
  PtsClientState state;
  char *stream_id;
  char *user; /* node part, lower-case */
  char *bare;
  char *full;
  PtsNode *presence; /* the last available broadcast presence, or NULL */
  int priority;
  guint auth_failures;
  char *address;      /* the client's IP address, for the login slowdown */
  GInetAddress *inet; /* the same, for the proxy (pts_proxy_set_peer_lookup) */
  char *pending_auth; /* a login held back by the slowdown */
  guint auth_timer;
  guint login_timer; /* until it is bound */
  gboolean starttls; /* asked for TLS (it may still be under way) */
} PtsClient;

struct _PtsHub
{
  const PtsConfig *config;
  PtsProxy *proxy;
  PtsListener *listener;
  GHashTable *accounts;         /* node → password */
  GList *clients;               /* PtsClient */
  GHashTable *bound;            /* full JID → PtsClient */
  PtsAuthThrottle *throttle;    /* failed logins by address (PROTOCOL.md §8.5) */
  GTlsCertificate *certificate; /* --tls-cert: STARTTLS required before SASL */
};

/* pts-hub.c */
void pts_client_send (PtsClient *client, const PtsNode *stanza);
void pts_client_send_take (PtsClient *client, PtsNode *stanza);

/* pts-hub-login.c: from the first stream header to a bound resource */
void pts_client_stream_start (PtsXmppConn *conn, const PtsNode *root, gpointer user_data);
void pts_client_auth (PtsClient *client, PtsNode *auth);
void pts_client_starttls (PtsClient *client);
void pts_client_bind (PtsClient *client, PtsNode *iq, PtsNode *bind);
gboolean pts_client_login_timeout (gpointer user_data);

G_END_DECLS
