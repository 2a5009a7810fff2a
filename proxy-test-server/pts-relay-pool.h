/* pts-relay-pool.h — worker threads that run relays, each with its own main context
 *
 * Threads: the pool is made, used and freed on the main thread. Each worker
 * runs its GMainContext until the pool is freed; what runs there is only
 * what was handed to it (pts_relay_start_in(), pts_relay_sink_became_socket()). Loads are atomics:
 * the main thread counts a relay in when it hands it over, the worker counts it out when it has
 * stopped it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _PtsRelayPool PtsRelayPool;

/* @n_threads workers (at least 1). */
PtsRelayPool *pts_relay_pool_new (guint n_threads);
/* Stops and joins the workers. Every relay handed to them must have been
 * freed before. */
void pts_relay_pool_free (PtsRelayPool *pool);
guint pts_relay_pool_size (PtsRelayPool *pool);
/* The least-loaded worker's context, with its load counted up by one;
 * *@load is the counter to count it down when the relay stops. */
GMainContext *pts_relay_pool_pick (PtsRelayPool *pool, gint **load);
/* The relays a worker has now, for /status. */
gint pts_relay_pool_load (PtsRelayPool *pool, guint index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsRelayPool, pts_relay_pool_free)

G_END_DECLS
