/* bsp-test-cut.c — a loopback TCP forwarder that can reset one HTTP connection
 *
 * The proxy advertises the forwarder's address as its HTTP base, so every
 * upload and download goes through it; the test then resets (RST, both
 * ways) the connection whose request starts with a given method, as a
 * broken network would, while the XMPP side stays up. It runs in threads
 * of its own, so that it forwards whatever the test's main loop does.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "bsp-test-cut.h"

#define CUT_BUF 65536
#define CUT_POLL_MS 50

typedef struct
{
  int fd[2];              /* client, upstream */
  guint8 buf[2][CUT_BUF]; /* buf[i]: read from fd[i], to go to fd[1 - i] */
  gsize len[2];
  gboolean eof[2]; /* fd[i] sent its FIN */
  char method[8];  /* the request's first bytes */
  gint cut;        /* atomic: reset it */
  gint done;       /* atomic: both sides closed (a finished request) */
  GThread *thread;
} CutPair;

struct _BspTestCutter
{
  int listener;
  int stop[2]; /* a pipe: the accept thread ends when it is readable */
  guint16 target;
  GMutex lock;
  GPtrArray *pairs; /* CutPair */
  GThread *thread;
  gint stopping;
};

static void
cut_reset_fd (int fd)
{
  struct linger now = { 1, 0 };

  setsockopt (fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  close (fd);
}

/* Moves bytes both ways until both sides are done, a side fails, or the
 * test asks for the reset. */
static gpointer
cut_pair_run (gpointer data)
{
  CutPair *p = data;

  for (;;)
    {
      struct pollfd pfd[2];

      if (g_atomic_int_get (&p->cut))
        {
          cut_reset_fd (p->fd[0]);
          cut_reset_fd (p->fd[1]);
          return NULL;
        }
      if (p->eof[0] && p->eof[1] && p->len[0] == 0 && p->len[1] == 0)
        {
          g_atomic_int_set (&p->done, 1);
          break;
        }
      for (int i = 0; i < 2; i++)
        {
          pfd[i].fd = p->fd[i];
          pfd[i].events = (!p->eof[i] && p->len[i] < CUT_BUF ? POLLIN : 0)
                          | (p->len[1 - i] > 0 ? POLLOUT : 0);
          pfd[i].revents = 0;
        }
      if (poll (pfd, 2, CUT_POLL_MS) < 0 && errno != EINTR)
        break;
      for (int i = 0; i < 2; i++)
        {
          if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
            {
              gssize n = recv (p->fd[i], p->buf[i] + p->len[i], CUT_BUF - p->len[i], 0);
              if (n > 0)
                {
                  if (i == 0 && p->method[0] == '\0')
                    memcpy (p->method, p->buf[0], MIN ((gsize) n, sizeof p->method - 1));
                  p->len[i] += (gsize) n;
                }
              else if (n == 0)
                p->eof[i] = TRUE;
              else if (errno != EAGAIN && errno != EINTR)
                goto broken;
            }
          if ((pfd[i].revents & POLLOUT) && p->len[1 - i] > 0)
            {
              gssize n = send (p->fd[i], p->buf[1 - i], p->len[1 - i], MSG_NOSIGNAL);
              if (n > 0)
                {
                  memmove (p->buf[1 - i], p->buf[1 - i] + n, p->len[1 - i] - (gsize) n);
                  p->len[1 - i] -= (gsize) n;
                }
              else if (n < 0 && errno != EAGAIN && errno != EINTR)
                goto broken;
            }
          /* A FIN goes on once what came before it did. */
          if (p->eof[1 - i] && p->len[1 - i] == 0)
            shutdown (p->fd[i], SHUT_WR);
        }
    }
  close (p->fd[0]);
  close (p->fd[1]);
  return NULL;

broken:
  /* One side failed: the other sees a reset, as through a real network. */
  cut_reset_fd (p->fd[0]);
  cut_reset_fd (p->fd[1]);
  return NULL;
}

static int
cut_connect_upstream (guint16 port)
{
  struct sockaddr_in addr = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd >= 0 && connect (fd, (struct sockaddr *) &addr, sizeof addr) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static gpointer
cut_accept_run (gpointer data)
{
  BspTestCutter *self = data;

  for (;;)
    {
      struct pollfd pfd[2] = { { self->listener, POLLIN, 0 }, { self->stop[0], POLLIN, 0 } };
      CutPair *p;
      int client, upstream;

      if (poll (pfd, 2, -1) < 0 && errno != EINTR)
        return NULL;
      if (pfd[1].revents != 0)
        return NULL;
      if ((pfd[0].revents & POLLIN) == 0)
        continue;
      client = accept4 (self->listener, NULL, NULL, SOCK_CLOEXEC);
      if (client < 0)
        continue;
      upstream = cut_connect_upstream (self->target);
      if (upstream < 0)
        {
          cut_reset_fd (client);
          continue;
        }
      fcntl (client, F_SETFL, O_NONBLOCK);
      fcntl (upstream, F_SETFL, O_NONBLOCK);
      p = g_new0 (CutPair, 1);
      p->fd[0] = client;
      p->fd[1] = upstream;
      g_mutex_lock (&self->lock);
      g_ptr_array_add (self->pairs, p);
      p->thread = g_thread_new ("cut-pair", cut_pair_run, p);
      g_mutex_unlock (&self->lock);
    }
}

BspTestCutter *
bsp_test_cutter_new (guint16 *port)
{
  BspTestCutter *self = g_new0 (BspTestCutter, 1);
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  self->listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (self->listener, >=, 0);
  g_assert_cmpint (bind (self->listener, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (self->listener, 16), ==, 0);
  g_assert_cmpint (getsockname (self->listener, (struct sockaddr *) &addr, &len), ==, 0);
  *port = ntohs (addr.sin_port);
  g_assert_cmpint (pipe2 (self->stop, O_CLOEXEC), ==, 0);
  g_mutex_init (&self->lock);
  self->pairs = g_ptr_array_new ();
  return self;
}

void
bsp_test_cutter_start (BspTestCutter *self, guint16 target_port)
{
  self->target = target_port;
  self->thread = g_thread_new ("cut-accept", cut_accept_run, self);
}

guint
bsp_test_cutter_reset (BspTestCutter *self, const char *method)
{
  guint n = 0;

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->pairs->len; i++)
    {
      CutPair *p = self->pairs->pdata[i];
      /* Only a request still under way (the plugins' reachability checks,
       * GETs too, are over long before). */
      if (g_str_has_prefix (p->method, method) && !g_atomic_int_get (&p->done))
        {
          g_atomic_int_set (&p->cut, 1);
          n++;
        }
    }
  g_mutex_unlock (&self->lock);
  return n;
}

void
bsp_test_cutter_free (BspTestCutter *self)
{
  if (self == NULL)
    return;
  if (self->thread != NULL)
    {
      g_assert_cmpint (write (self->stop[1], "x", 1), ==, 1);
      g_thread_join (self->thread);
    }
  for (guint i = 0; i < self->pairs->len; i++)
    {
      CutPair *p = self->pairs->pdata[i];
      g_atomic_int_set (&p->cut, 1);
      g_thread_join (p->thread);
      g_free (p);
    }
  g_ptr_array_unref (self->pairs);
  g_mutex_clear (&self->lock);
  close (self->stop[0]);
  close (self->stop[1]);
  close (self->listener);
  g_free (self);
}
