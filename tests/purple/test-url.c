/* test-url.c — which proxy URLs the plugin takes (plugin/bsp-url.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib.h>

#include "bsp-url.h"

typedef struct
{
  const char *url;
  const char *base; /* NULL: the proxy advertised none */
  int error;        /* -1: accepted, else the BspUrlError */
} UrlCase;

static const UrlCase url_cases[] = {
  { "http://127.0.0.1:8080/tok", "http://127.0.0.1:8080/", -1 },
  { "http://127.0.0.1:8080/upload/tok", "http://127.0.0.1:8080/", -1 },
  { "HTTP://127.0.0.1:8080/tok", "http://127.0.0.1:8080/", -1 },
  { "https://proxy.example:443/b/tok", "https://proxy.example/b/", -1 },
  { "http://proxy.example/b", "http://proxy.example/b", -1 },
  { "http://proxy.example/b/tok", "http://proxy.example/b", -1 },
  { "http://proxy.example/bx/tok", "http://proxy.example/b", BSP_URL_ERROR_FOREIGN },
  { "http://proxy.example/c/tok", "http://proxy.example/b/", BSP_URL_ERROR_FOREIGN },
  { "http://127.0.0.1:8081/tok", "http://127.0.0.1:8080/", BSP_URL_ERROR_FOREIGN },
  { "http://127.0.0.2:8080/tok", "http://127.0.0.1:8080/", BSP_URL_ERROR_FOREIGN },
  { "https://127.0.0.1:8080/tok", "http://127.0.0.1:8080/", BSP_URL_ERROR_FOREIGN },
  { "http://proxy.example:80/tok", "http://proxy.example/", -1 },
  { "http://localhost:8080/tok", "http://127.0.0.1:8080/", BSP_URL_ERROR_FOREIGN },
  { "http://127.0.0.1:8080/b/../a", "http://127.0.0.1:8080/b/", BSP_URL_ERROR_FOREIGN },
  { "http://127.0.0.1:8080/b/%2e%2e/a", "http://127.0.0.1:8080/b/", BSP_URL_ERROR_FOREIGN },
  { "http://u:p@127.0.0.1:8080/tok", "http://127.0.0.1:8080/", BSP_URL_ERROR_INVALID },
  { "ftp://127.0.0.1:8080/tok", "http://127.0.0.1:8080/", BSP_URL_ERROR_SCHEME },
  { "ftp://127.0.0.1/tok", NULL, BSP_URL_ERROR_SCHEME },
  { "file:///etc/passwd", NULL, BSP_URL_ERROR_SCHEME },
  { "data:,hello", NULL, BSP_URL_ERROR_SCHEME },
  { "javascript:alert(1)", NULL, BSP_URL_ERROR_SCHEME },
  { "http:///tok", NULL, BSP_URL_ERROR_INVALID },
  { "/tok", NULL, BSP_URL_ERROR_INVALID },
  { "", NULL, BSP_URL_ERROR_INVALID },
  { "http://a b/tok", NULL, BSP_URL_ERROR_INVALID },
  { "http://anywhere.example:1234/x", NULL, -1 },
  { "https://anywhere.example/x", NULL, -1 },
  { "http://127.0.0.1:8080/tok", "not a url", BSP_URL_ERROR_INVALID },
  { "http://127.0.0.1:8080/tok", "ftp://127.0.0.1:8080/", BSP_URL_ERROR_SCHEME },
};

static void
test_url_check (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (url_cases); i++)
    {
      const UrlCase *c = &url_cases[i];
      g_autoptr (GError) error = NULL;
      gboolean ok = bsp_url_check (c->url, c->base, &error);

      g_test_message ("%s under %s: %s", c->url, c->base ? c->base : "(none)",
                      error ? error->message : "accepted");
      if (c->error < 0)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_error (error, BSP_URL_ERROR, c->error);
          g_assert_false (ok);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin/url/check", test_url_check);
  return g_test_run ();
}
