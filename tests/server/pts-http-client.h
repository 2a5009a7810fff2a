/* pts-http-client.h — a small blocking HTTP/1.1 client for the bs-proxy tests
 *
 * Raw sockets on purpose: the tests look at what crosses the wire — an
 * answer that comes before the request body was sent whole, a body cut off
 * (short of its Content-Length, or chunked without its last chunk) — which a
 * full client library would hide behind a generic error. libsoup only parses
 * the response head. Every wait is bounded; every call may run in any thread
 * (one connection per thread).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define PTS_HTTP_CLIENT_ERROR (pts_http_client_error_quark ())
GQuark pts_http_client_error_quark (void);

typedef enum
{
  PTS_HTTP_CLIENT_ERROR_ANSWERED, /* the server answered before the request was sent whole */
  PTS_HTTP_CLIENT_ERROR_CLOSED,   /* the connection ended before a whole response head */
  PTS_HTTP_CLIENT_ERROR_TIMED_OUT,
  PTS_HTTP_CLIENT_ERROR_MALFORMED, /* the response does not parse */
} PtsHttpClientError;

/* How long any single wait for the server may last, in milliseconds. */
#define PTS_HTTP_CLIENT_TIMEOUT_MS 10000

typedef struct
{
  guint status; /* 0 until a response head was read */
  char *reason;
  SoupMessageHeaders *headers; /* NULL until then */
  SoupEncoding encoding;       /* how the body is framed */
  gint64 content_length;       /* -1 unless framed by Content-Length */
  guint64 body_length;         /* body bytes read, chunk framing removed */
  gboolean complete;           /* the body ended where its framing says it ends */
  char sha256[65];             /* of the body bytes read */
  GByteArray *body;            /* the first bytes of the body, up to the keep limit */
} PtsHttpResponse;

void pts_http_response_clear (PtsHttpResponse *response);

/* ---- one connection, step by step ----------------------------------------- */

typedef struct _PtsHttpConn PtsHttpConn;

PtsHttpConn *pts_http_conn_open (const char *url, GError **error);
/* The request line and headers ("Connection: close" always; Content-Type
 * and Content-Length when given, @content_length < 0: none). */
gboolean pts_http_conn_send_head (PtsHttpConn *conn, const char *method, const char *content_type,
                                  gint64 content_length, GError **error);
/* Sends @len bytes. Fails with PTS_HTTP_CLIENT_ERROR_ANSWERED as soon as the
 * server has something to say (an early answer, or the end of the
 * connection): the caller reads the answer then. A failing write (reset,
 * broken pipe) is reported as such; an answer may still be waiting. */
gboolean pts_http_conn_send (PtsHttpConn *conn, const void *data, gsize len, GError **error);
/* Reads the status line and headers. */
gboolean pts_http_conn_read_head (PtsHttpConn *conn, PtsHttpResponse *response, GError **error);
/* Reads the body as its head frames it, hashing it and keeping its first
 * @keep bytes. Returns TRUE when the body ended, whether whole
 * (response->complete) or cut off by the end of the connection; with
 * @stop_after > 0 also once that many body bytes came (complete stays
 * FALSE). FALSE on a timeout or malformed framing. */
gboolean pts_http_conn_read_body (PtsHttpConn *conn, PtsHttpResponse *response, gsize keep,
                                  guint64 stop_after, GError **error);
void pts_http_conn_free (PtsHttpConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsHttpConn, pts_http_conn_free)

/* ---- whole requests ---------------------------------------------------------- */

/* GET @url; the body is hashed and its first @keep bytes kept. */
gboolean pts_http_get (const char *url, gsize keep, PtsHttpResponse *response, GError **error);

typedef void (*PtsHttpPauseFunc) (gpointer user_data);

/* A bs-proxy upload: multipart/form-data with a SIDHASH part and a FILE
 * part of pseudo-random bytes, under an exact request Content-Length. */
typedef struct
{
  const char *sidhash;   /* the SIDHASH part's value; NULL: no SIDHASH part */
  gboolean file_first;   /* the FILE part before the SIDHASH part */
  guint64 size;          /* bytes in the FILE part */
  guint64 seed;          /* of their pseudo-random content (pts_http_stream_sha256) */
  const char *filename;  /* NULL: "file.bin" */
  gboolean declare_size; /* the FILE part has its own Content-Length header */
  guint64 declare_more;  /* ...which says this many bytes more than it has (a lie) */
  /* NULL: multipart/form-data with the body's boundary; else this
   * Content-Type (the body stays the same). */
  const char *content_type;
  /* > 0: after this many file bytes, close the connection without
   * sending the rest or reading an answer (a sender that breaks off). */
  guint64 close_after;
  /* > 0: after this many file bytes, call @pause once, then go on.
   * Both counts are multiples of 8: the stream does not depend on them. */
  guint64 pause_after;
  PtsHttpPauseFunc pause;
  gpointer pause_data;
} PtsHttpUpload;

typedef struct
{
  guint64 file_sent;       /* FILE bytes written */
  char sent_sha256[65];    /* of the FILE bytes written */
  gboolean answered_early; /* the answer came before the request was sent whole */
  GError *send_error;      /* why the request was not sent whole, or NULL */
  PtsHttpResponse response;
} PtsHttpUploadResult;

/* POSTs @upload to @url and reads the answer, even when the server answers
 * early or sending fails. TRUE when an answer was read (any status), or
 * when the upload was closed on purpose (close_after). */
gboolean pts_http_post_upload (const char *url, const PtsHttpUpload *upload,
                               PtsHttpUploadResult *result, GError **error);
void pts_http_upload_result_clear (PtsHttpUploadResult *result);

/* The pseudo-random stream of @seed is what pts_test_random_fill() makes
 * from this state, called with lengths that are multiples of 8 (except the
 * last): uploads send it, and the tests' SOCKS5 senders too. */
guint64 pts_http_stream_state (guint64 seed);
/* SHA-256 of the first @len bytes of that stream, into @out (65 bytes). */
void pts_http_stream_sha256 (guint64 seed, guint64 len, char *out);

G_END_DECLS
