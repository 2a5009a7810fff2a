/* test-config.c — proxy-test-server's command line and JSON configuration
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
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
  proc = g_subprocess_newv ((const char *const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
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
  for (const char *const *o = (const char *const[]){ "--domain", "--user", "--listen",
                                                      "--c2s-port", "--socks5-port",
                                                      "--http-port", "--proxy-jid",
                                                      "--advertise-host", "--advertise-port",
                                                      "--http-base-url", "--component",
                                                      "--component-secret", "--config",
                                                      "--acl", "--max-sessions",
                                                      "--max-transfers", "--max-per-initiator",
                                                      "--max-file-size", "--activation-timeout",
                                                      "--idle-timeout", NULL };
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
} BadCase;

static const BadCase bad_cases[] = {
  { "unknown-key", "{ \"domian\": \"x\" }", NULL, "unknown setting \"domian\"" },
  { "wrong-type", "{ \"c2s-port\": \"5222\" }", NULL, "\"c2s-port\" must be an integer" },
  { "out-of-range", "{ \"socks5-port\": 70000 }", NULL, "between" },
  { "not-an-object", "[1, 2]", NULL, "must be an object" },
  { "not-json", "{ domain", NULL, "" },
  { "bad-user", NULL, "--user=nopassword", "NAME:PASSWORD" },
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
  g_autofree char *path = tc->json ? write_config (tc->json) : NULL;
  const char *args[] = { tc->json ? "--config" : tc->arg, path, NULL };
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("Bad settings end the server with status 2 and say what is wrong, "
                  "printing no READY line.");
  g_assert_cmpint (run_server (args, &out, &err), ==, 2);
  g_assert_null (strstr (out, "READY"));
  g_assert_nonnull (strstr (err, tc->needle));
  if (path != NULL)
    g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/config/help", test_help);
  g_test_add_func ("/server/config/json", test_json);
  g_test_add_func ("/server/config/command-line-wins", test_command_line_wins);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/server/config/bad/%s", bad_cases[i].name);
      g_test_add_data_func (name, &bad_cases[i], test_bad);
    }
  return g_test_run ();
}
