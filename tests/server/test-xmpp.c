/* test-xmpp.c — the embedded XMPP server, driven by raw clients
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-fixture.h"

static void
test_presence (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "home");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "work");
  PtsTestClient *carol = pts_fixture_login (server, "carol", "phone");
  g_autoptr (PtsNode) p1 = NULL, p2 = NULL, p3 = NULL, own = NULL, gone1 = NULL, gone2 = NULL;
  PtsFixtureMatch from_bob = { "presence", pts_test_client_get_jid (bob), "", NULL };
  PtsFixtureMatch from_alice = { "presence", pts_test_client_get_jid (alice), "", NULL };
  PtsFixtureMatch from_carol = { "presence", pts_test_client_get_jid (carol), "", NULL };
  PtsFixtureMatch alice_gone = { "presence", pts_test_client_get_jid (alice), "unavailable", NULL };
  g_autofree char *carol_jid = g_strdup (pts_test_client_get_jid (carol));
  PtsFixtureMatch carol_gone = { "presence", carol_jid, "unavailable", NULL };

  g_test_summary ("Accounts see each other's presence, whichever comes online first; the "
                  "one that stays sees the others go, by a closed stream or a dropped "
                  "connection.");

  g_assert_cmpstr (pts_test_client_get_jid (alice), ==, "alice@localhost/home");
  pts_fixture_send (alice, "<presence><status>%s</status></presence>", "here");
  own = pts_fixture_wait (alice, pts_fixture_match, &from_alice);
  pts_fixture_send (bob, "<presence/>");
  p1 = pts_fixture_wait (alice, pts_fixture_match, &from_bob);
  g_assert_cmpstr (pts_node_get_attr (p1, "to"), ==, pts_test_client_get_jid (alice));
  p2 = pts_fixture_wait (bob, pts_fixture_match, &from_alice);
  g_assert_cmpstr (pts_node_get_text (pts_node_get_child (p2, "status", NULL)), ==, "here");
  pts_fixture_send (carol, "<presence/>");
  p3 = pts_fixture_wait (bob, pts_fixture_match, &from_carol);

  pts_test_client_close (alice);
  gone1 = pts_fixture_wait (bob, pts_fixture_match, &alice_gone);
  g_assert_cmpstr (pts_node_get_attr (gone1, "to"), ==, pts_test_client_get_jid (bob));
  /* No closing tag this time: the TCP connection just goes. */
  pts_test_client_free (carol);
  gone2 = pts_fixture_wait (bob, pts_fixture_match, &carol_gone);

  pts_fixture_server_stop (server);
}

static void
test_keepalive (void)
{
  PtsTestServer *server = pts_fixture_server_start ("--keepalive", "1", NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "idle");
  g_autoptr (GError) error = NULL;
  guint64 before = pts_test_client_get_bytes_received (alice);
  PtsNode *stanza;

  g_test_summary ("With --keepalive 1 an idle client gets whitespace (RFC 6120 §4.6.1) "
                  "and nothing else.");

  pts_test_client_wait_bytes (alice, before + 1, 5000, &error);
  g_assert_no_error (error);
  stanza = pts_test_client_wait (alice, NULL, NULL, 0, &error);
  g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
  g_assert_null (stanza);

  pts_fixture_server_stop (server);
}

static void
test_message_full_jid (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  PtsFixtureMatch match = { "message", pts_test_client_get_jid (alice), "chat", NULL };
  g_autoptr (PtsNode) msg = NULL;

  pts_fixture_send (alice, "<message to='%s' type='chat' id='m1'><body>%s</body></message>",
                    pts_test_client_get_jid (bob), "hello <bob> & co");
  msg = pts_fixture_wait (bob, pts_fixture_match, &match);
  g_assert_cmpstr (pts_node_get_attr (msg, "to"), ==, pts_test_client_get_jid (bob));
  g_assert_cmpstr (pts_node_get_attr (msg, "id"), ==, "m1");
  g_assert_cmpstr (pts_node_get_text (pts_node_get_child (msg, "body", NULL)), ==,
                   "hello <bob> & co");

  pts_fixture_server_stop (server);
}

static void
test_message_bare_jid (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  PtsFixtureMatch own = { "presence", pts_test_client_get_jid (bob), "", NULL };
  PtsFixtureMatch match = { "message", pts_test_client_get_jid (alice), NULL, NULL };
  g_autoptr (PtsNode) presence = NULL, msg = NULL;

  g_test_summary ("A message to a bare JID reaches the available resource.");

  pts_fixture_send (bob, "<presence/>");
  presence = pts_fixture_wait (bob, pts_fixture_match, &own);
  pts_fixture_send (alice, "<message to='BOB@localhost'><body>to the bare JID</body></message>");
  msg = pts_fixture_wait (bob, pts_fixture_match, &match);
  g_assert_cmpstr (pts_node_get_text (pts_node_get_child (msg, "body", NULL)), ==,
                   "to the bare JID");

  pts_fixture_server_stop (server);
}

static void
test_iq_full_jid (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  PtsFixtureMatch at_bob = { "iq", pts_test_client_get_jid (alice), "get", "urn:example:test" };
  PtsFixtureMatch at_alice = { "iq", pts_test_client_get_jid (bob), "result", NULL };
  g_autoptr (PtsNode) request = NULL, result = NULL;

  g_test_summary ("An IQ to a full JID reaches that client, and its answer comes back.");

  pts_fixture_send (alice, "<iq type='get' id='q1' to='%s'><query xmlns='urn:example:test'/></iq>",
                    pts_test_client_get_jid (bob));
  request = pts_fixture_wait (bob, pts_fixture_match, &at_bob);
  g_assert_cmpstr (pts_node_get_attr (request, "id"), ==, "q1");
  pts_fixture_send (bob, "<iq type='result' id='%s' to='%s'/>", pts_node_get_attr (request, "id"),
                    pts_node_get_attr (request, "from"));
  result = pts_fixture_wait (alice, pts_fixture_match, &at_alice);
  g_assert_cmpstr (pts_node_get_attr (result, "id"), ==, "q1");

  pts_fixture_server_stop (server);
}

static void
test_iq_bare_jid (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "b");
  g_autoptr (PtsNode) info = NULL, unknown = NULL;
  PtsNode *identity;

  g_test_summary ("An IQ to a bare account JID is the server's to answer, on the "
                  "account's behalf (RFC 6120 §10.3.3).");

  info = pts_fixture_iq (alice, "<iq type='get' to='bob@localhost'>"
                                "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  pts_fixture_assert_result (info);
  g_assert_cmpstr (pts_node_get_attr (info, "from"), ==, "bob@localhost");
  identity = pts_test_node_find (info, "identity", PTS_NS_DISCO_INFO);
  g_assert_nonnull (identity);
  g_assert_cmpstr (pts_node_get_attr (identity, "category"), ==, "account");

  unknown = pts_fixture_iq (alice, "<iq type='get' to='bob@localhost'>"
                                   "<query xmlns='urn:example:test'/></iq>");
  pts_fixture_assert_error (unknown, "service-unavailable");

  pts_fixture_server_stop (server);
}

static void
test_service_unavailable (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsNode) to_gone = NULL, to_foreign = NULL, bounced = NULL;
  PtsFixtureMatch error = { "message", "nobody@localhost", "error", NULL };

  g_test_summary ("Stanzas for accounts, resources and domains that are not there "
                  "bounce with service-unavailable.");

  pts_fixture_send (alice, "<message to='nobody@localhost' id='m1'><body>hi</body></message>");
  bounced = pts_fixture_wait (alice, pts_fixture_match, &error);
  pts_fixture_assert_error (bounced, "service-unavailable");
  g_assert_cmpstr (pts_node_get_attr (bounced, "id"), ==, "m1");

  to_gone = pts_fixture_iq (alice, "<iq type='get' to='bob@localhost/nowhere'>"
                                   "<query xmlns='urn:example:test'/></iq>");
  pts_fixture_assert_error (to_gone, "service-unavailable");
  to_foreign = pts_fixture_iq (alice, "<iq type='get' to='dave@elsewhere.example/x'>"
                                      "<query xmlns='urn:example:test'/></iq>");
  pts_fixture_assert_error (to_foreign, "service-unavailable");

  pts_fixture_server_stop (server);
}

static void
test_wrong_password (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) ping = NULL;

  g_test_summary ("A wrong password gets <not-authorized/>, and the same connection can "
                  "then log in with the right one.");

  client = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);
  g_assert_no_error (error);
  pts_test_client_authenticate (client, "alice", "wrong", &error);
  g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH);
  g_assert_cmpstr (error->message, ==, "not-authorized");
  g_clear_error (&error);
  pts_test_client_authenticate (client, "nosuchuser", PTS_FIXTURE_PASSWORD, &error);
  g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH);
  g_assert_cmpstr (error->message, ==, "not-authorized");
  g_clear_error (&error);

  pts_test_client_authenticate (client, "alice", PTS_FIXTURE_PASSWORD, &error);
  g_assert_no_error (error);
  pts_test_client_bind (client, "retry", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pts_test_client_get_jid (client), ==, "alice@localhost/retry");
  ping = pts_fixture_iq (client, "<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
  pts_fixture_assert_result (ping);

  pts_fixture_server_stop (server);
}

typedef struct
{
  const char *authzid;
  gboolean ok;
} AuthzidCase;

static void
test_authzid (void)
{
  static const AuthzidCase cases[] = {
    { "", TRUE },
    { "alice", TRUE },
    { "alice@localhost", TRUE },
    { "ALICE@LOCALHOST", TRUE },
    { "aliceXYZ@evil", FALSE },
    { "alice@localhostX", FALSE },
    { "alic", FALSE },
    { "bob@localhost", FALSE },
  };
  PtsTestServer *server = pts_fixture_server_start (NULL);

  g_test_summary ("SASL PLAIN's authorization identity must be exactly empty, the account's "
                  "name or its bare JID: no prefix, no other account.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PtsTestClient) client
          = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);

      g_assert_no_error (error);
      g_test_message ("authzid \"%s\"", cases[i].authzid);
      pts_test_client_authenticate_as (client, cases[i].authzid, "alice", PTS_FIXTURE_PASSWORD,
                                       &error);
      if (cases[i].ok)
        g_assert_no_error (error);
      else
        g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH);
    }
  pts_fixture_server_stop (server);
}

/* One login attempt on a new connection; returns how long its answer
 * took, in ms. */
static double
timed_login (PtsTestServer *server, const char *password, gboolean expect_ok)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestClient) client
      = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);
  gint64 start;

  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  pts_test_client_authenticate (client, "alice", password, &error);
  if (expect_ok)
    g_assert_no_error (error);
  else
    g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH);
  return (g_get_monotonic_time () - start) / 1000.0;
}

static void
test_auth_slowdown (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  double first, held;

  g_test_summary ("After three failed logins from one address, every further attempt from it "
                  "(on new connections, even with the right password) waits its turn: at "
                  "least half a second, growing; a success clears the slate.");
  first = timed_login (server, "guess-1", FALSE);
  timed_login (server, "guess-2", FALSE);
  timed_login (server, "guess-3", FALSE);
  timed_login (server, "guess-4", FALSE);
  held = timed_login (server, PTS_FIXTURE_PASSWORD, TRUE);
  g_test_message ("first failure answered in %.1f ms, the attempt after four in %.1f ms", first,
                  held);
  g_assert_cmpfloat (first, <, 400);
  g_assert_cmpfloat (held, >=, 400);
  /* The success forgot the failures. */
  g_assert_cmpfloat (timed_login (server, "guess-5", FALSE), <, 400);
  pts_fixture_server_stop (server);
}

static void
test_conflict (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) first = pts_fixture_login (server, "alice", "desk");
  g_autoptr (PtsTestClient) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *condition = NULL;
  g_autoptr (PtsNode) ping = NULL;

  g_test_summary ("Binding a full JID that is in use closes the older session with a "
                  "<conflict/> stream error; the newer one works.");

  second = pts_fixture_login (server, "alice", "desk");
  g_assert_cmpstr (pts_test_client_get_jid (second), ==, "alice@localhost/desk");
  condition = pts_test_client_wait_stream_error (first, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (condition, ==, "conflict");
  pts_test_client_wait_closed (first, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);

  ping = pts_fixture_iq (second, "<iq type='get' to='localhost'>"
                                 "<ping xmlns='urn:xmpp:ping'/></iq>");
  pts_fixture_assert_result (ping);

  pts_fixture_server_stop (server);
}

static void
test_session_and_roster (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsNode) session = NULL, roster = NULL;
  PtsNode *query;
  g_autoptr (GString) jids = g_string_new (NULL);

  session = pts_fixture_iq (alice, "<iq type='set'>"
                                   "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  pts_fixture_assert_result (session);

  roster = pts_fixture_iq (alice, "<iq type='get'><query xmlns='jabber:iq:roster'/></iq>");
  pts_fixture_assert_result (roster);
  query = pts_node_get_child (roster, "query", "jabber:iq:roster");
  g_assert_nonnull (query);
  for (guint i = 0; i < query->children->len; i++)
    {
      PtsNode *item = query->children->pdata[i];
      g_assert_cmpstr (pts_node_get_attr (item, "subscription"), ==, "both");
      g_string_append_printf (jids, "%s ", pts_node_get_attr (item, "jid"));
    }
  g_assert_cmpstr (jids->str, ==, "bob@localhost carol@localhost ");

  pts_fixture_server_stop (server);
}

static void
test_disco_items (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsNode) items = NULL;
  PtsNode *item;

  g_test_summary ("The domain's disco#items lists the proxy (XEP-0065 §4).");

  items = pts_fixture_iq (alice, "<iq type='get' to='localhost'>"
                                 "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
  pts_fixture_assert_result (items);
  item = pts_test_node_find (items, "item", PTS_NS_DISCO_ITEMS);
  g_assert_nonnull (item);
  g_assert_cmpstr (pts_node_get_attr (item, "jid"), ==, server->proxy_jid);
  g_assert_cmpstr (server->proxy_jid, ==, "proxy.localhost");

  pts_fixture_server_stop (server);
}

static void
test_disco_proxy (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "a");
  g_autoptr (PtsNode) info = NULL, hosts = NULL;
  g_autofree char *port = g_strdup_printf ("%u", server->socks5_port);
  PtsNode *identity, *query, *streamhost;
  gboolean bytestreams = FALSE;

  g_test_summary ("The proxy JID answers disco#info as a bytestreams proxy and hands out "
                  "its SOCKS5 streamhost.");

  info = pts_fixture_iq (alice,
                         "<iq type='get' to='%s'>"
                         "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                         server->proxy_jid);
  pts_fixture_assert_result (info);
  g_assert_cmpstr (pts_node_get_attr (info, "from"), ==, server->proxy_jid);
  identity = pts_test_node_find (info, "identity", PTS_NS_DISCO_INFO);
  g_assert_nonnull (identity);
  g_assert_cmpstr (pts_node_get_attr (identity, "category"), ==, "proxy");
  g_assert_cmpstr (pts_node_get_attr (identity, "type"), ==, "bytestreams");
  query = pts_node_get_child (info, "query", PTS_NS_DISCO_INFO);
  for (guint i = 0; i < query->children->len; i++)
    if (pts_node_is (query->children->pdata[i], "feature", NULL)
        && g_strcmp0 (pts_node_get_attr (query->children->pdata[i], "var"), PTS_NS_BYTESTREAMS)
               == 0)
      bytestreams = TRUE;
  g_assert_true (bytestreams);

  hosts = pts_fixture_iq (alice,
                          "<iq type='get' to='%s'>"
                          "<query xmlns='http://jabber.org/protocol/bytestreams'/></iq>",
                          server->proxy_jid);
  pts_fixture_assert_result (hosts);
  streamhost = pts_test_node_find (hosts, "streamhost", PTS_NS_BYTESTREAMS);
  g_assert_nonnull (streamhost);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "jid"), ==, server->proxy_jid);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "host"), ==, server->socks5_host);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "port"), ==, port);

  pts_fixture_server_stop (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/server/xmpp/presence", test_presence);
  g_test_add_func ("/server/xmpp/keepalive", test_keepalive);
  g_test_add_func ("/server/xmpp/message/full-jid", test_message_full_jid);
  g_test_add_func ("/server/xmpp/message/bare-jid", test_message_bare_jid);
  g_test_add_func ("/server/xmpp/iq/full-jid", test_iq_full_jid);
  g_test_add_func ("/server/xmpp/iq/bare-jid", test_iq_bare_jid);
  g_test_add_func ("/server/xmpp/service-unavailable", test_service_unavailable);
  g_test_add_func ("/server/xmpp/auth/wrong-password", test_wrong_password);
  g_test_add_func ("/server/xmpp/auth/authzid", test_authzid);
  g_test_add_func ("/server/xmpp/auth/slowdown", test_auth_slowdown);
  g_test_add_func ("/server/xmpp/bind/conflict", test_conflict);
  g_test_add_func ("/server/xmpp/session-and-roster", test_session_and_roster);
  g_test_add_func ("/server/xmpp/disco/items", test_disco_items);
  g_test_add_func ("/server/xmpp/disco/proxy", test_disco_proxy);

  return g_test_run ();
}
