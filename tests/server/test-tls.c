/* test-tls.c — the HTTP side as HTTPS (--tls-cert, --tls-key)
 *
 * A throwaway CA and a certificate for 127.0.0.1 are made at run time (pts-test-tls.h);
 * the clients are curl, trusting exactly that CA.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "pts-fixture.h"
#include "pts-test-tls.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define FILE_SIZE (1024 * 1024)

/* Runs curl, trusting exactly the test's CA (the TLS client stays
 * out of this process: LeakSanitizer's tracer does not get along with
 * glib-networking's worker threads). */
static GSubprocess *
curl_start (const char *ca, const char *const *args, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) "curl");
  g_ptr_array_add (argv, (gpointer) "--silent");
  g_ptr_array_add (argv, (gpointer) "--show-error");
  g_ptr_array_add (argv, (gpointer) "--noproxy");
  g_ptr_array_add (argv, (gpointer) "*");
  g_ptr_array_add (argv, (gpointer) "--max-time");
  g_ptr_array_add (argv, (gpointer) "60");
  g_ptr_array_add (argv, (gpointer) "--cacert");
  g_ptr_array_add (argv, (gpointer) ca);
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  return g_subprocess_newv ((const char *const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
}

static void
test_https_transfer (void)
{
  PtsTestCertificates c;
  g_autoptr (GError) cert_error = NULL;
  PtsTestServer *server;
  g_autoptr (PtsTestClient) alice = NULL, bob = NULL;
  g_autoptr (PtsNode) reply = NULL, push = NULL;
  g_autofree char *hash = NULL, *upload_url = NULL, *download_url = NULL;
  g_autofree guint8 *file = g_malloc (FILE_SIZE);
  g_autofree char *file_path = NULL, *out_path = NULL, *received = NULL;
  g_autofree char *sidhash_field = NULL, *file_field = NULL;
  g_autofree char *up_out = NULL, *up_err = NULL, *down_err = NULL;
  g_autoptr (GSubprocess) up = NULL, down = NULL;
  g_autoptr (GError) error = NULL;
  PtsFixtureMatch match = { "iq", NULL, "set", NS_BSPROXY };
  gsize received_len = 0;
  guint64 state = 5;
  g_autofree char *curl = g_find_program_in_path ("curl");

  g_test_summary ("With --tls-cert and --tls-key the HTTP side is HTTPS: READY and the URLs "
                  "say https://, and a 1 MiB file goes up and down intact through it.");
  if (curl == NULL)
    {
      g_test_skip ("curl is not installed (tests/install-deps.sh installs it)");
      return;
    }
  if (!pts_test_certificates_make (&c, &cert_error))
    {
      g_test_skip (cert_error->message);
      return;
    }
  server = pts_fixture_server_start ("--http-port", "0", "--tls-cert", c.cert, "--tls-key", c.key,
                                     NULL);
  g_assert_true (g_str_has_prefix (server->http_base, "https://127.0.0.1:"));
  alice = pts_fixture_login (server, "alice", "sender");
  bob = pts_fixture_login (server, "bob", "receiver");
  hash = pts_fixture_sidhash ("tls-sid", alice, bob);
  match.from = server->proxy_jid;

  reply = pts_fixture_iq (bob,
                          "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='tls-sid' "
                          "jid='%s' size='1048576'/></iq>",
                          server->proxy_jid, pts_test_client_get_jid (alice));
  pts_fixture_assert_result (reply);
  g_clear_pointer (&reply, pts_node_free);
  reply = pts_fixture_iq (alice,
                          "<iq type='set' to='%s'><query xmlns='" PTS_NS_BYTESTREAMS
                          "' sid='tls-sid'><activate>%s</activate><x xmlns='" NS_BSPROXY
                          "'/></query></iq>",
                          server->proxy_jid, pts_test_client_get_jid (bob));
  pts_fixture_assert_result (reply);
  upload_url
      = g_strdup (pts_node_get_attr (pts_node_get_child (reply, "activated", NS_BSPROXY), "url"));
  push = pts_fixture_wait (bob, pts_fixture_match, &match);
  download_url
      = g_strdup (pts_node_get_attr (pts_node_get_child (push, "activated", NS_BSPROXY), "url"));
  pts_fixture_send (bob, "<iq type='result' to='%s' id='%s'/>", server->proxy_jid,
                    pts_node_get_attr (push, "id"));
  g_assert_true (g_str_has_prefix (upload_url, "https://"));
  g_assert_true (g_str_has_prefix (download_url, "https://"));

  pts_test_random_fill (&state, file, FILE_SIZE);
  file_path = g_build_filename (c.dir, "file.bin", NULL);
  out_path = g_build_filename (c.dir, "received.bin", NULL);
  sidhash_field = g_strdup_printf ("SIDHASH=%s", hash);
  file_field = g_strdup_printf ("FILE=@%s", file_path);
  g_assert_true (g_file_set_contents (file_path, (const char *) file, FILE_SIZE, &error));
  down = curl_start (
      c.ca, (const char *const[]){ "--fail", "--output", out_path, download_url, NULL }, &error);
  g_assert_no_error (error);
  /* curl sends the parts in the order given: SIDHASH first. */
  up = curl_start (c.ca,
                   (const char *const[]){ "--write-out", "%{http_code}", "--form", sidhash_field,
                                          "--form", file_field, upload_url, NULL },
                   &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (up, NULL, NULL, &up_out, &up_err, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (down, NULL, NULL, NULL, &down_err, &error);
  g_assert_no_error (error);
  g_test_message ("upload: %s %s; download: %s", up_out, up_err, down_err);
  g_assert_true (g_str_has_prefix (up_out, "delivered\n200"));
  g_assert_true (g_subprocess_get_successful (down));
  g_assert_true (g_file_get_contents (out_path, &received, &received_len, &error));
  g_assert_cmpmem (received, received_len, file, FILE_SIZE);

  /* Plain HTTP to the HTTPS port gets nothing served. */
  {
    g_autofree char *plain
        = g_strdup_printf ("http://%s/status", server->http_base + strlen ("https://"));
    g_autoptr (GSubprocess) p
        = curl_start (c.ca, (const char *const[]){ "--fail", plain, NULL }, &error);
    g_assert_no_error (error);
    g_subprocess_wait (p, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (g_subprocess_get_successful (p));
  }

  g_unlink (file_path);
  g_unlink (out_path);
  pts_fixture_server_stop (server);
  pts_test_certificates_clear (&c);
}

static void
test_bad_certificate (void)
{
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "pts-not-a-cert.pem", NULL);
  const char *args[] = { "--http-port", "0", "--tls-cert", path, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestServer) server = NULL;

  g_test_summary ("A --tls-cert that is no certificate stops the server at start, with the "
                  "reason, rather than serving plain HTTP.");
  g_assert_true (g_file_set_contents (path, "not a certificate\n", -1, &error));
  server = pts_test_server_start (NULL, args, PTS_TEST_SERVER_QUIET, &error);
  g_assert_null (server);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  pts_test_tls_sanitizer_env ();
  g_test_add_func ("/server/tls/https-transfer", test_https_transfer);
  g_test_add_func ("/server/tls/bad-certificate", test_bad_certificate);
  return g_test_run ();
}
