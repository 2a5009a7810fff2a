/* test-e2e-cancel.c — e2e cases where a user ends the transfer: bob
 * declines, either side cancels, alice signs off, either side unloads the
 * plugin mid-transfer; each side must read libpurple's own words for it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "test-e2e.h"

void
e2e_test_decline (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };

  g_test_summary ("bob declines the offer: alice's transfer ends cancelled by the other side, "
                  "bob's ends cancelled locally, nothing arrives and no session starts");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  e2e_run_transfer (&run, fixture, c, file, NULL, (const char *const[]){ "--decline", NULL });

  e2e_assert_cancelled (&run.alice, "cancel-remote");
  e2e_assert_cancelled (&run.bob, "cancel-local");
  g_assert_null (bsp_test_events_find (run.alice.events, "xfer-started", NULL));
  g_assert_null (bsp_test_events_find (run.bob.events, "xfer-started", NULL));
  e2e_assert_not_received (fixture, file);
}

void
e2e_test_sender_cancels (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };

  g_test_summary ("alice cancels once a mebibyte (or the case's trigger) moved: alice sees "
                  "libpurple's own \"You cancelled\" only, bob libpurple's own \"alice "
                  "cancelled\" notice and line and no socket error, and bob never calls the "
                  "file complete");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  e2e_run_transfer (
      &run, fixture, c, file,
      (const char *const[]){ "--cancel-at", c->trigger ? c->trigger : E2E_TRIGGER_BYTES, NULL },
      NULL);

  g_assert_nonnull (bsp_test_events_find (run.alice.events, "xfer-cancelling", NULL));
  e2e_assert_user_cancel_seen (&run.alice, &run.bob, "alice", file, c->sender == E2E_PLUGIN);
  /* a plain sender says nothing: the proxy tells what it saw */
  if (c->sender == E2E_PLAIN && c->receiver == E2E_PLUGIN)
    g_assert_true (e2e_driver_log_contains (&run.bob, "says it ended: short"));
  e2e_assert_not_received (fixture, file);
  e2e_assert_session (fixture, c->initiator_via, c->target_via);
}

void
e2e_test_receiver_cancels (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };

  g_test_summary ("bob cancels once a mebibyte (or the case's trigger) arrived: bob sees "
                  "libpurple's own \"You cancelled\" only, alice libpurple's own \"bob "
                  "cancelled\" notice and line and no socket error, and neither calls the "
                  "file complete");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  e2e_run_transfer (
      &run, fixture, c, file, NULL,
      (const char *const[]){ "--cancel-at", c->trigger ? c->trigger : E2E_TRIGGER_BYTES, NULL });

  g_assert_nonnull (bsp_test_events_find (run.bob.events, "xfer-cancelling", NULL));
  e2e_assert_user_cancel_seen (&run.bob, &run.alice, "bob", file, c->sender == E2E_PLUGIN);
  e2e_assert_not_received (fixture, file);
  e2e_assert_session (fixture, c->initiator_via, c->target_via);
}

/* alice's driver does something drastic mid-transfer (@trigger_arg,
 * announced by @trigger_event): both sides end cancelled with a reason,
 * and both drivers exit cleanly. */
static void
e2e_sender_drastic (E2eFixture *fixture, const E2eCase *c, const char *trigger_arg,
                    const char *trigger_event, const char *why, E2eRun *run)
{
  const E2eFile *file = e2e_file_get (c->file);
  g_autofree char *line = g_strdup_printf ("Transfer of %s failed: %s", file->name, why);
  g_autofree char *mine = g_strdup_printf ("You cancelled the transfer of %s", file->name);
  g_autofree char *theirs = g_strdup_printf ("alice cancelled the transfer of %s", file->name);

  e2e_run_transfer (run, fixture, c, file,
                    (const char *const[]){ trigger_arg, E2E_TRIGGER_BYTES, NULL }, NULL);

  g_assert_nonnull (bsp_test_events_find (run->alice.events, trigger_event, NULL));
  /* alice's own act: said in her conversation, no error notice */
  e2e_assert_cancelled (&run->alice, "cancel-local");
  e2e_assert_notice (&run->alice, NULL, NULL);
  e2e_assert_only_error_line (&run->alice, NULL);
  e2e_assert_line (&run->alice, "system", line, TRUE);
  e2e_assert_line (&run->alice, "system", mine, TRUE);
  /* bob: alice's side ended, in libpurple's own words */
  e2e_assert_cancelled (&run->bob, "cancel-remote");
  e2e_assert_notice (&run->bob, "File transfer from alice failed.", theirs);
  e2e_assert_only_error_line (&run->bob, theirs);
  e2e_assert_path (&run->alice, file, E2E_PATH_HTTP);
  e2e_assert_path (&run->bob, file, E2E_PATH_HTTP);
  e2e_assert_not_received (fixture, file);
}

void
e2e_test_sender_unloads (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_auto (E2eRun) run = { 0 };

  g_test_summary ("alice unloads the plugin while her file is on its way over HTTP: alice's "
                  "conversation says so with no error notice, bob sees libpurple's own \"alice "
                  "cancelled\", nothing crashes, alice's driver exits cleanly");
  if (g_test_failed () || fixture->server == NULL)
    return;

  e2e_sender_drastic (fixture, c, "--unload-at", "plugin-unloading",
                      "the HTTP file transfer plugin was unloaded", &run);
  g_assert_true (e2e_driver_log_contains (&run.alice, "bsproxy: unloaded"));
}

/* The download runs in a worker thread: unloading joins it, and nothing
 * of it runs after the plugin is gone. */
void
e2e_test_receiver_unloads (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };
  g_autofree char *line = NULL;

  g_test_summary ("bob unloads the plugin while the file is being downloaded over HTTP: bob's "
                  "conversation says so with no error notice, alice sees libpurple's own \"bob "
                  "cancelled\", nothing crashes, bob's driver exits cleanly");
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  line = g_strdup_printf ("Transfer of %s failed: the HTTP file transfer plugin was unloaded",
                          file->name);
  e2e_run_transfer (&run, fixture, c, file, NULL,
                    (const char *const[]){ "--unload-at", E2E_TRIGGER_BYTES, NULL });

  g_assert_nonnull (bsp_test_events_find (run.bob.events, "plugin-unloading", NULL));
  e2e_assert_user_cancel_seen (&run.bob, &run.alice, "bob", file, TRUE);
  e2e_assert_line (&run.bob, "system", line, TRUE);
  g_assert_true (e2e_driver_log_contains (&run.bob, "bsproxy: unloaded"));
  e2e_assert_not_received (fixture, file);
}

void
e2e_test_sender_signs_off (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_auto (E2eRun) run = { 0 };

  g_test_summary ("alice signs off while her file is on its way over HTTP: alice's "
                  "conversation says she signed off with no error notice, bob sees libpurple's "
                  "own \"alice cancelled\", nothing crashes, alice's driver exits cleanly");
  if (g_test_failed () || fixture->server == NULL)
    return;

  e2e_sender_drastic (fixture, c, "--signoff-at", "signing-off", "you signed off", &run);
}
