/* pts-socket-endpoint.c — a plain socket as a relay source or sink
 *
 * The hot path of SOCKS5 relaying: non-blocking recv()/send() straight into
 * and out of the relay's ring buffer, driven by one fd watch per socket whose
 * conditions follow the buffer's state (no reads while it is full, no write
 * interest while it is empty). Between two such sockets the bytes need not
 * come up to the proxy at all: the relay's pipe takes them with splice(2)
 * from one socket and gives them to the other (pts_relay_use_pipe()).
 * The sockets are a SOCKS5 party's, or a plain HTTP download's once its
 * response head is due (pts-http-download.c): that sink sends the head
 * first, then the relay's bytes as any other.
 *
 * Threads: an endpoint lives in its relay's thread (its watch is attached
 * to the relay's context); nothing here is touched from another.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-relay"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#include "pts-socket-endpoint.h"

/* Bounded work per wakeup, so that one busy transfer cannot starve others. */
#define PTS_SOCKET_MAX_ROUNDS 8

typedef struct
{
  PtsEndpoint parent;
  GIOStream *stream; /* closed at the end; its socket is @fd */
  int fd;
  char *head; /* a sink's bytes before the relay's (an HTTP response head) */
  gsize head_len;
  gsize head_sent;
  gboolean is_source;
  GSource *watch;
  GIOCondition events; /* what the next poll waits for */
  gboolean finished;
  gboolean delivered; /* a sink: the receiver has every byte it was to have */
} PtsSocketEndpoint;

/* The poll set is filled in prepare() from @events: changing what we wait
 * for costs nothing (g_source_modify_unix_fd() would wake the main context
 * at every change, several times per buffer). Waiting for nothing leaves
 * the fd in the set, where poll() still reports a hang-up; only then is it
 * taken out, until there is something to wait for again. */
typedef struct
{
  GSource source;
  PtsSocketEndpoint *ep;
  GPollFD pfd;
  gboolean in_set;
} PtsSocketWatch;

static void pts_socket_endpoint_dispatch_io (PtsSocketEndpoint *self, GIOCondition revents);

static gboolean
pts_socket_watch_prepare (GSource *source, gint *timeout)
{
  PtsSocketWatch *watch = (PtsSocketWatch *) source;

  *timeout = -1;
  watch->pfd.events = watch->ep->events;
  watch->pfd.revents = 0;
  return FALSE;
}

static gboolean
pts_socket_watch_check (GSource *source)
{
  PtsSocketWatch *watch = (PtsSocketWatch *) source;

  return watch->in_set && watch->pfd.revents != 0;
}

static gboolean
pts_socket_watch_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  PtsSocketWatch *watch = (PtsSocketWatch *) source;
  GIOCondition revents = watch->pfd.revents;

  watch->pfd.revents = 0;
  if (watch->ep->events == 0)
    {
      /* A hang-up while we wait for nothing: stop polling the fd. */
      g_source_remove_poll (source, &watch->pfd);
      watch->in_set = FALSE;
      return G_SOURCE_CONTINUE;
    }
  if (revents != 0)
    pts_socket_endpoint_dispatch_io (watch->ep, revents);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs pts_socket_watch_funcs = {
  pts_socket_watch_prepare, pts_socket_watch_check, pts_socket_watch_dispatch, NULL, NULL, NULL,
};

static void
pts_socket_endpoint_set_events (PtsSocketEndpoint *self, GIOCondition events)
{
  PtsSocketWatch *watch = (PtsSocketWatch *) self->watch;

  self->events = events;
  if (watch != NULL && events != 0 && !watch->in_set)
    {
      g_source_add_poll (self->watch, &watch->pfd);
      watch->in_set = TRUE;
    }
}

static void
pts_socket_endpoint_fail (PtsSocketEndpoint *self, const char *what, int err)
{
  g_autoptr (GError) error = NULL;
  PtsRelayError code
      = self->is_source ? PTS_RELAY_ERROR_SENDER_GONE : PTS_RELAY_ERROR_RECEIVER_GONE;

  if (err == 0)
    error = g_error_new (PTS_RELAY_ERROR, code, "%s", what);
  else
    error = g_error_new (PTS_RELAY_ERROR, code, "%s: %s", what, g_strerror (err));
  pts_socket_endpoint_set_events (self, 0);
  pts_relay_fail (self->parent.relay, error);
}

#define PTS_SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

PtsSocketRead
pts_socket_read_into_relay (PtsRelay *relay, int fd, guint64 max, guint64 *moved, int *err)
{
  gboolean retried = FALSE;

  *moved = 0;
  *err = 0;
  for (int round = 0; round < PTS_SOCKET_MAX_ROUNDS; round++)
    {
      gsize space;
      int pipe_fd = pts_relay_pipe_in (relay, &space);
      guint64 wants = pts_relay_wants (relay);
      gsize ask;
      gssize n;

      if (*moved == max)
        return PTS_SOCKET_READ_LIMIT;
      if (pipe_fd >= 0 && wants == 0)
        {
          /* Every expected byte is in: whatever more comes is the
           * sender's excess (which fails the transfer), or its end. */
          guint8 scratch[4096];

          ask = (gsize) MIN ((guint64) sizeof scratch, max - *moved);
          n = recv (fd, scratch, ask, 0);
        }
      else if (pipe_fd >= 0)
        {
          if (space == 0)
            return PTS_SOCKET_READ_FULL;
          ask = (gsize) MIN (MIN ((guint64) space, wants), max - *moved);
          n = splice (fd, NULL, pipe_fd, NULL, ask, PTS_SPLICE_FLAGS);
        }
      else
        {
          guint8 *ptr = pts_relay_write_ptr (relay, &space);

          if (space == 0)
            return PTS_SOCKET_READ_FULL; /* backpressure: until the sink makes room */
          ask = (gsize) MIN ((guint64) space, max - *moved);
          n = recv (fd, ptr, ask, 0);
        }
      if (n > 0)
        {
          *moved += (guint64) n;
          pts_relay_commit (relay, n);
          if ((gsize) n < ask)
            return PTS_SOCKET_READ_DRAINED; /* the socket has no more for now */
          continue;
        }
      if (n == 0)
        return PTS_SOCKET_READ_END;
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          char c;
          gsize held;

          /* Through the pipe: either the socket is drained, or the pipe's
           * slots are taken by partial pages before it holds its size in
           * bytes (then wait for the sink as when full). */
          if (pipe_fd < 0 || wants == 0 || recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
            return PTS_SOCKET_READ_DRAINED;
          pts_relay_pipe_out (relay, &held);
          if (held > 0)
            {
              pts_relay_source_blocked (relay);
              return PTS_SOCKET_READ_FULL;
            }
          /* An empty pipe has free slots: the bytes came in after splice(2)
           * looked, and nothing in the pipe would ever wake us. Once more;
           * a kernel that still refuses gets the ring. */
          if (!retried)
            {
              retried = TRUE;
              continue;
            }
          if (pts_relay_drop_pipe (relay))
            {
              g_debug ("splice(2) takes nothing into an empty pipe: the relay copies");
              continue;
            }
          return PTS_SOCKET_READ_DRAINED;
        }
      if (pipe_fd >= 0 && wants > 0 && (errno == EINVAL || errno == ENOSYS)
          && pts_relay_drop_pipe (relay))
        {
          g_debug ("splice(2) refused on this socket (%s): the relay copies", g_strerror (errno));
          continue;
        }
      *err = errno;
      return PTS_SOCKET_READ_ERROR;
    }
  return PTS_SOCKET_READ_YIELD;
}

static void
pts_socket_endpoint_do_read (PtsSocketEndpoint *self)
{
  guint64 moved;
  int err;

  switch (pts_socket_read_into_relay (self->parent.relay, self->fd, G_MAXUINT64, &moved, &err))
    {
    case PTS_SOCKET_READ_DRAINED:
    case PTS_SOCKET_READ_YIELD:
    case PTS_SOCKET_READ_LIMIT: return; /* the watch comes back */
    case PTS_SOCKET_READ_FULL: pts_socket_endpoint_set_events (self, 0); return;
    case PTS_SOCKET_READ_END:
      pts_socket_endpoint_set_events (self, 0);
      pts_relay_source_done (self->parent.relay);
      return;
    case PTS_SOCKET_READ_ERROR:
      pts_socket_endpoint_fail (self, "reading from the sender", err);
      return;
    }
}

/* The head goes out before any byte of the relay. TRUE once it is out. */
static gboolean
pts_socket_endpoint_write_head (PtsSocketEndpoint *self)
{
  while (self->head_sent < self->head_len)
    {
      gssize n = send (self->fd, self->head + self->head_sent, self->head_len - self->head_sent,
                       MSG_NOSIGNAL);

      if (n > 0)
        {
          self->head_sent += n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return FALSE;
      pts_socket_endpoint_fail (self, "writing to the receiver", n < 0 ? errno : EPIPE);
      return FALSE;
    }
  g_clear_pointer (&self->head, g_free);
  return TRUE;
}

static void
pts_socket_endpoint_do_write (PtsSocketEndpoint *self)
{
  PtsRelay *relay = self->parent.relay;

  if (self->head != NULL && !pts_socket_endpoint_write_head (self))
    return;
  for (int round = 0; round < PTS_SOCKET_MAX_ROUNDS; round++)
    {
      gsize avail;
      const guint8 *ptr = NULL;
      /* Asked each round: a relay may take its pipe once its ring is empty
       * (pts_relay_sink_became_socket()). */
      int pipe_fd = pts_relay_pipe_out (relay, &avail);
      gssize n;

      if (pipe_fd < 0)
        ptr = pts_relay_read_ptr (relay, &avail);
      if (avail == 0)
        {
          if (pts_relay_source_finished (relay))
            {
              pts_socket_endpoint_set_events (self, 0);
              self->delivered = TRUE;
              pts_relay_sink_done (relay);
            }
          else
            pts_socket_endpoint_set_events (self, G_IO_IN);
          return;
        }
      /* splice(2) has no MSG_NOSIGNAL: the server ignores SIGPIPE. */
      if (pipe_fd >= 0)
        n = splice (pipe_fd, NULL, self->fd, NULL, avail, PTS_SPLICE_FLAGS);
      else
        n = send (self->fd, ptr, avail, MSG_NOSIGNAL);
      if (n > 0)
        {
          pts_relay_consume (relay, n);
          if ((gsize) n < avail)
            return; /* the socket buffer is full for now */
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      pts_socket_endpoint_fail (self, "writing to the receiver", n < 0 ? errno : EPIPE);
      return;
    }
}

/* The receiver's side is not expected to talk; read and drop what it sends,
 * and notice when it goes away. */
static void
pts_socket_endpoint_drain_peer (PtsSocketEndpoint *self)
{
  guint8 scratch[4096];
  gssize n = recv (self->fd, scratch, sizeof scratch, 0);

  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
    return;
  if (n == 0 && pts_relay_buffered (self->parent.relay) == 0)
    {
      /* The receiver took everything it was given and left: a receiver
       * that knows the file's size does that at its last byte, maybe
       * before the sender's end is even seen. The transfer succeeds if no
       * more bytes come. */
      pts_socket_endpoint_set_events (self, 0);
      self->delivered = TRUE;
      pts_relay_sink_done (self->parent.relay);
      return;
    }
  pts_socket_endpoint_fail (self, "the receiver closed its connection", n < 0 ? errno : 0);
}

static void
pts_socket_endpoint_dispatch_io (PtsSocketEndpoint *self, GIOCondition revents)
{
  if (self->finished)
    return;
  if (self->is_source)
    {
      if (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        pts_socket_endpoint_do_read (self);
      return;
    }
  if (revents & G_IO_OUT)
    pts_socket_endpoint_do_write (self);
  if (!self->finished && (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
    pts_socket_endpoint_drain_peer (self);
}

static void
pts_socket_endpoint_wake (PtsEndpoint *ep)
{
  PtsSocketEndpoint *self = (PtsSocketEndpoint *) ep;

  if (self->finished)
    return;
  pts_socket_endpoint_set_events (self, self->is_source ? G_IO_IN : (G_IO_IN | G_IO_OUT));
  if (self->watch == NULL)
    {
      PtsSocketWatch *watch;

      self->watch = g_source_new (&pts_socket_watch_funcs, sizeof (PtsSocketWatch));
      watch = (PtsSocketWatch *) self->watch;
      watch->ep = self;
      watch->pfd.fd = self->fd;
      watch->pfd.events = self->events;
      watch->in_set = TRUE;
      g_source_set_name (self->watch, "pts-socket-endpoint");
      g_source_add_poll (self->watch, &watch->pfd);
      g_source_attach (self->watch, pts_relay_get_context (self->parent.relay));
    }
}

static void
pts_socket_endpoint_finish (PtsEndpoint *ep, const GError *error)
{
  PtsSocketEndpoint *self = (PtsSocketEndpoint *) ep;

  if (self->finished)
    return;
  self->finished = TRUE;
  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  /* An orderly close for a completed transfer, or for a receiver that has
   * all it was to have (the sender's excess failed the session after); a
   * reset tells the peer that the stream did not end cleanly (and drops
   * what it has not read yet). */
  if (error != NULL && !self->delivered)
    {
      struct linger lg = { 1, 0 };
      setsockopt (self->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
  g_io_stream_close (self->stream, NULL, NULL);
}

static void
pts_socket_endpoint_detach (PtsEndpoint *ep)
{
  PtsSocketEndpoint *self = (PtsSocketEndpoint *) ep;

  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
}

static void
pts_socket_endpoint_free (PtsEndpoint *ep)
{
  PtsSocketEndpoint *self = (PtsSocketEndpoint *) ep;

  pts_socket_endpoint_finish (ep, NULL);
  g_object_unref (self->stream);
  g_free (self->head);
  g_free (self);
}

static const PtsEndpointClass pts_socket_endpoint_class = {
  "socks5",
  pts_socket_endpoint_wake,
  pts_socket_endpoint_finish,
  pts_socket_endpoint_free,
  pts_socket_endpoint_detach,
};

static PtsSocketEndpoint *
pts_socket_endpoint_new_for (GIOStream *stream, GSocket *socket, gboolean is_source)
{
  PtsSocketEndpoint *self = g_new0 (PtsSocketEndpoint, 1);

  self->parent.klass = &pts_socket_endpoint_class;
  self->stream = g_object_ref (stream);
  self->fd = g_socket_get_fd (socket);
  self->is_source = is_source;
  return self;
}

PtsEndpoint *
pts_socket_endpoint_new (GSocketConnection *conn, gboolean is_source)
{
  return &pts_socket_endpoint_new_for (G_IO_STREAM (conn), g_socket_connection_get_socket (conn),
                                       is_source)
              ->parent;
}

PtsEndpoint *
pts_socket_endpoint_new_sink_with_head (GIOStream *stream, GSocket *socket, const char *head)
{
  PtsSocketEndpoint *self = pts_socket_endpoint_new_for (stream, socket, FALSE);

  self->head = g_strdup (head);
  self->head_len = strlen (head);
  return &self->parent;
}
