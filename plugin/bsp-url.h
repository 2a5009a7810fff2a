/* bsp-url.h — which URLs from a bs-proxy the plugin will fetch or post to
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BSP_URL_ERROR (bsp_url_error_quark ())
GQuark bsp_url_error_quark (void);

typedef enum
{
  BSP_URL_ERROR_INVALID, /* not a URL at all, or one with user info or dot segments */
  BSP_URL_ERROR_SCHEME,  /* neither http nor https */
  BSP_URL_ERROR_FOREIGN, /* not under the proxy's advertised HTTP base */
} BspUrlError;

/* TRUE when @url may be used for a transfer through a proxy that
 * advertised @http_base (NULL: it advertised none): an absolute http or
 * https URL with a host, no user info and no "." or ".." segment, and,
 * when @http_base is given, with its scheme, host and port and a path
 * under its path. The message of @error is English, for logs and for the
 * reason shown to the user. */
gboolean bsp_url_check (const char *url, const char *http_base, GError **error);

/* TRUE when @http_base is usable as a base (the check above accepts it). */
gboolean bsp_url_base_is_valid (const char *http_base);

G_END_DECLS
