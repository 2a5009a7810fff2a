/* test-e2e-fail.c — e2e cases where the way breaks under the users: the
 * proxy killed or stopped, bob's disk full, an HTTP leg reset; each side
 * must read why, never that someone cancelled
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "test-e2e.h"

typedef struct
{
  E2eFixture *fixture;
  gint64 killed_at; /* bob's bytes when the server was killed, or -1 */
} E2eKill;

static void
e2e_kill_on_progress (E2eRun *run, E2ePeer *peer, JsonObject *event, gpointer user_data)
{
  E2eKill *kill = user_data;
  GSubprocess *server = kill->fixture->server->process;
  g_autoptr (GError) error = NULL;

  if (peer != &run->bob || kill->killed_at >= 0
      || !g_str_equal (json_object_get_string_member (event, "event"), "xfer-progress")
      || e2e_event_int (event, "bytes") <= 0)
    return;

  kill->killed_at = e2e_event_int (event, "bytes");
  g_test_message ("bob has %" G_GINT64_FORMAT " bytes: SIGKILL to the server", kill->killed_at);
  g_subprocess_force_exit (server);
  g_subprocess_wait (server, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (server));
  g_assert_cmpint (g_subprocess_get_term_sig (server), ==, SIGKILL);
  g_clear_object (&kill->fixture->server->process);
}

/* After the server died, @peer's transfer was never called complete and
 * ended cancelled with a reason. Since the XMPP server died too, the
 * driver may see its connection drop first: it then ends at once (status
 * 1, by design). Either way the user is told that the connection was
 * lost (or that the proxy stopped answering), in the notice and the
 * conversation: never that someone cancelled or signed off. */
static void
e2e_assert_cut_off (E2ePeer *peer, const E2eFile *file)
{
  g_autofree char *lost
      = g_strdup_printf ("%s: the connection to the server was lost (", file->name);
  g_autofree char *gone = g_strdup_printf ("%s: the file transfer proxy ", file->name);
  JsonObject *notice;
  const char *reason;

  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-completed", NULL), ==, 0);
  g_assert_null (bsp_test_events_find (peer->events, "timeout", NULL));
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-cancelled", NULL), <=, 1);
  if (bsp_test_events_find (peer->events, "connection-error", NULL) != NULL)
    {
      g_test_message ("%s: the lost XMPP connection ended the driver", peer->role);
      e2e_assert_status (peer, 1);
    }
  else
    e2e_assert_cancelled (peer, NULL);
  if (bsp_test_events_find (peer->events, "xfer-cancelled", NULL) != NULL)
    g_assert_nonnull (bsp_test_events_find (peer->events, "xfer-cancelled", "direction",
                                            e2e_direction (peer), "status", "cancel-local", NULL));
  g_assert_cmpuint (bsp_test_events_count (peer->events, "notify", NULL), <=, 1);
  notice = bsp_test_events_find (peer->events, "notify", NULL);
  if (notice != NULL)
    {
      const char *secondary = json_object_get_string_member_with_default (notice, "secondary", "");
      g_assert_true (g_str_has_prefix (secondary, lost) || g_str_has_prefix (secondary, gone));
    }
  reason = e2e_assert_reason (peer, file);
  g_test_message ("%s was told: %s", peer->role, reason);
  g_assert_null (strstr (reason, "signed off"));
  g_assert_null (strstr (reason, "cancelled"));
}

void
e2e_test_proxy_killed (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };
  E2eKill kill = { fixture, -1 };

  g_test_summary ("The proxy (and with it the XMPP server) dies by SIGKILL once bob has the "
                  "first bytes: both sides are told the connection was lost (never that "
                  "someone cancelled or signed off), nobody calls the file complete, and both "
                  "drivers end by themselves");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  run.on_event = e2e_kill_on_progress;
  run.user_data = &kill;
  e2e_run_transfer (&run, fixture, c, file, NULL, NULL);

  g_assert_cmpint (kill.killed_at, >, 0);
  g_assert_cmpint (kill.killed_at, <, file->size);
  e2e_assert_cut_off (&run.alice, file);
  e2e_assert_cut_off (&run.bob, file);
  e2e_assert_not_received (fixture, file);
}

/* The stall case: the whole server stops (SIGSTOP) once bob has bytes,
 * with TCP open and nothing moving, and goes on (SIGCONT) once both
 * drivers ended. */
#define E2E_STALL_S 5

typedef struct
{
  E2eFixture *fixture;
  gint64 stopped_at;     /* monotonic µs, or 0 */
  gint64 alice_ended_at; /* when each side's transfer ended, or 0 */
  gint64 bob_ended_at;
} E2eStall;

static void
e2e_stall_on_event (E2eRun *run, E2ePeer *peer, JsonObject *event, gpointer user_data)
{
  E2eStall *stall = user_data;
  const char *name = json_object_get_string_member (event, "event");
  const char *pid;

  if (g_str_equal (name, "xfer-cancelled") || g_str_equal (name, "xfer-completed"))
    {
      if (peer == &run->alice)
        stall->alice_ended_at = g_get_monotonic_time ();
      else
        stall->bob_ended_at = g_get_monotonic_time ();
      return;
    }
  if (peer != &run->bob || stall->stopped_at != 0 || !g_str_equal (name, "xfer-progress")
      || e2e_event_int (event, "bytes") <= 0)
    return;
  pid = g_subprocess_get_identifier (stall->fixture->server->process);
  g_assert_nonnull (pid);
  g_test_message ("bob has %" G_GINT64_FORMAT " bytes: SIGSTOP to the server",
                  e2e_event_int (event, "bytes"));
  g_assert_cmpint (kill ((pid_t) g_ascii_strtoll (pid, NULL, 10), SIGSTOP), ==, 0);
  stall->stopped_at = g_get_monotonic_time ();
}

void
e2e_test_stall (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };
  E2eStall stall = { fixture, 0, 0, 0 };
  const char *const pref[]
      = { "--pref", "/plugins/core/bsproxy/stall_seconds=" G_STRINGIFY (E2E_STALL_S), NULL };
  g_autofree char *reason = NULL;
  g_autofree char *line = NULL;
  g_autofree char *mine = NULL;
  const char *pid;

  g_test_summary (
      "The link stalls (the server stopped, TCP open, no byte moves) once bob has "
      "bytes: with the stall time set to " G_STRINGIFY (
          E2E_STALL_S) " s, each side "
                       "ends within a few seconds of it, with the error notice and line \"no data "
                       "for " G_STRINGIFY (E2E_STALL_S) " s\"");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  run.on_event = e2e_stall_on_event;
  run.user_data = &stall;
  e2e_run_transfer (&run, fixture, c, file, pref, pref);
  pid = g_subprocess_get_identifier (fixture->server->process);
  if (pid != NULL)
    g_assert_cmpint (kill ((pid_t) g_ascii_strtoll (pid, NULL, 10), SIGCONT), ==, 0);

  g_assert_cmpint (stall.stopped_at, >, 0);
  reason = g_strdup_printf ("%s: no data for %d s", file->name, E2E_STALL_S);
  line = g_strdup_printf ("Transfer of %s failed: no data for %d s", file->name, E2E_STALL_S);
  mine = g_strdup_printf ("You cancelled the transfer of %s", file->name);
  for (E2ePeer *peer = &run.alice; peer != NULL; peer = peer == &run.alice ? &run.bob : NULL)
    {
      gint64 ended_at = peer == &run.alice ? stall.alice_ended_at : stall.bob_ended_at;

      e2e_assert_cancelled (peer, "cancel-local");
      e2e_assert_notice (peer,
                         peer == &run.alice ? "File transfer to bob failed."
                                            : "File transfer from alice failed.",
                         reason);
      e2e_assert_only_error_line (peer, line);
      e2e_assert_line (peer, "error", line, TRUE);
      /* libpurple's own words for any local cancel: the one it adds */
      e2e_assert_line (peer, "system", mine, TRUE);
      e2e_assert_path (peer, file, E2E_PATH_HTTP);
      /* alice's bytes may go on into socket buffers for a moment */
      g_assert_cmpint (ended_at - stall.stopped_at, >=, (E2E_STALL_S - 1) * G_USEC_PER_SEC);
      g_assert_cmpint (ended_at - stall.stopped_at, <=, (E2E_STALL_S + 10) * G_USEC_PER_SEC);
    }
  e2e_assert_not_received (fixture, file);
}

/* The HTTP side breaks under one party while XMPP stays up: the
 * forwarder resets its request once bob has the trigger's bytes. */
typedef struct
{
  E2eFixture *fixture;
  const char *method;
  guint cut; /* connections reset */
} E2eCut;

static void
e2e_cut_on_progress (E2eRun *run, E2ePeer *peer, JsonObject *event, gpointer user_data)
{
  E2eCut *cut = user_data;

  if (peer != &run->bob || cut->cut > 0
      || !g_str_equal (json_object_get_string_member (event, "event"), "xfer-progress")
      || e2e_event_int (event, "bytes") < g_ascii_strtoll (E2E_TRIGGER_BYTES, NULL, 10))
    return;
  cut->cut = bsp_test_cutter_reset (cut->fixture->cutter, cut->method);
  g_test_message ("bob has %" G_GINT64_FORMAT " bytes: %u \"%s\" connection(s) reset",
                  e2e_event_int (event, "bytes"), cut->cut, cut->method);
}

/* @peer's transfer failed: the error notice (under @heading) and one
 * error line say @why — exactly, or with @detail, followed by the
 * system's own words in parentheses; libpurple adds its "You
 * cancelled…" line, and nothing else is said. */
static void
e2e_assert_failed (E2ePeer *peer, const E2eFile *file, const char *heading, const char *why,
                   gboolean detail)
{
  g_autofree char *notice = g_strdup_printf ("%s: %s%s", file->name, why, detail ? " (" : "");
  g_autofree char *text
      = g_strdup_printf ("Transfer of %s failed: %s%s", file->name, why, detail ? " (" : "");
  /* libpurple writes a transfer's lines as markup */
  g_autofree char *line = g_markup_escape_text (text, -1);
  g_autofree char *mine = g_strdup_printf ("You cancelled the transfer of %s", file->name);
  JsonObject *said = bsp_test_events_find (peer->events, "notify", NULL);
  const char *secondary;

  e2e_assert_cancelled (peer, "cancel-local");
  g_assert_cmpuint (bsp_test_events_count (peer->events, "notify", NULL), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (said, "primary"), ==, heading);
  secondary = json_object_get_string_member (said, "secondary");
  if (detail)
    g_assert_true (g_str_has_prefix (secondary, notice) && g_str_has_suffix (secondary, ")"));
  else
    g_assert_cmpstr (secondary, ==, notice);
  e2e_assert_line (peer, "error", line, !detail);
  e2e_assert_line (peer, "system", mine, TRUE);
  e2e_assert_path (peer, file, E2E_PATH_HTTP);
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *kind = json_object_get_string_member_with_default (event, "kind", "");

      if (g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          && g_str_equal (kind, "error"))
        g_assert_true (g_str_has_prefix (json_object_get_string_member (event, "message"), line));
    }
}

void
e2e_test_http_cut (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };
  E2eCut cut = { fixture, c->cut, 0 };
  gboolean upload = g_str_equal (c->cut, "POST");
  g_autofree char *mine = NULL;
  g_autofree char *theirs = NULL;

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  run.on_event = e2e_cut_on_progress;
  run.user_data = &cut;
  e2e_run_transfer (&run, fixture, c, file, NULL, NULL);

  g_assert_cmpuint (cut.cut, ==, 1);
  /* the side whose connection broke: its link to the proxy; the other:
   * that link, named, as the proxy told it (never "cancelled") */
  mine = g_strdup ("the link to the file transfer proxy proxy.localhost broke");
  theirs = g_strdup_printf ("the connection between %s and the file transfer proxy broke",
                            upload ? "alice" : "bob");
  if (upload)
    {
      e2e_assert_failed (&run.alice, file, "File transfer to bob failed.", mine, TRUE);
      e2e_assert_failed (&run.bob, file, "File transfer from alice failed.", theirs, FALSE);
    }
  else
    {
      e2e_assert_failed (&run.bob, file, "File transfer from alice failed.", mine, TRUE);
      e2e_assert_failed (&run.alice, file, "File transfer to bob failed.", theirs, FALSE);
    }
  /* each learnt it from the proxy's <ended/>, not by guessing */
  g_assert_true (e2e_driver_log_contains (&run.alice, upload ? "says it ended: sender-lost"
                                                             : "says it ended: receiver-lost"));
  g_assert_true (e2e_driver_log_contains (&run.bob, upload ? "says it ended: sender-lost"
                                                           : "says it ended: receiver-lost"));
  e2e_assert_not_received (fixture, file);
}

void
e2e_test_receiver_disk_full (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };
  const char *const limit[] = { "--file-size-limit", "8388608", NULL };

  g_test_summary ("bob's disk takes no more than 8 MiB (a file size limit): bob is told he "
                  "could not write the file, alice that bob's side failed with that reason, "
                  "each in the error notice and an error line, and neither that someone "
                  "cancelled");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  e2e_run_transfer (&run, fixture, c, file, NULL, limit);

  e2e_assert_failed (&run.bob, file, "File transfer from alice failed.", "could not write the file",
                     FALSE);
  e2e_assert_failed (&run.alice, file, "File transfer to bob failed.",
                     "bob's side failed: could not write the file", FALSE);
  g_assert_true (e2e_driver_log_contains (&run.alice, "says it ended: receiver-failed"));
  e2e_assert_not_received (fixture, file);
}
