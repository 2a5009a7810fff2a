/* test-e2e-harness.c — the e2e test's ground: its files, one
 * proxy-test-server per test, and two drivers run to their ends with
 * their events read as they come
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-e2e.h"

/* ------------------------------------------------------------------ */
/* Test files: pseudo-random, made once per run, in one directory      */

static E2eFile e2e_files[] = {
  { "1B", "1B.bin", 1, TRUE },
  { "64KiB+1", "64KiB+1.bin", 64 * 1024 + 1, TRUE },
  { "100MiB", "100MiB.bin", 100 * 1024 * 1024, TRUE },
  { "utf8-name", "a file \xc3\xbc \xe2\x82\xac.bin", 64 * 1024 + 1, TRUE },
  /* the failure cases cut it short: it is big so that no transfer can
   * finish before the cut, whatever the machine's load */
  { "512MiB", "512MiB.bin", 512 * 1024 * 1024, FALSE },
};

static char *e2e_files_dir;

#define E2E_CHUNK (1024 * 1024)

/* xorshift64*: fast, deterministic, incompressible enough. */
static void
e2e_fill (guint64 *state, guint8 *buf, gsize len)
{
  for (gsize i = 0; i < len; i += 8)
    {
      guint64 x = *state;

      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      *state = x;
      x *= G_GUINT64_CONSTANT (0x2545F4914F6CDD1D);
      memcpy (buf + i, &x, MIN (8, len - i));
    }
}

const E2eFile *
e2e_file_get (const char *id)
{
  E2eFile *file = NULL;
  g_autofree guint8 *buf = NULL;
  g_autoptr (GChecksum) checksum = NULL;
  guint64 state;
  FILE *fp;

  for (guint i = 0; i < G_N_ELEMENTS (e2e_files) && file == NULL; i++)
    if (g_str_equal (e2e_files[i].id, id))
      file = &e2e_files[i];
  if (file == NULL)
    g_error ("no test file \"%s\"", id);
  if (file->path != NULL)
    return file;

  file->path = g_build_filename (e2e_files_dir, file->name, NULL);
  fp = g_fopen (file->path, "wb");
  g_assert_nonnull (fp);
  buf = g_malloc (E2E_CHUNK);
  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  state = G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) ^ file->size;
  for (gsize done = 0; done < file->size;)
    {
      gsize len = MIN (E2E_CHUNK, file->size - done);

      e2e_fill (&state, buf, len);
      if (file->checksum)
        g_checksum_update (checksum, buf, len);
      g_assert_cmpuint (fwrite (buf, 1, len, fp), ==, len);
      done += len;
    }
  g_assert_cmpint (fclose (fp), ==, 0);
  if (file->checksum)
    file->sha256 = g_strdup (g_checksum_get_string (checksum));
  return file;
}

/* An aborted or killed run (a failed assertion, meson's timeout) must
 * not leave 600 MiB behind: unlink(2) and rmdir(2) are safe in a signal
 * handler, and the paths are set before the files exist. */
static void
e2e_files_remove_on_signal (int signum)
{
  for (guint i = 0; i < G_N_ELEMENTS (e2e_files); i++)
    if (e2e_files[i].path != NULL)
      unlink (e2e_files[i].path);
  if (e2e_files_dir != NULL)
    rmdir (e2e_files_dir);
  raise (signum); /* SA_RESETHAND: the default action now */
}

static void
e2e_files_remove_on_signals (void)
{
  struct sigaction action = { .sa_handler = e2e_files_remove_on_signal, .sa_flags = SA_RESETHAND };

  sigemptyset (&action.sa_mask);
  sigaction (SIGABRT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);
  sigaction (SIGINT, &action, NULL);
}

void
e2e_files_init (void)
{
  g_autoptr (GError) error = NULL;

  e2e_files_dir = g_dir_make_tmp ("bsp-e2e-files-XXXXXX", &error);
  g_assert_no_error (error);
  e2e_files_remove_on_signals ();
  g_test_message ("test files in %s", e2e_files_dir);
}

void
e2e_files_remove (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (e2e_files); i++)
    {
      if (e2e_files[i].path != NULL)
        g_unlink (e2e_files[i].path);
      g_clear_pointer (&e2e_files[i].path, g_free);
      g_clear_pointer (&e2e_files[i].sha256, g_free);
    }
  if (e2e_files_dir != NULL)
    g_rmdir (e2e_files_dir);
  g_clear_pointer (&e2e_files_dir, g_free);
}

/* SHA-256 of the file at @path, and its size. */
char *
e2e_sha256_file (const char *path, goffset *size)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (E2E_CHUNK);
  FILE *fp = g_fopen (path, "rb");
  size_t len;

  *size = 0;
  if (fp == NULL)
    return NULL;
  while ((len = fread (buf, 1, E2E_CHUNK, fp)) > 0)
    {
      g_checksum_update (checksum, buf, len);
      *size += len;
    }
  g_assert_false (ferror (fp));
  fclose (fp);
  return g_strdup (g_checksum_get_string (checksum));
}

/* A known bug keeps a case from passing: skip it, unless
 * BSP_E2E_KNOWN_BUGS is set (to see whether it was fixed). */
static gboolean
e2e_skip_known_bug (const char *why)
{
  g_autofree char *message = g_strconcat ("known bug: ", why, NULL);

  if (g_getenv ("BSP_E2E_KNOWN_BUGS") != NULL)
    {
      g_test_message ("running despite the %s", message);
      return FALSE;
    }
  g_test_skip (message);
  return TRUE;
}

void
e2e_fixture_set_up (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_autoptr (GError) error = NULL;
  const char *http_args[] = { "--http-port", "0", NULL, NULL, NULL };

  if (bsp_test_driver_path () == NULL)
    {
      g_test_skip ("no bsp-purple-driver: set BSP_DRIVER");
      return;
    }
  if ((c->sender == E2E_PLUGIN || c->receiver == E2E_PLUGIN) && bsp_test_plugin_path () == NULL)
    {
      g_test_skip ("the plugin was not built: set BSP_PLUGIN");
      return;
    }
  if (c->known_bug != NULL && e2e_skip_known_bug (c->known_bug))
    return;

  /* G_TEST_OPTION_ISOLATE_DIRS: a fresh per-test directory */
  fixture->dir = g_build_filename (g_get_user_config_dir (), "e2e", NULL);
  fixture->accept_dir = g_build_filename (fixture->dir, "received", NULL);
  fixture->server_log = g_build_filename (fixture->dir, "server.log", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->accept_dir, 0700), ==, 0);
  g_test_message ("logs in %s", fixture->dir);

  if (c->http_unreachable)
    {
      /* A loopback port that was free a moment ago: nothing answers there. */
      guint16 dead = pts_test_free_port (&error);

      g_assert_no_error (error);
      fixture->dead_base = g_strdup_printf ("http://127.0.0.1:%u/", dead);
      http_args[2] = "--http-base-url";
      http_args[3] = fixture->dead_base;
    }
  if (c->cut != NULL)
    {
      guint16 port, http_port = pts_test_free_port (&error);
      g_autofree char *base = NULL;
      g_autofree char *http = NULL;

      /* The proxy hands out URLs through the forwarder. */
      g_assert_no_error (error);
      fixture->cutter = bsp_test_cutter_new (&port);
      base = g_strdup_printf ("http://127.0.0.1:%u/", port);
      http = g_strdup_printf ("%u", http_port);
      fixture->server = bsp_test_server_start (
          (const char *const[]){ "--http-port", http, "--http-base-url", base, NULL },
          fixture->server_log, &error);
      g_assert_no_error (error);
      bsp_test_cutter_start (fixture->cutter, http_port);
      return;
    }
  fixture->server
      = bsp_test_server_start (c->no_http ? NULL : http_args, fixture->server_log, &error);
  g_assert_no_error (error);
  g_assert_true ((fixture->server->http_base_url == NULL) == c->no_http);
}

void
e2e_fixture_tear_down (E2eFixture *fixture, gconstpointer user_data)
{
  bsp_test_server_clear (&fixture->server);
  g_clear_pointer (&fixture->cutter, bsp_test_cutter_free);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->accept_dir, g_free);
  g_clear_pointer (&fixture->server_log, g_free);
  g_clear_pointer (&fixture->dead_base, g_free);
}

/* ------------------------------------------------------------------ */
/* Two drivers at once, their events read as they come                 */

static void
e2e_peer_clear (E2ePeer *peer)
{
  if (peer->process != NULL && !peer->exited)
    g_subprocess_force_exit (peer->process);
  g_clear_object (&peer->process);
  g_clear_object (&peer->out);
  g_clear_pointer (&peer->events, g_ptr_array_unref);
  g_clear_pointer (&peer->log_path, g_free);
}

void
e2e_run_clear (E2eRun *run)
{
  e2e_peer_clear (&run->alice);
  e2e_peer_clear (&run->bob);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->context, g_main_context_unref);
}

static void e2e_peer_read_next (E2ePeer *peer);

static void
e2e_peer_line_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  E2ePeer *peer = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;
  JsonObject *event;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL,
                                                    &error);
  if (line == NULL)
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_test_message ("%s: reading its events: %s", peer->role, error->message);
      peer->out_done = TRUE;
      return;
    }
  if (*line != '\0')
    {
      g_test_message ("%s: %s", peer->role, line);
      event = bsp_test_event_parse (line, &error);
      g_assert_no_error (error);
      g_ptr_array_add (peer->events, event);
      if (peer->run->on_event != NULL)
        peer->run->on_event (peer->run, peer, event, peer->run->user_data);
    }
  e2e_peer_read_next (peer);
}

static void
e2e_peer_read_next (E2ePeer *peer)
{
  g_data_input_stream_read_line_async (peer->out, G_PRIORITY_DEFAULT, peer->run->cancellable,
                                       e2e_peer_line_cb, peer);
}

static void
e2e_peer_exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  E2ePeer *peer = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autoptr (GError) error = NULL;

  if (!g_subprocess_wait_finish (process, result, &error))
    {
      /* cancelled: we gave up on it, and e2e_run () fails the test */
      g_test_message ("%s: waiting for its end: %s", peer->role, error->message);
      return;
    }
  peer->exited = TRUE;
  if (g_subprocess_get_if_exited (process))
    peer->status = g_subprocess_get_exit_status (process);
  else
    peer->status = 128 + g_subprocess_get_term_sig (process);
  g_test_message ("%s: exited with %d", peer->role, peer->status);
}

/* Starts a driver for @account, with the plugin when @client says so,
 * its own user dir and debug log under @fixture's directory, and
 * @extra_args (NULL-terminated). */
static void
e2e_peer_start (E2ePeer *peer, E2eRun *run, E2eFixture *fixture, const char *role,
                const char *account, E2eClient client, const char *const *extra_args)
{
  g_autofree char *user_dir = g_build_filename (fixture->dir, role, NULL);
  g_autofree char *account_arg = g_strconcat (account, ":", BSP_TEST_PASSWORD, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cmdline = NULL;

  peer->run = run;
  peer->role = role;
  peer->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  peer->log_path = g_strconcat (user_dir, ".log", NULL);

  g_ptr_array_add (argv, (gpointer) bsp_test_driver_path ());
  g_ptr_array_add (argv, (gpointer) "--user-dir");
  g_ptr_array_add (argv, user_dir);
  g_ptr_array_add (argv, (gpointer) "--account");
  g_ptr_array_add (argv, account_arg);
  g_ptr_array_add (argv, (gpointer) "--server");
  g_ptr_array_add (argv, fixture->server->c2s_host);
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, fixture->server->c2s_port);
  g_ptr_array_add (argv, (gpointer) "--timeout");
  g_ptr_array_add (argv, (gpointer) G_STRINGIFY (E2E_DRIVER_TIMEOUT_S));
  g_ptr_array_add (argv, (gpointer) "--debug");
  if (client == E2E_PLUGIN)
    {
      g_ptr_array_add (argv, (gpointer) "--plugin");
      g_ptr_array_add (argv, (gpointer) bsp_test_plugin_path ());
    }
  for (const char *const *arg = extra_args; arg != NULL && *arg != NULL; arg++)
    g_ptr_array_add (argv, (gpointer) *arg);
  g_ptr_array_add (argv, NULL);

  cmdline = g_strjoinv (" ", (char **) argv->pdata);
  g_test_message ("%s: %s", role, cmdline);

  launcher = bsp_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  bsp_test_launcher_isolate_driver (launcher);
  g_subprocess_launcher_set_stderr_file_path (launcher, peer->log_path);
  peer->process
      = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  peer->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (peer->process));
  e2e_peer_read_next (peer);
  g_subprocess_wait_async (peer->process, run->cancellable, e2e_peer_exited_cb, peer);
}

static gboolean
e2e_peer_done (E2ePeer *peer)
{
  return peer->out_done && peer->exited;
}

static gboolean
e2e_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the two drivers to their ends: iterates a private main context
 * until both exited and closed their output. Past the drivers' own
 * timeout (plus a grace) they are killed and run->timed_out is set. */
void
e2e_run (E2eRun *run, E2eFixture *fixture, const E2eCase *c, const char *const *alice_args,
         const char *const *bob_args)
{
  g_autoptr (GSource) deadline = g_timeout_source_new_seconds (E2E_DRIVER_TIMEOUT_S + E2E_GRACE_S);
  g_autoptr (GSource) last_call = NULL;
  gboolean gave_up = FALSE;

  run->context = g_main_context_new ();
  run->cancellable = g_cancellable_new ();
  g_main_context_push_thread_default (run->context);

  g_source_set_callback (deadline, e2e_flag_cb, &run->timed_out, NULL);
  g_source_attach (deadline, run->context);

  /* bob first, as someone who waits for files would be */
  e2e_peer_start (&run->bob, run, fixture, "bob", E2E_BOB, c->receiver, bob_args);
  e2e_peer_start (&run->alice, run, fixture, "alice", E2E_ALICE, c->sender, alice_args);

  while (!(e2e_peer_done (&run->alice) && e2e_peer_done (&run->bob)) && !gave_up)
    {
      if (run->timed_out && last_call == NULL)
        {
          g_test_message ("the drivers did not end within %d s: killing them",
                          E2E_DRIVER_TIMEOUT_S + E2E_GRACE_S);
          if (!run->alice.exited)
            g_subprocess_force_exit (run->alice.process);
          if (!run->bob.exited)
            g_subprocess_force_exit (run->bob.process);
          last_call = g_timeout_source_new_seconds (10);
          g_source_set_callback (last_call, e2e_flag_cb, &gave_up, NULL);
          g_source_attach (last_call, run->context);
        }
      g_main_context_iteration (run->context, TRUE);
    }

  g_cancellable_cancel (run->cancellable);
  g_source_destroy (deadline);
  if (last_call != NULL)
    g_source_destroy (last_call);
  /* let the cancelled operations finish on this context */
  for (guint i = 0; i < 100 && g_main_context_iteration (run->context, FALSE); i++)
    ;
  g_main_context_pop_thread_default (run->context);

  g_assert_false (gave_up);
  g_assert_false (run->timed_out);
}
