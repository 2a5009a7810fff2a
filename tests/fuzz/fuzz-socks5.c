/* fuzz-socks5.c — fuzz target for the SOCKS5 greeting and request parsers
 *
 * The input is what a peer sends on a fresh SOCKS5 connection. Both parsers
 * run on every prefix of it (as the bytes would trickle in), and then as a
 * session: greeting, then request on the bytes after it. Checked:
 *   - a verdict, once reached, does not change as more bytes arrive;
 *   - OK and FAIL set what the header promises (reply, consumed, hash,
 *     port, reply code, reason) and NEED_MORE consumes nothing;
 *   - a request is OK exactly when XEP-0065 says so (version 5, CONNECT,
 *     domain address of 40 hex digits, port 0), its hash is lower case, and
 *     the reply built for it echoes it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "bsp-protocol.h"
#include "pts-socks5.h"

/* Longer inputs only repeat what the first bytes decide. */
#define FUZZ_SOCKS5_MAX_LEN 600

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_socks5_fail (const char *what, gsize len)
{
  fprintf (stderr, "fuzz-socks5: %s (at length %" G_GSIZE_FORMAT ")\n", what, len);
  abort ();
}

#define FUZZ_SOCKS5_CHECK(cond, len)                                                               \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(cond))                                                                                   \
      fuzz_socks5_fail (#cond, (len));                                                             \
  }                                                                                                \
  G_STMT_END

/* Returns the verdict on @len bytes; *@consumed is what was used. */
static PtsSocks5Status
fuzz_socks5_greeting (const guint8 *data, gsize len, gsize *consumed)
{
  guint8 reply[2] = { 0xaa, 0xaa };
  const char *why = NULL;
  PtsSocks5Status status;

  *consumed = G_MAXSIZE;
  status = pts_socks5_parse_greeting (data, len, consumed, reply, &why);
  FUZZ_SOCKS5_CHECK (reply[0] == 0x05, len);
  switch (status)
    {
    case PTS_SOCKS5_NEED_MORE:
      FUZZ_SOCKS5_CHECK (*consumed == G_MAXSIZE, len);
      FUZZ_SOCKS5_CHECK (len < 2 || len < 2u + data[1], len);
      break;
    case PTS_SOCKS5_OK:
      FUZZ_SOCKS5_CHECK (reply[1] == PTS_SOCKS5_METHOD_NO_AUTH, len);
      FUZZ_SOCKS5_CHECK (data[0] == 0x05, len);
      FUZZ_SOCKS5_CHECK (*consumed == 2u + data[1] && *consumed <= len, len);
      FUZZ_SOCKS5_CHECK (memchr (data + 2, 0x00, data[1]) != NULL, len);
      break;
    case PTS_SOCKS5_FAIL:
      FUZZ_SOCKS5_CHECK (reply[1] == PTS_SOCKS5_METHOD_NONE_ACCEPTABLE, len);
      FUZZ_SOCKS5_CHECK (why != NULL, len);
      FUZZ_SOCKS5_CHECK (*consumed == G_MAXSIZE || *consumed <= len, len);
      break;
    default: fuzz_socks5_fail ("unknown status", len);
    }
  return status;
}

/* What XEP-0065 accepts, written independently of pts-socks5.c. */
static gboolean
fuzz_socks5_request_is_good (const guint8 *data, gsize len)
{
  if (len < 47 || data[0] != 5 || data[1] != 1 || data[3] != 3 || data[4] != 40)
    return FALSE;
  for (gsize i = 5; i < 45; i++)
    if (!g_ascii_isxdigit (data[i]))
      return FALSE;
  return data[45] == 0 && data[46] == 0;
}

static PtsSocks5Status
fuzz_socks5_request (const guint8 *data, gsize len, gsize *consumed, guint8 *rep)
{
  char hash[41];
  guint16 port = 0xabcd;
  const char *why = NULL;
  PtsSocks5Status status;

  *consumed = G_MAXSIZE;
  *rep = 0xaa;
  status = pts_socks5_parse_request (data, len, consumed, hash, &port, rep, &why);
  switch (status)
    {
    case PTS_SOCKS5_NEED_MORE:
      FUZZ_SOCKS5_CHECK (*consumed == G_MAXSIZE, len);
      FUZZ_SOCKS5_CHECK (len < 47, len);
      break;
    case PTS_SOCKS5_OK:
      {
        guint8 out[7 + BSP_SIDHASH_LEN];
        gsize out_len;

        FUZZ_SOCKS5_CHECK (fuzz_socks5_request_is_good (data, len), len);
        FUZZ_SOCKS5_CHECK (*consumed == 47, len);
        FUZZ_SOCKS5_CHECK (*rep == PTS_SOCKS5_REP_SUCCEEDED, len);
        FUZZ_SOCKS5_CHECK (port == 0, len);
        FUZZ_SOCKS5_CHECK (bsp_sidhash_is_valid (hash, strlen (hash)), len);
        FUZZ_SOCKS5_CHECK (g_ascii_strncasecmp (hash, (const char *) data + 5, 40) == 0, len);

        out_len = pts_socks5_build_reply (out, *rep, hash, port);
        FUZZ_SOCKS5_CHECK (out_len == sizeof out, len);
        FUZZ_SOCKS5_CHECK (out[0] == 5 && out[1] == 0 && out[2] == 0 && out[3] == 3, len);
        FUZZ_SOCKS5_CHECK (out[4] == 40 && memcmp (out + 5, hash, 40) == 0, len);
        FUZZ_SOCKS5_CHECK (out[45] == 0 && out[46] == 0, len);
        break;
      }
    case PTS_SOCKS5_FAIL:
      FUZZ_SOCKS5_CHECK (!fuzz_socks5_request_is_good (data, len), len);
      FUZZ_SOCKS5_CHECK (*consumed == G_MAXSIZE, len);
      FUZZ_SOCKS5_CHECK (why != NULL, len);
      FUZZ_SOCKS5_CHECK (*rep == 0xff || *rep == PTS_SOCKS5_REP_COMMAND_NOT_SUPPORTED
                             || *rep == PTS_SOCKS5_REP_ATYP_NOT_SUPPORTED
                             || *rep == PTS_SOCKS5_REP_HOST_UNREACHABLE,
                         len);
      FUZZ_SOCKS5_CHECK ((*rep == 0xff) == (data[0] != 5), len);
      break;
    default: fuzz_socks5_fail ("unknown status", len);
    }
  if (len >= 47)
    FUZZ_SOCKS5_CHECK (status != PTS_SOCKS5_NEED_MORE, len);
  return status;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  PtsSocks5Status greeting_verdict = PTS_SOCKS5_NEED_MORE;
  PtsSocks5Status request_verdict = PTS_SOCKS5_NEED_MORE;
  gsize greeting_used = 0, request_used = 0;
  guint8 request_rep = 0;

  size = MIN (size, FUZZ_SOCKS5_MAX_LEN);

  /* Bytes trickling in: once decided, the verdict stays. */
  for (gsize len = 0; len <= size; len++)
    {
      gsize consumed;
      guint8 rep;
      PtsSocks5Status status;

      status = fuzz_socks5_greeting (data, len, &consumed);
      if (greeting_verdict != PTS_SOCKS5_NEED_MORE)
        FUZZ_SOCKS5_CHECK (status == greeting_verdict && consumed == greeting_used, len);
      greeting_verdict = status;
      greeting_used = consumed;

      status = fuzz_socks5_request (data, len, &consumed, &rep);
      if (request_verdict != PTS_SOCKS5_NEED_MORE)
        FUZZ_SOCKS5_CHECK (
            status == request_verdict && consumed == request_used && rep == request_rep, len);
      request_verdict = status;
      request_used = consumed;
      request_rep = rep;
    }

  /* The session: the request follows the greeting. */
  if (greeting_verdict == PTS_SOCKS5_OK)
    {
      gsize consumed;
      guint8 rep;

      fuzz_socks5_request (data + greeting_used, size - greeting_used, &consumed, &rep);
    }
  return 0;
}
