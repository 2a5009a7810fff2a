/* test-http-errors.c — the HTTP protocol errors of the bs-proxy HTTP side: unknown
 * URLs, a second GET or POST, refused uploads, a receiver or a sender that
 * goes away, a sender that gives less or more than announced.
 * Part of the test-server-http program (test-http.c).
 *
 * Alice is the initiator (sender), Bob the target (receiver); the shared
 * harness is test-http-harness.c. A server bug that a case reveals makes
 * that case skip with "known bug: …" (and the reason).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "test-http-harness.h"

/* ==== HTTP protocol errors ============================================================ */

static void
test_unknown_urls (void)
{
  Fixture f;
  g_autofree char *uuid = g_uuid_string_random ();
  g_autofree char *upload_url = NULL, *other_url = NULL, *download_url = NULL;
  g_autofree char *named_url = NULL, *empty_url = NULL;
  g_autofree char *fake_hash = g_strnfill (40, '0');
  PtsHttpUpload upload = { .sidhash = fake_hash, .size = 4096, .seed = 1 };
  PtsHttpUploadResult result = { 0 };
  PtsHttpResponse response = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("An upload to an upload URL the proxy never handed out, or to any other "
                  "path, and a download of an unknown id (with or without a file name) are "
                  "404; the base itself answers 204 with Bs-Proxy: 1 (the clients' reachability "
                  "check); none of them leaves a trace in /status.");

  fixture_start (&f, TRUE, NULL);
  upload_url = g_strdup_printf ("%s/upload/%s", f.http_base, uuid);
  other_url = g_strdup_printf ("%s/%s", f.http_base, uuid);
  download_url = g_strdup_printf ("%s/%s", f.http_base, uuid);
  named_url = g_strdup_printf ("%s/%s/file.bin", f.http_base, uuid);
  empty_url = g_strdup_printf ("%s/", f.http_base);

  pts_http_post_upload (upload_url, &upload, &result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result.response.status, ==, SOUP_STATUS_NOT_FOUND);
  pts_http_upload_result_clear (&result);

  pts_http_post_upload (other_url, &upload, &result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result.response.status, ==, SOUP_STATUS_NOT_FOUND);
  pts_http_upload_result_clear (&result);

  for (guint i = 0; i < 2; i++)
    {
      const char *url = i == 0 ? download_url : named_url;
      pts_http_get (url, 4096, &response, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (response.status, ==, SOUP_STATUS_NOT_FOUND);
      pts_http_response_clear (&response);
    }

  /* The base itself is the reachability check (PROTOCOL.md §1.5). */
  pts_http_get (empty_url, 4096, &response, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_NO_CONTENT);
  g_assert_cmpstr (soup_message_headers_get_one (response.headers, "Bs-Proxy"), ==, "1");
  g_assert_cmpuint (response.body_length, ==, 0);
  pts_http_response_clear (&response);

  status = status_expect_counts (&f, 0, 0, 0, NULL);
  fixture_stop (&f);
}

static void
test_second_get (void)
{
  Fixture f;
  const char *sid = "twice-get";
  g_autofree char *hash = NULL, *url = NULL;
  g_autoptr (GSocketConnection) initiator = NULL;
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (PtsHttpConn) first = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;
  PtsHttpResponse response = { 0 }, again = { 0 };
  guint8 data[64 * 1024];
  char expected[65];
  guint64 state = pts_http_stream_state (7);

  g_test_summary ("A download URL serves one GET: a second GET while the first is under "
                  "way is 410, and the first goes on undisturbed.");

  fixture_start (&f, TRUE, NULL);
  hash = pts_fixture_sidhash (sid, f.pair.alice, f.pair.bob);
  http_target_connect (&f, sid);
  initiator = pts_fixture_socks5 (f.pair.server, NULL, hash);
  reply = pts_fixture_activate (f.pair.alice, f.pair.server, sid,
                                pts_test_client_get_jid (f.pair.bob));
  pts_fixture_assert_result (reply);
  url = http_target_wait_activated (&f, hash);

  /* The head of the first GET comes with the first bytes, and proves that
   * it holds the download. Less than the relay's buffer in all: no thread
   * needed to read while sending. */
  pts_test_random_fill (&state, data, sizeof data);
  first = pts_http_conn_open (url, &error);
  g_assert_no_error (error);
  pts_http_conn_send_head (first, "GET", NULL, -1, &error);
  g_assert_no_error (error);
  pts_test_socket_send_all (initiator, data, 8192, &error);
  g_assert_no_error (error);
  pts_http_conn_read_head (first, &response, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  g_assert_cmpint (response.encoding, ==, SOUP_ENCODING_CHUNKED);

  pts_http_get (url, 4096, &again, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again.status, ==, SOUP_STATUS_GONE);
  pts_http_response_clear (&again);

  pts_test_socket_send_all (initiator, data + 8192, sizeof data - 8192, &error);
  g_assert_no_error (error);
  g_socket_shutdown (g_socket_connection_get_socket (initiator), FALSE, TRUE, &error);
  g_assert_no_error (error);
  pts_http_conn_read_body (first, &response, 0, 0, &error);
  g_assert_no_error (error);
  g_assert_true (response.complete);
  g_assert_cmpuint (response.body_length, ==, sizeof data);
  pts_http_stream_sha256 (7, sizeof data, expected);
  g_assert_cmpstr (response.sha256, ==, expected);
  pts_http_response_clear (&response);

  status = status_expect_counts (&f, 0, 1, 0, NULL);
  fixture_stop (&f);
}

typedef struct
{
  Fixture *f;
  const char *sidhash;
  const char *url;
  guint status;
} SecondPost;

/* Runs in the middle of the first upload. */
static void
second_post_pause (gpointer user_data)
{
  SecondPost *sp = user_data;
  PtsHttpUpload upload = { .sidhash = sp->sidhash, .size = 4096, .seed = 2 };
  PtsHttpUploadResult result = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;
  StatusExpect flowing = STATUS_ANY;

  /* Bytes of the first upload reached the receiver: it holds the URL. */
  flowing.sidhash = sp->sidhash;
  flowing.min_bytes = 1;
  status = status_expect (sp->f, &flowing);

  pts_http_post_upload (sp->url, &upload, &result, &error);
  g_assert_no_error (error);
  sp->status = result.response.status;
  pts_http_upload_result_clear (&result);
}

static void
test_second_post (void)
{
  Fixture f;
  const char *sid = "twice-post";
  g_auto (HttpSession) s = { NULL };
  g_autoptr (Job) download = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;
  SecondPost sp = { &f, NULL, NULL, 0 };
  PtsHttpUploadResult result = { 0 };
  PtsHttpUpload upload = {
    .size = 1 * MIB,
    .seed = 9,
    .declare_size = TRUE,
    .pause_after = 256 * 1024,
    .pause = second_post_pause,
    .pause_data = &sp,
  };

  g_test_summary ("An upload URL takes one POST: a second POST while the first is under way "
                  "is 409, and the first goes on undisturbed to 200.");

  fixture_start (&f, TRUE, NULL);
  http_session_open (&f, sid, &s);
  download = job_start_get (s.download_url, 0);

  sp.sidhash = s.hash;
  sp.url = s.upload_url;
  upload.sidhash = s.hash;
  pts_http_post_upload (s.upload_url, &upload, &result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sp.status, ==, SOUP_STATUS_CONFLICT);
  g_assert_no_error (result.send_error);
  g_assert_cmpuint (result.response.status, ==, SOUP_STATUS_OK);

  job_join (download);
  g_assert_no_error (download->error);
  g_assert_cmpuint (download->response.status, ==, SOUP_STATUS_OK);
  g_assert_true (download->response.complete);
  g_assert_cmpstr (download->response.sha256, ==, result.sent_sha256);
  pts_http_upload_result_clear (&result);

  status = status_expect_counts (&f, 0, 1, 0, NULL);
  fixture_stop (&f);
}

/* pts_http_early() refuses these from the request head alone
 * (pts_http_upload_attach() returns a status) without failing the relay. */
/* An upload the proxy refuses. */
typedef struct
{
  const char *path;
  const char *summary;
  guint status;
  const char *reason; /* its failed_by_reason counter */
  guint64 size;
  gboolean declare_size;
  gboolean wrong_sidhash;
  gboolean no_sidhash;
  gboolean file_first;
  const char *content_type; /* NULL: multipart/form-data */
  /* Refused for what the request is, before any of its file went on: the
   * session stays for the rightful sender, whose upload then arrives. */
  gboolean request_only;
  guint64 declare_more; /* the FILE part's Content-Length says this many bytes more */
} RefusalCase;

static const RefusalCase refusal_cases[] = {
  { "/server/http/upload/wrong-sidhash",
    "A SIDHASH part that is not the URL's session's hash is 403, and the session waits for "
    "the real upload, which arrives.",
    SOUP_STATUS_FORBIDDEN, "forbidden", 64 * 1024, FALSE, TRUE, FALSE, FALSE, NULL, TRUE },
  { "/server/http/upload/wrong-sidhash/large",
    "A 16 MiB upload with a wrong SIDHASH is 403 at once (not after its body), and the "
    "session waits for the real upload, which arrives.",
    SOUP_STATUS_FORBIDDEN, "forbidden", 16 * MIB, TRUE, TRUE, FALSE, FALSE, NULL, TRUE },
  { "/server/http/upload/file-before-sidhash",
    "The FILE part before the SIDHASH part is 400; the real upload then arrives.",
    SOUP_STATUS_BAD_REQUEST, "bad-input", 64 * 1024, FALSE, FALSE, FALSE, TRUE, NULL, TRUE },
  { "/server/http/upload/no-sidhash",
    "A FILE part without any SIDHASH part is 400; the real upload then arrives.",
    SOUP_STATUS_BAD_REQUEST, "bad-input", 64 * 1024, FALSE, FALSE, TRUE, FALSE, NULL, TRUE },
  { "/server/http/upload/too-large/declared",
    "A FILE part whose own Content-Length is over --max-file-size is 413.",
    SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large", 1 * MIB + 8, TRUE, FALSE, FALSE, FALSE, NULL,
    FALSE },
  { "/server/http/upload/too-large/estimated",
    "A FILE part that the request's Content-Length shows to be over --max-file-size is 413.",
    SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large", 1 * MIB + 8, FALSE, FALSE, FALSE, FALSE,
    NULL, FALSE },
  { "/server/http/upload/too-large/content-length",
    "A request whose Content-Length is far over --max-file-size is 413 before its body.",
    SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too-large", 4 * MIB, FALSE, FALSE, FALSE, FALSE, NULL,
    FALSE },
  /* Its bytes would be read straight from the socket (pts-http-upload.c):
   * never past the request's own body. */
  { "/server/http/upload/declared-past-the-body",
    "A FILE part whose own Content-Length goes past the end of the request's body is 400 "
    "before any of its bytes go on; the real upload then arrives.",
    SOUP_STATUS_BAD_REQUEST, "bad-input", 64 * 1024, TRUE, FALSE, FALSE, FALSE, NULL, TRUE,
    1 * MIB },
  { "/server/http/upload/not-multipart",
    "An upload that is not multipart/form-data is 400; the real upload then arrives.",
    SOUP_STATUS_BAD_REQUEST, "bad-input", 64 * 1024, FALSE, FALSE, FALSE, FALSE,
    "application/octet-stream", TRUE },
};

static void
test_upload_refused (gconstpointer data)
{
  const RefusalCase *tc = data;
  Fixture f;
  const char *sid = "refused";
  g_auto (HttpSession) s = { NULL };
  g_autofree char *other_hash = NULL;
  g_autoptr (Job) download = NULL, upload_job = NULL;
  g_autoptr (JsonObject) status = NULL;
  PtsHttpUpload upload = { 0 };

  g_test_summary (tc->summary);

  fixture_start (&f, TRUE, "--max-file-size", tc->request_only ? "0" : MAX_FILE_SIZE, NULL);
  http_session_open (&f, sid, &s);
  other_hash = pts_fixture_sidhash ("another-sid", f.pair.alice, f.pair.bob);
  download = job_start_get (s.download_url, 0);

  upload.sidhash = tc->no_sidhash ? NULL : tc->wrong_sidhash ? other_hash : s.hash;
  upload.file_first = tc->file_first;
  upload.size = tc->size;
  upload.seed = 3;
  upload.declare_size = tc->declare_size;
  upload.declare_more = tc->declare_more;
  upload.content_type = tc->content_type;
  upload_job = job_start_upload (s.upload_url, &upload);
  assert_upload_status (upload_job, tc->status);
  g_test_message ("answered %s after %" G_GUINT64_FORMAT " file bytes: %.*s",
                  upload_job->result.answered_early ? "early" : "after the request",
                  upload_job->result.file_sent, upload_job->result.response.body->len,
                  (const char *) upload_job->result.response.body->data);

  if (tc->request_only)
    {
      PtsHttpUpload real = { .sidhash = s.hash, .size = 256 * 1024, .seed = 4 };
      g_autoptr (Job) real_job = NULL;
      char expected[65];

      /* The refused request took nothing with it: not the session, not a
       * byte of its body into the download. */
      if (upload.size >= 4 * MIB)
        g_assert_cmpuint (upload_job->result.file_sent, <, upload.size);
      status = status_expect_counts (&f, 1, 0, 0, NULL);
      g_clear_pointer (&status, json_object_unref);
      real_job = job_start_upload (s.upload_url, &real);
      assert_upload_status (real_job, SOUP_STATUS_OK);
      job_join (download);
      g_assert_no_error (download->error);
      g_assert_cmpuint (download->response.status, ==, SOUP_STATUS_OK);
      g_assert_true (download->response.complete);
      pts_http_stream_sha256 (real.seed, real.size, expected);
      g_assert_cmpstr (download->response.sha256, ==, expected);
      status = status_expect_counts (&f, 0, 1, 0, NULL);
      fixture_stop (&f);
      return;
    }

  /* An error that is the session's ends it, and the receiver learns of it. */
  assert_download_failed (download);
  status = status_expect_counts (&f, 0, 0, 1, tc->reason);
  fixture_stop (&f);
}

typedef struct
{
  const char *path;
  gboolean http_target;
} ReceiverGoneCase;

static const ReceiverGoneCase receiver_gone_cases[] = {
  { "/server/http/receiver-gone/http", TRUE },
  { "/server/http/receiver-gone/socks5", FALSE },
};

static void
test_receiver_gone (gconstpointer data)
{
  const ReceiverGoneCase *tc = data;
  Fixture f;
  const char *sid = "receiver-gone";
  g_autofree char *hash = NULL, *upload_url = NULL, *download_url = NULL;
  g_autoptr (GSocketConnection) target_conn = NULL;
  g_autoptr (Job) receiver = NULL, sender = NULL;
  g_autoptr (JsonObject) status = NULL;
  PtsHttpUpload upload = { .size = 64 * MIB, .seed = 5, .declare_size = TRUE };

  g_test_summary ("When the receiver goes away after 1 MiB of a 64 MiB upload, the POST is "
                  "answered 502 (early, while the sender still writes) and the session is "
                  "freed, counted as receiver-gone.");

  fixture_start (&f, TRUE, NULL);
  hash = pts_fixture_sidhash (sid, f.pair.alice, f.pair.bob);
  if (tc->http_target)
    http_target_connect (&f, sid);
  else
    target_conn = pts_fixture_socks5 (f.pair.server, NULL, hash);
  upload_url = http_initiator_activate (&f, sid);
  if (tc->http_target)
    {
      download_url = http_target_wait_activated (&f, hash);
      receiver = job_start_get (download_url, 1 * MIB);
    }
  else
    receiver = job_start_receive (target_conn, 1 * MIB);

  upload.sidhash = hash;
  sender = job_start_upload (upload_url, &upload);
  job_join (receiver);
  g_assert_no_error (receiver->error);
  assert_upload_status (sender, SOUP_STATUS_BAD_GATEWAY);
  g_test_message ("502 %s after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " file bytes",
                  sender->result.answered_early ? "early" : "after the whole request",
                  sender->result.file_sent, upload.size);

  status = status_expect_counts (&f, 0, 0, 1, "receiver-gone");
  fixture_stop (&f);
}

typedef struct
{
  const char *path;
  gboolean declare_size;
  const char *known_bug; /* skips the case when the download ends cleanly */
} SenderGoneCase;

static const SenderGoneCase sender_gone_cases[] = {
  { "/server/http/sender-gone/content-length", TRUE, NULL },
  { "/server/http/sender-gone/chunked", FALSE, NULL },
};

typedef struct
{
  Job *download;
} SenderGone;

static void
sender_gone_pause (gpointer user_data)
{
  SenderGone *sg = user_data;

  /* The receiver holds the download before the sender breaks off. */
  job_wait_flag (sg->download, &sg->download->head_read);
}

static void
test_sender_gone (gconstpointer data)
{
  const SenderGoneCase *tc = data;
  Fixture f;
  const char *sid = "sender-gone";
  g_auto (HttpSession) s = { NULL };
  g_autoptr (Job) download = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;
  PtsHttpUploadResult result = { 0 };
  SenderGone sg = { NULL };
  PtsHttpUpload upload = {
    .size = 16 * MIB,
    .seed = 6,
    .close_after = 2 * MIB,
    .pause_after = 256 * 1024,
    .pause = sender_gone_pause,
    .pause_data = &sg,
  };
  PtsHttpResponse *r;
  char expected[65];

  g_test_summary ("When the sender breaks off after 2 MiB of a 16 MiB upload, the download "
                  "ends cut off, never cleanly: short of its Content-Length, or without the "
                  "last chunk; what did arrive is the start of the file. The session is "
                  "freed, counted as sender-gone.");

  fixture_start (&f, TRUE, NULL);
  http_session_open (&f, sid, &s);
  download = job_start_get (s.download_url, 0);
  sg.download = download;

  upload.sidhash = s.hash;
  upload.declare_size = tc->declare_size;
  pts_http_post_upload (s.upload_url, &upload, &result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result.file_sent, ==, 2 * MIB);
  pts_http_upload_result_clear (&result);

  job_join (download);
  g_assert_no_error (download->error);
  r = &download->response;
  g_test_message ("download: %" G_GUINT64_FORMAT " bytes, %s", r->body_length,
                  r->complete ? "complete" : "cut off");
  g_assert_cmpuint (r->status, ==, SOUP_STATUS_OK);
  if (tc->declare_size)
    {
      g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CONTENT_LENGTH);
      g_assert_cmpint (r->content_length, ==, (gint64) upload.size);
    }
  else
    g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CHUNKED);
  g_assert_cmpuint (r->body_length, <=, 2 * MIB);
  pts_http_stream_sha256 (upload.seed, r->body_length, expected);
  g_assert_cmpstr (r->sha256, ==, expected);

  status = status_expect_counts (&f, 0, 0, 1, "sender-gone");
  fixture_stop (&f);

  if (r->complete && tc->known_bug != NULL)
    {
      g_test_skip (tc->known_bug);
      return;
    }
  g_assert_false (r->complete);
}

/* ==== a sender that gives less (or more) than the receiver expects ==================== */

typedef struct
{
  const char *path;
  const char *summary;
  gboolean http_initiator;
  gint64 announced;   /* the size on Bob's <connect/> */
  guint64 sent;       /* what the sender gives, and then ends cleanly */
  gboolean declare;   /* the FILE part says its size (== sent) */
  gboolean delivered; /* the receiver gets a complete file */
} ShortCase;

static const ShortCase short_cases[] = {
  { "/server/http/short/socks5-to-http",
    "A SOCKS5 sender that ends cleanly after 1 MiB of the 4 MiB Bob announced on <connect/>: "
    "the download, framed by Content-Length: 4 MiB, is cut, never complete.",
    FALSE, 4 * MIB, 1 * MIB, FALSE, FALSE },
  { "/server/http/short/http-to-http",
    "An upload whose multipart body ends properly after 1 MiB of the 4 MiB Bob announced: the "
    "download is cut, and the upload is refused.",
    TRUE, 4 * MIB, 1 * MIB, FALSE, FALSE },
  { "/server/http/short/http-to-http-declared",
    "An upload whose FILE part declares 1 MiB when Bob announced 4 MiB: refused (400) "
    "before the download starts.",
    TRUE, 4 * MIB, 1 * MIB, TRUE, FALSE },
  { "/server/http/short/socks5-to-http-longer",
    "A SOCKS5 sender that sends 2 MiB when Bob announced 1 MiB: the download is exactly the "
    "first 1 MiB, framed by Content-Length, and the session counts as failed.",
    FALSE, 1 * MIB, 2 * MIB, FALSE, TRUE },
  { "/server/http/short/empty",
    "Bob announced 0 bytes and the SOCKS5 sender sends none: a complete empty download.", FALSE, 0,
    0, FALSE, TRUE },
};

static void
test_short_sender (gconstpointer data)
{
  const ShortCase *tc = data;
  Fixture f;
  const char *sid = "short-sid";
  g_autofree char *hash = NULL, *upload_url = NULL, *download_url = NULL;
  g_autoptr (GSocketConnection) initiator_conn = NULL;
  g_autoptr (Job) download = NULL, sender = NULL;
  g_autoptr (JsonObject) status = NULL;
  PtsHttpResponse *r;
  char expected[65];

  g_test_summary (tc->summary);
  fixture_start (&f, TRUE, NULL);
  hash = pts_fixture_sidhash (sid, f.pair.alice, f.pair.bob);
  http_target_connect_sized (&f, sid, tc->announced);
  upload_url = initiator_activate (&f, sid, hash, tc->http_initiator, &initiator_conn);
  download_url = http_target_wait_activated (&f, hash);
  download = job_start_get (download_url, 0);
  if (tc->http_initiator)
    {
      PtsHttpUpload upload
          = { .sidhash = hash, .size = tc->sent, .seed = 9, .declare_size = tc->declare };
      sender = job_start_upload (upload_url, &upload);
      job_join (sender);
      g_assert_no_error (sender->error);
      g_test_message ("upload answered %u", sender->result.response.status);
      g_assert_cmpuint (sender->result.response.status, !=, SOUP_STATUS_OK);
    }
  else
    {
      sender = job_start_send (initiator_conn, tc->sent, 9);
      job_join (sender);
    }

  job_join (download);
  r = &download->response;
  g_test_message ("download: status %u, %" G_GUINT64_FORMAT " bytes, %s", r->status, r->body_length,
                  r->complete ? "complete" : "cut off");
  if (tc->delivered)
    {
      g_assert_no_error (download->error);
      g_assert_cmpuint (r->status, ==, SOUP_STATUS_OK);
      g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CONTENT_LENGTH);
      g_assert_cmpint (r->content_length, ==, tc->announced);
      g_assert_true (r->complete);
      g_assert_cmpuint (r->body_length, ==, (guint64) tc->announced);
      pts_http_stream_sha256 (9, (guint64) tc->announced, expected);
      g_assert_cmpstr (r->sha256, ==, expected);
    }
  else
    {
      /* Never a well-framed short file. */
      assert_download_failed (download);
      if (r->status == SOUP_STATUS_OK)
        {
          g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CONTENT_LENGTH);
          g_assert_cmpint (r->content_length, ==, tc->announced);
          g_assert_false (r->complete);
        }
    }

  if (tc->sent == (guint64) tc->announced)
    status = status_expect_counts (&f, 0, 1, -1, NULL);
  else
    status = status_expect_counts (&f, 0, -1, 1, NULL);
  fixture_stop (&f);
}

void
test_http_add_errors (void)
{
  g_test_add_func ("/server/http/unknown-urls", test_unknown_urls);
  g_test_add_func ("/server/http/download/second-get", test_second_get);
  g_test_add_func ("/server/http/upload/second-post", test_second_post);
  for (gsize i = 0; i < G_N_ELEMENTS (refusal_cases); i++)
    g_test_add_data_func (refusal_cases[i].path, &refusal_cases[i], test_upload_refused);
  for (gsize i = 0; i < G_N_ELEMENTS (receiver_gone_cases); i++)
    g_test_add_data_func (receiver_gone_cases[i].path, &receiver_gone_cases[i], test_receiver_gone);
  for (gsize i = 0; i < G_N_ELEMENTS (sender_gone_cases); i++)
    g_test_add_data_func (sender_gone_cases[i].path, &sender_gone_cases[i], test_sender_gone);
  for (guint i = 0; i < G_N_ELEMENTS (short_cases); i++)
    g_test_add_data_func (short_cases[i].path, &short_cases[i], test_short_sender);
}
