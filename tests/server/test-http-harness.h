/* test-http-harness.h — what the HTTP tests share: the server with Alice and
 * Bob signed in, /status read and awaited, the XMPP side of an HTTP transfer
 * (<connect/>, activation, pushes) and "jobs", one end of a transfer in a
 * thread of its own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "pts-fixture.h"
#include "pts-http-client.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define CHUNK (256 * 1024)
#define MAX_FILE_SIZE "1048576"
/* How long /status may take to show what a test expects. */
#define STATUS_TIMEOUT_MS 10000

typedef struct
{
  PtsFixturePair pair; /* Alice sends, Bob receives */
  char *http_base;     /* NULL without the HTTP side */
} Fixture;

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

/* One stream of Alice's to Bob over HTTP at both ends, once activated. */
typedef struct
{
  char *hash;         /* its SIDHASH */
  char *upload_url;   /* Alice's */
  char *download_url; /* Bob's */
} HttpSession;

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

/* The server (with its HTTP side when @http) and the options given, then
 * Alice and Bob signed in. */
void fixture_start (Fixture *f, gboolean http, const char *first_arg, ...);

void fixture_stop (Fixture *f);

JsonObject *status_get (Fixture *f);

gint64 status_counter (JsonObject *status, const char *name);

JsonObject *status_session (JsonObject *status, const char *sidhash);

JsonObject *status_expect (Fixture *f, const StatusExpect *want);

/* status_expect () for the counts: @sessions open, @done transfers done,
 * @failed failed (-1: any), and @reason, unless NULL, counted once. */
JsonObject *status_expect_counts (Fixture *f, gint64 sessions, gint64 done, gint64 failed,
                                  const char *reason);

PtsNode *send_connect (Fixture *f, PtsTestClient *target, const char *sid,
                       const char *initiator_jid);

/* Bob registers as the HTTP receiver of Alice's stream @sid, announcing
 * its @size unless negative. */
void http_target_connect_sized (Fixture *f, const char *sid, gint64 size);

void http_target_connect (Fixture *f, const char *sid);

PtsNode *send_activate_x (Fixture *f, const char *sid);

/* Alice activates @sid for an HTTP upload; returns the upload URL. */
char *http_initiator_activate (Fixture *f, const char *sid);

/* Alice activates @sid (whose SIDHASH is @hash): over HTTP, returning the
 * upload URL, or over SOCKS5, returning NULL with her connection in @conn. */
char *initiator_activate (Fixture *f, const char *sid, const char *hash, gboolean http,
                          GSocketConnection **conn);

/* Bob's <activated/> push for @sidhash; returns the download URL. */
char *http_target_wait_activated (Fixture *f, const char *sidhash);

/* Bob waits for Alice's stream @sid over HTTP and Alice activates it. */
void http_session_open (Fixture *f, const char *sid, HttpSession *session);

/* Takes (and answers) Bob's <progress/> pushes; there must be at least one,
 * each for @sidhash, with total = @total when it is known (else none), and
 * sent never going back nor past the total. Returns how many came. */
guint http_target_check_progress (Fixture *f, const char *sidhash, gint64 total);

/* GET @url; with @stop_after > 0 the connection closes after that many
 * body bytes. */
Job *job_start_get (const char *url, guint64 stop_after);

Job *job_start_upload (const char *url, const PtsHttpUpload *upload);

/* Writes @size bytes of the stream of @seed to @conn, then ends the stream. */
Job *job_start_send (GSocketConnection *conn, guint64 size, guint64 seed);

/* Reads @conn until its end (or @stop_after bytes, then closes it). */
Job *job_start_receive (GSocketConnection *conn, guint64 stop_after);

/* Waits at most @timeout_ms for the job to end; TRUE once it has. */
gboolean job_wait (Job *job, guint timeout_ms);

/* Waits (bounded by the client's own timeouts) until a GET job set @flag
 * (sent its request, or read the response head), or ended. */
void job_wait_flag (Job *job, gboolean *flag);

void job_join (Job *job);

/* The upload ended with an answer of @status. */
void assert_upload_status (Job *job, guint status);

/* A download that must not look like a success: an error status, or a body
 * cut off. */
void assert_download_failed (Job *job);

void http_session_clear (HttpSession *session);
void job_free (Job *job);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HttpSession, http_session_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

/* The cases of test-http-errors.c and test-http-xmpp.c. */
void test_http_add_errors (void);
void test_http_add_xmpp (void);
