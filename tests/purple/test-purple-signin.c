/* test-purple-signin.c — real libpurple signs in to proxy-test-server
 *
 * Spawns proxy-test-server on loopback ports picked by the kernel, waits
 * for its READY line, then runs bsp-purple-driver with two accounts
 * (with and without the bsproxy plugin) and checks the JSON-lines events
 * it prints. proxy-test-server comes from PTS_SERVER (set by meson for
 * every test); the driver and the plugin from the paths meson compiled
 * in, which BSP_DRIVER and BSP_PLUGIN override.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define TEST_READY_TIMEOUT_S 20
#define TEST_DRIVER_TIMEOUT_S "30"

#define TEST_ALICE "alice@localhost/driver"
#define TEST_BOB "bob@localhost/driver"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
/* G_TEST_OPTION_ISOLATE_DIRS leaks GLib's old user dirs
 * (g_set_user_dirs); whole stacks let the suppression see that. */
const char *__asan_default_options (void);
const char *__lsan_default_suppressions (void);

const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions (void)
{
  return "leak:g_set_user_dirs\n";
}
#endif

static const char *
test_driver_path (void)
{
  const char *path = g_getenv ("BSP_DRIVER");

#ifdef BSP_DRIVER_PATH
  if (path == NULL)
    path = BSP_DRIVER_PATH;
#endif
  return path;
}

static const char *
test_plugin_path (void)
{
  const char *path = g_getenv ("BSP_PLUGIN");

#ifdef BSP_PLUGIN_PATH
  if (path == NULL)
    path = BSP_PLUGIN_PATH;
#endif
  return path;
}

static void
test_child_setup (gpointer user_data)
{
#ifdef __linux__
  /* if this test aborts, its helpers go too instead of holding the
   * output pipes that meson is reading */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

static GSubprocessLauncher *
test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, test_child_setup, NULL, NULL);
  return launcher;
}

typedef struct
{
  GSubprocess *server;
  GDataInputStream *server_out; /* kept open: the server must not get EPIPE */
  char *c2s_host;
  char *c2s_port;
  char *user_dir;
} Fixture;

/* ------------------------------------------------------------------ */
/* Waiting for READY without sleeps: an async line read on a private    */
/* main context, bounded by a timeout.                                 */

typedef struct
{
  GMainContext *context;
  char *line;
  GError *error;
  gboolean done;
  gboolean timed_out;
} TestLineRead;

static void
test_read_line_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TestLineRead *state = user_data;

  state->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, &state->error);
  state->done = TRUE;
  g_main_context_wakeup (state->context);
}

static gboolean
test_read_timeout_cb (gpointer user_data)
{
  TestLineRead *state = user_data;

  state->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Reads one line; NULL with @error set on EOF, error or timeout. */
static char *
test_read_line (GDataInputStream *stream, guint timeout_s, GError **error)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GSource) timeout = g_timeout_source_new_seconds (timeout_s);
  TestLineRead state = { .context = context };

  g_main_context_push_thread_default (context);
  g_source_set_callback (timeout, test_read_timeout_cb, &state, NULL);
  g_source_attach (timeout, context);

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, cancellable, test_read_line_cb,
                                       &state);
  while (!state.done && !state.timed_out)
    g_main_context_iteration (context, TRUE);
  if (!state.done)
    {
      g_cancellable_cancel (cancellable);
      while (!state.done)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);

  if (state.timed_out && state.line == NULL)
    {
      g_clear_error (&state.error);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no line within %u s", timeout_s);
      return NULL;
    }
  if (state.error != NULL)
    {
      g_propagate_error (error, state.error);
      return NULL;
    }
  if (state.line == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "end of output");
  return state.line;
}

/* ------------------------------------------------------------------ */
/* Fixture: one proxy-test-server per test                             */

static gboolean
test_parse_ready (Fixture *fixture, const char *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GSocketConnectable) address = NULL;
  JsonObject *object;
  const char *c2s;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "READY is not an object: %s", json);
      return FALSE;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  c2s = json_object_get_string_member_with_default (object, "c2s", NULL);
  if (c2s == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "READY has no c2s: %s", json);
      return FALSE;
    }

  address = g_network_address_parse (c2s, 0, error);
  if (address == NULL)
    return FALSE;
  fixture->c2s_host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (address)));
  fixture->c2s_port
      = g_strdup_printf ("%u", g_network_address_get_port (G_NETWORK_ADDRESS (address)));
  return TRUE;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  const char *server_path = g_getenv ("PTS_SERVER");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;

  if (server_path == NULL)
    {
      g_test_skip ("PTS_SERVER is not set: no proxy-test-server to sign in to");
      return;
    }
  if (test_driver_path () == NULL)
    {
      g_test_skip ("no bsp-purple-driver: set BSP_DRIVER");
      return;
    }

  /* G_TEST_OPTION_ISOLATE_DIRS: this is a fresh per-test directory */
  fixture->user_dir = g_build_filename (g_get_user_config_dir (), "purple", NULL);

  launcher = test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  fixture->server = g_subprocess_launcher_spawn (launcher, &error, server_path, "--c2s-port", "0",
                                                 "--socks5-port", "0", "--user", "alice:secret",
                                                 "--user", "bob:secret", NULL);
  g_assert_no_error (error);

  fixture->server_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->server));
  for (;;)
    {
      g_autofree char *line = test_read_line (fixture->server_out, TEST_READY_TIMEOUT_S, &error);

      g_assert_no_error (error);
      if (g_str_has_prefix (line, "READY "))
        {
          test_parse_ready (fixture, line + strlen ("READY "), &error);
          g_assert_no_error (error);
          break;
        }
      g_test_message ("proxy-test-server before READY: %s", line);
    }
  g_test_message ("proxy-test-server c2s at %s:%s", fixture->c2s_host, fixture->c2s_port);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  if (fixture->server != NULL)
    {
      g_autoptr (GError) error = NULL;

      g_subprocess_send_signal (fixture->server, SIGTERM);
      g_subprocess_wait (fixture->server, NULL, &error);
      g_assert_no_error (error);
      g_clear_object (&fixture->server);
    }
  g_clear_object (&fixture->server_out);
  g_clear_pointer (&fixture->c2s_host, g_free);
  g_clear_pointer (&fixture->c2s_port, g_free);
  g_clear_pointer (&fixture->user_dir, g_free);
}

/* ------------------------------------------------------------------ */
/* The driver and its events                                           */

typedef struct
{
  int status;
  GPtrArray *events; /* JsonObject * */
  char *log;         /* the driver's stderr: libpurple's debug log with --debug */
} DriverRun;

static void
driver_run_clear (DriverRun *run)
{
  g_clear_pointer (&run->events, g_ptr_array_unref);
  g_clear_pointer (&run->log, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DriverRun, driver_run_clear)

/* Runs the driver to its end with @extra_args (NULL-terminated, may be
 * NULL); every stdout line must be a JSON object with an "event" member.
 * With --debug in @extra_args, its stderr is kept in run->log. */
static void
test_run_driver (Fixture *fixture, const char *const *extra_args, DriverRun *run)
{
  gboolean debug = FALSE;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) driver = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;

  g_ptr_array_add (argv, (gpointer) test_driver_path ());
  g_ptr_array_add (argv, (gpointer) "--user-dir");
  g_ptr_array_add (argv, fixture->user_dir);
  g_ptr_array_add (argv, (gpointer) "--account");
  g_ptr_array_add (argv, (gpointer) TEST_ALICE ":secret");
  g_ptr_array_add (argv, (gpointer) "--account");
  g_ptr_array_add (argv, (gpointer) TEST_BOB ":secret");
  g_ptr_array_add (argv, (gpointer) "--server");
  g_ptr_array_add (argv, fixture->c2s_host);
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, fixture->c2s_port);
  g_ptr_array_add (argv, (gpointer) "--wait-online");
  g_ptr_array_add (argv, (gpointer) "2");
  g_ptr_array_add (argv, (gpointer) "--timeout");
  g_ptr_array_add (argv, (gpointer) TEST_DRIVER_TIMEOUT_S);
  for (const char *const *arg = extra_args; arg != NULL && *arg != NULL; arg++)
    {
      g_ptr_array_add (argv, (gpointer) *arg);
      debug = debug || g_str_equal (*arg, "--debug");
    }
  if (!debug && g_test_verbose ())
    {
      g_ptr_array_add (argv, (gpointer) "--debug");
      debug = TRUE;
    }
  g_ptr_array_add (argv, NULL);

  launcher = test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                | (debug ? G_SUBPROCESS_FLAGS_STDERR_PIPE : 0));
  /* libpurple's D-Bus glue must not reach the desktop's session bus */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_STARTER_ADDRESS");
  driver = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (driver, NULL, NULL, &out, &run->log, &error);
  g_assert_no_error (error);
  if (run->log != NULL && g_test_verbose ())
    g_test_message ("driver stderr:\n%s", run->log);
  g_assert_true (g_subprocess_get_if_exited (driver));
  run->status = g_subprocess_get_exit_status (driver);

  run->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  lines = g_strsplit (out, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *object;

      if (**line == '\0')
        continue;
      g_test_message ("driver: %s", *line);
      json_parser_load_from_data (parser, *line, -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      object = json_node_get_object (json_parser_get_root (parser));
      g_assert_true (json_object_has_member (object, "event"));
      g_ptr_array_add (run->events, json_object_ref (object));
    }
}

/* Whether some event is @event with every string member given as
 * name/value pairs (NULL-terminated). */
static gboolean G_GNUC_NULL_TERMINATED
test_has_event (DriverRun *run, const char *event, ...)
{
  for (guint i = 0; i < run->events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (run->events, i);
      gboolean match;
      const char *name;
      va_list args;

      if (g_strcmp0 (json_object_get_string_member (object, "event"), event) != 0)
        continue;

      match = TRUE;
      va_start (args, event);
      while (match && (name = va_arg (args, const char *)) != NULL)
        {
          const char *value = va_arg (args, const char *);

          match = g_strcmp0 (json_object_get_string_member_with_default (object, name, NULL), value)
                  == 0;
        }
      va_end (args);
      if (match)
        return TRUE;
    }
  return FALSE;
}

/* The plugin-loaded event lists exactly these preferences (NULL-terminated),
 * in this order. */
static void G_GNUC_NULL_TERMINATED
test_assert_prefs (DriverRun *run, ...)
{
  JsonArray *prefs = NULL;
  const char *name;
  guint i = 0;
  va_list args;

  for (guint e = 0; e < run->events->len && prefs == NULL; e++)
    {
      JsonObject *object = g_ptr_array_index (run->events, e);

      if (g_strcmp0 (json_object_get_string_member (object, "event"), "plugin-loaded") == 0)
        prefs = json_object_get_array_member (object, "prefs");
    }
  g_assert_nonnull (prefs);

  va_start (args, run);
  while ((name = va_arg (args, const char *)) != NULL)
    {
      g_assert_cmpuint (i, <, json_array_get_length (prefs));
      g_assert_cmpstr (json_array_get_string_element (prefs, i), ==, name);
      i++;
    }
  va_end (args);
  g_assert_cmpuint (i, ==, json_array_get_length (prefs));
}

static void
test_assert_signed_in (DriverRun *run)
{
  g_assert_cmpint (run->status, ==, 0);
  g_assert_true (test_has_event (run, "signed-on", "account", TEST_ALICE, NULL));
  g_assert_true (test_has_event (run, "signed-on", "account", TEST_BOB, NULL));
  g_assert_true (
      test_has_event (run, "buddy-online", "account", TEST_ALICE, "buddy", "bob@localhost", NULL));
  g_assert_true (
      test_has_event (run, "buddy-online", "account", TEST_BOB, "buddy", "alice@localhost", NULL));
  g_assert_false (test_has_event (run, "connection-error", NULL));
  g_assert_true (test_has_event (run, "done", NULL));
}

static void
test_signin (Fixture *fixture, gconstpointer user_data)
{
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("Two accounts of one headless libpurple sign in to proxy-test-server over "
                  "plaintext c2s and see each other online");
  if (g_test_failed () || fixture->server == NULL)
    return;

  test_run_driver (fixture, NULL, &run);
  test_assert_signed_in (&run);
  g_assert_false (test_has_event (&run, "plugin-loaded", NULL));
}

static void
test_signin_plugin (Fixture *fixture, gconstpointer user_data)
{
  const char *plugin = test_plugin_path ();
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("The built bsproxy plugin loads into libpurple before sign-in and does not "
                  "get in the way of signing in");
  if (g_test_failed () || fixture->server == NULL)
    return;
  if (plugin == NULL)
    {
      g_test_skip ("the plugin was not built: set BSP_PLUGIN");
      return;
    }

  test_run_driver (fixture, (const char *const[]){ "--plugin", plugin, NULL }, &run);
  g_assert_true (test_has_event (&run, "plugin-loaded", "id", "core-bsproxy", NULL));
  test_assert_prefs (&run, "/plugins/core/bsproxy/send_http", "/plugins/core/bsproxy/recv_http",
                     "/plugins/core/bsproxy/proxy_jid", NULL);
  test_assert_signed_in (&run);
}

static void
test_signin_plugin_late (Fixture *fixture, gconstpointer user_data)
{
  const char *plugin = test_plugin_path ();
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("Loaded while both accounts are already signed on, the plugin adopts both "
                  "connections (it logs how many) and they stay online");
  if (g_test_failed () || fixture->server == NULL)
    return;
  if (plugin == NULL)
    {
      g_test_skip ("the plugin was not built: set BSP_PLUGIN");
      return;
    }

  test_run_driver (fixture,
                   (const char *const[]){ "--plugin", plugin, "--plugin-late", "--debug", NULL },
                   &run);
  g_assert_true (test_has_event (&run, "plugin-loaded", "id", "core-bsproxy", NULL));
  test_assert_signed_in (&run);
  g_assert_nonnull (run.log);
  g_assert_nonnull (strstr (run.log, "bsproxy: loaded (version " PACKAGE_VERSION
                                     "), 2 XMPP connection(s) adopted"));
  g_assert_nonnull (strstr (run.log, "bsproxy: unloaded"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/purple/signin/plain", Fixture, NULL, fixture_set_up, test_signin,
              fixture_tear_down);
  g_test_add ("/purple/signin/plugin", Fixture, NULL, fixture_set_up, test_signin_plugin,
              fixture_tear_down);
  g_test_add ("/purple/signin/plugin-late", Fixture, NULL, fixture_set_up,
              test_signin_plugin_late, fixture_tear_down);

  return g_test_run ();
}
