/* test-chunked.c — the chunked body decoder, whole and split at every byte
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-chunked.h"
#include "pts-split.h"

typedef struct
{
  const char *name;
  const char *input;
  const char *body; /* the decoded data, or NULL for an error */
  int error;        /* PtsChunkedError when body is NULL */
  gsize rest;       /* input bytes after the body's end */
} ChunkedCase;

/* The decoded body as an event: its bytes, escaped. */
static char *
body_event (const guint8 *data, gsize len)
{
  GString *event = g_string_new ("body ");

  pts_split_append_escaped (event, data, len);
  return g_string_free (event, FALSE);
}

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

/* A PtsSplitRunFunc: feeds @input in pieces that end at each offset of
 * @cuts; the outcome is the decoded body and the input bytes after its
 * end, or the error. */
static PtsSplitOutcome *
decode_pieces (const guint8 *input, gsize len, const gsize *cuts, gsize n_cuts, gpointer user_data)
{
  g_autoptr (PtsChunked) decoder = pts_chunked_new ();
  g_autoptr (GString) body = g_string_new (NULL);
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;
  gsize start = 0;
  gssize rest = -1;

  for (gsize i = 0; i < n_cuts && rest < 0; i++)
    {
      gsize end = cuts[i];
      g_autofree guint8 *piece = g_memdup2 (input + start, end - start);
      gsize used = 0;
      gssize n = pts_chunked_decode (decoder, piece, end - start, &used, &error);

      if (n < 0)
        return pts_split_outcome_new (events, 0, error);
      g_string_append_len (body, (const char *) piece, n);
      if (pts_chunked_is_done (decoder))
        rest = (gssize) (len - (start + used));
      else
        g_assert_cmpuint (used, ==, end - start);
      start = end;
    }
  g_assert_true (pts_chunked_is_done (decoder));
  g_ptr_array_add (events, body_event ((const guint8 *) body->str, body->len));
  g_ptr_array_add (events, g_strdup_printf ("rest %" G_GSSIZE_FORMAT, rest));
  return pts_split_outcome_new (events, 0, NULL);
}

static gsize
case_length (const ChunkedCase *tc)
{
  /* The NUL case carries one NUL on purpose. */
  return g_str_equal (tc->name, "nul-in-trailer") ? 11 : strlen (tc->input);
}

static void
test_case (gconstpointer data)
{
  const ChunkedCase *tc = data;
  const guint8 *input = (const guint8 *) tc->input;
  gsize len = case_length (tc);
  g_autoptr (PtsSplitOutcome) whole = pts_split_run_whole (decode_pieces, input, len, NULL);

  if (tc->body == NULL)
    {
      g_assert_error (whole->error, PTS_CHUNKED_ERROR, tc->error);
      g_assert_cmpstr (whole->events, ==, "");
    }
  else
    {
      g_autofree char *body = body_event ((const guint8 *) tc->body, strlen (tc->body));
      g_autofree char *expected = g_strdup_printf ("%s\nrest %" G_GSIZE_FORMAT, body, tc->rest);

      g_assert_no_error (whole->error);
      g_assert_cmpstr (whole->events, ==, expected);
    }
  /* Cut once at every byte, and byte by byte: the same outcome. */
  pts_split_assert_invariant (decode_pieces, input, len, G_MAXSIZE, PTS_SPLIT_DEFAULT, whole, NULL);
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
  g_assert_cmpint (pts_chunked_decode (decoder, line, PTS_CHUNKED_MAX_LINE + 8, &used, &error), ==,
                   -1);
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
