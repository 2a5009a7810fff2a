/* test-limits.c — what a hostile client can hold: timeouts and limits on every listener
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-fixture.h"

/* Longer than any timeout these tests set (1 s), far shorter than the
 * defaults: a connection still open then was not timed out. */
#define CLOSE_WITHIN_MS 5000

typedef enum
{
  LISTENER_C2S,
  LISTENER_SOCKS5,
  LISTENER_HTTP,
} Listener;

static GSocketConnection *
connect_to (PtsTestServer *server, Listener which)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  GSocketConnection *conn;

  switch (which)
    {
    case LISTENER_C2S:
      host = g_strdup (server->c2s_host);
      port = server->c2s_port;
      break;
    case LISTENER_SOCKS5:
      host = g_strdup (server->socks5_host);
      port = server->socks5_port;
      break;
    case LISTENER_HTTP:
      {
        g_autoptr (GUri) uri = g_uri_parse (server->http_base, G_URI_FLAGS_NONE, &error);
        g_assert_no_error (error);
        host = g_strdup (g_uri_get_host (uri));
        port = (guint16) g_uri_get_port (uri);
        break;
      }
    }
  conn = pts_test_tcp_connect (host, port, &error);
  g_assert_no_error (error);
  return conn;
}

/* Reads until the server closes; fails after CLOSE_WITHIN_MS. */
static char *
read_to_close (GSocketConnection *conn)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = pts_test_socket_read_until_closed (conn, 4096, CLOSE_WITHIN_MS, &error);
  gsize len;
  const char *data;

  g_assert_no_error (error);
  data = g_bytes_get_data (got, &len);
  return g_strndup (data != NULL ? data : "", len);
}

static void
send_text (GSocketConnection *conn, const char *text)
{
  g_autoptr (GError) error = NULL;

  pts_test_socket_send_all (conn, text, strlen (text), &error);
  g_assert_no_error (error);
}

static void
test_login_timeout (void)
{
  PtsTestServer *server = pts_fixture_server_start ("--login-timeout", "1", NULL);
  g_autoptr (GSocketConnection) silent = connect_to (server, LISTENER_C2S);
  g_autoptr (GSocketConnection) no_auth = connect_to (server, LISTENER_C2S);
  g_autoptr (PtsTestClient) alice = NULL;
  g_autofree char *said = NULL, *nothing = NULL;

  g_test_summary ("A client of the embedded server that does not sign in within "
                  "--login-timeout is disconnected, with a stream error when a stream is "
                  "open; one that signed in stays.");
  alice = pts_fixture_login (server, "alice", "desk");
  send_text (no_auth, "<?xml version='1.0'?><stream:stream to='localhost' "
                      "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                      "version='1.0'>");
  said = read_to_close (no_auth);
  g_assert_nonnull (strstr (said, "connection-timeout"));
  nothing = read_to_close (silent);
  /* Alice, signed in, still answers. */
  {
    g_autoptr (PtsNode) pong
        = pts_fixture_iq (alice, "<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    pts_fixture_assert_result (pong);
  }
  pts_fixture_server_stop (server);
}

static void
test_http_idle (void)
{
  PtsTestServer *server
      = pts_fixture_server_start ("--http-port", "0", "--http-idle-timeout", "1", NULL);
  g_autoptr (GSocketConnection) silent = connect_to (server, LISTENER_HTTP);
  g_autoptr (GSocketConnection) half = connect_to (server, LISTENER_HTTP);
  g_autofree char *a = NULL, *b = NULL;

  g_test_summary ("An HTTP connection that sends nothing, or half a request head, is closed "
                  "after --http-idle-timeout.");
  send_text (half, "GET /status HT");
  a = read_to_close (silent);
  b = read_to_close (half);
  g_assert_cmpstr (a, ==, "");
  pts_fixture_server_stop (server);
}

static void
test_refusals (void)
{
  PtsTestServer *server
      = pts_fixture_server_start ("--http-port", "0", "--max-connections", "2", NULL);
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("Over --max-connections, each listener refuses at once in its own words: "
                  "a stream error on c2s, 503 with Retry-After on HTTP, a close on SOCKS5.");
  for (Listener l = LISTENER_C2S; l <= LISTENER_HTTP; l++)
    {
      g_autoptr (GSocketConnection) extra = NULL;
      g_autofree char *said = NULL;

      g_ptr_array_add (held, connect_to (server, l));
      g_ptr_array_add (held, connect_to (server, l));
      /* The two are accepted before the third arrives: a round trip on
       * each (the SOCKS5 greeting; for the others, the close of the
       * third is what we wait for anyway). */
      extra = connect_to (server, l);
      said = read_to_close (extra);
      g_test_message ("listener %d said: %s", l, said);
      switch (l)
        {
        case LISTENER_C2S: g_assert_nonnull (strstr (said, "policy-violation")); break;
        case LISTENER_HTTP:
          g_assert_true (g_str_has_prefix (said, "HTTP/1.1 503 "));
          g_assert_nonnull (strstr (said, "Retry-After:"));
          break;
        case LISTENER_SOCKS5: g_assert_cmpstr (said, ==, ""); break;
        }
    }
  pts_fixture_server_stop (server);
}

static void
test_upload_answered_early (void)
{
  PtsTestServer *server = pts_fixture_server_start ("--http-port", "0", NULL);
  g_autoptr (GSocketConnection) conn = connect_to (server, LISTENER_HTTP);
  g_autofree char *said = NULL;
  gint64 start = g_get_monotonic_time ();

  g_test_summary ("A POST to an unknown upload URL announcing 100 GB is answered 404 at once, "
                  "before any of its body, and closed.");
  send_text (conn, "POST /upload/nosuchtoken HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: multipart/form-data; boundary=b\r\n"
                   "Content-Length: 99999999999\r\n\r\n");
  said = read_to_close (conn);
  g_test_message ("answered in %.0f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_assert_true (g_str_has_prefix (said, "HTTP/1.1 404 "));
  pts_fixture_server_stop (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/server/limits/login-timeout", test_login_timeout);
  g_test_add_func ("/server/limits/http-idle", test_http_idle);
  g_test_add_func ("/server/limits/refusals", test_refusals);
  g_test_add_func ("/server/limits/upload-answered-early", test_upload_answered_early);
  return g_test_run ();
}
