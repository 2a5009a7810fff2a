/* test-multipart-limits.c — the multipart parser at its limits (headers at,
 * over and without end, many header lines, a large file), callbacks that
 * fail, and single tests: a new boundary, bytes held back, offsets, the
 * trailer's length, a parser freed mid-part. Part of the program
 * test-multipart (test-multipart.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-split.h"
#include "test-multipart.h"

/* Part headers of exactly @size bytes, the blank line included. */
static void
append_headers (GString *s, gsize size)
{
  static const char head[] = CD ("name=\"FILE\"") "X-Pad: ";
  gsize start = s->len;

  g_assert_cmpuint (size, >, strlen (head) + 4);
  g_string_append (s, head);
  while (s->len - start < size - 4)
    g_string_append_c (s, 'p');
  g_string_append (s, "\r\n\r\n");
  g_assert_cmpuint (s->len - start, ==, size);
}

static GString *
build_headers_at_limit (void)
{
  GString *s = g_string_new (OPEN);

  append_headers (s, 16 * 1024);
  return g_string_append (s, "x" CLOSE);
}

static GString *
build_headers_over_limit (void)
{
  GString *s = g_string_new (SIDHASH_PART "\r\n--" B "\r\n");

  append_headers (s, 16 * 1024 + 1);
  return g_string_append (s, "x" CLOSE);
}

static GString *
build_headers_endless (void)
{
  GString *s = g_string_new (OPEN "X-Long: ");

  for (guint i = 0; i < 40000; i++)
    g_string_append_c (s, 'a' + i % 26);
  return s;
}

static GString *
build_many_header_lines (void)
{
  GString *s = g_string_new (OPEN CD ("name=\"FILE\""));

  for (guint i = 0; i < 3000; i++)
    g_string_append (s, "X: y\r\n");
  return g_string_append (s, "\r\nx" CLOSE);
}

/* 256 KiB of data full of near-delimiters. */
static GString *
build_large_file (void)
{
  GString *s = g_string_new (SIDHASH_PART NEXT FILE_HEAD);

  for (guint i = 0; s->len < 177 + 256 * 1024; i++)
    {
      g_string_append_printf (s, "%u\r\n--AaB03", i);
      g_string_append_c (s, "\r\n-Ayz"[i % 6]);
    }
  g_string_truncate (s, 177 + 256 * 1024);
  return g_string_append (s, CLOSE);
}

static const MultipartCase limit_cases[] = {
  { "headers-at-limit",
    NULL,
    NO_ERROR,
    { "begin(FILE,-,-,-)@16394", "data(x)", "end" },
    .build = build_headers_at_limit },
  { "headers-over-limit",
    NULL,
    PTS_MULTIPART_ERROR_TOO_LARGE,
    { SIDHASH_EVENTS },
    .build = build_headers_over_limit },
  { "headers-endless",
    NULL,
    PTS_MULTIPART_ERROR_TOO_LARGE,
    { NULL },
    .build = build_headers_endless },
  { "many-header-lines",
    NULL,
    PTS_MULTIPART_ERROR_TOO_LARGE,
    { NULL },
    .build = build_many_header_lines },
  { "large-file",
    NULL,
    NO_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(262144 bytes)", "end" },
    .build = build_large_file },
};

/* A callback that fails stops the parser; its error comes out of feed (). */
static const MultipartCase callback_cases[] = {
  { "begin-fails",
    SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE,
    CALLBACK_ERROR,
    { SIDHASH_EVENTS },
    .fail_at = FAIL_BEGIN,
    .fail_part = "FILE" },
  { "begin-fails-first",
    SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE,
    CALLBACK_ERROR,
    { NULL },
    .fail_at = FAIL_BEGIN,
    .fail_part = "SIDHASH" },
  { "data-fails",
    SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE,
    CALLBACK_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177" },
    .fail_at = FAIL_DATA,
    .fail_part = "FILE" },
  { "end-fails",
    SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE,
    CALLBACK_ERROR,
    { SIDHASH_BEGIN, "data(" HASH ")" },
    .fail_at = FAIL_END,
    .fail_part = "SIDHASH" },
  { "end-fails-last",
    SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE,
    CALLBACK_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)" },
    .fail_at = FAIL_END,
    .fail_part = "FILE" },
};

/* ---- single tests ------------------------------------------------------ */

static void
test_new_boundary (void)
{
  static const PtsMultipartCallbacks none = { NULL, NULL, NULL };
  g_autofree char *b70 = g_strnfill (70, 'b');
  g_autofree char *b71 = g_strnfill (71, 'b');
  g_autoptr (PtsMultipart) ok1 = pts_multipart_new ("b", &none, NULL);
  g_autoptr (PtsMultipart) ok70 = pts_multipart_new (b70, &none, NULL);

  g_test_summary ("A boundary has 1 to 70 characters (RFC 2046 §5.1.1).");
  g_assert_nonnull (ok1);
  g_assert_nonnull (ok70);
  g_assert_null (pts_multipart_new ("", &none, NULL));
  g_assert_null (pts_multipart_new (NULL, &none, NULL));
  g_assert_null (pts_multipart_new (b71, &none, NULL));
}

static void
test_held_back (void)
{
  static const char head[] = OPEN CD ("name=\"FILE\"") "\r\nabc\r\n--AaB0";
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) data = g_string_new (NULL);
  g_autoptr (GString) body = g_string_new (head);
  g_autoptr (GError) error = NULL;
  g_autofree char *delim = g_strconcat ("\r\n--", B, NULL);
  Recorder rec = { NULL, NULL, 0, delim, events, data, FALSE, NULL, 0 };
  g_autoptr (PtsMultipart) parser = pts_multipart_new (B, &recorder_callbacks, &rec);

  g_test_summary ("Bytes that may start a delimiter are held back until the next feed "
                  "tells, then handed out as data if they were not one.");
  g_string_append (body, "3y\r");
  rec.body = (const guint8 *) body->str;
  rec.len = body->len;

  g_assert_true (pts_multipart_feed (parser, rec.body, strlen (head), &error));
  g_assert_cmpstr (data->str, ==, "abc");
  g_assert_true (pts_multipart_feed (parser, rec.body + strlen (head), 2, &error));
  g_assert_cmpstr (data->str, ==, "abc\r\n--AaB03y");
  g_assert_true (pts_multipart_feed (parser, rec.body + strlen (head) + 2, 1, &error));
  g_assert_cmpstr (data->str, ==, "abc\r\n--AaB03y");
  g_assert_no_error (error);
  g_assert_false (pts_multipart_finish (parser, &error));
  g_assert_error (error, PTS_MULTIPART_ERROR, PTS_MULTIPART_ERROR_TRUNCATED);
  g_assert_cmpstr (data->str, ==, "abc\r\n--AaB03y");
  g_free (rec.part);
}

static void
test_offsets (void)
{
  static const char body[] = "preamble\r\n" OPEN CD ("name=\"a\"") "\r\nAAAA" NEXT CD (
      "name=\"b\"") "\r\n" NEXT CD ("name=\"c\"") "\nCCCC" CLOSE;
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) data = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *delim = g_strconcat ("\r\n--", B, NULL);
  Recorder rec
      = { NULL, (const guint8 *) body, sizeof body - 1, delim, events, data, FALSE, NULL, 0 };
  g_autoptr (PtsMultipart) parser = pts_multipart_new (B, &recorder_callbacks, &rec);
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  g_test_summary ("part_begin's offset is that of the part's first data byte in the body; "
                  "for an empty part, that of the delimiter after it.");
  g_assert_true (pts_multipart_feed (parser, rec.body, rec.len, &error));
  g_assert_true (pts_multipart_finish (parser, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 8);
  a = g_strdup_printf ("begin(a,-,-,-)@%zu", (gsize) (strstr (body, "AAAA") - body));
  b = g_strdup_printf ("begin(b,-,-,-)@%zu", (gsize) (strstr (body, "\"\r\n\r\n\r\n") - body) + 5);
  c = g_strdup_printf ("begin(c,-,-,-)@%zu", (gsize) (strstr (body, "CCCC") - body));
  g_assert_cmpstr (events->pdata[0], ==, a);
  g_assert_cmpstr (events->pdata[3], ==, b);
  g_assert_cmpstr (events->pdata[5], ==, c);
  g_free (rec.part);
}

static void
test_trailer_length (void)
{
  static const char body[] = SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE;
  static const PtsMultipartCallbacks none = { NULL, NULL, NULL };
  g_autoptr (PtsMultipart) parser = pts_multipart_new (B, &none, NULL);
  g_autoptr (GError) error = NULL;

  g_test_summary ("With no callbacks the parser still frames the body; the usual trailer "
                  "is CRLF \"--\" boundary \"--\" CRLF.");
  g_assert_cmpuint (pts_multipart_trailer_length (parser), ==, strlen (CLOSE));
  g_assert_false (pts_multipart_is_done (parser));
  g_assert_true (pts_multipart_feed (parser, (const guint8 *) body, sizeof body - 1, &error));
  g_assert_no_error (error);
  g_assert_true (pts_multipart_is_done (parser));
  g_assert_true (pts_multipart_finish (parser, &error));
  /* More epilogue is still fine. */
  g_assert_true (pts_multipart_feed (parser, (const guint8 *) NEXT, strlen (NEXT), &error));
  g_assert_true (pts_multipart_finish (parser, &error));
}

static void
test_skip_declared (void)
{
  /* 14 declared bytes, of which 2 are fed. */
  static const char head[] = OPEN CD ("name=\"FILE\"") "Content-Length: 14\r\n\r\nab";
  static const PtsMultipartCallbacks none = { NULL, NULL, NULL };
  g_autoptr (PtsMultipart) parser = pts_multipart_new (B, &none, NULL);
  g_autoptr (GError) error = NULL;

  g_test_summary ("A part's declared bytes not yet fed can be taken another way and "
                  "skipped: the parser then expects the delimiter right after them.");
  g_assert_cmpuint (pts_multipart_declared_left (parser), ==, 0);
  g_assert_true (pts_multipart_feed (parser, (const guint8 *) head, strlen (head), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pts_multipart_declared_left (parser), ==, 12);
  /* The other 12 are taken elsewhere, in two goes. */
  pts_multipart_skip_declared (parser, 5);
  g_assert_cmpuint (pts_multipart_declared_left (parser), ==, 7);
  pts_multipart_skip_declared (parser, 7);
  g_assert_cmpuint (pts_multipart_declared_left (parser), ==, 0);
  g_assert_false (pts_multipart_is_done (parser));
  g_assert_true (pts_multipart_feed (parser, (const guint8 *) CLOSE, strlen (CLOSE), &error));
  g_assert_no_error (error);
  g_assert_true (pts_multipart_is_done (parser));
  g_assert_true (pts_multipart_finish (parser, &error));
}

static void
test_free_mid_part (void)
{
  static const char body[] = SIDHASH_PART NEXT FILE_HEAD "hello\r\n--Aa";
  static const PtsMultipartCallbacks none = { NULL, NULL, NULL };
  PtsMultipart *parser = pts_multipart_new (B, &none, NULL);
  g_autoptr (GError) error = NULL;

  g_test_summary ("Freeing a parser in the middle of a part frees everything.");
  g_assert_true (pts_multipart_feed (parser, (const guint8 *) body, sizeof body - 1, &error));
  g_assert_no_error (error);
  pts_multipart_free (parser);
  pts_multipart_free (NULL);
}

void
test_multipart_add_limits (void)
{
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "limits", limit_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "callback", callback_cases, test_multipart_case);
  g_test_add_func ("/server/multipart/parser/new-boundary", test_new_boundary);
  g_test_add_func ("/server/multipart/parser/held-back", test_held_back);
  g_test_add_func ("/server/multipart/parser/offsets", test_offsets);
  g_test_add_func ("/server/multipart/parser/trailer-length", test_trailer_length);
  g_test_add_func ("/server/multipart/parser/free-mid-part", test_free_mid_part);
  g_test_add_func ("/server/multipart/parser/skip-declared", test_skip_declared);
}
