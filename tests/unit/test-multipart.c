/* test-multipart.c — the incremental multipart/form-data parser
 *
 * Every table case is fed whole, in two pieces split at every position, and
 * one byte at a time (some also in three pieces at every pair of positions);
 * the parser must hand out the same events and end with the same error each
 * time. The recorder checks, as the events come, that data slices are never
 * empty, that they are exactly the bytes of the body at the part's offset,
 * and that a part ends where a delimiter starts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "pts-multipart.h"
#include "pts-split.h"

#define HASH "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3"
#define B "AaB03x"
#define OPEN "--" B "\r\n"
#define NEXT "\r\n--" B "\r\n"
#define CLOSE "\r\n--" B "--\r\n"
#define CD(params) "Content-Disposition: form-data; " params "\r\n"
#define SIDHASH_PART OPEN CD ("name=\"SIDHASH\"") "\r\n" HASH
#define FILE_HEAD CD ("name=\"FILE\"; filename=\"a.txt\"") "\r\n"
/* What the recorder writes for SIDHASH_PART. */
#define SIDHASH_BEGIN "begin(SIDHASH,-,-,-)@60"
#define SIDHASH_EVENTS SIDHASH_BEGIN, "data(" HASH ")", "end"

#define NO_ERROR (-1)
#define CALLBACK_ERROR (-2) /* the error a recorder callback returned */
#define LONG_DATA 64        /* longer data is logged by its length */

static GQuark
test_callback_error_quark (void)
{
  return g_quark_from_static_string ("test-multipart-callback-error");
}

typedef enum
{
  FAIL_NONE,
  FAIL_BEGIN, /* part_begin of the part named fail_part */
  FAIL_DATA,  /* its first part_data */
  FAIL_END,   /* its part_end */
} FailAt;

typedef struct
{
  const char *name;
  const char *body;
  gint error;             /* a PtsMultipartError, NO_ERROR or CALLBACK_ERROR */
  const char *events[12]; /* everything handed out, in order; NULL-terminated */
  const char *boundary;   /* NULL: B */
  gsize len;              /* 0: strlen (body) */
  FailAt fail_at;
  const char *fail_part;
  GString *(*build) (void); /* builds a long body instead of @body */
  gboolean three_pieces;    /* also split in three at every pair of positions */
} MultipartCase;

/* ---- recording what the parser hands out ------------------------------ */

typedef struct
{
  const MultipartCase *c;
  const guint8 *body; /* the whole input, to check slices and offsets against */
  gsize len;
  const char *delim; /* CRLF "--" boundary */
  GPtrArray *events;
  GString *data; /* the data of the open part so far */
  gboolean in_part;
  char *part; /* the name of the last part begun */
  guint64 part_offset;
} Recorder;

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

static const PtsMultipartCallbacks recorder_callbacks = {
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

static void
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

/* ---- main -------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  PTS_SPLIT_ADD_TABLE ("/server/multipart", "valid", valid_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "truncated", truncated_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "malformed", malformed_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "limits", limit_cases, test_multipart_case);
  PTS_SPLIT_ADD_TABLE ("/server/multipart", "callback", callback_cases, test_multipart_case);
  g_test_add_func ("/server/multipart/parser/new-boundary", test_new_boundary);
  g_test_add_func ("/server/multipart/parser/held-back", test_held_back);
  g_test_add_func ("/server/multipart/parser/offsets", test_offsets);
  g_test_add_func ("/server/multipart/parser/trailer-length", test_trailer_length);
  g_test_add_func ("/server/multipart/parser/free-mid-part", test_free_mid_part);

  return g_test_run ();
}
