/* fuzz-xml.c — fuzz target for the incremental XMPP stream parser
 *
 * The input is a byte stream from a peer. It is fed:
 *   1. in one piece and in a split pattern chosen by its first byte (fixed
 *      chunks, random chunks, or byte by byte), with no size limit: both
 *      runs must hand out the same headers, stanzas and error;
 *   2. after a stream header, with a small stanza limit and depth limit
 *      derived from the first byte, again whole and split: the same
 *      stanzas, and an error in both or in neither.
 * A stanza named "success" or "proceed" restarts the stream, as after SASL
 * or STARTTLS. Every stanza handed out is serialised and parsed back, and
 * must serialise to the same text. A crash, a sanitizer report or a leak
 * is a finding; so is any of the checks above failing (abort ()).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pts-xml.h"

#define FUZZ_XML_STREAM_DECL "xmlns:stream='" PTS_NS_STREAMS "'"
#define FUZZ_XML_HEADER                                                                            \
  "<stream:stream xmlns='jabber:client' " FUZZ_XML_STREAM_DECL " to='example.com' "                \
  "version='1.0'>"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef enum
{
  FUZZ_XML_SPLIT_WHOLE,
  FUZZ_XML_SPLIT_FIXED,
  FUZZ_XML_SPLIT_RANDOM,
  FUZZ_XML_SPLIT_BYTEWISE,
} FuzzXmlSplit;

typedef struct
{
  PtsXmlParser *parser;
  GString *log; /* what the parser handed out, and how it ended */
} FuzzXmlRun;

static void
fuzz_xml_fail (const char *what, const char *expected, const char *got)
{
  fprintf (stderr, "fuzz-xml: %s\n--- expected\n%s\n--- got\n%s\n", what, expected, got);
  abort ();
}

static void
fuzz_xml_keep_first (gpointer user_data, PtsNode *stanza)
{
  PtsNode **first = user_data;

  if (*first == NULL)
    *first = stanza;
  else
    pts_node_free (stanza);
}

/* What pts_node_write () produced must read back as the same XML, inside a
 * stream that declares the stream prefix and no default namespace. */
static void
fuzz_xml_check_round_trip (const char *xml)
{
  static const PtsXmlCallbacks callbacks = { NULL, fuzz_xml_keep_first, NULL };
  g_autofree char *doc = g_strconcat ("<stream:stream " FUZZ_XML_STREAM_DECL ">", xml, NULL);
  g_autoptr (PtsXmlParser) parser = NULL;
  g_autoptr (PtsNode) first = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *again = NULL;

  parser = pts_xml_parser_new (&callbacks, &first, G_MAXSIZE, 1024);
  if (!pts_xml_parser_feed (parser, doc, strlen (doc), &error))
    fuzz_xml_fail ("a serialised stanza does not parse", xml, error->message);
  if (first == NULL)
    fuzz_xml_fail ("a serialised stanza is incomplete", xml, "");
  again = pts_node_to_string (first, NULL);
  if (strcmp (again, xml) != 0)
    fuzz_xml_fail ("a serialised stanza does not round-trip", xml, again);
}

static void
fuzz_xml_stream_start (gpointer user_data, const PtsNode *root)
{
  FuzzXmlRun *run = user_data;
  g_autofree char *xml = pts_node_to_string (root, NULL);

  g_string_append_printf (run->log, "start %s\n", xml);
}

static void
fuzz_xml_stanza (gpointer user_data, PtsNode *stanza)
{
  FuzzXmlRun *run = user_data;
  g_autoptr (PtsNode) node = stanza;
  g_autofree char *xml = pts_node_to_string (node, NULL);

  g_string_append_printf (run->log, "%s\n", xml);
  fuzz_xml_check_round_trip (xml);
  if (pts_node_is (node, "success", NULL) || pts_node_is (node, "proceed", NULL))
    pts_xml_parser_restart (run->parser);
}

static void
fuzz_xml_stream_end (gpointer user_data)
{
  FuzzXmlRun *run = user_data;

  g_string_append (run->log, "end\n");
}

static const PtsXmlCallbacks fuzz_xml_callbacks = {
  fuzz_xml_stream_start,
  fuzz_xml_stanza,
  fuzz_xml_stream_end,
};

/* The size of the next piece to feed. */
static gsize
fuzz_xml_next_piece (FuzzXmlSplit split, guint8 seed, guint32 *state, gsize left)
{
  gsize piece = left;

  switch (split)
    {
    case FUZZ_XML_SPLIT_WHOLE: break;
    case FUZZ_XML_SPLIT_FIXED: piece = seed % 13 + 1; break;
    case FUZZ_XML_SPLIT_RANDOM:
      /* xorshift32: the same pieces for the same first byte. */
      *state ^= *state << 13;
      *state ^= *state >> 17;
      *state ^= *state << 5;
      piece = *state % 32; /* zero-length feeds too */
      break;
    case FUZZ_XML_SPLIT_BYTEWISE: piece = 1; break;
    }
  return MIN (piece, left);
}

/* Feeds @prefix then @data, split as asked; returns the log, with the
 * error (its code when @with_code) on its last line. */
static char *
fuzz_xml_run (const char *prefix, const guint8 *data, gsize size, FuzzXmlSplit split,
              gsize max_bytes, guint max_depth, gboolean with_code)
{
  FuzzXmlRun run = { NULL, g_string_new (NULL) };
  g_autoptr (PtsXmlParser) parser = NULL;
  g_autoptr (GError) error = NULL;
  guint32 state = 0x9e3779b9u ^ (size > 0 ? data[0] : 0);
  gboolean ok = TRUE;

  parser = pts_xml_parser_new (&fuzz_xml_callbacks, &run, max_bytes, max_depth);
  run.parser = parser;
  if (prefix != NULL)
    ok = pts_xml_parser_feed (parser, prefix, strlen (prefix), &error);
  for (gsize at = 0; ok && at < size;)
    {
      gsize piece = fuzz_xml_next_piece (split, size > 0 ? data[0] : 0, &state, size - at);

      ok = pts_xml_parser_feed (parser, (const char *) data + at, piece, &error);
      at += piece;
    }

  if (!ok)
    {
      g_autoptr (GError) again = NULL;

      if (error == NULL || error->domain != PTS_XML_ERROR)
        fuzz_xml_fail ("a failed feed without a PTS_XML_ERROR", "", "");
      /* A failed parser stays failed. */
      if (pts_xml_parser_feed (parser, "<a/>", 4, &again) || again == NULL)
        fuzz_xml_fail ("a failed parser accepted more input", "", "");
      if (with_code)
        g_string_append_printf (run.log, "error %d\n", error->code);
      else
        g_string_append (run.log, "error\n");
    }
  return g_string_free (run.log, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  FuzzXmlSplit split;
  gsize small_limit;
  guint small_depth;

  if (size == 0)
    return 0;
  split = FUZZ_XML_SPLIT_FIXED + data[0] % 3;
  small_limit = 160 + (data[0] & 0x7f);
  small_depth = 1 + data[0] % 6;

  {
    g_autofree char *whole
        = fuzz_xml_run (NULL, data, size, FUZZ_XML_SPLIT_WHOLE, G_MAXSIZE, 32, TRUE);
    g_autofree char *split_log = fuzz_xml_run (NULL, data, size, split, G_MAXSIZE, 32, TRUE);

    if (strcmp (whole, split_log) != 0)
      fuzz_xml_fail ("the outcome depends on the split", whole, split_log);
  }
  {
    g_autofree char *whole = fuzz_xml_run (FUZZ_XML_HEADER, data, size, FUZZ_XML_SPLIT_WHOLE,
                                           small_limit, small_depth, FALSE);
    g_autofree char *split_log
        = fuzz_xml_run (FUZZ_XML_HEADER, data, size, split, small_limit, small_depth, FALSE);

    if (strcmp (whole, split_log) != 0)
      fuzz_xml_fail ("the outcome under limits depends on the split", whole, split_log);
  }
  return 0;
}
