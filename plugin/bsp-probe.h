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

/* @reachable, and when not, why: the network's proxy's refusal as
 * bsp_http_proxy_status_error () gives it (BSP_HTTP_ERROR_PROXY_*), or
 * another error whose message is for the debug log. @unverified (the
 * callee's, or NULL): reachable, but with a certificate the system does
 * not trust, for bsp_tls_ask_async (). Not called after @cancellable was
 * cancelled. */
typedef void (*BspProbeDone) (gboolean reachable, const GError *why, BspTlsPeer *unverified,
                              gpointer user_data);

/* GETs @base (a bs-proxy's advertised http-base) through @session, that is
 * through the account's proxy settings, and calls @done once: reachable
 * only for the bs-proxy's own answer (PROTOCOL.md §1.5), so that an office
 * proxy's error page does not count. */
void bsp_probe_http (SoupSession *session, const char *base, GCancellable *cancellable,
                     BspProbeDone done, gpointer user_data);

G_END_DECLS
