/* test-purple-signin.c — real libpurple signs in to proxy-test-server
 *
 * Spawns proxy-test-server on loopback ports picked by the kernel, waits
 * for its READY line, then runs bsp-purple-driver with two accounts
 * (with and without the bsproxy plugin) and checks the JSON-lines events
 * it prints. Programs come from the environment, set by meson:
 * PTS_SERVER, BSP_DRIVER and BSP_PLUGIN.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define TEST_READY_TIMEOUT_S 20
#define TEST_DRIVER_TIMEOUT_S "30"

#define TEST_ALICE "alice@localhost/driver"
#define TEST_BOB "bob@localhost/driver"

typedef struct
{
  GSubprocess *server;
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
  TestLineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, &read->error);
  read->done = TRUE;
  g_main_context_wakeup (read->context);
}

static gboolean
test_read_timeout_cb (gpointer user_data)
{
  TestLineRead *read = user_data;

  read->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Reads one line; NULL with @error set on EOF, error or timeout. */
static char *
test_read_line (GDataInputStream *stream, guint timeout_s, GError **error)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GSource) timeout = g_timeout_source_new_seconds (timeout_s);
  TestLineRead read = { .context = context };

  g_main_context_push_thread_default (context);
  g_source_set_callback (timeout, test_read_timeout_cb, &read, NULL);
  g_source_attach (timeout, context);

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, cancellable, test_read_line_cb,
                                       &read);
  while (!read.done && !read.timed_out)
    g_main_context_iteration (context, TRUE);
  if (!read.done)
    {
      g_cancellable_cancel (cancellable);
      while (!read.done)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);

  if (read.timed_out && read.line == NULL)
    {
      g_clear_error (&read.error);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no line within %u s", timeout_s);
      return NULL;
    }
  if (read.error != NULL)
    {
      g_propagate_error (error, read.error);
      return NULL;
    }
  if (read.line == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "end of output");
  return read.line;
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
  fixture->c2s_port = g_strdup_printf ("%u", g_network_address_get_port (G_NETWORK_ADDRESS (address)));
  return TRUE;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  const char *server_path = g_getenv ("PTS_SERVER");
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) out = NULL;

  if (server_path == NULL)
    {
      g_test_skip ("PTS_SERVER is not set: no proxy-test-server to sign in to");
      return;
    }
  if (g_getenv ("BSP_DRIVER") == NULL)
    {
      g_test_skip ("BSP_DRIVER is not set");
      return;
    }

  /* G_TEST_OPTION_ISOLATE_DIRS: this is a fresh per-test directory */
  fixture->user_dir = g_build_filename (g_get_user_config_dir (), "purple", NULL);

  fixture->server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, server_path,
                                      "--c2s-port", "0", "--socks5-port", "0", "--user",
                                      "alice:secret", "--user", "bob:secret", NULL);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->server));
  for (;;)
    {
      g_autofree char *line = test_read_line (out, TEST_READY_TIMEOUT_S, &error);

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
} DriverRun;

static void
driver_run_clear (DriverRun *run)
{
  g_clear_pointer (&run->events, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DriverRun, driver_run_clear)

/* Runs the driver to its end; every stdout line must be a JSON object
 * with an "event" member. */
static void
test_run_driver (Fixture *fixture, const char *plugin, DriverRun *run)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) driver = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("BSP_DRIVER"));
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
  if (plugin != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--plugin");
      g_ptr_array_add (argv, (gpointer) plugin);
    }
  if (g_test_verbose ())
    g_ptr_array_add (argv, (gpointer) "--debug");
  g_ptr_array_add (argv, NULL);

  driver = g_subprocess_newv ((const char *const *) argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                              &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (driver, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
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
  const char *plugin = g_getenv ("BSP_PLUGIN");
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("The built bsproxy plugin loads into libpurple before sign-in and does not "
                  "get in the way of signing in");
  if (g_test_failed () || fixture->server == NULL)
    return;
  if (plugin == NULL)
    {
      g_test_skip ("BSP_PLUGIN is not set: the plugin was not built");
      return;
    }

  test_run_driver (fixture, plugin, &run);
  g_assert_true (test_has_event (&run, "plugin-loaded", "id", "core-bsproxy", NULL));
  test_assert_signed_in (&run);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/purple/signin/plain", Fixture, NULL, fixture_set_up, test_signin,
              fixture_tear_down);
  g_test_add ("/purple/signin/plugin", Fixture, NULL, fixture_set_up, test_signin_plugin,
              fixture_tear_down);

  return g_test_run ();
}
