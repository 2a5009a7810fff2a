/* bsp-test-purple.c — what the headless libpurple tests share
 *
 * proxy-test-server comes from PTS_SERVER (set by meson for every test);
 * the driver and the plugin from the paths meson compiled in, which
 * BSP_DRIVER and BSP_PLUGIN override.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "bsp-test-purple.h"

#if defined(__SANITIZE_ADDRESS__)
#define BSP_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BSP_TEST_ASAN 1
#endif
#endif

#ifdef BSP_TEST_ASAN
/* For us and every helper we start (sanitized too, built alongside):
 *  - LeakSanitizer's suppressions (GLib's one-time allocations, by
 *    function) need whole malloc stacks, which the fast unwinder cuts at
 *    the first library built without frame pointers (GLib);
 *  - GCC < 14's __tls_get_addr interceptor takes some dynamic TLS blocks
 *    (modules loaded at run time: GIO's, libpurple's) for glibc 2.19
 *    ones, and LeakSanitizer's tracer then dies at exit ("Tracer caught
 *    signal 11") in about one run in three of the e2e suite. */
#define BSP_TEST_ASAN_OPTIONS "fast_unwind_on_malloc=0:intercept_tls_get_addr=0"

/* G_TEST_OPTION_ISOLATE_DIRS leaks GLib's old user dirs
 * (g_set_user_dirs); whole stacks let the suppression see that. */
const char *__asan_default_options (void);
const char *__lsan_default_suppressions (void);

const char *
__asan_default_options (void)
{
  return BSP_TEST_ASAN_OPTIONS;
}

const char *
__lsan_default_suppressions (void)
{
  return "leak:g_set_user_dirs\n";
}
#endif

const char *
bsp_test_driver_path (void)
{
  const char *path = g_getenv ("BSP_DRIVER");

#ifdef BSP_DRIVER_PATH
  if (path == NULL)
    path = BSP_DRIVER_PATH;
#endif
  return path;
}

const char *
bsp_test_plugin_path (void)
{
  const char *path = g_getenv ("BSP_PLUGIN");

#ifdef BSP_PLUGIN_PATH
  if (path == NULL)
    path = BSP_PLUGIN_PATH;
#endif
  return path;
}

static void
bsp_test_child_setup (gpointer user_data)
{
#ifdef __linux__
  /* if the test aborts, its helpers go too instead of holding the
   * output pipes that meson is reading */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

#ifdef BSP_TEST_ASAN
/* Our ASan defaults for a child, as ASAN_OPTIONS (a program's own
 * __asan_default_options come first, ASAN_OPTIONS overrides them flag by
 * flag); flags already in ASAN_OPTIONS win. */
static void
bsp_test_launcher_sanitize (GSubprocessLauncher *launcher)
{
  const char *options = g_getenv ("ASAN_OPTIONS");
  g_autoptr (GString) merged = g_string_new (options);
  g_auto (GStrv) ours = g_strsplit (BSP_TEST_ASAN_OPTIONS, ":", -1);

  for (char **flag = ours; *flag != NULL; flag++)
    {
      g_autofree char *name = g_strndup (*flag, strcspn (*flag, "="));

      if (options != NULL && strstr (options, name) != NULL)
        continue;
      if (merged->len > 0)
        g_string_append_c (merged, ':');
      g_string_append (merged, *flag);
    }
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", merged->str, TRUE);
}
#endif

GSubprocessLauncher *
bsp_test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, bsp_test_child_setup, NULL, NULL);
#ifdef BSP_TEST_ASAN
  bsp_test_launcher_sanitize (launcher);
#endif
  return launcher;
}

/* libpurple's D-Bus glue must not reach the desktop's session bus. */
void
bsp_test_launcher_isolate_driver (GSubprocessLauncher *launcher)
{
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_STARTER_ADDRESS");
}

/* ------------------------------------------------------------------ */
/* Waiting for a line without sleeps: an async line read on a private  */
/* main context, bounded by a timeout.                                 */

typedef struct
{
  GMainContext *context;
  char *line;
  GError *error;
  gboolean done;
  gboolean timed_out;
} BspTestLineRead;

static void
bsp_test_read_line_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspTestLineRead *state = user_data;

  state->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                           NULL, &state->error);
  state->done = TRUE;
  g_main_context_wakeup (state->context);
}

static gboolean
bsp_test_read_timeout_cb (gpointer user_data)
{
  BspTestLineRead *state = user_data;

  state->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Reads one line; NULL with @error set on EOF, error or timeout. */
char *
bsp_test_read_line (GDataInputStream *stream, guint timeout_s, GError **error)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GSource) timeout = g_timeout_source_new_seconds (timeout_s);
  BspTestLineRead state = { .context = context };

  g_main_context_push_thread_default (context);
  g_source_set_callback (timeout, bsp_test_read_timeout_cb, &state, NULL);
  g_source_attach (timeout, context);

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, cancellable,
                                       bsp_test_read_line_cb, &state);
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
/* proxy-test-server                                                   */

void
bsp_test_server_free (BspTestServer *self)
{
  if (self == NULL)
    return;
  if (self->process != NULL)
    {
      /* not stopped by the test (it failed): do not leave it behind */
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
      g_clear_object (&self->process);
    }
  g_clear_object (&self->out);
  g_free (self->c2s_host);
  g_free (self->c2s_port);
  g_free (self->http_base_url);
  g_free (self);
}

static gboolean
bsp_test_server_parse_ready (BspTestServer *self, const char *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GSocketConnectable) address = NULL;
  JsonObject *object;
  const char *c2s;
  const char *http;

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
  self->c2s_host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (address)));
  self->c2s_port = g_strdup_printf ("%u", g_network_address_get_port (G_NETWORK_ADDRESS (address)));

  http = json_object_get_string_member_with_default (object, "http_base_url", NULL);
  self->http_base_url = g_strdup (http);
  return TRUE;
}

/* Starts proxy-test-server (PTS_SERVER) on loopback ports that the
 * kernel picks, with the users alice and bob (BSP_TEST_PASSWORD), plus
 * @extra_args (NULL-terminated, may be NULL), and waits for its READY
 * line. Its log (stderr) goes to @log_path, or to ours when NULL. */
BspTestServer *
bsp_test_server_start (const char *const *extra_args, const char *log_path, GError **error)
{
  const char *server_path = g_getenv ("PTS_SERVER");
  g_autoptr (BspTestServer) self = g_new0 (BspTestServer, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  if (server_path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "PTS_SERVER is not set: no proxy-test-server to run");
      return NULL;
    }

  g_ptr_array_add (argv, (gpointer) server_path);
  g_ptr_array_add (argv, (gpointer) "--c2s-port");
  g_ptr_array_add (argv, (gpointer) "0");
  g_ptr_array_add (argv, (gpointer) "--socks5-port");
  g_ptr_array_add (argv, (gpointer) "0");
  g_ptr_array_add (argv, (gpointer) "--user");
  g_ptr_array_add (argv, (gpointer) "alice:" BSP_TEST_PASSWORD);
  g_ptr_array_add (argv, (gpointer) "--user");
  g_ptr_array_add (argv, (gpointer) "bob:" BSP_TEST_PASSWORD);
  for (const char *const *arg = extra_args; arg != NULL && *arg != NULL; arg++)
    g_ptr_array_add (argv, (gpointer) *arg);
  g_ptr_array_add (argv, NULL);

  launcher = bsp_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  if (log_path != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, error);
  if (self->process == NULL)
    return NULL;

  self->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  /* bounded: every line before READY is read within the timeout */
  for (guint lines = 0; lines < 100; lines++)
    {
      g_autofree char *line = bsp_test_read_line (self->out, BSP_TEST_READY_TIMEOUT_S, error);

      if (line == NULL)
        return NULL;
      if (g_str_has_prefix (line, "READY "))
        {
          if (!bsp_test_server_parse_ready (self, line + strlen ("READY "), error))
            return NULL;
          return g_steal_pointer (&self);
        }
      g_test_message ("proxy-test-server before READY: %s", line);
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "proxy-test-server printed no READY line");
  return NULL;
}

/* SIGTERM, then waits. FALSE with @error set only when waiting failed;
 * @clean (may be NULL) says whether the server exited with status 0
 * (under ASan: also without leaks). */
gboolean
bsp_test_server_stop (BspTestServer *self, gboolean *clean, GError **error)
{
  g_autoptr (GSubprocess) process = g_steal_pointer (&self->process);

  g_subprocess_send_signal (process, SIGTERM);
  if (!g_subprocess_wait (process, NULL, error))
    return FALSE;
  if (clean != NULL)
    *clean = g_subprocess_get_if_exited (process) && g_subprocess_get_exit_status (process) == 0;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_test_message ("proxy-test-server ended with wait status %d",
                    g_subprocess_get_status (process));
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The driver's events                                                 */

/* One stdout line of the driver: a JSON object with an "event" member. */
JsonObject *
bsp_test_event_parse (const char *line, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, line, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || json_object_get_string_member_with_default (json_node_get_object (root), "event", NULL)
             == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a driver event: %s", line);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static gboolean
bsp_test_event_matches (JsonObject *object, const char *event, va_list args)
{
  const char *name;

  if (g_strcmp0 (json_object_get_string_member_with_default (object, "event", NULL), event) != 0)
    return FALSE;
  while ((name = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);
      JsonNode *node = json_object_get_member (object, name);

      if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
          || json_node_get_value_type (node) != G_TYPE_STRING
          || g_strcmp0 (json_node_get_string (node), value) != 0)
        return FALSE;
    }
  return TRUE;
}

/* The first of @events (JsonObject *) that is @event with every string
 * member given as name/value pairs in @args (NULL-terminated), or NULL. */
JsonObject *
bsp_test_events_findv (GPtrArray *events, const char *event, va_list args)
{
  for (guint i = 0; i < events->len; i++)
    {
      JsonObject *object = g_ptr_array_index (events, i);
      gboolean match;
      va_list copy;

      va_copy (copy, args);
      match = bsp_test_event_matches (object, event, copy);
      va_end (copy);
      if (match)
        return object;
    }
  return NULL;
}

JsonObject *
bsp_test_events_find (GPtrArray *events, const char *event, ...)
{
  JsonObject *found;
  va_list args;

  va_start (args, event);
  found = bsp_test_events_findv (events, event, args);
  va_end (args);
  return found;
}

/* How many of @events match, as in bsp_test_events_findv (). */
guint
bsp_test_events_count (GPtrArray *events, const char *event, ...)
{
  guint count = 0;

  for (guint i = 0; i < events->len; i++)
    {
      va_list args;

      va_start (args, event);
      if (bsp_test_event_matches (g_ptr_array_index (events, i), event, args))
        count++;
      va_end (args);
    }
  return count;
}
