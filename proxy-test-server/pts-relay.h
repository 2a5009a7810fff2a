/* pts-relay.h — moves bytes from one source to one sink through a bounded buffer
 *
 * Every pair of the bridge (SOCKS5 or HTTP on either side) is one relay with
 * a source endpoint and a sink endpoint. The relay owns the buffer and the
 * end-of-transfer rules; the endpoints own their I/O and only ever do it from
 * their own main-loop callbacks, never from inside a wake().
 *
 * Threads: a relay runs on the main thread or on one worker (see the
 * opening comment of pts-relay.c for what the main thread may still do);
 * the functions below marked "any thread" are the only ones for other
 * threads than the relay's own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-relay-pool.h"

G_BEGIN_DECLS

#define PTS_RELAY_ERROR (pts_relay_error_quark ())
GQuark pts_relay_error_quark (void);

/* Why a transfer ended badly; also how it is counted and answered. */
typedef enum
{
  PTS_RELAY_ERROR_SENDER_GONE,
  PTS_RELAY_ERROR_RECEIVER_GONE,
  PTS_RELAY_ERROR_TIMEOUT,
  PTS_RELAY_ERROR_BAD_INPUT,
  PTS_RELAY_ERROR_FORBIDDEN,
  PTS_RELAY_ERROR_TOO_LARGE,
  PTS_RELAY_ERROR_CANCELLED,
  PTS_RELAY_ERROR_SHORT, /* the sender ended properly, but short of the announced size */
} PtsRelayError;

/* A short stable name for @error ("receiver-gone"…), for counters. */
const char *pts_relay_error_reason (const GError *error);

typedef struct _PtsRelay PtsRelay;
typedef struct _PtsEndpoint PtsEndpoint;

typedef struct
{
  const char *kind; /* "socks5", "http" */
  /* Source: there is room again. Sink: there is data (or the end). */
  void (*wake) (PtsEndpoint *ep);
  /* The transfer is over: @error NULL on success. Stop all I/O; the relay
   * frees the endpoint right after. */
  void (*finish) (PtsEndpoint *ep, const GError *error);
  void (*free) (PtsEndpoint *ep);
  /* The relay moves to another thread: drop every source attached to its
   * context (the next wake attaches them in the new one). NULL: the
   * endpoint never moves (HTTP ends under libsoup). */
  void (*detach) (PtsEndpoint *ep);
} PtsEndpointClass;

struct _PtsEndpoint
{
  const PtsEndpointClass *klass;
  PtsRelay *relay;
};

typedef void (*PtsRelayDoneFunc) (PtsRelay *relay, const GError *error, gpointer user_data);

PtsRelay *pts_relay_new (gsize capacity, PtsEndpoint *source, PtsEndpoint *sink,
                         PtsRelayDoneFunc done, gpointer user_data);
/* Frees the relay and its endpoints; ends the transfer with @error first if
 * it is still running (no done callback then). Main thread: a worker's
 * relay is stopped in its worker, waited for. */
void pts_relay_free (PtsRelay *relay);
/* Runs the relay in the calling thread's default context (the main one). */
void pts_relay_start (PtsRelay *relay);
/* Hands the relay to a worker's @context (pts-relay-pool.h) and starts it
 * there; from then on its endpoints live in that thread, and @load (the
 * worker's count, atomic) is counted down when it stops. Call from the
 * main thread, whose context runs the done callback. */
void pts_relay_start_in (PtsRelay *relay, GMainContext *context, gint *load);
/* Where the relay's I/O runs (NULL: the global default context): the
 * endpoints attach their sources there. */
GMainContext *pts_relay_get_context (PtsRelay *relay);

/* Zero-copy (splice(2)) between two raw sockets: the bytes go through a
 * pipe of the ring's size (or what the kernel allows) instead of the ring,
 * with the same counting, backpressure and end rules. The source splices
 * into pts_relay_pipe_in()'s fd and commits what it moved; the sink
 * splices out of pts_relay_pipe_out()'s fd and consumes. Call before the
 * start; FALSE: no pipe to be had, the relay copies. */
gboolean pts_relay_use_pipe (PtsRelay *relay);
/* Whether a pipe may be taken later (pts_relay_sink_became_socket()), and
 * the worker threads the relay may move to then (NULL: none). */
void pts_relay_allow_splice (PtsRelay *relay, gboolean allowed, PtsRelayPool *pool);
/* A sink that became a plain socket while the relay runs on the main
 * thread (an HTTP download once its head is due). With a socket source
 * the relay takes a pipe once its ring is empty, if it may; with a SOCKS5
 * source it also moves to the least loaded worker of its pool, if it has
 * one: TRUE then, and the worker wakes both ends; FALSE: it stays, and the
 * caller wakes the sink. */
gboolean pts_relay_sink_became_socket (PtsRelay *relay);
/* The source reads a plain socket from now on (an upload's declared file
 * bytes, pts-http-upload.c), and puts nothing more in by
 * pts_relay_push(): with a socket sink the relay takes a pipe once its ring
 * is empty, if it may. The relay stays where it runs. */
void pts_relay_source_became_socket (PtsRelay *relay);
/* Back to the ring, while nothing is in the pipe (a socket splice(2)
 * refuses): FALSE if bytes are in it already. */
gboolean pts_relay_drop_pipe (PtsRelay *relay);
/* The pipe's write end (-1: the relay copies) and how many bytes the source
 * may put in: 0 when full or blocked. Never more than pts_relay_wants()
 * goes in: what lies in the pipe is as good as sent. */
int pts_relay_pipe_in (PtsRelay *relay, gsize *space);
/* How many more bytes the receiver expects (G_MAXUINT64: it didn't say).
 * At 0, a source gives whatever more comes with pts_relay_commit(), which
 * drops it and fails the transfer on the sender's account. */
guint64 pts_relay_wants (PtsRelay *relay);
/* The pipe's read end (-1: the relay copies) and the bytes in it. */
int pts_relay_pipe_out (PtsRelay *relay, gsize *avail);
/* The pipe took nothing though it holds less than its size (its slots hold
 * partial pages): the source waits until the sink consumes. */
void pts_relay_source_blocked (PtsRelay *relay);

/* "splice" while the bytes go through the pipe, else "copy". */
const char *pts_relay_mode (PtsRelay *relay);

/* Source side. */
guint8 *pts_relay_write_ptr (PtsRelay *relay, gsize *space);
void pts_relay_commit (PtsRelay *relay, gsize n);
gsize pts_relay_push (PtsRelay *relay, const guint8 *data, gsize len);
gsize pts_relay_space (PtsRelay *relay);
void pts_relay_source_done (PtsRelay *relay);

/* The size the receiver expects (-1: it didn't say). The sink learns it
 * as the file's size; a source that brings fewer or more bytes, or
 * announces another size, fails the transfer. Call before the start. */
void pts_relay_expect_size (PtsRelay *relay, gint64 size);

/* What the source knows of the file: its size (-1 = unknown) and name.
 * Until this is called, a sink that needs it (HTTP headers) waits. */
void pts_relay_set_file_info (PtsRelay *relay, gint64 size, const char *name);
gboolean pts_relay_get_file_info (PtsRelay *relay, gint64 *size, const char **name);

/* Sink side. */
const guint8 *pts_relay_read_ptr (PtsRelay *relay, gsize *avail);
void pts_relay_consume (PtsRelay *relay, gsize n);
gboolean pts_relay_source_finished (PtsRelay *relay);
/* The sink delivered everything it will take (all after the source's end,
 * or every byte of a known size): the transfer succeeds once the source
 * has ended too, with nothing left over. */
void pts_relay_sink_done (PtsRelay *relay);

/* Either side: the transfer failed. Ends it (asynchronously safe: may be
 * called from an endpoint's own callback). Any thread. */
void pts_relay_fail (PtsRelay *relay, const GError *error);

/* Any thread: the counters as last published by the relay's thread. */
guint64 pts_relay_bytes_in (PtsRelay *relay);
guint64 pts_relay_bytes_out (PtsRelay *relay);
gsize pts_relay_buffered (PtsRelay *relay);
gint64 pts_relay_last_activity (PtsRelay *relay);
/* Any thread: the kind of the source's (@source) or sink's endpoint,
 * "gone" once they are stopped. */
const char *pts_relay_kind (PtsRelay *relay, gboolean source);
/* The relay's thread only. */
PtsEndpoint *pts_relay_get_source (PtsRelay *relay);
PtsEndpoint *pts_relay_get_sink (PtsRelay *relay);

G_END_DECLS
