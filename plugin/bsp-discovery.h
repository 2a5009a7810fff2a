/* bsp-discovery.h — which bytestreams proxies around us speak bs-proxy
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <purple.h>

#include "bsp-iq.h"
#include "bsp-tls.h"

G_BEGIN_DECLS

typedef struct
{
  char *jid;         /* normalised */
  gboolean is_proxy; /* identity proxy/bytestreams */
  gboolean http;     /* http://oneteam.im/bs-proxy */
  gboolean bridge;   /* http://oneteam.im/bs-proxy#bridge */
  char *host;        /* its SOCKS5 streamhost, when asked */
  guint16 port;
  /* From its XEP-0128 form (FORM_TYPE http://oneteam.im/bs-proxy): the
   * base URL it hands out URLs under (NULL: none advertised; then any
   * http or https URL goes), and its size limit (0: none advertised). */
  char *http_base;
  guint64 max_file_size;
  /* Its http-base did not answer as a bs-proxy from here (PROTOCOL.md
   * §1.5): through this network, only its SOCKS5 side can serve. */
  gboolean http_blocked;
  GError *http_blocked_why; /* why, while blocked (see bsp-probe.h) */
  /* Its SOCKS5 host:port did not open from here, the way libpurple would
   * connect (through the account's proxy settings): a plain XEP-0065
   * transfer through it cannot work for us. FALSE until known. */
  gboolean socks5_blocked;
  /* Its HTTP side answered with a certificate the system does not trust
   * (NULL: none seen): libpurple is asked about it before a transfer is
   * committed to that side (bsp_tls_ask_async ()). */
  BspTlsPeer *tls_unverified;
} BspProxyInfo;

/* Whether transfers may go over @info's HTTP side from here. */
gboolean bsp_proxy_info_http_usable (const BspProxyInfo *info);

typedef struct _BspDiscovery BspDiscovery;

BspDiscovery *bsp_discovery_new (PurpleConnection *gc, BspIqTracker *iq);
void bsp_discovery_free (BspDiscovery *discovery);

/* Walks the server's disco items (and @extra_jid, if any): disco#info of
 * each, then the streamhost of every bytestreams proxy. */
void bsp_discovery_start (BspDiscovery *discovery, const char *extra_jid);
/* What is known of @jid now, or NULL. */
const BspProxyInfo *bsp_discovery_lookup (BspDiscovery *discovery, const char *jid);
/* A bs-proxy known now whose HTTP side does not answer from here, or NULL
 * (the first found, when several). */
const BspProxyInfo *bsp_discovery_find_http_blocked (BspDiscovery *discovery);
/* Calls @callback (GTask: once, from the main loop) when what @jid is is
 * known: its disco#info, and the check of its HTTP side when it has one;
 * it may be known already. Several may wait on one JID. Cancelling
 * @cancellable drops this waiter alone: @callback gets
 * G_IO_ERROR_CANCELLED and touches nothing of @user_data. A waiter's
 * owner cancels it before the discovery is freed (bsp_connection_free ()
 * ends the transfers first); one still waiting then ends cancelled. */
void bsp_discovery_ensure_async (BspDiscovery *discovery, const char *jid,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
/* @jid's info (the discovery's, valid while it lives), or NULL and why in
 * @error: G_IO_ERROR_NOT_FOUND when it did not answer or is not a
 * bytestreams proxy, G_IO_ERROR_INVALID_ARGUMENT when @jid is not a JID,
 * G_IO_ERROR_CANCELLED. */
const BspProxyInfo *bsp_discovery_ensure_finish (GAsyncResult *result, GError **error);
/* What is known of @jid, as the preferences tell the user. */
typedef enum
{
  BSP_PROXY_UNKNOWN,      /* not asked (yet) */
  BSP_PROXY_CHECKING,     /* asked, no answer yet */
  BSP_PROXY_NOT_PROXY,    /* answered, but not as a bytestreams proxy (or not at all) */
  BSP_PROXY_SOCKS5_ONLY,  /* a bytestreams proxy without the bs-proxy feature */
  BSP_PROXY_HTTP_BLOCKED, /* a bs-proxy whose HTTP side does not answer from here */
  BSP_PROXY_HTTP,         /* a bs-proxy whose HTTP side answers */
} BspProxyState;

BspProxyState bsp_discovery_state (BspDiscovery *discovery, const char *jid);
/* Asks @jid's disco#info now, unless it was asked already. */
void bsp_discovery_add (BspDiscovery *discovery, const char *jid);
/* Checks again whether @jid's HTTP side is reachable (after a transfer
 * could not reach it); what is known stays until the answer. */
void bsp_discovery_recheck_http (BspDiscovery *discovery, const char *jid);

G_END_DECLS
