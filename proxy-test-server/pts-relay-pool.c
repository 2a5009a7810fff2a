/* pts-relay-pool.c — worker threads that run relays, each with its own main context
 *
 * Threads: see pts-relay-pool.h. A worker's GMainLoop is quit from inside
 * its own context (an invocation the main thread queues there, so that a
 * worker that has not started its loop yet still sees it); the main thread
 * then joins it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-relay"

#include "pts-relay-pool.h"

typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  gint load; /* relays on this worker: atomic */
} PtsRelayWorker;

struct _PtsRelayPool
{
  PtsRelayWorker *workers;
  guint n_workers;
};

static gpointer
pts_relay_worker_run (gpointer user_data)
{
  PtsRelayWorker *worker = user_data;

  g_main_context_push_thread_default (worker->context);
  g_main_loop_run (worker->loop);
  g_main_context_pop_thread_default (worker->context);
  return NULL;
}

PtsRelayPool *
pts_relay_pool_new (guint n_threads)
{
  PtsRelayPool *self = g_new0 (PtsRelayPool, 1);

  self->n_workers = MAX (n_threads, 1);
  self->workers = g_new0 (PtsRelayWorker, self->n_workers);
  for (guint i = 0; i < self->n_workers; i++)
    {
      PtsRelayWorker *worker = &self->workers[i];
      g_autofree char *name = g_strdup_printf ("pts-relay-%u", i);

      worker->context = g_main_context_new ();
      worker->loop = g_main_loop_new (worker->context, FALSE);
      worker->thread = g_thread_new (name, pts_relay_worker_run, worker);
    }
  return self;
}

static gboolean
pts_relay_worker_quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
pts_relay_pool_free (PtsRelayPool *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->n_workers; i++)
    {
      PtsRelayWorker *worker = &self->workers[i];

      g_warn_if_fail (g_atomic_int_get (&worker->load) == 0);
      g_main_context_invoke (worker->context, pts_relay_worker_quit, worker->loop);
      g_thread_join (worker->thread);
      g_main_loop_unref (worker->loop);
      g_main_context_unref (worker->context);
    }
  g_free (self->workers);
  g_free (self);
}

guint
pts_relay_pool_size (PtsRelayPool *self)
{
  return self->n_workers;
}

GMainContext *
pts_relay_pool_pick (PtsRelayPool *self, gint **load)
{
  PtsRelayWorker *best = &self->workers[0];

  for (guint i = 1; i < self->n_workers; i++)
    if (g_atomic_int_get (&self->workers[i].load) < g_atomic_int_get (&best->load))
      best = &self->workers[i];
  g_atomic_int_inc (&best->load);
  *load = &best->load;
  return best->context;
}

gint
pts_relay_pool_load (PtsRelayPool *self, guint index)
{
  g_return_val_if_fail (index < self->n_workers, 0);
  return g_atomic_int_get (&self->workers[index].load);
}
