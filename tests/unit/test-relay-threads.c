/* test-relay-threads.c — SOCKS5 relays over real loopback sockets: splice(2)
 * and copy, on the main thread and on a worker, with their end rules
 *
 * Every transfer here is checked byte for byte at the receiver; the done
 * callback must come on the main thread, once, with the expected outcome.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "pts-relay-pool.h"
#include "pts-relay.h"
#include "pts-socket-endpoint.h"

#define BLOCK 65536

typedef struct
{
  const char *path;
  gboolean splice;
  gboolean worker;
  guint64 send;     /* bytes the sender gives */
  gint64 expected;  /* the receiver's size, -1: none */
  guint64 received; /* bytes the receiver must get */
  int code;         /* PtsRelayError, -1: success */
} RelayCase;

typedef struct
{
  GSocketConnection *sender;   /* the test's end, the relay's source's peer */
  GSocketConnection *receiver; /* the test's end, the relay's sink's peer */
  guint64 send;
  guint64 received;
  guint32 sum_sent, sum_received; /* Adler-like checksums of the streams */
  gboolean done;
  guint done_calls;
  GThread *done_thread;
  GError *error;
} Fixture;

/* A connected pair of TCP sockets on loopback: @relay_end for the relay,
 * @test_end for the test (blocking). */
static void
tcp_pair (GSocketConnection **relay_end, GSocketConnection **test_end)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();

  g_assert_true (g_socket_listener_add_address (listener, any, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  g_assert_no_error (error);
  *test_end = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (bound), NULL, &error);
  g_assert_no_error (error);
  *relay_end = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (g_socket_connection_get_socket (*relay_end), FALSE);
}

static guint32
checksum (guint32 sum, const guint8 *data, gsize len)
{
  guint32 a = sum & 0xffff, b = sum >> 16;

  for (gsize i = 0; i < len; i++)
    {
      a = (a + data[i]) % 65521;
      b = (b + a) % 65521;
    }
  return (b << 16) | a;
}

static gpointer
sender_thread (gpointer user_data)
{
  Fixture *f = user_data;
  GSocket *socket = g_socket_connection_get_socket (f->sender);
  g_autofree guint8 *block = g_malloc (BLOCK);
  guint64 left = f->send;
  guint32 seed = 12345;

  while (left > 0)
    {
      gsize n = MIN (left, BLOCK), off = 0;

      for (gsize i = 0; i < n; i++)
        block[i] = (guint8) ((seed = seed * 1103515245 + 12345) >> 16);
      f->sum_sent = checksum (f->sum_sent, block, n);
      while (off < n)
        {
          gssize w = g_socket_send (socket, (char *) block + off, n - off, NULL, NULL);

          if (w <= 0)
            return NULL; /* the relay cut it: the receiver's count says so */
          off += w;
        }
      left -= n;
    }
  g_socket_shutdown (socket, FALSE, TRUE, NULL);
  return NULL;
}

static gpointer
receiver_thread (gpointer user_data)
{
  Fixture *f = user_data;
  GSocket *socket = g_socket_connection_get_socket (f->receiver);
  g_autofree guint8 *block = g_malloc (BLOCK);

  for (;;)
    {
      gssize n = g_socket_receive (socket, (char *) block, BLOCK, NULL, NULL);

      if (n <= 0)
        break;
      f->sum_received = checksum (f->sum_received, block, n);
      f->received += n;
    }
  return NULL;
}

static void
relay_done (PtsRelay *relay, const GError *error, gpointer user_data)
{
  Fixture *f = user_data;

  f->done_calls++;
  f->done = TRUE;
  f->done_thread = g_thread_self ();
  f->error = error != NULL ? g_error_copy (error) : NULL;
}

static gboolean
give_up (gpointer user_data)
{
  g_error ("the relay did not end within 60 s");
  return G_SOURCE_REMOVE;
}

static void
test_relay (gconstpointer data)
{
  const RelayCase *tc = data;
  g_autoptr (PtsRelayPool) pool = tc->worker ? pts_relay_pool_new (2) : NULL;
  GSocketConnection *source_conn, *sink_conn;
  Fixture f = { 0 };
  PtsRelay *relay;
  GThread *sender, *receiver;
  guint timeout;

  g_test_summary ("A relay between two loopback TCP connections moves the sender's bytes "
                  "to the receiver unchanged, and ends as the size rules say, its done "
                  "callback once and on the main thread.");

  tcp_pair (&source_conn, &f.sender);
  tcp_pair (&sink_conn, &f.receiver);
  f.send = tc->send;
  relay = pts_relay_new (256 * 1024, pts_socket_endpoint_new (source_conn, TRUE),
                         pts_socket_endpoint_new (sink_conn, FALSE), relay_done, &f);
  g_object_unref (source_conn);
  g_object_unref (sink_conn);
  pts_relay_expect_size (relay, tc->expected);
  pts_relay_set_file_info (relay, -1, NULL);
  g_assert_true (!tc->splice || pts_relay_use_pipe (relay));
  g_assert_cmpstr (pts_relay_mode (relay), ==, tc->splice ? "splice" : "copy");

  sender = g_thread_new ("sender", sender_thread, &f);
  receiver = g_thread_new ("receiver", receiver_thread, &f);
  if (pool != NULL)
    {
      gint *load;
      GMainContext *context = pts_relay_pool_pick (pool, &load);

      pts_relay_start_in (relay, context, load);
    }
  else
    pts_relay_start (relay);
  timeout = g_timeout_add_seconds (60, give_up, NULL);
  while (!f.done)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);
  /* The relay's end closed both sockets: the threads see it. */
  g_thread_join (receiver);
  g_thread_join (sender);

  g_assert_cmpuint (f.done_calls, ==, 1);
  g_assert_true (f.done_thread == g_thread_self ());
  if (tc->code < 0)
    g_assert_no_error (f.error);
  else
    g_assert_error (f.error, PTS_RELAY_ERROR, tc->code);
  /* A failed transfer ends with a reset, which may drop what the
   * receiver's kernel still held: never more than expected arrives. */
  if (tc->code < 0)
    g_assert_cmpuint (f.received, ==, tc->received);
  else
    g_assert_cmpuint (f.received, <=, tc->received);
  /* What arrived is checked whole when all of it did (a reset may have
   * dropped the end of a failed one). */
  if (f.received == tc->send)
    g_assert_cmphex (f.sum_received, ==, f.sum_sent);
  g_assert_cmpuint (pts_relay_bytes_out (relay), ==, tc->received);
  pts_relay_free (relay);
  g_clear_error (&f.error);
  g_object_unref (f.sender);
  g_object_unref (f.receiver);
  if (pool != NULL)
    g_assert_cmpint (pts_relay_pool_load (pool, 0) + pts_relay_pool_load (pool, 1), ==, 0);
}

/* A relay that never ends by itself, freed from the main thread while its
 * worker moves bytes: no done callback, both connections closed, the
 * worker's count back to 0. */
static void
test_free_running (void)
{
  g_autoptr (PtsRelayPool) pool = pts_relay_pool_new (1);
  GSocketConnection *source_conn, *sink_conn;
  Fixture f = { 0 };
  PtsRelay *relay;
  GThread *sender, *receiver;
  gint *load;
  GMainContext *context;

  g_test_summary ("Freeing a relay that runs on a worker stops it there first: no done "
                  "callback, the receiver's connection closed, the worker's load back to 0.");

  tcp_pair (&source_conn, &f.sender);
  tcp_pair (&sink_conn, &f.receiver);
  f.send = G_GUINT64_CONSTANT (1) << 40; /* more than the test will wait for */
  relay = pts_relay_new (256 * 1024, pts_socket_endpoint_new (source_conn, TRUE),
                         pts_socket_endpoint_new (sink_conn, FALSE), relay_done, &f);
  g_object_unref (source_conn);
  g_object_unref (sink_conn);
  pts_relay_set_file_info (relay, -1, NULL);
  g_assert_true (pts_relay_use_pipe (relay));
  sender = g_thread_new ("sender", sender_thread, &f);
  receiver = g_thread_new ("receiver", receiver_thread, &f);
  context = pts_relay_pool_pick (pool, &load);
  pts_relay_start_in (relay, context, load);
  /* Bytes flow on the worker: the published count says so. */
  while (pts_relay_bytes_out (relay) < 4 * 1024 * 1024)
    g_usleep (1000);
  g_assert_cmpint (pts_relay_pool_load (pool, 0), ==, 1);
  g_assert_cmpstr (pts_relay_kind (relay, TRUE), ==, "socks5");
  pts_relay_free (relay);
  g_assert_cmpint (pts_relay_pool_load (pool, 0), ==, 0);
  g_thread_join (receiver);
  g_thread_join (sender);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (f.done_calls, ==, 0);
  g_object_unref (f.sender);
  g_object_unref (f.receiver);
}

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

static const RelayCase relay_cases[] = {
  { "/unit/relay-threads/splice/main", TRUE, FALSE, 64 * MIB, -1, 64 * MIB, -1 },
  { "/unit/relay-threads/splice/worker", TRUE, TRUE, 64 * MIB, -1, 64 * MIB, -1 },
  { "/unit/relay-threads/copy/worker", FALSE, TRUE, 64 * MIB, -1, 64 * MIB, -1 },
  { "/unit/relay-threads/splice/expected", TRUE, TRUE, 3 * MIB + 5, 3 * MIB + 5, 3 * MIB + 5, -1 },
  /* More than expected: the receiver gets exactly what it expects, the
   * transfer fails on the sender's account (nothing more in the pipe). */
  { "/unit/relay-threads/splice/overrun", TRUE, TRUE, 3 * MIB + 100, 3 * MIB, 3 * MIB,
    PTS_RELAY_ERROR_BAD_INPUT },
  { "/unit/relay-threads/copy/overrun", FALSE, FALSE, 3 * MIB + 100, 3 * MIB, 3 * MIB,
    PTS_RELAY_ERROR_BAD_INPUT },
  { "/unit/relay-threads/splice/short", TRUE, TRUE, MIB, 2 * MIB, MIB, PTS_RELAY_ERROR_SHORT },
  { "/unit/relay-threads/splice/empty", TRUE, FALSE, 0, -1, 0, -1 },
};

int
main (int argc, char **argv)
{
  /* As the server: a receiver gone under splice(2) is EPIPE, no signal. */
  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (relay_cases); i++)
    g_test_add_data_func (relay_cases[i].path, &relay_cases[i], test_relay);
  g_test_add_func ("/unit/relay-threads/free-running", test_free_running);
  return g_test_run ();
}
