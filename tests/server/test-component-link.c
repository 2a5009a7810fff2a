/* test-component-link.c — the XEP-0114 link, against a stand-in server
 *
 * The stand-in is the test itself: it listens on loopback, accepts the
 * proxy's component connection, checks its handshake and then says exactly
 * what the test wants, or nothing at all, for as long as the test wants.
 * That is how a quiet Prosody or ejabberd behaves (they send nothing to an
 * idle component), and how a dead one looks (no answer to pings).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-fixture.h"
#include "pts-http-client.h"

#define LINK_SECRET "stand-in-secret"
#define LINK_DOMAIN "example.org"
#define LINK_PROXY_JID "proxy." LINK_DOMAIN
#define LINK_NS_PING "urn:xmpp:ping"
#define LINK_NS_BSPROXY "http://oneteam.im/bs-proxy"
/* Longer than every timeout the link ever had (the 30 s connect timeout
 * that stayed on the socket) and than any a server applies; shorter than
 * the default keepalive (60 s), so that nothing at all crosses the link. */
#define LINK_IDLE_MS 45000
/* "At once", on a loaded machine and under sanitizers. */
#define LINK_PROMPT_US (2 * G_USEC_PER_SEC)

typedef struct
{
  GSocket *socket; /* listening on 127.0.0.1 */
  char *address;   /* "127.0.0.1:PORT", for --component */
  guint serial;    /* for stream ids */
} StandIn;

static StandIn *
standin_new (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  StandIn *s = g_new0 (StandIn, 1);

  s->socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (s->socket, any, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (s->socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (s->socket, &error);
  g_assert_no_error (error);
  s->address = g_strdup_printf ("127.0.0.1:%u",
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  return s;
}

static void
standin_free (StandIn *s)
{
  g_socket_close (s->socket, NULL);
  g_object_unref (s->socket);
  g_free (s->address);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StandIn, standin_free)

/* Accepts the proxy's next connection (waiting at most @timeout_ms) and
 * plays the server's part of the handshake. */
static PtsTestClient *
standin_accept (StandIn *s, guint timeout_ms)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (PtsNode) handshake = NULL;
  g_autofree char *id = g_strdup_printf ("stand-in-%u", ++s->serial);
  g_autofree char *input = g_strconcat (id, LINK_SECRET, NULL);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
  PtsFixtureMatch match = { .name = "handshake" };
  PtsTestClient *link;

  g_socket_condition_timed_wait (s->socket, G_IO_IN, (gint64) timeout_ms * 1000, NULL, &error);
  g_assert_no_error (error);
  socket = g_socket_accept (s->socket, NULL, &error);
  g_assert_no_error (error);
  conn = g_socket_connection_factory_create_connection (socket);
  link = pts_test_client_new_for_connection (conn, LINK_DOMAIN);
  pts_fixture_send (link,
                    "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                    "xmlns:stream='http://etherx.jabber.org/streams' from='%s' id='%s'>",
                    LINK_PROXY_JID, id);
  handshake = pts_fixture_wait (link, pts_fixture_match, &match);
  g_assert_cmpstr (pts_node_get_text (handshake), ==, digest);
  pts_fixture_send (link, "<handshake/>");
  return link;
}

static gpointer
standin_accept_thread (gpointer data)
{
  return standin_accept (data, PTS_TEST_TIMEOUT_MS);
}

/* Starts the proxy as a component of the stand-in with @extra_args (NULL
 * terminated) and returns it attached; *@link is the stand-in's side. */
static PtsTestServer *
link_start (StandIn *s, PtsTestClient **link, const char *first_arg, ...)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) args = NULL;
  g_autoptr (GError) error = NULL;
  GThread *thread;
  PtsTestServer *server;
  va_list ap;

  g_strv_builder_add_many (builder, "--component", s->address, "--component-secret", LINK_SECRET,
                           "--proxy-jid", LINK_PROXY_JID, NULL);
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_strv_builder_add (builder, arg);
  va_end (ap);
  args = g_strv_builder_end (builder);

  /* READY comes after the handshake, which the thread answers. */
  thread = g_thread_new ("stand-in", standin_accept_thread, s);
  server
      = pts_test_server_start (NULL, (const char *const *) args, PTS_TEST_SERVER_DEFAULT, &error);
  *link = g_thread_join (thread);
  g_assert_no_error (error);
  g_assert_cmpstr (server->component, ==, s->address);
  return server;
}

/* The streamhost query of a user of the server's domain, answered at once. */
static void
assert_prompt_streamhost (PtsTestClient *link, PtsTestServer *server)
{
  gint64 start = g_get_monotonic_time ();
  g_autoptr (PtsNode) reply
      = pts_fixture_iq (link,
                        "<iq type='get' from='alice@" LINK_DOMAIN "/desk' to='" LINK_PROXY_JID "'>"
                        "<query xmlns='%s'/></iq>",
                        PTS_NS_BYTESTREAMS);
  gint64 took = g_get_monotonic_time () - start;
  PtsNode *streamhost;

  g_test_message ("answered in %.3f s", took / (double) G_USEC_PER_SEC);
  g_assert_cmpint (took, <, LINK_PROMPT_US);
  pts_fixture_assert_result (reply);
  g_assert_cmpstr (pts_node_get_attr (reply, "from"), ==, LINK_PROXY_JID);
  streamhost = pts_test_node_find (reply, "streamhost", PTS_NS_BYTESTREAMS);
  g_assert_nonnull (streamhost);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "host"), ==, server->socks5_host);
}

static void
assert_link_held (PtsTestServer *server)
{
  pts_fixture_assert_log_count (server, "attached to", 1);
  pts_fixture_assert_log_count (server, "component connection closed", 0);
  pts_fixture_assert_log_count (server, "component link dead", 0);
}

static void
test_link_idle (void)
{
  g_autoptr (StandIn) s = standin_new ();
  g_autoptr (PtsTestClient) link = NULL;
  g_autoptr (GError) error = NULL;
  PtsTestServer *server;
  guint64 bytes;
  gint64 start, idle;

  g_test_summary ("A server that sends nothing to its component for 45 s (longer than any "
                  "timeout) keeps the link: nothing crosses it either way, it stays open, "
                  "and a query afterwards is answered at once on the same connection.");

  server = link_start (s, &link, NULL);
  bytes = pts_test_client_get_bytes_received (link);
  start = g_get_monotonic_time ();
  /* The wait must run out: a byte would be the proxy talking, an end of
   * stream the link dropped. */
  pts_test_client_wait_bytes (link, bytes + 1, LINK_IDLE_MS, &error);
  g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
  idle = g_get_monotonic_time () - start;
  g_test_message ("idle for %.1f s", idle / (double) G_USEC_PER_SEC);
  g_assert_cmpint (idle, >=, (gint64) LINK_IDLE_MS * 1000);

  assert_prompt_streamhost (link, server);
  assert_link_held (server);
  pts_fixture_server_stop (server);
}

static gboolean
match_ping (const PtsNode *stanza, gpointer user_data)
{
  return pts_node_is (stanza, "iq", NULL)
         && g_strcmp0 (pts_node_get_attr (stanza, "type"), "get") == 0
         && pts_test_node_find (stanza, "ping", LINK_NS_PING) != NULL;
}

static void
test_link_ping (void)
{
  g_autoptr (StandIn) s = standin_new ();
  g_autoptr (PtsTestClient) link = NULL;
  g_autoptr (PtsNode) pong = NULL;
  PtsTestServer *server;
  gint64 last;

  g_test_summary ("On a quiet link the proxy pings the server (XEP-0199, to the parent "
                  "domain of its JID) once per keepalive period, keeps the link while the "
                  "pings are answered, and answers the server's own pings.");

  server = link_start (s, &link, "--keepalive", "2", NULL);
  last = g_get_monotonic_time ();
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (PtsNode) ping = pts_fixture_wait (link, match_ping, NULL);
      gint64 now = g_get_monotonic_time ();

      g_test_message ("ping %u after %.2f s of silence", i + 1,
                      (now - last) / (double) G_USEC_PER_SEC);
      /* Not before the server was quiet for a period (less a margin for
       * the two clocks' reading). */
      g_assert_cmpint (now - last, >=, 2 * G_USEC_PER_SEC - 100000);
      g_assert_cmpstr (pts_node_get_attr (ping, "from"), ==, LINK_PROXY_JID);
      g_assert_cmpstr (pts_node_get_attr (ping, "to"), ==, LINK_DOMAIN);
      g_assert_nonnull (pts_node_get_attr (ping, "id"));
      pts_fixture_send (link, "<iq type='result' from='%s' to='%s' id='%s'/>", LINK_DOMAIN,
                        LINK_PROXY_JID, pts_node_get_attr (ping, "id"));
      last = g_get_monotonic_time ();
    }

  pong = pts_fixture_iq (
      link, "<iq type='get' from='" LINK_DOMAIN "' to='" LINK_PROXY_JID "'><ping xmlns='%s'/></iq>",
      LINK_NS_PING);
  pts_fixture_assert_result (pong);
  assert_prompt_streamhost (link, server);
  assert_link_held (server);
  pts_fixture_server_stop (server);
}

static void
test_link_dead (void)
{
  g_autoptr (StandIn) s = standin_new ();
  g_autoptr (PtsTestClient) link = NULL, again = NULL;
  g_autoptr (PtsNode) ping = NULL;
  g_autoptr (GError) error = NULL;
  PtsTestServer *server;
  gint64 attached, closed, reconnected;

  g_test_summary ("A server that stops answering pings is found dead within two keepalive "
                  "periods (a quiet period, then the ping's own), the link is dropped and "
                  "made anew after the back-off, and the new link serves.");

  server = link_start (s, &link, "--keepalive", "2", NULL);
  attached = g_get_monotonic_time ();
  ping = pts_fixture_wait (link, match_ping, NULL);
  /* Unanswered: the proxy must end the link by itself. */
  pts_test_client_wait_closed (link, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  closed = g_get_monotonic_time ();
  again = standin_accept (s, PTS_TEST_TIMEOUT_MS);
  reconnected = g_get_monotonic_time ();
  g_test_message ("dropped %.2f s after the handshake, back %.2f s later",
                  (closed - attached) / (double) G_USEC_PER_SEC,
                  (reconnected - closed) / (double) G_USEC_PER_SEC);
  g_assert_cmpint (closed - attached, >=, 4 * G_USEC_PER_SEC - 100000);
  /* Two periods, then a margin for a loaded machine. */
  g_assert_cmpint (closed - attached, <, 4 * G_USEC_PER_SEC + LINK_PROMPT_US);
  /* The first retry comes a second after the drop. */
  g_assert_cmpint (reconnected - closed, <, G_USEC_PER_SEC + LINK_PROMPT_US);
  pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "attached to", 2,
                              PTS_TEST_TIMEOUT_MS, NULL, &error);
  g_assert_no_error (error);
  pts_fixture_assert_log_count (server, "component link dead", 1);

  assert_prompt_streamhost (again, server);
  pts_fixture_server_stop (server);
}

/* A SOCKS5 connection for @sid from @initiator to @target, accepted. */
static GSocketConnection *
link_socks5_connect (PtsTestServer *server, const char *sid, const char *initiator,
                     const char *target)
{
  g_autofree char *hash = bsp_sidhash (sid, initiator, target);
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn = NULL;

  g_assert_cmpint (
      pts_test_socks5_connect (server->socks5_host, server->socks5_port, hash, &conn, &error), ==,
      0x00);
  g_assert_no_error (error);
  return conn;
}

/* Plain XEP-0065 activation of @sid, sent by @initiator through the link. */
static void
link_activate (PtsTestClient *link, const char *sid, const char *initiator, const char *target)
{
  g_autoptr (PtsNode) reply = pts_fixture_iq (link,
                                              "<iq type='set' from='%s' to='" LINK_PROXY_JID
                                              "'><query xmlns='%s' sid='%s'>"
                                              "<activate>%s</activate></query></iq>",
                                              initiator, PTS_NS_BYTESTREAMS, sid, target);

  pts_fixture_assert_result (reply);
}

typedef struct
{
  const char *name; /* of the bs-proxy element pushed */
  const char *sent; /* its 'sent', or NULL: any */
} PushMatch;

static gboolean
match_push (const PtsNode *stanza, gpointer user_data)
{
  const PushMatch *m = user_data;
  PtsNode *child = pts_test_node_find (stanza, m->name, LINK_NS_BSPROXY);

  return pts_node_is (stanza, "iq", NULL)
         && g_strcmp0 (pts_node_get_attr (stanza, "type"), "set") == 0 && child != NULL
         && (m->sent == NULL || g_strcmp0 (pts_node_get_attr (child, "sent"), m->sent) == 0);
}

/* Waits for a push and answers it, as a receiver must. */
static PtsNode *
wait_push (PtsTestClient *link, const char *name, const char *sent)
{
  PushMatch m = { name, sent };
  PtsNode *push = pts_fixture_wait (link, match_push, &m);

  pts_fixture_send (link, "<iq type='result' from='%s' to='%s' id='%s'/>",
                    pts_node_get_attr (push, "to"), LINK_PROXY_JID, pts_node_get_attr (push, "id"));
  return push;
}

/* With @expire, the link stays down longer than a stanza may wait. */
static void
test_link_queue (gconstpointer expire)
{
  g_autoptr (StandIn) s = standin_new ();
  g_autoptr (PtsTestClient) link = NULL, again = NULL;
  g_autoptr (PtsNode) connected = NULL, push = NULL, progress = NULL;
  g_autoptr (PtsNode) queued = NULL;
  g_autoptr (GSocketConnection) initiator = NULL;
  g_autoptr (PtsHttpConn) download = NULL;
  g_autoptr (GError) error = NULL;
  const char *alice = "alice@" LINK_DOMAIN "/desk", *bob = "bob@" LINK_DOMAIN "/laptop";
  PtsHttpResponse response = { 0 };
  guint8 data[8192];
  guint64 state = 21;
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  PtsTestServer *server;

  if (expire)
    g_test_summary ("A server that accepts the connection and never answers the handshake "
                    "is left after 30 s; a stanza that waited that long for the link is "
                    "given up with a log line naming it, and the transfer goes on.");
  else
    g_test_summary ("A stanza the proxy has to send while its link is down (a <progress/> "
                    "push to an HTTP receiver whose download goes on) waits for the link "
                    "and goes out on the next one; the log says so.");

  server
      = link_start (s, &link, "--http-port", "0", "--progress-interval", "50", "--verbose", NULL);
  pts_test_random_fill (&state, data, sizeof data);

  /* A SOCKS5 sender, a receiver that downloads over HTTP. */
  connected = pts_fixture_iq (link,
                              "<iq type='set' from='%s' to='" LINK_PROXY_JID "'>"
                              "<connect xmlns='%s' sid='queued' jid='%s'/></iq>",
                              bob, LINK_NS_BSPROXY, alice);
  pts_fixture_assert_result (connected);
  initiator = link_socks5_connect (server, "queued", alice, bob);
  link_activate (link, "queued", alice, bob);
  push = wait_push (link, "activated", NULL);
  download = pts_http_conn_open (
      pts_node_get_attr (pts_test_node_find (push, "activated", LINK_NS_BSPROXY), "url"), &error);
  g_assert_no_error (error);
  pts_http_conn_send_head (download, "GET", NULL, -1, &error);
  g_assert_no_error (error);
  /* The download is read at the end: what the proxy hands it, it counts
   * as sent (16 KiB in all fit in the socket's buffers). */
  pts_test_socket_send_all (initiator, data, sizeof data, &error);
  g_assert_no_error (error);
  progress = wait_push (link, "progress", "8192");

  /* The link goes; the download goes on, and its next push must wait. */
  pts_test_client_close (link);
  pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "component connection closed", 1,
                              PTS_TEST_TIMEOUT_MS, NULL, &error);
  g_assert_no_error (error);
  pts_test_socket_send_all (initiator, data, sizeof data, &error);
  g_assert_no_error (error);
  pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "waits for the link", 1,
                              PTS_TEST_TIMEOUT_MS, NULL, &error);
  g_assert_no_error (error);

  if (expire)
    {
      /* The proxy's next connection waits in the listen queue: no
       * handshake. The push has waited as long as any may by then. */
      g_autoptr (GSocket) unanswered = NULL;
      g_autofree char *line = NULL;
      PushMatch late = { "progress", "16384" };

      pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "no handshake from", 1,
                                  30000 + PTS_TEST_TIMEOUT_MS, NULL, &error);
      g_assert_no_error (error);
      pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "stanza not sent", 1,
                                  PTS_TEST_TIMEOUT_MS, &line, &error);
      g_assert_no_error (error);
      g_assert_nonnull (strstr (line, "to='bob@" LINK_DOMAIN "/laptop'"));
      unanswered = g_socket_accept (s->socket, NULL, &error);
      g_assert_no_error (error);
      again = standin_accept (s, PTS_TEST_TIMEOUT_MS);
      queued = pts_test_client_wait (again, match_push, &late, 1000, &error);
      g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
      g_clear_error (&error);
      pts_fixture_assert_log_count (server, "that waited for the link", 0);
    }
  else
    {
      again = standin_accept (s, PTS_TEST_TIMEOUT_MS);
      queued = wait_push (again, "progress", "16384");
      g_assert_cmpstr (pts_node_get_attr (queued, "to"), ==, bob);
      pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "that waited for the link", 1,
                                  PTS_TEST_TIMEOUT_MS, NULL, &error);
      g_assert_no_error (error);
      pts_fixture_assert_log_count (server, "stanza not sent", 0);
    }

  /* The transfer itself never noticed. */
  g_socket_shutdown (g_socket_connection_get_socket (initiator), FALSE, TRUE, &error);
  g_assert_no_error (error);
  pts_http_conn_read_head (download, &response, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  pts_http_conn_read_body (download, &response, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_true (response.complete);
  g_assert_cmpuint (response.body_length, ==, 2 * sizeof data);
  g_checksum_update (sha, data, sizeof data);
  g_checksum_update (sha, data, sizeof data);
  g_assert_cmpstr (response.sha256, ==, g_checksum_get_string (sha));
  pts_http_response_clear (&response);
  pts_fixture_server_stop (server);
}

/* The READY line's JSON object. */
static JsonObject *
ready_object (PtsTestServer *server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *line = NULL;

  pts_test_process_wait_line (server->process, PTS_TEST_STDOUT, "READY {", 1, PTS_TEST_TIMEOUT_MS,
                              &line, &error);
  g_assert_no_error (error);
  json_parser_load_from_data (parser, line + strlen ("READY "), -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_acl_default (void)
{
  g_autoptr (StandIn) s = standin_new ();
  g_autoptr (PtsTestClient) link = NULL;
  g_autoptr (JsonObject) ready = NULL;
  g_autoptr (PtsNode) foreign = NULL;
  g_autoptr (GSocketConnection) target = NULL, initiator = NULL;
  g_autoptr (GError) error = NULL;
  const char *alice = "alice@" LINK_DOMAIN "/desk", *bob = "bob@" LINK_DOMAIN "/laptop";
  PtsTestServer *server;
  JsonArray *acl;
  PtsTestTransfer result;

  g_test_summary ("Started with only --component, --component-secret and --proxy-jid "
                  "proxy.example.org, the proxy serves the users of example.org (READY "
                  "says so) and still refuses those of another domain.");

  server = link_start (s, &link, NULL);
  ready = ready_object (server);
  acl = json_object_get_array_member (ready, "acl");
  g_assert_cmpuint (json_array_get_length (acl), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (acl, 0), ==, LINK_DOMAIN);
  g_assert_false (json_object_get_boolean_member (ready, "acl_open"));

  foreign = pts_fixture_iq (link,
                            "<iq type='get' from='mallory@example.net/x' to='" LINK_PROXY_JID
                            "'><query xmlns='%s'/></iq>",
                            PTS_NS_BYTESTREAMS);
  pts_fixture_assert_error (foreign, "forbidden");
  assert_prompt_streamhost (link, server);

  /* A whole SOCKS5 transfer between two users of example.org. */
  target = link_socks5_connect (server, "parent-domain", alice, bob);
  initiator = link_socks5_connect (server, "parent-domain", alice, bob);
  link_activate (link, "parent-domain", alice, bob);
  pts_test_transfer (initiator, target, 1024 * 1024, 14, PTS_TEST_TIMEOUT_MS, &result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result.received_sha256, ==, result.sent_sha256);

  pts_fixture_server_stop (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/component/link/idle", test_link_idle);
  g_test_add_func ("/server/component/link/ping", test_link_ping);
  g_test_add_func ("/server/component/link/dead", test_link_dead);
  g_test_add_data_func ("/server/component/link/queue", GINT_TO_POINTER (FALSE), test_link_queue);
  g_test_add_data_func ("/server/component/link/queue-expired", GINT_TO_POINTER (TRUE),
                        test_link_queue);
  g_test_add_func ("/server/component/acl-default", test_acl_default);

  return g_test_run ();
}
