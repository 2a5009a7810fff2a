/* test-purple-signin.c — real libpurple signs in to proxy-test-server
 *
 * Spawns proxy-test-server on loopback ports picked by the kernel, waits
 * for its READY line, then runs bsp-purple-driver with two accounts
 * (with and without the bsproxy plugin) and checks the JSON-lines events
 * it prints. Finding the programs, spawning the server and parsing the
 * events is bsp-test-purple.c's job.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "bsp-test-purple.h"
#include "pts-test-tls.h"

#define TEST_DRIVER_TIMEOUT_S "30"

#define TEST_ALICE "alice@localhost/driver"
#define TEST_BOB "bob@localhost/driver"

typedef struct
{
  BspTestServer *server;
  char *user_dir;
  PtsTestCertificates certs; /* with the "tls" fixture */
  char *ca_dir;              /* the CA certificate alone */
} Fixture;

/* ------------------------------------------------------------------ */
/* Fixture: one proxy-test-server per test                             */

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (bsp_test_driver_path () == NULL)
    {
      g_test_skip ("no bsp-purple-driver: set BSP_DRIVER");
      return;
    }

  /* G_TEST_OPTION_ISOLATE_DIRS: this is a fresh per-test directory */
  fixture->user_dir = g_build_filename (g_get_user_config_dir (), "purple", NULL);

  fixture->server = bsp_test_server_start (NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("proxy-test-server c2s at %s:%s", fixture->server->c2s_host,
                  fixture->server->c2s_port);
}

/* The server with --tls-cert: its embedded XMPP server requires STARTTLS. */
static void
fixture_set_up_tls (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *pem = NULL;
  char *saved;

  if (bsp_test_driver_path () == NULL)
    {
      g_test_skip ("no bsp-purple-driver: set BSP_DRIVER");
      return;
    }
  if (!pts_test_certificates_make (&fixture->certs, &error))
    {
      g_test_skip (error->message);
      return;
    }
  fixture->user_dir = g_build_filename (g_get_user_config_dir (), "purple", NULL);
  fixture->ca_dir = g_build_filename (g_get_user_config_dir (), "ca", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->ca_dir, 0700), ==, 0);
  ca = g_build_filename (fixture->ca_dir, "ca.pem", NULL);
  g_assert_true (g_file_get_contents (fixture->certs.ca, &pem, NULL, &error));
  g_assert_true (g_file_set_contents (ca, pem, -1, &error));
  saved = pts_test_tls_sanitizer_env_push ();
  fixture->server
      = bsp_test_server_start ((const char *const[]){ "--tls-cert", fixture->certs.cert,
                                                      "--tls-key", fixture->certs.key, NULL },
                               NULL, &error);
  pts_test_tls_sanitizer_env_restore (saved);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  bsp_test_server_clear (&fixture->server);
  g_clear_pointer (&fixture->user_dir, g_free);
  g_clear_pointer (&fixture->ca_dir, g_free);
  pts_test_certificates_clear (&fixture->certs);
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

  g_ptr_array_add (argv, (gpointer) bsp_test_driver_path ());
  g_ptr_array_add (argv, (gpointer) "--user-dir");
  g_ptr_array_add (argv, fixture->user_dir);
  g_ptr_array_add (argv, (gpointer) "--account");
  g_ptr_array_add (argv, (gpointer) TEST_ALICE ":" BSP_TEST_PASSWORD);
  g_ptr_array_add (argv, (gpointer) "--account");
  g_ptr_array_add (argv, (gpointer) TEST_BOB ":" BSP_TEST_PASSWORD);
  g_ptr_array_add (argv, (gpointer) "--server");
  g_ptr_array_add (argv, fixture->server->c2s_host);
  g_ptr_array_add (argv, (gpointer) "--port");
  g_ptr_array_add (argv, fixture->server->c2s_port);
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

  launcher = bsp_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                    | (debug ? G_SUBPROCESS_FLAGS_STDERR_PIPE : 0));
  bsp_test_launcher_isolate_driver (launcher);
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
      JsonObject *object;

      if (**line == '\0')
        continue;
      g_test_message ("driver: %s", *line);
      object = bsp_test_event_parse (*line, &error);
      g_assert_no_error (error);
      g_ptr_array_add (run->events, object);
    }
}

/* Whether some event is @event with every string member given as
 * name/value pairs (NULL-terminated). */
static gboolean G_GNUC_NULL_TERMINATED
test_has_event (DriverRun *run, const char *event, ...)
{
  JsonObject *found;
  va_list args;

  va_start (args, event);
  found = bsp_test_events_findv (run->events, event, args);
  va_end (args);
  return found != NULL;
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

/* The plugin's info fits the UIs' lists, and every option of its
 * preferences has a heading before it (Finch puts an explanation in the
 * group a heading opened) and an explanation with an example after it. */
static void
test_assert_plugin_info (DriverRun *run)
{
  JsonObject *loaded = NULL;
  JsonArray *frame;
  guint options = 0;

  for (guint e = 0; e < run->events->len && loaded == NULL; e++)
    {
      JsonObject *object = g_ptr_array_index (run->events, e);

      if (g_strcmp0 (json_object_get_string_member (object, "event"), "plugin-loaded") == 0)
        loaded = object;
    }
  g_assert_nonnull (loaded);
  /* Finch's plugin list shows about 25 characters of a name */
  g_assert_cmpuint (g_utf8_strlen (json_object_get_string_member (loaded, "name"), -1), <=, 25);
  g_assert_cmpstr (json_object_get_string_member (loaded, "author"), ==,
                   "pidgin-bsproxy developers");
  /* no web site: none is invented */
  g_assert_null (json_object_get_string_member_with_default (loaded, "homepage", NULL));

  frame = json_object_get_array_member (loaded, "pref-frame");
  g_assert_nonnull (frame);
  for (guint i = 0; i < json_array_get_length (frame); i++)
    {
      JsonObject *entry = json_array_get_object_element (frame, i);
      JsonObject *before, *after;
      const char *info;

      if (!g_str_equal (json_object_get_string_member (entry, "kind"), "option"))
        continue;
      options++;
      g_assert_cmpuint (i, >, 0);
      g_assert_cmpuint (i + 1, <, json_array_get_length (frame));
      before = json_array_get_object_element (frame, i - 1);
      after = json_array_get_object_element (frame, i + 1);
      g_assert_cmpstr (json_object_get_string_member (before, "kind"), ==, "heading");
      g_assert_cmpstr (json_object_get_string_member (after, "kind"), ==, "info");
      info = json_object_get_string_member (after, "label");
      g_assert_nonnull (strstr (info, "Example: "));
    }
  g_assert_cmpuint (options, ==, 5);
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
  const char *plugin = bsp_test_plugin_path ();
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
  test_assert_prefs (&run, "/plugins/core/bsproxy/send_http",
                     "/plugins/core/bsproxy/offer_http_only", "/plugins/core/bsproxy/recv_http",
                     "/plugins/core/bsproxy/proxy_jid", "/plugins/core/bsproxy/stall_seconds",
                     NULL);
  test_assert_plugin_info (&run);
  test_assert_signed_in (&run);
}

static void
test_signin_plugin_late (Fixture *fixture, gconstpointer user_data)
{
  const char *plugin = bsp_test_plugin_path ();
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

  test_run_driver (
      fixture, (const char *const[]){ "--plugin", plugin, "--plugin-late", "--debug", NULL }, &run);
  g_assert_true (test_has_event (&run, "plugin-loaded", "id", "core-bsproxy", NULL));
  test_assert_signed_in (&run);
  g_assert_nonnull (run.log);
  g_assert_nonnull (strstr (run.log, "bsproxy: loaded (version " PACKAGE_VERSION
                                     "), 2 XMPP connection(s) adopted"));
  g_assert_nonnull (strstr (run.log, "bsproxy: unloaded"));
}

static void
test_signin_starttls (Fixture *fixture, gconstpointer user_data)
{
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("With --tls-cert, two accounts with libpurple's default connection security "
                  "(encryption required, no plain password in clear) sign in over STARTTLS; "
                  "the server's CA is trusted through libpurple's own CA search path, so no "
                  "certificate prompt appears");
  if (g_test_failed () || fixture->server == NULL)
    return;

  test_run_driver (fixture,
                   (const char *const[]){ "--default-security", "--ca-dir", fixture->ca_dir, NULL },
                   &run);
  test_assert_signed_in (&run);
  g_assert_false (test_has_event (&run, "request", NULL));
}

static void
test_signin_starttls_untrusted (Fixture *fixture, gconstpointer user_data)
{
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("The same without trusting the CA: libpurple asks about the certificate "
                  "(the server does offer TLS with it); rejected, no account signs in");
  if (g_test_failed () || fixture->server == NULL)
    return;

  test_run_driver (fixture,
                   (const char *const[]){ "--default-security", "--certificate", "reject", NULL },
                   &run);
  g_assert_cmpint (run.status, !=, 0);
  g_assert_true (test_has_event (&run, "request", "title", "SSL Certificate Verification", NULL));
  g_assert_true (test_has_event (&run, "certificate-answer", "answer", "Reject", NULL));
  g_assert_false (test_has_event (&run, "signed-on", NULL));
  g_assert_true (test_has_event (&run, "connection-error", NULL));
}

/* Runs the driver with the plugin, sets the additional bs-proxy to @jid
 * once both accounts are signed in, and waits until the preference dialog
 * says @expected about it. */
static void
test_extra_proxy_run (Fixture *fixture, const char *jid, const char *expected, DriverRun *run)
{
  g_autofree char *pref = g_strconcat ("/plugins/core/bsproxy/proxy_jid=", jid, NULL);
  JsonObject *shown;
  JsonArray *frame;
  gboolean found = FALSE;

  test_run_driver (fixture,
                   (const char *const[]){ "--plugin", bsp_test_plugin_path (), "--pref-online",
                                          pref, "--frame-when", expected, "--debug", NULL },
                   run);
  test_assert_signed_in (run);
  g_assert_true (test_has_event (run, "prefs-set", NULL));
  shown = bsp_test_events_find (run->events, "pref-frame", NULL);
  g_assert_nonnull (shown);
  /* Under the field, after its explanation. */
  frame = json_object_get_array_member (shown, "frame");
  for (guint i = 0; i + 2 < json_array_get_length (frame) && !found; i++)
    {
      JsonObject *option = json_array_get_object_element (frame, i);
      JsonObject *status = json_array_get_object_element (frame, i + 2);

      found = g_strcmp0 (json_object_get_string_member_with_default (option, "name", NULL),
                         "/plugins/core/bsproxy/proxy_jid")
                  == 0
              && g_str_equal (json_object_get_string_member (status, "kind"), "info")
              && strstr (json_object_get_string_member (status, "label"), expected) != NULL;
    }
  g_assert_true (found);
}

static void
test_extra_proxy_at_once (Fixture *fixture, gconstpointer user_data)
{
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("A JID typed into the additional bs-proxy field while signed in is looked "
                  "up at once (no new sign-in), and the dialog then says what it is: here the "
                  "server itself, which is no file transfer proxy");
  if (g_test_failed () || fixture->server == NULL)
    return;
  if (bsp_test_plugin_path () == NULL)
    {
      g_test_skip ("the plugin was not built: set BSP_PLUGIN");
      return;
    }
  test_extra_proxy_run (fixture, "localhost", "localhost did not answer as a file transfer proxy",
                        &run);
  /* It was asked after the change: nothing asked it at sign-in. */
  g_assert_nonnull (strstr (run.log, "additional bs-proxy localhost: looked up on 2 signed-in"));
}

static void
test_extra_proxy_invalid (Fixture *fixture, gconstpointer user_data)
{
  g_auto (DriverRun) run = { 0 };

  g_test_summary ("A text that is no JID in the additional bs-proxy field: the dialog says so "
                  "with an example, and nothing is looked up");
  if (g_test_failed () || fixture->server == NULL)
    return;
  if (bsp_test_plugin_path () == NULL)
    {
      g_test_skip ("the plugin was not built: set BSP_PLUGIN");
      return;
    }
  test_extra_proxy_run (fixture, "proxy@@example",
                        "\"proxy@@example\" is not a valid JID: write the proxy's address, for "
                        "example proxy.example.org.",
                        &run);
  g_assert_null (strstr (run.log, "additional bs-proxy proxy@@example: looked up"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/purple/signin/plain", Fixture, NULL, fixture_set_up, test_signin,
              fixture_tear_down);
  g_test_add ("/purple/signin/plugin", Fixture, NULL, fixture_set_up, test_signin_plugin,
              fixture_tear_down);
  g_test_add ("/purple/signin/plugin-late", Fixture, NULL, fixture_set_up, test_signin_plugin_late,
              fixture_tear_down);
  g_test_add ("/purple/signin/starttls", Fixture, NULL, fixture_set_up_tls, test_signin_starttls,
              fixture_tear_down);
  g_test_add ("/purple/signin/starttls-untrusted", Fixture, NULL, fixture_set_up_tls,
              test_signin_starttls_untrusted, fixture_tear_down);
  g_test_add ("/purple/prefs/extra-proxy-at-once", Fixture, NULL, fixture_set_up,
              test_extra_proxy_at_once, fixture_tear_down);
  g_test_add ("/purple/prefs/extra-proxy-invalid", Fixture, NULL, fixture_set_up,
              test_extra_proxy_invalid, fixture_tear_down);

  return g_test_run ();
}
