/* test-e2e-direct.c — a plugin receiver goes straight to the sender when
 * it can, and loses no more than its head start when it can't
 *
 * alice sends to bob (the plugin), both headless libpurple drivers signed
 * in to proxy-test-server with its HTTP side on. With alice's own
 * streamhost reachable the file goes directly: bob says so, and the proxy
 * paired no one. With it unreachable (a closed port, a listener that
 * never accepts, an address that drops everything), bob's <connect/> to
 * the bs-proxy goes out within a bounded delay of the offer and the file
 * goes over HTTP. alice is the plugin or plain libpurple.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-test-purple.h"

#define DIRECT_ALICE "alice@localhost/e2e"
#define DIRECT_BOB "bob@localhost/e2e"
#define DIRECT_TIMEOUT_S "60"
#define DIRECT_FILE_SIZE (4 * 1024 * 1024 + 7)
/* The plugin's head start for the direct path (BSP_DIRECT_HEAD_START_MS),
 * and how much later than that its <connect/> may go out at most here. */
#define DIRECT_HEAD_START_MS 300
#define DIRECT_SLACK_MS 700

typedef enum
{
  DIRECT_REACHABLE,     /* alice's own listener, as offered */
  DIRECT_CLOSED,        /* a loopback port where nothing listens */
  DIRECT_NEVER_ACCEPTS, /* a listener with a backlog that no one accepts */
  DIRECT_BLACKHOLE,     /* TEST-NET-1: dropped, or unreachable at once */
} DirectWay;

typedef struct
{
  const char *path;
  gboolean plugin_sender;
  DirectWay way;
} DirectCase;

typedef struct
{
  BspTestServer *server;
  char *dir;
  char *server_log;
  char *accept_dir;
  char *file;
  char *name;
  char *sha256;
  GSocket *never_accepts;
} DirectFixture;

static char *
direct_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  g_assert_cmpuint (len, ==, DIRECT_FILE_SIZE);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static void
direct_set_up (DirectFixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *data = g_malloc (DIRECT_FILE_SIZE);
  g_autoptr (GRand) rand = g_rand_new_with_seed (12);

  if (bsp_test_driver_path () == NULL || bsp_test_plugin_path () == NULL)
    {
      g_test_skip ("the driver or the plugin was not built: set BSP_DRIVER and BSP_PLUGIN");
      return;
    }
  /* G_TEST_OPTION_ISOLATE_DIRS: a fresh per-test directory */
  fixture->dir = g_build_filename (g_get_user_config_dir (), "direct", NULL);
  fixture->accept_dir = g_build_filename (fixture->dir, "received", NULL);
  fixture->server_log = g_build_filename (fixture->dir, "server.log", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->accept_dir, 0700), ==, 0);
  g_test_message ("logs in %s", fixture->dir);

  fixture->name = g_strdup ("direct.bin");
  fixture->file = g_build_filename (fixture->dir, fixture->name, NULL);
  for (gsize i = 0; i < DIRECT_FILE_SIZE; i++)
    data[i] = (guint8) g_rand_int (rand);
  g_file_set_contents (fixture->file, (const char *) data, DIRECT_FILE_SIZE, &error);
  g_assert_no_error (error);
  fixture->sha256 = direct_sha256 (fixture->file);

  fixture->server = bsp_test_server_start ((const char *const[]){ "--http-port", "0", NULL },
                                           fixture->server_log, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->server->http_base_url);
}

static void
direct_tear_down (DirectFixture *fixture, gconstpointer user_data)
{
  bsp_test_server_clear (&fixture->server);
  if (fixture->never_accepts != NULL)
    g_socket_close (fixture->never_accepts, NULL);
  g_clear_object (&fixture->never_accepts);
  g_free (fixture->dir);
  g_free (fixture->server_log);
  g_free (fixture->accept_dir);
  g_free (fixture->file);
  g_free (fixture->name);
  g_free (fixture->sha256);
}

/* Where bob is told alice's own streamhost is, for @way (NULL: as offered). */
static char *
direct_target (DirectFixture *fixture, DirectWay way)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  guint16 port;

  switch (way)
    {
    case DIRECT_REACHABLE: return NULL;
    case DIRECT_BLACKHOLE: return g_strdup ("192.0.2.1:7777");
    case DIRECT_CLOSED:
      port = pts_test_free_port (&error);
      g_assert_no_error (error);
      return g_strdup_printf ("127.0.0.1:%u", port);
    case DIRECT_NEVER_ACCEPTS: break;
    }
  fixture->never_accepts
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (fixture->never_accepts, any, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (fixture->never_accepts, 4);
  g_socket_listen (fixture->never_accepts, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (fixture->never_accepts, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return g_strdup_printf ("127.0.0.1:%u", port);
}

static GSubprocess *
direct_spawn (DirectFixture *fixture, const char *role, const char *account, gboolean plugin,
              const char *const *extra)
{
  g_autofree char *user_dir = g_build_filename (fixture->dir, role, NULL);
  g_autofree char *account_arg = g_strconcat (account, ":", BSP_TEST_PASSWORD, NULL);
  g_autofree char *out = g_strconcat (user_dir, ".out", NULL);
  g_autofree char *log = g_strconcat (user_dir, ".log", NULL);
  g_autofree char *cmdline = NULL;
  g_autoptr (GStrvBuilder) argv = g_strv_builder_new ();
  g_autoptr (GSubprocessLauncher) launcher = bsp_test_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_auto (GStrv) args = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_strv_builder_add_many (argv, bsp_test_driver_path (), "--user-dir", user_dir, "--account",
                           account_arg, "--server", fixture->server->c2s_host, "--port",
                           fixture->server->c2s_port, "--timeout", DIRECT_TIMEOUT_S, "--debug",
                           NULL);
  if (plugin)
    g_strv_builder_add_many (argv, "--plugin", bsp_test_plugin_path (), NULL);
  g_strv_builder_addv (argv, (const char **) extra);
  args = g_strv_builder_end (argv);
  cmdline = g_strjoinv (" ", args);
  g_test_message ("%s: %s", role, cmdline);

  bsp_test_launcher_isolate_driver (launcher);
  /* Files, not pipes: neither driver can block on a full pipe while the
   * test waits for the other. */
  g_subprocess_launcher_set_stdout_file_path (launcher, out);
  g_subprocess_launcher_set_stderr_file_path (launcher, log);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) args, &error);
  g_assert_no_error (error);
  return process;
}

/* Waits for @process (its --timeout bounds it) and reads its events. */
static GPtrArray *
direct_wait (DirectFixture *fixture, GSubprocess *process, const char *role)
{
  g_autofree char *out = g_strdup_printf ("%s/%s.out", fixture->dir, role);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_file_get_contents (out, &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    if (**line == '{')
      {
        JsonObject *event = bsp_test_event_parse (*line, &error);

        g_assert_no_error (error);
        g_ptr_array_add (events, event);
      }
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_test_message ("%s failed: see %s/%s.log", role, fixture->dir, role);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  return events;
}

/* The one path line of @events: "NAME goes …". */
static const char *
direct_path_line (GPtrArray *events, const char *name)
{
  const char *found = NULL;

  for (guint i = 0; i < events->len; i++)
    {
      JsonObject *event = events->pdata[i];
      const char *message = json_object_get_string_member_with_default (event, "message", "");

      if (g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          && g_str_has_prefix (message, name) && strstr (message, " goes ") != NULL)
        {
          g_assert_null (found);
          found = message;
        }
    }
  g_assert_nonnull (found);
  return found;
}

static gint64
direct_ms (GPtrArray *events, const char *name)
{
  JsonObject *event = bsp_test_events_find (events, name, NULL);

  return event ? json_object_get_int_member (event, "ms") : -1;
}

static gboolean
direct_log_has (DirectFixture *fixture, const char *needle)
{
  g_autofree char *log = NULL;

  return g_file_get_contents (fixture->server_log, &log, NULL, NULL) && strstr (log, needle);
}

static void
direct_test (DirectFixture *fixture, gconstpointer user_data)
{
  const DirectCase *c = user_data;
  g_autofree char *target = NULL;
  g_autofree char *direct_to = NULL;
  g_autofree char *received = NULL;
  g_autofree char *received_sha = NULL;
  g_autofree char *directly = NULL;
  g_autoptr (GSubprocess) alice = NULL;
  g_autoptr (GSubprocess) bob = NULL;
  g_autoptr (GPtrArray) alice_events = NULL;
  g_autoptr (GPtrArray) bob_events = NULL;
  const char *bob_args[] = { "--accept-dir", fixture->accept_dir, "--timing", NULL, NULL };
  gint64 offer, connect;

  if (fixture->server == NULL)
    return; /* skipped */
  target = direct_target (fixture, c->way);
  if (target != NULL)
    {
      bob_args[3] = direct_to = g_strconcat ("--direct-to=", target, NULL);
      g_test_message ("alice's own streamhost is %s for bob", target);
    }
  /* bob first, as someone who waits for files would be */
  bob = direct_spawn (fixture, "bob", DIRECT_BOB, TRUE, bob_args);
  alice = direct_spawn (
      fixture, "alice", DIRECT_ALICE, c->plugin_sender,
      (const char *const[]){ "--send-file", fixture->file, "--to", DIRECT_BOB, NULL });
  alice_events = direct_wait (fixture, alice, "alice");
  bob_events = direct_wait (fixture, bob, "bob");

  /* The file arrived whole, whichever way. */
  g_assert_nonnull (bsp_test_events_find (alice_events, "xfer-completed", NULL));
  g_assert_nonnull (bsp_test_events_find (bob_events, "xfer-completed", NULL));
  g_assert_null (bsp_test_events_find (bob_events, "xfer-cancelled", NULL));
  received = g_build_filename (fixture->accept_dir, fixture->name, NULL);
  received_sha = direct_sha256 (received);
  g_assert_cmpstr (received_sha, ==, fixture->sha256);

  offer = direct_ms (bob_events, "streamhost-offer");
  connect = direct_ms (bob_events, "proxy-connect");
  g_assert_cmpint (offer, >=, 0);
  if (c->way == DIRECT_REACHABLE)
    {
      directly = g_strdup_printf ("%s goes directly", fixture->name);
      g_assert_true (g_str_has_prefix (direct_path_line (bob_events, fixture->name), directly));
      if (c->plugin_sender)
        g_assert_true (g_str_has_prefix (direct_path_line (alice_events, fixture->name), directly));
      /* No byte through the proxy; a <connect/> sent meanwhile was ended. */
      g_assert_false (direct_log_has (fixture, " active: "));
      if (connect >= 0)
        g_assert_true (direct_log_has (fixture, "cancelled by its receiver"));
      return;
    }

  g_assert_true (g_str_has_prefix (direct_path_line (bob_events, fixture->name),
                                   "direct.bin goes over HTTP through the file transfer proxy"));
  g_assert_true (direct_log_has (fixture, " active: "));
  g_assert_cmpint (connect, >=, offer);
  g_test_message ("bob's <connect/> went out %" G_GINT64_FORMAT " ms after the offer",
                  connect - offer);
  /* The head start and no more: a refused connection does not even wait
   * for it; one that hangs costs exactly it. */
  g_assert_cmpint (connect - offer, <, DIRECT_HEAD_START_MS + DIRECT_SLACK_MS);
  if (c->way == DIRECT_NEVER_ACCEPTS)
    g_assert_cmpint (connect - offer, >=, DIRECT_HEAD_START_MS - 50);
}

static const DirectCase direct_cases[] = {
  { "/e2e-direct/plugin-plugin/reachable", TRUE, DIRECT_REACHABLE },
  { "/e2e-direct/plain-plugin/reachable", FALSE, DIRECT_REACHABLE },
  { "/e2e-direct/plugin-plugin/closed-port", TRUE, DIRECT_CLOSED },
  { "/e2e-direct/plain-plugin/closed-port", FALSE, DIRECT_CLOSED },
  { "/e2e-direct/plugin-plugin/never-accepts", TRUE, DIRECT_NEVER_ACCEPTS },
  { "/e2e-direct/plain-plugin/never-accepts", FALSE, DIRECT_NEVER_ACCEPTS },
  { "/e2e-direct/plugin-plugin/blackhole", TRUE, DIRECT_BLACKHOLE },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (direct_cases); i++)
    g_test_add (direct_cases[i].path, DirectFixture, &direct_cases[i], direct_set_up, direct_test,
                direct_tear_down);
  return g_test_run ();
}
