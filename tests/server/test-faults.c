/* test-faults.c — a party that goes away at any moment, through every pair
 *
 * The sender or the receiver of each of the four pairs closes its
 * connection (cleanly, FIN, or with a reset, RST) just after the activation
 * or mid-stream. The other side must always see a failure — never a short
 * file that looks complete — and the session must be freed. Then a thousand
 * such aborts through one server, whose descriptors and memory must come
 * back to where they started. And a load test: 128 simultaneous transfers
 * through each pair (the benchmark's client, every byte checked) while the
 * abort loop runs beside them.
 *
 * The program test-server-faults also runs test-faults-ended.c (what the
 * parties are told, <ended/>); test-faults-harness.c is what they share.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "test-faults-harness.h"

typedef struct
{
  const char *path;
  gboolean http_sender;
  gboolean http_receiver;
  Victim victim;
  EndHow how;
  Phase phase;
} FaultCase;

static void
run_fault (Fixture *f, const FaultCase *tc, const char *sid)
{
  g_auto (FaultStream) s = { 0 };
  GSocketConnection *sender, *receiver;
  guint64 *state = &s.state;

  fault_stream_open (f, tc->http_sender, tc->http_receiver, sid, &s);
  sender = s.sender;
  receiver = s.receiver;

  /* Bytes flow, then the victim goes. */
  if (tc->phase == PHASE_MID)
    fault_stream_flow (&s);
  if (tc->victim == VICTIM_SENDER)
    {
      g_autoptr (GBytes) rest = NULL;

      end_connection (sender, tc->how);
      rest = read_all (receiver);
      if (tc->http_receiver)
        g_assert_false (http_complete (rest, FILE_SIZE));
      else
        g_assert_cmpuint (g_bytes_get_size (rest), <, FILE_SIZE);
    }
  else
    {
      g_autoptr (GBytes) answer = NULL;

      end_connection (receiver, tc->how);
      /* The sender goes on until the proxy stops taking its bytes; what it
       * hears back (an HTTP answer) is no success. */
      send_stream (sender, state, FILE_SIZE);
      answer = read_all (sender);
      if (tc->http_sender)
        {
          gsize len;
          const char *text = g_bytes_get_data (answer, &len);
          g_assert_false (len >= 13 && g_str_has_prefix (text, "HTTP/1.1 200 "));
        }
    }
}

static GPtrArray *fault_cases;

static void
test_fault (gconstpointer data)
{
  const FaultCase *tc = data;
  Fixture f = { 0 };

  g_test_summary ("One party of one pair goes away (FIN or RST, after the activation or "
                  "mid-stream): the other sees a failure, never a complete short file, and "
                  "the session is freed.");
  fixture_start (&f);
  run_fault (&f, tc, "fault-sid");
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

/* Case @i of the matrix, made quick: after the activation only (mid-stream
 * moves a MiB each time), and the victim always on SOCKS5, whose leaving
 * the proxy sees at once (the cases that wait for the idle timeout are the
 * matrix's). */
static void
run_quick_abort (Fixture *f, guint i, const char *sid)
{
  FaultCase quick = *(const FaultCase *) fault_cases->pdata[i % fault_cases->len];

  quick.phase = PHASE_ACTIVATED;
  if (quick.victim == VICTIM_SENDER ? quick.http_sender : quick.http_receiver)
    quick.victim = quick.victim == VICTIM_SENDER ? VICTIM_RECEIVER : VICTIM_SENDER;
  if (quick.victim == VICTIM_SENDER ? quick.http_sender : quick.http_receiver)
    quick.http_sender = quick.http_receiver = FALSE;
  run_fault (f, &quick, sid);
}

static void
test_thousand_aborts (void)
{
  Fixture f = { 0 };
  GPid pid;
  guint fds_before, fds_after;
  guint64 rss_before, rss_after;

  g_test_summary ("A thousand transfers broken off through one server, every case of the "
                  "matrix in turn: its descriptor count is back where it started, and its "
                  "memory within 4 MiB of it.");
  fixture_start (&f);
  pid = pts_test_process_get_pid (f.server->process);
  /* One round first, so that one-time allocations are made. */
  run_fault (&f, fault_cases->pdata[0], "warm-up");
  assert_sessions_freed (&f);
  fds_before = pts_fixture_count_fds_settled (pid, 0);
  rss_before = pts_fixture_rss_kib (pid);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *sid = g_strdup_printf ("abort-%u", i);
      run_quick_abort (&f, i, sid);
    }
  assert_sessions_freed (&f);
  fds_after = pts_fixture_count_fds_settled (pid, fds_before);
  rss_after = pts_fixture_rss_kib (pid);
  g_test_message ("descriptors %u → %u, RSS %" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT " KiB",
                  fds_before, fds_after, rss_before, rss_after);
  g_assert_cmpuint (fds_after, ==, fds_before);
#if !defined(__SANITIZE_ADDRESS__)
  /* Under AddressSanitizer freed memory sits in its quarantine, so RSS says
   * nothing there; LeakSanitizer checks the server's exit instead. */
  g_assert_cmpuint (rss_after, <, rss_before + 4096);
#endif
  fixture_stop (&f);
}

/* The benchmark's client: $PTS_BENCH_CLIENT (set by meson). */
static const char *
bench_client (void)
{
  const char *path = g_getenv ("PTS_BENCH_CLIENT");

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("PTS_BENCH_CLIENT must name the built tests/bench/bsb-bench (meson test sets it)");
  return path;
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static void
test_load_with_aborts (void)
{
  static const char *const pairs[] = { "socks5-socks5", "http-socks5", "socks5-http", "http-http" };
  Fixture f = { 0 };
  GPid pid;
  guint fds_before, aborts = 0;

  g_test_summary ("128 simultaneous transfers through each of the four pairs, every byte "
                  "checked, while transfers are broken off one after another beside them; "
                  "afterwards no session is left and the descriptors are back.");
  /* The benchmark client's 128 and the abort loop's one, from alice. */
  /* Under the sanitizers 128 transfers at once may each wait seconds for
   * a turn: the idle timeout must not take them for stuck (the quick
   * aborts beside them need none). */
  fixture_start_limited (&f, "256", "60");
  pid = pts_test_process_get_pid (f.server->process);
  run_fault (&f, fault_cases->pdata[0], "warm-up");
  assert_sessions_freed (&f);
  fds_before = pts_fixture_count_fds_settled (pid, 0);

  for (guint p = 0; p < G_N_ELEMENTS (pairs); p++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *c2s = g_strdup_printf ("%s:%u", f.server->c2s_host, f.server->c2s_port);
      g_autofree char *socks5
          = g_strdup_printf ("%s:%u", f.server->socks5_host, f.server->socks5_port);
      g_autofree char *server_pid = g_strdup_printf ("%d", (int) pid);
      const char *argv[] = { bench_client (),
                             "relay",
                             "--name",
                             pairs[p],
                             "--pair",
                             pairs[p],
                             "--c2s",
                             c2s,
                             "--socks5",
                             socks5,
                             "--domain",
                             f.server->domain,
                             "--proxy-jid",
                             f.server->proxy_jid,
                             "--initiator",
                             "alice:" PTS_FIXTURE_PASSWORD,
                             "--target",
                             "bob:" PTS_FIXTURE_PASSWORD,
                             "--streams",
                             "128",
                             "--size",
                             "1M",
                             "--timeout",
                             "120",
                             "--server-pid",
                             server_pid,
                             NULL };
      g_autoptr (GSubprocess) load = NULL;
      g_autofree char *out = NULL;
      gboolean done = FALSE;
      guint before = aborts;

      load = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
      g_assert_no_error (error);
      g_subprocess_wait_async (load, NULL, load_done, &done);
      /* Aborts, one after another, for as long as the load runs (each is
       * synchronous; the subprocess's end is seen between them). */
      while (!done)
        {
          g_autofree char *sid = g_strdup_printf ("load-abort-%u", aborts);
          run_quick_abort (&f, aborts++, sid);
          while (g_main_context_iteration (NULL, FALSE))
            ;
        }
      g_subprocess_communicate_utf8 (load, NULL, NULL, &out, NULL, &error);
      g_assert_no_error (error);
      g_test_message ("%s: %s (%u aborts beside)", pairs[p], out ? g_strstrip (out) : "",
                      aborts - before);
      g_assert_true (g_subprocess_get_if_exited (load));
      g_assert_cmpint (g_subprocess_get_exit_status (load), ==, 0);
      g_assert_nonnull (strstr (out, " ok=1 "));
      g_assert_nonnull (strstr (out, " streams=128 "));
      g_assert_cmpuint (aborts - before, >=, 1);
    }
  assert_sessions_freed (&f);
  g_assert_cmpuint (pts_fixture_count_fds_settled (pid, fds_before), ==, fds_before);
  fixture_stop (&f);
}

int
main (int argc, char **argv)
{
  static const char *const pairs[]
      = { "socks5-to-socks5", "http-to-socks5", "socks5-to-http", "http-to-http" };
  static const char *const victims[] = { "sender", "receiver" };
  static const char *const hows[] = { "fin", "rst" };
  static const char *const phases[] = { "activated", "mid-stream" };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  fault_cases = g_ptr_array_new_with_free_func (g_free);
  for (guint p = 0; p < 4; p++)
    for (guint v = 0; v < 2; v++)
      for (guint h = 0; h < 2; h++)
        for (guint ph = 0; ph < 2; ph++)
          {
            FaultCase *tc = g_new0 (FaultCase, 1);
            g_autofree char *path = g_strdup_printf ("/server/faults/%s/%s-%s/%s", pairs[p],
                                                     victims[v], hows[h], phases[ph]);

            tc->path = g_intern_string (path);
            tc->http_sender = p == 1 || p == 3;
            tc->http_receiver = p == 2 || p == 3;
            tc->victim = (Victim) v;
            tc->how = (EndHow) h;
            tc->phase = (Phase) ph;
            g_ptr_array_add (fault_cases, tc);
            g_test_add_data_func (tc->path, tc, test_fault);
          }
  g_test_add_func ("/server/faults/thousand-aborts", test_thousand_aborts);
  g_test_add_func ("/server/faults/load-with-aborts", test_load_with_aborts);
  test_faults_add_ended ();
  return g_test_run ();
}
