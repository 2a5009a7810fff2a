/* bsp-http-proxy.c — the network's own proxy on the plugin's HTTP leg
 *
 * An office network often lets only web traffic out, through an HTTP
 * proxy that may want a user name and password. libsoup 3 takes the
 * proxy from a GProxyResolver but ignores credentials in the proxy's URI:
 * a 407 is answered only through SoupMessage::authenticate, from the
 * account's proxy settings (its own or the global ones). The proxy's own
 * refusals are told apart from the bs-proxy's answers, so that the user
 * reads which of the two said no.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-http-proxy.h"
#include "bsp-http.h"

/* Every read, write and idle connection is bounded: a GET may wait this
 * long for the sender's first bytes (PROTOCOL.md §2), and a transfer in
 * progress is watched for stalls separately. */
#define BSP_HTTP_TIMEOUT 120

struct _BspHttpProxy
{
  gint ref_count; /* atomic */
  GProxyResolver *resolver;
  char *user;     /* NULL: none configured */
  char *password; /* "" when only a user name is */
};

/* What SoupMessage::authenticate made of the network proxy's 407. */
typedef enum
{
  BSP_PROXY_AUTH_NONE,     /* never asked */
  BSP_PROXY_AUTH_ANSWERED, /* the credentials went once */
  BSP_PROXY_AUTH_MISSING,  /* asked, and none are configured */
  BSP_PROXY_AUTH_REFUSED,  /* asked again after the answer */
} BspProxyAuth;

#define BSP_PROXY_KEY "bsp-http-proxy"
#define BSP_PROXY_AUTH_KEY "bsp-http-proxy-auth"
#define BSP_PROXY_HEADERS_KEY "bsp-http-proxy-headers"

static GProxyResolver *
bsp_http_proxy_resolver (PurpleProxyInfo *info)
{
  static const char *const no_proxy[] = { "localhost", "127.0.0.0/8", "::1", NULL };
  const char *scheme = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *user = NULL;

  switch (info ? purple_proxy_info_get_type (info) : PURPLE_PROXY_NONE)
    {
    case PURPLE_PROXY_HTTP: scheme = "http"; break;
    case PURPLE_PROXY_SOCKS4: scheme = "socks4"; break;
    case PURPLE_PROXY_SOCKS5:
    case PURPLE_PROXY_TOR: scheme = "socks5"; break;
    case PURPLE_PROXY_USE_ENVVAR:
      /* libpurple read http_proxy (user and password included) into
       * @info, as for its own connections; without it, GIO's default
       * resolver reads the environment. */
      if (purple_proxy_info_get_host (info) == NULL || *purple_proxy_info_get_host (info) == '\0')
        return g_object_ref (g_proxy_resolver_get_default ());
      scheme = "http";
      break;
    case PURPLE_PROXY_NONE:
    case PURPLE_PROXY_USE_GLOBAL:
    default:
      /* Direct: a resolver without a default proxy. */
      return g_simple_proxy_resolver_new (NULL, (char **) no_proxy);
    }

  /* GIO's SOCKS client takes credentials from the URI; an HTTP proxy's
   * go through bsp_http_proxy_watch (), never into a URI. */
  if (*scheme == 's' && purple_proxy_info_get_username (info) != NULL
      && *purple_proxy_info_get_username (info) != '\0')
    {
      g_autofree char *u = g_uri_escape_string (purple_proxy_info_get_username (info), NULL, FALSE);
      g_autofree char *p = g_uri_escape_string (
          purple_proxy_info_get_password (info) ? purple_proxy_info_get_password (info) : "", NULL,
          FALSE);
      user = g_strdup_printf ("%s:%s@", u, p);
    }
  uri = g_strdup_printf ("%s://%s%s:%d", scheme, user ? user : "",
                         purple_proxy_info_get_host (info), purple_proxy_info_get_port (info));
  return g_simple_proxy_resolver_new (uri, (char **) no_proxy);
}

BspHttpProxy *
bsp_http_proxy_new (PurpleAccount *account)
{
  /* The account's own settings, or the global ones it defers to. */
  PurpleProxyInfo *info = purple_proxy_get_setup (account);
  BspHttpProxy *proxy = g_new0 (BspHttpProxy, 1);
  const char *user = info ? purple_proxy_info_get_username (info) : NULL;
  const char *password = info ? purple_proxy_info_get_password (info) : NULL;

  proxy->ref_count = 1;
  proxy->resolver = bsp_http_proxy_resolver (info);
  if (user != NULL && *user != '\0')
    {
      proxy->user = g_strdup (user);
      proxy->password = g_strdup (password ? password : "");
    }
  return proxy;
}

BspHttpProxy *
bsp_http_proxy_ref (BspHttpProxy *proxy)
{
  g_atomic_int_inc (&proxy->ref_count);
  return proxy;
}

void
bsp_http_proxy_unref (BspHttpProxy *proxy)
{
  if (proxy == NULL || !g_atomic_int_dec_and_test (&proxy->ref_count))
    return;
  g_object_unref (proxy->resolver);
  g_free (proxy->user);
  if (proxy->password != NULL)
    explicit_bzero (proxy->password, strlen (proxy->password));
  g_free (proxy->password);
  g_free (proxy);
}

SoupSession *
bsp_http_proxy_session_new (BspHttpProxy *proxy)
{
  SoupSession *session = soup_session_new_with_options (
      "proxy-resolver", proxy->resolver, "user-agent", "pidgin-bsproxy/" PACKAGE_VERSION,
      "idle-timeout", BSP_HTTP_TIMEOUT, "timeout", BSP_HTTP_TIMEOUT, NULL);

  g_object_set_data_full (G_OBJECT (session), BSP_PROXY_KEY, bsp_http_proxy_ref (proxy),
                          (GDestroyNotify) bsp_http_proxy_unref);
  return session;
}

BspHttpProxy *
bsp_http_proxy_from_session (SoupSession *session)
{
  return g_object_get_data (G_OBJECT (session), BSP_PROXY_KEY);
}

static gboolean
bsp_http_proxy_authenticate (SoupMessage *msg, SoupAuth *auth, gboolean retrying,
                             gpointer user_data)
{
  BspHttpProxy *proxy = user_data;
  BspProxyAuth verdict;

  /* The bs-proxy never asks for credentials (the URL is the capability):
   * a server that does gets none. */
  if (!soup_auth_is_for_proxy (auth))
    return FALSE;
  if (proxy->user == NULL)
    verdict = BSP_PROXY_AUTH_MISSING;
  else if (retrying)
    verdict = BSP_PROXY_AUTH_REFUSED;
  else
    verdict = BSP_PROXY_AUTH_ANSWERED;
  g_object_set_data (G_OBJECT (msg), BSP_PROXY_AUTH_KEY, GINT_TO_POINTER (verdict));
  if (verdict != BSP_PROXY_AUTH_ANSWERED)
    return FALSE; /* unanswered: libsoup ends the request with the 407 */
  soup_auth_authenticate (auth, proxy->user, proxy->password);
  return TRUE;
}

/* The message's own response head: a CONNECT refused by the network
 * proxy sets the status without one. */
static void
bsp_http_proxy_got_headers (SoupMessage *msg, gpointer user_data)
{
  g_object_set_data (G_OBJECT (msg), BSP_PROXY_HEADERS_KEY, GINT_TO_POINTER (TRUE));
}

static void
bsp_http_proxy_closure_unref (gpointer data, GClosure *closure)
{
  bsp_http_proxy_unref (data);
}

void
bsp_http_proxy_watch (BspHttpProxy *proxy, SoupMessage *msg)
{
  g_object_set_data_full (G_OBJECT (msg), BSP_PROXY_KEY, bsp_http_proxy_ref (proxy),
                          (GDestroyNotify) bsp_http_proxy_unref);
  g_signal_connect_data (msg, "authenticate", G_CALLBACK (bsp_http_proxy_authenticate),
                         bsp_http_proxy_ref (proxy), bsp_http_proxy_closure_unref, 0);
  g_signal_connect (msg, "got-headers", G_CALLBACK (bsp_http_proxy_got_headers), NULL);
}

gboolean
bsp_http_proxy_sign_in (BspHttpProxy *proxy, SoupSession *session, const char *url,
                        GCancellable *cancellable, GError **error)
{
  /* A bodiless request meets the proxy's 407 first and, answered, leaves
   * the credentials in the session, which then sends them with the POST
   * unasked. Sent with the POST, its body would go whole before the 407 is
   * read (libsoup writes a request before it reads), and libsoup 3.2 ends
   * a request with "Expect: 100-continue" that got a 407 only at its I/O
   * timeout, and never sends it again once restarted. The bs-proxy answers
   * a HEAD on an upload URL with 405 and nothing else (PROTOCOL.md §5). */
  g_autoptr (SoupMessage) probe = soup_message_new (SOUP_METHOD_HEAD, url);
  g_autoptr (GBytes) ignored = NULL;
  GError *refused;

  if (probe == NULL)
    return TRUE; /* the POST says why */
  soup_message_add_flags (probe, SOUP_MESSAGE_NO_REDIRECT);
  bsp_http_proxy_watch (proxy, probe);
  ignored = soup_session_send_and_read (session, probe, cancellable, error);
  if (ignored == NULL)
    return FALSE;
  refused = SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (probe))
                ? NULL
                : bsp_http_proxy_status_error (probe);
  if (refused != NULL)
    {
      g_propagate_error (error, refused);
      return FALSE;
    }
  return TRUE;
}

char *
bsp_http_proxy_http_for (BspHttpProxy *proxy, const char *url, GCancellable *cancellable)
{
  g_auto (GStrv) proxies = g_proxy_resolver_lookup (proxy->resolver, url, cancellable, NULL);
  g_autoptr (GUri) uri = NULL;

  if (proxies == NULL || proxies[0] == NULL || g_str_equal (proxies[0], "direct://"))
    return NULL;
  uri = g_uri_parse (proxies[0], G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0
      || g_uri_get_host (uri) == NULL)
    return NULL;
  return g_strdup_printf ("%s:%d", g_uri_get_host (uri),
                          g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 80);
}

GError *
bsp_http_proxy_status_error (SoupMessage *msg)
{
  BspHttpProxy *proxy = g_object_get_data (G_OBJECT (msg), BSP_PROXY_KEY);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  guint status = soup_message_get_status (msg);
  BspProxyAuth verdict = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (msg), BSP_PROXY_AUTH_KEY));
  const char *squid = soup_message_headers_get_one (headers, "X-Squid-Error");
  g_autofree char *url = g_uri_to_string (soup_message_get_uri (msg));
  g_autofree char *via = NULL;
  BspHttpError code;

  if (proxy == NULL)
    return NULL;
  via = bsp_http_proxy_http_for (proxy, url, NULL);
  /* The bs-proxy never answers 407 (PROTOCOL.md §5); a status without a
   * head of the message's own is a refused CONNECT; squid marks its
   * error pages. */
  if (via == NULL
      || (status != SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED && squid == NULL
          && g_object_get_data (G_OBJECT (msg), BSP_PROXY_HEADERS_KEY) != NULL))
    return NULL;
  if (status != SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED)
    code = BSP_HTTP_ERROR_PROXY_REFUSED;
  else if (verdict == BSP_PROXY_AUTH_MISSING || proxy->user == NULL)
    code = BSP_HTTP_ERROR_PROXY_NEED_AUTH;
  else
    code = BSP_HTTP_ERROR_PROXY_AUTH;
  return g_error_new (BSP_HTTP_ERROR, code, "%s answered %u %s%s%s", via, status,
                      soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg)
                                                           : soup_status_get_phrase (status),
                      squid ? ", " : "", squid ? squid : "");
}
