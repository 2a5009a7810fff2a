/* test-stream.c — hostile XML on the client stream: errors, and the server carries on
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-fixture.h"

/* Sends @xml on a logged-in stream and checks that the server answers with a
 * stream error @condition and closes the connection. */
static void
assert_stream_error (PtsTestClient *client, const char *xml, const char *condition)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = NULL;

  pts_test_client_send_raw (client, xml, -1, &error);
  g_assert_no_error (error);
  got = pts_test_client_wait_stream_error (client, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, condition);
  pts_test_client_wait_closed (client, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
}

/* @client still gets answers from the server. */
static void
assert_alive (PtsTestClient *client)
{
  g_autoptr (PtsNode) pong = pts_fixture_iq (client, "<iq type='get' to='localhost'>"
                                                     "<ping xmlns='urn:xmpp:ping'/></iq>");

  pts_fixture_assert_result (pong);
}

static void
test_malformed (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  g_autoptr (PtsTestClient) carol = NULL;
  g_autoptr (PtsNode) msg = NULL;
  PtsFixtureMatch from_bob = { "message", pts_test_client_get_jid (bob), NULL, NULL };

  g_test_summary ("A stream that is not well-formed XML ends with <not-well-formed/>; "
                  "clients already connected, and new ones, are served as before.");

  assert_stream_error (alice, "<message to='bob@localhost'><body>x</message>", "not-well-formed");

  assert_alive (bob);
  carol = pts_fixture_login (server, "carol", "c");
  pts_fixture_send (bob, "<message to='%s'><body>still here</body></message>",
                    pts_test_client_get_jid (carol));
  msg = pts_fixture_wait (carol, pts_fixture_match, &from_bob);
  g_assert_cmpstr (pts_node_get_text (pts_node_get_child (msg, "body", NULL)), ==, "still here");

  pts_fixture_server_stop (server);
}

static void
test_invalid_utf8 (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");

  assert_stream_error (alice, "<message to='bob@localhost'><body>\xff\xfe</body></message>",
                       "not-well-formed");
  assert_alive (bob);

  pts_fixture_server_stop (server);
}

static void
test_control_characters (gconstpointer data)
{
  const char *body = data;
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  g_autofree char *xml = g_strdup_printf ("<message to='%s'><body>%s</body></message>",
                                          pts_test_client_get_jid (bob), body);
  g_autoptr (PtsNode) pong = NULL;
  g_autoptr (GError) error = NULL;
  PtsNode *leaked;

  g_test_summary ("C0 control characters are not XML (XML 1.0 §2.2), raw or as character "
                  "references: the stream ends with <not-well-formed/> and nothing reaches "
                  "the recipient, whose own XML parser would fail on them.");

  assert_stream_error (alice, xml, "not-well-formed");
  /* Anything routed to bob arrived before the answer to his ping. */
  pong = pts_fixture_iq (bob, "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  pts_fixture_assert_result (pong);
  leaked = pts_test_client_wait (bob, NULL, NULL, 0, &error);
  g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
  g_assert_null (leaked);

  pts_fixture_server_stop (server);
}

static void
test_oversize (void)
{
  PtsTestServer *server = pts_fixture_server_start ("--max-stanza", "4096", NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  g_autofree char *fits = g_strnfill (3000, 'a');
  g_autofree char *big = g_strnfill (8192, 'b');
  g_autofree char *xml = NULL;
  g_autoptr (PtsNode) small = NULL;
  PtsFixtureMatch from_alice = { "message", pts_test_client_get_jid (alice), NULL, NULL };

  g_test_summary ("A stanza over --max-stanza ends the stream with <policy-violation/> "
                  "before the server buffers it; smaller ones pass.");

  pts_fixture_send (alice, "<message to='bob@localhost/b'><body>%s</body></message>", fits);
  small = pts_fixture_wait (bob, pts_fixture_match, &from_alice);
  g_assert_cmpuint (strlen (pts_node_get_text (pts_node_get_child (small, "body", NULL))), ==,
                    3000);

  xml = g_strdup_printf ("<message to='bob@localhost/b'><body>%s</body></message>", big);
  assert_stream_error (alice, xml, "policy-violation");
  assert_alive (bob);

  pts_fixture_server_stop (server);
}

static void
test_oversize_tag (void)
{
  PtsTestServer *server = pts_fixture_server_start ("--max-stanza", "4096", NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autofree char *attr = g_strnfill (16384, 'x');
  g_autofree char *xml = g_strdup_printf ("<message to='bob@localhost' x='%s'/>", attr);

  g_test_summary ("An endless start tag counts against --max-stanza too.");

  assert_stream_error (alice, xml, "policy-violation");
  pts_fixture_server_stop (server);
}

static void
test_dtd (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");

  g_test_summary ("A DTD inside the stream is refused with <restricted-xml/> "
                  "(RFC 6120 §11.1): no entity is ever declared.");

  assert_stream_error (alice,
                       "<!DOCTYPE lolz [<!ENTITY lol 'lol'>"
                       "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>"
                       "<message to='bob@localhost'><body>&lol2;</body></message>",
                       "restricted-xml");
  assert_alive (bob);

  pts_fixture_server_stop (server);
}

static void
test_processing_instruction (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");

  assert_stream_error (alice, "<?evil data?>", "restricted-xml");
  pts_fixture_server_stop (server);
}

static void
test_entity (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");

  g_test_summary ("A reference to an undeclared (e.g. external) entity is not "
                  "well-formed; the server never resolves it.");

  assert_stream_error (alice, "<message to='bob@localhost'><body>&xxe;</body></message>",
                       "not-well-formed");
  assert_alive (bob);

  pts_fixture_server_stop (server);
}

static void
test_dtd_before_header (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) answer = NULL;
  g_autofree char *text = NULL;
  static const char doc[] = "<?xml version='1.0'?>"
                            "<!DOCTYPE stream:stream SYSTEM 'file:///etc/passwd'>"
                            "<stream:stream xmlns='jabber:client' "
                            "xmlns:stream='http://etherx.jabber.org/streams' "
                            "to='localhost' version='1.0'>";
  g_autoptr (PtsTestClient) bob = NULL;

  g_test_summary ("A DOCTYPE before the stream header is refused and the connection "
                  "closed; no file is read.");

  conn = pts_test_tcp_connect (server->c2s_host, server->c2s_port, &error);
  g_assert_no_error (error);
  pts_test_socket_send_all (conn, doc, strlen (doc), &error);
  g_assert_no_error (error);
  answer = pts_test_socket_read_until_closed (conn, 65536, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  g_test_message ("answer: %s", text);
  g_assert_nonnull (strstr (text, "<restricted-xml"));
  g_assert_null (strstr (text, "root:"));

  bob = pts_fixture_login (server, "bob", "b");
  assert_alive (bob);
  pts_fixture_server_stop (server);
}

static void
test_auth_failures (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("Each wrong password gets <not-authorized/>; the fifth on one "
                  "connection ends it with <policy-violation/>.");

  client = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 5; i++)
    {
      pts_test_client_authenticate (client, "alice", "guess", &error);
      g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH);
      g_clear_error (&error);
    }
  /* The fifth failure was the last one allowed. */
  {
    g_autofree char *condition
        = pts_test_client_wait_stream_error (client, PTS_TEST_TIMEOUT_MS, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (condition, ==, "policy-violation");
  }
  pts_test_client_wait_closed (client, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);

  pts_fixture_server_stop (server);
}

static void
test_bind_first (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (GError) error = NULL;

  client = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);
  g_assert_no_error (error);
  pts_test_client_authenticate (client, "alice", PTS_FIXTURE_PASSWORD, &error);
  g_assert_no_error (error);
  assert_stream_error (client, "<message to='bob@localhost'><body>unbound</body></message>",
                       "not-authorized");

  pts_fixture_server_stop (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/server/stream/malformed", test_malformed);
  g_test_add_func ("/server/stream/invalid-utf8", test_invalid_utf8);
  g_test_add_data_func ("/server/stream/control-char/raw", "a\001b", test_control_characters);
  g_test_add_data_func ("/server/stream/control-char/reference", "a&#1;b", test_control_characters);
  g_test_add_data_func ("/server/stream/control-char/attribute", "x</body><x a='&#x1B;'/><body>",
                        test_control_characters);
  g_test_add_func ("/server/stream/oversize", test_oversize);
  g_test_add_func ("/server/stream/oversize-tag", test_oversize_tag);
  g_test_add_func ("/server/stream/dtd", test_dtd);
  g_test_add_func ("/server/stream/dtd-before-header", test_dtd_before_header);
  g_test_add_func ("/server/stream/processing-instruction", test_processing_instruction);
  g_test_add_func ("/server/stream/entity", test_entity);
  g_test_add_func ("/server/stream/auth-failures", test_auth_failures);
  g_test_add_func ("/server/stream/bind-first", test_bind_first);

  return g_test_run ();
}
