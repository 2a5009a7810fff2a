/* bsb-socks5.c — the XEP-0065 SOCKS5 handshake, client side
 *
 * Greeting and request go in separate writes, each after the previous
 * answer: some proxies (Prosody) expect each in one read of its own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "bsb-net.h"
#include "bsb-socks5.h"

int
bsb_socks5_connect (const char *host, guint16 port, const char *sidhash, int timeout_s,
                    GError **error)
{
  static const guint8 greeting[] = { 0x05, 0x01, 0x00 };
  guint8 request[5 + 40 + 2];
  guint8 reply[5 + 255 + 2];
  gsize hlen = strlen (sidhash);
  int fd;

  if (hlen != 40)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_USAGE, "SIDHASH must have 40 characters");
      return -1;
    }
  fd = bsb_net_connect (host, port, timeout_s, error);
  if (fd < 0)
    return -1;
  if (!bsb_net_write_all (fd, greeting, sizeof greeting, error)
      || !bsb_net_read_exact (fd, reply, 2, error))
    goto fail;
  if (reply[0] != 0x05 || reply[1] != 0x00)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "SOCKS5 greeting refused (%02x %02x)",
                   reply[0], reply[1]);
      goto fail;
    }
  request[0] = 0x05; /* version */
  request[1] = 0x01; /* CONNECT */
  request[2] = 0x00;
  request[3] = 0x03; /* domain name */
  request[4] = 40;
  memcpy (request + 5, sidhash, 40);
  request[45] = 0;
  request[46] = 0;
  if (!bsb_net_write_all (fd, request, sizeof request, error)
      || !bsb_net_read_exact (fd, reply, 5, error))
    goto fail;
  if (reply[0] != 0x05 || reply[1] != 0x00)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "SOCKS5 CONNECT refused (reply %u)",
                   reply[1]);
      goto fail;
    }
  /* The rest of the reply: BND.ADDR (a domain here) and BND.PORT. */
  if (reply[3] == 0x03)
    {
      if (!bsb_net_read_exact (fd, reply + 5, reply[4] + 2, error))
        goto fail;
    }
  else if (reply[3] == 0x01)
    {
      if (!bsb_net_read_exact (fd, reply + 5, 4 + 2 - 1, error))
        goto fail;
    }
  else
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "SOCKS5 reply with ATYP %u", reply[3]);
      goto fail;
    }
  return fd;

fail:
  close (fd);
  return -1;
}
