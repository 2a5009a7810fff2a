/* test-socks5.c — the SOCKS5 side of the proxy: a large relay, and bad input
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-fixture.h"

#define TRANSFER_SIZE (G_GUINT64_CONSTANT (256) * 1024 * 1024)

static void
test_transfer_large (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "sender");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "receiver");
  g_autoptr (PtsNode) reply = NULL;
  PtsFixtureStream stream;

  g_test_summary ("256 MiB of random data from initiator to target through the relay: the "
                  "target connects first, then the initiator, the initiator activates, and "
                  "both ends' SHA-256 match.");

  pts_fixture_stream_connect (&stream, server, alice, bob, "large-sid");
  reply = pts_fixture_activate (alice, server, stream.sid, pts_test_client_get_jid (bob));
  pts_fixture_assert_result (reply);
  pts_fixture_assert_transfer (&stream, TRANSFER_SIZE, 42);
  pts_fixture_stream_clear (&stream);

  pts_fixture_server_stop (server);
}

static void
test_early_data (void)
{
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "sender");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "receiver");
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (GError) error = NULL;
  guint8 sent[8192], got[sizeof sent];
  guint64 state = 7;
  PtsFixtureStream stream;

  g_test_summary ("Bytes the initiator writes before activation are held, not dropped: "
                  "libpurple starts writing before the activation result arrives.");

  pts_fixture_stream_connect (&stream, server, alice, bob, "early-sid");
  pts_test_random_fill (&state, sent, sizeof sent);
  pts_test_socket_send_all (stream.initiator, sent, sizeof sent, &error);
  g_assert_no_error (error);
  reply = pts_fixture_activate (alice, server, stream.sid, pts_test_client_get_jid (bob));
  pts_fixture_assert_result (reply);
  pts_test_socket_read_exact (stream.target, got, sizeof got, PTS_TEST_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (got, sizeof got, sent, sizeof sent);
  pts_fixture_assert_transfer (&stream, 1024 * 1024, 8);
  pts_fixture_stream_clear (&stream);

  pts_fixture_server_stop (server);
}

/* ---- bad input, table-driven ------------------------------------------------- */

typedef enum
{
  ADDR_HASH,    /* the real SIDHASH */
  ADDR_SHORT,   /* 39 characters of it */
  ADDR_LONG,    /* 41 characters */
  ADDR_NOT_HEX, /* 40 characters, not all hex */
  ADDR_IPV4,    /* 4 bytes, for ATYP 1 */
} AddrKind;

typedef struct
{
  const char *path;
  const char *summary;
  /* What the client sends: a greeting, then (if request) a request. */
  const guint8 *greeting;
  gsize greeting_len;
  gboolean request;
  guint8 ver, cmd, atyp;
  AddrKind addr;
  guint16 port;
  gssize cut; /* send only this many bytes of the request, then close; -1: all */
  /* What the server must answer before closing. */
  const guint8 *expect;
  gsize expect_len;
  gboolean client_closes; /* the client closes first (early close) */
} BadInputCase;

#define BYTES(...) (const guint8[]){ __VA_ARGS__ }, sizeof ((const guint8[]){ __VA_ARGS__ })
#define NONE NULL, 0
#define GOOD_GREETING BYTES (0x05, 0x01, 0x00)
#define REPLY(code) BYTES (0x05, 0x00, 0x05, code, 0x00, 0x03, 0x00, 0x00, 0x00)

static const BadInputCase bad_input_cases[] = {
  { "/server/socks5/bad/greeting-version", "A SOCKS4 greeting is closed without an answer.",
    BYTES (0x04, 0x01, 0x00, 0x50), FALSE, 0, 0, 0, ADDR_HASH, 0, -1, NONE, FALSE },
  { "/server/socks5/bad/no-acceptable-method",
    "A greeting without method 0 gets 05 FF and a close (RFC 1928 §3).",
    BYTES (0x05, 0x02, 0x01, 0x02), FALSE, 0, 0, 0, ADDR_HASH, 0, -1, BYTES (0x05, 0xff), FALSE },
  { "/server/socks5/bad/no-methods", "A greeting with no methods at all gets 05 FF.",
    BYTES (0x05, 0x00), FALSE, 0, 0, 0, ADDR_HASH, 0, -1, BYTES (0x05, 0xff), FALSE },
  { "/server/socks5/bad/request-version", "A request that is not version 5 is closed.",
    GOOD_GREETING, TRUE, 0x04, 0x01, 0x03, ADDR_HASH, 0, -1, BYTES (0x05, 0x00), FALSE },
  { "/server/socks5/bad/command-bind", "BIND is not supported: reply 07.", GOOD_GREETING, TRUE,
    0x05, 0x02, 0x03, ADDR_HASH, 0, -1, REPLY (0x07), FALSE },
  { "/server/socks5/bad/command-udp", "UDP ASSOCIATE is not supported: reply 07.", GOOD_GREETING,
    TRUE, 0x05, 0x03, 0x03, ADDR_HASH, 0, -1, REPLY (0x07), FALSE },
  { "/server/socks5/bad/atyp-ipv4", "Only ATYP 3 (domain name) is used: reply 08.", GOOD_GREETING,
    TRUE, 0x05, 0x01, 0x01, ADDR_IPV4, 0, -1, REPLY (0x08), FALSE },
  { "/server/socks5/bad/hash-short", "A 39-character DST.ADDR gets 08.", GOOD_GREETING, TRUE, 0x05,
    0x01, 0x03, ADDR_SHORT, 0, -1, REPLY (0x08), FALSE },
  { "/server/socks5/bad/hash-long", "A 41-character DST.ADDR gets 08.", GOOD_GREETING, TRUE, 0x05,
    0x01, 0x03, ADDR_LONG, 0, -1, REPLY (0x08), FALSE },
  { "/server/socks5/bad/hash-not-hex", "A DST.ADDR that is not hex gets 04.", GOOD_GREETING, TRUE,
    0x05, 0x01, 0x03, ADDR_NOT_HEX, 0, -1, REPLY (0x04), FALSE },
  { "/server/socks5/bad/port", "DST.PORT must be 0: else 04.", GOOD_GREETING, TRUE, 0x05, 0x01,
    0x03, ADDR_HASH, 1080, -1, REPLY (0x04), FALSE },
  { "/server/socks5/bad/early-close-greeting", "A client that goes away mid-greeting.",
    BYTES (0x05, 0x02, 0x00), FALSE, 0, 0, 0, ADDR_HASH, 0, -1, NONE, TRUE },
  { "/server/socks5/bad/early-close-request",
    "A client that goes away mid-request, after the hash's first half.", GOOD_GREETING, TRUE, 0x05,
    0x01, 0x03, ADDR_HASH, 0, 25, BYTES (0x05, 0x00), TRUE },
  { "/server/socks5/bad/garbage", "An HTTP request on the SOCKS5 port is closed at once.",
    (const guint8 *) "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, FALSE, 0, 0, 0, ADDR_HASH, 0, -1,
    NONE, FALSE },
};

static void
test_bad_input (gconstpointer data)
{
  const BadInputCase *tc = data;
  PtsTestServer *server = pts_fixture_server_start (NULL);
  g_autoptr (PtsTestClient) alice = pts_fixture_login (server, "alice", "sender");
  g_autoptr (PtsTestClient) bob = pts_fixture_login (server, "bob", "receiver");
  g_autofree char *hash = pts_fixture_sidhash ("bad-sid", alice, bob);
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  g_test_summary (tc->summary);

  conn = pts_test_tcp_connect (server->socks5_host, server->socks5_port, &error);
  g_assert_no_error (error);
  pts_test_socket_send_all (conn, tc->greeting, tc->greeting_len, &error);
  g_assert_no_error (error);

  if (tc->request)
    {
      /* Wait for the method selection first, as a client does. */
      guint8 method[2];
      guint8 head[4] = { tc->ver, tc->cmd, 0x00, tc->atyp };
      guint8 port[2] = { tc->port >> 8, tc->port & 0xff };

      pts_test_socket_read_exact (conn, method, sizeof method, PTS_TEST_TIMEOUT_MS, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (method, sizeof method, tc->expect, 2);
      g_byte_array_append (out, head, sizeof head);
      switch (tc->addr)
        {
        case ADDR_HASH:
        case ADDR_SHORT:
        case ADDR_LONG:
        case ADDR_NOT_HEX:
          {
            g_autofree char *addr = g_strconcat (hash, tc->addr == ADDR_LONG ? "0" : "", NULL);
            guint8 len = tc->addr == ADDR_SHORT ? 39 : strlen (addr);
            if (tc->addr == ADDR_NOT_HEX)
              addr[17] = 'g';
            g_byte_array_append (out, &len, 1);
            g_byte_array_append (out, (const guint8 *) addr, len);
            break;
          }
        case ADDR_IPV4: g_byte_array_append (out, BYTES (127, 0, 0, 1)); break;
        }
      g_byte_array_append (out, port, sizeof port);
      pts_test_socket_send_all (conn, out->data, tc->cut >= 0 ? (gsize) tc->cut : out->len, &error);
      g_assert_no_error (error);
    }

  if (tc->client_closes)
    {
      if (tc->expect_len > 0 && !tc->request)
        {
          guint8 reply[16];
          pts_test_socket_read_exact (conn, reply, tc->expect_len, PTS_TEST_TIMEOUT_MS, &error);
          g_assert_no_error (error);
        }
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
    }
  else
    {
      g_autoptr (GBytes) answer
          = pts_test_socket_read_until_closed (conn, 64, PTS_TEST_TIMEOUT_MS, &error);
      gsize skip = tc->request ? 2 : 0; /* the method selection, already read */

      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer),
                       tc->expect + skip, tc->expect_len - skip);
    }

  /* Nothing of that left a session behind: the same hash works normally,
   * target first. */
  pts_fixture_assert_good_stream (server, alice, bob, "bad-sid", 256 * 1024);

  pts_fixture_server_stop (server);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/server/socks5/transfer-256mib", test_transfer_large);
  g_test_add_func ("/server/socks5/early-data", test_early_data);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_input_cases); i++)
    g_test_add_data_func (bad_input_cases[i].path, &bad_input_cases[i], test_bad_input);

  return g_test_run ();
}
