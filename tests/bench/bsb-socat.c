/* bsb-socat.c — the baseline: the same bytes through a plain socat TCP relay
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bsb-net.h"
#include "bsb-pump.h"
#include "bsb-socat.h"

typedef struct
{
  int fd;
  guint64 seed;
  guint64 size;
  gsize buf_size;
  gint64 last_byte_us;
  GError *error;
} BsbSocatSink;

static gpointer
bsb_socat_sink_thread (gpointer data)
{
  BsbSocatSink *sink = data;

  bsb_pump_receive (sink->fd, sink->seed, sink->size, sink->buf_size, &sink->last_byte_us,
                    &sink->error);
  return NULL;
}

static int
bsb_socat_listen (guint16 *port, GError **error)
{
  struct sockaddr_in sin = { 0 };
  socklen_t len = sizeof sin;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sin, sizeof sin) != 0 || listen (fd, 4) != 0
      || getsockname (fd, (struct sockaddr *) &sin, &len) != 0)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "sink: %s", g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return -1;
    }
  *port = ntohs (sin.sin_port);
  return fd;
}

static int
bsb_socat_accept (int listener, int timeout_s, GError **error)
{
  struct pollfd pfd = { listener, POLLIN, 0 };
  struct timeval tv = { timeout_s, 0 };
  int fd;

  if (poll (&pfd, 1, timeout_s * 1000) <= 0)
    {
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_IO, "socat never connected to the sink");
      return -1;
    }
  fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "accept: %s", g_strerror (errno));
      return -1;
    }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

/* Reaps socat (it exits once both directions are closed), killing it if it
 * lingers; its resource usage goes to @result. */
static void
bsb_socat_reap (GPid pid, BsbSocatResult *result)
{
  struct rusage ru = { 0 };
  int status;

  for (int i = 0; i < 500; i++)
    {
      pid_t r = wait4 (pid, &status, WNOHANG, &ru);
      if (r == pid)
        goto done;
      g_usleep (10 * 1000);
    }
  kill (pid, SIGTERM);
  wait4 (pid, &status, 0, &ru);

done:
  result->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
                        + ru.ru_stime.tv_usec / 1e6;
  result->peak_rss_kib = ru.ru_maxrss;
}

gboolean
bsb_socat_run (const char *socat, gsize socat_buffer, guint64 size, guint64 seed, gsize buf_size,
               int timeout_s, BsbSocatResult *result, GError **error)
{
  g_autoptr (GArray) ports = NULL;
  g_autofree char *buffer = g_strdup_printf ("%" G_GSIZE_FORMAT, socat_buffer);
  g_autofree char *left = NULL;
  g_autofree char *right = NULL;
  BsbSocatSink sink = { -1, seed, size, buf_size, 0, NULL };
  GThread *thread = NULL;
  GPid pid = 0;
  guint16 sink_port = 0;
  int listener, client = -1;
  gint64 start;
  gboolean ok = FALSE;

  listener = bsb_socat_listen (&sink_port, error);
  if (listener < 0)
    return FALSE;
  ports = bsb_net_free_ports (1, error);
  if (ports == NULL)
    goto out;
  left = g_strdup_printf ("TCP4-LISTEN:%u,bind=127.0.0.1,reuseaddr",
                          g_array_index (ports, guint16, 0));
  right = g_strdup_printf ("TCP4:127.0.0.1:%u", sink_port);
  {
    const char *argv[] = { socat, "-b", buffer, left, right, NULL };
    if (!g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                        NULL, NULL, &pid, error))
      goto out;
  }
  client = bsb_net_connect_retry ("127.0.0.1", g_array_index (ports, guint16, 0), timeout_s, 5000,
                                  error);
  if (client < 0)
    goto out;
  sink.fd = bsb_socat_accept (listener, timeout_s, error);
  if (sink.fd < 0)
    goto out;

  thread = g_thread_new ("bsb-sink", bsb_socat_sink_thread, &sink);
  start = g_get_monotonic_time ();
  ok = bsb_pump_send (client, seed, size, buf_size, error);
  if (!ok)
    shutdown (sink.fd, SHUT_RDWR);
  g_thread_join (thread);
  if (ok && sink.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&sink.error));
      ok = FALSE;
    }
  result->seconds = (sink.last_byte_us - start) / (double) G_USEC_PER_SEC;
  result->bytes = size;

out:
  g_clear_error (&sink.error);
  if (client >= 0)
    close (client);
  if (sink.fd >= 0)
    close (sink.fd);
  close (listener);
  if (pid != 0)
    {
      bsb_socat_reap (pid, result);
      g_spawn_close_pid (pid);
    }
  return ok;
}
