/* pts-http.c — the bs-proxy HTTP side: the server and its routes
 *
 *   POST /upload/<token>   the sender's multipart upload (PROTOCOL.md §3):
 *                          taken from libsoup after its head, read and
 *                          answered by pts-http-request.c, fed into the
 *                          relay by pts-http-upload.c
 *   GET  /<token>[/name]   the receiver's download (PROTOCOL.md §2), written
 *                          by libsoup from the relay (pts-http-download.c)
 *   GET  /status           live sessions and counters, as JSON, to loopback
 *                          and --status-allow only (PROTOCOL.md §8.2)
 *
 * Every POST to /upload/ takes one way: the early handler (after the head)
 * pauses it, an idle takes the connection from libsoup, and then the
 * upload's request either goes to its session or is answered at once, a
 * refusal before its body (PROTOCOL.md §5).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <libsoup/soup.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pts-http-download.h"
#include "pts-http-guard.h"
#include "pts-http-request.h"
#include "pts-http-upload.h"
#include "pts-http.h"
#include "pts-listener.h"
#include "pts-net.h"

#define PTS_UPLOAD_PREFIX "/upload/"

struct _PtsHttp
{
  const PtsConfig *config;
  PtsProxy *proxy;
  SoupServer *server;
  GTlsCertificate *certificate; /* HTTPS when set */
  PtsListener *listener;
  char *base_url;
  GHashTable *requests; /* PtsHttpRequest: uploads taken from libsoup, until they end */
  GList *takeovers;     /* PtsHttpTakeover: uploads waiting for their idle */
};

/* A POST to /upload/ between its head and the idle that takes it over. */
typedef struct
{
  PtsHttp *http;
  SoupServerMessage *msg;
  char *token;
  char *boundary;        /* NULL: not multipart/form-data */
  gint64 content_length; /* -1: chunked */
  gboolean expect_continue;
  guint idle_id;
} PtsHttpTakeover;

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
    case SOUP_STATUS_NOT_FOUND: return "no such upload URL (or it expired)";
    default: return "upload refused";
    }
}

/* ---- uploads: one way in ------------------------------------------------------------ */

static void
pts_http_takeover_free (PtsHttpTakeover *takeover)
{
  g_clear_handle_id (&takeover->idle_id, g_source_remove);
  g_clear_object (&takeover->msg);
  g_free (takeover->token);
  g_free (takeover->boundary);
  g_free (takeover);
}

/* libsoup does not know the sockets of connections handed to it as
 * streams: the message carries its own (PTS_HTTP_MESSAGE_SOCKET), found
 * through the listener that accepted it. */
static void
pts_http_remember_socket (PtsHttp *self, SoupServerMessage *msg)
{
  GSocket *socket;

  /* Under TLS the socket is never ours to take. */
  if (self->certificate != NULL)
    return;
  socket = pts_listener_socket_of (self->listener, soup_server_message_get_remote_address (msg));
  if (socket != NULL)
    g_object_set_data_full (G_OBJECT (msg), PTS_HTTP_MESSAGE_SOCKET, g_object_ref (socket),
                            g_object_unref);
}

/* The message's socket, unless TLS runs over it (then shutting it down
 * would cut the TLS stream short). */
static GSocket *
pts_http_plain_socket (SoupServerMessage *msg)
{
  GSocket *socket = g_object_get_data (G_OBJECT (msg), PTS_HTTP_MESSAGE_SOCKET);
  GUri *uri = soup_server_message_get_uri (msg);

  if (socket == NULL || uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0)
    return NULL;
  return g_object_ref (socket);
}

/* From an idle, with libsoup off the stack and the message paused after its
 * head: the connection becomes ours, and the upload's or an answer's. */
static gboolean
pts_http_take_over (gpointer user_data)
{
  PtsHttpTakeover *takeover = user_data;
  PtsHttp *self = takeover->http;
  GSocket *socket = pts_http_plain_socket (takeover->msg);
  GIOStream *stream;
  PtsHttpRequest *request;
  PtsEndpoint *ep;
  guint status;

  takeover->idle_id = 0;
  self->takeovers = g_list_remove (self->takeovers, takeover);
  stream = soup_server_message_steal_connection (takeover->msg);
  if (stream == NULL || !G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream))
      || !g_pollable_input_stream_can_poll (
          G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream))))
    {
      g_message ("an upload's connection is unusable");
      if (stream != NULL)
        {
          g_io_stream_close (stream, NULL, NULL);
          g_object_unref (stream);
        }
      g_clear_object (&socket);
      pts_http_takeover_free (takeover);
      return G_SOURCE_REMOVE;
    }
  if (takeover->expect_continue)
    {
      /* The client waits for a go before its body; libsoup, paused after
       * the head, never gave it. 25 bytes on a fresh connection: a
       * non-blocking write takes them. */
      GOutputStream *out = g_io_stream_get_output_stream (stream);
      static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";

      if (G_IS_POLLABLE_OUTPUT_STREAM (out))
        g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), go,
                                                    sizeof go - 1, NULL, NULL);
    }
  request = pts_http_request_new (stream, socket, takeover->content_length, self->requests);

  /* The session may have ended since the head came. */
  ep = pts_proxy_find_upload (self->proxy, takeover->token);
  status = ep != NULL ? pts_http_upload_check (ep, takeover->boundary, takeover->content_length)
                      : SOUP_STATUS_NOT_FOUND;
  if (status != 0)
    pts_http_request_answer (request, status, pts_http_upload_refusal (status), FALSE);
  else
    pts_http_upload_attach (ep, request, takeover->boundary);
  pts_http_takeover_free (takeover);
  return G_SOURCE_REMOVE;
}

static void
pts_http_upload_head (PtsHttp *self, SoupServerMessage *msg, const char *token)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr (GHashTable) params = NULL;
  PtsHttpTakeover *takeover = g_new0 (PtsHttpTakeover, 1);
  const char *type = soup_message_headers_get_content_type (headers, &params);
  const char *boundary = params != NULL ? g_hash_table_lookup (params, "boundary") : NULL;

  takeover->http = self;
  takeover->msg = g_object_ref (msg);
  takeover->token = g_strdup (token);
  if (type != NULL && g_ascii_strcasecmp (type, "multipart/form-data") == 0)
    takeover->boundary = g_strdup (boundary);
  takeover->content_length
      = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
            ? soup_message_headers_get_content_length (headers)
            : -1;
  takeover->expect_continue
      = (soup_message_headers_get_expectations (headers) & SOUP_EXPECTATION_CONTINUE) != 0;
  soup_server_message_pause (msg);
  takeover->idle_id = g_idle_add (pts_http_take_over, takeover);
  self->takeovers = g_list_prepend (self->takeovers, takeover);
}

/* ---- routes ------------------------------------------------------------------------ */

static void
pts_http_early (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  PtsHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);

  pts_http_remember_socket (self, msg);

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
  pts_http_upload_head (self, msg, path + strlen (PTS_UPLOAD_PREFIX));
}

static void
pts_http_status_page (PtsHttp *self, SoupServerMessage *msg)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  gsize len = 0;
  char *json;

  pts_proxy_build_status (self->proxy, builder, self->certificate != NULL);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json = json_generator_to_data (generator, &len);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-store");
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, json, len);
}

/* /status is for the operator (PROTOCOL.md §8.2). */
static gboolean
pts_http_may_read_status (PtsHttp *self, SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return G_IS_INET_SOCKET_ADDRESS (remote)
         && pts_config_may_read_status (
             self->config, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
}

static void
pts_http_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                  gpointer user_data)
{
  PtsHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  PtsEndpoint *ep;
  g_autofree char *token = NULL;
  gboolean taken = FALSE;
  const char *slash;

  if (soup_server_message_get_status (msg) != 0)
    return; /* answered from the head already */
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      pts_http_plain (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "only GET here");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET");
      return;
    }
  if (strcmp (path, "/") == 0)
    {
      /* The base URL itself: a client's reachability check (PROTOCOL.md
       * §1.5), answered without a body. */
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Bs-Proxy",
                                    "1");
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

  /* /<token>, optionally followed by /<file name> for browsers' sake. */
  slash = strchr (path + 1, '/');
  token = slash ? g_strndup (path + 1, slash - path - 1) : g_strdup (path + 1);
  ep = *token ? pts_proxy_find_download (self->proxy, token, &taken) : NULL;
  if (taken)
    {
      pts_http_plain (msg, SOUP_STATUS_GONE,
                      "this file is being downloaded already: one download per transfer");
      return;
    }
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
  if (pts_http_download_attach (ep, msg) != 0)
    pts_http_plain (msg, SOUP_STATUS_GONE,
                    "this file is being downloaded already: one download per transfer");
}

/* A connection through our listener (its limits, its idle timeout) goes
 * to libsoup. */
static void
pts_http_accepted (GSocketConnection *conn, gpointer user_data)
{
  PtsHttp *self = user_data;
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (conn, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  g_autoptr (GIOStream) guarded = NULL;
  g_autoptr (GError) error = NULL;

  if (local == NULL || remote == NULL)
    return; /* reset before we took it: nothing to serve */
  /* Small answers and pushes must not wait for delayed ACKs. */
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (self->certificate != NULL)
    {
      /* HTTPS: the handshake happens on libsoup's first read. */
      g_autoptr (GIOStream) tls
          = pts_net_tls_server_new (G_IO_STREAM (conn), self->certificate, &error);
      if (tls == NULL)
        {
          g_message ("HTTPS: %s", error->message);
          return;
        }
      guarded = pts_http_guard_new (tls);
      if (!soup_server_accept_iostream (self->server, guarded, local, remote, &error))
        g_message ("HTTPS: %s", error->message);
      return;
    }
  guarded = pts_http_guard_new (G_IO_STREAM (conn));
  if (!soup_server_accept_iostream (self->server, guarded, local, remote, &error))
    g_message ("HTTP: %s", error->message);
}

/* One request per connection: the guard checks only the first head
 * (pts-http-guard.h). Set as each request starts, so that libsoup's own
 * error answers say it too. */
static void
pts_http_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

PtsHttp *
pts_http_new (const PtsConfig *config, PtsProxy *proxy)
{
  PtsHttp *self = g_new0 (PtsHttp, 1);

  self->config = config;
  self->proxy = proxy;
  self->requests = g_hash_table_new (NULL, NULL);
  self->server = soup_server_new ("server-header", "proxy-test-server/" PACKAGE_VERSION " ", NULL);
  {
    PtsListenerConfig listener = {
      "HTTP",
      (guint) config->max_connections,
      (guint) config->max_per_address,
      TRUE,
      (guint) config->http_idle_timeout,
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n"
      "Connection: close\r\n\r\ntoo many connections\n",
    };
    self->listener = pts_listener_new (&listener, pts_http_accepted, self);
  }
  g_signal_connect (self->server, "request-started", G_CALLBACK (pts_http_request_started), NULL);
  soup_server_add_early_handler (self->server, "/", pts_http_early, self, NULL);
  soup_server_add_handler (self->server, "/", pts_http_handler, self, NULL);
  return self;
}

guint16
pts_http_listen (PtsHttp *self, const char *address, guint16 port, GError **error)
{
  guint16 bound;
  const char *scheme = "http";

  if (self->config->tls_cert != NULL)
    {
      self->certificate = g_tls_certificate_new_from_files (
          self->config->tls_cert,
          self->config->tls_key ? self->config->tls_key : self->config->tls_cert, error);
      if (self->certificate == NULL)
        {
          g_prefix_error (error, "--tls-cert: ");
          return 0;
        }
      scheme = "https";
    }
  bound = pts_listener_listen (self->listener, address, port, error);

  if (bound == 0)
    {
      g_prefix_error (error, "cannot serve HTTP on %s port %u: ", address, port);
      return 0;
    }

  g_free (self->base_url);
  if (self->config->http_base_url != NULL)
    self->base_url = g_strdup (self->config->http_base_url);
  else if (strchr (address, ':') != NULL)
    self->base_url = g_strdup_printf ("%s://[%s]:%u", scheme, address, bound);
  else
    self->base_url = g_strdup_printf ("%s://%s:%u", scheme, address, bound);
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
  g_list_free_full (g_steal_pointer (&self->takeovers), (GDestroyNotify) pts_http_takeover_free);
  g_clear_pointer (&self->listener, pts_listener_free);
  soup_server_disconnect (self->server);
  /* Requests still answering or draining: closed now. */
  while (g_hash_table_size (self->requests) > 0)
    {
      g_autoptr (GList) left = g_hash_table_get_keys (self->requests);
      pts_http_request_free (left->data); /* takes itself out of the table */
    }
  g_hash_table_unref (self->requests);
  g_object_unref (self->server);
  g_clear_object (&self->certificate);
  g_free (self->base_url);
  g_free (self);
}
