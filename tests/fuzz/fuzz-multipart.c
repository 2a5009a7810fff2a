/* fuzz-multipart.c — fuzz target for the incremental multipart/form-data parser
 *
 * The input is a boundary, a line end, one byte that picks a split pattern,
 * then a request body:
 *
 *   AaB03x LF S --AaB03x CRLF Content-Disposition: form-data; name="FILE" ...
 *
 * (with no LF in the first 71 bytes, the boundary is "AaB03x" and the
 * input is S then the body). The body is fed whole and in the split pattern (fixed
 * pieces, random pieces with empty feeds among them, one byte at a time, or
 * two pieces), then finished. Checked, on both runs:
 *   - the event logs (parts, their data, how the body ended) are identical;
 *   - the events come in order (data and end only inside a part), data
 *     slices are never empty, and each part's data is exactly the body's
 *     bytes from its offset on;
 *   - a part that ends is followed by its delimiter, and the delimiter does
 *     not occur in the body between its offset and there; a part cut short
 *     by the end of the body has all of it but a possible delimiter prefix;
 *   - errors are PTS_MULTIPART_ERROR (or the callback's own), and a failed
 *     parser stays failed;
 *   - pts_multipart_new () refuses exactly the empty and over-long boundaries.
 * A part named "stop" makes part_begin fail, to exercise that path. A
 * crash, a sanitizer report, a leak or a GLib critical is a finding; so is
 * any check above failing (abort ()).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pts-multipart.h"

#define FUZZ_MP_DEFAULT_BOUNDARY "AaB03x"
#define FUZZ_MP_MAX_BOUNDARY 70
#define FUZZ_MP_STOP_PART "stop"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef enum
{
  FUZZ_MP_SPLIT_WHOLE,
  FUZZ_MP_SPLIT_FIXED,
  FUZZ_MP_SPLIT_RANDOM,
  FUZZ_MP_SPLIT_BYTEWISE,
  FUZZ_MP_SPLIT_TWO,
} FuzzMpSplit;

typedef struct
{
  const guint8 *body;
  gsize size;
  const char *delim; /* CRLF "--" boundary */
  gsize delim_len;
  GString *log; /* what the parser handed out, and how it ended */
  gboolean in_part;
  guint64 part_offset;
  gsize part_len; /* data bytes of the open part so far */
} FuzzMpRun;

static void
fuzz_mp_escape (GString *out, const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = (guint8) data[i];

      if (c >= 0x20 && c < 0x7f && c != '\\')
        g_string_append_c (out, (char) c);
      else if (c == '\n')
        g_string_append (out, "\\n\n");
      else
        g_string_append_printf (out, "\\x%02x", c);
    }
}

G_GNUC_NORETURN static void
fuzz_mp_fail (const char *what, const GString *expected, const GString *got)
{
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text, "fuzz-multipart: %s\n", what);
  if (expected != NULL)
    {
      g_string_append (text, "--- expected\n");
      fuzz_mp_escape (text, expected->str, expected->len);
      g_string_append (text, "\n");
    }
  if (got != NULL)
    {
      g_string_append (text, "--- got\n");
      fuzz_mp_escape (text, got->str, got->len);
      g_string_append (text, "\n");
    }
  fputs (text->str, stderr);
  abort ();
}

#define FUZZ_MP_CHECK(cond)                                                                        \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(cond))                                                                                   \
      fuzz_mp_fail (#cond, NULL, run->log);                                                        \
  }                                                                                                \
  G_STMT_END

static GQuark
fuzz_mp_stop_quark (void)
{
  return g_quark_from_static_string ("fuzz-multipart-stop");
}

static const guint8 *
fuzz_mp_find (const guint8 *hay, gsize hay_len, const char *needle, gsize needle_len)
{
  return memmem (hay, hay_len, needle, needle_len);
}

static gboolean
fuzz_mp_part_begin (gpointer user_data, const PtsMultipartPart *part, guint64 offset,
                    GError **error)
{
  FuzzMpRun *run = user_data;

  FUZZ_MP_CHECK (!run->in_part);
  FUZZ_MP_CHECK (part != NULL && part->name != NULL);
  FUZZ_MP_CHECK (part->content_length >= -1);
  /* The data starts right after the line end that closes the headers. */
  FUZZ_MP_CHECK (offset >= 1 && offset <= run->size);
  FUZZ_MP_CHECK (run->body[offset - 1] == '\n');

  g_string_append_printf (run->log, "begin %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT " ", offset,
                          part->content_length);
  /* Lengths first, so that the fields cannot run into each other. */
  g_string_append_printf (run->log, "%zu:%s %zu:%s %zu:%s\n", strlen (part->name), part->name,
                          part->filename ? strlen (part->filename) : 0,
                          part->filename ? part->filename : "",
                          part->content_type ? strlen (part->content_type) : 0,
                          part->content_type ? part->content_type : "");
  if (strcmp (part->name, FUZZ_MP_STOP_PART) == 0)
    {
      g_string_append (run->log, "stopped\n");
      g_set_error_literal (error, fuzz_mp_stop_quark (), 1, "stopped by the target");
      return FALSE;
    }
  run->in_part = TRUE;
  run->part_offset = offset;
  run->part_len = 0;
  return TRUE;
}

/* Split-dependent slices are not logged one by one: each part's data is
 * logged once, whole, when the part ends or the run does. */
static gboolean
fuzz_mp_part_data (gpointer user_data, const guint8 *data, gsize len, GError **error)
{
  FuzzMpRun *run = user_data;
  guint64 at = run->part_offset + run->part_len;

  FUZZ_MP_CHECK (run->in_part);
  FUZZ_MP_CHECK (data != NULL && len > 0);
  FUZZ_MP_CHECK (at + len <= run->size);
  FUZZ_MP_CHECK (memcmp (data, run->body + at, len) == 0);
  run->part_len += len;
  return TRUE;
}

static void
fuzz_mp_log_data (FuzzMpRun *run)
{
  g_string_append_printf (run->log, "data %zu:", run->part_len);
  g_string_append_len (run->log, (const char *) run->body + run->part_offset, run->part_len);
  g_string_append_c (run->log, '\n');
}

static gboolean
fuzz_mp_part_end (gpointer user_data, GError **error)
{
  FuzzMpRun *run = user_data;
  guint64 end = run->part_offset + run->part_len;
  const guint8 *first;

  FUZZ_MP_CHECK (run->in_part);
  /* The first delimiter after the part's start is the one that ends it. */
  FUZZ_MP_CHECK (end + run->delim_len <= run->size);
  first = fuzz_mp_find (run->body + run->part_offset, run->size - run->part_offset, run->delim,
                        run->delim_len);
  FUZZ_MP_CHECK (first == run->body + end);
  fuzz_mp_log_data (run);
  g_string_append (run->log, "end\n");
  run->in_part = FALSE;
  return TRUE;
}

static const PtsMultipartCallbacks fuzz_mp_callbacks = {
  fuzz_mp_part_begin,
  fuzz_mp_part_data,
  fuzz_mp_part_end,
};

/* The size of the next piece to feed. */
static gsize
fuzz_mp_next_piece (FuzzMpSplit split, guint8 seed, guint32 *state, gsize at, gsize size)
{
  gsize left = size - at;
  gsize piece = left;

  switch (split)
    {
    case FUZZ_MP_SPLIT_WHOLE: break;
    case FUZZ_MP_SPLIT_FIXED: piece = seed / 5 % 17 + 1; break;
    case FUZZ_MP_SPLIT_RANDOM:
      /* xorshift32: the same pieces for the same seed byte. */
      *state ^= *state << 13;
      *state ^= *state >> 17;
      *state ^= *state << 5;
      piece = *state % 24; /* empty feeds too */
      break;
    case FUZZ_MP_SPLIT_BYTEWISE: piece = 1; break;
    case FUZZ_MP_SPLIT_TWO:
      {
        gsize cut = size > 0 ? (gsize) seed * 131 % (size + 1) : 0;

        piece = at < cut ? cut - at : left;
        break;
      }
    }
  return MIN (piece, left);
}

static GString *
fuzz_mp_run (const char *boundary, const guint8 *body, gsize size, FuzzMpSplit split, guint8 seed)
{
  g_autofree char *delim = g_strconcat ("\r\n--", boundary, NULL);
  FuzzMpRun runs = { body, size, delim, strlen (delim), g_string_new (NULL), FALSE, 0, 0 };
  FuzzMpRun *run = &runs;
  g_autoptr (PtsMultipart) parser = NULL;
  g_autoptr (GError) error = NULL;
  guint32 state = 0x9e3779b9u ^ seed;
  gboolean ok = TRUE;

  parser = pts_multipart_new (boundary, &fuzz_mp_callbacks, run);
  FUZZ_MP_CHECK (parser != NULL);
  for (gsize at = 0; ok && at < size;)
    {
      gsize piece = fuzz_mp_next_piece (split, seed, &state, at, size);

      ok = pts_multipart_feed (parser, body + at, piece, &error);
      FUZZ_MP_CHECK (ok == (error == NULL));
      at += piece;
    }
  if (ok)
    {
      ok = pts_multipart_finish (parser, &error);
      FUZZ_MP_CHECK (ok == (error == NULL));
    }

  if (run->in_part)
    {
      /* Cut short: everything but what may start a delimiter was handed
       * out, and no delimiter was missed. */
      gsize rest = size - run->part_offset;

      FUZZ_MP_CHECK (!ok);
      FUZZ_MP_CHECK (run->part_len <= rest);
      if (error->domain == PTS_MULTIPART_ERROR && error->code == PTS_MULTIPART_ERROR_TRUNCATED)
        {
          FUZZ_MP_CHECK (rest - run->part_len < run->delim_len);
          FUZZ_MP_CHECK (fuzz_mp_find (body + run->part_offset, rest, delim, run->delim_len)
                         == NULL);
        }
      fuzz_mp_log_data (run);
    }

  if (ok)
    {
      FUZZ_MP_CHECK (pts_multipart_is_done (parser));
      g_string_append (run->log, "done\n");
    }
  else
    {
      g_autoptr (GError) again = NULL;

      FUZZ_MP_CHECK (error->domain == PTS_MULTIPART_ERROR
                     || error->domain == fuzz_mp_stop_quark ());
      FUZZ_MP_CHECK (error->domain != PTS_MULTIPART_ERROR
                     || error->code == PTS_MULTIPART_ERROR_MALFORMED
                     || error->code == PTS_MULTIPART_ERROR_TOO_LARGE
                     || error->code == PTS_MULTIPART_ERROR_TRUNCATED);
      FUZZ_MP_CHECK (!pts_multipart_is_done (parser));
      g_string_append_printf (run->log, "error %s %d\n", g_quark_to_string (error->domain),
                              error->code);

      /* A failed parser stays failed. */
      FUZZ_MP_CHECK (!pts_multipart_feed (parser, body, size, &again));
      FUZZ_MP_CHECK (g_error_matches (again, PTS_MULTIPART_ERROR, PTS_MULTIPART_ERROR_MALFORMED));
      g_clear_error (&again);
      FUZZ_MP_CHECK (!pts_multipart_finish (parser, &again));
      FUZZ_MP_CHECK (g_error_matches (again, PTS_MULTIPART_ERROR, PTS_MULTIPART_ERROR_MALFORMED));
    }
  return run->log;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const PtsMultipartCallbacks none = { NULL, NULL, NULL };
  static gboolean initialised = FALSE;
  const guint8 *lf;
  g_autofree char *boundary = NULL;
  g_autoptr (PtsMultipart) probe = NULL;
  g_autoptr (GString) whole = NULL;
  g_autoptr (GString) split_log = NULL;
  FuzzMpSplit split;
  guint8 seed;
  gsize blen;

  if (!initialised)
    {
      /* A critical is a bug in the parser's use of GLib or libsoup. */
      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
      initialised = TRUE;
    }

  lf = memchr (data, '\n', MIN (size, FUZZ_MP_MAX_BOUNDARY + 1));
  if (lf != NULL)
    {
      boundary = g_strndup ((const char *) data, lf - data);
      size -= lf - data + 1;
      data = lf + 1;
      /* (a NUL ends the boundary early: strlen decides, as in the parser) */
      blen = strlen (boundary);
      probe = pts_multipart_new (boundary, &none, NULL);
      if ((probe != NULL) != (blen >= 1 && blen <= FUZZ_MP_MAX_BOUNDARY))
        {
          fprintf (stderr, "fuzz-multipart: pts_multipart_new (\"%s\") refusal is wrong\n",
                   boundary);
          abort ();
        }
      if (probe == NULL)
        return 0;
    }
  else
    boundary = g_strdup (FUZZ_MP_DEFAULT_BOUNDARY);

  if (size == 0)
    return 0;
  seed = data[0];
  data++;
  size--;
  split = FUZZ_MP_SPLIT_FIXED + seed % 4;

  whole = fuzz_mp_run (boundary, data, size, FUZZ_MP_SPLIT_WHOLE, seed);
  split_log = fuzz_mp_run (boundary, data, size, split, seed);
  if (!g_string_equal (whole, split_log))
    fuzz_mp_fail ("the outcome depends on the split", whole, split_log);
  return 0;
}
