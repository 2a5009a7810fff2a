/* bsb-pump.c — bulk data over a plain connected socket
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <sys/socket.h>

#include "bsb-net.h"
#include "bsb-pump.h"
#include "bsb-stream.h"

gboolean
bsb_pump_send (int fd, guint64 seed, guint64 size, gsize buf_size, GError **error)
{
  g_autofree guint8 *buf = g_malloc (buf_size);

  for (guint64 off = 0; off < size;)
    {
      gsize n = (gsize) MIN ((guint64) buf_size, size - off);
      bsb_stream_fill (seed, off, buf, n);
      if (!bsb_net_write_all (fd, buf, n, error))
        {
          g_prefix_error (error, "sending after %" G_GUINT64_FORMAT " bytes: ", off);
          return FALSE;
        }
      off += n;
    }
  shutdown (fd, SHUT_WR);
  return TRUE;
}

gboolean
bsb_pump_receive (int fd, guint64 seed, guint64 size, gsize buf_size, gint64 *last_byte_us,
                  GError **error)
{
  g_autofree guint8 *buf = g_malloc (buf_size);
  BsbStreamCheck check;

  bsb_stream_check_init (&check, seed);
  *last_byte_us = 0;
  for (;;)
    {
      gssize n = bsb_net_read (fd, buf, buf_size, error);
      if (n < 0)
        {
          g_prefix_error (error, "receiving after %" G_GUINT64_FORMAT " bytes: ", check.offset);
          return FALSE;
        }
      if (n == 0)
        break;
      if (check.offset + n > size)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                       "received more than the %" G_GUINT64_FORMAT " bytes sent", size);
          return FALSE;
        }
      bsb_stream_check_feed (&check, buf, n);
      if (check.offset == size)
        *last_byte_us = g_get_monotonic_time ();
    }
  if (check.offset != size)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                   "the stream ended after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                   check.offset, size);
      return FALSE;
    }
  if (!check.ok)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                   "received bytes differ from the sent ones at byte %" G_GUINT64_FORMAT,
                   check.bad_offset);
      return FALSE;
    }
  return TRUE;
}
