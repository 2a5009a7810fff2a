/* pts-relay.h — moves bytes from one source to one sink through a bounded buffer
 *
 * Every pair of the bridge (SOCKS5 or HTTP on either side) is one relay with
 * a source endpoint and a sink endpoint. The relay owns the buffer and the
 * end-of-transfer rules; the endpoints own their I/O and only ever do it from
 * their own main-loop callbacks, never from inside a wake().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

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
 * it is still running (no done callback then). */
void pts_relay_free (PtsRelay *relay);
void pts_relay_start (PtsRelay *relay);

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
 * called from an endpoint's own callback). */
void pts_relay_fail (PtsRelay *relay, const GError *error);

guint64 pts_relay_bytes_in (PtsRelay *relay);
guint64 pts_relay_bytes_out (PtsRelay *relay);
gsize pts_relay_buffered (PtsRelay *relay);
gint64 pts_relay_last_activity (PtsRelay *relay);
PtsEndpoint *pts_relay_get_source (PtsRelay *relay);
PtsEndpoint *pts_relay_get_sink (PtsRelay *relay);

G_END_DECLS
