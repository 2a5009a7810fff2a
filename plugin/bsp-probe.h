/* bsp-probe.h — is a bs-proxy's HTTP side reachable from here?
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "bsp-prefs.h"
#include "bsp-tls.h"

G_BEGIN_DECLS

/* How long a check may take before it counts as "not reachable" (the
 * preference BSP_PREF_PROBE_SECONDS). */
#define BSP_PROBE_TIMEOUT_S (bsp_prefs_get_probe_seconds ())

/* GETs @base (a bs-proxy's advertised http-base) through @session, that is
 * through the account's proxy settings, then calls @callback (GTask: once,
 * from the main loop, also after @cancellable was cancelled): reachable
 * only for the bs-proxy's own answer (PROTOCOL.md §1.5), so that an office
 * proxy's error page does not count. */
void bsp_probe_http_async (SoupSession *session, const char *base, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
/* TRUE when reachable; otherwise FALSE and why in @error: the network's
 * proxy's refusal as bsp_http_proxy_status_error () gives it
 * (BSP_HTTP_ERROR_PROXY_*), G_IO_ERROR_CANCELLED, or another error whose
 * message is for the debug log. @unverified (may be NULL) gets, when
 * reachable with a certificate the system does not trust, that peer for
 * bsp_tls_ask_async () (the caller's; NULL otherwise). */
gboolean bsp_probe_http_finish (GAsyncResult *result, BspTlsPeer **unverified, GError **error);

G_END_DECLS
