/* test-starttls.c — the embedded XMPP server with --tls-cert: STARTTLS before SASL
 *
 * The certificates come from a throwaway CA made at run time. The TLS
 * clients are the test library's raw XMPP client through `openssl s_client
 * -starttls xmpp` trusting exactly that CA (pts-test-tls.h); the same
 * client without it speaks for the clear-text cases.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-fixture.h"
#include "pts-test-tls.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define WAIT_MS 20000

/* The server with the test CA's certificate, and the CA's files. */
typedef struct
{
  PtsTestCertificates certs;
  PtsTestServer *server;
} TlsFixture;

/* Starts the server with the test CA's certificate, then @option and @value
 * (NULL: none); FALSE (test skipped) without openssl. */
static gboolean
tls_fixture_start (TlsFixture *f, const char *option, const char *value)
{
  g_autoptr (GError) error = NULL;

  f->server = NULL;
  if (!pts_test_certificates_make (&f->certs, &error))
    {
      g_test_skip (error->message);
      return FALSE;
    }
  f->server = pts_fixture_server_start ("--tls-cert", f->certs.cert, "--tls-key", f->certs.key,
                                        option, value, NULL);
  return TRUE;
}

static void
tls_fixture_stop (TlsFixture *f)
{
  pts_fixture_server_stop (g_steal_pointer (&f->server));
  pts_test_certificates_clear (&f->certs);
}

/* The server's @pipe shows a line with @needle (waiting for it). */
static void
assert_logged (PtsTestServer *server, PtsTestPipe pipe, const char *needle)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (
      pts_test_process_wait_line (server->process, pipe, needle, 1, WAIT_MS, NULL, &error));
  g_assert_no_error (error);
}

/* @client's connection ends and the server logs why (@needle). */
static void
assert_cut_off (TlsFixture *f, PtsTestClient *client, const char *needle)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (pts_test_client_wait_closed (client, WAIT_MS, &error));
  g_assert_no_error (error);
  assert_logged (f->server, PTS_TEST_STDERR, needle);
}

static gboolean
match_name (const PtsNode *stanza, gpointer name)
{
  return g_strcmp0 (stanza->name, name) == 0;
}

static void
test_sign_in (void)
{
  TlsFixture f;
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (GError) error = NULL;
  PtsNode *mechanisms;

  g_test_summary ("With --tls-cert a client that trusts the CA does the handshake, gets PLAIN "
                  "(and no second STARTTLS) on the fresh stream, signs in and binds over TLS.");
  if (!tls_fixture_start (&f, NULL, NULL))
    return;
  client = pts_test_client_connect_starttls (f.server->c2s_host, f.server->c2s_port,
                                             f.server->domain, f.certs.ca, &error);
  g_assert_no_error (error);
  mechanisms
      = pts_node_get_child (pts_test_client_get_features (client), "mechanisms", PTS_TEST_NS_SASL);
  g_assert_nonnull (mechanisms);
  g_assert_null (pts_node_get_child (pts_test_client_get_features (client), "starttls", NS_TLS));
  g_assert_true (pts_test_client_authenticate (client, "alice", PTS_FIXTURE_PASSWORD, &error));
  g_assert_no_error (error);
  g_assert_true (pts_test_client_bind (client, "tls", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (pts_test_client_get_jid (client), ==, "alice@localhost/tls");
  pts_fixture_assert_log_count (f.server, "alice@localhost/tls signed in", 1);
  g_clear_pointer (&client, pts_test_client_free);
  tls_fixture_stop (&f);
}

static void
test_sasl_before_tls (void)
{
  TlsFixture f;
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (PtsNode) failure = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *condition = NULL;
  PtsNode *starttls;

  g_test_summary ("With --tls-cert a client that tries SASL PLAIN in clear is refused "
                  "(encryption-required) and its stream closed: no password is checked.");
  if (!tls_fixture_start (&f, NULL, NULL))
    return;
  client
      = pts_test_client_connect (f.server->c2s_host, f.server->c2s_port, f.server->domain, &error);
  g_assert_no_error (error);
  /* The first features: STARTTLS, required, and no SASL. */
  starttls = pts_node_get_child (pts_test_client_get_features (client), "starttls", NS_TLS);
  g_assert_nonnull (starttls);
  g_assert_nonnull (pts_node_get_child (starttls, "required", NS_TLS));
  g_assert_null (
      pts_node_get_child (pts_test_client_get_features (client), "mechanisms", PTS_TEST_NS_SASL));
  g_assert_true (pts_test_client_send_raw (client,
                                           "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                                           "mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>",
                                           -1, &error));
  failure = pts_fixture_wait (client, match_name, (gpointer) "failure");
  g_assert_nonnull (
      pts_node_get_child (failure, "encryption-required", "urn:ietf:params:xml:ns:xmpp-sasl"));
  condition = pts_test_client_wait_stream_error (client, WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (condition, ==, "policy-violation");
  g_assert_true (pts_test_client_wait_closed (client, WAIT_MS, &error));
  pts_fixture_assert_log_count (f.server, "authentication failed", 0);
  pts_fixture_assert_log_count (f.server, "signed in", 0);
  tls_fixture_stop (&f);
}

/* A raw client that asked for TLS and got <proceed/>. */
static PtsTestClient *
client_proceeded (PtsTestServer *server)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsTestClient) client
      = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);
  g_autoptr (PtsNode) proceed = NULL;

  g_assert_no_error (error);
  g_assert_true (pts_test_client_send_raw (client, "<starttls xmlns='" NS_TLS "'/>", -1, &error));
  proceed = pts_fixture_wait (client, match_name, (gpointer) "proceed");
  g_assert_cmpstr (proceed->ns, ==, NS_TLS);
  return g_steal_pointer (&client);
}

static void
test_handshake_failure (void)
{
  TlsFixture f;
  g_autoptr (PtsTestClient) bad = NULL, good = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("A client that gets <proceed/> and then sends no TLS loses its own "
                  "connection, logged with the reason; the server goes on serving others "
                  "over TLS.");
  if (!tls_fixture_start (&f, NULL, NULL))
    return;
  bad = client_proceeded (f.server);
  g_assert_true (pts_test_client_send_raw (bad, "GET / HTTP/1.0\r\n\r\n", -1, &error));
  assert_cut_off (&f, bad, "TLS handshake");

  good = pts_test_client_connect_starttls (f.server->c2s_host, f.server->c2s_port, f.server->domain,
                                           f.certs.ca, &error);
  g_assert_no_error (error);
  g_assert_true (pts_test_client_authenticate (good, "bob", PTS_FIXTURE_PASSWORD, &error));
  g_clear_pointer (&good, pts_test_client_free);
  tls_fixture_stop (&f);
}

static void
test_handshake_timeout (void)
{
  TlsFixture f;
  g_autoptr (PtsTestClient) quiet = NULL;

  g_test_summary ("The login timeout covers the TLS handshake: a client that asks for TLS "
                  "and then says nothing is cut off after --login-timeout.");
  if (!tls_fixture_start (&f, "--login-timeout", "1"))
    return;
  quiet = client_proceeded (f.server);
  assert_cut_off (&f, quiet, "during the TLS handshake");
  tls_fixture_stop (&f);
}

static void
test_pipelined (void)
{
  TlsFixture f;
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("A stanza sent in clear after <starttls/>, before <proceed/> could be read, "
                  "is never acted on: the connection ends (RFC 6120 §5.4.2.3).");
  if (!tls_fixture_start (&f, NULL, NULL))
    return;
  client
      = pts_test_client_connect (f.server->c2s_host, f.server->c2s_port, f.server->domain, &error);
  g_assert_no_error (error);
  g_assert_true (pts_test_client_send_raw (client,
                                           "<starttls xmlns='" NS_TLS
                                           "'/><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                                           "mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>",
                                           -1, &error));
  assert_cut_off (&f, client, "data after <starttls/>");
  pts_fixture_assert_log_count (f.server, "signed in", 0);
  tls_fixture_stop (&f);
}

static void
test_features (void)
{
  TlsFixture f;
  PtsTestServer *server;
  g_autoptr (PtsTestClient) client = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("READY says \"starttls\":true with --tls-cert and false without; without "
                  "it a <starttls/> gets <failure/> and the stream ends, as RFC 6120 "
                  "§5.4.2.2 says for a server that does not offer TLS.");
  if (!tls_fixture_start (&f, NULL, NULL))
    return;
  assert_logged (f.server, PTS_TEST_STDOUT, "\"starttls\":true");
  tls_fixture_stop (&f);

  server = pts_fixture_server_start (NULL);
  assert_logged (server, PTS_TEST_STDOUT, "\"starttls\":false");
  client = pts_test_client_connect (server->c2s_host, server->c2s_port, server->domain, &error);
  g_assert_no_error (error);
  g_assert_true (pts_test_client_send_raw (client, "<starttls xmlns='" NS_TLS "'/>", -1, &error));
  {
    g_autoptr (PtsNode) failure = pts_fixture_wait (client, match_name, (gpointer) "failure");
    g_assert_cmpstr (failure->ns, ==, NS_TLS);
  }
  g_assert_true (pts_test_client_wait_closed (client, WAIT_MS, &error));
  pts_fixture_server_stop (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  pts_test_tls_sanitizer_env ();
  g_test_add_func ("/server/starttls/sign-in", test_sign_in);
  g_test_add_func ("/server/starttls/sasl-before-tls", test_sasl_before_tls);
  g_test_add_func ("/server/starttls/handshake-failure", test_handshake_failure);
  g_test_add_func ("/server/starttls/handshake-timeout", test_handshake_timeout);
  g_test_add_func ("/server/starttls/pipelined", test_pipelined);
  g_test_add_func ("/server/starttls/features", test_features);
  return g_test_run ();
}
