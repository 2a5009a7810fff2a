/* test-activation.c — XEP-0065 activation: every error, the limits and the timeouts
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-fixture.h"

/* Alice is the initiator, Bob the target. */
typedef PtsFixturePair Fixture;

static void
test_bad_request (void)
{
  Fixture f;
  g_autoptr (PtsNode) no_sid = NULL, empty_sid = NULL, no_activate = NULL, long_sid = NULL;
  g_autofree char *sid129 = g_strnfill (129, 's');

  g_test_summary ("An activation without a sid, with an empty or over-long sid, or "
                  "without <activate/> is a bad-request.");

  pts_fixture_pair_start (&f, NULL);
  no_sid
      = pts_fixture_iq (f.alice,
                        "<iq type='set' to='%s'><query xmlns='%s'>"
                        "<activate>%s</activate></query></iq>",
                        f.server->proxy_jid, PTS_NS_BYTESTREAMS, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (no_sid, "bad-request");
  empty_sid
      = pts_fixture_iq (f.alice,
                        "<iq type='set' to='%s'><query xmlns='%s' sid=''>"
                        "<activate>%s</activate></query></iq>",
                        f.server->proxy_jid, PTS_NS_BYTESTREAMS, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (empty_sid, "bad-request");
  long_sid = pts_fixture_activate (f.alice, f.server, sid129, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (long_sid, "bad-request");
  no_activate = pts_fixture_iq (f.alice, "<iq type='set' to='%s'><query xmlns='%s' sid='s1'/></iq>",
                                f.server->proxy_jid, PTS_NS_BYTESTREAMS);
  pts_fixture_assert_error (no_activate, "bad-request");
  pts_fixture_pair_stop (&f);
}

static void
test_jid_malformed (void)
{
  Fixture f;
  g_autoptr (PtsNode) bare = NULL, empty = NULL, junk = NULL;

  g_test_summary ("The target in <activate/> must be a full JID: its SIDHASH needs the "
                  "resource.");

  pts_fixture_pair_start (&f, NULL);
  bare = pts_fixture_activate (f.alice, f.server, "s1", "bob@localhost");
  pts_fixture_assert_error (bare, "jid-malformed");
  empty = pts_fixture_activate (f.alice, f.server, "s1", "");
  pts_fixture_assert_error (empty, "jid-malformed");
  junk = pts_fixture_activate (f.alice, f.server, "s1", "@/");
  pts_fixture_assert_error (junk, "jid-malformed");
  pts_fixture_pair_stop (&f);
}

static void
test_forbidden (void)
{
  Fixture f;
  PtsFixtureStream stream;
  g_autoptr (PtsNode) hosts = NULL, reply = NULL;

  g_test_summary ("With --acl naming only another domain, local users get forbidden for "
                  "both the streamhost query and the activation.");

  pts_fixture_pair_start (&f, "--acl", "elsewhere.example", NULL);
  hosts = pts_fixture_iq (f.alice, "<iq type='get' to='%s'><query xmlns='%s'/></iq>",
                          f.server->proxy_jid, PTS_NS_BYTESTREAMS);
  pts_fixture_assert_error (hosts, "forbidden");
  pts_fixture_stream_connect (&stream, f.server, f.alice, f.bob, "acl-sid");
  reply = pts_fixture_activate (f.alice, f.server, stream.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (reply, "forbidden");
  pts_fixture_stream_clear (&stream);
  pts_fixture_pair_stop (&f);
}

static void
test_item_not_found (void)
{
  Fixture f;
  PtsFixtureStream stream;
  g_autoptr (PtsNode) nothing = NULL, other_sid = NULL, swapped = NULL;

  g_test_summary ("Activating a stream nobody connected for, or with a sid or roles that "
                  "hash differently, is item-not-found.");

  pts_fixture_pair_start (&f, NULL);
  nothing = pts_fixture_activate (f.alice, f.server, "never", pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (nothing, "item-not-found");

  pts_fixture_stream_connect (&stream, f.server, f.alice, f.bob, "real-sid");
  other_sid
      = pts_fixture_activate (f.alice, f.server, "other-sid", pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (other_sid, "item-not-found");
  /* The target cannot activate: its SIDHASH has the roles the other way. */
  swapped = pts_fixture_activate (f.bob, f.server, stream.sid, pts_test_client_get_jid (f.alice));
  pts_fixture_assert_error (swapped, "item-not-found");
  pts_fixture_stream_clear (&stream);
  pts_fixture_pair_stop (&f);
}

static void
test_not_allowed (void)
{
  Fixture f;
  g_autofree char *hash = NULL;
  g_autoptr (GSocketConnection) target = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) reply = NULL;
  int code;

  g_test_summary ("Activation with only the target connected is not-allowed "
                  "(XEP-0065 §6.3.3).");

  pts_fixture_pair_start (&f, NULL);
  hash = pts_fixture_sidhash ("half-sid", f.alice, f.bob);
  code = pts_test_socks5_connect (f.server->socks5_host, f.server->socks5_port, hash, &target,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0);
  reply = pts_fixture_activate (f.alice, f.server, "half-sid", pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (reply, "not-allowed");
  g_io_stream_close (G_IO_STREAM (target), NULL, NULL);
  pts_fixture_pair_stop (&f);
}

static void
test_conflict (void)
{
  Fixture f;
  PtsFixtureStream stream;
  g_autoptr (PtsNode) first = NULL, second = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = NULL;
  g_autoptr (GSocketConnection) third = NULL;
  int code;

  g_test_summary ("A second activation of an active stream is a conflict, and a third "
                  "SOCKS5 connection with its hash is refused.");

  pts_fixture_pair_start (&f, NULL);
  pts_fixture_stream_connect (&stream, f.server, f.alice, f.bob, "twice");
  first = pts_fixture_activate (f.alice, f.server, stream.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_result (first);
  second = pts_fixture_activate (f.alice, f.server, stream.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (second, "conflict");

  code = pts_test_socks5_connect (f.server->socks5_host, f.server->socks5_port, stream.hash, &third,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0x01);

  /* The active stream is not disturbed by either. */
  pts_fixture_assert_transfer (&stream, 1024 * 1024, 3);
  pts_fixture_stream_clear (&stream);
  pts_fixture_pair_stop (&f);
}

static void
test_after_done (void)
{
  Fixture f;
  g_autoptr (PtsNode) again = NULL;

  g_test_summary ("A finished stream is forgotten: activating it again is item-not-found, "
                  "and the same sid can be used for a new stream.");

  pts_fixture_pair_start (&f, NULL);
  pts_fixture_assert_good_stream (f.server, f.alice, f.bob, "reused", 64 * 1024);
  /* The receiver has every byte a moment before the relay's worker has
   * told the main thread, which then forgets the stream. */
  pts_fixture_assert_log_count (f.server, " done: 65536 bytes", 1);
  again = pts_fixture_activate (f.alice, f.server, "reused", pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (again, "item-not-found");
  pts_fixture_assert_good_stream (f.server, f.alice, f.bob, "reused", 64 * 1024);
  pts_fixture_pair_stop (&f);
}

static void
test_limit_per_initiator (void)
{
  Fixture f;
  PtsFixtureStream one, two;
  g_autoptr (PtsNode) first = NULL, refused = NULL, later = NULL;

  g_test_summary ("With --max-per-initiator 1 a sender's second concurrent activation is a "
                  "resource-constraint; once the first transfer ends it goes through.");

  pts_fixture_pair_start (&f, "--max-per-initiator", "1", NULL);
  pts_fixture_stream_connect (&one, f.server, f.alice, f.bob, "one");
  first = pts_fixture_activate (f.alice, f.server, one.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_result (first);

  pts_fixture_stream_connect (&two, f.server, f.alice, f.bob, "two");
  refused = pts_fixture_activate (f.alice, f.server, two.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (refused, "resource-constraint");

  /* The proxy closes the target's socket and forgets the session in one go,
   * so once the target has read the end of the stream the slot is free. */
  pts_fixture_assert_transfer (&one, 64 * 1024, 1);
  later = pts_fixture_activate (f.alice, f.server, two.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_result (later);
  pts_fixture_assert_transfer (&two, 64 * 1024, 2);

  pts_fixture_stream_clear (&one);
  pts_fixture_stream_clear (&two);
  pts_fixture_pair_stop (&f);
}

static void
test_limit_sessions (void)
{
  Fixture f;
  g_autofree char *hash1 = NULL, *hash2 = NULL;
  g_autoptr (GSocketConnection) first = NULL, second = NULL;
  g_autoptr (GError) error = NULL;
  int code;

  g_test_summary ("With --max-sessions 1 a second pending session is refused at the SOCKS5 "
                  "handshake (reply 01), before any activation could be asked for.");

  pts_fixture_pair_start (&f, "--max-sessions", "1", NULL);
  hash1 = pts_fixture_sidhash ("s1", f.alice, f.bob);
  hash2 = pts_fixture_sidhash ("s2", f.alice, f.bob);
  code = pts_test_socks5_connect (f.server->socks5_host, f.server->socks5_port, hash1, &first,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0x00);
  code = pts_test_socks5_connect (f.server->socks5_host, f.server->socks5_port, hash2, &second,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0x01);
  g_assert_null (second);
  g_io_stream_close (G_IO_STREAM (first), NULL, NULL);
  pts_fixture_pair_stop (&f);
}

static void
test_activation_timeout (void)
{
  Fixture f;
  g_autofree char *hash = NULL;
  g_autoptr (GSocketConnection) target = NULL;
  g_autoptr (GBytes) rest = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) reply = NULL;
  gint64 connected, closed;
  int code;

  g_test_summary ("With --activation-timeout 1 a connection that is never activated is "
                  "closed after about a second, and its session is gone.");

  pts_fixture_pair_start (&f, "--activation-timeout", "1", NULL);
  hash = pts_fixture_sidhash ("slow", f.alice, f.bob);
  code = pts_test_socks5_connect (f.server->socks5_host, f.server->socks5_port, hash, &target,
                                  &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0);
  connected = g_get_monotonic_time ();
  rest = pts_test_socket_read_until_closed (target, 16, 5000, &error);
  g_assert_no_error (error);
  closed = g_get_monotonic_time ();
  g_assert_cmpuint (g_bytes_get_size (rest), ==, 0);
  /* Second timers may fire up to a quarter second early (GLib groups them). */
  g_assert_cmpint (closed - connected, >=, G_USEC_PER_SEC / 2);

  reply = pts_fixture_activate (f.alice, f.server, "slow", pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (reply, "item-not-found");
  pts_fixture_pair_stop (&f);
}

static void
test_idle_timeout (void)
{
  Fixture f;
  PtsFixtureStream stream;
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) target_got = NULL, initiator_got = NULL;
  guint8 data[65536];
  guint64 state = 5;
  gint64 stalled, cut;

  g_test_summary ("With --idle-timeout 1 an active transfer that stalls is cut: both "
                  "sockets close within a few seconds, after the bytes that did move.");

  pts_fixture_pair_start (&f, "--idle-timeout", "1", NULL);
  pts_fixture_stream_connect (&stream, f.server, f.alice, f.bob, "stall");
  reply = pts_fixture_activate (f.alice, f.server, stream.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_result (reply);

  pts_test_random_fill (&state, data, sizeof data);
  pts_test_socket_send_all (stream.initiator, data, sizeof data, &error);
  g_assert_no_error (error);
  stalled = g_get_monotonic_time ();
  /* The sender stalls; the target reads what came, then the close. */
  target_got = pts_test_socket_read_until_closed (stream.target, sizeof data, 6000, &error);
  g_assert_no_error (error);
  cut = g_get_monotonic_time ();
  g_assert_cmpmem (g_bytes_get_data (target_got, NULL), g_bytes_get_size (target_got), data,
                   sizeof data);
  g_assert_cmpint (cut - stalled, >=, G_USEC_PER_SEC / 2);
  initiator_got = pts_test_socket_read_until_closed (stream.initiator, 16, 6000, &error);
  g_assert_no_error (error);

  pts_fixture_stream_clear (&stream);
  pts_fixture_pair_stop (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/server/activate/bad-request", test_bad_request);
  g_test_add_func ("/server/activate/jid-malformed", test_jid_malformed);
  g_test_add_func ("/server/activate/forbidden", test_forbidden);
  g_test_add_func ("/server/activate/item-not-found", test_item_not_found);
  g_test_add_func ("/server/activate/not-allowed", test_not_allowed);
  g_test_add_func ("/server/activate/conflict", test_conflict);
  g_test_add_func ("/server/activate/after-done", test_after_done);
  g_test_add_func ("/server/activate/limit/per-initiator", test_limit_per_initiator);
  g_test_add_func ("/server/activate/limit/sessions", test_limit_sessions);
  g_test_add_func ("/server/timeout/activation", test_activation_timeout);
  g_test_add_func ("/server/timeout/idle", test_idle_timeout);

  return g_test_run ();
}
