/* test-e2e.c — files from one real libpurple to another through proxy-test-server
 *
 * Every test starts one proxy-test-server (with its HTTP side unless the
 * case says otherwise) and two bsp-purple-driver processes: alice, who
 * sends, and bob, who receives, each with or without the bsproxy plugin.
 * What each side's UI would have seen comes back as the drivers' JSON-lines
 * events; the received file is compared with the sent one by SHA-256; the
 * server's log tells how the proxy paired the two (HTTP or SOCKS5 on each
 * side). The failure cases cut a transfer short on purpose and check, on
 * each side, the exact notice, conversation lines and end status the
 * user gets, and that neither side calls it complete.
 *
 * The drivers' debug logs and the server's log stay in the test's
 * directory (printed at the start of each test) when a test aborts.
 *
 * This file runs a case's transfer and holds the table of cases, the
 * matrix and the fallbacks among them; test-e2e-cancel.c and
 * test-e2e-fail.c the failure cases, test-e2e-harness.c the files, the
 * server and the drivers, test-e2e-assert.c what must have happened.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "test-e2e.h"

/* Runs one transfer of @file from alice to bob, who accepts into the
 * fixture's directory; @alice_extra and @bob_extra go on the drivers'
 * command lines. */
void
e2e_run_transfer (E2eRun *run, E2eFixture *fixture, const E2eCase *c, const E2eFile *file,
                  const char *const *alice_extra, const char *const *bob_extra)
{
  g_autoptr (GPtrArray) alice_args = g_ptr_array_new ();
  g_autoptr (GPtrArray) bob_args = g_ptr_array_new ();
  gboolean decline = FALSE;

  g_ptr_array_add (alice_args, (gpointer) "--send-file");
  g_ptr_array_add (alice_args, file->path);
  g_ptr_array_add (alice_args, (gpointer) "--to");
  g_ptr_array_add (alice_args, (gpointer) E2E_BOB);
  for (const char *const *arg = alice_extra; arg != NULL && *arg != NULL; arg++)
    g_ptr_array_add (alice_args, (gpointer) *arg);
  g_ptr_array_add (alice_args, NULL);

  /* A plugin receiver goes straight to the sender when it can
   * (test-e2e-direct.c): these cases are about the proxy's paths. */
  if (c->no_direct || c->receiver == E2E_PLUGIN)
    g_ptr_array_add (bob_args, (gpointer) "--no-direct");
  for (const char *const *arg = bob_extra; arg != NULL && *arg != NULL; arg++)
    {
      g_ptr_array_add (bob_args, (gpointer) *arg);
      decline = decline || g_str_equal (*arg, "--decline");
    }
  if (!decline)
    {
      g_ptr_array_add (bob_args, (gpointer) "--accept-dir");
      g_ptr_array_add (bob_args, fixture->accept_dir);
    }
  g_ptr_array_add (bob_args, NULL);

  e2e_run (run, fixture, c, (const char *const *) alice_args->pdata,
           (const char *const *) bob_args->pdata);
  e2e_show_user_events (&run->alice);
  e2e_show_user_events (&run->bob);
}

/* ------------------------------------------------------------------ */
/* The matrix: every pair of clients, three sizes                      */

static void
e2e_test_transfer (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  const E2eFile *file;
  g_auto (E2eRun) run = { 0 };

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  file = e2e_file_get (c->file);
  e2e_run_transfer (&run, fixture, c, file, NULL, NULL);

  /* the plugin reports every byte; libpurple's own loop one read short */
  e2e_assert_completed (&run.alice, file, c->sender == E2E_PLUGIN && !c->no_http);
  e2e_assert_completed (&run.bob, file, c->receiver == E2E_PLUGIN && !c->no_http);
  g_assert_nonnull (
      bsp_test_events_find (run.bob.events, "xfer-offered", "file", file->name, NULL));
  e2e_assert_received (fixture, file, &run.bob);
  e2e_assert_session (fixture, c->initiator_via, c->target_via);
  if (c->sender == E2E_PLUGIN)
    e2e_assert_path (&run.alice, file, E2E_PATH_HTTP);
  if (c->receiver == E2E_PLUGIN)
    e2e_assert_path (&run.bob, file, E2E_PATH_HTTP);
}

/* Runs @c, which the plugins must hand to libpurple's own SOCKS5 path
 * through the proxy: the file arrives, neither side sees a failure, and
 * each says once which way it went. */
static void
e2e_run_socks5_fallback (E2eFixture *fixture, const E2eCase *c, E2eRun *run)
{
  const E2eFile *file = e2e_file_get (c->file);

  e2e_run_transfer (run, fixture, c, file, NULL, NULL);
  e2e_assert_completed (&run->alice, file, FALSE);
  e2e_assert_completed (&run->bob, file, FALSE);
  e2e_assert_received (fixture, file, &run->bob);
  e2e_assert_session (fixture, "SOCKS5", "SOCKS5");
  /* alice knows bob chose the proxy's SOCKS5 */
  e2e_assert_path (&run->alice, file, "goes by SOCKS5 through ");
  e2e_assert_path (&run->bob, file,
                   "goes the usual XMPP way (directly or by SOCKS5), not over HTTP");
}

static void
e2e_test_no_http_side (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_auto (E2eRun) run = { 0 };

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  e2e_run_socks5_fallback (fixture, c, &run);
  /* the plugins saw a proxy without the bs-proxy feature, and bob's
   * handed the offer back to libpurple */
  g_assert_true (e2e_driver_log_contains (&run.alice, "SOCKS5 127.0.0.1:"));
  g_assert_true (e2e_driver_log_contains (&run.alice, ", HTTP no"));
  g_assert_true (e2e_driver_log_contains (&run.bob, ", HTTP no"));
  g_assert_true (e2e_driver_log_contains (&run.bob, "falling back to libpurple's own transfer"));
}

/* The proxy advertises an HTTP base that does not answer from here: both
 * plugins learn it when they sign in and keep to libpurple's own SOCKS5
 * path through the proxy, with nothing shown as a failure. */
static void
e2e_test_http_unreachable (E2eFixture *fixture, gconstpointer user_data)
{
  const E2eCase *c = user_data;
  g_auto (E2eRun) run = { 0 };

  g_test_summary (c->summary);
  if (g_test_failed () || fixture->server == NULL)
    return;

  e2e_run_socks5_fallback (fixture, c, &run);
  g_assert_true (e2e_driver_log_contains (&run.alice, "its HTTP side is not reachable from here"));
  g_assert_true (e2e_driver_log_contains (&run.bob, "its HTTP side is not reachable from here"));
  g_assert_false (e2e_driver_log_contains (&run.bob, "<connect"));
}

/* ------------------------------------------------------------------ */
/* The cases                                                           */

/* Who sends and who receives, each with or without the plugin, and how
 * the proxy must see them. */
typedef struct
{
  const char *name;
  E2eClient sender;
  E2eClient receiver;
  gboolean no_direct;
  const char *initiator_via;
  const char *target_via;
  const char *summary;
} E2ePair;

enum
{
  E2E_PLUGIN_PLUGIN,
  E2E_PLUGIN_PLAIN,
  E2E_PLAIN_PLUGIN,
  E2E_PLAIN_PLAIN,
  E2E_MATRIX_PAIRS, /* the pairs above, each with every size */
  E2E_FALLBACK = E2E_MATRIX_PAIRS,
};

static const E2ePair e2e_pairs[] = {
  [E2E_PLUGIN_PLUGIN] = { "plugin-plugin", E2E_PLUGIN, E2E_PLUGIN, FALSE, "HTTP", "HTTP",
                          "The plugin on both sides: the file goes up and down over the proxy's "
                          "HTTP side (HTTP -> HTTP) and arrives unchanged" },
  [E2E_PLUGIN_PLAIN] = { "plugin-plain", E2E_PLUGIN, E2E_PLAIN, TRUE, "HTTP", "SOCKS5",
                         "The plugin sends, plain libpurple behind NAT receives by SOCKS5: the "
                         "proxy bridges (HTTP -> SOCKS5) and the file arrives unchanged" },
  [E2E_PLAIN_PLUGIN] = { "plain-plugin", E2E_PLAIN, E2E_PLUGIN, FALSE, "SOCKS5", "HTTP",
                         "Plain libpurple sends by SOCKS5, the plugin receives over HTTP: the "
                         "proxy bridges (SOCKS5 -> HTTP) and the file arrives unchanged" },
  [E2E_PLAIN_PLAIN] = { "plain-plain", E2E_PLAIN, E2E_PLAIN, TRUE, "SOCKS5", "SOCKS5",
                        "Plain libpurple on both sides, the receiver behind NAT: a plain "
                        "XEP-0065 relay (SOCKS5 -> SOCKS5), the sanity check of the setup "
                        "itself" },
  /* the plugin on both sides, through the proxy (not straight to alice),
   * handed to libpurple's own SOCKS5 path */
  [E2E_FALLBACK] = { "fallback", E2E_PLUGIN, E2E_PLUGIN, TRUE, "SOCKS5", "SOCKS5", NULL },
};

static const char *const e2e_sizes[] = { "1B", "64KiB+1", "100MiB" };

/* One test: its path, its pair, its file (an e2e_files id) and what
 * the case adds; the summary is the pair's when the row has none and
 * the test does not say its own. */
typedef struct
{
  const char *path;
  guint pair;
  const char *file;
  E2eTestFunc test;
  const char *summary;
  const char *trigger;       /* E2eCase.trigger */
  const char *cut;           /* E2eCase.cut */
  gboolean no_http;          /* E2eCase.no_http */
  gboolean http_unreachable; /* E2eCase.http_unreachable */
} E2eRow;

/* After the matrix (every pair of e2e_pairs with every size). The
 * failures run plugin to plugin over HTTP with a file no transfer can
 * finish before the cut, whatever the machine's load; "plain" runs the
 * same without the plugin (libpurple's own words for the same event,
 * which the plugin's cases must match); "bridge" has plain libpurple
 * send by SOCKS5 to the plugin over HTTP (the proxy tells the plugin
 * what the plain sender's end looked like); "early" strikes at the
 * first byte the UI hears of, when the upload's worker has barely
 * started. */
static const E2eRow e2e_rows[] = {
  { "/e2e/plugin-plugin/utf8-name", E2E_PLUGIN_PLUGIN, "utf8-name", e2e_test_transfer,
    "A file name with spaces and non-ASCII characters goes through HTTP -> HTTP and arrives "
    "under the same name" },
  { "/e2e/fallback/no-http-side", E2E_FALLBACK, "100MiB", e2e_test_no_http_side,
    "The proxy has no HTTP side: the plugin on both sides falls back to libpurple's own SOCKS5 "
    "transfer through the proxy and the file still arrives unchanged",
    .no_http = TRUE },
  { "/e2e/fallback/http-unreachable", E2E_FALLBACK, "64KiB+1", e2e_test_http_unreachable,
    "The proxy's HTTP side does not answer from here (its advertised base is a closed port): "
    "both plugins see it before any transfer and the file goes over libpurple's own SOCKS5 "
    "path, no user sees a failure",
    .http_unreachable = TRUE },
  { "/e2e/failure/decline", E2E_PLUGIN_PLUGIN, "64KiB+1", e2e_test_decline },
  { "/e2e/failure/sender-cancels", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_sender_cancels },
  { "/e2e/failure/receiver-cancels", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_receiver_cancels },
  { "/e2e/failure/sender-cancels-early", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_sender_cancels,
    .trigger = "1" },
  { "/e2e/failure/receiver-cancels-early", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_receiver_cancels,
    .trigger = "1" },
  { "/e2e/failure/plain/sender-cancels", E2E_PLAIN_PLAIN, "512MiB", e2e_test_sender_cancels },
  { "/e2e/failure/plain/receiver-cancels", E2E_PLAIN_PLAIN, "512MiB", e2e_test_receiver_cancels },
  { "/e2e/failure/bridge/sender-cancels", E2E_PLAIN_PLUGIN, "512MiB", e2e_test_sender_cancels },
  { "/e2e/failure/proxy-killed", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_proxy_killed },
  { "/e2e/failure/sender-unloads-plugin", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_sender_unloads },
  { "/e2e/failure/sender-signs-off", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_sender_signs_off },
  { "/e2e/failure/receiver-unloads-plugin", E2E_PLUGIN_PLUGIN, "512MiB",
    e2e_test_receiver_unloads },
  { "/e2e/failure/stall", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_stall },
  { "/e2e/failure/receiver-disk-full", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_receiver_disk_full },
  { "/e2e/failure/upload-reset", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_http_cut,
    "alice's HTTP upload is reset mid-transfer (XMPP stays up): alice is told her link to the "
    "proxy broke, bob that the connection between alice and the proxy broke, each in the error "
    "notice, the transfer's status and an error line, and neither that someone cancelled",
    .cut = "POST" },
  { "/e2e/failure/download-reset", E2E_PLUGIN_PLUGIN, "512MiB", e2e_test_http_cut,
    "bob's HTTP download is reset mid-transfer (XMPP stays up): bob is told his link to the "
    "proxy broke, alice that the connection between bob and the proxy broke, each in the error "
    "notice, the transfer's status and an error line, and neither that someone cancelled",
    .cut = "GET " },
};

/* Adds @row's test, its case made from its pair; @cases keeps it. */
static void
e2e_add (GPtrArray *cases, const E2eRow *row)
{
  const E2ePair *pair = &e2e_pairs[row->pair];
  E2eCase *c = g_new0 (E2eCase, 1);

  c->path = row->path;
  c->sender = pair->sender;
  c->receiver = pair->receiver;
  c->no_direct = pair->no_direct;
  c->no_http = row->no_http;
  c->http_unreachable = row->http_unreachable;
  c->file = row->file;
  c->initiator_via = pair->initiator_via;
  c->target_via = pair->target_via;
  c->summary = row->summary != NULL ? row->summary : pair->summary;
  c->trigger = row->trigger;
  c->cut = row->cut;
  g_ptr_array_add (cases, c);
  g_test_add (c->path, E2eFixture, c, e2e_fixture_set_up, row->test, e2e_fixture_tear_down);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  int status;

  /* The drivers run in the isolated XDG dirs, where GSettings has no
   * schemas: GIO's default proxy resolver (libsoup in the plugin) would
   * abort there. meson sets this too; a run by hand needs it as well. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  e2e_files_init ();

  for (guint p = 0; p < E2E_MATRIX_PAIRS; p++)
    for (guint s = 0; s < G_N_ELEMENTS (e2e_sizes); s++)
      {
        char *path = g_strdup_printf ("/e2e/%s/%s", e2e_pairs[p].name, e2e_sizes[s]);
        const E2eRow row = { path, p, e2e_sizes[s], e2e_test_transfer };

        g_ptr_array_add (paths, path);
        e2e_add (cases, &row);
      }
  for (guint r = 0; r < G_N_ELEMENTS (e2e_rows); r++)
    e2e_add (cases, &e2e_rows[r]);

  status = g_test_run ();
  e2e_files_remove ();
  return status;
}
