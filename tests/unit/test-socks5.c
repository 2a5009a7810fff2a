/* test-socks5.c — the XEP-0065 subset of SOCKS5: greeting, request, reply
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "pts-socks5.h"

#define HASH_LOWER "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3"
#define HASH_MIXED "1EEDB3F3f84f19cee0fa2c277a00c652e5890DC3"

/* ---- greeting ---------------------------------------------------------- */

typedef struct
{
  const char *name;
  const guint8 *bytes;
  gsize len;
  PtsSocks5Status status;
  gsize consumed; /* on OK and on FAIL after the methods were read */
  guint8 reply_method;
} GreetingCase;

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })

static const GreetingCase greeting_cases[] = {
  { "no-auth-only", BYTES (0x05, 0x01, 0x00), PTS_SOCKS5_OK, 3, 0x00 },
  { "no-auth-among-others", BYTES (0x05, 0x03, 0x02, 0x01, 0x00), PTS_SOCKS5_OK, 5, 0x00 },
  /* Bytes after the greeting belong to the request. */
  { "followed-by-request", BYTES (0x05, 0x01, 0x00, 0x05, 0x01), PTS_SOCKS5_OK, 3, 0x00 },
  { "no-auth-not-offered", BYTES (0x05, 0x02, 0x01, 0x02), PTS_SOCKS5_FAIL, 4, 0xff },
  { "zero-methods", BYTES (0x05, 0x00), PTS_SOCKS5_FAIL, 0, 0xff },
  { "socks4", BYTES (0x04, 0x01, 0x00, 0x50), PTS_SOCKS5_FAIL, 0, 0xff },
  { "http", BYTES ('G', 'E', 'T', ' ', '/'), PTS_SOCKS5_FAIL, 0, 0xff },
  { "methods-missing", BYTES (0x05, 0x03, 0x00, 0x01), PTS_SOCKS5_NEED_MORE, 0, 0xff },
};

static void
test_greeting_case (gconstpointer data)
{
  const GreetingCase *c = data;
  guint8 reply[2] = { 0xaa, 0xaa };
  gsize consumed = 0;
  const char *why = NULL;
  PtsSocks5Status status;

  status = pts_socks5_parse_greeting (c->bytes, c->len, &consumed, reply, &why);
  g_assert_cmpint (status, ==, c->status);
  g_assert_cmpuint (reply[0], ==, 0x05);
  g_assert_cmpuint (reply[1], ==, c->reply_method);
  if (status == PTS_SOCKS5_OK || c->consumed != 0)
    g_assert_cmpuint (consumed, ==, c->consumed);
  if (status == PTS_SOCKS5_FAIL)
    g_assert_nonnull (why);
}

static void
test_greeting_need_more (void)
{
  static const guint8 greeting[] = { 0x05, 0x04, 0x01, 0x02, 0x03, 0x00 };

  g_test_summary ("Every strict prefix of a valid greeting asks for more bytes.");
  for (gsize len = 0; len < sizeof greeting; len++)
    {
      guint8 reply[2];
      gsize consumed = 0;
      const char *why = NULL;

      g_test_message ("prefix length %" G_GSIZE_FORMAT, len);
      g_assert_cmpint (pts_socks5_parse_greeting (greeting, len, &consumed, reply, &why), ==,
                       PTS_SOCKS5_NEED_MORE);
      g_assert_cmpuint (consumed, ==, 0);
    }
}

/* ---- request ----------------------------------------------------------- */

/* VER CMD RSV ATYP LEN HASH[40] PORT[2] */
static GByteArray *
request_new (guint8 ver, guint8 cmd, guint8 atyp, guint8 addr_len, const char *addr, guint16 port)
{
  GByteArray *req = g_byte_array_new ();
  guint8 head[] = { ver, cmd, 0x00, atyp, addr_len };
  guint8 tail[] = { port >> 8, port & 0xff };

  g_byte_array_append (req, head, sizeof head);
  g_byte_array_append (req, (const guint8 *) addr, strlen (addr));
  g_byte_array_append (req, tail, sizeof tail);
  return req;
}

typedef struct
{
  const char *name;
  guint8 ver, cmd, atyp, addr_len;
  const char *addr;
  guint16 port;
  PtsSocks5Status status;
  guint8 rep;
} RequestCase;

static const RequestCase request_cases[] = {
  { "ok", 5, 1, 3, 40, HASH_LOWER, 0, PTS_SOCKS5_OK, 0x00 },
  { "ok-upper-case-hex", 5, 1, 3, 40, HASH_MIXED, 0, PTS_SOCKS5_OK, 0x00 },
  { "version-4", 4, 1, 3, 40, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0xff },
  { "cmd-bind", 5, 2, 3, 40, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x07 },
  { "cmd-udp", 5, 3, 3, 40, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x07 },
  { "atyp-ipv4", 5, 1, 1, 40, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x08 },
  { "atyp-ipv6", 5, 1, 4, 40, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x08 },
  { "len-39", 5, 1, 3, 39, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x08 },
  { "len-41", 5, 1, 3, 41, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x08 },
  { "len-0", 5, 1, 3, 0, HASH_LOWER, 0, PTS_SOCKS5_FAIL, 0x08 },
  { "non-hex", 5, 1, 3, 40, "1eedb3f3f84f19cee0fa2c277a00c652e5890dcz", 0, PTS_SOCKS5_FAIL, 0x04 },
  { "hostname", 5, 1, 3, 40, "proxy.example.com.proxy.example.com.abcd", 0, PTS_SOCKS5_FAIL, 0x04 },
  { "port-1", 5, 1, 3, 40, HASH_LOWER, 1, PTS_SOCKS5_FAIL, 0x04 },
  { "port-7777", 5, 1, 3, 40, HASH_LOWER, 7777, PTS_SOCKS5_FAIL, 0x04 },
};

static void
test_request_case (gconstpointer data)
{
  const RequestCase *c = data;
  g_autoptr (GByteArray) req = request_new (c->ver, c->cmd, c->atyp, c->addr_len, c->addr, c->port);
  char hash[41] = "";
  guint16 port = 0xffff;
  guint8 rep = 0xaa;
  gsize consumed = 0;
  const char *why = NULL;
  PtsSocks5Status status;

  status = pts_socks5_parse_request (req->data, req->len, &consumed, hash, &port, &rep, &why);
  g_assert_cmpint (status, ==, c->status);
  g_assert_cmphex (rep, ==, c->rep);
  if (status == PTS_SOCKS5_OK)
    {
      g_autofree char *lower = g_ascii_strdown (c->addr, -1);

      g_assert_cmpuint (consumed, ==, 47);
      g_assert_cmpstr (hash, ==, lower);
      g_assert_cmpuint (port, ==, 0);
    }
  else
    g_assert_nonnull (why);
}

static void
test_request_need_more (void)
{
  g_autoptr (GByteArray) req = request_new (5, 1, 3, 40, HASH_LOWER, 0);

  g_test_summary ("Every strict prefix of a valid request asks for more bytes.");
  g_assert_cmpuint (req->len, ==, 47);
  for (gsize len = 0; len < req->len; len++)
    {
      char hash[41];
      guint16 port;
      guint8 rep;
      gsize consumed = 0;
      const char *why = NULL;

      g_test_message ("prefix length %" G_GSIZE_FORMAT, len);
      g_assert_cmpint (
          pts_socks5_parse_request (req->data, len, &consumed, hash, &port, &rep, &why), ==,
          PTS_SOCKS5_NEED_MORE);
      g_assert_cmpuint (consumed, ==, 0);
    }
}

static void
test_request_trailing (void)
{
  g_autoptr (GByteArray) req = request_new (5, 1, 3, 40, HASH_LOWER, 0);
  char hash[41];
  guint16 port;
  guint8 rep;
  gsize consumed = 0;
  const char *why = NULL;

  g_test_summary ("Data after the request (an eager initiator) is left unconsumed.");
  g_byte_array_append (req, (const guint8 *) "DATA", 4);
  g_assert_cmpint (
      pts_socks5_parse_request (req->data, req->len, &consumed, hash, &port, &rep, &why), ==,
      PTS_SOCKS5_OK);
  g_assert_cmpuint (consumed, ==, 47);
  g_assert_cmpstr (hash, ==, HASH_LOWER);
}

/* ---- reply ------------------------------------------------------------- */

static void
test_reply_success (void)
{
  guint8 out[7 + 40];
  guint8 expected[7 + 40] = { 0x05, 0x00, 0x00, 0x03, 40 };
  gsize len;

  memcpy (expected + 5, HASH_LOWER, 40);
  expected[45] = 0x00;
  expected[46] = 0x00;
  len = pts_socks5_build_reply (out, PTS_SOCKS5_REP_SUCCEEDED, HASH_LOWER, 0);
  g_assert_cmpmem (out, len, expected, sizeof expected);
}

static void
test_reply_port (void)
{
  guint8 out[7 + 40];
  guint8 expected[7 + 40] = { 0x05, 0x04, 0x00, 0x03, 40 };
  gsize len;

  memcpy (expected + 5, HASH_LOWER, 40);
  expected[45] = 0x1e; /* 7777, network byte order */
  expected[46] = 0x61;
  len = pts_socks5_build_reply (out, PTS_SOCKS5_REP_HOST_UNREACHABLE, HASH_LOWER, 7777);
  g_assert_cmpmem (out, len, expected, sizeof expected);
}

static void
test_reply_no_hash (void)
{
  static const guint8 expected[] = { 0x05, 0x07, 0x00, 0x03, 0x00, 0x00, 0x00 };
  guint8 out[7 + 40];
  gsize len;

  g_test_summary ("A refusal before DST.ADDR was read carries an empty address.");
  len = pts_socks5_build_reply (out, PTS_SOCKS5_REP_COMMAND_NOT_SUPPORTED, NULL, 0);
  g_assert_cmpmem (out, len, expected, sizeof expected);
}

static void
test_reply_long_hash (void)
{
  guint8 out[7 + 40 + 8];
  gsize len;

  g_test_summary ("An address longer than a SIDHASH is cut to 40 bytes, never overflowing "
                  "the 47-byte buffer.");
  memset (out, 0xee, sizeof out);
  len = pts_socks5_build_reply (out, 0, HASH_LOWER "0123456789", 0);
  g_assert_cmpuint (len, ==, 47);
  g_assert_cmpuint (out[4], ==, 40);
  g_assert_cmpmem (out + 5, 40, HASH_LOWER, 40);
  g_assert_cmpuint (out[47], ==, 0xee);
}

static void
test_reply_round_trip (void)
{
  g_autoptr (GByteArray) req = request_new (5, 1, 3, 40, HASH_MIXED, 0);
  char hash[41];
  guint16 port;
  guint8 rep;
  gsize consumed = 0;
  const char *why = NULL;
  guint8 out[7 + 40];
  gsize len;

  g_test_summary ("The reply echoes DST.ADDR and DST.PORT of the request (XEP-0065), "
                  "lower-cased.");
  g_assert_cmpint (
      pts_socks5_parse_request (req->data, req->len, &consumed, hash, &port, &rep, &why), ==,
      PTS_SOCKS5_OK);
  len = pts_socks5_build_reply (out, rep, hash, port);
  g_assert_cmpuint (len, ==, 47);
  g_assert_cmpuint (out[1], ==, 0x00);
  g_assert_cmpmem (out + 5, 40, HASH_LOWER, 40);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (greeting_cases); i++)
    {
      g_autofree char *path
          = g_strdup_printf ("/server/socks5/greeting/%s", greeting_cases[i].name);
      g_test_add_data_func (path, &greeting_cases[i], test_greeting_case);
    }
  g_test_add_func ("/server/socks5/greeting/need-more", test_greeting_need_more);

  for (gsize i = 0; i < G_N_ELEMENTS (request_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/server/socks5/request/%s", request_cases[i].name);
      g_test_add_data_func (path, &request_cases[i], test_request_case);
    }
  g_test_add_func ("/server/socks5/request/need-more", test_request_need_more);
  g_test_add_func ("/server/socks5/request/trailing-data", test_request_trailing);

  g_test_add_func ("/server/socks5/reply/success", test_reply_success);
  g_test_add_func ("/server/socks5/reply/port", test_reply_port);
  g_test_add_func ("/server/socks5/reply/no-hash", test_reply_no_hash);
  g_test_add_func ("/server/socks5/reply/long-hash", test_reply_long_hash);
  g_test_add_func ("/server/socks5/reply/round-trip", test_reply_round_trip);

  return g_test_run ();
}
