/* pts-relay.c — moves bytes from one source to one sink through a bounded buffer
 *
 * Threads. A relay is made on the main thread and runs in one context: the
 * main one (pts_relay_start()), or a worker's (pts_relay_start_in()); its
 * endpoints, ring or pipe, and end rules belong to that context's thread
 * alone from the start on. One move is allowed: from the main thread to a
 * worker, by the main thread, while it runs there (pts_relay_move_to():
 * the same hand-over as a start). The main thread may, at any time:
 *  - read the published counters (bytes in and out, buffered bytes, last
 *    activity): atomics the owner stores after each change;
 *  - read what was set before the start (file info of a SOCKS5 source, the
 *    endpoints' kinds) and whether the relay has stopped (an atomic);
 *  - fail it: from another thread, pts_relay_fail() queues the failure in
 *    the owner's context;
 *  - free it: for a worker's relay, pts_relay_free() has the worker stop
 *    the endpoints and waits for that (a mutex and condition), then drops
 *    its reference. Every invocation queued across threads holds a
 *    reference (atomic), so the memory outlives them.
 * The done callback always runs on the main thread: a worker's relay
 * queues it there once it has stopped, and it is skipped if the relay was
 * freed in the meantime.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "pts-relay-private.h"

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

static void
pts_relay_publish (PtsRelay *self)
{
  PTS_RELAY_PUBLISH (pub_bytes_in, self->bytes_in);
  PTS_RELAY_PUBLISH (pub_bytes_out, self->bytes_out);
  PTS_RELAY_PUBLISH (pub_last_activity, self->last_activity);
  PTS_RELAY_PUBLISH (pub_buffered, self->count);
}

PtsRelay *
pts_relay_new (gsize capacity, PtsEndpoint *source, PtsEndpoint *sink, PtsRelayDoneFunc done,
               gpointer user_data)
{
  PtsRelay *self = g_new0 (PtsRelay, 1);

  self->capacity = capacity;
  self->buf = g_malloc (capacity);
  self->pipe[0] = self->pipe[1] = -1;
  self->source = source;
  self->sink = sink;
  source->relay = self;
  sink->relay = self;
  self->done = done;
  self->user_data = user_data;
  self->last_activity = g_get_monotonic_time ();
  self->file_size = -1;
  self->expected = -1;
  self->source_kind = source->klass->kind;
  self->sink_kind = sink->klass->kind;
  self->source_socket = g_str_equal (self->source_kind, "socks5");
  self->sink_socket = g_str_equal (self->sink_kind, "socks5");
  atomic_init (&self->ref, 1);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  pts_relay_publish (self);
  return self;
}

/* The reference count, the hand-over and the failures queued across
 * threads use C11 atomics with release and acquire, in this file: GLib's
 * own (its GMutex, its reference counts) are outside what a
 * ThreadSanitizer build instruments, and the order they give would not be
 * seen. */
static PtsRelay *
pts_relay_ref (PtsRelay *self)
{
  atomic_fetch_add_explicit (&self->ref, 1, memory_order_relaxed);
  return self;
}

static void
pts_relay_unref (PtsRelay *self)
{
  if (atomic_fetch_sub_explicit (&self->ref, 1, memory_order_acq_rel) != 1)
    return;
  g_clear_error (&self->end_error);
  g_free (self->file_name);
  g_free (self->buf);
  pts_relay_close_pipe (self);
  g_clear_pointer (&self->home, g_main_context_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

/* Queues @func in the relay's context with a reference, dropped after. */
static void
pts_relay_invoke (PtsRelay *self, GMainContext *context, GSourceFunc func)
{
  g_main_context_invoke_full (context, G_PRIORITY_HIGH, func, pts_relay_ref (self),
                              (GDestroyNotify) pts_relay_unref);
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
  if (self->end_source != NULL)
    {
      g_source_destroy (self->end_source);
      g_clear_pointer (&self->end_source, g_source_unref);
    }
  if (!g_atomic_int_get (&self->stopped))
    {
      if (self->load != NULL)
        g_atomic_int_dec_and_test (self->load);
      g_atomic_int_set (&self->stopped, TRUE);
    }
}

void
pts_relay_source_blocked (PtsRelay *self)
{
  self->source_blocked = TRUE;
}

/* Stops the endpoints, in the relay's own thread. */
static void
pts_relay_stop (PtsRelay *self)
{
  if (!self->ended)
    {
      g_autoptr (GError) error = g_error_new_literal (PTS_RELAY_ERROR, PTS_RELAY_ERROR_CANCELLED,
                                                      "the proxy is shutting down");
      self->ended = TRUE;
      self->running = FALSE;
      pts_relay_stop_endpoints (self, error);
    }
  else
    pts_relay_stop_endpoints (self, self->end_error);
}

/* In a worker: the main thread waits for this in pts_relay_free(). */
static gboolean
pts_relay_stop_cb (gpointer user_data)
{
  PtsRelay *self = user_data;

  pts_relay_stop (self);
  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return G_SOURCE_REMOVE;
}

void
pts_relay_free (PtsRelay *self)
{
  if (self == NULL)
    return;
  self->freed = TRUE;
  if (self->home == NULL)
    pts_relay_stop (self);
  else if (!g_atomic_int_get (&self->stopped))
    {
      g_mutex_lock (&self->lock);
      pts_relay_invoke (self, self->context, pts_relay_stop_cb);
      while (!g_atomic_int_get (&self->stopped))
        g_cond_wait (&self->cond, &self->lock);
      g_mutex_unlock (&self->lock);
    }
  pts_relay_unref (self);
}

static void
pts_relay_run (PtsRelay *self)
{
  self->running = TRUE;
  self->last_activity = g_get_monotonic_time ();
  pts_relay_publish (self);
  self->source->klass->wake (self->source);
  self->sink->klass->wake (self->sink);
}

void
pts_relay_start (PtsRelay *self)
{
  pts_relay_run (self);
}

static gboolean
pts_relay_start_cb (gpointer user_data)
{
  PtsRelay *self = user_data;

  /* Everything the main thread set up is seen from here on. */
  g_assert (atomic_load_explicit (&self->handed, memory_order_acquire));
  if (!self->ended)
    pts_relay_run (self);
  return G_SOURCE_REMOVE;
}

void
pts_relay_start_in (PtsRelay *self, GMainContext *context, gint *load)
{
  self->context = g_main_context_ref (context);
  self->home = g_main_context_ref_thread_default ();
  self->load = load;
  atomic_store_explicit (&self->handed, TRUE, memory_order_release);
  pts_relay_invoke (self, context, pts_relay_start_cb);
}

/* A relay running on the main thread goes on in a worker: its endpoints
 * drop their sources here, and the worker starts it again (waking both),
 * with whatever its buffer holds. */
static void
pts_relay_move_to (PtsRelay *self, GMainContext *context, gint *load)
{
  g_assert (self->home == NULL && !self->ended);
  if (self->source->klass->detach != NULL)
    self->source->klass->detach (self->source);
  if (self->sink->klass->detach != NULL)
    self->sink->klass->detach (self->sink);
  pts_relay_start_in (self, context, load);
}

/* Both ends read or write plain sockets now: the bytes may go through a
 * pipe, once the ring is empty. */
static void
pts_relay_take_pipe (PtsRelay *self)
{
  if (!self->splice_ok || self->pipe[0] >= 0 || !self->source_socket || !self->sink_socket)
    return;
  if (self->count == 0)
    pts_relay_open_pipe (self);
  else
    self->pipe_later = TRUE;
}

gboolean
pts_relay_sink_became_socket (PtsRelay *self)
{
  gint *load;
  GMainContext *context;

  self->sink_socket = TRUE;
  pts_relay_take_pipe (self);
  /* Only a SOCKS5 sender moves with it: an upload stays with libsoup. */
  if (!g_str_equal (self->source_kind, "socks5"))
    return FALSE;
  if (self->pool == NULL || self->home != NULL || self->ended)
    return FALSE;
  context = pts_relay_pool_pick (self->pool, &load);
  pts_relay_move_to (self, context, load);
  return TRUE;
}

void
pts_relay_source_became_socket (PtsRelay *self)
{
  self->source_socket = TRUE;
  pts_relay_take_pipe (self);
}

/* On the main thread, a worker's relay having stopped. */
static gboolean
pts_relay_done_cb (gpointer user_data)
{
  PtsRelay *self = user_data;

  /* Everything the worker did is seen from here on. */
  g_assert (g_atomic_int_get (&self->stopped));
  if (!self->freed && self->done != NULL)
    self->done (self, self->end_error, self->user_data);
  return G_SOURCE_REMOVE;
}

/* Ends the transfer from the relay's loop, so that no endpoint is freed
 * under its own callback. */
static gboolean
pts_relay_end_idle (gpointer user_data)
{
  /* Once stopped, a worker's relay may be freed by the main thread at any
   * moment: this reference keeps it until the end of this function. */
  PtsRelay *self = pts_relay_ref (user_data);

  g_clear_pointer (&self->end_source, g_source_unref);
  pts_relay_stop_endpoints (self, self->end_error);
  if (self->home != NULL)
    pts_relay_invoke (self, self->home, pts_relay_done_cb);
  else if (self->done != NULL)
    self->done (self, self->end_error, self->user_data);
  pts_relay_unref (self);
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
  self->end_source = g_idle_source_new ();
  g_source_set_priority (self->end_source, G_PRIORITY_HIGH);
  g_source_set_callback (self->end_source, pts_relay_end_idle, self, NULL);
  g_source_attach (self->end_source, self->context);
}

void
pts_relay_commit (PtsRelay *self, gsize n)
{
  gboolean was_empty = self->count == 0;

  g_assert (n <= self->capacity - self->count || self->pipe[0] >= 0);
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
       * fails, on the sender's account. (Through the pipe, the source
       * never puts more in than expected, and gives the excess here.) */
      g_assert (self->pipe[0] < 0 || self->bytes_in == (guint64) self->expected);
      n = (gsize) ((guint64) self->expected - self->bytes_in);
      self->overrun = TRUE;
      self->source_finished = TRUE;
    }
  self->count += n;
  self->bytes_in += n;
  self->last_activity = g_get_monotonic_time ();
  pts_relay_publish (self);
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

  g_return_val_if_fail (self->buf != NULL, 0); /* through the pipe only a socket puts bytes in */
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

void
pts_relay_consume (PtsRelay *self, gsize n)
{
  gboolean was_full = self->count == self->capacity || self->source_blocked;

  g_assert (n <= self->count);
  if (n == 0)
    return;
  self->head = (self->head + n) % self->capacity;
  self->count -= n;
  self->bytes_out += n;
  self->last_activity = g_get_monotonic_time ();
  pts_relay_publish (self);
  if (self->count == 0)
    self->head = 0;
  if (self->count == 0 && self->pipe_later)
    pts_relay_open_pipe (self);
  self->source_blocked = FALSE;
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

typedef struct
{
  PtsRelay *relay;
  GError *error;
  _Atomic gboolean ready; /* released once the above are set */
} PtsRelayFailure;

static gboolean
pts_relay_fail_cb (gpointer user_data)
{
  PtsRelayFailure *failure = user_data;

  g_assert (atomic_load_explicit (&failure->ready, memory_order_acquire));
  pts_relay_end (failure->relay, failure->error);
  return G_SOURCE_REMOVE;
}

static void
pts_relay_failure_free (PtsRelayFailure *failure)
{
  pts_relay_unref (failure->relay);
  g_error_free (failure->error);
  g_free (failure);
}

void
pts_relay_fail (PtsRelay *self, const GError *error)
{
  PtsRelayFailure *failure;

  if (self->home == NULL || g_main_context_is_owner (self->context))
    {
      pts_relay_end (self, error);
      return;
    }
  /* From the main thread, for a worker's relay. */
  failure = g_new0 (PtsRelayFailure, 1);
  failure->relay = pts_relay_ref (self);
  failure->error = g_error_copy (error);
  atomic_store_explicit (&failure->ready, TRUE, memory_order_release);
  g_main_context_invoke_full (self->context, G_PRIORITY_HIGH, pts_relay_fail_cb, failure,
                              (GDestroyNotify) pts_relay_failure_free);
}
