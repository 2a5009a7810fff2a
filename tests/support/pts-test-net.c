/* pts-test-net.c — blocking helpers for tests of proxy-test-server: plain
 * TCP sockets with deadlines, a XEP-0065 SOCKS5 client, and a checksummed
 * bulk transfer between two connections (see pts-test-util.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-test"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "pts-test-util.h"

#define PTS_TEST_SOCKET_TIMEOUT_S 60
#define PTS_TEST_CHUNK (256 * 1024)

/* ==== plain sockets ============================================================ */

GSocketConnection *
pts_test_tcp_connect (const char *host, guint16 port, GError **error)
{
  return pts_test_tcp_connect_from (host, port, NULL, error);
}

GSocketConnection *
pts_test_tcp_connect_from (const char *host, guint16 port, const char *local, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSocketConnection *conn;

  if (local != NULL)
    {
      g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string (local, 0);
      g_socket_client_set_local_address (client, address);
    }
  /* Loopback only: never ask a desktop proxy resolver. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, PTS_TEST_SOCKET_TIMEOUT_S);
  conn = g_socket_client_connect_to_host (client, host, port, NULL, error);
  if (conn == NULL)
    return NULL;
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  return conn;
}

/* Waits for @condition until @deadline (monotonic µs). */
static gboolean
pts_test_socket_wait (GSocket *socket, GIOCondition condition, gint64 deadline, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gint64 remaining = MAX (0, deadline - g_get_monotonic_time ());

  if (g_socket_condition_timed_wait (socket, condition, remaining, NULL, &local_error))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                         condition == G_IO_IN ? "timed out waiting for data"
                                              : "timed out waiting to send");
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gssize
pts_test_socket_send_some (GSocket *socket, const void *data, gsize len, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gssize n = g_socket_send_with_blocking (socket, data, len, FALSE, NULL, &local_error);

  if (n >= 0)
    return n;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return 0;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return -1;
}

/* Sends all of @data; no single wait for buffer space lasts longer than
 * @timeout_ms. */
static gboolean
pts_test_socket_send_timed (GSocket *socket, const guint8 *data, gsize len, guint timeout_ms,
                            GError **error)
{
  gsize done = 0;

  /* Bounded: every round sends at least one byte or fails. */
  while (done < len)
    {
      gssize n;

      if (!pts_test_socket_wait (socket, G_IO_OUT,
                                 g_get_monotonic_time () + (gint64) timeout_ms * 1000, error))
        return FALSE;
      n = pts_test_socket_send_some (socket, data + done, len - done, error);
      if (n < 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

gboolean
pts_test_socket_send_all (GSocketConnection *conn, const void *data, gsize len, GError **error)
{
  return pts_test_socket_send_timed (g_socket_connection_get_socket (conn), data, len,
                                     PTS_TEST_TIMEOUT_MS, error);
}

gssize
pts_test_socket_receive (GSocket *socket, guint8 *buf, gsize len, gint64 deadline, GError **error)
{
  /* Bounded: each round waits with the deadline, and a readable socket
   * yields data, the end, or an error. */
  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n;

      if (!pts_test_socket_wait (socket, G_IO_IN, deadline, error))
        return -1;
      n = g_socket_receive_with_blocking (socket, (char *) buf, len, FALSE, NULL, &local_error);
      if (n >= 0)
        return n;
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return -1;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                               "timed out waiting for data");
          return -1;
        }
    }
}

gboolean
pts_test_socket_read_exact (GSocketConnection *conn, void *buf, gsize len, guint timeout_ms,
                            GError **error)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gsize done = 0;

  while (done < len)
    {
      gssize n
          = pts_test_socket_receive (socket, (guint8 *) buf + done, len - done, deadline, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_CLOSED,
                       "connection closed after %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes",
                       done, len);
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

GBytes *
pts_test_socket_read_until_closed (GSocketConnection *conn, gsize max, guint timeout_ms,
                                   GError **error)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 buf[16384];

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n = pts_test_socket_receive (socket, buf, sizeof buf, deadline, &local_error);

      if (n == 0)
        break;
      if (n < 0)
        {
          if (g_error_matches (local_error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT))
            {
              g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                           "the connection is still open after %u ms (%u bytes read)", timeout_ms,
                           data->len);
              return NULL;
            }
          /* A reset is a close too. */
          break;
        }
      g_byte_array_append (data, buf, MIN ((gsize) n, max - MIN (max, data->len)));
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* ==== XEP-0065 SOCKS5 ============================================================ */

int
pts_test_socks5_connect (const char *host, guint16 port, const char *hash,
                         GSocketConnection **out_conn, GError **error)
{
  return pts_test_socks5_connect_from (host, port, NULL, hash, out_conn, error);
}

int
pts_test_socks5_connect_from (const char *host, guint16 port, const char *local, const char *hash,
                              GSocketConnection **out_conn, GError **error)
{
  g_autoptr (GSocketConnection) conn = NULL;
  static const guint8 greeting[] = { 0x05, 0x01, 0x00 };
  guint8 method[2];
  guint8 request[5 + 255 + 2];
  guint8 head[5];
  guint8 rest[255 + 2];
  gsize hash_len = strlen (hash);

  g_return_val_if_fail (hash_len <= 255, -1);
  conn = pts_test_tcp_connect_from (host, port, local, error);
  if (conn == NULL)
    return -1;
  if (!pts_test_socket_send_all (conn, greeting, sizeof greeting, error)
      || !pts_test_socket_read_exact (conn, method, sizeof method, PTS_TEST_TIMEOUT_MS, error))
    return -1;
  if (method[0] != 0x05 || method[1] != 0x00)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "SOCKS5 method selection answered %02x %02x", method[0], method[1]);
      return -1;
    }

  request[0] = 0x05; /* VER */
  request[1] = 0x01; /* CMD CONNECT */
  request[2] = 0x00; /* RSV */
  request[3] = 0x03; /* ATYP domain name */
  request[4] = (guint8) hash_len;
  memcpy (request + 5, hash, hash_len);
  request[5 + hash_len] = 0;
  request[6 + hash_len] = 0;
  if (!pts_test_socket_send_all (conn, request, 7 + hash_len, error)
      || !pts_test_socket_read_exact (conn, head, sizeof head, PTS_TEST_TIMEOUT_MS, error))
    return -1;
  if (head[0] != 0x05)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL, "SOCKS5 reply has version %u",
                   head[0]);
      return -1;
    }
  if (head[1] != 0x00)
    {
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return head[1];
    }
  if (!pts_test_socket_read_exact (conn, rest, head[4] + 2, PTS_TEST_TIMEOUT_MS, error))
    return -1;
  if (head[3] != 0x03 || head[4] != hash_len || memcmp (rest, hash, hash_len) != 0
      || rest[hash_len] != 0 || rest[hash_len + 1] != 0)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "the SOCKS5 success reply does not echo the address and port 0");
      return -1;
    }
  *out_conn = g_steal_pointer (&conn);
  return 0;
}

/* ==== bulk transfer ================================================================ */

void
pts_test_random_fill (guint64 *state, guint8 *buf, gsize len)
{
  guint64 x = *state ? *state : G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  /* xorshift64*: far faster than the SHA-256 that checks it. */
  for (gsize i = 0; i < len; i += 8)
    {
      guint64 v;

      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      v = x * G_GUINT64_CONSTANT (0x2545f4914f6cdd1d);
      memcpy (buf + i, &v, MIN (8, len - i));
    }
  *state = x;
}

typedef struct
{
  GSocket *socket;
  guint64 limit; /* reading more than this is an error */
  guint idle_timeout_ms;
  guint64 received;
  GChecksum *sha;
  GError *error;
  gint64 finished;
} PtsTestSink;

static gpointer
pts_test_sink_run (gpointer data)
{
  PtsTestSink *sink = data;
  g_autofree guint8 *buf = g_malloc (PTS_TEST_CHUNK);

  /* Bounded by the stream's end, the byte limit and the idle timeout. */
  for (;;)
    {
      gint64 deadline = g_get_monotonic_time () + (gint64) sink->idle_timeout_ms * 1000;
      gssize n
          = pts_test_socket_receive (sink->socket, buf, PTS_TEST_CHUNK, deadline, &sink->error);

      if (n <= 0)
        break;
      g_checksum_update (sink->sha, buf, n);
      sink->received += n;
      if (sink->received > sink->limit)
        {
          g_set_error (&sink->error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                       "the receiver got more than the %" G_GUINT64_FORMAT " bytes sent",
                       sink->limit);
          break;
        }
    }
  sink->finished = g_get_monotonic_time ();
  return NULL;
}

gboolean
pts_test_transfer (GSocketConnection *from, GSocketConnection *to, guint64 size, guint64 seed,
                   guint idle_timeout_ms, PtsTestTransfer *result, GError **error)
{
  GSocket *out = g_socket_connection_get_socket (from);
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (PTS_TEST_CHUNK);
  g_autoptr (GError) write_error = NULL;
  PtsTestSink sink = { 0 };
  GThread *thread;
  guint64 state = seed * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) + 1;
  gint64 started;

  memset (result, 0, sizeof *result);
  sink.socket = g_socket_connection_get_socket (to);
  sink.limit = size;
  sink.idle_timeout_ms = idle_timeout_ms;
  sink.sha = g_checksum_new (G_CHECKSUM_SHA256);
  thread = g_thread_new ("pts-test-sink", pts_test_sink_run, &sink);

  started = g_get_monotonic_time ();
  while (result->bytes_sent < size)
    {
      gsize chunk = MIN (size - result->bytes_sent, PTS_TEST_CHUNK);

      pts_test_random_fill (&state, buf, chunk);
      g_checksum_update (sha, buf, chunk);
      if (!pts_test_socket_send_timed (out, buf, chunk, idle_timeout_ms, &write_error))
        break;
      result->bytes_sent += chunk;
    }
  /* The end of the data: the proxy passes it on as the end of the stream. */
  if (write_error == NULL)
    g_socket_shutdown (out, FALSE, TRUE, &write_error);
  g_thread_join (thread);

  g_strlcpy (result->sent_sha256, g_checksum_get_string (sha), sizeof result->sent_sha256);
  g_strlcpy (result->received_sha256, g_checksum_get_string (sink.sha),
             sizeof result->received_sha256);
  result->bytes_received = sink.received;
  result->seconds = (sink.finished - started) / (double) G_USEC_PER_SEC;
  g_checksum_free (sink.sha);

  if (write_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&write_error),
                                  "sending byte %" G_GUINT64_FORMAT ": ", result->bytes_sent);
      g_clear_error (&sink.error);
      return FALSE;
    }
  if (sink.error != NULL)
    {
      g_propagate_prefixed_error (error, sink.error,
                                  "receiving after %" G_GUINT64_FORMAT " bytes: ", sink.received);
      return FALSE;
    }
  return TRUE;
}
