/* pts-relay-private.h — the relay's state, shared by pts-relay.c and pts-relay-buffer.c
 *
 * Threads: as pts-relay.c says; the fields marked atomic, and those set
 * before the start, are what other threads may read.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <stdatomic.h>

#include "pts-relay.h"

G_BEGIN_DECLS

struct _PtsRelay
{
  guint8 *buf; /* the ring, or NULL when the bytes go through the pipe */
  int pipe[2]; /* read end, write end; -1 when the ring is used */
  gsize capacity;
  gsize head;              /* first buffered byte (ring only) */
  gsize count;             /* buffered bytes, in the ring or in the pipe */
  gboolean source_blocked; /* the pipe took no more before it held capacity */
  gboolean splice_ok;      /* a pipe may be taken (pts_relay_allow_splice()) */
  gboolean pipe_later;     /* take the pipe once the ring is empty */
  gboolean source_socket;  /* the source reads a plain socket (SOCKS5, an upload's file part) */
  gboolean sink_socket;    /* the sink writes one (SOCKS5, a download taken from libsoup) */
  PtsRelayPool *pool;      /* where it may move (pts_relay_sink_became_socket()) */

  PtsEndpoint *source;
  PtsEndpoint *sink;
  PtsRelayDoneFunc done;
  gpointer user_data;

  guint64 bytes_in;
  guint64 bytes_out;
  gint64 last_activity;
  /* The same, published for other threads (pts_relay_publish()). */
  _Atomic guint64 pub_bytes_in;
  _Atomic guint64 pub_bytes_out;
  _Atomic gint64 pub_last_activity;
  _Atomic gsize pub_buffered;
  gboolean source_finished;
  gboolean sink_finished; /* the receiver has every byte it asked for */
  gboolean overrun;       /* the sender gave more than expected: taken up to it */
  gboolean info_known;
  gint64 file_size;
  gint64 expected; /* the receiver's idea of the size, or -1 */
  char *file_name;
  gboolean running;
  gboolean ended;
  GSource *end_source;
  GError *end_error;

  const char *source_kind; /* the endpoints' kinds, for other threads */
  const char *sink_kind;
  GMainContext *context; /* where it runs; NULL: the global default */
  GMainContext *home;    /* where done runs (a worker's relay), else NULL */
  gint *load;            /* the worker's count of relays, atomic */
  _Atomic gint ref;
  _Atomic gint handed; /* released by the main thread at the hand-over */
  gint stopped;        /* atomic: the endpoints are stopped and freed */
  gboolean freed;      /* main thread: pts_relay_free() was called */
  GMutex lock;         /* with @cond: the main thread waits for a worker's stop */
  GCond cond;
};

#define PTS_RELAY_PUBLISH(field, value)                                                            \
  atomic_store_explicit (&self->field, (value), memory_order_relaxed)
#define PTS_RELAY_READ(field) atomic_load_explicit (&self->field, memory_order_relaxed)

void pts_relay_close_pipe (PtsRelay *self);
gboolean pts_relay_open_pipe (PtsRelay *self);

G_END_DECLS
