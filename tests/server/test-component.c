/* test-component.c — the proxy as an XEP-0114 component of a real Prosody
 *
 * Each test runs its own Prosody from the system package, unprivileged and
 * on loopback: a configuration, data and pid file in the test's temporary
 * directory, free ports, accounts made with prosodyctl. The proxy attaches
 * with --component and two raw clients logged in to Prosody use it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-fixture.h"

#define PROSODY_SECRET "component-secret-for-tests"
#define PROSODY_DOMAIN "localhost"
#define PROSODY_PROXY_JID "proxy.localhost"
#define PROSODY_START_TIMEOUT_MS 20000
/* Longer than any timeout the link had or a server applies. */
#define PROSODY_IDLE_S 45

typedef struct
{
  char *prosody;
  char *prosodyctl;
  char *dir;
  char *config;
  guint16 c2s_port;
  guint16 component_port;
  PtsTestProcess *process;
} Prosody;

static void
prosody_write_config (Prosody *p)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = g_build_filename (p->dir, "data", NULL);
  g_autofree char *certs = g_build_filename (p->dir, "certs", NULL);
  g_autofree char *pid = g_build_filename (p->dir, "prosody.pid", NULL);
  g_autofree char *text = NULL;

  g_assert_cmpint (g_mkdir_with_parents (data, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (certs, 0700), ==, 0);
  /* Lua strings in double quotes: the paths come from g_dir_make_tmp and
   * hold no quote or backslash. */
  text = g_strdup_printf (
      "-- written by test-component\n"
      "run_as_root = true -- harmless unprivileged; needed when tests run as root\n"
      "pidfile = \"%s\"\n"
      "data_path = \"%s\"\n"
      "certificates = \"%s\"\n"
      "plugin_paths = { }\n"
      "interfaces = { \"127.0.0.1\" }\n"
      "c2s_interfaces = { \"127.0.0.1\" }\n"
      "c2s_ports = { %u }\n"
      "component_interfaces = { \"127.0.0.1\" }\n"
      "component_ports = { %u }\n"
      "c2s_direct_tls_ports = { }\n"
      "legacy_ssl_ports = { }\n"
      "s2s_ports = { }\n"
      "http_ports = { }\n"
      "https_ports = { }\n"
      "c2s_require_encryption = false\n"
      "s2s_require_encryption = false\n"
      "allow_unencrypted_plain_auth = true\n"
      "authentication = \"internal_plain\"\n"
      "storage = \"internal\"\n"
      "log = { { levels = { min = \"info\" }, to = \"console\" } }\n"
      "modules_enabled = { \"roster\", \"saslauth\", \"disco\", \"ping\", \"posix\" }\n"
      "modules_disabled = { \"s2s\", \"offline\" }\n"
      "VirtualHost \"" PROSODY_DOMAIN "\"\n"
      "Component \"" PROSODY_PROXY_JID "\"\n"
      "  component_secret = \"" PROSODY_SECRET "\"\n",
      pid, data, certs, p->c2s_port, p->component_port);
  p->config = g_build_filename (p->dir, "prosody.cfg.lua", NULL);
  g_file_set_contents (p->config, text, -1, &error);
  g_assert_no_error (error);
}

/* NULL (and the test skipped) when Prosody is not installed. */
static Prosody *
prosody_new (void)
{
  g_autofree char *prosody = g_find_program_in_path ("prosody");
  g_autofree char *prosodyctl = g_find_program_in_path ("prosodyctl");
  g_autoptr (GError) error = NULL;
  Prosody *p;

  if (prosody == NULL || prosodyctl == NULL)
    {
      g_test_skip ("Prosody is not installed (no prosody and prosodyctl in PATH; Debian: "
                   "apt install prosody)");
      return NULL;
    }
  p = g_new0 (Prosody, 1);
  p->prosody = g_steal_pointer (&prosody);
  p->prosodyctl = g_steal_pointer (&prosodyctl);
  /* Inside the per-test directory of G_TEST_OPTION_ISOLATE_DIRS. */
  p->dir = g_build_filename (g_get_user_runtime_dir (), "prosody", NULL);
  g_assert_cmpint (g_mkdir_with_parents (p->dir, 0700), ==, 0);
  p->c2s_port = pts_test_free_port (&error);
  g_assert_no_error (error);
  p->component_port = pts_test_free_port (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (p->c2s_port, !=, p->component_port);
  prosody_write_config (p);
  return p;
}

static void
prosody_register (Prosody *p, const char *user, const char *password)
{
  const char *argv[]
      = { p->prosodyctl, "--config", p->config, "register", user, PROSODY_DOMAIN, password, NULL };
  g_autoptr (PtsTestProcess) ctl = NULL;
  g_autoptr (GError) error = NULL;

  ctl = pts_test_process_spawn (argv, "prosodyctl", &error);
  g_assert_no_error (error);
  pts_test_process_wait (ctl, PROSODY_START_TIMEOUT_MS, &error);
  g_assert_no_error (error);
}

static void
prosody_start (Prosody *p)
{
  const char *argv[] = { p->prosody, "--config", p->config, "-F", NULL };
  g_autofree char *c2s = g_strdup_printf ("Activated service 'c2s' on [127.0.0.1]:%u", p->c2s_port);
  g_autofree char *component
      = g_strdup_printf ("Activated service 'component' on [127.0.0.1]:%u", p->component_port);
  g_autoptr (GError) error = NULL;

  g_assert_null (p->process);
  p->process = pts_test_process_spawn (argv, "prosody", &error);
  g_assert_no_error (error);
  /* Prosody logs to stdout; these lines come once its listeners are bound. */
  pts_test_process_wait_line (p->process, PTS_TEST_STDOUT, c2s, 1, PROSODY_START_TIMEOUT_MS, NULL,
                              &error);
  g_assert_no_error (error);
  pts_test_process_wait_line (p->process, PTS_TEST_STDOUT, component, 1, PROSODY_START_TIMEOUT_MS,
                              NULL, &error);
  g_assert_no_error (error);
}

static void
prosody_stop (Prosody *p)
{
  g_autoptr (GError) error = NULL;

  pts_test_process_stop (p->process, PROSODY_START_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  g_clear_pointer (&p->process, pts_test_process_free);
}

static void
prosody_free (Prosody *p)
{
  if (p == NULL)
    return;
  g_clear_pointer (&p->process, pts_test_process_free);
  g_free (p->prosody);
  g_free (p->prosodyctl);
  g_free (p->dir);
  g_free (p->config);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Prosody, prosody_free)

/* With @keepalive (NULL: the default). Neither --domain nor --acl: the
 * users of Prosody's domain, the parent of the proxy's JID, are let in by
 * default. */
static PtsTestServer *
proxy_start (Prosody *p, const char *keepalive)
{
  g_autofree char *component = g_strdup_printf ("127.0.0.1:%u", p->component_port);
  const char *args[] = { "--component",
                         component,
                         "--component-secret",
                         PROSODY_SECRET,
                         "--proxy-jid",
                         PROSODY_PROXY_JID,
                         keepalive ? "--keepalive" : NULL,
                         keepalive,
                         NULL };
  g_autoptr (GError) error = NULL;
  PtsTestServer *server;

  /* READY comes after the component handshake. */
  server = pts_test_server_start (NULL, args, PTS_TEST_SERVER_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (server->component, ==, component);
  g_assert_cmpstr (server->proxy_jid, ==, PROSODY_PROXY_JID);
  return server;
}

static PtsTestClient *
prosody_login (Prosody *p, const char *user, const char *resource)
{
  g_autoptr (GError) error = NULL;
  PtsTestClient *client = pts_test_client_login ("127.0.0.1", p->c2s_port, PROSODY_DOMAIN, user,
                                                 PTS_FIXTURE_PASSWORD, resource, &error);

  g_assert_no_error (error);
  return client;
}

/* Ends the client's stream and waits until Prosody has closed it: a
 * session still being torn down when Prosody gets SIGTERM can keep it from
 * exiting. */
static void
prosody_logout (PtsTestClient **client)
{
  g_autoptr (GError) error = NULL;

  pts_test_client_send_raw (*client, "</stream:stream>", -1, &error);
  g_assert_no_error (error);
  pts_test_client_wait_closed (*client, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  g_clear_pointer (client, pts_test_client_free);
}

static void
assert_proxy_info (PtsTestClient *client)
{
  g_autoptr (PtsNode) info = pts_fixture_iq (client,
                                             "<iq type='get' to='" PROSODY_PROXY_JID "'>"
                                             "<query xmlns='%s'/></iq>",
                                             PTS_NS_DISCO_INFO);
  PtsNode *identity;

  pts_fixture_assert_result (info);
  g_assert_cmpstr (pts_node_get_attr (info, "from"), ==, PROSODY_PROXY_JID);
  identity = pts_test_node_find (info, "identity", PTS_NS_DISCO_INFO);
  g_assert_nonnull (identity);
  g_assert_cmpstr (pts_node_get_attr (identity, "category"), ==, "proxy");
  g_assert_cmpstr (pts_node_get_attr (identity, "type"), ==, "bytestreams");
}

/* The whole XEP-0065 flow, every IQ through Prosody. */
static void
assert_transfer (PtsTestServer *server, PtsTestClient *alice, PtsTestClient *bob, const char *sid,
                 guint64 size)
{
  g_autoptr (PtsNode) hosts = NULL, activated = NULL;
  g_autofree char *port = g_strdup_printf ("%u", server->socks5_port);
  PtsNode *streamhost;
  PtsFixtureStream stream;

  hosts = pts_fixture_iq (alice,
                          "<iq type='get' to='" PROSODY_PROXY_JID "'>"
                          "<query xmlns='%s'/></iq>",
                          PTS_NS_BYTESTREAMS);
  pts_fixture_assert_result (hosts);
  streamhost = pts_test_node_find (hosts, "streamhost", PTS_NS_BYTESTREAMS);
  g_assert_nonnull (streamhost);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "jid"), ==, PROSODY_PROXY_JID);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "host"), ==, server->socks5_host);
  g_assert_cmpstr (pts_node_get_attr (streamhost, "port"), ==, port);

  pts_fixture_stream_connect (&stream, server, alice, bob, sid);
  activated = pts_fixture_activate (alice, server, sid, pts_test_client_get_jid (bob));
  pts_fixture_assert_result (activated);
  g_assert_cmpstr (pts_node_get_attr (activated, "from"), ==, PROSODY_PROXY_JID);
  pts_fixture_assert_transfer (&stream, size, g_str_hash (sid));
  pts_fixture_stream_clear (&stream);
}

static void
test_component_transfer (void)
{
  g_autoptr (Prosody) p = prosody_new ();
  PtsTestServer *server;
  g_autoptr (PtsTestClient) alice = NULL, bob = NULL;
  g_autoptr (PtsNode) items = NULL;
  PtsNode *query;
  gboolean listed = FALSE;

  g_test_summary ("Attached to Prosody as a component, the proxy is listed in the "
                  "domain's disco#items, answers disco#info and the streamhost query, and "
                  "relays a SOCKS5 transfer activated through Prosody.");
  if (p == NULL)
    return;

  prosody_register (p, "alice", PTS_FIXTURE_PASSWORD);
  prosody_register (p, "bob", PTS_FIXTURE_PASSWORD);
  prosody_start (p);
  server = proxy_start (p, NULL);
  pts_fixture_assert_log_count (server, "attached to", 1);

  alice = prosody_login (p, "alice", "sender");
  bob = prosody_login (p, "bob", "receiver");

  /* Prosody lists components under their parent domain. */
  items = pts_fixture_iq (alice,
                          "<iq type='get' to='" PROSODY_DOMAIN "'>"
                          "<query xmlns='%s'/></iq>",
                          PTS_NS_DISCO_ITEMS);
  pts_fixture_assert_result (items);
  query = pts_node_get_child (items, "query", PTS_NS_DISCO_ITEMS);
  g_assert_nonnull (query);
  for (guint i = 0; i < query->children->len; i++)
    if (g_strcmp0 (pts_node_get_attr (query->children->pdata[i], "jid"), PROSODY_PROXY_JID) == 0)
      listed = TRUE;
  g_assert_true (listed);

  assert_proxy_info (alice);
  assert_transfer (server, alice, bob, "via-prosody", 16 * 1024 * 1024);

  prosody_logout (&alice);
  prosody_logout (&bob);
  pts_fixture_server_stop (server);
  prosody_stop (p);
}

static void
test_component_reconnect (void)
{
  g_autoptr (Prosody) p = prosody_new ();
  PtsTestServer *server;
  g_autoptr (PtsTestClient) alice = NULL, bob = NULL;
  g_autoptr (GError) error = NULL;

  g_test_summary ("When Prosody restarts, the proxy notices the closed component stream, "
                  "reconnects with its back-off and serves again.");
  if (p == NULL)
    return;

  prosody_register (p, "alice", PTS_FIXTURE_PASSWORD);
  prosody_register (p, "bob", PTS_FIXTURE_PASSWORD);
  prosody_start (p);
  server = proxy_start (p, NULL);

  prosody_stop (p);
  pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "component connection closed", 1,
                              PTS_TEST_TIMEOUT_MS, NULL, &error);
  g_assert_no_error (error);

  prosody_start (p);
  /* The first retry comes a second after the close, the next ones 2 s and
   * 4 s later: 20 s covers a slow Prosody start. */
  pts_test_process_wait_line (server->process, PTS_TEST_STDERR, "attached to", 2, 20000, NULL,
                              &error);
  g_assert_no_error (error);

  alice = prosody_login (p, "alice", "sender");
  bob = prosody_login (p, "bob", "receiver");
  assert_proxy_info (alice);
  assert_transfer (server, alice, bob, "after-restart", 1024 * 1024);

  prosody_logout (&alice);
  prosody_logout (&bob);
  pts_fixture_server_stop (server);
  prosody_stop (p);
}

/* Fails unless @needle stays out of the proxy's log for @ms: a bounded
 * wait for what must not come. */
static void
assert_no_log_line (PtsTestServer *server, const char *needle, guint ms)
{
  g_autoptr (GError) error = NULL;

  pts_test_process_wait_line (server->process, PTS_TEST_STDERR, needle, 1, ms, NULL, &error);
  g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
}

/* PROSODY_IDLE_S, or longer from $PTS_TEST_IDLE_S: an hour with 3600 (with
 * meson test's --timeout-multiplier 25 then: its timeout is made for the
 * default). */
static guint
idle_seconds (void)
{
  const char *env = g_getenv ("PTS_TEST_IDLE_S");
  guint64 seconds = env != NULL ? g_ascii_strtoull (env, NULL, 10) : 0;

  return (guint) CLAMP (seconds, PROSODY_IDLE_S, 86400);
}

static void
test_component_idle (void)
{
  g_autoptr (Prosody) p = prosody_new ();
  PtsTestServer *server;
  g_autoptr (PtsTestClient) alice = NULL;
  guint idle = idle_seconds ();
  gint64 start;

  g_test_summary ("Prosody sends nothing to an idle component: the link holds through 45 s "
                  "of silence (longer than any timeout; the default keepalive sends no "
                  "ping in that time) and the proxy answers at once afterwards, on the "
                  "same connection. PTS_TEST_IDLE_S makes the silence longer (pings then "
                  "keep it).");
  if (p == NULL)
    return;

  prosody_register (p, "alice", PTS_FIXTURE_PASSWORD);
  prosody_start (p);
  server = proxy_start (p, NULL);
  assert_no_log_line (server, "component connection closed", idle * 1000);

  alice = prosody_login (p, "alice", "after-silence");
  start = g_get_monotonic_time ();
  assert_proxy_info (alice);
  g_test_message ("answered in %.3f s after %u s of silence",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC, idle);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  pts_fixture_assert_log_count (server, "attached to", 1);
  pts_fixture_assert_log_count (server, "component connection closed", 0);
  pts_fixture_assert_log_count (server, "component link dead", 0);

  prosody_logout (&alice);
  pts_fixture_server_stop (server);
  prosody_stop (p);
}

static void
test_component_ping (void)
{
  g_autoptr (Prosody) p = prosody_new ();
  PtsTestServer *server;
  g_autoptr (PtsTestClient) alice = NULL;

  g_test_summary ("With a 1 s keepalive the proxy pings Prosody's domain every second of "
                  "silence; Prosody answers, so the link is never taken for dead.");
  if (p == NULL)
    return;

  prosody_register (p, "alice", PTS_FIXTURE_PASSWORD);
  prosody_start (p);
  server = proxy_start (p, "1");
  /* An unanswered ping would drop the link after 2 s. */
  assert_no_log_line (server, "component link dead", 6000);
  pts_fixture_assert_log_count (server, "attached to", 1);
  alice = prosody_login (p, "alice", "pinged");
  assert_proxy_info (alice);

  prosody_logout (&alice);
  pts_fixture_server_stop (server);
  prosody_stop (p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/server/component/prosody/transfer", test_component_transfer);
  g_test_add_func ("/server/component/prosody/reconnect", test_component_reconnect);
  g_test_add_func ("/server/component/prosody/idle", test_component_idle);
  g_test_add_func ("/server/component/prosody/ping", test_component_ping);

  return g_test_run ();
}
