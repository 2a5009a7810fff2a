/* test-direct-race.c — the plugin receiver's race between the sender's own
 * streamhost and a bs-proxy, each side made to win on purpose
 *
 * bob is a real libpurple (bsp-purple-driver) with the plugin. alice is
 * this test: a raw XMPP client (resource "evil") that offers a file with
 * her own streamhost (a socket of this test) and a bs-proxy, and a second
 * one (resource "proxy") that plays the bs-proxy. bob connects to the
 * streamhost at once; the test holds its SOCKS5 answer back until bob's
 * <connect/> reached the proxy (after the head start), then:
 *
 *   direct-wins: answers the handshake, leaves the <connect/> unanswered.
 *     bob must answer the offer with alice's own JID, end the proxy's
 *     session with <abort/> behind the <connect/>, take no notice of the
 *     late <connected/>, and read the file from the socket.
 *   proxy-wins: the proxy confirms. bob must answer with the proxy, and
 *     keep the direct connection open (libpurple's sender would take its
 *     close as the transfer's end) until the proxy's push, then close it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "bsp-protocol.h"
#include "test-hostile-harness.h"

#define RACE_SID "race-sid-1"
#define RACE_FILE "race.bin"
#define RACE_SIZE 300007
#define RACE_WAIT_MS HOSTILE_WAIT_MS
#define RACE_HEAD_START_MS 300

#define NS_SI "http://jabber.org/protocol/si"
#define NS_SI_FT "http://jabber.org/protocol/si/profile/file-transfer"

typedef struct
{
  HostileWorld w;    /* w.peer: alice the sender, w.proxy: the fake bs-proxy */
  GSocket *listener; /* alice's own streamhost */
  guint16 port;
  char *bob;
  char *accept_dir;
  char *offer_id;
  gint64 offered_at;
} Race;

/* Signs everyone in and has bob accept the SI offer; alice's streamhost
 * listens on race->port. Returns FALSE when the test can't run here. */
static gboolean
race_start (Race *race)
{
  g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "bob", NULL);
  g_autofree char *size = g_strdup_printf ("%u", RACE_SIZE);
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) reply = NULL;

  if (!hostile_world_start (&race->w, "alice", "proxy"))
    return FALSE;
  race->accept_dir = g_build_filename (g_get_user_config_dir (), "received", NULL);
  g_assert_cmpint (g_mkdir_with_parents (race->accept_dir, 0700), ==, 0);
  race->listener = hostile_listen (&race->port);
  race->bob = g_strdup_printf ("bob@%s/race", race->w.server->domain);
  hostile_world_spawn_driver (&race->w, race->bob, user_dir,
                              (const char *const[]){ "--accept-dir", race->accept_dir, NULL });
  pts_test_process_wait_line (race->w.driver, PTS_TEST_STDOUT, "\"signed-on\"", 1, RACE_WAIT_MS,
                              NULL, &error);
  g_assert_no_error (error);

  reply = pts_test_client_iq (
      race->w.peer, &error,
      "<iq type='set' to='%s'><si xmlns='" NS_SI "' id='" RACE_SID "' profile='" NS_SI_FT
      "'><file xmlns='" NS_SI_FT "' name='" RACE_FILE "' size='%s'/>"
      "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' "
      "type='form'><field var='stream-method' type='list-single'><option><value>"
      "http://jabber.org/protocol/bytestreams</value></option></field></x></feature></si></iq>",
      race->bob, size);
  g_assert_no_error (error);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "result");
  return TRUE;
}

static void
race_finish (Race *race)
{
  hostile_world_stop (&race->w);
  g_clear_object (&race->listener);
  g_free (race->bob);
  g_free (race->accept_dir);
  g_free (race->offer_id);
}

/* alice's offer, her own streamhost first as libpurple orders them; bob
 * connects to it at once and greets: the connection, greeting read. */
static GSocketConnection *
race_offer (Race *race)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) accepted = NULL;
  GSocketConnection *conn;
  guint8 greeting[3];

  race->offer_id = pts_test_client_next_id (race->w.peer);
  race->offered_at = g_get_monotonic_time ();
  pts_test_client_sendf (race->w.peer, &error,
                         "<iq type='set' id='%s' to='%s'><query xmlns='%s' sid='" RACE_SID "'>"
                         "<streamhost jid='%s' host='127.0.0.1' port='%u'/>"
                         "<streamhost jid='%s' host='127.0.0.1' port='9'/></query></iq>",
                         race->offer_id, race->bob, BSP_NS_BYTESTREAMS,
                         pts_test_client_get_jid (race->w.peer), race->port,
                         pts_test_client_get_jid (race->w.proxy));
  g_assert_no_error (error);
  accepted = g_socket_accept (race->listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (accepted, RACE_WAIT_MS / 1000);
  conn = g_socket_connection_factory_create_connection (accepted);
  g_assert_true (pts_test_socket_read_exact (conn, greeting, 3, RACE_WAIT_MS, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (greeting, 3, ((const guint8[]){ 5, 1, 0 }), 3);
  return conn;
}

/* Plays the bs-proxy (no HTTP base: no reachability check) until bob's
 * <connect/> comes; returns it, unanswered. */
static PtsNode *
race_proxy_until_connect (Race *race)
{
  const char *me = pts_test_client_get_jid (race->w.proxy);

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (GError) error = NULL;
      PtsNode *iq
          = pts_test_client_wait (race->w.proxy, hostile_match_request, NULL, RACE_WAIT_MS, &error);
      const char *id = pts_node_get_attr (iq, "id");
      const char *from = pts_node_get_attr (iq, "from");
      g_autofree char *answer = NULL;

      g_assert_no_error (error);
      if (pts_node_get_child (iq, "connect", BSP_NS_BSPROXY) != NULL)
        {
          gint64 after = (g_get_monotonic_time () - race->offered_at) / 1000;

          /* the direct path had its head start */
          g_test_message ("<connect/> %" G_GINT64_FORMAT " ms after the offer", after);
          g_assert_cmpint (after, >=, RACE_HEAD_START_MS - 50);
          return iq;
        }
      if (pts_node_get_child (iq, "query", BSP_NS_DISCO_INFO) != NULL)
        answer = g_markup_printf_escaped (
            "<iq type='result' id='%s' to='%s'><query xmlns='%s'>"
            "<identity category='proxy' type='bytestreams' name='fake %s'/>"
            "<feature var='%s'/><feature var='%s'/></query></iq>",
            id, from, BSP_NS_DISCO_INFO, me, BSP_NS_BYTESTREAMS, BSP_NS_BSPROXY);
      else
        answer = g_markup_printf_escaped ("<iq type='error' id='%s' to='%s'><error type='cancel'>"
                                          "<feature-not-implemented xmlns='%s'/></error></iq>",
                                          id, from, BSP_NS_STANZAS);
      hostile_send_raw (race->w.proxy, answer);
      pts_node_free (iq);
    }
  g_assert_not_reached ();
  return NULL;
}

/* The proxy confirms bob's @connect. */
static void
race_confirm (Race *race, const PtsNode *connect)
{
  g_autofree char *answer = g_markup_printf_escaped (
      "<iq type='result' id='%s' to='%s'><connected xmlns='%s' jid='%s'/></iq>",
      pts_node_get_attr (connect, "id"), pts_node_get_attr (connect, "from"), BSP_NS_BSPROXY,
      pts_test_client_get_jid (race->w.proxy));

  hostile_send_raw (race->w.proxy, answer);
}

/* The result to alice's offer: the streamhost bob says he used. */
static char *
race_used (Race *race)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) reply
      = pts_test_client_wait_iq (race->w.peer, race->offer_id, RACE_WAIT_MS, &error);
  PtsNode *used;

  g_assert_no_error (error);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "result");
  used = pts_test_node_find (reply, "streamhost-used", BSP_NS_BYTESTREAMS);
  g_assert_nonnull (used);
  return g_strdup (pts_node_get_attr (used, "jid"));
}

static void
test_direct_wins (void)
{
  Race race = { 0 };
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (PtsNode) connect = NULL;
  g_autoptr (PtsNode) abort_iq = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *used = NULL;
  g_autofree char *sidhash = NULL;
  g_autofree char *ack = NULL;
  g_autofree guint8 *data = g_malloc (RACE_SIZE);
  g_autofree char *received = NULL;
  g_autofree char *got = NULL;
  gsize got_len = 0;
  guint8 request[5 + 40 + 2];
  guint8 reply[5 + 40 + 2] = { 5, 0, 0, 3, 40 };
  guint64 state = 7;
  PtsNode *abort;

  if (!race_start (&race))
    return;
  conn = race_offer (&race);
  connect = race_proxy_until_connect (&race);

  /* Now the direct path finishes first: its handshake, to the right hash. */
  sidhash = bsp_sidhash (RACE_SID, pts_test_client_get_jid (race.w.peer), race.bob);
  g_assert_true (pts_test_socket_send_all (conn, (const guint8[]){ 5, 0 }, 2, &error));
  g_assert_true (pts_test_socket_read_exact (conn, request, sizeof request, RACE_WAIT_MS, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (request, 5, ((const guint8[]){ 5, 1, 0, 3, 40 }), 5);
  g_assert_cmpmem (request + 5, 40, sidhash, 40);
  memcpy (reply + 5, sidhash, 40);
  g_assert_true (pts_test_socket_send_all (conn, reply, sizeof reply, &error));

  used = race_used (&race);
  g_assert_cmpstr (used, ==, pts_test_client_get_jid (race.w.peer));

  /* The proxy's session, made by the <connect/>, is ended behind it. */
  abort_iq = pts_test_client_wait (race.w.proxy, hostile_match_request, NULL, RACE_WAIT_MS, &error);
  g_assert_no_error (error);
  abort = pts_node_get_child (abort_iq, "abort", BSP_NS_BSPROXY);
  g_assert_nonnull (abort);
  g_assert_cmpstr (pts_node_get_attr (abort, "sid"), ==, RACE_SID);
  g_assert_cmpstr (pts_node_get_attr (abort, "jid"), ==, pts_test_client_get_jid (race.w.peer));
  g_assert_cmpstr (pts_node_get_attr (abort, "reason"), ==, "cancelled");
  /* the late answer to the <connect/>, then the <abort/>'s */
  race_confirm (&race, connect);
  ack = g_markup_printf_escaped ("<iq type='result' id='%s' to='%s'/>",
                                 pts_node_get_attr (abort_iq, "id"),
                                 pts_node_get_attr (abort_iq, "from"));
  hostile_send_raw (race.w.proxy, ack);

  /* The file, straight from alice's socket into bob's libpurple. */
  pts_test_random_fill (&state, data, RACE_SIZE);
  g_assert_true (pts_test_socket_send_all (conn, data, RACE_SIZE, &error));
  g_assert_no_error (error);
  hostile_world_wait_driver (&race.w);
  g_assert_cmpuint (
      pts_test_process_count_lines (race.w.driver, PTS_TEST_STDOUT, "\"xfer-completed\""), ==, 1);
  g_assert_cmpuint (pts_test_process_count_lines (race.w.driver, PTS_TEST_STDOUT,
                                                  RACE_FILE " goes directly, the usual XMPP way"),
                    ==, 1);
  received = g_build_filename (race.accept_dir, RACE_FILE, NULL);
  g_assert_true (g_file_get_contents (received, &got, &got_len, NULL));
  g_assert_cmpmem (got, got_len, data, RACE_SIZE);
  race_finish (&race);
}

static void
test_proxy_wins (void)
{
  Race race = { 0 };
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (PtsNode) connect = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *used = NULL;
  g_autofree char *sidhash = NULL;
  g_autofree char *push = NULL;
  g_autofree char *push_id = NULL;
  g_autoptr (PtsNode) push_reply = NULL;
  GSocket *socket;
  guint8 byte;

  if (!race_start (&race))
    return;
  conn = race_offer (&race);
  connect = race_proxy_until_connect (&race);
  race_confirm (&race, connect);
  used = race_used (&race);
  g_assert_cmpstr (used, ==, pts_test_client_get_jid (race.w.proxy));

  /* The losing connection stays open (no EOF, no byte) until the push. */
  socket = g_socket_connection_get_socket (conn);
  g_assert_false (g_socket_condition_timed_wait (socket, G_IO_IN, 500 * 1000, NULL, NULL));

  sidhash = bsp_sidhash (RACE_SID, pts_test_client_get_jid (race.w.peer), race.bob);
  push_id = pts_test_client_next_id (race.w.proxy);
  push = g_markup_printf_escaped ("<iq type='set' id='%s' to='%s'><ended xmlns='%s' sidhash='%s' "
                                  "reason='sender-cancelled'/></iq>",
                                  push_id, race.bob, BSP_NS_BSPROXY, sidhash);
  hostile_send_raw (race.w.proxy, push);
  push_reply = pts_test_client_wait_iq (race.w.proxy, push_id, RACE_WAIT_MS, &error);
  g_assert_no_error (error);
  /* now it closes */
  g_assert_true (g_socket_condition_timed_wait (socket, G_IO_IN, 5 * G_USEC_PER_SEC, NULL, NULL));
  g_assert_cmpint (g_socket_receive (socket, (char *) &byte, 1, NULL, NULL), ==, 0);

  hostile_world_wait_driver (&race.w);
  g_assert_cmpuint (
      pts_test_process_count_lines (race.w.driver, PTS_TEST_STDOUT, "\"xfer-cancelled\""), ==, 1);
  race_finish (&race);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/direct-race/direct-wins", test_direct_wins);
  g_test_add_func ("/direct-race/proxy-wins", test_proxy_wins);
  return g_test_run ();
}
