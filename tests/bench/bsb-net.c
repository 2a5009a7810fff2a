/* bsb-net.c — blocking loopback sockets for the benchmark clients
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bsb-net.h"

G_DEFINE_QUARK (bsb - error - quark, bsb_error)

gboolean
bsb_net_parse_address (const char *address, char **host, guint16 *port, GError **error)
{
  const char *colon = address ? strrchr (address, ':') : NULL;
  char *end = NULL;
  unsigned long p;

  if (colon == NULL || colon == address)
    goto bad;
  errno = 0;
  p = strtoul (colon + 1, &end, 10);
  if (errno != 0 || end == colon + 1 || *end != '\0' || p == 0 || p > 65535)
    goto bad;
  *host = g_strndup (address, colon - address);
  *port = (guint16) p;
  return TRUE;

bad:
  g_set_error (error, BSB_ERROR, BSB_ERROR_USAGE, "\"%s\" is not HOST:PORT",
               address ? address : "(null)");
  return FALSE;
}

static gboolean
bsb_net_resolve (const char *host, guint16 port, struct sockaddr_in *sin, GError **error)
{
  struct addrinfo hints = { 0 };
  struct addrinfo *res = NULL;
  int rc;

  memset (sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_port = htons (port);
  if (inet_pton (AF_INET, host, &sin->sin_addr) == 1)
    return TRUE;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo (host, NULL, &hints, &res);
  if (rc != 0 || res == NULL)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "cannot resolve %s: %s", host,
                   gai_strerror (rc));
      return FALSE;
    }
  /* memcpy, not a cast: struct sockaddr is less aligned than sockaddr_in. */
  memcpy (sin, res->ai_addr, MIN (sizeof *sin, (gsize) res->ai_addrlen));
  sin->sin_port = htons (port);
  freeaddrinfo (res);
  return TRUE;
}

static int
bsb_net_connect_once (const struct sockaddr_in *sin, int timeout_s, int *err)
{
  struct timeval tv = { timeout_s, 0 };
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    {
      *err = errno;
      return -1;
    }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  /* Small control messages (XMPP, SOCKS5, HTTP headers) go out at once;
   * bulk writes are large anyway. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (const struct sockaddr *) sin, sizeof *sin) != 0)
    {
      *err = errno;
      close (fd);
      return -1;
    }
  return fd;
}

int
bsb_net_connect (const char *host, guint16 port, int timeout_s, GError **error)
{
  struct sockaddr_in sin;
  int err = 0;
  int fd;

  if (!bsb_net_resolve (host, port, &sin, error))
    return -1;
  fd = bsb_net_connect_once (&sin, timeout_s, &err);
  if (fd < 0)
    g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "cannot connect to %s:%u: %s", host, port,
                 g_strerror (err));
  return fd;
}

int
bsb_net_connect_retry (const char *host, guint16 port, int timeout_s, int wait_ms, GError **error)
{
  struct sockaddr_in sin;
  gint64 deadline = g_get_monotonic_time () + (gint64) wait_ms * 1000;
  int err = 0;

  if (!bsb_net_resolve (host, port, &sin, error))
    return -1;
  for (;;)
    {
      int fd = bsb_net_connect_once (&sin, timeout_s, &err);
      if (fd >= 0)
        return fd;
      if (err != ECONNREFUSED || g_get_monotonic_time () >= deadline)
        break;
      g_usleep (20 * 1000);
    }
  g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "nothing accepted on %s:%u within %d ms: %s", host,
               port, wait_ms, g_strerror (err));
  return -1;
}

gboolean
bsb_net_write_all (int fd, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;

  while (len > 0)
    {
      gssize n = send (fd, p, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int err = n < 0 ? errno : EPIPE;
          g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "send: %s",
                       err == EAGAIN ? "timed out" : g_strerror (err));
          return FALSE;
        }
      p += n;
      len -= n;
    }
  return TRUE;
}

gssize
bsb_net_read (int fd, void *data, gsize len, GError **error)
{
  for (;;)
    {
      gssize n = recv (fd, data, len, 0);
      if (n >= 0)
        return n;
      if (errno == EINTR)
        continue;
      g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "recv: %s",
                   errno == EAGAIN ? "timed out" : g_strerror (errno));
      return -1;
    }
}

gboolean
bsb_net_read_exact (int fd, void *data, gsize len, GError **error)
{
  guint8 *p = data;

  while (len > 0)
    {
      gssize n = bsb_net_read (fd, p, len, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                               "the peer closed the connection");
          return FALSE;
        }
      p += n;
      len -= n;
    }
  return TRUE;
}

void
bsb_socket_slot_init (BsbSocketSlot *slot)
{
  g_mutex_init (&slot->lock);
  slot->fd = -1;
  slot->cancelled = FALSE;
}

void
bsb_socket_slot_clear (BsbSocketSlot *slot)
{
  g_mutex_clear (&slot->lock);
}

gboolean
bsb_socket_slot_set (BsbSocketSlot *slot, int fd, GError **error)
{
  gboolean ok;

  g_mutex_lock (&slot->lock);
  ok = !slot->cancelled;
  if (ok)
    slot->fd = fd;
  g_mutex_unlock (&slot->lock);
  if (!ok)
    g_set_error_literal (error, BSB_ERROR, BSB_ERROR_IO, "cancelled");
  return ok;
}

void
bsb_socket_slot_unset (BsbSocketSlot *slot)
{
  g_mutex_lock (&slot->lock);
  slot->fd = -1;
  g_mutex_unlock (&slot->lock);
}

void
bsb_socket_slot_cancel (BsbSocketSlot *slot)
{
  g_mutex_lock (&slot->lock);
  slot->cancelled = TRUE;
  if (slot->fd >= 0)
    shutdown (slot->fd, SHUT_RDWR);
  g_mutex_unlock (&slot->lock);
}

GArray *
bsb_net_free_ports (guint n, GError **error)
{
  GArray *ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));

  /* Hold every socket until all are bound, so that the ports differ. */
  for (guint i = 0; i < n; i++)
    {
      struct sockaddr_in sin = { 0 };
      socklen_t len = sizeof sin;
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      if (fd < 0 || bind (fd, (struct sockaddr *) &sin, sizeof sin) != 0
          || getsockname (fd, (struct sockaddr *) &sin, &len) != 0)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "cannot find a free port: %s",
                       g_strerror (errno));
          if (fd >= 0)
            close (fd);
          g_array_set_size (ports, 0);
          break;
        }
      g_array_append_val (fds, fd);
      {
        guint16 port = ntohs (sin.sin_port);
        g_array_append_val (ports, port);
      }
    }
  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, int, i));
  if (ports->len != n)
    {
      g_array_unref (ports);
      return NULL;
    }
  return ports;
}
