/* test-e2e.c — files from one real libpurple to another through proxy-test-server
 *
 * Every test starts one proxy-test-server (with its HTTP side unless the
 * case says otherwise) and two bsp-purple-driver processes: alice, who
 * sends, and bob, who receives, each with or without the bsproxy plugin.
 * What each side's UI would have seen comes back as the drivers' JSON-lines
 * events; the received file is compared with the sent one by SHA-256; the
 * server's log tells how the proxy paired the two (HTTP or SOCKS5 on each
 * side). The failure cases cut a transfer short on purpose and check, on
 * each side, the exact notice, conversation lines and end status the
 * user gets, and that neither side calls it complete.
 *
 * The drivers' debug logs and the server's log stay in the test's
 * directory (printed at the start of each test) when a test aborts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bsp-test-cut.h"
#include "bsp-test-purple.h"

#define E2E_ALICE "alice@localhost/e2e"
#define E2E_BOB "bob@localhost/e2e"

/* What a driver may take for one case, and what we give it on top
 * before we kill it. */
#define E2E_DRIVER_TIMEOUT_S 60
#define E2E_GRACE_S 20

/* Where the mid-transfer failure cases strike (--cancel-at and co.). */
#define E2E_TRIGGER_BYTES "1048576"

/* ------------------------------------------------------------------ */
/* Test files: pseudo-random, made once per run, in one directory      */

typedef struct
{
  const char *id;   /* as in test paths */
  const char *name; /* the file's name, UTF-8 */
  gsize size;
  gboolean checksum; /* whether its SHA-256 is needed */
  char *path;
  char *sha256;
} E2eFile;

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

static const E2eFile *
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

static void
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
static char *
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

/* ------------------------------------------------------------------ */
/* Cases                                                               */

typedef enum
{
  E2E_PLAIN,  /* libpurple alone */
  E2E_PLUGIN, /* libpurple with bsproxy.so */
} E2eClient;

typedef struct
{
  const char *path;
  E2eClient sender;
  E2eClient receiver;
  gboolean no_direct;        /* the receiver ignores the sender's own streamhosts */
  gboolean no_http;          /* the server runs without its HTTP side */
  gboolean http_unreachable; /* it advertises an HTTP base where nothing answers */
  const char *file;          /* an e2e_files id */
  const char *initiator_via; /* how the proxy must see them: "HTTP" or "SOCKS5" */
  const char *target_via;
  const char *summary;
  const char *known_bug; /* why the case cannot pass yet: skip it */
  const char *trigger;   /* the failure cases: where they strike (NULL: E2E_TRIGGER_BYTES) */
  const char *cut;       /* HTTP goes through a forwarder that resets the request
                          * starting with this ("POST", "GET ") mid-transfer */
} E2eCase;

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

typedef struct
{
  BspTestServer *server;
  char *dir;
  char *server_log;
  char *accept_dir;
  char *dead_base;       /* the HTTP base where nothing answers, for http_unreachable */
  BspTestCutter *cutter; /* with E2eCase.cut */
} E2eFixture;

static void
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

static void
e2e_fixture_tear_down (E2eFixture *fixture, gconstpointer user_data)
{
  if (fixture->server != NULL && fixture->server->process != NULL)
    {
      g_autoptr (GError) error = NULL;
      gboolean clean = FALSE;

      /* under ASan this also says that the server freed everything */
      bsp_test_server_stop (fixture->server, &clean, &error);
      g_assert_no_error (error);
      g_assert_true (clean);
    }
  g_clear_pointer (&fixture->server, bsp_test_server_free);
  g_clear_pointer (&fixture->cutter, bsp_test_cutter_free);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->accept_dir, g_free);
  g_clear_pointer (&fixture->server_log, g_free);
  g_clear_pointer (&fixture->dead_base, g_free);
}

/* ------------------------------------------------------------------ */
/* Two drivers at once, their events read as they come                 */

typedef struct _E2eRun E2eRun;

typedef struct
{
  E2eRun *run;
  const char *role; /* "alice" or "bob" */
  GSubprocess *process;
  GDataInputStream *out;
  GPtrArray *events; /* JsonObject * */
  char *log_path;    /* its stderr: libpurple's debug log */
  gboolean out_done;
  gboolean exited;
  int status; /* exit status, or 128 + signal */
} E2ePeer;

/* Called for every event as it arrives, e.g. to kill the server. */
typedef void (*E2eEventFunc) (E2eRun *run, E2ePeer *peer, JsonObject *event, gpointer user_data);

struct _E2eRun
{
  GMainContext *context;
  GCancellable *cancellable;
  E2ePeer alice;
  E2ePeer bob;
  E2eEventFunc on_event;
  gpointer user_data;
  gboolean timed_out;
};

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

static void
e2e_run_clear (E2eRun *run)
{
  e2e_peer_clear (&run->alice);
  e2e_peer_clear (&run->bob);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->context, g_main_context_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (E2eRun, e2e_run_clear)

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
static void
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

/* Runs one transfer of @file from alice to bob, who accepts into the
 * fixture's directory; @alice_extra and @bob_extra go on the drivers'
 * command lines. */
static void e2e_show_user_events (E2ePeer *peer);

static void
e2e_run_transfer (E2eRun *run, E2eFixture *fixture, const E2eCase *c, const E2eFile *file,
                  const char *const *alice_extra, const char *const *bob_extra)
{
  g_autoptr (GPtrArray) alice_args = g_ptr_array_new ();
  g_autoptr (GPtrArray) bob_args = g_ptr_array_new ();
  gboolean decline = FALSE;

  g_ptr_array_add (alice_args, (gpointer) "--send-file");
  g_ptr_array_add (alice_args, file->path);
  g_ptr_array_add (alice_args, (gpointer) "--to");
  g_ptr_array_add (alice_args, (gpointer) E2E_BOB);
  for (const char *const *arg = alice_extra; arg != NULL && *arg != NULL; arg++)
    g_ptr_array_add (alice_args, (gpointer) *arg);
  g_ptr_array_add (alice_args, NULL);

  /* A plugin receiver goes straight to the sender when it can
   * (test-e2e-direct.c): these cases are about the proxy's paths. */
  if (c->no_direct || c->receiver == E2E_PLUGIN)
    g_ptr_array_add (bob_args, (gpointer) "--no-direct");
  for (const char *const *arg = bob_extra; arg != NULL && *arg != NULL; arg++)
    {
      g_ptr_array_add (bob_args, (gpointer) *arg);
      decline = decline || g_str_equal (*arg, "--decline");
    }
  if (!decline)
    {
      g_ptr_array_add (bob_args, (gpointer) "--accept-dir");
      g_ptr_array_add (bob_args, fixture->accept_dir);
    }
  g_ptr_array_add (bob_args, NULL);

  e2e_run (run, fixture, c, (const char *const *) alice_args->pdata,
           (const char *const *) bob_args->pdata);
  e2e_show_user_events (&run->alice);
  e2e_show_user_events (&run->bob);
}

/* ------------------------------------------------------------------ */
/* What must have happened                                             */

static gint64
e2e_event_int (JsonObject *event, const char *name)
{
  JsonNode *node = json_object_get_member (event, name);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  return json_node_get_int (node);
}

static const char *
e2e_direction (E2ePeer *peer)
{
  return g_str_equal (peer->role, "alice") ? "send" : "receive";
}

/* @peer's driver ended with @status; if not, the end of its log says why
 * (a sanitizer report, libpurple's last words). */
static void
e2e_assert_status (E2ePeer *peer, int status)
{
  g_autofree char *log = NULL;
  const char *tail;
  guint lines = 0;

  if (peer->status != status && g_file_get_contents (peer->log_path, &log, NULL, NULL))
    {
      for (tail = log + strlen (log); tail > log && lines < 25; tail--)
        if (tail[-1] == '\n')
          lines++;
      g_test_message ("%s: the end of %s:\n%s", peer->role, peer->log_path, tail);
    }
  g_assert_cmpint (peer->status, ==, status);
}

/* Progress never goes back and never past the size. */
static void
e2e_assert_progress_sane (E2ePeer *peer, gint64 size)
{
  gint64 last = 0;

  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      gint64 bytes;

      if (!g_str_equal (json_object_get_string_member (event, "event"), "xfer-progress"))
        continue;
      bytes = e2e_event_int (event, "bytes");
      g_assert_cmpint (e2e_event_int (event, "size"), ==, size);
      g_assert_cmpint (bytes, >=, last);
      g_assert_cmpint (bytes, <=, size);
      last = bytes;
    }
}

/* @peer's transfer of @file completed, and nothing failed on its side.
 * @exact: whether its last byte count must be the size (libpurple's own
 * transfers report completion one read early). */
static void
e2e_assert_completed (E2ePeer *peer, const E2eFile *file, gboolean exact)
{
  const char *direction = e2e_direction (peer);
  JsonObject *done;

  e2e_assert_status (peer, 0);
  g_assert_nonnull (
      bsp_test_events_find (peer->events, "xfer-started", "direction", direction, NULL));
  done = bsp_test_events_find (peer->events, "xfer-completed", "direction", direction, NULL);
  g_assert_nonnull (done);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-completed", NULL), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (done, "file"), ==, file->name);
  g_assert_cmpint (e2e_event_int (done, "size"), ==, file->size);
  if (exact)
    g_assert_cmpint (e2e_event_int (done, "bytes"), ==, file->size);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-cancelled", NULL), ==, 0);
  g_assert_null (bsp_test_events_find (peer->events, "conversation", "kind", "error", NULL));
  g_assert_null (bsp_test_events_find (peer->events, "notify", NULL));
  g_assert_null (bsp_test_events_find (peer->events, "connection-error", NULL));
  g_assert_nonnull (bsp_test_events_find (peer->events, "done", NULL));
  e2e_assert_progress_sane (peer, file->size);
}

/* @peer's transfer ended cancelled (with @status when not NULL), was
 * never called complete, and the driver ended cleanly. */
static void
e2e_assert_cancelled (E2ePeer *peer, const char *status)
{
  const char *direction = e2e_direction (peer);

  e2e_assert_status (peer, 0);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-completed", NULL), ==, 0);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-cancelled", NULL), ==, 1);
  g_assert_nonnull (
      bsp_test_events_find (peer->events, "xfer-cancelled", "direction", direction, NULL));
  if (status != NULL)
    g_assert_nonnull (
        bsp_test_events_find (peer->events, "xfer-cancelled", "status", status, NULL));
  g_assert_nonnull (bsp_test_events_find (peer->events, "done", NULL));
}

/* The conversation shows why @peer's transfer of @file failed:
 * "Transfer of NAME failed: REASON" as an error. Returns the message. */
static const char *
e2e_assert_reason (E2ePeer *peer, const E2eFile *file)
{
  g_autofree char *prefix = g_strdup_printf ("Transfer of %s failed: ", file->name);
  const char *found = NULL;

  for (guint i = 0; i < peer->events->len && found == NULL; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *message;

      if (!g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          || g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), "error")
                 != 0)
        continue;
      message = json_object_get_string_member (event, "message");
      if (g_str_has_prefix (message, prefix) && strlen (message) > strlen (prefix))
        found = message;
    }
  if (found == NULL)
    g_test_message ("%s: no conversation error \"%s…\"", peer->role, prefix);
  g_assert_nonnull (found);
  return found;
}

/* What @peer's user saw: every notice, conversation line and end, as
 * test messages (a failing case shows them). */
static void
e2e_show_user_events (E2ePeer *peer)
{
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *name = json_object_get_string_member (event, "event");

      if (g_str_equal (name, "notify"))
        g_test_message ("%s: notice \"%s\" / \"%s\"", peer->role,
                        json_object_get_string_member_with_default (event, "primary", ""),
                        json_object_get_string_member_with_default (event, "secondary", ""));
      else if (g_str_equal (name, "conversation"))
        g_test_message ("%s: conversation (%s) \"%s\"", peer->role,
                        json_object_get_string_member_with_default (event, "kind", ""),
                        json_object_get_string_member_with_default (event, "message", ""));
      else if (g_str_equal (name, "xfer-cancelled"))
        g_test_message ("%s: transfer %s", peer->role,
                        json_object_get_string_member_with_default (event, "status", ""));
    }
}

/* @peer's user got exactly one error notice, @primary / @secondary
 * (libpurple's dialog in Pidgin, its window in Finch), or none when
 * @primary is NULL. */
static void
e2e_assert_notice (E2ePeer *peer, const char *primary, const char *secondary)
{
  JsonObject *notice = bsp_test_events_find (peer->events, "notify", NULL);

  if (primary == NULL)
    {
      g_assert_null (notice);
      return;
    }
  g_assert_cmpuint (bsp_test_events_count (peer->events, "notify", NULL), ==, 1);
  g_assert_nonnull (notice);
  g_assert_cmpstr (json_object_get_string_member_with_default (notice, "primary", NULL), ==,
                   primary);
  g_assert_cmpstr (json_object_get_string_member_with_default (notice, "secondary", NULL), ==,
                   secondary);
}

/* @peer's conversation has exactly one line of @kind ("error" or
 * "system") that starts with @start; with @exact, it is that line. */
static void
e2e_assert_line (E2ePeer *peer, const char *kind, const char *start, gboolean exact)
{
  guint found = 0;

  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *message;

      if (!g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          || g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), kind)
                 != 0)
        continue;
      message = json_object_get_string_member (event, "message");
      if (exact ? g_str_equal (message, start) : g_str_has_prefix (message, start))
        found++;
    }
  if (found != 1)
    g_test_message ("%s: %u %s line(s) \"%s\"", peer->role, found, kind, start);
  g_assert_cmpuint (found, ==, 1);
}

/* The conversation of @peer says once which path @file takes: @how is
 * the line after the file's name, up to its varying end (a JID). */
static void
e2e_assert_path (E2ePeer *peer, const E2eFile *file, const char *how)
{
  g_autofree char *start = g_strdup_printf ("%s %s", file->name, how);
  guint lines = 0;

  e2e_assert_line (peer, "system", start, FALSE);
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *message = json_object_get_string_member_with_default (event, "message", "");

      if (g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          && g_str_has_prefix (message, file->name) && strstr (message, " goes ") != NULL)
        lines++;
    }
  g_assert_cmpuint (lines, ==, 1);
}

#define E2E_PATH_HTTP "goes over HTTP through the file transfer proxy "

/* The conversation of @peer has no error line at all but @except. */
static void
e2e_assert_only_error_line (E2ePeer *peer, const char *except)
{
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);

      if (g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          && g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), "error")
                 == 0)
        g_assert_cmpstr (json_object_get_string_member (event, "message"), ==, except);
    }
}

static gboolean e2e_driver_log_contains (E2ePeer *peer, const char *needle);

/* @peer's user cancelled: libpurple's own "You cancelled…" line, nothing
 * else; the other side, @other, sees libpurple's own remote cancel (the
 * same words libpurple uses for its own transfers) and no socket error. */
static void
e2e_assert_user_cancel_seen (E2ePeer *peer, E2ePeer *other, const char *user, const E2eFile *file,
                             gboolean plugin)
{
  g_autofree char *mine = g_strdup_printf ("You cancelled the transfer of %s", file->name);
  g_autofree char *theirs = g_strdup_printf ("%s cancelled the transfer of %s", user, file->name);
  g_autofree char *heading
      = g_strdup_printf (g_str_equal (other->role, "alice") ? "File transfer to %s failed."
                                                            : "File transfer from %s failed.",
                         user);

  e2e_assert_cancelled (peer, "cancel-local");
  e2e_assert_notice (peer, NULL, NULL);
  e2e_assert_only_error_line (peer, NULL);
  e2e_assert_line (peer, "system", mine, TRUE);
  if (plugin)
    {
      e2e_assert_path (peer, file, E2E_PATH_HTTP);
      e2e_assert_path (other, file, E2E_PATH_HTTP);
      /* the other side learnt it from the proxy's <ended/>, not by guessing */
      g_assert_true (e2e_driver_log_contains (other, g_str_equal (user, "alice")
                                                         ? "says it ended: sender-cancelled"
                                                         : "says it ended: receiver-cancelled"));
    }

  e2e_assert_cancelled (other, "cancel-remote");
  e2e_assert_notice (other, heading, theirs);
  e2e_assert_only_error_line (other, theirs);
  e2e_assert_line (other, "error", theirs, TRUE);
}

/* bob's copy of @file is absent or shorter: never a whole file on a
 * failed path. */
static void
e2e_assert_not_received (E2eFixture *fixture, const E2eFile *file)
{
  g_autofree char *path = g_build_filename (fixture->accept_dir, file->name, NULL);
  GStatBuf st;

  if (g_stat (path, &st) == 0)
    g_assert_cmpint (st.st_size, <, file->size);
  else
    g_assert_cmpint (errno, ==, ENOENT);
}

static void
e2e_assert_received (E2eFixture *fixture, const E2eFile *file, E2ePeer *bob)
{
  g_autofree char *path = g_build_filename (fixture->accept_dir, file->name, NULL);
  g_autofree char *sha256 = NULL;
  JsonObject *done;
  goffset size;

  done = bsp_test_events_find (bob->events, "xfer-completed", NULL);
  g_assert_nonnull (done);
  g_assert_cmpstr (json_object_get_string_member_with_default (done, "path", NULL), ==, path);

  sha256 = e2e_sha256_file (path, &size);
  g_assert_nonnull (sha256);
  g_assert_cmpint (size, ==, file->size);
  g_assert_cmpstr (sha256, ==, file->sha256);
}

/* The server's log: exactly one session went active, and it paired
 * alice by @initiator_via with bob by @target_via. Its lines read
 * "session 0123abcd… active: I (HTTP) → T (SOCKS5)"; the ellipsis and
 * the arrow depend on the locale's charset, so only the ASCII parts are
 * compared. */
static void
e2e_assert_session (E2eFixture *fixture, const char *initiator_via, const char *target_via)
{
  g_autofree char *log = NULL;
  g_autofree char *initiator = NULL;
  g_autofree char *target = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  const char *active = NULL;
  guint count = 0;

  g_file_get_contents (fixture->server_log, &log, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (log, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      const char *found = strstr (*line, " active: ");

      if (found == NULL)
        continue;
      count++;
      active = found + strlen (" active: ");
    }
  if (count != 1)
    g_test_message ("server log:\n%s", log);
  g_assert_cmpuint (count, ==, 1);

  initiator = g_strdup_printf (E2E_ALICE " (%s) ", initiator_via);
  target = g_strdup_printf (" " E2E_BOB " (%s)", target_via);
  g_test_message ("the proxy paired them: %s", active);
  g_assert_true (g_str_has_prefix (active, initiator));
  g_assert_true (g_str_has_suffix (active, target));
}

static gboolean
e2e_driver_log_contains (E2ePeer *peer, const char *needle)
{
  g_autofree char *log = NULL;

  return g_file_get_contents (peer->log_path, &log, NULL, NULL) && strstr (log, needle) != NULL;
}

/* ------------------------------------------------------------------ */
/* The matrix: every pair of clients, three sizes                      */

static void
e2e_test_transfer (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  e2e_run_transfer (&run, fixture, c, file, NULL, NULL);

  /* the plugin reports every byte; libpurple's own loop one read short */
  e2e_assert_completed (&run.alice, file, c->sender == E2E_PLUGIN && !c->no_http);
  e2e_assert_completed (&run.bob, file, c->receiver == E2E_PLUGIN && !c->no_http);
  g_assert_nonnull (
      bsp_test_events_find (run.bob.events, "xfer-offered", "file", file->name, NULL));
  e2e_assert_received (fixture, file, &run.bob);
  e2e_assert_session (fixture, c->initiator_via, c->target_via);
  if (c->sender == E2E_PLUGIN)
    e2e_assert_path (&run.alice, file, E2E_PATH_HTTP);
  if (c->receiver == E2E_PLUGIN)
    e2e_assert_path (&run.bob, file, E2E_PATH_HTTP);
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */

static void
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

static void
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

static void
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

static void
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

static void
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

/* Runs @c, which the plugins must hand to libpurple's own SOCKS5 path
 * through the proxy: the file arrives, neither side sees a failure, and
 * each says once which way it went. */
static void
e2e_run_socks5_fallback (E2eFixture *fixture, const E2eCase *c, E2eRun *run)
{
  const E2eFile *file = e2e_file_get (c->file);

  e2e_run_transfer (run, fixture, c, file, NULL, NULL);
  e2e_assert_completed (&run->alice, file, FALSE);
  e2e_assert_completed (&run->bob, file, FALSE);
  e2e_assert_received (fixture, file, &run->bob);
  e2e_assert_session (fixture, "SOCKS5", "SOCKS5");
  /* alice knows bob chose the proxy's SOCKS5 */
  e2e_assert_path (&run->alice, file, "goes by SOCKS5 through ");
  e2e_assert_path (&run->bob, file,
                   "goes the usual XMPP way (directly or by SOCKS5), not over HTTP");
}

static void
e2e_test_no_http_side (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_auto (E2eRun) run = { 0 };

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  e2e_run_socks5_fallback (fixture, c, &run);
  /* the plugins saw a proxy without the bs-proxy feature, and bob's
   * handed the offer back to libpurple */
  g_assert_true (e2e_driver_log_contains (&run.alice, "SOCKS5 127.0.0.1:"));
  g_assert_true (e2e_driver_log_contains (&run.alice, ", HTTP no"));
  g_assert_true (e2e_driver_log_contains (&run.bob, ", HTTP no"));
  g_assert_true (e2e_driver_log_contains (&run.bob, "falling back to libpurple's own transfer"));
}

/* The proxy advertises an HTTP base that does not answer from here: both
 * plugins learn it when they sign in and keep to libpurple's own SOCKS5
 * path through the proxy, with nothing shown as a failure. */
static void
e2e_test_http_unreachable (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_auto (E2eRun) run = { 0 };

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  e2e_run_socks5_fallback (fixture, c, &run);
  g_assert_true (e2e_driver_log_contains (&run.alice, "its HTTP side is not reachable from here"));
  g_assert_true (e2e_driver_log_contains (&run.bob, "its HTTP side is not reachable from here"));
  g_assert_false (e2e_driver_log_contains (&run.bob, "<connect"));
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

static void e2e_assert_failed (E2ePeer *peer, const E2eFile *file, const char *heading,
                               const char *why, gboolean detail);

static void
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

static void
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
static void
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

static void
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

static void
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

/* ------------------------------------------------------------------ */

typedef struct
{
  const char *name;
  E2eClient sender;
  E2eClient receiver;
  gboolean no_direct;
  const char *initiator_via;
  const char *target_via;
  const char *summary;
} E2ePair;

static const E2ePair e2e_pairs[] = {
  { "plugin-plugin", E2E_PLUGIN, E2E_PLUGIN, FALSE, "HTTP", "HTTP",
    "The plugin on both sides: the file goes up and down over the proxy's HTTP side "
    "(HTTP -> HTTP) and arrives unchanged" },
  { "plugin-plain", E2E_PLUGIN, E2E_PLAIN, TRUE, "HTTP", "SOCKS5",
    "The plugin sends, plain libpurple behind NAT receives by SOCKS5: the proxy bridges "
    "(HTTP -> SOCKS5) and the file arrives unchanged" },
  { "plain-plugin", E2E_PLAIN, E2E_PLUGIN, FALSE, "SOCKS5", "HTTP",
    "Plain libpurple sends by SOCKS5, the plugin receives over HTTP: the proxy bridges "
    "(SOCKS5 -> HTTP) and the file arrives unchanged" },
  { "plain-plain", E2E_PLAIN, E2E_PLAIN, TRUE, "SOCKS5", "SOCKS5",
    "Plain libpurple on both sides, the receiver behind NAT: a plain XEP-0065 relay "
    "(SOCKS5 -> SOCKS5), the sanity check of the setup itself" },
};

static const char *const e2e_sizes[] = { "1B", "64KiB+1", "100MiB" };

static const E2eCase e2e_utf8_name = {
  .path = "/e2e/plugin-plugin/utf8-name",
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .file = "utf8-name",
  .initiator_via = "HTTP",
  .target_via = "HTTP",
  .summary = "A file name with spaces and non-ASCII characters goes through HTTP -> HTTP and "
             "arrives under the same name",
};

static const E2eCase e2e_no_http = {
  .path = "/e2e/fallback/no-http-side",
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .no_direct = TRUE, /* through the proxy, not straight to alice */
  .no_http = TRUE,
  .file = "100MiB",
  .initiator_via = "SOCKS5",
  .target_via = "SOCKS5",
  .summary = "The proxy has no HTTP side: the plugin on both sides falls back to libpurple's "
             "own SOCKS5 transfer through the proxy and the file still arrives unchanged",
};

static const E2eCase e2e_http_unreachable = {
  .path = "/e2e/fallback/http-unreachable",
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .no_direct = TRUE,
  .http_unreachable = TRUE,
  .file = "64KiB+1",
  .initiator_via = "SOCKS5",
  .target_via = "SOCKS5",
  .summary = "The proxy's HTTP side does not answer from here (its advertised base is a "
             "closed port): both plugins see it before any transfer and the file goes over "
             "libpurple's own SOCKS5 path, no user sees a failure",
};

/* the failures: plugin to plugin, over HTTP */
static const E2eCase e2e_decline = {
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .file = "64KiB+1",
  .initiator_via = "HTTP",
  .target_via = "HTTP",
};

static const E2eCase e2e_failure = {
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .file = "512MiB",
  .initiator_via = "HTTP",
  .target_via = "HTTP",
};

/* the same without the plugin: libpurple's own words for the same event,
 * which the plugin's cases must match */
static const E2eCase e2e_failure_plain = {
  .sender = E2E_PLAIN,
  .receiver = E2E_PLAIN,
  .no_direct = TRUE,
  .file = "512MiB",
  .initiator_via = "SOCKS5",
  .target_via = "SOCKS5",
};

/* plain libpurple sends by SOCKS5, the plugin receives over HTTP: the
 * proxy tells the plugin what the plain sender's end looked like */
static const E2eCase e2e_failure_bridge = {
  .sender = E2E_PLAIN,
  .receiver = E2E_PLUGIN,
  .file = "512MiB",
  .initiator_via = "SOCKS5",
  .target_via = "HTTP",
};

/* the same, struck at the first byte the UI hears of: the upload's worker
 * has barely started */
static const E2eCase e2e_failure_early = {
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .file = "512MiB",
  .initiator_via = "HTTP",
  .target_via = "HTTP",
  .trigger = "1",
};

static const E2eCase e2e_upload_cut = {
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .file = "512MiB",
  .initiator_via = "HTTP",
  .target_via = "HTTP",
  .cut = "POST",
  .summary = "alice's HTTP upload is reset mid-transfer (XMPP stays up): alice is told her link "
             "to the proxy broke, bob that the connection between alice and the proxy broke, "
             "each in the error notice, the transfer's status and an error line, and neither "
             "that someone cancelled",
};

static const E2eCase e2e_download_cut = {
  .sender = E2E_PLUGIN,
  .receiver = E2E_PLUGIN,
  .file = "512MiB",
  .initiator_via = "HTTP",
  .target_via = "HTTP",
  .cut = "GET ",
  .summary = "bob's HTTP download is reset mid-transfer (XMPP stays up): bob is told his link "
             "to the proxy broke, alice that the connection between bob and the proxy broke, "
             "each in the error notice, the transfer's status and an error line, and neither "
             "that someone cancelled",
};

#define e2e_add(path, c, func)                                                                     \
  g_test_add ((path), E2eFixture, (c), e2e_fixture_set_up, (func), e2e_fixture_tear_down)

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  int status;

  /* The drivers run in the isolated XDG dirs, where GSettings has no
   * schemas: GIO's default proxy resolver (libsoup in the plugin) would
   * abort there. meson sets this too; a run by hand needs it as well. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  e2e_files_dir = g_dir_make_tmp ("bsp-e2e-files-XXXXXX", &error);
  g_assert_no_error (error);
  e2e_files_remove_on_signals ();
  g_test_message ("test files in %s", e2e_files_dir);

  for (guint p = 0; p < G_N_ELEMENTS (e2e_pairs); p++)
    for (guint s = 0; s < G_N_ELEMENTS (e2e_sizes); s++)
      {
        E2eCase *c = g_new0 (E2eCase, 1);
        char *path = g_strdup_printf ("/e2e/%s/%s", e2e_pairs[p].name, e2e_sizes[s]);

        c->path = path;
        c->sender = e2e_pairs[p].sender;
        c->receiver = e2e_pairs[p].receiver;
        c->no_direct = e2e_pairs[p].no_direct;
        c->file = e2e_sizes[s];
        c->initiator_via = e2e_pairs[p].initiator_via;
        c->target_via = e2e_pairs[p].target_via;
        c->summary = e2e_pairs[p].summary;
        g_ptr_array_add (cases, c);
        g_ptr_array_add (paths, path);
        e2e_add (c->path, c, e2e_test_transfer);
      }
  e2e_add (e2e_utf8_name.path, &e2e_utf8_name, e2e_test_transfer);
  e2e_add (e2e_no_http.path, &e2e_no_http, e2e_test_no_http_side);
  e2e_add (e2e_http_unreachable.path, &e2e_http_unreachable, e2e_test_http_unreachable);

  e2e_add ("/e2e/failure/decline", &e2e_decline, e2e_test_decline);
  e2e_add ("/e2e/failure/sender-cancels", &e2e_failure, e2e_test_sender_cancels);
  e2e_add ("/e2e/failure/receiver-cancels", &e2e_failure, e2e_test_receiver_cancels);
  e2e_add ("/e2e/failure/sender-cancels-early", &e2e_failure_early, e2e_test_sender_cancels);
  e2e_add ("/e2e/failure/receiver-cancels-early", &e2e_failure_early, e2e_test_receiver_cancels);
  e2e_add ("/e2e/failure/plain/sender-cancels", &e2e_failure_plain, e2e_test_sender_cancels);
  e2e_add ("/e2e/failure/plain/receiver-cancels", &e2e_failure_plain, e2e_test_receiver_cancels);
  e2e_add ("/e2e/failure/bridge/sender-cancels", &e2e_failure_bridge, e2e_test_sender_cancels);
  e2e_add ("/e2e/failure/proxy-killed", &e2e_failure, e2e_test_proxy_killed);
  e2e_add ("/e2e/failure/sender-unloads-plugin", &e2e_failure, e2e_test_sender_unloads);
  e2e_add ("/e2e/failure/sender-signs-off", &e2e_failure, e2e_test_sender_signs_off);
  e2e_add ("/e2e/failure/receiver-unloads-plugin", &e2e_failure, e2e_test_receiver_unloads);
  e2e_add ("/e2e/failure/stall", &e2e_failure, e2e_test_stall);
  e2e_add ("/e2e/failure/receiver-disk-full", &e2e_failure, e2e_test_receiver_disk_full);
  e2e_add ("/e2e/failure/upload-reset", &e2e_upload_cut, e2e_test_http_cut);
  e2e_add ("/e2e/failure/download-reset", &e2e_download_cut, e2e_test_http_cut);

  status = g_test_run ();
  e2e_files_remove ();
  return status;
}
