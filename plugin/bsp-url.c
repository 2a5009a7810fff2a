/* bsp-url.c — which URLs from a bs-proxy the plugin will fetch or post to
 *
 * The URLs in <activated url=…> come from the network: a proxy (or anyone
 * who can make a stanza look like one) could point the plugin at another
 * host of the user's network, at a local file, or at a scheme libsoup or
 * GIO might handle in surprising ways. Only http and https are taken, and
 * only on the HTTP base that the proxy advertised in its disco#info form,
 * when it advertised one (other implementations of the protocol don't).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-url.h"

G_DEFINE_QUARK (bsp - url - error - quark, bsp_url_error)

static gint
bsp_url_port (GUri *uri)
{
  gint port = g_uri_get_port (uri);

  if (port > 0)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

static const char *
bsp_url_path (GUri *uri)
{
  const char *path = g_uri_get_path (uri);

  return path != NULL && *path != '\0' ? path : "/";
}

/* A "." or ".." segment, however written, would let a path that starts
 * with the base's path leave it once a server resolves it. */
static gboolean
bsp_url_has_dot_segment (const char *path)
{
  g_auto (GStrv) segments = g_strsplit (path, "/", -1);

  for (guint i = 0; segments[i] != NULL; i++)
    if (g_str_equal (segments[i], ".") || g_str_equal (segments[i], ".."))
      return TRUE;
  return FALSE;
}

/* Parses @text as an absolute http(s) URL fit for a transfer. */
static GUri *
bsp_url_parse (const char *text, const char *what, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GUri) encoded = NULL;
  const char *scheme;

  if (text == NULL || *text == '\0')
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_INVALID, "the %s is empty", what);
      return NULL;
    }
  /* URLs on the wire are printable ASCII; GUri is lenient with the rest. */
  for (const char *p = text; *p != '\0'; p++)
    if (*p <= 0x20 || *p >= 0x7f)
      {
        g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_INVALID,
                     "the %s has a space or a character outside printable ASCII", what);
        return NULL;
      }
  /* Decoded, so that %2e%2e shows up as the ".." it is; the encoded parse
   * keeps what a decoded "/" would hide. */
  uri = g_uri_parse (text, G_URI_FLAGS_NONE, &local);
  if (uri != NULL)
    encoded = g_uri_parse (text, G_URI_FLAGS_ENCODED, &local);
  if (encoded == NULL)
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_INVALID, "the %s is not a valid URL", what);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_SCHEME, "the %s is not an http or https URL",
                   what);
      return NULL;
    }
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_INVALID, "the %s names no host", what);
      return NULL;
    }
  if (g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_INVALID, "the %s carries user info", what);
      return NULL;
    }
  if (bsp_url_has_dot_segment (bsp_url_path (uri))
      || bsp_url_has_dot_segment (bsp_url_path (encoded)))
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_INVALID,
                   "the %s has a \".\" or \"..\" path segment", what);
      return NULL;
    }
  return g_steal_pointer (&uri);
}

gboolean
bsp_url_base_is_valid (const char *http_base)
{
  g_autoptr (GUri) base = bsp_url_parse (http_base, "HTTP base", NULL);

  return base != NULL;
}

gboolean
bsp_url_check (const char *url, const char *http_base, GError **error)
{
  g_autoptr (GUri) uri = bsp_url_parse (url, "URL", error);
  g_autoptr (GUri) base = NULL;
  const char *base_path;
  const char *path;
  gsize base_len;

  if (uri == NULL)
    return FALSE;
  if (http_base == NULL)
    return TRUE;
  base = bsp_url_parse (http_base, "advertised HTTP base", error);
  if (base == NULL)
    return FALSE;

  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), g_uri_get_scheme (base)) != 0
      || g_ascii_strcasecmp (g_uri_get_host (uri), g_uri_get_host (base)) != 0
      || bsp_url_port (uri) != bsp_url_port (base))
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_FOREIGN,
                   "the URL is not on the HTTP server the proxy advertised");
      return FALSE;
    }
  base_path = bsp_url_path (base);
  path = bsp_url_path (uri);
  base_len = strlen (base_path);
  /* "/bsp" covers "/bsp" and "/bsp/…", never "/bspx". */
  if (strncmp (path, base_path, base_len) != 0
      || (base_path[base_len - 1] != '/' && path[base_len] != '\0' && path[base_len] != '/'))
    {
      g_set_error (error, BSP_URL_ERROR, BSP_URL_ERROR_FOREIGN,
                   "the URL is outside the HTTP base the proxy advertised");
      return FALSE;
    }
  return TRUE;
}
