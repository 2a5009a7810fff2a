/* pts-socks5.c — the XEP-0065 subset of SOCKS5, as pure parsing functions
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-protocol.h"
#include "pts-socks5.h"

#define PTS_SOCKS5_VERSION 0x05
#define PTS_SOCKS5_CMD_CONNECT 0x01
#define PTS_SOCKS5_ATYP_DOMAIN 0x03

PtsSocks5Status
pts_socks5_parse_greeting (const guint8 *buf, gsize len, gsize *consumed, guint8 reply[2],
                           const char **why)
{
  gsize nmethods;

  reply[0] = PTS_SOCKS5_VERSION;
  reply[1] = PTS_SOCKS5_METHOD_NONE_ACCEPTABLE;
  if (len < 1)
    return PTS_SOCKS5_NEED_MORE;
  if (buf[0] != PTS_SOCKS5_VERSION)
    {
      *why = "not SOCKS version 5";
      return PTS_SOCKS5_FAIL;
    }
  if (len < 2)
    return PTS_SOCKS5_NEED_MORE;
  nmethods = buf[1];
  if (nmethods == 0)
    {
      *why = "no authentication method offered";
      return PTS_SOCKS5_FAIL;
    }
  if (len < 2 + nmethods)
    return PTS_SOCKS5_NEED_MORE;
  *consumed = 2 + nmethods;
  if (memchr (buf + 2, PTS_SOCKS5_METHOD_NO_AUTH, nmethods) == NULL)
    {
      *why = "method \"no authentication\" not offered";
      return PTS_SOCKS5_FAIL;
    }
  reply[1] = PTS_SOCKS5_METHOD_NO_AUTH;
  return PTS_SOCKS5_OK;
}

PtsSocks5Status
pts_socks5_parse_request (const guint8 *buf, gsize len, gsize *consumed, char hash[41],
                          guint16 *port, guint8 *rep, const char **why)
{
  gsize addr_len;

  *rep = PTS_SOCKS5_REP_GENERAL_FAILURE;
  if (len < 1)
    return PTS_SOCKS5_NEED_MORE;
  if (buf[0] != PTS_SOCKS5_VERSION)
    {
      *why = "not SOCKS version 5";
      *rep = 0xff;
      return PTS_SOCKS5_FAIL;
    }
  if (len < 4)
    return PTS_SOCKS5_NEED_MORE;
  if (buf[1] != PTS_SOCKS5_CMD_CONNECT)
    {
      *why = "command is not CONNECT";
      *rep = PTS_SOCKS5_REP_COMMAND_NOT_SUPPORTED;
      return PTS_SOCKS5_FAIL;
    }
  if (buf[3] != PTS_SOCKS5_ATYP_DOMAIN)
    {
      *why = "address type is not a domain name";
      *rep = PTS_SOCKS5_REP_ATYP_NOT_SUPPORTED;
      return PTS_SOCKS5_FAIL;
    }
  if (len < 5)
    return PTS_SOCKS5_NEED_MORE;
  addr_len = buf[4];
  if (addr_len != BSP_SIDHASH_LEN)
    {
      *why = "DST.ADDR is not a 40-character SHA-1 hash";
      *rep = PTS_SOCKS5_REP_ATYP_NOT_SUPPORTED;
      return PTS_SOCKS5_FAIL;
    }
  if (len < 5 + addr_len + 2)
    return PTS_SOCKS5_NEED_MORE;
  /* Accept upper-case hex from lenient clients, store it lower-cased. */
  for (gsize i = 0; i < addr_len; i++)
    hash[i] = g_ascii_tolower (buf[5 + i]);
  hash[addr_len] = '\0';
  if (!bsp_sidhash_is_valid (hash, addr_len))
    {
      *why = "DST.ADDR is not hexadecimal";
      *rep = PTS_SOCKS5_REP_HOST_UNREACHABLE;
      return PTS_SOCKS5_FAIL;
    }
  *port = (guint16) ((buf[5 + addr_len] << 8) | buf[5 + addr_len + 1]);
  if (*port != 0)
    {
      *why = "DST.PORT is not 0";
      *rep = PTS_SOCKS5_REP_HOST_UNREACHABLE;
      return PTS_SOCKS5_FAIL;
    }
  *consumed = 5 + addr_len + 2;
  *rep = PTS_SOCKS5_REP_SUCCEEDED;
  return PTS_SOCKS5_OK;
}

gsize
pts_socks5_build_reply (guint8 *out, guint8 rep, const char *hash, guint16 port)
{
  gsize n = hash ? strlen (hash) : 0;

  n = MIN (n, BSP_SIDHASH_LEN);
  out[0] = PTS_SOCKS5_VERSION;
  out[1] = rep;
  out[2] = 0x00;
  out[3] = PTS_SOCKS5_ATYP_DOMAIN;
  out[4] = (guint8) n;
  if (n > 0)
    memcpy (out + 5, hash, n);
  out[5 + n] = (guint8) (port >> 8);
  out[6 + n] = (guint8) (port & 0xff);
  return 7 + n;
}
