/* bsp-test-purple.c — what the headless libpurple tests share
 *
 * proxy-test-server comes from the test support library (PTS_SERVER, else
 * the one built alongside); the driver and the plugin from the paths meson
 * compiled in, which BSP_DRIVER and BSP_PLUGIN override.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "bsp-test-purple.h"

/* Where meson built them; NULL when it did not (no plugin, say). */
#ifndef BSP_DRIVER_PATH
#define BSP_DRIVER_PATH NULL
#endif
#ifndef BSP_PLUGIN_PATH
#define BSP_PLUGIN_PATH NULL
#endif

const char *
bsp_test_driver_path (void)
{
  const char *path = g_getenv ("BSP_DRIVER");

  return path != NULL ? path : BSP_DRIVER_PATH;
}

const char *
bsp_test_plugin_path (void)
{
  const char *path = g_getenv ("BSP_PLUGIN");

  return path != NULL ? path : BSP_PLUGIN_PATH;
}

/* Helpers die with the test and get the tests' sanitizer defaults. */
GSubprocessLauncher *
bsp_test_launcher_new (GSubprocessFlags flags)
{
  return pts_test_launcher_new (flags);
}

/* libpurple's D-Bus glue must not reach the desktop's session bus. */
void
bsp_test_launcher_isolate_driver (GSubprocessLauncher *launcher)
{
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_STARTER_ADDRESS");
}

/* ------------------------------------------------------------------ */
/* proxy-test-server, started by the test support library              */

void
bsp_test_server_free (BspTestServer *self)
{
  if (self == NULL)
    return;
  /* not stopped by the test (it failed): the support library kills it */
  g_clear_object (&self->process);
  g_clear_pointer (&self->server, pts_test_server_free);
  g_free (self->c2s_host);
  g_free (self->c2s_port);
  g_free (self->http_base_url);
  g_free (self);
}

/* Starts proxy-test-server (pts_test_server_path ()) on loopback ports
 * that the kernel picks, with the users alice and bob (BSP_TEST_PASSWORD),
 * plus @extra_args (NULL-terminated, may be NULL), and waits for its READY
 * line. Its log (stderr) goes to @log_path, or to ours when NULL. */
BspTestServer *
bsp_test_server_start (const char *const *extra_args, const char *log_path, GError **error)
{
  g_autoptr (BspTestServer) self = g_new0 (BspTestServer, 1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) args = NULL;

  g_strv_builder_add_many (builder, "--user", "alice:" BSP_TEST_PASSWORD, "--user",
                           "bob:" BSP_TEST_PASSWORD, NULL);
  if (extra_args != NULL)
    g_strv_builder_addv (builder, (const char **) extra_args);
  args = g_strv_builder_end (builder);

  self->server = pts_test_server_start_logged (NULL, (const char *const *) args,
                                               PTS_TEST_SERVER_DEFAULT, log_path, error);
  if (self->server == NULL)
    return NULL;
  self->process = g_object_ref (pts_test_process_get_subprocess (self->server->process));
  self->c2s_host = g_strdup (self->server->c2s_host);
  self->c2s_port = g_strdup_printf ("%u", self->server->c2s_port);
  self->http_base_url = g_strdup (self->server->http_base);
  return g_steal_pointer (&self);
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

void
bsp_test_server_clear (BspTestServer **server)
{
  if (*server == NULL)
    return;
  if ((*server)->process != NULL)
    {
      g_autoptr (GError) error = NULL;
      gboolean clean = FALSE;

      /* under ASan this also says that the server freed everything */
      bsp_test_server_stop (*server, &clean, &error);
      g_assert_no_error (error);
      g_assert_true (clean);
    }
  g_clear_pointer (server, bsp_test_server_free);
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
