/* test-certificate.c — an https bs-proxy whose certificate the system does not trust
 *
 * proxy-test-server runs with a certificate from a CA made at run time,
 * made out for "localhost" only. The drivers sign in to "localhost" with
 * libpurple's default connection security and that CA trusted by libpurple
 * (--ca-dir), so XMPP itself is fine; the HTTP side's URLs say 127.0.0.1,
 * which the system's store (libsoup's check) does not trust and which the
 * certificate does not name. The plugin then asks libpurple's tls_cached
 * verifier, whose prompt ("Accept certificate for 127.0.0.1?") the driver
 * answers as the case says (--certificate). The plugin's sender asks
 * before the stream is committed to HTTP: rejected, the file still goes
 * libpurple's own way, by SOCKS5 through the same proxy (here it can; where
 * it can't, test-office-proxy.sh shows both sides cancelled with the
 * certificate's reason).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bsp-test-purple.h"
#include "pts-test-sanitizer.h"
#include "pts-test-tls.h"

#define CERT_ALICE "alice@localhost/cert"
#define CERT_BOB "bob@localhost/cert"
/* Every time below is a number of seconds in the plain build, times
 * PTS_TEST_SLOWDOWN under the sanitizers: the plugin's side reaches the
 * prompt only after a TLS handshake of its own (libsoup loading the
 * system's CAs), which takes seconds there, and the proxy's short idle
 * timeout must not end the session first. What each case asserts stays:
 * the order of the timers is the same in both builds. */
#define CERT_DRIVER_TIMEOUT_S 60
/* Short: a rejected transfer must end the other side too. */
#define CERT_IDLE_SHORT_S 5
#define CERT_IDLE_LONG_S 300
/* The late answer, and the plugin's stall limit below it. */
#define CERT_DELAY_S 8
#define CERT_STALL_S 5
/* The plugin's limit for its check of the proxy's HTTP side at sign-in
 * (its default): the check is its first TLS handshake, libsoup loading
 * the system's CAs, which the sanitizers' whole-stack unwinding at every
 * allocation slows the most. */
#define CERT_PROBE_S 10
/* More than the proxy and the kernel buffer: a plain sender cannot call it
 * complete before the receiver took it. */
#define CERT_FILE_SIZE (16 * 1024 * 1024 + 3)
#define CERT_PROMPT "Accept certificate for 127.0.0.1?"
#define CERT_REASON "the certificate of 127.0.0.1 is not trusted: "

typedef struct
{
  gboolean plugin_sends; /* else the plugin receives, from a plain sender */
  /* The proxy's idle timeout: short where a rejected transfer must end the
   * other side too (it learns it from the proxy), else long. */
  guint idle_timeout;
  /* The plugin's side answers the prompt CERT_DELAY_S late, with the
   * plugin's stall limit CERT_STALL_S (else at once, the default limit). */
  gboolean late;
} CertCase;

typedef struct
{
  PtsTestCertificates certs;
  BspTestServer *server;
  char *dir;
  char *ca_dir;
  char *file;
  char *accept_dir;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pem = NULL, *ca = NULL;
  g_autofree guint8 *data = g_malloc (CERT_FILE_SIZE);
  const CertCase *c = user_data;
  g_autofree char *idle = g_strdup_printf ("%u", c->idle_timeout * PTS_TEST_SLOWDOWN);
  guint64 state = 7;
  char *saved;

  if (bsp_test_driver_path () == NULL || bsp_test_plugin_path () == NULL)
    {
      g_test_skip ("no bsp-purple-driver or plugin: set BSP_DRIVER and BSP_PLUGIN");
      return;
    }
  if (!pts_test_certificates_make_for (&fixture->certs, "DNS:localhost", &error))
    {
      g_test_skip (error->message);
      return;
    }
  fixture->dir = g_build_filename (g_get_user_config_dir (), "cert", NULL);
  fixture->ca_dir = g_build_filename (fixture->dir, "ca", NULL);
  fixture->accept_dir = g_build_filename (fixture->dir, "received", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->ca_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (fixture->accept_dir, 0700), ==, 0);
  ca = g_build_filename (fixture->ca_dir, "ca.pem", NULL);
  g_assert_true (g_file_get_contents (fixture->certs.ca, &pem, NULL, &error));
  g_assert_true (g_file_set_contents (ca, pem, -1, &error));
  fixture->file = g_build_filename (fixture->dir, "cert.bin", NULL);
  pts_test_random_fill (&state, data, CERT_FILE_SIZE);
  g_assert_true (g_file_set_contents (fixture->file, (const char *) data, CERT_FILE_SIZE, &error));
  /* The server's TLS with the sanitizer's TLS settings, the drivers
   * (the plugin) with leak checks. */
  saved = pts_test_tls_sanitizer_env_push ();
  fixture->server = bsp_test_server_start (
      (const char *const[]){ "--http-port", "0", "--tls-cert", fixture->certs.cert, "--tls-key",
                             fixture->certs.key, "--idle-timeout", idle, NULL },
      NULL, &error);
  pts_test_tls_sanitizer_env_restore (saved);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (fixture->server->http_base_url, "https://127.0.0.1:"));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  bsp_test_server_clear (&fixture->server);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->ca_dir, g_free);
  g_clear_pointer (&fixture->file, g_free);
  g_clear_pointer (&fixture->accept_dir, g_free);
  pts_test_certificates_clear (&fixture->certs);
}

typedef struct
{
  GSubprocess *process;
  int status;
  GPtrArray *events; /* JsonObject * */
  char *log_path;    /* its stderr: libpurple's debug log */
  gint64 started_at; /* monotonic µs */
} Driver;

static void
driver_clear (Driver *d)
{
  g_clear_object (&d->process);
  g_clear_pointer (&d->events, g_ptr_array_unref);
  g_clear_pointer (&d->log_path, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Driver, driver_clear)

/* Starts a driver for @account in its own user dir @role under the
 * fixture's directory (kept between runs: libpurple's memory of accepted
 * certificates lives there), with @extra and @more (NULL-terminated, may
 * be NULL). */
static void
driver_start (Driver *d, Fixture *fixture, const char *role, const char *account, gboolean plugin,
              const char *const *extra, const char *const *more)
{
  g_autofree char *user_dir = g_build_filename (fixture->dir, role, NULL);
  g_autofree char *log = g_strconcat (user_dir, ".log", NULL);
  g_autofree char *account_arg = g_strconcat (account, ":", BSP_TEST_PASSWORD, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *timeout = g_strdup_printf ("%u", CERT_DRIVER_TIMEOUT_S * PTS_TEST_SLOWDOWN);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;

  g_ptr_array_add (argv, (gpointer) bsp_test_driver_path ());
  for (const char *const *a
       = (const char *const[]){ "--user-dir", user_dir, "--account", account_arg, "--server",
                                "localhost", "--port", fixture->server->c2s_port, "--timeout",
                                timeout, "--default-security", "--ca-dir", fixture->ca_dir,
                                "--debug", NULL };
       *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  if (plugin)
    {
      g_ptr_array_add (argv, (gpointer) "--plugin");
      g_ptr_array_add (argv, (gpointer) bsp_test_plugin_path ());
    }
  for (const char *const *a = extra; a != NULL && *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  for (const char *const *a = more; a != NULL && *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);

  launcher = bsp_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  bsp_test_launcher_isolate_driver (launcher);
  /* GLib opens the log without truncating it: a second round's would
   * start with the first's. */
  g_unlink (log);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  g_test_message ("%s: debug log in %s", role, log);
  d->started_at = g_get_monotonic_time ();
  d->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  d->log_path = g_steal_pointer (&log);
}

/* Waits until @d's plugin has checked the proxy's HTTP side (its debug
 * log says how that went; no event tells it): only then may the other
 * side offer the file, as a user signs in before a file comes. The check
 * is the plugin's first TLS handshake, seconds long under the sanitizers;
 * an offer before its end would go libpurple's own way, not over HTTP. */
static void
driver_wait_checked (Driver *d, const char *role)
{
  gint64 deadline = d->started_at + CERT_DRIVER_TIMEOUT_S * PTS_TEST_SLOWDOWN * G_USEC_PER_SEC;

  while (TRUE)
    {
      g_autofree char *log = NULL;

      if (g_file_get_contents (d->log_path, &log, NULL, NULL)
          && (strstr (log, "its HTTP side answers from here") != NULL
              || strstr (log, "its HTTP side is not reachable from here") != NULL))
        break;
      /* Still running (an exited driver has no identifier), in time. */
      g_assert_nonnull (g_subprocess_get_identifier (d->process));
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  g_test_message ("%s: its plugin checked the proxy's HTTP side %.1f s after the start", role,
                  (g_get_monotonic_time () - d->started_at) / (double) G_USEC_PER_SEC);
}

/* Waits for the driver's end (its own --timeout bounds it) and reads its
 * events. Its output is a few lines: the pipe never fills meanwhile. */
static void
driver_finish (Driver *d, const char *role)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;

  g_subprocess_communicate_utf8 (d->process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  d->status = g_subprocess_get_exit_status (d->process);
  d->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  lines = g_strsplit (out, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      if (**line == '\0')
        continue;
      g_test_message ("%s: %s", role, *line);
      g_ptr_array_add (d->events, bsp_test_event_parse (*line, &error));
      g_assert_no_error (error);
    }
}

/* alice sends the fixture's file to bob, through the proxy (bob ignores
 * alice's own streamhosts); @alice_plugin, @bob_plugin: who has the
 * plugin; @answer: how the plugin side answers the prompt. */
static void
run_transfer (Fixture *fixture, gboolean alice_plugin, gboolean bob_plugin, const char *answer,
              gboolean late, Driver *alice, Driver *bob)
{
  g_autofree char *probe = g_strdup_printf ("/plugins/core/bsproxy/probe_seconds=%u",
                                            CERT_PROBE_S * PTS_TEST_SLOWDOWN);
  g_autofree char *delay = g_strdup_printf ("%u", CERT_DELAY_S * PTS_TEST_SLOWDOWN);
  g_autofree char *stall = g_strdup_printf ("/plugins/core/bsproxy/stall_seconds=%u",
                                            CERT_STALL_S * PTS_TEST_SLOWDOWN);
  /* The plugin's side: its check's limit and, when @late, the late
   * answer and the stall limit (the list ends at its first NULL). */
  const char *plugin_args[]
      = { "--pref", probe, late ? "--certificate-delay" : NULL, delay, "--pref", stall, NULL };
  const char *const *bob_more = bob_plugin ? plugin_args : NULL;
  const char *const *alice_more = alice_plugin ? plugin_args : NULL;

  const char *const bob_args[]
      = { "--accept-dir", fixture->accept_dir, "--no-direct", "--certificate", answer, NULL };
  const char *const alice_args[]
      = { "--send-file", fixture->file, "--to", CERT_BOB, "--certificate", answer, NULL };

  /* The plugin's side first, the other once the plugin is ready. */
  if (bob_plugin)
    {
      driver_start (bob, fixture, "bob", CERT_BOB, TRUE, bob_args, bob_more);
      driver_wait_checked (bob, "bob");
    }
  driver_start (alice, fixture, "alice", CERT_ALICE, alice_plugin, alice_args, alice_more);
  if (alice_plugin)
    driver_wait_checked (alice, "alice");
  if (!bob_plugin)
    driver_start (bob, fixture, "bob", CERT_BOB, FALSE, bob_args, bob_more);
  driver_finish (alice, "alice");
  driver_finish (bob, "bob");
}

static gboolean
has_line_containing (Driver *d, const char *needle)
{
  for (guint i = 0; i < d->events->len; i++)
    {
      JsonObject *e = g_ptr_array_index (d->events, i);
      const char *kind = json_object_get_string_member (e, "event");
      const char *text = NULL;

      if (g_strcmp0 (kind, "conversation") == 0)
        text = json_object_get_string_member_with_default (e, "message", NULL);
      else if (g_strcmp0 (kind, "notify") == 0)
        text = json_object_get_string_member_with_default (e, "secondary", NULL);
      if (text != NULL && strstr (text, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
assert_received (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->accept_dir, "cert.bin", NULL);
  g_autofree char *sent = NULL, *got = NULL;
  gsize sent_len = 0, got_len = 0;

  g_assert_true (g_file_get_contents (fixture->file, &sent, &sent_len, NULL));
  g_assert_true (g_file_get_contents (path, &got, &got_len, NULL));
  g_assert_cmpmem (got, got_len, sent, sent_len);
  g_unlink (path);
}

static void
test_reject (Fixture *fixture, gconstpointer user_data)
{
  gboolean plugin_sends = ((const CertCase *) user_data)->plugin_sends;
  g_auto (Driver) alice = { 0 }, bob = { 0 };
  Driver *plugin_side, *other;

  g_test_summary ("The user rejects the certificate in libpurple's prompt: the plugin side's "
                  "transfer is cancelled with a reason that names the host and why, the other "
                  "side's is cancelled too, and no file arrives");
  if (fixture->server == NULL)
    return;
  run_transfer (fixture, plugin_sends, !plugin_sends, "reject", FALSE, &alice, &bob);
  plugin_side = plugin_sends ? &alice : &bob;
  other = plugin_sends ? &bob : &alice;
  /* The plugin's side reached its goal (a transfer ended) and exited
   * cleanly: under the sanitizers, with nothing leaked on this path. */
  g_assert_cmpint (plugin_side->status, ==, 0);

  g_assert_nonnull (
      bsp_test_events_find (plugin_side->events, "request", "primary", CERT_PROMPT, NULL));
  g_assert_nonnull (
      bsp_test_events_find (plugin_side->events, "certificate-answer", "answer", "Reject", NULL));
  g_assert_nonnull (
      bsp_test_events_find (plugin_side->events, "xfer-cancelled", "status", "cancel-local", NULL));
  g_assert_true (has_line_containing (plugin_side, CERT_REASON));
  g_assert_true (has_line_containing (plugin_side, "it is made out for another host"));
  g_assert_nonnull (bsp_test_events_find (other->events, "xfer-cancelled", NULL));
  g_assert_null (bsp_test_events_find (other->events, "xfer-completed", NULL));
  g_assert_null (bsp_test_events_find (plugin_side->events, "xfer-completed", NULL));
}

static void
test_reject_fallback (Fixture *fixture, gconstpointer user_data)
{
  g_auto (Driver) alice = { 0 }, bob = { 0 };

  g_test_summary ("The plugin's sender rejects the certificate before anything was committed "
                  "to HTTP, and the proxy's SOCKS5 side is reachable: the transfer goes "
                  "libpurple's own way through it, the file arrives intact, and the path line "
                  "says that the certificate was not trusted and why");
  if (fixture->server == NULL)
    return;
  run_transfer (fixture, TRUE, FALSE, "reject", FALSE, &alice, &bob);
  g_assert_cmpint (alice.status, ==, 0);
  g_assert_cmpint (bob.status, ==, 0);
  g_assert_nonnull (bsp_test_events_find (alice.events, "request", "primary", CERT_PROMPT, NULL));
  g_assert_nonnull (
      bsp_test_events_find (alice.events, "certificate-answer", "answer", "Reject", NULL));
  g_assert_nonnull (bsp_test_events_find (alice.events, "xfer-completed", NULL));
  g_assert_nonnull (bsp_test_events_find (bob.events, "xfer-completed", NULL));
  g_assert_null (bsp_test_events_find (alice.events, "xfer-cancelled", NULL));
  g_assert_true (
      has_line_containing (&alice, "goes the usual XMPP way, not over HTTP: " CERT_REASON));
  g_assert_true (has_line_containing (&alice, "it is made out for another host"));
  assert_received (fixture);
  /* Through the proxy, SOCKS5 on both ends: nothing went over HTTP. */
  g_assert_cmpuint (pts_test_process_count_lines (fixture->server->server->process, PTS_TEST_STDERR,
                                                  CERT_ALICE " (SOCKS5) → " CERT_BOB " (SOCKS5)"),
                    ==, 1);
  g_assert_cmpuint (pts_test_process_count_lines (fixture->server->server->process, PTS_TEST_STDERR,
                                                  CERT_ALICE " (HTTP)"),
                    ==, 0);
}

static void
test_accept (Fixture *fixture, gconstpointer user_data)
{
  const CertCase *c = user_data;
  gboolean plugin_sends = c->plugin_sends;

  g_test_summary ("The user accepts the certificate: the transfer goes on over HTTPS and the "
                  "file arrives intact; a second transfer (next sign-in, same libpurple "
                  "profile) is not prompted again. Slow: the answer comes after the plugin's "
                  "stall limit, which does not count while the user reads the prompt");
  if (fixture->server == NULL)
    return;
  for (int round = 0; round < 2; round++)
    {
      g_auto (Driver) alice = { 0 }, bob = { 0 };
      Driver *plugin_side;

      run_transfer (fixture, plugin_sends, !plugin_sends, "accept", c->late, &alice, &bob);
      plugin_side = plugin_sends ? &alice : &bob;
      g_assert_cmpint (alice.status, ==, 0);
      g_assert_cmpint (bob.status, ==, 0);
      g_assert_nonnull (bsp_test_events_find (alice.events, "xfer-completed", NULL));
      g_assert_nonnull (bsp_test_events_find (bob.events, "xfer-completed", NULL));
      g_assert_cmpuint (
          bsp_test_events_count (plugin_side->events, "request", "primary", CERT_PROMPT, NULL), ==,
          round == 0 ? 1 : 0);
      assert_received (fixture);
    }
  /* Both times through the proxy, the plugin's side over HTTPS. */
  g_assert_cmpuint (
      pts_test_process_count_lines (fixture->server->server->process, PTS_TEST_STDERR,
                                    plugin_sends ? CERT_ALICE " (HTTP)" : CERT_BOB " (HTTP)"),
      ==, 2);
}

static void
test_unload (Fixture *fixture, gconstpointer user_data)
{
  g_auto (Driver) alice = { 0 }, bob = { 0 };

  g_test_summary ("The plugin is unloaded while libpurple's certificate prompt is open: the "
                  "transfer ends with the unload as its reason, the prompt is closed, and the "
                  "client goes on without a crash (nothing of the plugin runs any more)");
  if (fixture->server == NULL)
    return;
  run_transfer (fixture, TRUE, FALSE, "unload", FALSE, &alice, &bob);
  g_assert_nonnull (bsp_test_events_find (alice.events, "request", "primary", CERT_PROMPT, NULL));
  g_assert_nonnull (bsp_test_events_find (alice.events, "plugin-unloading", NULL));
  g_assert_nonnull (bsp_test_events_find (alice.events, "request-closed", NULL));
  g_assert_nonnull (bsp_test_events_find (alice.events, "xfer-cancelled", NULL));
  g_assert_true (has_line_containing (&alice, "plugin was unloaded"));
  g_assert_cmpint (alice.status, ==, 0);
  g_assert_null (bsp_test_events_find (bob.events, "xfer-completed", NULL));
}

static const CertCase upload_reject = { TRUE, CERT_IDLE_SHORT_S, FALSE };
static const CertCase upload_accept = { TRUE, CERT_IDLE_LONG_S, FALSE };
static const CertCase upload_accept_slow = { TRUE, CERT_IDLE_LONG_S, TRUE };
static const CertCase download_reject = { FALSE, CERT_IDLE_SHORT_S, FALSE };
static const CertCase download_accept = { FALSE, CERT_IDLE_LONG_S, FALSE };
static const CertCase download_accept_slow = { FALSE, CERT_IDLE_LONG_S, TRUE };

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/purple/certificate/upload-reject-fallback", Fixture, &upload_reject, fixture_set_up,
              test_reject_fallback, fixture_tear_down);
  g_test_add ("/purple/certificate/upload-accept", Fixture, &upload_accept, fixture_set_up,
              test_accept, fixture_tear_down);
  g_test_add ("/purple/certificate/upload-accept-slow", Fixture, &upload_accept_slow,
              fixture_set_up, test_accept, fixture_tear_down);
  g_test_add ("/purple/certificate/unload-at-prompt", Fixture, &upload_reject, fixture_set_up,
              test_unload, fixture_tear_down);
  g_test_add ("/purple/certificate/download-reject", Fixture, &download_reject, fixture_set_up,
              test_reject, fixture_tear_down);
  g_test_add ("/purple/certificate/download-accept", Fixture, &download_accept, fixture_set_up,
              test_accept, fixture_tear_down);
  g_test_add ("/purple/certificate/download-accept-slow", Fixture, &download_accept_slow,
              fixture_set_up, test_accept, fixture_tear_down);
  return g_test_run ();
}
