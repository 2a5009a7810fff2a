/* test-tls-held.c — a TLS record read in part: its rest must wake a watch
 *
 * In-process, on loopback: the HTTP side's guarded stream over a TLS
 * server connection, `openssl s_client` the client (pts-test-tls.h). The
 * client sends one record and then nothing; the server reads part of it.
 * The rest is decrypted inside the TLS connection, the socket has nothing
 * more to say: a watch that listened to the socket alone would wait for
 * ever (an upload's last bytes, an answer held back until a timeout).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-http-guard.h"
#include "pts-test-tls.h"

#define RECORD 4000 /* one write to s_client's stdin (under PIPE_BUF): one record */
#define FIRST 100   /* what the server reads of it first */
#define BOUND_S 20  /* a failure's bound, never waited for when all is well */

static gboolean
on_ready (GObject *stream, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_bound (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Turns the main loop until a watch on @in fires: FALSE when the bound
 * passed first. */
static gboolean
wait_readable (GPollableInputStream *in)
{
  g_autoptr (GSource) watch = g_pollable_input_stream_create_source (in, NULL);
  gboolean ready = FALSE, expired = FALSE;
  guint bound = g_timeout_add_seconds (BOUND_S, on_bound, &expired);

  g_source_set_callback (watch, G_SOURCE_FUNC (on_ready), &ready, NULL);
  g_source_attach (watch, NULL);
  while (!ready && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (watch);
  if (!expired)
    g_source_remove (bound);
  return ready;
}

static void
run_held_record (void)
{
  PtsTestCertificates c;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) cert = NULL;
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSubprocess) client = NULL;
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GIOStream) tls = NULL, guarded = NULL;
  g_autofree char *connect = NULL;
  GPollableInputStream *in;
  guint8 payload[RECORD], got[2 * RECORD];
  gsize have = 0;
  gssize n;

  g_assert_true (pts_test_certificates_make (&c, &error));
  g_assert_no_error (error);
  cert = g_tls_certificate_new_from_files (c.cert, c.key, &error);
  g_assert_no_error (error);
  g_socket_listener_add_address (listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &bound, &error);
  g_assert_no_error (error);
  connect = g_strdup_printf ("127.0.0.1:%u",
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  /* -quiet: no commands in what stdin gives, and no end at its EOF. */
  client = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                 | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                             &error, "openssl", "s_client", "-quiet", "-connect", connect,
                             "-CAfile", c.ca, NULL);
  g_assert_no_error (error);
  conn = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  tls = g_tls_server_connection_new (G_IO_STREAM (conn), cert, &error);
  g_assert_no_error (error);
  guarded = pts_http_guard_new (tls);
  g_assert_true (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error));
  g_assert_no_error (error);
  in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (guarded));

  for (gsize i = 0; i < RECORD; i++)
    payload[i] = (guint8) ('a' + i % 26);
  g_assert_true (g_output_stream_write_all (g_subprocess_get_stdin_pipe (client), payload, RECORD,
                                            NULL, NULL, &error));
  g_assert_no_error (error);

  /* The record arrives: a part of it is read. */
  while ((n = g_pollable_input_stream_read_nonblocking (in, got, FIRST, NULL, &error)) < 0)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      g_clear_error (&error);
      g_assert_true (wait_readable (in));
    }
  g_assert_cmpint (n, ==, FIRST);
  have = (gsize) n;

  /* The rest waits inside TLS, the socket is quiet: still readable, and a
   * watch fires. */
  g_assert_true (g_pollable_input_stream_is_readable (in));
  g_assert_true (wait_readable (in));
  n = g_pollable_input_stream_read_nonblocking (in, got + have, sizeof got - have, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, RECORD - FIRST);
  have += (gsize) n;
  g_assert_cmpmem (got, have, payload, RECORD);

  /* All read, the last read short: nothing more, and no spinning watch. */
  g_assert_false (g_pollable_input_stream_is_readable (in));
  n = g_pollable_input_stream_read_nonblocking (in, got, sizeof got, NULL, &error);
  g_assert_cmpint (n, ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);

  g_subprocess_force_exit (client);
  g_subprocess_wait (client, NULL, NULL);
  pts_test_certificates_clear (&c);
}

static void
test_held_record (void)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");

  g_test_summary ("A TLS record read in part over the HTTP side's guarded stream: the stream "
                  "stays readable and a watch on it fires, though the socket is quiet.");
  if (g_test_subprocess ())
    {
      run_held_record ();
      return;
    }
  if (openssl == NULL)
    {
      g_test_skip ("openssl is not installed (tests/install-deps.sh installs it)");
      return;
    }
  /* In a child, whose sanitizer settings suit glib-networking's threads. */
  pts_test_tls_sanitizer_env ();
  g_test_trap_subprocess (NULL, (guint64) 3 * BOUND_S * G_USEC_PER_SEC, 0);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/tls/held-record", test_held_record);
  return g_test_run ();
}
