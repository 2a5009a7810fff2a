/* bsb-socat.h — the baseline: the same bytes through a plain socat TCP relay
 *
 * client → socat (TCP-LISTEN) → sink, all on loopback; socat is started
 * for the one connection and reaped, so its CPU time and peak RSS come
 * from wait4().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  double seconds; /* first byte sent → last byte received */
  guint64 bytes;
  double cpu_seconds;  /* socat's user + system time */
  gint64 peak_rss_kib; /* socat's ru_maxrss */
} BsbSocatResult;

gboolean bsb_socat_run (const char *socat, gsize socat_buffer, guint64 size, guint64 seed,
                        gsize buf_size, int timeout_s, BsbSocatResult *result, GError **error);

G_END_DECLS
