/* test-direct.c — the receiver's SOCKS5 client for the sender's own
 * streamhosts (plugin/bsp-direct.c) against fake streamhosts on loopback
 *
 * A streamhost that answers well hands over a socket from which the file's
 * first bytes are still to be read; one that refuses, answers garbage or
 * closes midway fails; of several, the one that answers wins. Stopped, an
 * established connection stays open (libpurple's sender takes its close as
 * the transfer's end) until the attempts are freed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "bsp-direct.h"

#define HASH "0123456789abcdef0123456789abcdef01234567"
#define PAYLOAD "first bytes of the file"

typedef enum
{
  HOST_GOOD,      /* the whole handshake, then PAYLOAD */
  HOST_AUTH_ONLY, /* wants a method we do not offer */
  HOST_REFUSES,   /* REP 0x05: connection refused */
  HOST_BAD_ATYP,  /* an address type that does not exist */
  HOST_CLOSES,    /* closes after the method's answer */
  HOST_SILENT,    /* accepts, reads, never answers */
} HostKind;

typedef struct
{
  HostKind kind;
  GSocketService *service;
  guint16 port;
  GSocketConnection *conn; /* the accepted one, kept */
  gboolean hash_ok;
  gint eof;      /* it saw the client close */
  gint finished; /* its thread is done with it */
} FakeHost;

typedef struct
{
  GMainLoop *loop;
  int fd;
  char *jid;
  GError *error;
  guint calls;
} Outcome;

static gboolean
fake_read (GInputStream *in, guint8 *buf, gsize len)
{
  gsize got = 0;

  return g_input_stream_read_all (in, buf, len, &got, NULL, NULL) && got == len;
}

/* Runs in the service's thread: blocking I/O is fine there. */
static void
fake_serve (FakeHost *host, GSocketConnection *conn)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  guint8 buf[300];
  static const guint8 no_auth[] = { 5, 0 }, auth[] = { 5, 2 };
  guint8 reply[5 + 40 + 2] = { 5, 0, 0, 3, 40 };

  g_atomic_pointer_set (&host->conn, g_object_ref (conn));
  if (!fake_read (in, buf, 3) || buf[0] != 5)
    return;
  if (host->kind == HOST_SILENT)
    {
      /* until the client closes */
      g_atomic_int_set (&host->eof, g_input_stream_read (in, buf, 1, NULL, NULL) <= 0);
      return;
    }
  g_output_stream_write_all (out, host->kind == HOST_AUTH_ONLY ? auth : no_auth, 2, NULL, NULL,
                             NULL);
  if (host->kind == HOST_AUTH_ONLY)
    return;
  if (host->kind == HOST_CLOSES)
    {
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return;
    }
  if (!fake_read (in, buf, 5) || buf[4] != 40 || !fake_read (in, buf + 5, 40 + 2))
    return;
  host->hash_ok = memcmp (buf + 5, HASH, 40) == 0;
  if (host->kind == HOST_REFUSES)
    reply[1] = 5;
  if (host->kind == HOST_BAD_ATYP)
    reply[3] = 9;
  memcpy (reply + 5, buf + 5, 40);
  g_output_stream_write_all (out, reply, sizeof reply, NULL, NULL, NULL);
  /* The file's first bytes right behind the reply: they must stay in the
   * socket for whoever reads the stream. */
  g_output_stream_write_all (out, PAYLOAD, strlen (PAYLOAD), NULL, NULL, NULL);
  g_atomic_int_set (&host->eof, g_input_stream_read (in, buf, 1, NULL, NULL) <= 0);
}

static gboolean
fake_run (GThreadedSocketService *service, GSocketConnection *conn, GObject *source,
          gpointer user_data)
{
  FakeHost *host = user_data;

  fake_serve (host, conn);
  g_atomic_int_set (&host->finished, TRUE);
  return TRUE;
}

static void
fake_start (FakeHost *host, HostKind kind)
{
  g_autoptr (GError) error = NULL;

  host->kind = kind;
  host->service = g_threaded_socket_service_new (2);
  host->port
      = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (host->service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (host->service, "run", G_CALLBACK (fake_run), host);
  g_socket_service_start (host->service);
}

/* Once its thread let go of @host (the client closed by now). */
static void
fake_stop (FakeHost *host)
{
  gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (host->conn != NULL && !g_atomic_int_get (&host->finished)
         && g_get_monotonic_time () < until)
    g_usleep (1000);
  g_assert_true (host->conn == NULL || g_atomic_int_get (&host->finished));
  g_socket_service_stop (host->service);
  g_socket_listener_close (G_SOCKET_LISTENER (host->service));
  g_clear_object (&host->service);
  g_clear_object (&host->conn);
}

static void
outcome_done (int fd, const char *jid, const GError *error, gpointer user_data)
{
  Outcome *o = user_data;

  o->calls++;
  o->fd = fd;
  o->jid = g_strdup (jid);
  o->error = error ? g_error_copy (error) : NULL;
  g_main_loop_quit (o->loop);
}

static gboolean
outcome_give_up (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* Tries @n hosts, in order, and waits for the outcome. */
static void
run_direct (FakeHost *hosts, guint n, guint16 closed_port, Outcome *o)
{
  BspDirect *direct = bsp_direct_new (HASH);
  guint guard;

  o->loop = g_main_loop_new (NULL, FALSE);
  o->fd = -1;
  if (closed_port != 0)
    {
      g_autofree char *port = g_strdup_printf ("%u", closed_port);
      g_assert_true (bsp_direct_add (direct, "alice@example.org/closed", "127.0.0.1", port));
    }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *port = g_strdup_printf ("%u", hosts[i].port);
      g_autofree char *jid = g_strdup_printf ("alice@example.org/%u", i);
      g_assert_true (bsp_direct_add (direct, jid, "127.0.0.1", port));
    }
  bsp_direct_start (direct, outcome_done, o);
  guard = g_timeout_add_seconds (BSP_DIRECT_TIMEOUT_S + 5, outcome_give_up, o->loop);
  g_main_loop_run (o->loop);
  g_source_remove (guard);
  bsp_direct_free (direct);
  g_clear_pointer (&o->loop, g_main_loop_unref);
  g_assert_cmpuint (o->calls, ==, 1);
}

static void
test_good (void)
{
  FakeHost host = { 0 };
  Outcome o = { 0 };
  char buf[64] = { 0 };
  ssize_t got = 0;

  fake_start (&host, HOST_GOOD);
  run_direct (&host, 1, 0, &o);
  g_assert_no_error (o.error);
  g_assert_cmpint (o.fd, >=, 0);
  g_assert_cmpstr (o.jid, ==, "alice@example.org/0");
  g_assert_true (host.hash_ok);
  /* every byte of the file is still there to read (non-blocking: wait) */
  for (guint i = 0; i < 200 && got < (ssize_t) strlen (PAYLOAD); i++)
    {
      ssize_t r = read (o.fd, buf + got, sizeof buf - 1 - got);
      if (r > 0)
        got += r;
      else
        g_usleep (10000);
    }
  g_assert_cmpstr (buf, ==, PAYLOAD);
  close (o.fd);
  fake_stop (&host);
  g_free (o.jid);
}

static void
test_failures (void)
{
  const HostKind kinds[] = { HOST_AUTH_ONLY, HOST_REFUSES, HOST_BAD_ATYP, HOST_CLOSES };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      FakeHost host = { 0 };
      Outcome o = { 0 };

      fake_start (&host, kinds[i]);
      run_direct (&host, 1, 0, &o);
      g_assert_cmpint (o.fd, ==, -1);
      g_assert_nonnull (o.error);
      g_test_message ("kind %u: %s", kinds[i], o.error->message);
      g_assert_false (g_error_matches (o.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
      g_clear_error (&o.error);
      fake_stop (&host);
    }
}

/* A closed port, a host that refuses this hash, and a good one: the good
 * one wins, whatever the order of their answers. */
static void
test_one_of_several (void)
{
  FakeHost hosts[2] = { { 0 } };
  Outcome o = { 0 };
  g_autoptr (GSocketListener) gone = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  guint16 closed = g_socket_listener_add_any_inet_port (gone, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_close (gone);
  fake_start (&hosts[0], HOST_REFUSES);
  fake_start (&hosts[1], HOST_GOOD);
  run_direct (hosts, 2, closed, &o);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.jid, ==, "alice@example.org/1");
  close (o.fd);
  fake_stop (&hosts[0]);
  fake_stop (&hosts[1]);
  g_free (o.jid);
}

/* Stopped while the streamhost holds the connection: it stays open until
 * freed, and the callback never comes. */
static void
test_stop_keeps_open (void)
{
  FakeHost host = { 0 };
  Outcome o = { 0 };
  BspDirect *direct = bsp_direct_new (HASH);
  g_autofree char *port = NULL;
  gint64 until;

  fake_start (&host, HOST_SILENT);
  port = g_strdup_printf ("%u", host.port);
  g_assert_true (bsp_direct_add (direct, "alice@example.org/x", "127.0.0.1", port));
  bsp_direct_start (direct, outcome_done, &o);
  until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_atomic_pointer_get (&host.conn) == NULL && g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  g_assert_nonnull (host.conn);
  bsp_direct_stop (direct);
  /* a while of main loop: nothing closes, nothing calls back */
  until = g_get_monotonic_time () + G_USEC_PER_SEC / 5;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  g_assert_false (g_atomic_int_get (&host.eof));
  g_assert_cmpuint (o.calls, ==, 0);
  bsp_direct_free (direct);
  until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!g_atomic_int_get (&host.eof) && g_get_monotonic_time () < until)
    g_usleep (1000);
  g_assert_true (host.eof);
  g_assert_cmpuint (o.calls, ==, 0);
  fake_stop (&host);
}

static void
test_add_refuses (void)
{
  BspDirect *direct = bsp_direct_new (HASH);

  g_assert_false (bsp_direct_add (direct, "a@b/c", "", "1"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", NULL, "1"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "a host", "1"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "h/../x", "1"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "127.0.0.1", "0"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "127.0.0.1", "65536"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "127.0.0.1", "-1"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "127.0.0.1", NULL));
  g_assert_false (bsp_direct_add (direct, NULL, "127.0.0.1", "1"));
  for (guint i = 0; i < BSP_DIRECT_MAX_HOSTS; i++)
    g_assert_true (bsp_direct_add (direct, "a@b/c", "::1", "1"));
  g_assert_false (bsp_direct_add (direct, "a@b/c", "127.0.0.1", "1"));
  g_assert_cmpuint (bsp_direct_count (direct), ==, BSP_DIRECT_MAX_HOSTS);
  bsp_direct_free (direct);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/direct/good", test_good);
  g_test_add_func ("/direct/failures", test_failures);
  g_test_add_func ("/direct/one-of-several", test_one_of_several);
  g_test_add_func ("/direct/stop-keeps-open", test_stop_keeps_open);
  g_test_add_func ("/direct/add-refuses", test_add_refuses);
  return g_test_run ();
}
