/* test-listener.c — the listeners' guards: connection limits, and no spinning without descriptors
 *
 * In-process, on loopback: a PtsListener and plain sockets connecting to
 * it, the main loop turned by the test.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pts-listener.h"

#define REFUSAL "go away\n"

typedef struct
{
  PtsListener *listener;
  guint16 port;
  GPtrArray *accepted; /* GSocketConnection, held like a server would */
} Fixture;

static void
on_accepted (GSocketConnection *conn, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->accepted, g_object_ref (conn));
}

static void
fixture_start (Fixture *f, guint max_connections, guint max_per_address)
{
  PtsListenerConfig config = { "test", max_connections, max_per_address, FALSE, 0, REFUSAL };
  g_autoptr (GError) error = NULL;

  f->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  f->listener = pts_listener_new (&config, on_accepted, f);
  f->port = pts_listener_listen (f->listener, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->port, >, 0);
}

static void
fixture_stop (Fixture *f)
{
  g_ptr_array_unref (f->accepted);
  pts_listener_free (f->listener);
}

/* A blocking client socket connected to the listener (the kernel
 * completes the handshake from the backlog). */
static GSocket *
client_connect (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, f->port);
  GSocket *socket
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 10);
  g_assert_true (g_socket_connect (socket, addr, NULL, &error));
  g_assert_no_error (error);
  return socket;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Turns the main loop until @cond holds (bounded: 10 s); a ticker wakes it
 * for conditions that come from outside it (a client socket). */
#define SPIN_UNTIL(cond)                                                                           \
  G_STMT_START                                                                                     \
  {                                                                                                \
    gint64 deadline_ = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;                              \
    guint tick_ = g_timeout_add (10, tick, NULL);                                                  \
    while (!(cond) && g_get_monotonic_time () < deadline_)                                         \
      g_main_context_iteration (NULL, TRUE);                                                       \
    g_source_remove (tick_);                                                                       \
    g_assert_true (cond);                                                                          \
  }                                                                                                \
  G_STMT_END

/* What the listener said to a refused client before closing. */
static char *
read_refusal (GSocket *socket)
{
  char buf[64] = { 0 };
  gssize n = g_socket_receive (socket, buf, sizeof buf - 1, NULL, NULL);
  gssize more = g_socket_receive (socket, buf + MAX (n, 0), 1, NULL, NULL);

  g_assert_cmpint (more, ==, 0); /* then the end */
  return g_strndup (buf, MAX (n, 0));
}

static void
test_total_limit (void)
{
  Fixture f;
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GSocket) extra = NULL, again = NULL;
  g_autofree char *said = NULL;

  g_test_summary ("With --max-connections 3, a fourth connection is told why and closed at "
                  "once; once one of the three is gone, a new one is accepted.");
  fixture_start (&f, 3, 0);
  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (clients, client_connect (&f));
  SPIN_UNTIL (f.accepted->len == 3);
  g_assert_cmpuint (pts_listener_count (f.listener), ==, 3);

  extra = client_connect (&f);
  SPIN_UNTIL (g_socket_condition_check (extra, G_IO_IN) != 0);
  said = read_refusal (extra);
  g_assert_cmpstr (said, ==, REFUSAL);
  g_assert_cmpuint (f.accepted->len, ==, 3);

  /* The server lets go of one connection: it no longer counts. */
  g_ptr_array_remove_index (f.accepted, 0);
  g_assert_cmpuint (pts_listener_count (f.listener), ==, 2);
  again = client_connect (&f);
  SPIN_UNTIL (f.accepted->len == 3);
  fixture_stop (&f);
}

static void
test_per_address (void)
{
  Fixture f;
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GSocket) extra = NULL;
  g_autofree char *said = NULL;

  g_test_summary ("With a limit of 2 per address (loopback not exempt here), the third "
                  "connection from one address is refused while the total has room.");
  fixture_start (&f, 100, 2);
  for (guint i = 0; i < 2; i++)
    g_ptr_array_add (clients, client_connect (&f));
  SPIN_UNTIL (f.accepted->len == 2);
  extra = client_connect (&f);
  SPIN_UNTIL (g_socket_condition_check (extra, G_IO_IN) != 0);
  said = read_refusal (extra);
  g_assert_cmpstr (said, ==, REFUSAL);
  g_assert_cmpuint (f.accepted->len, ==, 2);
  fixture_stop (&f);
}

static double
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
         + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static void
test_out_of_descriptors (void)
{
  Fixture f;
  struct rlimit saved, low;
  g_autoptr (GArray) fillers = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GSocket) waiting = NULL;
  double cpu;
  gint64 until;
  int fd;

  g_test_summary ("With no descriptor left, a waiting connection makes the listener pause "
                  "(little CPU over a second of main loop) instead of spinning on the error; "
                  "once descriptors are free it accepts the connection by itself.");
  fixture_start (&f, 0, 0);
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  waiting = client_connect (&f);
  /* Fill every descriptor up to a low limit, then lower the limit. */
  low = saved;
  low.rlim_cur = 64;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  while ((fd = dup (0)) >= 0)
    g_array_append_val (fillers, fd);
  g_assert_cmpint (errno, ==, EMFILE);

  cpu = cpu_seconds ();
  until = g_get_monotonic_time () + G_USEC_PER_SEC;
  SPIN_UNTIL (g_get_monotonic_time () >= until);
  cpu = cpu_seconds () - cpu;
  g_test_message ("CPU while out of descriptors: %.3f s over 1 s", cpu);
  g_assert_cmpfloat (cpu, <, 0.3);
  g_assert_cmpuint (f.accepted->len, ==, 0);

  for (guint i = 0; i < fillers->len; i++)
    close (g_array_index (fillers, int, i));
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  SPIN_UNTIL (f.accepted->len == 1);
  fixture_stop (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server/listener/total-limit", test_total_limit);
  g_test_add_func ("/server/listener/per-address", test_per_address);
  g_test_add_func ("/server/listener/out-of-descriptors", test_out_of_descriptors);
  return g_test_run ();
}
