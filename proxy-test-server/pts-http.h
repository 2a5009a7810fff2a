/* pts-http.h — the bs-proxy HTTP side: uploads, downloads and /status
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-config.h"
#include "pts-proxy.h"

G_BEGIN_DECLS

typedef struct _PtsHttp PtsHttp;

PtsHttp *pts_http_new (const PtsConfig *config, PtsProxy *proxy);
/* Binds @address:@port (0 = any free port), enables the proxy's HTTP side
 * with the base URL (--http-base-url, or the bound address); returns the
 * bound port or 0. */
guint16 pts_http_listen (PtsHttp *http, const char *address, guint16 port, GError **error);
const char *pts_http_get_base_url (PtsHttp *http);
void pts_http_free (PtsHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsHttp, pts_http_free)

G_END_DECLS
