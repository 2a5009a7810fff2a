/* test-chunked.c — the chunked body decoder, whole and split at every byte
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-chunked.h"

typedef struct
{
  const char *name;
  const char *input;
  const char *body;   /* the decoded data, or NULL for an error */
  int error;          /* PtsChunkedError when body is NULL */
  gsize rest;         /* input bytes after the body's end */
} ChunkedCase;

static const ChunkedCase cases[] = {
  { "simple", "5\r\nhello\r\n0\r\n\r\n", "hello", 0, 0 },
  { "two-chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde", 0, 0 },
  { "hex-upper", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0, 0 },
  { "hex-lower", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789", 0, 0 },
  { "leading-zeros", "0003\r\nabc\r\n000\r\n\r\n", "abc", 0, 0 },
  { "extension", "3;name=value\r\nabc\r\n0;last\r\n\r\n", "abc", 0, 0 },
  { "trailers", "3\r\nabc\r\n0\r\nX-One: 1\r\nX-Two: 2\r\n\r\n", "abc", 0, 0 },
  { "bare-lf", "3\nabc\n0\n\n", "abc", 0, 0 },
  { "empty", "0\r\n\r\n", "", 0, 0 },
  { "crlf-in-data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", 0, 0 },
  { "after-the-end", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "x", 0, 16 },
  { "no-size", "\r\nabc\r\n", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
  { "bad-digit", "3g\r\nabc\r\n", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
  { "negative", "-3\r\nabc\r\n", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
  { "data-too-long", "2\r\nabc\r\n0\r\n\r\n", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
  { "cr-without-lf", "3\r\nabc\rX", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
  { "huge-size", "1000000000000000\r\n", NULL, PTS_CHUNKED_ERROR_TOO_LARGE, 0 },
  { "control-in-ext", "3;\x01\r\nabc\r\n", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
  { "nul-in-trailer", "0\r\nX: \0\r\n\r\n", NULL, PTS_CHUNKED_ERROR_MALFORMED, 0 },
};

/* Feeds @input in pieces cut at @cuts (ascending, end excluded); returns
 * the body or NULL with @error. */
static GString *
decode_pieces (const char *input, gsize len, const gsize *cuts, guint n_cuts, gsize *rest,
               GError **error)
{
  g_autoptr (PtsChunked) decoder = pts_chunked_new ();
  GString *body = g_string_new (NULL);
  gsize start = 0;

  *rest = 0;
  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize end = i < n_cuts ? cuts[i] : len;
      g_autofree guint8 *piece = g_memdup2 (input + start, end - start);
      gsize used = 0;
      gssize n = pts_chunked_decode (decoder, piece, end - start, &used, error);

      if (n < 0)
        {
          g_string_free (body, TRUE);
          return NULL;
        }
      g_string_append_len (body, (const char *) piece, n);
      if (pts_chunked_is_done (decoder))
        {
          *rest = len - (start + used);
          return body;
        }
      g_assert_cmpuint (used, ==, end - start);
      start = end;
    }
  g_assert_true (pts_chunked_is_done (decoder));
  return body;
}

static gsize
case_length (const ChunkedCase *tc)
{
  /* The NUL case carries one NUL on purpose. */
  return g_str_equal (tc->name, "nul-in-trailer") ? 11 : strlen (tc->input);
}

static void
check (const ChunkedCase *tc, const gsize *cuts, guint n_cuts)
{
  g_autoptr (GError) error = NULL;
  gsize rest = 0;
  GString *body = decode_pieces (tc->input, case_length (tc), cuts, n_cuts, &rest, &error);

  if (tc->body == NULL)
    {
      g_assert_null (body);
      g_assert_error (error, PTS_CHUNKED_ERROR, tc->error);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (body);
  g_assert_cmpmem (body->str, body->len, tc->body, strlen (tc->body));
  g_assert_cmpuint (rest, ==, tc->rest);
  g_string_free (body, TRUE);
}

static void
test_case (gconstpointer data)
{
  const ChunkedCase *tc = data;
  gsize len = case_length (tc);
  g_autofree gsize *all = g_new (gsize, len);

  /* Whole, cut once at every byte, and byte by byte: the same outcome. */
  check (tc, NULL, 0);
  for (gsize cut = 1; cut < len; cut++)
    check (tc, &cut, 1);
  for (gsize i = 1; i < len; i++)
    all[i - 1] = i;
  if (len > 1)
    check (tc, all, (guint) (len - 1));
}

static void
test_stays_failed (void)
{
  g_autoptr (PtsChunked) decoder = pts_chunked_new ();
  g_autoptr (GError) error = NULL;
  guint8 bad[] = "zz\r\n", good[] = "0\r\n\r\n";
  gsize used;

  g_assert_cmpint (pts_chunked_decode (decoder, bad, 4, &used, &error), ==, -1);
  g_clear_error (&error);
  g_assert_cmpint (pts_chunked_decode (decoder, good, 5, &used, &error), ==, -1);
  g_assert_error (error, PTS_CHUNKED_ERROR, PTS_CHUNKED_ERROR_MALFORMED);
}

static void
test_long_lines (void)
{
  g_autoptr (PtsChunked) decoder = pts_chunked_new ();
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *line = g_malloc (PTS_CHUNKED_MAX_LINE + 8);
  gsize used;

  line[0] = '1';
  line[1] = ';';
  memset (line + 2, 'x', PTS_CHUNKED_MAX_LINE + 6);
  g_assert_cmpint (pts_chunked_decode (decoder, line, PTS_CHUNKED_MAX_LINE + 8, &used, &error),
                   ==, -1);
  g_assert_error (error, PTS_CHUNKED_ERROR, PTS_CHUNKED_ERROR_TOO_LARGE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/unit/chunked/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/unit/chunked/stays-failed", test_stays_failed);
  g_test_add_func ("/unit/chunked/line-limit", test_long_lines);
  return g_test_run ();
}
