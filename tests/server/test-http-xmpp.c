/* test-http-xmpp.c — the XMPP side of HTTP transfers going wrong: an activation
 * that never comes, a <connect/> refused or in conflict, a server without its
 * HTTP side, a shutdown with a download waiting.
 * Part of the test-server-http program (test-http.c).
 *
 * Alice is the initiator (sender), Bob the target (receiver); the shared
 * harness is test-http-harness.c. A server bug that a case reveals makes
 * that case skip with "known bug: …" (and the reason).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "test-http-harness.h"

/* ==== XMPP protocol errors ============================================================== */

static void
test_activation_timeout (void)
{
  Fixture f;
  const char *sid = "never-activated";
  g_autoptr (PtsNode) late = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("With --activation-timeout 1 an HTTP receiver's session that is never "
                  "activated is dropped (counted as activation-timeout); a late activation "
                  "is item-not-found.");

  fixture_start (&f, TRUE, "--activation-timeout", "1", NULL);
  http_target_connect (&f, sid);
  status = status_get (&f);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "sessions")), ==,
                    1);
  g_clear_pointer (&status, json_object_unref);

  status = status_expect_counts (&f, 0, -1, -1, "activation-timeout");
  late = send_activate_x (&f, sid);
  pts_fixture_assert_error (late, "item-not-found");
  fixture_stop (&f);
}

static void
test_connect_forbidden (void)
{
  Fixture f;
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("With --acl naming only another domain, <connect> from a local user is "
                  "forbidden and registers nothing.");

  fixture_start (&f, TRUE, "--acl", "otherdomain", NULL);
  reply = send_connect (&f, f.pair.bob, "acl-sid", pts_test_client_get_jid (f.pair.alice));
  pts_fixture_assert_error (reply, "forbidden");
  status = status_get (&f);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "sessions")), ==,
                    0);
  fixture_stop (&f);
}

static void
test_connect_conflict (void)
{
  Fixture f;
  g_autoptr (PtsNode) again = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("A second <connect> for a stream that already has its receiver is a "
                  "conflict; the first registration stays.");

  fixture_start (&f, TRUE, NULL);
  http_target_connect (&f, "twice-sid");
  again = send_connect (&f, f.pair.bob, "twice-sid", pts_test_client_get_jid (f.pair.alice));
  pts_fixture_assert_error (again, "conflict");
  status = status_get (&f);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "sessions")), ==,
                    1);
  fixture_stop (&f);
}

static void
test_no_http_side (void)
{
  Fixture f;
  g_autofree char *hash = NULL;
  g_autoptr (GSocketConnection) target = NULL;
  g_autoptr (PtsNode) activation = NULL, connect = NULL;

  g_test_summary ("Without --http-port, an activation with <x/> is feature-not-implemented "
                  "(even with the receiver connected by SOCKS5), and <connect> is "
                  "service-unavailable.");

  fixture_start (&f, FALSE, NULL);
  hash = pts_fixture_sidhash ("no-http", f.pair.alice, f.pair.bob);
  target = pts_fixture_socks5 (f.pair.server, NULL, hash);
  activation = send_activate_x (&f, "no-http");
  pts_fixture_assert_error (activation, "feature-not-implemented");
  connect = send_connect (&f, f.pair.bob, "other", pts_test_client_get_jid (f.pair.alice));
  pts_fixture_assert_error (connect, "service-unavailable");
  g_io_stream_close (G_IO_STREAM (target), NULL, NULL);
  fixture_stop (&f);
}

static void
test_shutdown_waiting (void)
{
  Fixture f;
  const char *sid = "shutdown";
  g_auto (HttpSession) s = { NULL };
  g_autoptr (Job) download = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;
  StatusExpect active = STATUS_ANY;

  g_test_summary ("SIGTERM while a receiver's GET waits for an upload that has not begun: "
                  "the server exits cleanly (status 0) and the GET ends without a success.");

  fixture_start (&f, TRUE, NULL);
  http_session_open (&f, sid, &s);
  download = job_start_get (s.download_url, 0);

  /* Nothing shows that the waiting GET is attached; a request sent after
   * it is served after it, by the server's one main loop. */
  job_wait_flag (download, &download->sent);
  active.sidhash = s.hash;
  active.min_bytes = 0;
  status = status_expect (&f, &active);
  json_object_unref (status);
  status = status_expect (&f, &active);

  g_clear_pointer (&f.pair.alice, pts_test_client_free);
  g_clear_pointer (&f.pair.bob, pts_test_client_free);
  pts_test_server_stop (f.pair.server, &error);
  assert_download_failed (download);
  g_assert_no_error (error);
  pts_test_server_free (g_steal_pointer (&f.pair.server));
  g_clear_pointer (&f.http_base, g_free);
}

void
test_http_add_xmpp (void)
{
  g_test_add_func ("/server/http/timeout/activation", test_activation_timeout);
  g_test_add_func ("/server/http/connect/forbidden", test_connect_forbidden);
  g_test_add_func ("/server/http/connect/conflict", test_connect_conflict);
  g_test_add_func ("/server/http/disabled", test_no_http_side);
  g_test_add_func ("/server/http/shutdown/waiting-download", test_shutdown_waiting);
}
