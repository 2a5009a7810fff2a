/* test-faults-ended.c — what the parties are told when a session ends
 * early: <abort/> and <ended/> (PROTOCOL.md §5.6, §5.7). A reset or short
 * side named after the grace, an <abort/> passed on with its text cleaned,
 * an <abort/> after a reset, one from a third party refused, an <abort/>
 * before the activation, a session that expires. Part of the program
 * test-server-faults (test-faults.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "test-faults-harness.h"

typedef struct
{
  const char *proxy_jid;
  const char *hash;
} EndedMatch;

static gboolean
match_ended (const PtsNode *stanza, gpointer user_data)
{
  const EndedMatch *m = user_data;
  PtsNode *ended = pts_node_get_child (stanza, "ended", NS_BSPROXY);

  return pts_node_is (stanza, "iq", NULL) && ended != NULL
         && g_strcmp0 (pts_node_get_attr (stanza, "from"), m->proxy_jid) == 0
         && g_strcmp0 (pts_node_get_attr (stanza, "type"), "set") == 0
         && g_strcmp0 (pts_node_get_attr (ended, "sidhash"), m->hash) == 0;
}

/* The <ended/> push for @hash that @client gets (within @timeout_ms), or
 * NULL; answered as every push is. */
static PtsNode *
wait_ended (Fixture *f, PtsTestClient *client, const char *hash, guint timeout_ms)
{
  EndedMatch m = { f->server->proxy_jid, hash };
  g_autoptr (GError) error = NULL;
  PtsNode *iq = pts_test_client_wait (client, match_ended, &m, timeout_ms, &error);

  if (iq == NULL)
    {
      g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
      return NULL;
    }
  pts_fixture_send (client, "<iq type='result' to='%s' id='%s'/>", f->server->proxy_jid,
                    pts_node_get_attr (iq, "id"));
  return iq;
}

/* @client is told that the session ended for @reason (with @text, when
 * not NULL). */
static void
assert_ended (Fixture *f, PtsTestClient *client, const char *hash, const char *reason,
              const char *text)
{
  g_autoptr (PtsNode) iq = wait_ended (f, client, hash, PTS_TEST_TIMEOUT_MS);
  PtsNode *ended;

  g_assert_nonnull (iq);
  ended = pts_node_get_child (iq, "ended", NS_BSPROXY);
  g_test_message ("%s: <ended reason='%s'>%s</ended>", pts_test_client_get_jid (client),
                  pts_node_get_attr (ended, "reason"),
                  pts_node_get_text (ended) ? pts_node_get_text (ended) : "");
  g_assert_cmpstr (pts_node_get_attr (ended, "reason"), ==, reason);
  if (text != NULL)
    g_assert_cmpstr (pts_node_get_text (ended), ==, text);
}

/* @client is told nothing of @hash for longer than the grace (§5.7). */
static void
assert_not_ended (Fixture *f, PtsTestClient *client, const char *hash)
{
  g_autoptr (PtsNode) iq = wait_ended (f, client, hash, 1500);

  g_assert_null (iq);
}

static PtsNode *
send_abort (PtsTestClient *client, Fixture *f, const char *sid, const char *other_jid,
            const char *reason, const char *text)
{
  return pts_fixture_iq (client,
                         "<iq type='set' to='%s'><abort xmlns='" NS_BSPROXY "' sid='%s' "
                         "jid='%s' reason='%s'>%s</abort></iq>",
                         f->server->proxy_jid, sid, other_jid, reason, text);
}

/* The server, then one stream mid-way: an HTTP receiver, an HTTP sender
 * (SOCKS5 unless @http_sender), 1 MiB through. */
static void
ended_stream_start (Fixture *f, gboolean http_sender, const char *sid, FaultStream *s)
{
  fixture_start (f);
  fault_stream_open (f, http_sender, TRUE, sid, s);
  fault_stream_flow (s);
}

/* Bob registers as the receiver of Alice's stream @sid (announcing @size
 * unless NULL); returns its SIDHASH. */
static char *
receiver_registered (Fixture *f, const char *sid, const char *size)
{
  g_autoptr (PtsNode) reply = receiver_connect (f, sid, size);

  pts_fixture_assert_result (reply);
  return pts_fixture_sidhash (sid, f->alice, f->bob);
}

typedef struct
{
  const char *path;
  Victim victim;
  const char *reason; /* what both parties are told */
} ResetCase;

static const ResetCase reset_cases[] = {
  { "/server/ended/sender-reset", VICTIM_SENDER, "sender-lost" },
  { "/server/ended/receiver-reset", VICTIM_RECEIVER, "receiver-lost" },
};

static void
test_ended_reset (gconstpointer data)
{
  const ResetCase *tc = data;
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };

  g_test_summary ("HTTP to HTTP, mid-stream, one side's HTTP connection is reset and it sends "
                  "no <abort/>: after the grace, both parties get <ended/> saying whose "
                  "connection broke.");
  ended_stream_start (&f, TRUE, "reset-sid", &s);
  end_connection (tc->victim == VICTIM_SENDER ? s.sender : s.receiver, END_RST);
  /* The proxy sees a reset download only when it writes to it: the
   * sender goes on until the proxy stops taking its bytes. */
  if (tc->victim == VICTIM_RECEIVER)
    send_stream (s.sender, &s.state, FILE_SIZE - 1 * MIB);
  assert_ended (&f, f.bob, s.hash, tc->reason, NULL);
  assert_ended (&f, f.alice, s.hash, tc->reason, NULL);
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

static void
test_ended_short (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };

  g_test_summary ("A plain SOCKS5 sender (activated over XMPP, as libpurple does) closes its "
                  "stream cleanly before the size the HTTP receiver announced, and sends no "
                  "<abort/>: after the grace both are told short.");
  ended_stream_start (&f, FALSE, "short-sid", &s);
  end_connection (s.sender, END_FIN);
  assert_ended (&f, f.bob, s.hash, "short", NULL);
  assert_ended (&f, f.alice, s.hash, "short", NULL);
  fixture_stop (&f);
}

static void
test_ended_abort_first (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (GBytes) answer = NULL;
  g_autofree char *long_text = g_strnfill (1000, 'x');
  /* a newline, a tab, DEL and a right-to-left override: each a blank */
  g_autofree char *text = g_strconcat ("disk full\n\t\x7f\xe2\x80\xae[2J ", long_text, NULL);
  const char *told = "disk full    [2J x";
  PtsNode *ended;
  const char *got;

  g_test_summary ("Mid-stream the receiver ends the session with <abort reason='failed'> and "
                  "a long text with control characters: it gets a result, the sender gets "
                  "<ended reason='receiver-failed'> with the text cleaned and cut to 200 "
                  "characters, the receiver no <ended/>, and the upload no 200.");
  ended_stream_start (&f, TRUE, "abort-sid", &s);
  reply = send_abort (f.bob, &f, "abort-sid", pts_test_client_get_jid (f.alice), "failed", text);
  pts_fixture_assert_result (reply);
  {
    g_autoptr (PtsNode) iq = wait_ended (&f, f.alice, s.hash, PTS_TEST_TIMEOUT_MS);

    g_assert_nonnull (iq);
    ended = pts_node_get_child (iq, "ended", NS_BSPROXY);
    g_assert_cmpstr (pts_node_get_attr (ended, "reason"), ==, "receiver-failed");
    got = pts_node_get_text (ended);
    g_assert_cmpuint (g_utf8_strlen (got, -1), ==, 200);
    g_assert_true (g_str_has_prefix (got, told));
  }
  assert_not_ended (&f, f.bob, s.hash);
  send_stream (s.sender, &s.state, FILE_SIZE);
  answer = read_all (s.sender);
  {
    gsize len;
    const char *head = g_bytes_get_data (answer, &len);
    g_assert_false (len >= 13 && g_str_has_prefix (head, "HTTP/1.1 200 "));
  }
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

static void
test_ended_abort_after_reset (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };
  g_autoptr (PtsNode) reply = NULL;

  g_test_summary ("The sender's HTTP connection is reset, and its <abort reason='cancelled'/> "
                  "arrives just after (as a client's XMPP stanza may): the receiver is told "
                  "sender-cancelled, never sender-lost, and the sender nothing.");
  ended_stream_start (&f, TRUE, "late-sid", &s);
  end_connection (s.sender, END_RST);
  /* the reset is seen first: the session is gone, its record waits */
  assert_sessions_freed (&f);
  reply = send_abort (f.alice, &f, "late-sid", pts_test_client_get_jid (f.bob), "cancelled", "");
  pts_fixture_assert_result (reply);
  assert_ended (&f, f.bob, s.hash, "sender-cancelled", NULL);
  assert_not_ended (&f, f.alice, s.hash);
  assert_not_ended (&f, f.bob, s.hash); /* and only once */
  fixture_stop (&f);
}

static gpointer
read_all_thread (gpointer conn)
{
  return read_all (conn);
}

static void
test_ended_third_party (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };
  g_autoptr (PtsTestClient) carol = NULL;
  g_autoptr (GBytes) rest = NULL;
  GThread *reader;
  const char *alice = NULL, *bob = NULL;
  gsize tail = strlen ("\r\n--" BOUNDARY "--\r\n");

  g_test_summary ("carol, who is no party, sends <abort/> for alice's stream to bob (naming "
                  "either of them, as either reason): each is refused with item-not-found, "
                  "the transfer goes on to its end and nobody gets <ended/>; a malformed "
                  "<abort/> is a bad-request.");
  ended_stream_start (&f, TRUE, "third-sid", &s);
  carol = pts_fixture_login (f.server, "carol", "x");
  alice = pts_test_client_get_jid (f.alice);
  bob = pts_test_client_get_jid (f.bob);
  for (int i = 0; i < 4; i++)
    {
      g_autoptr (PtsNode) reply = send_abort (carol, &f, "third-sid", i % 2 ? alice : bob,
                                              i < 2 ? "cancelled" : "failed", "boo");
      pts_fixture_assert_error (reply, "item-not-found");
    }
  {
    g_autoptr (PtsNode) reply = send_abort (f.bob, &f, "third-sid", alice, "bored", "");
    pts_fixture_assert_error (reply, "bad-request");
  }
  /* the rest of the file, the multipart's end: a whole download */
  reader = g_thread_new ("receiver", read_all_thread, s.receiver);
  g_assert_true (send_stream (s.sender, &s.state, FILE_SIZE - 1 * MIB));
  g_assert_true (pts_test_socket_send_all (s.sender, "\r\n--" BOUNDARY "--\r\n", tail, NULL));
  rest = g_thread_join (reader);
  /* with the half MiB read before: the whole body and its head */
  g_assert_cmpuint (g_bytes_get_size (rest) + 512 * 1024, >, FILE_SIZE);
  assert_not_ended (&f, f.alice, s.hash);
  assert_not_ended (&f, f.bob, s.hash);
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

static void
test_ended_before_activation (void)
{
  Fixture f = { 0 };
  g_autofree char *hash = NULL;
  g_autoptr (PtsNode) reply = NULL;

  g_test_summary ("The receiver registered by <connect/>, the sender cancels before the "
                  "activation with <abort/>: the receiver is told sender-cancelled with the "
                  "sender's text, and the session is gone (the activation then finds none).");
  fixture_start (&f);
  hash = receiver_registered (&f, "early-sid", "10");
  reply = send_abort (f.alice, &f, "early-sid", pts_test_client_get_jid (f.bob), "cancelled",
                      "changed my mind");
  pts_fixture_assert_result (reply);
  assert_ended (&f, f.bob, hash, "sender-cancelled", "changed my mind");
  g_clear_pointer (&reply, pts_node_free);
  reply = sender_activate_http (&f, "early-sid");
  pts_fixture_assert_error (reply, "item-not-found");
  fixture_stop (&f);
}

static void
test_ended_expired (void)
{
  Fixture f = { 0 };
  g_autofree char *hash = NULL;

  g_test_summary ("The receiver registered by <connect/> and the sender never activates: when "
                  "the activation timeout drops the session, the receiver is told expired.");
  f.server = pts_fixture_server_start ("--http-port", "0", "--activation-timeout", "1", NULL);
  f.alice = pts_fixture_login (f.server, "alice", "sender");
  f.bob = pts_fixture_login (f.server, "bob", "receiver");
  hash = receiver_registered (&f, "expired-sid", NULL);
  assert_ended (&f, f.bob, hash, "expired", NULL);
  assert_not_ended (&f, f.alice, hash);
  fixture_stop (&f);
}

void
test_faults_add_ended (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (reset_cases); i++)
    g_test_add_data_func (reset_cases[i].path, &reset_cases[i], test_ended_reset);
  g_test_add_func ("/server/ended/short", test_ended_short);
  g_test_add_func ("/server/ended/abort-first", test_ended_abort_first);
  g_test_add_func ("/server/ended/abort-after-reset", test_ended_abort_after_reset);
  g_test_add_func ("/server/ended/third-party", test_ended_third_party);
  g_test_add_func ("/server/ended/before-activation", test_ended_before_activation);
  g_test_add_func ("/server/ended/expired", test_ended_expired);
}
