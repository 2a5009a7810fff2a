/* test-http-guard.c — which request heads the HTTP side keeps from libsoup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-http-guard.h"

typedef struct
{
  const char *name;
  const char *head;
  guint status; /* 0: it may reach libsoup */
} GuardCase;

static const GuardCase cases[] = {
  { "plain-get", "GET / HTTP/1.1\r\nHost: p\r\n\r\n", 0 },
  { "content-length", "POST /upload/x HTTP/1.1\r\nContent-Length: 1234\r\n\r\n", 0 },
  { "content-length-spaces", "POST / HTTP/1.1\r\nContent-Length:  \t12 \r\n\r\n", 0 },
  { "chunked-any-case", "POST / HTTP/1.1\r\ntransfer-encoding: ChUnKeD\r\n\r\n", 0 },
  { "identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 0 },
  { "bare-line-feeds", "GET / HTTP/1.1\nContent-Length: 3\n\n", 0 },
  { "incomplete-line-waits", "GET / HTTP/1.1\r\nTransfer-Encoding: gz", 0 },
  { "after-the-head", "GET / HTTP/1.1\r\n\r\nTransfer-Encoding: gzip\r\n", 0 },
  { "similar-name", "GET / HTTP/1.1\r\nContent-Length-X: abc\r\nX-Transfer-Encoding: y\r\n\r\n",
    0 },
  { "unknown-coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
  { "coding-list", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
  { "empty-coding", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 501 },
  { "two-codings",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    "Transfer-Encoding: chunked\r\n\r\n",
    501 },
  { "length-suffix", "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", 400 },
  { "length-negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
  { "length-plus", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400 },
  { "length-empty", "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400 },
  { "length-too-long", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
  { "two-lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400 },
  { "space-before-colon", "POST / HTTP/1.1\r\nContent-Length : 5y\r\n\r\n", 400 },
  { "folded-line", "POST / HTTP/1.1\r\nContent-Length: 5\r\n 6\r\n\r\n", 400 },
  { "folded-tab", "GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n", 400 },
};

static void
test_guard_case (gconstpointer data)
{
  const GuardCase *c = data;
  const char *why = NULL;
  guint status = pts_http_guard_check (c->head, strlen (c->head), &why);

  g_assert_cmpuint (status, ==, c->status);
  if (status != 0)
    g_assert_nonnull (why);
}

static void
test_guard_every_prefix (void)
{
  g_test_summary ("A head is refused as soon as the line that makes it so is complete, and "
                  "not before: every prefix of a refused head that ends before that line's "
                  "end passes.");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *head = cases[i].head;
      gsize len = strlen (head);
      gsize first_refused = len + 1;
      const char *why;

      for (gsize n = 0; n <= len; n++)
        if (pts_http_guard_check (head, n, &why) != 0)
          {
            first_refused = n;
            break;
          }
      if (cases[i].status == 0)
        g_assert_cmpuint (first_refused, ==, len + 1);
      else
        {
          g_assert_cmpuint (first_refused, <=, len);
          /* at a line end: the refusing line was complete */
          g_assert_cmpint (head[first_refused - 1], ==, '\n');
        }
    }
}

static void
test_guard_byte_by_byte (void)
{
  g_test_summary ("Checked as it trickles in, a byte at a time (each call checks only the lines "
                  "the new byte completed), a head gets the same verdict as checked whole.");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PtsHttpGuardScan scan = { 0 };
      const char *head = cases[i].head;
      gsize len = strlen (head);
      const char *why = NULL;
      guint status = 0;

      for (gsize n = 1; n <= len && status == 0; n++)
        status = pts_http_guard_scan (&scan, head, n, &why);
      g_assert_cmpuint (status, ==, cases[i].status);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strconcat ("/server/http-guard/", cases[i].name, NULL);
      g_test_add_data_func (path, &cases[i], test_guard_case);
    }
  g_test_add_func ("/server/http-guard/every-prefix", test_guard_every_prefix);
  g_test_add_func ("/server/http-guard/byte-by-byte", test_guard_byte_by_byte);
  return g_test_run ();
}
