/* fuzz-chunked.c — fuzz target for the chunked body decoder
 *
 * The input is what a client sends as a chunked request body. It is decoded
 * whole and again split in two at a point the input chooses (its first
 * byte), as it may arrive. Checked: both ways agree on the verdict, the
 * decoded bytes and where the body ends; the data is never more than the
 * input; a failed decoder stays failed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pts-chunked.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_chunked_fail (const char *what)
{
  fprintf (stderr, "fuzz-chunked: %s\n", what);
  abort ();
}

#define FUZZ_CHUNKED_CHECK(cond)                                                                   \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(cond))                                                                                   \
      fuzz_chunked_fail (#cond);                                                                   \
  }                                                                                                \
  G_STMT_END

typedef struct
{
  gboolean failed;
  gboolean done;
  gsize end; /* input bytes that belonged to the body, when done */
  GString *body;
} FuzzOutcome;

static void
fuzz_chunked_run (const guint8 *data, gsize size, gsize cut, FuzzOutcome *out)
{
  g_autoptr (PtsChunked) decoder = pts_chunked_new ();
  gsize start = 0;

  out->body = g_string_new (NULL);
  out->failed = out->done = FALSE;
  out->end = 0;
  for (int piece = 0; piece < 2 && !out->done && !out->failed; piece++)
    {
      gsize stop = piece == 0 ? cut : size;
      g_autofree guint8 *copy = g_memdup2 (data + start, stop - start);
      g_autoptr (GError) error = NULL;
      gsize used = 0;
      gssize n = pts_chunked_decode (decoder, copy, stop - start, &used, &error);

      if (n < 0)
        {
          FUZZ_CHUNKED_CHECK (error != NULL);
          out->failed = TRUE;
          /* It stays failed. */
          g_clear_error (&error);
          FUZZ_CHUNKED_CHECK (pts_chunked_decode (decoder, copy, 0, &used, &error) == -1);
          break;
        }
      FUZZ_CHUNKED_CHECK ((gsize) n <= used && used <= stop - start);
      g_string_append_len (out->body, (const char *) copy, n);
      out->done = pts_chunked_is_done (decoder);
      if (!out->done)
        FUZZ_CHUNKED_CHECK (used == stop - start);
      else
        out->end = start + used;
      start = stop;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  FuzzOutcome whole, split;
  gsize cut = size > 0 ? data[0] % (size + 1) : 0;

  fuzz_chunked_run (data, size, size, &whole);
  fuzz_chunked_run (data, size, cut, &split);
  FUZZ_CHUNKED_CHECK (whole.failed == split.failed);
  if (!whole.failed)
    {
      FUZZ_CHUNKED_CHECK (whole.done == split.done);
      FUZZ_CHUNKED_CHECK (whole.end == split.end);
      FUZZ_CHUNKED_CHECK (g_string_equal (whole.body, split.body));
      FUZZ_CHUNKED_CHECK (whole.body->len <= size);
    }
  g_string_free (whole.body, TRUE);
  g_string_free (split.body, TRUE);
  return 0;
}
