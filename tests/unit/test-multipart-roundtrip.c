/* test-multipart-roundtrip.c — what the plugin writes, the server reads
 *
 * The upload's framing comes from plugin/common/bsp-multipart.c, the one
 * writer; the server parses it with proxy-test-server/pts-multipart.c.
 * Each case writes a whole body (head, file bytes, tail) and feeds it to
 * the parser whole, split in two at every position near the framing, and
 * one byte at a time: the parser must find the SIDHASH part, then the FILE
 * part with the exact file name, size and bytes, every time.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "bsp-multipart.h"
#include "pts-multipart.h"
#include "pts-split.h"

#define HASH "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3"
#define BOUNDARY "bsproxy-6f1d2c9a0b7e4c3d8e5f1a2b3c4d5e6f"

typedef struct
{
  const char *name;
  const char *filename;
  gsize size;
} RoundTripCase;

typedef struct
{
  GPtrArray *events;
  GChecksum *sum; /* of the open part's data */
  gsize got;      /* its length so far */
} Collector;

static gboolean
collect_begin (gpointer user_data, const PtsMultipartPart *part, guint64 offset, GError **error)
{
  Collector *col = user_data;

  g_ptr_array_add (col->events,
                   g_strdup_printf ("begin(%s,%s,%s,%" G_GINT64_FORMAT ")@%" G_GUINT64_FORMAT,
                                    part->name, part->filename ? part->filename : "-",
                                    part->content_type ? part->content_type : "-",
                                    part->content_length, offset));
  col->sum = g_checksum_new (G_CHECKSUM_SHA256);
  col->got = 0;
  return TRUE;
}

static gboolean
collect_data (gpointer user_data, const guint8 *data, gsize len, GError **error)
{
  Collector *col = user_data;

  g_checksum_update (col->sum, data, len);
  col->got += len;
  return TRUE;
}

static gboolean
collect_end (gpointer user_data, GError **error)
{
  Collector *col = user_data;

  g_ptr_array_add (col->events, g_strdup_printf ("data(%" G_GSIZE_FORMAT ",%s)", col->got,
                                                 g_checksum_get_string (col->sum)));
  g_clear_pointer (&col->sum, g_checksum_free);
  return TRUE;
}

static const PtsMultipartCallbacks collector_callbacks = {
  collect_begin,
  collect_data,
  collect_end,
};

static PtsSplitOutcome *
run_parser (const guint8 *body, gsize len, const gsize *cuts, gsize n_cuts, gpointer user_data)
{
  Collector col = { g_ptr_array_new_with_free_func (g_free), NULL, 0 };
  g_autoptr (PtsMultipart) parser = pts_multipart_new (BOUNDARY, &collector_callbacks, &col);
  GError *error = NULL;
  gboolean ok = TRUE;
  gsize from = 0;

  for (gsize i = 0; ok && i < n_cuts; i++)
    {
      ok = pts_multipart_feed (parser, body + from, cuts[i] - from, &error);
      from = cuts[i];
    }
  if (ok && pts_multipart_finish (parser, &error))
    g_assert_true (pts_multipart_is_done (parser));
  g_clear_pointer (&col.sum, g_checksum_free);
  return pts_split_outcome_new (col.events, 0, error);
}

/* File bytes that look like framing: line ends, dashes, the boundary's
 * start, NULs and bytes over 0x7f. */
static GByteArray *
make_file (gsize size)
{
  static const char pieces[] = "\r\n--bsproxy-6f1d\r\n--\0\xff\r";
  GByteArray *file = g_byte_array_sized_new (size);

  for (gsize i = 0; i < size; i++)
    {
      guint8 b = (i / 7) % 3 == 0 ? (guint8) pieces[i % (sizeof pieces - 1)] : (guint8) (i * 31);
      g_byte_array_append (file, &b, 1);
    }
  return file;
}

static void
test_roundtrip (gconstpointer data)
{
  const RoundTripCase *c = data;
  g_autofree char *head = bsp_multipart_head (BOUNDARY, HASH, c->filename, c->size);
  g_autofree char *tail = bsp_multipart_tail (BOUNDARY);
  g_autoptr (GByteArray) file = make_file (c->size);
  g_autoptr (GByteArray) body = g_byte_array_new ();
  g_autoptr (PtsSplitOutcome) whole = NULL;
  g_autofree char *file_sum = NULL;
  g_autofree char *hash_sum = NULL;
  g_autofree char *expected = NULL;
  /* The server keeps no directory part (libsoup drops it with the name). */
  const char *base = strrchr (c->filename, '/') ? strrchr (c->filename, '/') + 1 : c->filename;

  g_test_summary ("The plugin's upload framing, parsed by the server however it is split, "
                  "gives back the SIDHASH, the exact file name (without a directory), size and "
                  "bytes.");
  g_byte_array_append (body, (const guint8 *) head, strlen (head));
  g_byte_array_append (body, file->data, file->len);
  g_byte_array_append (body, (const guint8 *) tail, strlen (tail));

  file_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, file->data, file->len);
  hash_sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, HASH, -1);
  expected = g_strdup_printf ("begin(SIDHASH,-,-,-1)@%zu\n"
                              "data(40,%s)\n"
                              "begin(FILE,%s,application/octet-stream,%zu)@%zu\n"
                              "data(%zu,%s)",
                              (gsize) (strstr (head, HASH) - head), hash_sum, base, c->size,
                              strlen (head), c->size, file_sum);

  whole = pts_split_run_whole (run_parser, body->data, body->len, NULL);
  g_assert_no_error (whole->error);
  g_assert_cmpstr (whole->events, ==, expected);
  pts_split_assert_invariant (run_parser, body->data, body->len, 1024, PTS_SPLIT_DEFAULT, whole,
                              NULL);
}

static void
test_disposition_fallback (void)
{
  static const struct
  {
    const char *name;
    const char *params;
  } cases[] = {
    { "a.txt", "filename=\"a.txt\"; filename*=UTF-8''a.txt" },
    { "dir/q\"b\\s.txt", "filename=\"dir_q_b_s.txt\"; filename*=UTF-8''dir%2Fq%22b%5Cs.txt" },
    { "é 1.bin", "filename=\"__ 1.bin\"; filename*=UTF-8''%C3%A9%201.bin" },
    { "tab\there", "filename=\"tab_here\"; filename*=UTF-8''tab%09here" },
  };

  g_test_summary ("One file-name fallback for both programs: printable ASCII stays, quotes, "
                  "backslashes, slashes and everything else become '_'; filename* is exact.");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = bsp_disposition_filename (cases[i].name);
      g_assert_cmpstr (got, ==, cases[i].params);
    }
}

static const RoundTripCase cases[] = {
  { "ascii", "a.txt", 5 },
  { "empty-file", "empty", 0 },
  { "utf8-name", "Zürich – 東京 (v2).pdf", 300 },
  { "quotes-slashes", "dir/\"quoted\"\\back;name=x.txt", 64 },
  { "percent-and-spaces", " 100% sure ; filename=evil ", 1 },
  { "large", "large.bin", 100000 },
};

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strconcat ("/common/multipart/roundtrip/", cases[i].name, NULL);
      g_test_add_data_func (path, &cases[i], test_roundtrip);
    }
  g_test_add_func ("/common/multipart/disposition-fallback", test_disposition_fallback);
  return g_test_run ();
}
