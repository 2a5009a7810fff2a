/* test-tls.c — the HTTP side as HTTPS (--tls-cert, --tls-key)
 *
 * A throwaway certificate for 127.0.0.1 is made at run time with openssl;
 * the clients are libsoup sessions that trust exactly it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "pts-fixture.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define FILE_SIZE (1024 * 1024)

typedef struct
{
  char *dir;
  char *cert;
  char *key;
} Certificate;

/* A self-signed certificate for 127.0.0.1, valid for a day. */
static gboolean
certificate_make (Certificate *c)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autoptr (GSubprocess) proc = NULL;

  if (openssl == NULL)
    return FALSE;
  c->dir = g_dir_make_tmp ("pts-tls-XXXXXX", &error);
  g_assert_no_error (error);
  c->cert = g_build_filename (c->dir, "cert.pem", NULL);
  c->key = g_build_filename (c->dir, "key.pem", NULL);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                           &error, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                           "subjectAltName=IP:127.0.0.1", "-keyout", c->key, "-out", c->cert,
                           NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (proc))
    g_error ("openssl failed: %s", err);
  return TRUE;
}

static void
certificate_clear (Certificate *c)
{
  if (c->dir == NULL)
    return;
  g_unlink (c->cert);
  g_unlink (c->key);
  g_rmdir (c->dir);
  g_free (c->cert);
  g_free (c->key);
  g_free (c->dir);
}

static SoupSession *
session_trusting (const char *cert)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsDatabase) db = g_tls_file_database_new (cert, &error);

  g_assert_no_error (error);
  return soup_session_new_with_options ("tls-database", db, "timeout", 30, NULL);
}

typedef struct
{
  const char *url;
  const char *cert;
  GBytes *body;    /* what to POST, or NULL to GET */
  guint status;
  GBytes *got;
  GError *error;
} Request;

static gpointer
request_thread (gpointer data)
{
  Request *r = data;
  g_autoptr (SoupSession) session = session_trusting (r->cert);
  g_autoptr (SoupMessage) msg = soup_message_new (r->body ? "POST" : "GET", r->url);

  if (r->body != NULL)
    soup_message_set_request_body_from_bytes (msg, "multipart/form-data; boundary=xyzzy",
                                              r->body);
  r->got = soup_session_send_and_read (session, msg, NULL, &r->error);
  r->status = soup_message_get_status (msg);
  return NULL;
}

static void
test_https_transfer (void)
{
  Certificate c = { 0 };
  PtsTestServer *server;
  g_autoptr (PtsTestClient) alice = NULL, bob = NULL;
  g_autoptr (PtsNode) reply = NULL, push = NULL;
  g_autofree char *hash = NULL, *upload_url = NULL, *download_url = NULL;
  g_autofree guint8 *file = g_malloc (FILE_SIZE);
  g_autoptr (GByteArray) body = g_byte_array_new ();
  g_autofree char *head = NULL;
  PtsFixtureMatch match = { "iq", NULL, "set", NS_BSPROXY };
  Request up = { 0 }, down = { 0 };
  GThread *up_thread, *down_thread;
  guint64 state = 5;

  g_test_summary ("With --tls-cert and --tls-key the HTTP side is HTTPS: READY and the URLs "
                  "say https://, and a 1 MiB file goes up and down intact through it.");
  if (!certificate_make (&c))
    {
      g_test_skip ("openssl is not installed");
      return;
    }
  server = pts_fixture_server_start ("--http-port", "0", "--tls-cert", c.cert, "--tls-key",
                                     c.key, NULL);
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
  upload_url = g_strdup (
      pts_node_get_attr (pts_node_get_child (reply, "activated", NS_BSPROXY), "url"));
  push = pts_fixture_wait (bob, pts_fixture_match, &match);
  download_url = g_strdup (
      pts_node_get_attr (pts_node_get_child (push, "activated", NS_BSPROXY), "url"));
  pts_fixture_send (bob, "<iq type='result' to='%s' id='%s'/>", server->proxy_jid,
                    pts_node_get_attr (push, "id"));
  g_assert_true (g_str_has_prefix (upload_url, "https://"));
  g_assert_true (g_str_has_prefix (download_url, "https://"));

  pts_test_random_fill (&state, file, FILE_SIZE);
  head = g_strdup_printf ("--xyzzy\r\nContent-Disposition: form-data; name=\"SIDHASH\"\r\n\r\n"
                          "%s\r\n--xyzzy\r\nContent-Disposition: form-data; name=\"FILE\"; "
                          "filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                          hash);
  g_byte_array_append (body, (const guint8 *) head, strlen (head));
  g_byte_array_append (body, file, FILE_SIZE);
  g_byte_array_append (body, (const guint8 *) "\r\n--xyzzy--\r\n", 13);

  down.url = download_url;
  down.cert = c.cert;
  up.url = upload_url;
  up.cert = c.cert;
  up.body = g_byte_array_free_to_bytes (g_steal_pointer (&body));
  down_thread = g_thread_new ("down", request_thread, &down);
  up_thread = g_thread_new ("up", request_thread, &up);
  g_thread_join (up_thread);
  g_thread_join (down_thread);
  g_assert_no_error (up.error);
  g_assert_no_error (down.error);
  g_assert_cmpuint (up.status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (down.status, ==, SOUP_STATUS_OK);
  g_assert_cmpmem (g_bytes_get_data (down.got, NULL), g_bytes_get_size (down.got), file,
                   FILE_SIZE);

  /* Plain HTTP to the HTTPS port gets nothing served. */
  {
    g_autofree char *plain = g_strdup_printf ("http://%s/status",
                                              server->http_base + strlen ("https://"));
    g_autoptr (SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
    g_autoptr (SoupMessage) msg = soup_message_new ("GET", plain);
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) got = soup_session_send_and_read (session, msg, NULL, &error);

    g_assert_true (error != NULL || soup_message_get_status (msg) != SOUP_STATUS_OK);
  }

  g_bytes_unref (up.body);
  g_bytes_unref (up.got);
  g_bytes_unref (down.got);
  pts_fixture_server_stop (server);
  certificate_clear (&c);
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
  g_test_add_func ("/server/tls/https-transfer", test_https_transfer);
  g_test_add_func ("/server/tls/bad-certificate", test_bad_certificate);
  return g_test_run ();
}
