/* fuzz-url.c — fuzz target for the plugin's check of the URLs a proxy sends
 *
 * The input is an advertised HTTP base, a newline, and a URL, as a
 * bs-proxy's disco#info form and its <activated url=…> push would carry
 * them. Whatever bsp_url_check () lets through must, read the way libsoup
 * reads a URL it is asked to fetch (GUri with libsoup's flags, percent
 * escapes of the path kept), be:
 *   - http or https, the base's scheme, host (case aside) and port
 *     (defaults filled in), with no user name or password;
 *   - a path under the base's path, by whole segments, with no "." or ".."
 *     segment even once each segment is percent-decoded;
 *   - printable ASCII only.
 * Without a base only the first and last of these hold, and the answer
 * never depends on anything but the two strings.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "bsp-url.h"

/* Longer inputs only repeat what shorter ones test. */
#define FUZZ_URL_MAX_LEN 4096
/* How libsoup 3 parses the URL of a message (its SOUP_HTTP_URI_FLAGS). */
#define FUZZ_URL_SOUP_FLAGS                                                                        \
  (G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_ENCODED_QUERY                 \
   | G_URI_FLAGS_ENCODED_FRAGMENT | G_URI_FLAGS_SCHEME_NORMALIZE)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_url_fail (const char *what, const char *base, const char *url)
{
  fprintf (stderr, "fuzz-url: %s\n  base: %s\n  url:  %s\n", what, base ? base : "(none)", url);
  abort ();
}

#define FUZZ_URL_CHECK(cond, base, url)                                                            \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(cond))                                                                                   \
      fuzz_url_fail (#cond, (base), (url));                                                        \
  }                                                                                                \
  G_STMT_END

static gint
fuzz_url_port (GUri *uri)
{
  gint port = g_uri_get_port (uri);

  if (port > 0)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

static const char *
fuzz_url_path (GUri *uri)
{
  const char *path = g_uri_get_path (uri);

  return path != NULL && *path != '\0' ? path : "/";
}

static gboolean
fuzz_url_printable (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (*p <= 0x20 || *p >= 0x7f)
      return FALSE;
  return TRUE;
}

/* Whether some segment of @path, percent-decoded, is "." or "..". */
static gboolean
fuzz_url_dot_segment (const char *path)
{
  g_auto (GStrv) segments = g_strsplit (path, "/", -1);

  for (guint i = 0; segments[i] != NULL; i++)
    {
      g_autofree char *plain = g_uri_unescape_string (segments[i], NULL);
      const char *s = plain ? plain : segments[i];

      if (g_str_equal (s, ".") || g_str_equal (s, ".."))
        return TRUE;
    }
  return FALSE;
}

/* What must hold of @url, accepted under @base (or under no base). */
static void
fuzz_url_accepted (const char *base, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, FUZZ_URL_SOUP_FLAGS, NULL);
  g_autoptr (GUri) b = NULL;
  const char *path, *base_path;
  gsize n;

  FUZZ_URL_CHECK (fuzz_url_printable (url), base, url);
  FUZZ_URL_CHECK (uri != NULL, base, url);
  FUZZ_URL_CHECK (g_str_equal (g_uri_get_scheme (uri), "http")
                      || g_str_equal (g_uri_get_scheme (uri), "https"),
                  base, url);
  FUZZ_URL_CHECK (g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0', base, url);
  FUZZ_URL_CHECK (g_uri_get_user (uri) == NULL && g_uri_get_password (uri) == NULL, base, url);
  path = fuzz_url_path (uri);
  FUZZ_URL_CHECK (!fuzz_url_dot_segment (path), base, url);
  if (base == NULL)
    return;

  b = g_uri_parse (base, FUZZ_URL_SOUP_FLAGS, NULL);
  FUZZ_URL_CHECK (b != NULL, base, url);
  FUZZ_URL_CHECK (g_str_equal (g_uri_get_scheme (uri), g_uri_get_scheme (b)), base, url);
  FUZZ_URL_CHECK (g_ascii_strcasecmp (g_uri_get_host (uri), g_uri_get_host (b)) == 0, base, url);
  FUZZ_URL_CHECK (fuzz_url_port (uri) == fuzz_url_port (b), base, url);
  base_path = fuzz_url_path (b);
  n = strlen (base_path);
  FUZZ_URL_CHECK (strncmp (path, base_path, n) == 0, base, url);
  FUZZ_URL_CHECK (base_path[n - 1] == '/' || path[n] == '\0' || path[n] == '/', base, url);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;
  char *url;
  const char *base;
  gboolean with_base, without_base;

  if (size > FUZZ_URL_MAX_LEN || memchr (data, '\0', size) != NULL)
    return 0;
  text = g_strndup ((const char *) data, size);
  url = strchr (text, '\n');
  if (url == NULL)
    return 0;
  *url++ = '\0';
  base = text;

  with_base = bsp_url_check (url, base, NULL);
  without_base = bsp_url_check (url, NULL, NULL);
  /* A base only narrows what is taken, and a valid base is needed for any. */
  FUZZ_URL_CHECK (!with_base || without_base, base, url);
  FUZZ_URL_CHECK (!with_base || bsp_url_base_is_valid (base), base, url);
  FUZZ_URL_CHECK (with_base == bsp_url_check (url, base, NULL), base, url);
  if (with_base)
    fuzz_url_accepted (base, url);
  if (without_base)
    fuzz_url_accepted (NULL, url);
  /* The base, checked against itself, is inside itself. */
  if (bsp_url_base_is_valid (base))
    {
      FUZZ_URL_CHECK (bsp_url_check (base, base, NULL), base, base);
      fuzz_url_accepted (base, base);
    }
  return 0;
}
