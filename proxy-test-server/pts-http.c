/* pts-http.c — the bs-proxy HTTP side: uploads, downloads and /status
 *
 *   POST /upload/<token>   the sender's multipart upload (PROTOCOL.md §3)
 *   GET  /<token>[/name]   the receiver's download (PROTOCOL.md §2)
 *   GET  /status           live sessions and counters, as JSON, to loopback
 *                          and --status-allow only (PROTOCOL.md §8)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <libsoup/soup.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pts-http-endpoint.h"
#include "pts-http.h"
#include "pts-net.h"

#define PTS_UPLOAD_PREFIX "/upload/"

struct _PtsHttp
{
  const PtsConfig *config;
  PtsProxy *proxy;
  SoupServer *server;
  char *base_url;
};

/* /status is for the operator (PROTOCOL.md §8). */
static gboolean
pts_http_may_read_status (PtsHttp *self, SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return G_IS_INET_SOCKET_ADDRESS (remote)
         && pts_config_may_read_status (
             self->config, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
}

static void
pts_http_plain (SoupServerMessage *msg, guint status, const char *text)
{
  g_autofree char *body = g_strdup_printf ("%s\n", text);

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

/* Refuses a request before its body is read: the body is then dropped as
 * it arrives instead of piling up in memory. */
static void
pts_http_refuse_early (SoupServerMessage *msg, guint status, const char *text)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
  pts_http_plain (msg, status, text);
}

static const char *
pts_http_upload_refusal (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_CONFLICT: return "this upload URL is already in use";
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE: return "the upload is over the size limit";
    case SOUP_STATUS_BAD_REQUEST: return "an upload is multipart/form-data with a boundary";
    default: return "upload refused";
    }
}

static void
pts_http_early (SoupServer *server, SoupServerMessage *msg, const char *path,
                GHashTable *query, gpointer user_data)
{
  PtsHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  PtsEndpoint *ep;
  guint status;
  GSocket *socket = soup_server_message_get_socket (msg);

  /* Small answers and pushes must not wait for delayed ACKs. */
  if (socket != NULL)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  if (!g_str_has_prefix (path, PTS_UPLOAD_PREFIX))
    {
      if (method == SOUP_METHOD_POST || method == SOUP_METHOD_PUT)
        pts_http_refuse_early (msg, SOUP_STATUS_NOT_FOUND, "no such upload URL");
      return;
    }
  if (method != SOUP_METHOD_POST)
    {
      pts_http_refuse_early (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "uploads are POSTed");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "POST");
      return;
    }
  ep = pts_proxy_find_upload (self->proxy, path + strlen (PTS_UPLOAD_PREFIX));
  if (ep == NULL)
    {
      pts_http_refuse_early (msg, SOUP_STATUS_NOT_FOUND, "no such upload URL (or it expired)");
      return;
    }
  status = pts_http_upload_attach (ep, msg);
  if (status != 0)
    pts_http_refuse_early (msg, status, pts_http_upload_refusal (status));
}

static void
pts_http_status_page (PtsHttp *self, SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  gsize len = 0;
  char *json;

  pts_proxy_build_status (self->proxy, builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json = json_generator_to_data (generator, &len);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, json, len);
}

static void
pts_http_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
                  GHashTable *query, gpointer user_data)
{
  PtsHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  PtsEndpoint *ep;
  guint status;
  g_autofree char *id = NULL;
  const char *slash;

  if (pts_http_answer_pending (msg))
    return;

  if (g_str_has_prefix (path, PTS_UPLOAD_PREFIX))
    {
      ep = pts_proxy_find_upload (self->proxy, path + strlen (PTS_UPLOAD_PREFIX));
      if (ep == NULL)
        pts_http_plain (msg, SOUP_STATUS_NOT_FOUND, "no such upload URL (or it expired)");
      else
        pts_http_upload_got_body (ep, msg);
      return;
    }

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      pts_http_plain (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET here");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET");
      return;
    }
  if (strcmp (path, "/status") == 0)
    {
      if (pts_http_may_read_status (self, msg))
        pts_http_status_page (self, msg);
      else
        pts_http_plain (msg, SOUP_STATUS_FORBIDDEN,
                        "the status page is for the operator (see --status-allow)");
      return;
    }

  /* /<id>, optionally followed by /<file name> for browsers' sake. */
  slash = strchr (path + 1, '/');
  id = slash ? g_strndup (path + 1, slash - path - 1) : g_strdup (path + 1);
  ep = *id ? pts_proxy_find_download (self->proxy, id) : NULL;
  if (ep == NULL)
    {
      pts_http_plain (msg, SOUP_STATUS_NOT_FOUND, "no such download (or it expired)");
      return;
    }
  if (method == SOUP_METHOD_HEAD)
    {
      pts_http_plain (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "a download is fetched once, by GET");
      return;
    }
  status = pts_http_download_attach (ep, msg);
  if (status != 0)
    pts_http_plain (msg, status, "this file was already downloaded: one download per transfer");
}

PtsHttp *
pts_http_new (const PtsConfig *config, PtsProxy *proxy)
{
  PtsHttp *self = g_new0 (PtsHttp, 1);

  self->config = config;
  self->proxy = proxy;
  self->server = soup_server_new ("server-header", "proxy-test-server/" PACKAGE_VERSION " ",
                                  NULL);
  soup_server_add_early_handler (self->server, "/", pts_http_early, self, NULL);
  soup_server_add_handler (self->server, "/", pts_http_handler, self, NULL);
  return self;
}

guint16
pts_http_listen (PtsHttp *self, const char *address, guint16 port, GError **error)
{
  g_autoptr (GSocket) socket = pts_net_listen_socket (address, port, error);
  guint16 bound;

  if (socket == NULL)
    return 0;
  if (!soup_server_listen_socket (self->server, socket, 0, error))
    {
      g_prefix_error (error, "cannot serve HTTP on %s port %u: ", address, port);
      return 0;
    }
  bound = pts_net_local_port (socket);

  g_free (self->base_url);
  if (self->config->http_base_url != NULL)
    self->base_url = g_strdup (self->config->http_base_url);
  else if (strchr (address, ':') != NULL)
    self->base_url = g_strdup_printf ("http://[%s]:%u", address, bound);
  else
    self->base_url = g_strdup_printf ("http://%s:%u", address, bound);
  pts_proxy_set_http_base (self->proxy, self->base_url);
  return bound;
}

const char *
pts_http_get_base_url (PtsHttp *self)
{
  return self->base_url;
}

void
pts_http_free (PtsHttp *self)
{
  if (self == NULL)
    return;
  pts_proxy_set_http_base (self->proxy, NULL);
  soup_server_disconnect (self->server);
  pts_http_endpoint_shutdown ();
  g_object_unref (self->server);
  g_free (self->base_url);
  g_free (self);
}
