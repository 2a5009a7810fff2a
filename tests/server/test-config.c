/* test-config.c — proxy-test-server's command line and JSON configuration
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "pts-test-util.h"

/* Runs the server to its end with @args; returns its exit status and what
 * it wrote on each stream. */
static int
run_server (const char *const *args, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  const char *path = pts_test_server_path (&error);

  g_assert_no_error (error);
  g_ptr_array_add (argv, (gpointer) path);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  proc
      = g_subprocess_newv ((const char *const *) argv->pdata,
                           G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  return g_subprocess_get_exit_status (proc);
}

static char *
write_config (const char *json)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("pts-config-XXXXXX.json", &path, &error);

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, json, -1, &error));
  g_assert_no_error (error);
  g_close (fd, NULL);
  return path;
}

static void
test_help (void)
{
  const char *args[] = { "--help", NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("--help exits 0 and explains every option of the issue's list.");
  g_assert_cmpint (run_server (args, &out, &err), ==, 0);
  for (const char *const *o = (const char *const[]){ "--domain",
                                                     "--user",
                                                     "--listen",
                                                     "--c2s-port",
                                                     "--socks5-port",
                                                     "--http-port",
                                                     "--proxy-jid",
                                                     "--advertise-host",
                                                     "--advertise-port",
                                                     "--http-base-url",
                                                     "--component",
                                                     "--component-secret",
                                                     "--config",
                                                     "--acl",
                                                     "--max-sessions",
                                                     "--max-transfers",
                                                     "--max-per-initiator",
                                                     "--max-file-size",
                                                     "--activation-timeout",
                                                     "--idle-timeout",
                                                     NULL };
       *o != NULL; o++)
    {
      if (strstr (out, *o) == NULL)
        g_error ("--help does not mention %s", *o);
    }
  /* The defaults that differ in component mode are spelt out. */
  g_assert_nonnull (strstr (out, "parent domain of the proxy JID"));
  g_assert_nonnull (strstr (out, "domain of the embedded server"));
}

static void
test_version (void)
{
  /* An invalid domain: --version answers before the settings are checked. */
  const char *args[] = { "--version", "--domain", "user@example.org", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *expected = NULL;

  g_test_summary ("--version prints the program's name and the project version on stdout and "
                  "exits 0 before the other settings are checked.");
  g_assert_cmpint (run_server (args, &out, &err), ==, 0);
  expected = g_strdup_printf (" %s\n", PACKAGE_VERSION);
  g_assert_true (g_str_has_suffix (out, expected));
  g_assert_cmpuint (strlen (out), >, strlen (expected));
  g_assert_cmpstr (err, ==, "");
}

static void
test_hangup (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestServer) server = NULL;

  g_test_summary ("SIGHUP is ignored (settings are read at start only): the server lives on "
                  "and a later SIGTERM still ends it with status 0.");
  server = pts_test_server_start (NULL, NULL, PTS_TEST_SERVER_QUIET, &error);
  g_assert_no_error (error);
  /* Were SIGHUP still fatal, it would be delivered before the SIGTERM. */
  g_assert_cmpint (kill (pts_test_process_get_pid (server->process), SIGHUP), ==, 0);
  g_assert_true (pts_test_server_stop (server, &error));
  g_assert_no_error (error);
}

static void
test_json (void)
{
  g_autofree char *path = write_config ("{ \"domain\": \"Example.ORG\", \"users\": [\"ann:pw\"],"
                                        "  \"c2s-port\": 0, \"socks5-port\": 0,"
                                        "  \"proxy-jid\": \"files.example.org\" }");
  const char *args[] = { "--config", path, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestServer) server = NULL;

  g_test_summary ("Settings come from a JSON file: the domain (lower-cased) and the proxy JID "
                  "reach the READY line.");
  server = pts_test_server_start (NULL, args, PTS_TEST_SERVER_QUIET, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (server->domain, ==, "example.org");
  g_assert_cmpstr (server->proxy_jid, ==, "files.example.org");
  g_assert_true (pts_test_server_stop (server, &error));
  g_assert_no_error (error);
  g_unlink (path);
}

static void
test_command_line_wins (void)
{
  g_autofree char *path = write_config ("{ \"proxy-jid\": \"from-file.localhost\" }");
  const char *args[] = { "--config", path, "--proxy-jid", "from-args.localhost", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestServer) server = NULL;

  g_test_summary ("An option on the command line overrides the same setting in --config.");
  server = pts_test_server_start (NULL, args, PTS_TEST_SERVER_QUIET, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (server->proxy_jid, ==, "from-args.localhost");
  g_assert_true (pts_test_server_stop (server, &error));
  g_assert_no_error (error);
  g_unlink (path);
}

typedef struct
{
  const char *name;
  const char *json;   /* written to a file for --config, or NULL */
  const char *arg;    /* or one bad command-line option */
  const char *needle; /* what the error message must say */
  const char *secret; /* what it must not say, or NULL */
} BadCase;

static const BadCase bad_cases[] = {
  { "unknown-key", "{ \"domian\": \"x\" }", NULL, "unknown setting \"domian\"" },
  { "wrong-type", "{ \"c2s-port\": \"5222\" }", NULL, "\"c2s-port\" must be an integer" },
  { "out-of-range", "{ \"socks5-port\": 70000 }", NULL, "between" },
  { "not-an-object", "[1, 2]", NULL, "must be an object" },
  { "not-json", "{ domain", NULL, "" },
  { "bad-user", NULL, "--user=nopassword", "NAME:PASSWORD" },
  { "bad-user-shows-no-password", NULL, "--user=:hunter2", "NAME:PASSWORD", "hunter2" },
  { "bad-user-file-line", NULL, NULL, "line 3", "hunter2" },
  { "missing-user-file", NULL, "--user-file=/nonexistent/users", "--user-file" },
  { "bad-status-allow", NULL, "--status-allow=nonsense", "--status-allow" },
  { "bad-component", NULL, "--component=nohostport", "HOST:PORT" },
  { "bad-domain", NULL, "--domain=a@b", "invalid domain" },
  { "component-no-parent",
    "{ \"component\": \"127.0.0.1:5347\", \"component-secret\": \"s\","
    "  \"proxy-jid\": \"proxy\" }",
    NULL, "no parent domain" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *tc = data;
  gboolean user_file = tc->json == NULL && tc->arg == NULL;
  g_autofree char *path = tc->json    ? write_config (tc->json)
                          : user_file ? write_config ("# accounts\nann:pw\nbob-hunter2\n")
                                      : NULL;
  const char *args[] = { tc->json ? "--config" : user_file ? "--user-file" : tc->arg, path, NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("Bad settings end the server with status 2 and say what is wrong, "
                  "printing no READY line.");
  g_assert_cmpint (run_server (args, &out, &err), ==, 2);
  g_assert_null (strstr (out, "READY"));
  g_assert_nonnull (strstr (err, tc->needle));
  if (tc->secret != NULL)
    g_assert_null (strstr (err, tc->secret));
  if (path != NULL)
    g_unlink (path);
}

static void
test_secret_files (void)
{
  g_autofree char *users = write_config ("# the embedded server's accounts\n\ndave:pw1\n");
  g_autofree char *config = NULL;
  g_autofree char *json = g_strdup_printf ("{ \"user-file\": \"%s\" }", users);
  const char *args[3] = { "--config", NULL, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestServer) server = NULL;
  g_autoptr (PtsTestClient) client = NULL;

  g_test_summary ("Accounts come from --user-file (named here in the JSON config), so that "
                  "no password shows on the command line; such an account signs in.");
  config = write_config (json);
  args[1] = config;
  server = pts_test_server_start (NULL, args, PTS_TEST_SERVER_QUIET, &error);
  g_assert_no_error (error);
  client = pts_test_client_login (server->c2s_host, server->c2s_port, server->domain, "dave", "pw1",
                                  "desk", &error);
  g_assert_no_error (error);
  g_clear_pointer (&client, pts_test_client_free);
  g_assert_true (pts_test_server_stop (server, &error));
  g_assert_no_error (error);
  g_unlink (users);
  g_unlink (config);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/config/help", test_help);
  g_test_add_func ("/server/config/version", test_version);
  g_test_add_func ("/server/config/hangup", test_hangup);
  g_test_add_func ("/server/config/json", test_json);
  g_test_add_func ("/server/config/command-line-wins", test_command_line_wins);
  g_test_add_func ("/server/config/secret-files", test_secret_files);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/server/config/bad/%s", bad_cases[i].name);
      g_test_add_data_func (name, &bad_cases[i], test_bad);
    }
  return g_test_run ();
}
