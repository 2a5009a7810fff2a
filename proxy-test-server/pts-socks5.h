/* pts-socks5.h — the XEP-0065 subset of SOCKS5, as pure parsing functions
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  PTS_SOCKS5_NEED_MORE, /* not enough bytes yet */
  PTS_SOCKS5_OK,        /* parsed; *consumed bytes used */
  PTS_SOCKS5_FAIL,      /* refuse: send the reply given, then close */
} PtsSocks5Status;

/* SOCKS5 reply codes (RFC 1928 §6). */
enum
{
  PTS_SOCKS5_REP_SUCCEEDED = 0x00,
  PTS_SOCKS5_REP_GENERAL_FAILURE = 0x01,
  PTS_SOCKS5_REP_NOT_ALLOWED = 0x02,
  PTS_SOCKS5_REP_HOST_UNREACHABLE = 0x04,
  PTS_SOCKS5_REP_COMMAND_NOT_SUPPORTED = 0x07,
  PTS_SOCKS5_REP_ATYP_NOT_SUPPORTED = 0x08,
};

#define PTS_SOCKS5_METHOD_NO_AUTH 0x00
#define PTS_SOCKS5_METHOD_NONE_ACCEPTABLE 0xff

/* The method selection message: VER NMETHODS METHODS...
 * On OK and on FAIL, @reply (2 bytes) is what to send back. */
PtsSocks5Status pts_socks5_parse_greeting (const guint8 *buf, gsize len, gsize *consumed,
                                           guint8 reply[2], const char **why);

/* The request: VER CMD RSV ATYP=3 LEN HASH[40] PORT[2].
 * On OK, @hash holds the 40 lowercase hex characters and a NUL.
 * On FAIL, @rep is the reply code to send (or 0xff: close without reply,
 * for input that is not SOCKS5 at all). */
PtsSocks5Status pts_socks5_parse_request (const guint8 *buf, gsize len, gsize *consumed,
                                          char hash[41], guint16 *port, guint8 *rep,
                                          const char **why);

/* Writes a reply (VER REP RSV ATYP=3 LEN ADDR PORT) for @hash into @out,
 * which holds at least 7 + 40 bytes; returns its length. */
gsize pts_socks5_build_reply (guint8 *out, guint8 rep, const char *hash, guint16 port);

G_END_DECLS
