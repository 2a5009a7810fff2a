/* test-http.c — the bs-proxy HTTP side: all four pairs and bounded memory
 *
 * The program test-server-http: this file has the four pairs (256 MiB each)
 * and the 1 GiB transfer under a memory bound; test-http-errors.c the HTTP
 * protocol errors, test-http-xmpp.c the XMPP ones, test-http-harness.c what
 * they share. Alice is the initiator (sender), Bob the target (receiver). A
 * server bug that a case reveals makes that case skip with "known bug: …"
 * (and the reason). TEST_HTTP_SERVER_VERBOSE=1 in the environment starts the
 * servers with --verbose.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "test-http-harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* ==== the four pairs ================================================================ */

typedef struct
{
  const char *path;
  gboolean http_initiator;
  gboolean http_target;
  gboolean declare_size; /* the FILE part has its own Content-Length */
  guint64 size;
  gboolean connect_size; /* the HTTP receiver's <connect/> names the size */
} PairCase;

static const PairCase pair_cases[] = {
  { "/server/http/pair/socks5-to-socks5", FALSE, FALSE, FALSE, 256 * MIB, FALSE },
  { "/server/http/pair/http-to-socks5", TRUE, FALSE, FALSE, 256 * MIB, FALSE },
  /* As the plugin uploads: the FILE part's declared bytes are read from
   * the socket itself and spliced to the SOCKS5 receiver. */
  { "/server/http/pair/http-to-socks5-declared", TRUE, FALSE, TRUE, 256 * MIB, FALSE },
  { "/server/http/pair/socks5-to-http", FALSE, TRUE, FALSE, 256 * MIB, FALSE },
  /* As the plugin's receiver asks: the download is the proxy's own socket
   * (pts-http-download.c), spliced from the SOCKS5 sender. */
  { "/server/http/pair/socks5-to-http-sized", FALSE, TRUE, FALSE, 256 * MIB, TRUE },
  { "/server/http/pair/http-to-http", TRUE, TRUE, TRUE, 256 * MIB, FALSE },
  { "/server/http/pair/http-to-http-chunked", TRUE, TRUE, FALSE, 32 * MIB, FALSE },
};

/* Whether the servers of this run were told to copy (PTS_TEST_SERVER_ARGS). */
static gboolean
servers_copy (void)
{
  const char *args = g_getenv ("PTS_TEST_SERVER_ARGS");

  return args != NULL && strstr (args, "--relay-copy") != NULL;
}

/* Whether they have relay workers (one per core unless told otherwise). */
static gboolean
servers_have_workers (void)
{
  const char *args = g_getenv ("PTS_TEST_SERVER_ARGS");

  return g_get_num_processors () > 1
         && (args == NULL || strstr (args, "--relay-threads 1") == NULL);
}

static void
test_pair (gconstpointer data)
{
  const PairCase *tc = data;
  Fixture f;
  const char *sid = "pair-sid";
  g_autofree char *hash = NULL;
  g_autofree char *upload_url = NULL, *download_url = NULL;
  g_autoptr (GSocketConnection) target_conn = NULL, initiator_conn = NULL;
  g_autoptr (Job) sender = NULL, receiver = NULL;
  g_autoptr (JsonObject) status = NULL;
  const char *sent_sha;

  g_test_summary ("One transfer of pseudo-random data through one of the four pairs of "
                  "PROTOCOL.md §4; the SHA-256 of what arrived equals that of what was "
                  "sent, the upload is answered 200, the download is framed by Content-Length "
                  "exactly when the FILE part declared its size (else chunked), an HTTP "
                  "receiver got <activated/> and <progress/> (with the total when known), "
                  "and /status counts one transfer done and keeps no session.");

  fixture_start (&f, TRUE, "--progress-interval", "50", NULL);
  hash = pts_fixture_sidhash (sid, f.pair.alice, f.pair.bob);

  /* The receiver's side first, as clients do. */
  if (tc->http_target && tc->connect_size)
    http_target_connect_sized (&f, sid, (gint64) tc->size);
  else if (tc->http_target)
    http_target_connect (&f, sid);
  else
    target_conn = pts_fixture_socks5 (f.pair.server, NULL, hash);

  upload_url = initiator_activate (&f, sid, hash, tc->http_initiator, &initiator_conn);

  if (tc->http_target)
    {
      download_url = http_target_wait_activated (&f, hash);
      receiver = job_start_get (download_url, 0);
    }
  else
    receiver = job_start_receive (target_conn, 0);

  if (tc->http_initiator)
    {
      PtsHttpUpload upload = {
        .sidhash = hash,
        .size = tc->size,
        .seed = 42,
        .filename = "pair.bin",
        .declare_size = tc->declare_size,
      };
      sender = job_start_upload (upload_url, &upload);
    }
  else
    sender = job_start_send (initiator_conn, tc->size, 42);

  job_join (sender);
  job_join (receiver);

  /* The sender's end. */
  g_assert_no_error (sender->error);
  g_assert_true (sender->ok);
  if (tc->http_initiator)
    {
      g_assert_no_error (sender->result.send_error);
      g_assert_cmpuint (sender->result.file_sent, ==, tc->size);
      g_assert_cmpuint (sender->result.response.status, ==, SOUP_STATUS_OK);
      g_assert_true (sender->result.response.complete);
      sent_sha = sender->result.sent_sha256;
    }
  else
    {
      g_assert_cmpuint (sender->bytes, ==, tc->size);
      sent_sha = sender->sha256;
    }

  /* The receiver's end. */
  g_assert_no_error (receiver->error);
  g_assert_true (receiver->ok);
  if (tc->http_target)
    {
      PtsHttpResponse *r = &receiver->response;
      const char *disposition = soup_message_headers_get_one (r->headers, "Content-Disposition");

      g_assert_cmpuint (r->status, ==, SOUP_STATUS_OK);
      g_assert_true (r->complete);
      g_assert_cmpuint (r->body_length, ==, tc->size);
      g_assert_cmpstr (r->sha256, ==, sent_sha);
      g_assert_cmpstr (soup_message_headers_get_content_type (r->headers, NULL), ==,
                       "application/octet-stream");
      g_assert_nonnull (disposition);
      g_assert_true (g_str_has_prefix (disposition, "attachment"));
      if (tc->http_initiator)
        g_assert_nonnull (strstr (disposition, "pair.bin"));
      if ((tc->http_initiator && tc->declare_size) || tc->connect_size)
        {
          /* The proxy writes this response itself: one per connection. */
          g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CONTENT_LENGTH);
          g_assert_cmpint (r->content_length, ==, (gint64) tc->size);
          g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Connection"), ==, "close");
          g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Cache-Control"), ==,
                           "no-store");
        }
      else
        g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CHUNKED);
    }
  else
    {
      g_assert_true (receiver->eof);
      g_assert_cmpuint (receiver->bytes, ==, tc->size);
      g_assert_cmpstr (receiver->sha256, ==, sent_sha);
    }
  if (tc->http_initiator || tc->http_target)
    {
      /* Zero-copy where both ends are plain sockets, unless told to copy:
       * from a SOCKS5 sender once the download is the proxy's own socket
       * (it knows the size), and from an upload's FILE part that declared
       * its length to a SOCKS5 receiver or to such a download. A SOCKS5
       * sender's relay then goes on in a worker thread, if there are any;
       * an upload's stays on the main thread. */
      gboolean sockets = tc->http_initiator ? tc->declare_size : tc->connect_size;
      gboolean spliced = sockets && !servers_copy ();
      gboolean moved = !tc->http_initiator && sockets && servers_have_workers ();
      g_autofree char *line = g_strdup_printf ("MiB/s, %s, %s thread)", spliced ? "splice" : "copy",
                                               moved ? "worker" : "main");

      pts_fixture_assert_log_count (f.pair.server, line, 1);
    }
  g_test_message ("%" G_GUINT64_FORMAT " bytes, SHA-256 %s", tc->size, sent_sha);

  /* The proxy's books. */
  status = status_expect_counts (&f, 0, 1, 0, NULL);
  g_assert_cmpint (status_counter (status, "bytes_relayed"), ==, (gint64) tc->size);

  if (tc->http_target)
    {
      /* The proxy knows the size from an upload, or from the receiver. */
      gboolean known = tc->http_initiator || tc->connect_size;
      guint n = http_target_check_progress (&f, hash, known ? (gint64) tc->size : -1);
      g_assert_cmpuint (n, >=, 1);
    }

  fixture_stop (&f);
}

/* ==== memory ================================================================================ */

#define MEMORY_SIZE (1024 * MIB)
#define MEMORY_SLACK_KIB (8 * 1024)
#define MEMORY_SAMPLE_MS 50

/* The resident set of @pid in KiB, from /proc. */
static guint64
read_vm_rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  const char *line;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  line = strstr (text, "\nVmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("\nVmRSS:"), NULL, 10);
}

static void
test_memory (void)
{
  Fixture f;
  const char *sid = "memory";
  g_auto (HttpSession) s = { NULL };
  g_autoptr (Job) download = NULL, upload_job = NULL;
  g_autoptr (JsonObject) status = NULL;
  PtsHttpUpload upload = { .size = MEMORY_SIZE, .seed = 11 };
  guint64 baseline = 0, peak = 0;
  guint samples = 0;
  GPid pid;

  g_test_summary ("1 GiB through HTTP to HTTP (chunked, the size never declared) while the "
                  "server's VmRSS is sampled every 50 ms: the peak stays within 8 MiB of the "
                  "sample taken once the transfer got going. A test of the bound, not of "
                  "speed.");
#ifdef TEST_ASAN
  g_test_skip ("AddressSanitizer changes the server's memory use");
  return;
#endif
  if (!g_file_test ("/proc/self/status", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /proc/PID/status here");
      return;
    }

  fixture_start (&f, TRUE, NULL);
  pid = pts_test_process_get_pid (f.pair.server->process);
  g_assert_cmpint (pid, >, 0);
  http_session_open (&f, sid, &s);
  download = job_start_get (s.download_url, 0);
  upload.sidhash = s.hash;
  upload_job = job_start_upload (s.upload_url, &upload);

  /* Bounded by the jobs, whose every wait is bounded. */
  while (!job_wait (download, MEMORY_SAMPLE_MS))
    {
      guint64 rss = read_vm_rss_kib (pid);

      if (baseline == 0)
        {
          /* The transfer got going: the first 16 MiB went through. */
          g_autoptr (JsonObject) now = status_get (&f);
          JsonObject *session = status_session (now, s.hash);
          gint64 bytes
              = session != NULL ? json_object_get_int_member_with_default (session, "bytes", 0) : 0;
          if (bytes >= (gint64) (16 * MIB))
            baseline = peak = rss;
          continue;
        }
      peak = MAX (peak, rss);
      samples++;
    }
  job_join (upload_job);

  g_assert_no_error (upload_job->error);
  g_assert_cmpuint (upload_job->result.response.status, ==, SOUP_STATUS_OK);
  g_assert_no_error (download->error);
  g_assert_true (download->response.complete);
  g_assert_cmpuint (download->response.body_length, ==, MEMORY_SIZE);
  g_assert_cmpstr (download->response.sha256, ==, upload_job->result.sent_sha256);

  g_test_message ("VmRSS: %" G_GUINT64_FORMAT " KiB once under way, peak %" G_GUINT64_FORMAT
                  " KiB over %u samples",
                  baseline, peak, samples);
  g_assert_cmpuint (baseline, >, 0);
  g_assert_cmpuint (samples, >=, 3);
  g_assert_cmpuint (peak, <=, baseline + MEMORY_SLACK_KIB);

  status = status_expect_counts (&f, 0, 1, -1, NULL);
  fixture_stop (&f);
}

int
main (int argc, char **argv)
{
#ifdef TEST_ASAN
  {
    /* The server inherits this. libsoup leaves objects behind at exit
     * (an accepted GSocket per HTTP connection, the address of
     * soup_server_get_uris()) that tests/lsan.supp suppresses by
     * g_type_create_instance; GLib has no frame pointers, so only whole
     * stacks show that frame (pts-test-util does the same for us). */
    const char *options = g_getenv ("ASAN_OPTIONS");
    g_autofree char *more
        = g_strconcat (options ? options : "", options ? ":" : "", "fast_unwind_on_malloc=0", NULL);
    g_setenv ("ASAN_OPTIONS", more, TRUE);
  }
#endif
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (pair_cases); i++)
    g_test_add_data_func (pair_cases[i].path, &pair_cases[i], test_pair);
  test_http_add_errors ();
  test_http_add_xmpp ();
  g_test_add_func ("/server/http/memory/1gib", test_memory);

  return g_test_run ();
}
