/* pts-proxy.h — the bytestreams proxy: sessions keyed by SIDHASH, its IQs, its limits
 *
 * The proxy does not know whether it sits in the embedded server or behind a
 * real one as a component: it is handed the stanzas addressed to its JID and
 * gives its answers to a send function.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "pts-config.h"
#include "pts-relay.h"
#include "pts-xml.h"

G_BEGIN_DECLS

typedef struct _PtsProxy PtsProxy;

/* Takes ownership of @stanza. */
typedef void (*PtsProxySendFunc) (PtsNode *stanza, gpointer user_data);

PtsProxy *pts_proxy_new (const PtsConfig *config);
void pts_proxy_free (PtsProxy *proxy);
/* Ends every session (before the HTTP side goes away). */
void pts_proxy_shutdown (PtsProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsProxy, pts_proxy_free)

void pts_proxy_set_sender (PtsProxy *proxy, PtsProxySendFunc send, gpointer user_data);

/* Where the XMPP connection of @full_jid comes from (a new reference), or
 * NULL when unknown; the embedded server knows, a component does not. Used
 * to tell a stream's own SOCKS5 connections from others (pts-pairing.h). */
typedef GInetAddress *(*PtsProxyPeerFunc) (const char *full_jid, gpointer user_data);
void pts_proxy_set_peer_lookup (PtsProxy *proxy, PtsProxyPeerFunc peer, gpointer user_data);
/* The SOCKS5 streamhost handed to clients. */
void pts_proxy_set_streamhost (PtsProxy *proxy, const char *host, guint16 port);
/* Enables the HTTP side: URLs handed out start with @base_url. */
void pts_proxy_set_http_base (PtsProxy *proxy, const char *base_url);

/* A stanza addressed to the proxy's JID; ownership passes. */
void pts_proxy_handle_stanza (PtsProxy *proxy, PtsNode *stanza);

/* A SOCKS5 client finished its handshake asking for @hash. Returns FALSE
 * (with the reason in @why) when it must be refused. */
gboolean pts_proxy_socks5_attach (PtsProxy *proxy, const char *hash, GSocketConnection *conn,
                                  const char **why);

/* The HTTP side's endpoints waiting for their request, or NULL. */
/* The tokens are the last part of the capability URLs (PROTOCOL.md §8). */
PtsEndpoint *pts_proxy_find_upload (PtsProxy *proxy, const char *token);
PtsEndpoint *pts_proxy_find_download (PtsProxy *proxy, const char *token, gboolean *taken);

/* The /status document: live sessions and counters. */
void pts_proxy_build_status (PtsProxy *proxy, JsonBuilder *builder, gboolean tls);

G_END_DECLS
