/* bsb-pump.h — bulk data over a plain connected socket: send the stream, or receive and check it
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes @size bytes of the stream @seed to @fd through a @buf_size buffer,
 * then shuts the socket down for writing (the end of the stream is the end
 * of the file). */
gboolean bsb_pump_send (int fd, guint64 seed, guint64 size, gsize buf_size, GError **error);

/* Reads @fd to its end, which must be exactly @size bytes of the stream
 * @seed. *@last_byte_us: g_get_monotonic_time() when the last byte came. */
gboolean bsb_pump_receive (int fd, guint64 seed, guint64 size, gsize buf_size, gint64 *last_byte_us,
                           GError **error);

G_END_DECLS
