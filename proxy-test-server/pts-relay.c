/* pts-relay.c — moves bytes from one source to one sink through a bounded buffer
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-relay.h"

G_DEFINE_QUARK (pts - relay - error - quark, pts_relay_error)

const char *
pts_relay_error_reason (const GError *error)
{
  static const char *const reasons[] = {
    [PTS_RELAY_ERROR_SENDER_GONE] = "sender-gone",
    [PTS_RELAY_ERROR_RECEIVER_GONE] = "receiver-gone",
    [PTS_RELAY_ERROR_TIMEOUT] = "timeout",
    [PTS_RELAY_ERROR_BAD_INPUT] = "bad-input",
    [PTS_RELAY_ERROR_FORBIDDEN] = "forbidden",
    [PTS_RELAY_ERROR_TOO_LARGE] = "too-large",
    [PTS_RELAY_ERROR_CANCELLED] = "cancelled",
    [PTS_RELAY_ERROR_SHORT] = "short",
  };

  if (error == NULL)
    return "ok";
  if (error->domain == PTS_RELAY_ERROR && error->code >= 0
      && (gsize) error->code < G_N_ELEMENTS (reasons))
    return reasons[error->code];
  return "other";
}

struct _PtsRelay
{
  guint8 *buf;
  gsize capacity;
  gsize head;  /* first buffered byte */
  gsize count; /* buffered bytes */

  PtsEndpoint *source;
  PtsEndpoint *sink;
  PtsRelayDoneFunc done;
  gpointer user_data;

  guint64 bytes_in;
  guint64 bytes_out;
  gint64 last_activity;
  gboolean source_finished;
  gboolean sink_finished; /* the receiver has every byte it asked for */
  gboolean overrun;       /* the sender gave more than expected: taken up to it */
  gboolean info_known;
  gint64 file_size;
  gint64 expected; /* the receiver's idea of the size, or -1 */
  char *file_name;
  gboolean running;
  gboolean ended;
  guint end_idle_id;
  GError *end_error;
};

PtsRelay *
pts_relay_new (gsize capacity, PtsEndpoint *source, PtsEndpoint *sink, PtsRelayDoneFunc done,
               gpointer user_data)
{
  PtsRelay *self = g_new0 (PtsRelay, 1);

  self->capacity = capacity;
  self->buf = g_malloc (capacity);
  self->source = source;
  self->sink = sink;
  source->relay = self;
  sink->relay = self;
  self->done = done;
  self->user_data = user_data;
  self->last_activity = g_get_monotonic_time ();
  self->file_size = -1;
  self->expected = -1;
  return self;
}

static void pts_relay_end (PtsRelay *self, const GError *error);

void
pts_relay_expect_size (PtsRelay *self, gint64 size)
{
  self->expected = size;
}

void
pts_relay_set_file_info (PtsRelay *self, gint64 size, const char *name)
{
  if (self->expected >= 0 && size >= 0 && size != self->expected)
    {
      g_autoptr (GError) error = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                                              "the file has %" G_GINT64_FORMAT
                                              " bytes; the receiver expects %" G_GINT64_FORMAT,
                                              size, self->expected);
      pts_relay_end (self, error);
      return;
    }
  self->file_size = size >= 0 ? size : self->expected;
  g_free (self->file_name);
  self->file_name = g_strdup (name);
  self->info_known = TRUE;
  if (self->running && self->sink != NULL)
    self->sink->klass->wake (self->sink);
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

static void
pts_relay_stop_endpoints (PtsRelay *self, const GError *error)
{
  if (self->source != NULL)
    {
      self->source->klass->finish (self->source, error);
      self->source->klass->free (self->source);
      self->source = NULL;
    }
  if (self->sink != NULL)
    {
      self->sink->klass->finish (self->sink, error);
      self->sink->klass->free (self->sink);
      self->sink = NULL;
    }
}

void
pts_relay_free (PtsRelay *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->end_idle_id, g_source_remove);
  if (!self->ended)
    {
      g_autoptr (GError) error = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_CANCELLED,
                                                      "the proxy is shutting down");
      self->ended = TRUE;
      pts_relay_stop_endpoints (self, error);
    }
  else
    pts_relay_stop_endpoints (self, self->end_error);
  g_clear_error (&self->end_error);
  g_free (self->file_name);
  g_free (self->buf);
  g_free (self);
}

void
pts_relay_start (PtsRelay *self)
{
  self->running = TRUE;
  self->last_activity = g_get_monotonic_time ();
  self->source->klass->wake (self->source);
  self->sink->klass->wake (self->sink);
}

/* Ends the transfer from the main loop, so that no endpoint is freed under
 * its own callback. */
static gboolean
pts_relay_end_idle (gpointer user_data)
{
  PtsRelay *self = user_data;

  self->end_idle_id = 0;
  pts_relay_stop_endpoints (self, self->end_error);
  if (self->done != NULL)
    self->done (self, self->end_error, self->user_data);
  return G_SOURCE_REMOVE;
}

static void
pts_relay_end (PtsRelay *self, const GError *error)
{
  if (self->ended)
    return;
  self->ended = TRUE;
  self->running = FALSE;
  if (error != NULL)
    self->end_error = g_error_copy (error);
  self->end_idle_id = g_idle_add_full (G_PRIORITY_HIGH, pts_relay_end_idle, self, NULL);
}

gsize
pts_relay_space (PtsRelay *self)
{
  return self->capacity - self->count;
}

guint8 *
pts_relay_write_ptr (PtsRelay *self, gsize *space)
{
  gsize tail;

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

void
pts_relay_commit (PtsRelay *self, gsize n)
{
  gboolean was_empty = self->count == 0;

  g_assert (n <= self->capacity - self->count);
  if (n == 0)
    return;
  if (self->overrun)
    return; /* past the expected size: dropped, the end is decided */
  if (self->sink_finished)
    {
      g_autoptr (GError) error
          = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_RECEIVER_GONE,
                                 "the receiver finished before the sender did");
      pts_relay_end (self, error);
      return;
    }
  if (self->expected >= 0 && self->bytes_in + n > (guint64) self->expected)
    {
      /* The receiver still gets exactly what it expects; the transfer then
       * fails, on the sender's account. */
      n = (gsize) ((guint64) self->expected - self->bytes_in);
      self->overrun = TRUE;
      self->source_finished = TRUE;
    }
  self->count += n;
  self->bytes_in += n;
  self->last_activity = g_get_monotonic_time ();
  if ((was_empty || self->overrun) && self->running && self->sink != NULL)
    self->sink->klass->wake (self->sink);
}

/* Both ends are through: a success, unless the sender gave too much. */
static void
pts_relay_end_through (PtsRelay *self)
{
  g_autoptr (GError) error = NULL;

  if (self->overrun)
    error = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_BAD_INPUT,
                         "the sender sent more than the %" G_GINT64_FORMAT
                         " bytes the receiver expects",
                         self->expected);
  pts_relay_end (self, error);
}

gsize
pts_relay_push (PtsRelay *self, const guint8 *data, gsize len)
{
  gsize total = 0;

  while (total < len)
    {
      gsize space;
      guint8 *ptr = pts_relay_write_ptr (self, &space);
      gsize n = MIN (space, len - total);

      if (n == 0)
        break;
      memcpy (ptr, data + total, n);
      pts_relay_commit (self, n);
      total += n;
    }
  return total;
}

void
pts_relay_source_done (PtsRelay *self)
{
  if (self->source_finished || self->ended)
    return;
  if (self->expected >= 0 && self->bytes_in < (guint64) self->expected)
    {
      /* A stream that ends short is a failure, never a complete file. */
      g_autoptr (GError) error = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_SHORT,
                                              "the sender stopped after %" G_GUINT64_FORMAT
                                              " of %" G_GINT64_FORMAT " bytes",
                                              self->bytes_in, self->expected);
      pts_relay_end (self, error);
      return;
    }
  self->source_finished = TRUE;
  if (self->sink_finished && self->count == 0)
    pts_relay_end_through (self);
  else if (self->running && self->sink != NULL)
    self->sink->klass->wake (self->sink);
}

gboolean
pts_relay_source_finished (PtsRelay *self)
{
  return self->source_finished;
}

const guint8 *
pts_relay_read_ptr (PtsRelay *self, gsize *avail)
{
  *avail = MIN (self->count, self->capacity - self->head);
  return self->buf + self->head;
}

void
pts_relay_consume (PtsRelay *self, gsize n)
{
  gboolean was_full = self->count == self->capacity;

  g_assert (n <= self->count);
  if (n == 0)
    return;
  self->head = (self->head + n) % self->capacity;
  self->count -= n;
  self->bytes_out += n;
  self->last_activity = g_get_monotonic_time ();
  if (self->count == 0)
    self->head = 0;
  if (was_full && self->running && self->source != NULL && !self->source_finished)
    self->source->klass->wake (self->source);
}

void
pts_relay_sink_done (PtsRelay *self)
{
  /* The transfer succeeds once both ends are through: an upload is only
   * complete when its body ended properly too. */
  self->sink_finished = TRUE;
  if (self->source_finished && self->count == 0)
    pts_relay_end_through (self);
}

void
pts_relay_fail (PtsRelay *self, const GError *error)
{
  pts_relay_end (self, error);
}

guint64
pts_relay_bytes_in (PtsRelay *self)
{
  return self->bytes_in;
}

guint64
pts_relay_bytes_out (PtsRelay *self)
{
  return self->bytes_out;
}

gsize
pts_relay_buffered (PtsRelay *self)
{
  return self->count;
}

gint64
pts_relay_last_activity (PtsRelay *self)
{
  return self->last_activity;
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
