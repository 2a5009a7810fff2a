/* bsp-http-proxy.h — the network's own proxy on the plugin's HTTP leg:
 * which one, its credentials, and telling its answers from the bs-proxy's
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <purple.h>

G_BEGIN_DECLS

/* An account's proxy settings as the HTTP leg uses them; immutable once
 * made, so a worker thread may share it (references are atomic). */
typedef struct _BspHttpProxy BspHttpProxy;

BspHttpProxy *bsp_http_proxy_new (PurpleAccount *account);
BspHttpProxy *bsp_http_proxy_ref (BspHttpProxy *proxy);
void bsp_http_proxy_unref (BspHttpProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspHttpProxy, bsp_http_proxy_unref)

/* A session that goes through @proxy, with bounded timeouts; for the
 * thread it is made in. */
SoupSession *bsp_http_proxy_session_new (BspHttpProxy *proxy);
/* The BspHttpProxy a session was made with (no reference given). */
BspHttpProxy *bsp_http_proxy_from_session (SoupSession *session);

/* Answers the network proxy's 407 on @msg once with the account's
 * credentials; never a request for credentials from the bs-proxy. Call
 * before sending @msg. */
void bsp_http_proxy_watch (BspHttpProxy *proxy, SoupMessage *msg);

/* Before a POST of a streamed body through an HTTP proxy in the clear, in
 * a worker thread: meets the proxy's 407 (and answers it) with a bodiless
 * request to @url. FALSE with @error when the proxy refused. */
gboolean bsp_http_proxy_sign_in (BspHttpProxy *proxy, SoupSession *session, const char *url,
                                 GCancellable *cancellable, GError **error);

/* "HOST:PORT" of the HTTP proxy that @url goes through, NULL when it goes
 * direct or through another kind of proxy. May block (a PAC script):
 * call from a worker thread, or only when something already failed. */
char *bsp_http_proxy_http_for (BspHttpProxy *proxy, const char *url, GCancellable *cancellable);

/* For a watched @msg that got a non-2xx status: the error when that status
 * is the network proxy's own (a 407, a refused CONNECT, squid's error
 * pages), NULL when it is the bs-proxy's answer. */
GError *bsp_http_proxy_status_error (SoupMessage *msg);

G_END_DECLS
