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
 * Clients here are raw sockets, so that the test decides exactly how and
 * when a connection ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>

#include "pts-fixture.h"
#include "pts-http-client.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define MIB (1024 * 1024)
#define FILE_SIZE (4 * MIB)
#define BOUNDARY "faultfaultfault"

typedef enum
{
  VICTIM_SENDER,
  VICTIM_RECEIVER,
} Victim;

typedef enum
{
  END_FIN,
  END_RST,
} EndHow;

typedef enum
{
  PHASE_ACTIVATED, /* right after the activation, before any byte */
  PHASE_MID,       /* 1 MiB into the file */
} Phase;

typedef struct
{
  PtsTestServer *server;
  PtsTestClient *alice;
  PtsTestClient *bob;
  GUri *http;
} Fixture;

/* @max_per_initiator: the server's --max-per-initiator, as text. */
static void
fixture_start_limited (Fixture *f, const char *max_per_initiator)
{
  g_autoptr (GError) error = NULL;

  /* A receiver reset before its GET was read, or an HTTP sender gone
   * before its first file byte, leave the session to the idle timeout. */
  f->server = pts_fixture_server_start ("--http-port", "0", "--idle-timeout", "2",
                                        "--max-per-initiator", max_per_initiator, NULL);
  f->http = g_uri_parse (f->server->http_base, G_URI_FLAGS_NONE, &error);
  g_assert_no_error (error);
  f->alice = pts_fixture_login (f->server, "alice", "sender");
  f->bob = pts_fixture_login (f->server, "bob", "receiver");
}

static void
fixture_start (Fixture *f)
{
  fixture_start_limited (f, "16");
}

static void
fixture_stop (Fixture *f)
{
  g_clear_pointer (&f->alice, pts_test_client_free);
  g_clear_pointer (&f->bob, pts_test_client_free);
  g_clear_pointer (&f->http, g_uri_unref);
  pts_fixture_server_stop (g_steal_pointer (&f->server));
}

static GSocketConnection *
http_connect (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn = pts_test_tcp_connect (g_uri_get_host (f->http),
                                                  (guint16) g_uri_get_port (f->http), &error);

  g_assert_no_error (error);
  return conn;
}

/* Ends @conn as @how says: a FIN after what was sent, or a reset. */
static void
end_connection (GSocketConnection *conn, EndHow how)
{
  GSocket *socket = g_socket_connection_get_socket (conn);

  if (how == END_RST)
    {
      struct linger now = { 1, 0 };
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
}

/* Sends what it can of @len bytes of @seed's stream; FALSE once the peer
 * is gone (a write fails). */
static gboolean
send_stream (GSocketConnection *conn, guint64 *state, gsize len)
{
  guint8 buf[65536];

  while (len > 0)
    {
      gsize n = MIN (len, sizeof buf);

      pts_test_random_fill (state, buf, n);
      if (!pts_test_socket_send_all (conn, buf, n, NULL))
        return FALSE;
      len -= n;
    }
  return TRUE;
}

/* What a receiver got until the proxy closed: the raw bytes. */
static GBytes *
read_all (GSocketConnection *conn)
{
  g_autoptr (GError) error = NULL;
  GBytes *got = pts_test_socket_read_until_closed (conn, 16 * MIB, PTS_TEST_TIMEOUT_MS, &error);

  g_assert_no_error (error);
  return got;
}

/* Whether raw HTTP response bytes are a complete 200 with a body of
 * @size bytes, framed as its head says. */
static gboolean
http_complete (GBytes *raw, gsize size)
{
  gsize len;
  const char *data = g_bytes_get_data (raw, &len);
  g_autofree char *text = g_strndup (data != NULL ? data : "", MIN (len, 4096));
  const char *end = strstr (text, "\r\n\r\n");
  const char *cl;

  if (end == NULL || !g_str_has_prefix (text, "HTTP/1.1 200 "))
    return FALSE;
  cl = g_strstr_len (text, end - text, "Content-Length: ");
  if (cl != NULL)
    return len - (gsize) (end + 4 - text) == size
           && g_ascii_strtoull (cl + 16, NULL, 10) == size;
  /* Chunked: whole only with its last chunk. */
  return len >= 5 && memcmp (data + len - 5, "0\r\n\r\n", 5) == 0;
}

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
  g_autofree char *hash = pts_fixture_sidhash (sid, f->alice, f->bob);
  g_autoptr (GSocketConnection) sender = NULL, receiver = NULL;
  g_autoptr (PtsNode) reply = NULL, push = NULL;
  g_autofree char *upload_url = NULL, *download_url = NULL;
  g_autofree char *size_text = g_strdup_printf ("%d", FILE_SIZE);
  PtsFixtureMatch match = { "iq", f->server->proxy_jid, "set", NS_BSPROXY };
  guint64 state = pts_http_stream_state (3);

  /* The receiver registers, the sender connects and activates. */
  if (tc->http_receiver)
    {
      reply = pts_fixture_iq (f->bob,
                              "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='%s' "
                              "jid='%s' size='%s'/></iq>",
                              f->server->proxy_jid, sid, pts_test_client_get_jid (f->alice),
                              size_text);
      pts_fixture_assert_result (reply);
      g_clear_pointer (&reply, pts_node_free);
    }
  else
    receiver = pts_fixture_socks5 (f->server, NULL, hash);
  if (tc->http_sender)
    {
      reply = pts_fixture_iq (f->alice,
                              "<iq type='set' to='%s'><query xmlns='" PTS_NS_BYTESTREAMS
                              "' sid='%s'><activate>%s</activate><x xmlns='" NS_BSPROXY
                              "'/></query></iq>",
                              f->server->proxy_jid, sid, pts_test_client_get_jid (f->bob));
      pts_fixture_assert_result (reply);
      upload_url = g_strdup (
          pts_node_get_attr (pts_node_get_child (reply, "activated", NS_BSPROXY), "url"));
    }
  else
    {
      sender = pts_fixture_socks5 (f->server, NULL, hash);
      reply = pts_fixture_activate (f->alice, f->server, sid, pts_test_client_get_jid (f->bob));
      pts_fixture_assert_result (reply);
    }
  if (tc->http_receiver)
    {
      g_autoptr (GUri) uri = NULL;
      g_autofree char *get = NULL;

      push = pts_fixture_wait (f->bob, pts_fixture_match, &match);
      download_url = g_strdup (
          pts_node_get_attr (pts_node_get_child (push, "activated", NS_BSPROXY), "url"));
      pts_fixture_send (f->bob, "<iq type='result' to='%s' id='%s'/>", f->server->proxy_jid,
                        pts_node_get_attr (push, "id"));
      uri = g_uri_parse (download_url, G_URI_FLAGS_NONE, NULL);
      receiver = http_connect (f);
      get = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", g_uri_get_path (uri));
      g_assert_true (pts_test_socket_send_all (receiver, get, strlen (get), NULL));
    }
  if (tc->http_sender)
    {
      g_autoptr (GUri) uri = g_uri_parse (upload_url, G_URI_FLAGS_NONE, NULL);
      g_autofree char *head = NULL, *part = NULL;
      gsize tail = strlen ("\r\n--" BOUNDARY "--\r\n");

      part = g_strdup_printf ("--" BOUNDARY "\r\nContent-Disposition: form-data; "
                              "name=\"SIDHASH\"\r\n\r\n%s\r\n--" BOUNDARY "\r\n"
                              "Content-Disposition: form-data; name=\"FILE\"; "
                              "filename=\"f\"\r\n\r\n",
                              hash);
      head = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                              "boundary=" BOUNDARY "\r\nContent-Length: %" G_GSIZE_FORMAT
                              "\r\n\r\n%s",
                              g_uri_get_path (uri), strlen (part) + FILE_SIZE + tail, part);
      sender = http_connect (f);
      g_assert_true (pts_test_socket_send_all (sender, head, strlen (head), NULL));
    }

  /* Bytes flow, then the victim goes. */
  if (tc->phase == PHASE_MID)
    {
      guint8 buf[65536];
      gsize got = 0;

      g_assert_true (send_stream (sender, &state, 1 * MIB));
      /* The receiver takes some: the relay's buffer alone can't hold 1 MiB. */
      while (got < 512 * 1024)
        {
          g_autoptr (GError) error = NULL;
          gsize want = MIN (sizeof buf, 512 * 1024 - got);
          g_assert_true (pts_test_socket_read_exact (receiver, buf, want, PTS_TEST_TIMEOUT_MS,
                                                     &error));
          got += want;
        }
    }
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
      send_stream (sender, &state, FILE_SIZE);
      answer = read_all (sender);
      if (tc->http_sender)
        {
          gsize len;
          const char *text = g_bytes_get_data (answer, &len);
          g_assert_false (len >= 13 && g_str_has_prefix (text, "HTTP/1.1 200 "));
        }
    }
}

/* Polls /status until no session is left (bounded). */
static void
assert_sessions_freed (Fixture *f)
{
  g_autofree char *url = g_strconcat (f->server->http_base, "/status", NULL);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonParser) parser = json_parser_new ();
      PtsHttpResponse response = { 0 };
      guint left;

      pts_http_get (url, 1024 * 1024, &response, &error);
      g_assert_no_error (error);
      json_parser_load_from_data (parser, (const char *) response.body->data,
                                  response.body->len, &error);
      g_assert_no_error (error);
      left = json_array_get_length (json_object_get_array_member (
          json_node_get_object (json_parser_get_root (parser)), "sessions"));
      pts_http_response_clear (&response);
      if (left == 0)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
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

static guint
count_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* The descriptor count once connections still closing (an answer's
 * short drain) are gone: the lowest seen until it holds for 200 ms, or
 * until it reaches @target (bounded: 10 s). */
static guint
count_fds_settled (GPid pid, guint target)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint low = count_fds (pid), stable = 0;

  while (low > target && stable < 10 && g_get_monotonic_time () < deadline)
    {
      guint now;

      g_usleep (20 * 1000);
      now = count_fds (pid);
      stable = now < low ? 0 : stable + 1;
      low = MIN (low, now);
    }
  return low;
}

static guint64
rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + 6, NULL, 10);
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
  fds_before = count_fds_settled (pid, 0);
  rss_before = rss_kib (pid);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *sid = g_strdup_printf ("abort-%u", i);
      run_quick_abort (&f, i, sid);
    }
  assert_sessions_freed (&f);
  fds_after = count_fds_settled (pid, fds_before);
  rss_after = rss_kib (pid);
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
  static const char *const pairs[] = { "socks5-socks5", "http-socks5", "socks5-http",
                                       "http-http" };
  Fixture f = { 0 };
  GPid pid;
  guint fds_before, aborts = 0;

  g_test_summary ("128 simultaneous transfers through each of the four pairs, every byte "
                  "checked, while transfers are broken off one after another beside them; "
                  "afterwards no session is left and the descriptors are back.");
  /* The benchmark client's 128 and the abort loop's one, from alice. */
  fixture_start_limited (&f, "256");
  pid = pts_test_process_get_pid (f.server->process);
  run_fault (&f, fault_cases->pdata[0], "warm-up");
  assert_sessions_freed (&f);
  fds_before = count_fds_settled (pid, 0);

  for (guint p = 0; p < G_N_ELEMENTS (pairs); p++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *c2s = g_strdup_printf ("%s:%u", f.server->c2s_host, f.server->c2s_port);
      g_autofree char *socks5 = g_strdup_printf ("%s:%u", f.server->socks5_host,
                                                 f.server->socks5_port);
      g_autofree char *server_pid = g_strdup_printf ("%d", (int) pid);
      const char *argv[] = { bench_client (), "relay", "--name", pairs[p], "--pair", pairs[p],
                             "--c2s", c2s, "--socks5", socks5, "--domain", f.server->domain,
                             "--proxy-jid", f.server->proxy_jid, "--initiator",
                             "alice:" PTS_FIXTURE_PASSWORD, "--target",
                             "bob:" PTS_FIXTURE_PASSWORD, "--streams", "128", "--size", "1M",
                             "--timeout", "120", "--server-pid", server_pid, NULL };
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
  g_assert_cmpuint (count_fds_settled (pid, fds_before), ==, fds_before);
  fixture_stop (&f);
}

int
main (int argc, char **argv)
{
  static const char *const pairs[] = { "socks5-to-socks5", "http-to-socks5", "socks5-to-http",
                                       "http-to-http" };
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
  return g_test_run ();
}
