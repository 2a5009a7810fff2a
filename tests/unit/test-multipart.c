/* test-multipart.c — the incremental multipart/form-data parser
 *
 * Every table case is fed whole, in two pieces split at every position, and
 * one byte at a time (some also in three pieces at every pair of positions);
 * the parser must hand out the same events and end with the same error each
 * time. The recorder checks, as the events come, that data slices are never
 * empty, that they are exactly the bytes of the body at the part's offset,
 * and that a part ends where a delimiter starts.
 *
 * The program test-multipart also runs test-multipart-limits.c (limits,
 * failing callbacks, single tests of the parser).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-split.h"
#include "test-multipart.h"

static GQuark
test_callback_error_quark (void)
{
  return g_quark_from_static_string ("test-multipart-callback-error");
}

/* ---- recording what the parser hands out ------------------------------ */

static void
recorder_flush_data (Recorder *rec)
{
  GString *event;

  if (rec->data->len == 0)
    return;
  event = g_string_new ("data(");
  if (rec->data->len > LONG_DATA)
    g_string_append_printf (event, "%" G_GSIZE_FORMAT " bytes", rec->data->len);
  else
    pts_split_append_escaped (event, (const guint8 *) rec->data->str, rec->data->len);
  g_string_append_c (event, ')');
  g_ptr_array_add (rec->events, g_string_free (event, FALSE));
  g_string_truncate (rec->data, 0);
}

/* Does the case make this callback fail, for the open part? */
static gboolean
recorder_fails (Recorder *rec, FailAt at, GError **error)
{
  if (rec->c == NULL || rec->c->fail_at != at || g_strcmp0 (rec->c->fail_part, rec->part) != 0)
    return FALSE;
  g_set_error (error, test_callback_error_quark (), at, "the recorder stops in %s", rec->part);
  return TRUE;
}

static gboolean
recorder_part_begin (gpointer user_data, const PtsMultipartPart *part, guint64 offset,
                     GError **error)
{
  Recorder *rec = user_data;
  char length[24] = "-";

  g_assert_false (rec->in_part);
  g_assert_nonnull (part->name);
  g_assert_cmpuint (offset, <=, rec->len);
  /* The part's headers end with a line end right before its data. */
  g_assert_cmpuint (offset, >=, 1);
  g_assert_cmpint (rec->body[offset - 1], ==, '\n');
  g_free (rec->part);
  rec->part = g_strdup (part->name);
  if (recorder_fails (rec, FAIL_BEGIN, error))
    return FALSE;

  if (part->content_length >= 0)
    g_snprintf (length, sizeof length, "%" G_GINT64_FORMAT, part->content_length);
  g_ptr_array_add (rec->events,
                   g_strdup_printf ("begin(%s,%s,%s,%s)@%" G_GUINT64_FORMAT, part->name,
                                    part->filename ? part->filename : "-",
                                    part->content_type ? part->content_type : "-", length, offset));
  rec->in_part = TRUE;
  rec->part_offset = offset;
  g_string_truncate (rec->data, 0);
  return TRUE;
}

static gboolean
recorder_part_data (gpointer user_data, const guint8 *data, gsize len, GError **error)
{
  Recorder *rec = user_data;
  guint64 at;

  g_assert_true (rec->in_part);
  g_assert_cmpuint (len, >, 0);
  at = rec->part_offset + rec->data->len;
  g_assert_cmpuint (at + len, <=, rec->len);
  g_assert_cmpmem (data, len, rec->body + at, len);
  /* Only the first slice fails: later ones depend on the split. */
  if (rec->data->len == 0 && recorder_fails (rec, FAIL_DATA, error))
    return FALSE;
  g_string_append_len (rec->data, (const char *) data, len);
  return TRUE;
}

static gboolean
recorder_part_end (gpointer user_data, GError **error)
{
  Recorder *rec = user_data;
  gsize delim_len = strlen (rec->delim);
  guint64 at;

  g_assert_true (rec->in_part);
  /* The part's data ends where the delimiter starts. */
  at = rec->part_offset + rec->data->len;
  g_assert_cmpuint (at + delim_len, <=, rec->len);
  g_assert_cmpmem (rec->body + at, delim_len, rec->delim, delim_len);

  recorder_flush_data (rec);
  rec->in_part = FALSE;
  if (recorder_fails (rec, FAIL_END, error))
    return FALSE;
  g_ptr_array_add (rec->events, g_strdup ("end"));
  return TRUE;
}

const PtsMultipartCallbacks recorder_callbacks = {
  recorder_part_begin,
  recorder_part_data,
  recorder_part_end,
};

/* A failed parser refuses more input, even none, and its finish fails. */
static void
assert_stays_failed (PtsMultipart *parser)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (pts_multipart_is_done (parser));
  g_assert_false (pts_multipart_feed (parser, (const guint8 *) OPEN, strlen (OPEN), &error));
  g_assert_error (error, PTS_MULTIPART_ERROR, PTS_MULTIPART_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_false (pts_multipart_feed (parser, (const guint8 *) "", 0, &error));
  g_assert_error (error, PTS_MULTIPART_ERROR, PTS_MULTIPART_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_false (pts_multipart_finish (parser, &error));
  g_assert_error (error, PTS_MULTIPART_ERROR, PTS_MULTIPART_ERROR_MALFORMED);
}

/* A PtsSplitRunFunc: feeds @body in pieces that end at each offset of
 * @cuts up to the first error, then finishes. */
static PtsSplitOutcome *
run_parser (const guint8 *body, gsize len, const gsize *cuts, gsize n_cuts, gpointer user_data)
{
  const MultipartCase *c = user_data;
  const char *boundary = c->boundary ? c->boundary : B;
  g_autofree char *delim = g_strconcat ("\r\n--", boundary, NULL);
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) data = g_string_new (NULL);
  Recorder rec = { c, body, len, delim, events, data, FALSE, NULL, 0 };
  g_autoptr (PtsMultipart) parser = NULL;
  GError *error = NULL;
  gboolean ok = TRUE;
  gsize from = 0;

  parser = pts_multipart_new (boundary, &recorder_callbacks, &rec);
  g_assert_nonnull (parser);
  for (gsize i = 0; ok && i < n_cuts; i++)
    {
      g_assert_cmpuint (cuts[i], >=, from);
      g_assert_cmpuint (cuts[i], <=, len);
      ok = pts_multipart_feed (parser, body + from, cuts[i] - from, &error);
      from = cuts[i];
    }
  if (ok)
    ok = pts_multipart_finish (parser, &error);

  if (ok)
    {
      g_assert_no_error (error);
      g_assert_true (pts_multipart_is_done (parser));
      g_assert_false (rec.in_part);
    }
  else
    {
      g_assert_nonnull (error);
      assert_stays_failed (parser);
    }

  recorder_flush_data (&rec);
  g_free (rec.part);
  return pts_split_outcome_new (events, 0, error);
}

/* ---- table-driven cases ------------------------------------------------ */

void
test_multipart_case (gconstpointer data)
{
  const MultipartCase *c = data;
  g_autoptr (GString) built = NULL;
  g_autoptr (PtsSplitOutcome) whole = NULL;
  g_autofree char *expected = NULL;
  const guint8 *body;
  gsize len;

  if (c->build != NULL)
    built = c->build ();
  else
    built = g_string_new_len (c->body, c->len ? (gssize) c->len : (gssize) strlen (c->body));
  body = (const guint8 *) built->str;
  len = built->len;

  whole = pts_split_run_whole (run_parser, body, len, (gpointer) c);
  if (c->error == NO_ERROR)
    g_assert_no_error (whole->error);
  else if (c->error == CALLBACK_ERROR)
    g_assert_error (whole->error, test_callback_error_quark (), (gint) c->fail_at);
  else
    g_assert_error (whole->error, PTS_MULTIPART_ERROR, c->error);
  expected = g_strjoinv ("\n", (char **) c->events);
  g_assert_cmpstr (whole->events, ==, expected);

  /* At every position up to 2 KiB of body, at 64 for generated long ones. */
  pts_split_assert_invariant (run_parser, body, len, 2048,
                              c->three_pieces ? PTS_SPLIT_THREE_PIECES : PTS_SPLIT_DEFAULT, whole,
                              (gpointer) c);
}

/* The body that plugin/ sends: SIDHASH first, then FILE. */
static const MultipartCase valid_cases[] = {
  { "simple",
    SIDHASH_PART NEXT FILE_HEAD "hello" CLOSE,
    NO_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)", "end" },
    .three_pieces = TRUE },
  { "binary-data",
    SIDHASH_PART NEXT FILE_HEAD "\0\xff\r\n\0-\r\n--\r" CLOSE,
    NO_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(\\x00\\xff\\r\\n\\x00-\\r\\n--\\r)",
      "end" },
    .len = sizeof (SIDHASH_PART NEXT FILE_HEAD "\0\xff\r\n\0-\r\n--\r" CLOSE) - 1 },
  { "content-type-and-length",
    OPEN CD ("name=\"FILE\"; filename=\"a.txt\"") "Content-Type: text/plain; "
                                                  "charset=utf-8\r\nContent-Length: "
                                                  "5\r\n\r\nhello" CLOSE,
    NO_ERROR,
    { "begin(FILE,a.txt,text/plain; charset=utf-8,5)@135", "data(hello)", "end" } },
  { "content-length-zero",
    OPEN CD ("name=\"FILE\"") "Content-Length: 0\r\n\r\n" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,0)@76", "end" } },
  /* A part that declares its length is taken at its word: a delimiter
   * inside those bytes is data, not searched for... */
  { "content-length-holds-a-delimiter",
    OPEN CD ("name=\"FILE\"") "Content-Length: 14\r\n\r\na" NEXT "b" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,14)@77", "data(a\\r\\n--" B "\\r\\nb)", "end" } },
  /* ...and bytes past it before the delimiter are data too: the owner
   * counts them against the declared length (pts-http-upload.c). */
  { "content-length-shorter",
    OPEN CD ("name=\"FILE\"") "Content-Length: 1\r\n\r\nab" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,1)@76", "data(ab)", "end" } },
  { "header-names-any-case",
    OPEN "content-disposition: FORM-DATA; NAME=\"FILE\"; "
         "FileName=\"a.txt\"\r\nCONTENT-TYPE: image/png\r\n\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,a.txt,image/png,-)@100", "data(x)", "end" } },
  { "unquoted-parameters",
    OPEN "Content-Disposition: form-data;name=FILE;filename=a.txt\r\n"
         "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,a.txt,-,-)@69", "data(x)", "end" } },
  { "empty-file",
    SIDHASH_PART NEXT FILE_HEAD CLOSE,
    NO_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "end" } },
  { "empty-name",
    OPEN CD ("name=\"\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(,-,-,-)@53", "data(x)", "end" } },
  { "no-parts", "--" B "--", NO_ERROR, { NULL } },
  { "extra-parts",
    OPEN CD ("name=\"note\"") "\r\nfirst" NEXT CD ("name=\"SIDHASH\"") "\r\n" HASH NEXT
        FILE_HEAD "hello" NEXT CD ("name=\"after\"") "Content-Type: text/plain\r\n\r\n"
                                                     "last" CLOSE,
    NO_ERROR,
    { "begin(note,-,-,-)@57", "data(first)", "end", "begin(SIDHASH,-,-,-)@124", "data(" HASH ")",
      "end", "begin(FILE,a.txt,-,-)@241", "data(hello)", "end", "begin(after,-,text/plain,-)@332",
      "data(last)", "end" } },
  /* Preamble and epilogue are ignored, delimiter look-alikes included. */
  { "preamble",
    "This is the preamble.\r\n--AaB03 is not it, nor is x--" B "\r\n"
    "\r\n--" B "\r\n" CD ("name=\"FILE\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@119", "data(x)", "end" },
    .three_pieces = TRUE },
  { "preamble-line-end",
    "\r\n" OPEN CD ("name=\"FILE\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@59", "data(x)", "end" } },
  { "preamble-lf-only",
    "\n--" B "\r\n" OPEN CD ("name=\"FILE\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@68", "data(x)", "end" } },
  { "epilogue",
    OPEN CD ("name=\"FILE\"") "\r\nx\r\n--" B "--\r\nThe epilogue.\r\n--" B
                              "\r\n" CD ("name=\"late\"") "\r\nignored" CLOSE "trailing garbage",
    NO_ERROR,
    { "begin(FILE,-,-,-)@57", "data(x)", "end" } },
  /* Line ends and padding. */
  { "lf-only-headers",
    "--" B "\n"
    "Content-Disposition: form-data; name=\"FILE\"\n"
    "Content-Type: text/plain\n\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,text/plain,-)@79", "data(x)", "end" } },
  { "mixed-line-ends",
    OPEN "Content-Disposition: form-data; name=\"FILE\"\n"
         "Content-Type: text/plain\r\n\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,text/plain,-)@81", "data(x)", "end" } },
  { "padding-after-delimiter",
    "--" B " \t \r\n" CD ("name=\"SIDHASH\"") "\r\n" HASH "\r\n--" B "\t\r\n" FILE_HEAD
                                              "hello\r\n--" B "--  \r\n",
    NO_ERROR,
    { "begin(SIDHASH,-,-,-)@63", "data(" HASH ")", "end", "begin(FILE,a.txt,-,-)@181",
      "data(hello)", "end" } },
  { "close-without-line-end",
    SIDHASH_PART NEXT FILE_HEAD "hello\r\n--" B "--",
    NO_ERROR,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)", "end" } },
  { "data-ends-with-line-ends",
    OPEN CD ("name=\"FILE\"") "\r\n\r\nx\r\n\r\n" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@57", "data(\\r\\nx\\r\\n\\r\\n)", "end" } },
  /* Things in the data that look like a delimiter but are not. */
  { "data-delimiter-prefix",
    OPEN CD ("name=\"FILE\"") "\r\n\r\n--AaB03y\r\n--AaB0\r\n\r\n--" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@57", "data(\\r\\n--AaB03y\\r\\n--AaB0\\r\\n\\r\\n--)", "end" },
    .three_pieces = TRUE },
  { "data-delimiter-without-crlf",
    OPEN CD ("name=\"FILE\"") "\r\n--" B "\r\nx--" B "--" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@57", "data(--" B "\\r\\nx--" B "--)", "end" } },
  { "data-delimiter-after-lf-or-cr",
    OPEN CD ("name=\"FILE\"") "\r\n\n--" B "\r--" B "\n\r--" B "\r\r\n--" B "--",
    NO_ERROR,
    { "begin(FILE,-,-,-)@57", "data(\\n--" B "\\r--" B "\\n\\r--" B "\\r)", "end" },
    .three_pieces = TRUE },
  { "data-longer-boundary",
    "--" B "yz\r\n" CD ("name=\"FILE\"") "\r\nx\r\n--" B "\r\n\r\n--" B "yz--",
    NO_ERROR,
    { "begin(FILE,-,-,-)@59", "data(x\\r\\n--" B "\\r\\n)", "end" },
    .boundary = B "yz",
    .three_pieces = TRUE },
  { "data-many-crs",
    OPEN CD ("name=\"FILE\"") "\r\n\r\r\r\r\n-\r\n--\r\n--A\r\r\n--" B "--",
    NO_ERROR,
    { "begin(FILE,-,-,-)@57", "data(\\r\\r\\r\\r\\n-\\r\\n--\\r\\n--A\\r)", "end" },
    .three_pieces = TRUE },
  /* Boundaries: the parser gets the value already unquoted. */
  { "boundary-specials",
    "--"
    "gc0p4Jq0M2Yt 08j34c0p'()+_,-./:=?"
    "\r\n" CD ("name=\"FILE\"") "\r\nx\r\n--gc0p4Jq0M2Yt 08j34c0p'()+_,-./:=?--",
    NO_ERROR,
    { "begin(FILE,-,-,-)@84", "data(x)", "end" },
    .boundary = "gc0p4Jq0M2Yt 08j34c0p'()+_,-./:=?",
    .three_pieces = TRUE },
  { "boundary-one-char",
    "--x\r\n" CD ("name=\"FILE\"") "\r\n-x\r\n-\r\n--y\r\n--x--",
    NO_ERROR,
    { "begin(FILE,-,-,-)@52", "data(-x\\r\\n-\\r\\n--y)", "end" },
    .boundary = "x",
    .three_pieces = TRUE },
  { "boundary-dashes",
    "----\r\n" CD ("name=\"FILE\"") "\r\n---\r\n---\r\n------",
    NO_ERROR,
    { "begin(FILE,-,-,-)@53", "data(---\\r\\n---)", "end" },
    .boundary = "--",
    .three_pieces = TRUE },
  { "boundary-70",
    "--"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "\r\n" CD (
        "name=\"FILE\"") "\r\nx\r\n--"
                         "0123456789012345678901234567890123456789012345678901234567890123456789--",
    NO_ERROR,
    { "begin(FILE,-,-,-)@121", "data(x)", "end" },
    .boundary = "0123456789012345678901234567890123456789012345678901234567890123456789" },
  /* File names: filename* (RFC 5987) wins over filename, wherever it is. */
  { "filename-star",
    OPEN CD ("name=\"FILE\"; filename=\"fallback.txt\"; "
             "filename*=UTF-8''%C3%A9t%C3%A9%20%E2%82%AC.txt") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,\xc3\xa9t\xc3\xa9 \xe2\x82\xac.txt,-,-)@130", "data(x)", "end" } },
  { "filename-star-first",
    OPEN CD ("filename*=utf-8''na%C3%AFve.txt; name=\"FILE\"; "
             "filename=\"naive.txt\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,na\xc3\xafve.txt,-,-)@112", "data(x)", "end" } },
  { "filename-star-only",
    OPEN CD ("name=\"FILE\"; filename*=UTF-8''%E6%96%87%E4%BB%B6") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,\xe6\x96\x87\xe4\xbb\xb6,-,-)@94", "data(x)", "end" } },
  { "filename-quoted",
    OPEN CD ("name=\"FILE\"; filename=\"say \\\"hi\\\"; ok.txt\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,say \"hi\"; ok.txt,-,-)@88", "data(x)", "end" } },
  /* libsoup keeps only the last path component of a file name. */
  { "filename-path",
    OPEN CD ("name=\"FILE\"; filename=\"../../etc/passwd\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,passwd,-,-)@86", "data(x)", "end" } },
  { "filename-empty",
    OPEN CD ("name=\"FILE\"; filename=\"\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,,-,-)@70", "data(x)", "end" } },
  { "headers-other-lines-ignored",
    OPEN "X-Whatever: 1\r\nnot a header line\r\n" CD ("name=\"FILE\"") "\r\nx" CLOSE,
    NO_ERROR,
    { "begin(FILE,-,-,-)@91", "data(x)", "end" } },
};

static const MultipartCase truncated_cases[] = {
  { "empty", "", PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "preamble-only", "no delimiter here\r\n--" B "-", PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "after-delimiter", "--" B, PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "after-delimiter-padding", "--" B "  ", PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "after-delimiter-cr", "--" B "\r", PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "after-delimiter-dash", "--" B "-", PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "in-headers", OPEN "Content-Disposition: form-da", PTS_MULTIPART_ERROR_TRUNCATED, { NULL } },
  { "in-headers-no-blank-line",
    OPEN CD ("name=\"FILE\""),
    PTS_MULTIPART_ERROR_TRUNCATED,
    { NULL } },
  { "before-data",
    OPEN CD ("name=\"FILE\"") "\r\n",
    PTS_MULTIPART_ERROR_TRUNCATED,
    { "begin(FILE,-,-,-)@57" } },
  /* A declared length past the body's end swallows the closing delimiter. */
  { "content-length-longer",
    OPEN CD ("name=\"FILE\"") "Content-Length: 20\r\n\r\nab" CLOSE,
    PTS_MULTIPART_ERROR_TRUNCATED,
    { "begin(FILE,-,-,20)@77", "data(ab\\r\\n--" B "--\\r\\n)" } },
  { "in-data",
    SIDHASH_PART NEXT FILE_HEAD "hel",
    PTS_MULTIPART_ERROR_TRUNCATED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hel)" } },
  /* What might be a delimiter is held back, and never handed out. */
  { "in-data-delimiter-prefix",
    SIDHASH_PART NEXT FILE_HEAD "hello\r\n--AaB03",
    PTS_MULTIPART_ERROR_TRUNCATED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)" } },
  { "in-data-cr",
    SIDHASH_PART NEXT FILE_HEAD "hello\r",
    PTS_MULTIPART_ERROR_TRUNCATED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)" } },
  { "after-part",
    SIDHASH_PART NEXT FILE_HEAD "hello\r\n--" B "\r\n",
    PTS_MULTIPART_ERROR_TRUNCATED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)", "end" } },
  { "missing-close",
    SIDHASH_PART NEXT FILE_HEAD "hello\r\n--" B,
    PTS_MULTIPART_ERROR_TRUNCATED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)", "end" } },
  { "half-close",
    SIDHASH_PART NEXT FILE_HEAD "hello\r\n--" B "-",
    PTS_MULTIPART_ERROR_TRUNCATED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)", "end" } },
};

static const MultipartCase malformed_cases[] = {
  { "garbage-after-first-delimiter",
    "--" B "x\r\n" CD ("name=\"FILE\"") "\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  /* The delimiter must not occur in the data (RFC 2046 §5.1.1), so a
   * longer boundary-like line in the data is a framing error. */
  { "garbage-after-delimiter-in-data",
    SIDHASH_PART NEXT FILE_HEAD "hello\r\n--" B "yz\r\n" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { SIDHASH_EVENTS, "begin(FILE,a.txt,-,-)@177", "data(hello)", "end" } },
  { "garbage-after-delimiter-in-preamble",
    "preamble\r\n--" B "x\r\n" OPEN CD ("name=\"FILE\"") "\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "garbage-after-padding", "--" B "  x\r\n", PTS_MULTIPART_ERROR_MALFORMED, { NULL } },
  { "dash-then-garbage",
    SIDHASH_PART "\r\n--" B "-x",
    PTS_MULTIPART_ERROR_MALFORMED,
    { SIDHASH_EVENTS } },
  { "cr-without-lf",
    "--" B "\rContent-Disposition: form-data; name=x\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "cr-cr-lf", "--" B "\r\r\n", PTS_MULTIPART_ERROR_MALFORMED, { NULL } },
  { "no-headers", OPEN "\r\nx" CLOSE, PTS_MULTIPART_ERROR_MALFORMED, { NULL } },
  { "no-content-disposition",
    OPEN "Content-Type: text/plain\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "attachment",
    OPEN "Content-Disposition: attachment; name=\"FILE\"\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "inline",
    SIDHASH_PART NEXT "Content-Disposition: inline; name=\"FILE\"\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { SIDHASH_EVENTS } },
  { "form-data-prefix",
    OPEN "Content-Disposition: form-datax; name=\"FILE\"\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  /* libsoup reads a disposition made of parameters only as having no type. */
  { "parameters-only",
    OPEN "Content-Disposition: name=\"FILE\"\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "empty-disposition",
    OPEN "Content-Disposition: \r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "no-name",
    OPEN CD ("filename=\"a.txt\"") "\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "name-without-value", OPEN CD ("name") "\r\nx" CLOSE, PTS_MULTIPART_ERROR_MALFORMED, { NULL } },
  { "content-length-not-a-number",
    OPEN CD ("name=\"FILE\"") "Content-Length: five\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "content-length-negative",
    OPEN CD ("name=\"FILE\"") "Content-Length: -1\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "content-length-overflow",
    OPEN CD ("name=\"FILE\"") "Content-Length: 9223372036854775808\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL } },
  { "nul-in-headers",
    OPEN CD ("name=\"FILE\"") "\0Content-Length: 1\r\n\r\nx" CLOSE,
    PTS_MULTIPART_ERROR_MALFORMED,
    { NULL },
    .len = sizeof (OPEN CD ("name=\"FILE\"") "\0Content-Length: 1\r\n\r\nx" CLOSE) - 1 },
};

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  PTS_SPLIT_ADD_TABLE ("/server/multipart", "valid", valid_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "truncated", truncated_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "malformed", malformed_cases, test_multipart_case);
  test_multipart_add_limits ();

  return g_test_run ();
}
