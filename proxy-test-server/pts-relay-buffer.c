/* pts-relay-buffer.c — the relay's buffer (a ring in memory, or a pipe for splice(2)),
 * and what other threads may read of a relay
 *
 * Threads: the buffer belongs to the relay's thread (pts-relay.c); the
 * getters at the end read what is published for other threads (atomics)
 * or set before the start.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "pts-relay-private.h"

void
pts_relay_close_pipe (PtsRelay *self)
{
  for (int i = 0; i < 2; i++)
    if (self->pipe[i] >= 0)
      {
        close (self->pipe[i]);
        self->pipe[i] = -1;
      }
}

gboolean
pts_relay_use_pipe (PtsRelay *self)
{
  g_return_val_if_fail (!self->running && self->count == 0, FALSE);
  return pts_relay_open_pipe (self);
}

void
pts_relay_allow_splice (PtsRelay *self, gboolean allowed, PtsRelayPool *pool)
{
  self->splice_ok = allowed;
  self->pool = pool;
}

/* The ring is empty (or was never used): the bytes go through a pipe from
 * now on. */
gboolean
pts_relay_open_pipe (PtsRelay *self)
{
  int size;

  g_assert (self->count == 0);
  self->pipe_later = FALSE;
  if (self->pipe[0] >= 0)
    return TRUE;
  if (pipe2 (self->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
    {
      g_debug ("no pipe for the relay (%s): it copies", g_strerror (errno));
      self->pipe[0] = self->pipe[1] = -1;
      return FALSE;
    }
  /* As large as the ring would be, or the largest the kernel allows
   * (/proc/sys/fs/pipe-max-size); past the user's pipe allowance
   * (pipe-user-pages-soft) the pipe keeps what it has. */
  for (gsize want = MIN (self->capacity, G_MAXINT / 2); want >= 4096; want /= 2)
    if (fcntl (self->pipe[1], F_SETPIPE_SZ, (int) want) >= 0)
      break;
  size = fcntl (self->pipe[1], F_GETPIPE_SZ);
  if (size <= 0)
    {
      pts_relay_close_pipe (self);
      return FALSE;
    }
  self->capacity = size;
  self->head = 0;
  g_clear_pointer (&self->buf, g_free);
  return TRUE;
}

gboolean
pts_relay_drop_pipe (PtsRelay *self)
{
  if (self->pipe[0] < 0)
    return TRUE;
  if (self->count != 0)
    return FALSE;
  pts_relay_close_pipe (self);
  self->buf = g_malloc (self->capacity);
  self->head = 0;
  return TRUE;
}

int
pts_relay_pipe_in (PtsRelay *self, gsize *space)
{
  *space = self->source_blocked ? 0 : self->capacity - self->count;
  return self->pipe[1];
}

guint64
pts_relay_wants (PtsRelay *self)
{
  if (self->expected < 0)
    return G_MAXUINT64;
  return (guint64) self->expected - MIN (self->bytes_in, (guint64) self->expected);
}

int
pts_relay_pipe_out (PtsRelay *self, gsize *avail)
{
  *avail = self->count;
  return self->pipe[0];
}

const char *
pts_relay_mode (PtsRelay *self)
{
  return self->pipe[0] >= 0 ? "splice" : "copy";
}

/* While the relay waits for its ring to empty before it takes its pipe,
 * the ring takes nothing more: else a sender faster than its receiver
 * would keep it from ever being empty. The source is woken once the pipe
 * is there (pts_relay_consume()). */
static gboolean
pts_relay_waits_for_pipe (PtsRelay *self)
{
  if (!self->pipe_later)
    return FALSE;
  self->source_blocked = TRUE;
  return TRUE;
}

gsize
pts_relay_space (PtsRelay *self)
{
  if (pts_relay_waits_for_pipe (self))
    return 0;
  return self->capacity - self->count;
}

guint8 *
pts_relay_write_ptr (PtsRelay *self, gsize *space)
{
  gsize tail;

  if (pts_relay_waits_for_pipe (self))
    {
      *space = 0;
      return self->buf;
    }
  if (self->count == 0)
    self->head = 0;
  tail = (self->head + self->count) % self->capacity;
  if (self->count == self->capacity)
    *space = 0;
  else if (tail >= self->head)
    *space = self->capacity - tail;
  else
    *space = self->head - tail;
  return self->buf + tail;
}

const guint8 *
pts_relay_read_ptr (PtsRelay *self, gsize *avail)
{
  *avail = MIN (self->count, self->capacity - self->head);
  return self->buf + self->head;
}

guint64
pts_relay_bytes_in (PtsRelay *self)
{
  return PTS_RELAY_READ (pub_bytes_in);
}

guint64
pts_relay_bytes_out (PtsRelay *self)
{
  return PTS_RELAY_READ (pub_bytes_out);
}

gsize
pts_relay_buffered (PtsRelay *self)
{
  return PTS_RELAY_READ (pub_buffered);
}

gint64
pts_relay_last_activity (PtsRelay *self)
{
  return PTS_RELAY_READ (pub_last_activity);
}

const char *
pts_relay_kind (PtsRelay *self, gboolean source)
{
  if (g_atomic_int_get (&self->stopped))
    return "gone";
  return source ? self->source_kind : self->sink_kind;
}

PtsEndpoint *
pts_relay_get_source (PtsRelay *self)
{
  return self->source;
}

PtsEndpoint *
pts_relay_get_sink (PtsRelay *self)
{
  return self->sink;
}

gboolean
pts_relay_get_file_info (PtsRelay *self, gint64 *size, const char **name)
{
  if (size != NULL)
    *size = self->file_size;
  if (name != NULL)
    *name = self->file_name;
  return self->info_known;
}

gboolean
pts_relay_source_finished (PtsRelay *self)
{
  return self->source_finished;
}

GMainContext *
pts_relay_get_context (PtsRelay *self)
{
  return self->context;
}
