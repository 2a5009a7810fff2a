/* test-http-harness.c — what the HTTP tests share (see test-http-harness.h).
 *
 * Alice is the initiator (sender), Bob the target (receiver). The sending
 * and the receiving ends of a transfer run in threads of their own ("jobs"),
 * while the main thread plays XMPP and reads /status.
 * TEST_HTTP_SERVER_VERBOSE=1 in the environment starts the servers with
 * --verbose.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "test-http-harness.h"
/* ==== the server and its two users ========================================= */

/* The server (with its HTTP side when @http) and the options given, then
 * Alice and Bob signed in. */
void
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

void
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

JsonObject *
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

gint64
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

JsonObject *
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

JsonObject *
status_expect (Fixture *f, const StatusExpect *want)
{
  JsonObject *status = status_poll (f, want, STATUS_TIMEOUT_MS);

  g_assert_nonnull (status);
  return status;
}

/* status_expect () for the counts: @sessions open, @done transfers done,
 * @failed failed (-1: any), and @reason, unless NULL, counted once. */
JsonObject *
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

PtsNode *
send_connect (Fixture *f, PtsTestClient *target, const char *sid, const char *initiator_jid)
{
  return send_connect_sized (f, target, sid, initiator_jid, -1);
}

/* Bob registers as the HTTP receiver of Alice's stream @sid, announcing
 * its @size unless negative. */
void
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

void
http_target_connect (Fixture *f, const char *sid)
{
  http_target_connect_sized (f, sid, -1);
}

PtsNode *
send_activate_x (Fixture *f, const char *sid)
{
  return pts_fixture_iq (f->pair.alice,
                         "<iq type='set' to='%s'><query xmlns='%s' sid='%s'>"
                         "<activate>%s</activate><x xmlns='" NS_BSPROXY "'/></query></iq>",
                         f->pair.server->proxy_jid, PTS_NS_BYTESTREAMS, sid,
                         pts_test_client_get_jid (f->pair.bob));
}

/* Alice activates @sid for an HTTP upload; returns the upload URL. */
char *
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

/* Alice activates @sid (whose SIDHASH is @hash): over HTTP, returning the
 * upload URL, or over SOCKS5, returning NULL with her connection in @conn. */
char *
initiator_activate (Fixture *f, const char *sid, const char *hash, gboolean http,
                    GSocketConnection **conn)
{
  g_autoptr (PtsNode) reply = NULL;

  if (http)
    return http_initiator_activate (f, sid);
  *conn = pts_fixture_socks5 (f->pair.server, NULL, hash);
  reply = pts_fixture_activate (f->pair.alice, f->pair.server, sid,
                                pts_test_client_get_jid (f->pair.bob));
  pts_fixture_assert_result (reply);
  g_assert_null (pts_node_get_child (reply, "activated", NS_BSPROXY));
  return NULL;
}

/* Bob's <activated/> push for @sidhash; returns the download URL. */
char *
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

void
http_session_clear (HttpSession *session)
{
  g_clear_pointer (&session->hash, g_free);
  g_clear_pointer (&session->upload_url, g_free);
  g_clear_pointer (&session->download_url, g_free);
}

/* Bob waits for Alice's stream @sid over HTTP and Alice activates it. */
void
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
guint
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
Job *
job_start_get (const char *url, guint64 stop_after)
{
  Job *job = job_new (JOB_GET);

  job->url = g_strdup (url);
  job->stop_after = stop_after;
  return job_start (job);
}

Job *
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
Job *
job_start_send (GSocketConnection *conn, guint64 size, guint64 seed)
{
  Job *job = job_new (JOB_SOCKET_SEND);

  job->conn = g_object_ref (conn);
  job->size = size;
  job->seed = seed;
  return job_start (job);
}

/* Reads @conn until its end (or @stop_after bytes, then closes it). */
Job *
job_start_receive (GSocketConnection *conn, guint64 stop_after)
{
  Job *job = job_new (JOB_SOCKET_RECEIVE);

  job->conn = g_object_ref (conn);
  job->stop_after = stop_after;
  return job_start (job);
}

/* Waits at most @timeout_ms for the job to end; TRUE once it has. */
gboolean
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
void
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

void
job_join (Job *job)
{
  if (job->thread != NULL)
    g_thread_join (g_steal_pointer (&job->thread));
}

void
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

/* The upload ended with an answer of @status. */
void
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
void
assert_download_failed (Job *job)
{
  job_join (job);
  g_test_message ("download: status %u, %" G_GUINT64_FORMAT " bytes, %s%s%s", job->response.status,
                  job->response.body_length, job->response.complete ? "complete" : "cut off",
                  job->error ? ", " : "", job->error ? job->error->message : "");
  g_assert_false (job->ok && job->response.status == SOUP_STATUS_OK && job->response.complete);
}