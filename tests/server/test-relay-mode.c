/* test-relay-mode.c — how the relay moves the bytes: splice(2) between two
 * SOCKS5 connections unless told to copy, on worker threads unless told
 * to keep them on the main thread
 *
 * The transfers themselves, in every pair and with every fault, run in
 * test-http.c, test-faults.c and test-socks5.c, against each mode
 * (tests/server/meson.build); this file checks that the mode asked for is
 * the one used.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-fixture.h"

#define TRANSFER_SIZE (G_GUINT64_CONSTANT (64) * 1024 * 1024)

typedef struct
{
  const char *path;
  const char *options[4]; /* NULL-terminated */
  const char *used;       /* what the log must name */
  const char *unused;     /* and must not */
  guint workers;          /* threads named pts-relay-N the server must have */
} ModeCase;

/* The server's threads named pts-relay-N (pts-relay-pool.c). */
static guint
count_relay_threads (PtsTestServer *server)
{
  g_autofree char *dir_path
      = g_strdup_printf ("/proc/%d/task", (int) pts_test_process_get_pid (server->process));
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *task;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((task = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, task, "comm", NULL);
      g_autofree char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "pts-relay-"))
        count++;
    }
  return count;
}

static void
test_mode (gconstpointer data)
{
  const ModeCase *tc = data;
  PtsTestServer *server
      = pts_fixture_server_start (tc->options[0], tc->options[1], tc->options[2], NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "sender");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "receiver");
  g_autoptr (PtsNode) reply = NULL;
  PtsFixtureStream stream;

  g_test_summary ("A SOCKS5 → SOCKS5 transfer of 64 MiB arrives whole, the server's log "
                  "names the relay mode and thread asked for, and the server has as many "
                  "relay workers as asked.");

  pts_fixture_stream_connect (&stream, server, alice, bob, "mode-sid");
  reply = pts_fixture_activate (alice, server, stream.sid, pts_test_client_get_jid (bob));
  pts_fixture_assert_result (reply);
  pts_fixture_assert_transfer (&stream, TRANSFER_SIZE, 7);
  pts_fixture_stream_clear (&stream);
  pts_fixture_assert_log_count (server, tc->used, 1);
  pts_fixture_assert_log_count (server, tc->unused, 0);
  /* Each worker names itself when it starts: long done by now. */
  g_assert_cmpuint (count_relay_threads (server), ==, tc->workers);
  pts_fixture_server_stop (server);
}

static const ModeCase mode_cases[] = {
  { "/server/relay/mode/splice", { "--relay-threads", "2" }, "MiB/s, splice,", "MiB/s, copy", 2 },
  { "/server/relay/mode/copy",
    { "--relay-copy", "--relay-threads", "2" },
    "MiB/s, copy,",
    "MiB/s, splice",
    2 },
  { "/server/relay/threads/workers",
    { "--relay-threads", "3" },
    "splice, worker thread)",
    "main thread)",
    3 },
  { "/server/relay/threads/main", { "--relay-threads", "1" }, "splice, main thread)", "worker", 0 },
};

/* SIGTERM while a relay runs on a worker: the worker stops it (both
 * connections closed) and the server exits cleanly. */
static void
test_shutdown_running (void)
{
  PtsTestServer *server = pts_fixture_server_start ("--relay-threads", "2", NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "sender");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "receiver");
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) rest = NULL;
  PtsFixtureStream stream;
  guint8 block[65536], got[65536];

  g_test_summary ("The server stopped (SIGTERM) in the middle of a transfer that a worker "
                  "thread relays: it exits with status 0, and the receiver's connection "
                  "is closed after no more than the bytes sent.");

  pts_fixture_stream_connect (&stream, server, alice, bob, "shutdown-sid");
  reply = pts_fixture_activate (alice, server, stream.sid, pts_test_client_get_jid (bob));
  pts_fixture_assert_result (reply);
  memset (block, 0x5a, sizeof block);
  g_assert_true (pts_test_socket_send_all (stream.initiator, block, sizeof block, &error));
  g_assert_no_error (error);
  /* Through the worker: the bytes arrive, so the relay runs. */
  g_assert_true (
      pts_test_socket_read_exact (stream.target, got, sizeof got, PTS_TEST_TIMEOUT_MS, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (got, sizeof got, block, sizeof block);

  pts_fixture_server_stop (server);
  rest = pts_test_socket_read_until_closed (stream.target, 1024, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (rest), ==, 0);
  pts_fixture_stream_clear (&stream);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (mode_cases); i++)
    g_test_add_data_func (mode_cases[i].path, &mode_cases[i], test_mode);
  g_test_add_func ("/server/relay/threads/shutdown-running", test_shutdown_running);
  return g_test_run ();
}
