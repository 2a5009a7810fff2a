/* test-hostile-harness.c — what the hostile tests share (see
 * test-hostile-harness.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "test-hostile-harness.h"

static const char *
hostile_env_or (const char *name, const char *fallback)
{
  const char *value = g_getenv (name);
  return value != NULL ? value : fallback;
}

gboolean
hostile_world_start (HostileWorld *w, const char *peer_user, const char *proxy_resource)
{
  const char *server_path = g_getenv ("PTS_SERVER");
  const char *server_args[]
      = { "--user", "alice:" HOSTILE_PASSWORD, "--user", "bob:" HOSTILE_PASSWORD, NULL };
  g_autoptr (GError) error = NULL;

  memset (w, 0, sizeof *w);
  if (server_path == NULL || hostile_env_or ("BSP_DRIVER", BSP_DRIVER_PATH) == NULL
      || hostile_env_or ("BSP_PLUGIN", BSP_PLUGIN_PATH) == NULL)
    {
      g_test_skip ("needs PTS_SERVER, the driver and the plugin");
      return FALSE;
    }
  w->http = hostile_listen (&w->http_port);
  w->trap = hostile_listen (&w->trap_port);
  w->server = pts_test_server_start (server_path, server_args, PTS_TEST_SERVER_QUIET, &error);
  g_assert_no_error (error);
  w->peer = pts_test_client_login (w->server->c2s_host, w->server->c2s_port, w->server->domain,
                                   peer_user, HOSTILE_PASSWORD, "evil", &error);
  g_assert_no_error (error);
  w->proxy = pts_test_client_login (w->server->c2s_host, w->server->c2s_port, w->server->domain,
                                    peer_user, HOSTILE_PASSWORD, proxy_resource, &error);
  g_assert_no_error (error);
  return TRUE;
}

void
hostile_world_spawn_driver (HostileWorld *w, const char *account, const char *user_dir,
                            const char *const *extra)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *port = g_strdup_printf ("%u", w->server->c2s_port);
  g_autofree char *login = g_strconcat (account, ":" HOSTILE_PASSWORD, NULL);
  const char *common[] = { hostile_env_or ("BSP_DRIVER", BSP_DRIVER_PATH),
                           "--user-dir",
                           user_dir,
                           "--account",
                           login,
                           "--server",
                           w->server->c2s_host,
                           "--port",
                           port,
                           "--timeout",
                           G_STRINGIFY (HOSTILE_DRIVER_TIMEOUT_S), "--debug", "--plugin",
                                        hostile_env_or ("BSP_PLUGIN", BSP_PLUGIN_PATH) };

  for (gsize i = 0; i < G_N_ELEMENTS (common); i++)
    g_ptr_array_add (argv, (gpointer) common[i]);
  for (gsize i = 0; extra[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra[i]);
  g_ptr_array_add (argv, NULL);
  w->driver = pts_test_process_spawn ((const char *const *) argv->pdata, NULL, &error);
  g_assert_no_error (error);
}

void
hostile_world_wait_driver (HostileWorld *w)
{
  g_autoptr (GError) error = NULL;

  pts_test_process_wait (w->driver, (HOSTILE_DRIVER_TIMEOUT_S + 10) * 1000, &error);
  if (error != NULL)
    {
      g_autofree char *tail = pts_test_process_get_tail (w->driver, 40);
      g_test_message ("the driver's last words:\n%s", tail);
    }
  g_assert_no_error (error);
}

void
hostile_world_stop (HostileWorld *w)
{
  g_autoptr (GError) error = NULL;

  pts_test_client_close (w->peer);
  pts_test_client_close (w->proxy);
  g_clear_pointer (&w->peer, pts_test_client_free);
  g_clear_pointer (&w->proxy, pts_test_client_free);
  pts_test_server_stop (w->server, &error);
  g_assert_no_error (error);
  g_clear_pointer (&w->server, pts_test_server_free);
  g_clear_pointer (&w->driver, pts_test_process_free);
  g_clear_object (&w->http);
  g_clear_object (&w->trap);
}

/* A loopback listener on a port the kernel picks. */
GSocket *
hostile_listen (guint16 *port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  GSocket *socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (g_socket_listen (socket, &error));
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_set_timeout (socket, HOSTILE_WAIT_MS / 1000);
  return socket;
}

gboolean
hostile_has_pending (GSocket *listener)
{
  return (g_socket_condition_check (listener, G_IO_IN) & G_IO_IN) != 0;
}

/* A connection closed without a byte is the plugin's check at sign-in
 * that the proxy's SOCKS5 address opens (bsp-discovery.c), not a client. */
gboolean
hostile_socks5_came (GSocket *listener)
{
  while (hostile_has_pending (listener))
    {
      g_autoptr (GSocket) conn = g_socket_accept (listener, NULL, NULL);
      char byte;

      if (conn == NULL)
        return FALSE;
      g_socket_set_timeout (conn, 5);
      if (g_socket_receive (conn, &byte, 1, NULL, NULL) != 0)
        return TRUE;
    }
  return FALSE;
}

gboolean
hostile_send (GSocket *conn, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      gssize n = g_socket_send (conn, (const char *) p, len, NULL, NULL);
      if (n <= 0)
        return FALSE; /* the plugin hung up: fine, it may */
      p += n;
      len -= n;
    }
  return TRUE;
}

/* Accepts one connection on @listener and reads a request head from it. */
GSocket *
hostile_accept_request (GSocket *listener, GString *request)
{
  g_autoptr (GError) error = NULL;
  GSocket *conn = g_socket_accept (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (conn, HOSTILE_WAIT_MS / 1000);
  while (strstr (request->str, "\r\n\r\n") == NULL && request->len < 16384)
    {
      char buf[1024];
      gssize n = g_socket_receive (conn, buf, sizeof buf, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (request, buf, n);
    }
  g_test_message ("the plugin asked: %.*s", (int) strcspn (request->str, "\r"), request->str);
  return conn;
}

/* Answers the plugin's reachability check of the advertised base, whose
 * path is @path (PROTOCOL.md §1.5), as a bs-proxy does. */
void
hostile_answer_probe (GSocket *listener, const char *path)
{
  static const char answer[] = "HTTP/1.1 204 No Content\r\nBs-Proxy: 1\r\n"
                               "Connection: close\r\n\r\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) request = g_string_new (NULL);
  g_autoptr (GSocket) conn = hostile_accept_request (listener, request);
  g_autofree char *line = g_strdup_printf ("GET %s HTTP/1.1\r\n", path);

  g_assert_true (g_str_has_prefix (request->str, line));
  g_assert_cmpint (g_socket_send (conn, answer, sizeof answer - 1, NULL, &error), ==,
                   sizeof answer - 1);
  g_assert_no_error (error);
}

gboolean
hostile_match_request (const PtsNode *stanza, gpointer user_data)
{
  const char *type = pts_node_get_attr (stanza, "type");

  return pts_node_is (stanza, "iq", PTS_TEST_NS_CLIENT)
         && (g_strcmp0 (type, "get") == 0 || g_strcmp0 (type, "set") == 0);
}

gboolean
hostile_send_raw (PtsTestClient *client, const char *xml)
{
  g_autoptr (GError) error = NULL;

  pts_test_client_send_raw (client, xml, -1, &error);
  g_assert_no_error (error);
  return TRUE;
}
