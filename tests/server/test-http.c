/* test-http.c — the bs-proxy HTTP side: all four pairs, every protocol error, bounded memory
 *
 * Alice is the initiator (sender), Bob the target (receiver). The sending
 * and the receiving ends of a transfer run in threads of their own ("jobs"),
 * while the main thread plays XMPP and reads /status. A server bug that a
 * case reveals makes that case skip with "known bug: …" (and the reason).
 * TEST_HTTP_SERVER_VERBOSE=1 in the environment starts the servers with
 * --verbose.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

#include "pts-fixture.h"
#include "pts-http-client.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define CHUNK (256 * 1024)
#define MAX_FILE_SIZE "1048576"
/* How long /status may take to show what a test expects. */
#define STATUS_TIMEOUT_MS 10000

/* ==== the server and its two users ========================================= */

typedef struct
{
  PtsFixturePair pair; /* Alice sends, Bob receives */
  char *http_base;     /* NULL without the HTTP side */
} Fixture;

/* The server (with its HTTP side when @http) and the options given, then
 * Alice and Bob signed in. */
static void
fixture_start (Fixture *f, gboolean http, const char *first_arg, ...)
{
  const char *options[4] = { NULL };
  guint n_options = 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *ready = NULL;
  JsonObject *obj;
  va_list ap;

  memset (f, 0, sizeof *f);
  if (http)
    {
      options[n_options++] = "--http-port";
      options[n_options++] = "0";
    }
  if (g_getenv ("TEST_HTTP_SERVER_VERBOSE") != NULL)
    options[n_options++] = "--verbose";
  va_start (ap, first_arg);
  pts_fixture_pair_start_valist (&f->pair, options, first_arg, ap);
  va_end (ap);

  /* The support library keeps the READY line; the HTTP side is ours. */
  pts_test_process_wait_line (f->pair.server->process, PTS_TEST_STDOUT, "READY {", 1, 0, &ready,
                              &error);
  g_assert_no_error (error);
  json_parser_load_from_data (parser, ready + strlen ("READY "), -1, &error);
  g_assert_no_error (error);
  obj = json_node_get_object (json_parser_get_root (parser));
  if (http)
    {
      g_assert_true (json_object_has_member (obj, "http"));
      f->http_base = g_strdup (json_object_get_string_member (obj, "http_base_url"));
      g_assert_true (g_str_has_prefix (f->http_base, "http://127.0.0.1:"));
    }
  else
    g_assert_false (json_object_has_member (obj, "http"));
}

static void
fixture_stop (Fixture *f)
{
  g_clear_pointer (&f->http_base, g_free);
  pts_fixture_pair_stop (&f->pair);
}

static char *
fixture_url (Fixture *f, const char *path)
{
  return g_strconcat (f->http_base, path, NULL);
}

/* ==== /status =================================================================== */

static JsonObject *
status_get (Fixture *f)
{
  g_autofree char *url = fixture_url (f, "/status");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  PtsHttpResponse response = { 0 };
  JsonObject *status;

  pts_http_get (url, 1024 * 1024, &response, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (response.status, ==, SOUP_STATUS_OK);
  g_assert_true (response.complete);
  json_parser_load_from_data (parser, (const char *) response.body->data, response.body->len,
                              &error);
  g_assert_no_error (error);
  status = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  pts_http_response_clear (&response);
  return status;
}

static gint64
status_counter (JsonObject *status, const char *name)
{
  return json_object_get_int_member (json_object_get_object_member (status, "counters"), name);
}

static gint64
status_failures (JsonObject *status, const char *reason)
{
  JsonObject *counters = json_object_get_object_member (status, "counters");
  JsonObject *reasons = json_object_get_object_member (counters, "failed_by_reason");

  return json_object_get_int_member_with_default (reasons, reason, 0);
}

static JsonObject *
status_session (JsonObject *status, const char *sidhash)
{
  JsonArray *sessions = json_object_get_array_member (status, "sessions");

  for (guint i = 0; i < json_array_get_length (sessions); i++)
    {
      JsonObject *session = json_array_get_object_element (sessions, i);
      const char *prefix = json_object_get_string_member (session, "sidhash_prefix");

      /* /status shows only a prefix: enough to tell sessions apart. */
      g_assert_false (json_object_has_member (session, "sidhash"));
      g_assert_cmpuint (strlen (prefix), <, 40);
      if (g_str_has_prefix (sidhash, prefix))
        return session;
    }
  return NULL;
}

/* What /status should come to show; -1 (NULL): anything. */
typedef struct
{
  gint64 sessions;
  gint64 done;
  gint64 failed;
  const char *reason; /* failed_by_reason[reason] == reason_count */
  gint64 reason_count;
  const char *sidhash; /* that session exists with at least min_bytes relayed */
  gint64 min_bytes;
} StatusExpect;

#define STATUS_ANY                                                                                 \
  {                                                                                                \
    -1, -1, -1, NULL, -1, NULL, -1                                                                 \
  }

static gboolean
status_matches (JsonObject *status, const StatusExpect *want)
{
  JsonObject *session;

  if (want->sessions >= 0
      && json_array_get_length (json_object_get_array_member (status, "sessions"))
             != (guint) want->sessions)
    return FALSE;
  if (want->done >= 0 && status_counter (status, "transfers_done") != want->done)
    return FALSE;
  if (want->failed >= 0 && status_counter (status, "transfers_failed") != want->failed)
    return FALSE;
  if (want->reason != NULL && status_failures (status, want->reason) != want->reason_count)
    return FALSE;
  if (want->sidhash != NULL)
    {
      session = status_session (status, want->sidhash);
      if (session == NULL
          || json_object_get_int_member_with_default (session, "bytes", 0) < want->min_bytes)
        return FALSE;
    }
  return TRUE;
}

/* Polls /status until it shows @want (the server settles a transfer from
 * its main loop, a moment after the last byte) and returns it; NULL after
 * @timeout_ms, with the last status logged. */
static JsonObject *
status_poll (Fixture *f, const StatusExpect *want, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *json = NULL;

  /* Bounded by the deadline; a poll is one small request. */
  for (;;)
    {
      JsonObject *status = status_get (f);

      if (status_matches (status, want))
        return status;
      if (g_get_monotonic_time () >= deadline)
        {
          json_node_take_object (node, status);
          break;
        }
      json_object_unref (status);
      g_usleep (10 * 1000);
    }
  json = json_to_string (node, TRUE);
  g_test_message ("/status did not show sessions=%" G_GINT64_FORMAT " done=%" G_GINT64_FORMAT
                  " failed=%" G_GINT64_FORMAT " %s=%" G_GINT64_FORMAT " within %u ms; the "
                  "last:\n%s",
                  want->sessions, want->done, want->failed, want->reason ? want->reason : "-",
                  want->reason_count, timeout_ms, json);
  return NULL;
}

static JsonObject *
status_expect (Fixture *f, const StatusExpect *want)
{
  JsonObject *status = status_poll (f, want, STATUS_TIMEOUT_MS);

  g_assert_nonnull (status);
  return status;
}

/* status_expect () for the counts: @sessions open, @done transfers done,
 * @failed failed (-1: any), and @reason, unless NULL, counted once. */
static JsonObject *
status_expect_counts (Fixture *f, gint64 sessions, gint64 done, gint64 failed, const char *reason)
{
  StatusExpect want = STATUS_ANY;

  want.sessions = sessions;
  want.done = done;
  want.failed = failed;
  if (reason != NULL)
    {
      want.reason = reason;
      want.reason_count = 1;
    }
  return status_expect (f, &want);
}

/* ==== XMPP: <connect>, activation, pushes ====================================== */

/* <connect/>, announcing the file's @size when it is not negative. */
static PtsNode *
send_connect_sized (Fixture *f, PtsTestClient *target, const char *sid, const char *initiator_jid,
                    gint64 size)
{
  g_autofree char *size_text = g_strdup_printf ("%" G_GINT64_FORMAT, size);

  if (size < 0)
    return pts_fixture_iq (target,
                           "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='%s' "
                           "jid='%s'/></iq>",
                           f->pair.server->proxy_jid, sid, initiator_jid);
  return pts_fixture_iq (target,
                         "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='%s' "
                         "jid='%s' size='%s'/></iq>",
                         f->pair.server->proxy_jid, sid, initiator_jid, size_text);
}

static PtsNode *
send_connect (Fixture *f, PtsTestClient *target, const char *sid, const char *initiator_jid)
{
  return send_connect_sized (f, target, sid, initiator_jid, -1);
}

/* Bob registers as the HTTP receiver of Alice's stream @sid, announcing
 * its @size unless negative. */
static void
http_target_connect_sized (Fixture *f, const char *sid, gint64 size)
{
  g_autoptr (PtsNode) reply
      = send_connect_sized (f, f->pair.bob, sid, pts_test_client_get_jid (f->pair.alice), size);
  PtsNode *connected;

  pts_fixture_assert_result (reply);
  connected = pts_node_get_child (reply, "connected", NS_BSPROXY);
  g_assert_nonnull (connected);
  g_assert_cmpstr (pts_node_get_attr (connected, "jid"), ==, f->pair.server->proxy_jid);
}

static void
http_target_connect (Fixture *f, const char *sid)
{
  http_target_connect_sized (f, sid, -1);
}

static PtsNode *
send_activate_x (Fixture *f, const char *sid)
{
  return pts_fixture_iq (f->pair.alice,
                         "<iq type='set' to='%s'><query xmlns='%s' sid='%s'>"
                         "<activate>%s</activate><x xmlns='" NS_BSPROXY "'/></query></iq>",
                         f->pair.server->proxy_jid, PTS_NS_BYTESTREAMS, sid,
                         pts_test_client_get_jid (f->pair.bob));
}

/* Alice activates @sid for an HTTP upload; returns the upload URL. */
static char *
http_initiator_activate (Fixture *f, const char *sid)
{
  g_autoptr (PtsNode) reply = send_activate_x (f, sid);
  g_autofree char *prefix = fixture_url (f, "/upload/");
  PtsNode *activated;
  const char *url;

  pts_fixture_assert_result (reply);
  activated = pts_node_get_child (reply, "activated", NS_BSPROXY);
  g_assert_nonnull (activated);
  url = pts_node_get_attr (activated, "url");
  g_assert_nonnull (url);
  g_assert_true (g_str_has_prefix (url, prefix));
  g_assert_cmpuint (strlen (url), >, strlen (prefix));
  return g_strdup (url);
}

static gboolean
match_push (const PtsNode *stanza, gpointer user_data)
{
  return pts_node_is (stanza, "iq", NULL)
         && g_strcmp0 (pts_node_get_attr (stanza, "type"), "set") == 0
         && pts_node_get_child (stanza, user_data, NS_BSPROXY) != NULL;
}

/* Answers a push from the proxy, as a receiver must. */
static void
push_answer (Fixture *f, const PtsNode *push)
{
  g_assert_cmpstr (pts_node_get_attr (push, "from"), ==, f->pair.server->proxy_jid);
  pts_fixture_send (f->pair.bob, "<iq type='result' to='%s' id='%s'/>",
                    pts_node_get_attr (push, "from"), pts_node_get_attr (push, "id"));
}

/* Bob's <activated/> push for @sidhash; returns the download URL. */
static char *
http_target_wait_activated (Fixture *f, const char *sidhash)
{
  g_autoptr (PtsNode) push = pts_fixture_wait (f->pair.bob, match_push, (gpointer) "activated");
  PtsNode *activated = pts_node_get_child (push, "activated", NS_BSPROXY);
  g_autofree char *prefix = fixture_url (f, "/");
  const char *url = pts_node_get_attr (activated, "url");

  push_answer (f, push);
  g_assert_cmpstr (pts_node_get_attr (activated, "sidhash"), ==, sidhash);
  g_assert_nonnull (url);
  g_assert_true (g_str_has_prefix (url, prefix));
  g_assert_false (g_str_has_prefix (url + strlen (prefix), "upload/"));
  return g_strdup (url);
}

/* One stream of Alice's to Bob over HTTP at both ends, once activated. */
typedef struct
{
  char *hash;         /* its SIDHASH */
  char *upload_url;   /* Alice's */
  char *download_url; /* Bob's */
} HttpSession;

static void
http_session_clear (HttpSession *session)
{
  g_clear_pointer (&session->hash, g_free);
  g_clear_pointer (&session->upload_url, g_free);
  g_clear_pointer (&session->download_url, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HttpSession, http_session_clear)

/* Bob waits for Alice's stream @sid over HTTP and Alice activates it. */
static void
http_session_open (Fixture *f, const char *sid, HttpSession *session)
{
  session->hash = pts_fixture_sidhash (sid, f->pair.alice, f->pair.bob);
  http_target_connect (f, sid);
  session->upload_url = http_initiator_activate (f, sid);
  session->download_url = http_target_wait_activated (f, session->hash);
}

/* Takes (and answers) Bob's <progress/> pushes; there must be at least one,
 * each for @sidhash, with total = @total when it is known (else none), and
 * sent never going back nor past the total. Returns how many came. */
static guint
http_target_check_progress (Fixture *f, const char *sidhash, gint64 total)
{
  g_autoptr (GError) error = NULL;
  guint64 last_sent = 0;
  guint count = 0;
  PtsNode *push;

  /* The first may still be on its way; the rest came along with it. */
  push = pts_test_client_wait (f->pair.bob, match_push, (gpointer) "progress", PTS_TEST_TIMEOUT_MS,
                               &error);
  g_assert_no_error (error);
  while (push != NULL)
    {
      PtsNode *progress = pts_node_get_child (push, "progress", NS_BSPROXY);
      const char *total_attr = pts_node_get_attr (progress, "total");
      guint64 sent = 0;

      push_answer (f, push);
      g_assert_cmpstr (pts_node_get_attr (progress, "sidhash"), ==, sidhash);
      g_assert_true (g_ascii_string_to_unsigned (pts_node_get_attr (progress, "sent"), 10, 0,
                                                 G_MAXUINT64, &sent, NULL));
      g_assert_cmpuint (sent, >=, last_sent);
      last_sent = sent;
      if (total >= 0)
        {
          g_assert_cmpstr (total_attr, !=, NULL);
          g_assert_cmpint (g_ascii_strtoll (total_attr, NULL, 10), ==, total);
          g_assert_cmpuint (sent, <=, (guint64) total);
        }
      else
        g_assert_null (total_attr);
      count++;
      pts_node_free (push);
      push = pts_test_client_wait (f->pair.bob, match_push, (gpointer) "progress", 0, NULL);
    }
  g_test_message ("%u <progress/> pushes, the last at %" G_GUINT64_FORMAT " bytes", count,
                  last_sent);
  return count;
}

/* ==== jobs: one end of a transfer in a thread ===================================== */

typedef enum
{
  JOB_GET,
  JOB_UPLOAD,
  JOB_SOCKET_SEND,
  JOB_SOCKET_RECEIVE,
} JobKind;

typedef struct
{
  JobKind kind;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean sent;      /* JOB_GET: the request went out */
  gboolean head_read; /* JOB_GET: the response head came */
  gboolean finished;

  /* What to do. */
  char *url;
  char *sidhash;
  PtsHttpUpload upload;
  GSocketConnection *conn;
  guint64 size;
  guint64 seed;
  guint64 stop_after; /* receivers: close after this many bytes (0: read all) */

  /* What happened. */
  gboolean ok;
  GError *error;
  PtsHttpResponse response;   /* JOB_GET */
  PtsHttpUploadResult result; /* JOB_UPLOAD */
  guint64 bytes;              /* JOB_SOCKET_* */
  char sha256[65];            /* JOB_SOCKET_* */
  gboolean eof;               /* JOB_SOCKET_RECEIVE: the proxy closed */
} Job;

static void
job_set_flag (Job *job, gboolean *flag)
{
  g_mutex_lock (&job->lock);
  *flag = TRUE;
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);
}

static void
job_run_get (Job *job)
{
  g_autoptr (PtsHttpConn) conn = pts_http_conn_open (job->url, &job->error);

  job->ok = conn != NULL && pts_http_conn_send_head (conn, "GET", NULL, -1, &job->error);
  job_set_flag (job, &job->sent);
  job->ok = job->ok && pts_http_conn_read_head (conn, &job->response, &job->error);
  job_set_flag (job, &job->head_read);
  if (job->ok)
    job->ok = pts_http_conn_read_body (conn, &job->response, 4096, job->stop_after, &job->error);
  /* Freeing the connection closes it, finished or not. */
}

static void
job_run_socket_send (Job *job)
{
  GSocket *socket = g_socket_connection_get_socket (job->conn);
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (CHUNK);
  guint64 state = pts_http_stream_state (job->seed);

  job->ok = TRUE;
  while (job->ok && job->bytes < job->size)
    {
      gsize n = (gsize) MIN ((guint64) CHUNK, job->size - job->bytes);
      pts_test_random_fill (&state, buf, n);
      g_checksum_update (sha, buf, n);
      job->ok = pts_test_socket_send_all (job->conn, buf, n, &job->error);
      if (job->ok)
        job->bytes += n;
    }
  /* The end of the data: the proxy passes it on as the end of the file. */
  if (job->ok)
    job->ok = g_socket_shutdown (socket, FALSE, TRUE, &job->error);
  g_strlcpy (job->sha256, g_checksum_get_string (sha), sizeof job->sha256);
}

static void
job_run_socket_receive (Job *job)
{
  GSocket *socket = g_socket_connection_get_socket (job->conn);
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (CHUNK);

  /* Bounded: every round waits at most the timeout, and a readable socket
   * yields data, the end, or an error. */
  job->ok = TRUE;
  while (job->stop_after == 0 || job->bytes < job->stop_after)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, (gint64) PTS_TEST_TIMEOUT_MS * 1000,
                                          NULL, &job->error))
        {
          job->ok = FALSE;
          break;
        }
      n = g_socket_receive_with_blocking (socket, (char *) buf, CHUNK, FALSE, NULL, &local_error);
      if (n < 0 && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        continue;
      if (n <= 0)
        {
          job->eof = TRUE; /* a reset is an end too; the byte count tells */
          break;
        }
      g_checksum_update (sha, buf, n);
      job->bytes += n;
    }
  if (job->stop_after > 0)
    g_io_stream_close (G_IO_STREAM (job->conn), NULL, NULL);
  g_strlcpy (job->sha256, g_checksum_get_string (sha), sizeof job->sha256);
}

static gpointer
job_thread (gpointer data)
{
  Job *job = data;

  switch (job->kind)
    {
    case JOB_GET: job_run_get (job); break;
    case JOB_UPLOAD:
      job->ok = pts_http_post_upload (job->url, &job->upload, &job->result, &job->error);
      break;
    case JOB_SOCKET_SEND: job_run_socket_send (job); break;
    case JOB_SOCKET_RECEIVE: job_run_socket_receive (job); break;
    }
  g_mutex_lock (&job->lock);
  job->sent = job->head_read = TRUE;
  job->finished = TRUE;
  g_cond_broadcast (&job->cond);
  g_mutex_unlock (&job->lock);
  return NULL;
}

static Job *
job_new (JobKind kind)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  g_mutex_init (&job->lock);
  g_cond_init (&job->cond);
  return job;
}

static Job *
job_start (Job *job)
{
  job->thread = g_thread_new ("test-http-job", job_thread, job);
  return job;
}

/* GET @url; with @stop_after > 0 the connection closes after that many
 * body bytes. */
static Job *
job_start_get (const char *url, guint64 stop_after)
{
  Job *job = job_new (JOB_GET);

  job->url = g_strdup (url);
  job->stop_after = stop_after;
  return job_start (job);
}

static Job *
job_start_upload (const char *url, const PtsHttpUpload *upload)
{
  Job *job = job_new (JOB_UPLOAD);

  job->url = g_strdup (url);
  job->upload = *upload;
  job->sidhash = g_strdup (upload->sidhash);
  job->upload.sidhash = job->sidhash;
  return job_start (job);
}

/* Writes @size bytes of the stream of @seed to @conn, then ends the stream. */
static Job *
job_start_send (GSocketConnection *conn, guint64 size, guint64 seed)
{
  Job *job = job_new (JOB_SOCKET_SEND);

  job->conn = g_object_ref (conn);
  job->size = size;
  job->seed = seed;
  return job_start (job);
}

/* Reads @conn until its end (or @stop_after bytes, then closes it). */
static Job *
job_start_receive (GSocketConnection *conn, guint64 stop_after)
{
  Job *job = job_new (JOB_SOCKET_RECEIVE);

  job->conn = g_object_ref (conn);
  job->stop_after = stop_after;
  return job_start (job);
}

/* Waits at most @timeout_ms for the job to end; TRUE once it has. */
static gboolean
job_wait (Job *job, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean finished;

  g_mutex_lock (&job->lock);
  while (!job->finished && g_cond_wait_until (&job->cond, &job->lock, deadline))
    ;
  finished = job->finished;
  g_mutex_unlock (&job->lock);
  return finished;
}

/* Waits (bounded by the client's own timeouts) until a GET job set @flag
 * (sent its request, or read the response head), or ended. */
static void
job_wait_flag (Job *job, gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) 2 * PTS_HTTP_CLIENT_TIMEOUT_MS * 1000;
  gboolean set;

  g_mutex_lock (&job->lock);
  while (!*flag && g_cond_wait_until (&job->cond, &job->lock, deadline))
    ;
  set = *flag;
  g_mutex_unlock (&job->lock);
  g_assert_true (set);
}

static void
job_join (Job *job)
{
  if (job->thread != NULL)
    g_thread_join (g_steal_pointer (&job->thread));
}

static void
job_free (Job *job)
{
  job_join (job);
  g_clear_error (&job->error);
  pts_http_response_clear (&job->response);
  pts_http_upload_result_clear (&job->result);
  g_clear_object (&job->conn);
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->cond);
  g_free (job->url);
  g_free (job->sidhash);
  g_free (job);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

/* The upload ended with an answer of @status. */
static void
assert_upload_status (Job *job, guint status)
{
  job_join (job);
  if (job->result.send_error != NULL)
    g_test_message ("the upload was not sent whole (%" G_GUINT64_FORMAT " file bytes): %s",
                    job->result.file_sent, job->result.send_error->message);
  g_assert_no_error (job->error);
  g_assert_true (job->ok);
  g_assert_cmpuint (job->result.response.status, ==, status);
}

/* A download that must not look like a success: an error status, or a body
 * cut off. */
static void
assert_download_failed (Job *job)
{
  job_join (job);
  g_test_message ("download: status %u, %" G_GUINT64_FORMAT " bytes, %s%s%s", job->response.status,
                  job->response.body_length, job->response.complete ? "complete" : "cut off",
                  job->error ? ", " : "", job->error ? job->error->message : "");
  g_assert_false (job->ok && job->response.status == SOUP_STATUS_OK && job->response.complete);
}

/* ==== the four pairs ================================================================ */

typedef struct
{
  const char *path;
  gboolean http_initiator;
  gboolean http_target;
  gboolean declare_size; /* the FILE part has its own Content-Length */
  guint64 size;
} PairCase;

static const PairCase pair_cases[] = {
  { "/server/http/pair/socks5-to-socks5", FALSE, FALSE, FALSE, 256 * MIB },
  { "/server/http/pair/http-to-socks5", TRUE, FALSE, FALSE, 256 * MIB },
  { "/server/http/pair/socks5-to-http", FALSE, TRUE, FALSE, 256 * MIB },
  { "/server/http/pair/http-to-http", TRUE, TRUE, TRUE, 256 * MIB },
  { "/server/http/pair/http-to-http-chunked", TRUE, TRUE, FALSE, 32 * MIB },
};

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
  if (tc->http_target)
    http_target_connect (&f, sid);
  else
    target_conn = pts_fixture_socks5 (f.pair.server, NULL, hash);

  if (tc->http_initiator)
    upload_url = http_initiator_activate (&f, sid);
  else
    {
      g_autoptr (PtsNode) reply = NULL;

      initiator_conn = pts_fixture_socks5 (f.pair.server, NULL, hash);
      reply = pts_fixture_activate (f.pair.alice, f.pair.server, sid,
                                    pts_test_client_get_jid (f.pair.bob));
      pts_fixture_assert_result (reply);
      g_assert_null (pts_node_get_child (reply, "activated", NS_BSPROXY));
    }

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
      if (tc->http_initiator && tc->declare_size)
        {
          g_assert_cmpint (r->encoding, ==, SOUP_ENCODING_CONTENT_LENGTH);
          g_assert_cmpint (r->content_length, ==, (gint64) tc->size);
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
  g_test_message ("%" G_GUINT64_FORMAT " bytes, SHA-256 %s", tc->size, sent_sha);

  /* The proxy's books. */
  status = status_expect_counts (&f, 0, 1, 0, NULL);
  g_assert_cmpint (status_counter (status, "bytes_relayed"), ==, (gint64) tc->size);

  if (tc->http_target)
    {
      /* The proxy knows the size only from an upload. */
      guint n = http_target_check_progress (&f, hash, tc->http_initiator ? (gint64) tc->size : -1);
      g_assert_cmpuint (n, >=, 1);
    }

  fixture_stop (&f);
}

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
  if (tc->http_initiator)
    upload_url = http_initiator_activate (&f, sid);
  else
    {
      g_autoptr (PtsNode) reply = NULL;

      initiator_conn = pts_fixture_socks5 (f.pair.server, NULL, hash);
      reply = pts_fixture_activate (f.pair.alice, f.pair.server, sid,
                                    pts_test_client_get_jid (f.pair.bob));
      pts_fixture_assert_result (reply);
    }
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

/* ==== XMPP protocol errors ============================================================== */

static void
test_activation_timeout (void)
{
  Fixture f;
  const char *sid = "never-activated";
  g_autoptr (PtsNode) late = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("With --activation-timeout 1 an HTTP receiver's session that is never "
                  "activated is dropped (counted as activation-timeout); a late activation "
                  "is item-not-found.");

  fixture_start (&f, TRUE, "--activation-timeout", "1", NULL);
  http_target_connect (&f, sid);
  status = status_get (&f);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "sessions")), ==,
                    1);
  g_clear_pointer (&status, json_object_unref);

  status = status_expect_counts (&f, 0, -1, -1, "activation-timeout");
  late = send_activate_x (&f, sid);
  pts_fixture_assert_error (late, "item-not-found");
  fixture_stop (&f);
}

static void
test_connect_forbidden (void)
{
  Fixture f;
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("With --acl naming only another domain, <connect> from a local user is "
                  "forbidden and registers nothing.");

  fixture_start (&f, TRUE, "--acl", "otherdomain", NULL);
  reply = send_connect (&f, f.pair.bob, "acl-sid", pts_test_client_get_jid (f.pair.alice));
  pts_fixture_assert_error (reply, "forbidden");
  status = status_get (&f);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "sessions")), ==,
                    0);
  fixture_stop (&f);
}

static void
test_connect_conflict (void)
{
  Fixture f;
  g_autoptr (PtsNode) again = NULL;
  g_autoptr (JsonObject) status = NULL;

  g_test_summary ("A second <connect> for a stream that already has its receiver is a "
                  "conflict; the first registration stays.");

  fixture_start (&f, TRUE, NULL);
  http_target_connect (&f, "twice-sid");
  again = send_connect (&f, f.pair.bob, "twice-sid", pts_test_client_get_jid (f.pair.alice));
  pts_fixture_assert_error (again, "conflict");
  status = status_get (&f);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "sessions")), ==,
                    1);
  fixture_stop (&f);
}

static void
test_no_http_side (void)
{
  Fixture f;
  g_autofree char *hash = NULL;
  g_autoptr (GSocketConnection) target = NULL;
  g_autoptr (PtsNode) activation = NULL, connect = NULL;

  g_test_summary ("Without --http-port, an activation with <x/> is feature-not-implemented "
                  "(even with the receiver connected by SOCKS5), and <connect> is "
                  "service-unavailable.");

  fixture_start (&f, FALSE, NULL);
  hash = pts_fixture_sidhash ("no-http", f.pair.alice, f.pair.bob);
  target = pts_fixture_socks5 (f.pair.server, NULL, hash);
  activation = send_activate_x (&f, "no-http");
  pts_fixture_assert_error (activation, "feature-not-implemented");
  connect = send_connect (&f, f.pair.bob, "other", pts_test_client_get_jid (f.pair.alice));
  pts_fixture_assert_error (connect, "service-unavailable");
  g_io_stream_close (G_IO_STREAM (target), NULL, NULL);
  fixture_stop (&f);
}

static void
test_shutdown_waiting (void)
{
  Fixture f;
  const char *sid = "shutdown";
  g_auto (HttpSession) s = { NULL };
  g_autoptr (Job) download = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) status = NULL;
  StatusExpect active = STATUS_ANY;

  g_test_summary ("SIGTERM while a receiver's GET waits for an upload that has not begun: "
                  "the server exits cleanly (status 0) and the GET ends without a success.");

  fixture_start (&f, TRUE, NULL);
  http_session_open (&f, sid, &s);
  download = job_start_get (s.download_url, 0);

  /* Nothing shows that the waiting GET is attached; a request sent after
   * it is served after it, by the server's one main loop. */
  job_wait_flag (download, &download->sent);
  active.sidhash = s.hash;
  active.min_bytes = 0;
  status = status_expect (&f, &active);
  json_object_unref (status);
  status = status_expect (&f, &active);

  g_clear_pointer (&f.pair.alice, pts_test_client_free);
  g_clear_pointer (&f.pair.bob, pts_test_client_free);
  pts_test_server_stop (f.pair.server, &error);
  assert_download_failed (download);
  g_assert_no_error (error);
  pts_test_server_free (g_steal_pointer (&f.pair.server));
  g_clear_pointer (&f.http_base, g_free);
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
  g_test_add_func ("/server/http/timeout/activation", test_activation_timeout);
  g_test_add_func ("/server/http/connect/forbidden", test_connect_forbidden);
  g_test_add_func ("/server/http/connect/conflict", test_connect_conflict);
  g_test_add_func ("/server/http/disabled", test_no_http_side);
  g_test_add_func ("/server/http/shutdown/waiting-download", test_shutdown_waiting);
  g_test_add_func ("/server/http/memory/1gib", test_memory);

  return g_test_run ();
}
