/* test-xml-limits.c — the stream parser's limits (a stanza's size, depth, long
 * headers and doctypes), stream restarts, whitespace keepalives, and how the
 * parser behaves once failed, without callbacks, or freed mid-stanza. Part
 * of the program test-xml (test-xml.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-split.h"
#include "test-xml.h"

/* Long inputs for the limit cases: head, unit × times, tail. */

static const XmlLong long_text = { STREAM_OPEN "<message><body>", "x", 5000, "</body></message>" };
static const XmlLong gt_in_attribute = { STREAM_OPEN "<message a='", ">", 5000, "'/>" };
static const XmlLong gt_in_top_level_text = { STREAM_OPEN, "x>", 3000, "" };
static const XmlLong gt_in_comment = { STREAM_OPEN "<!--", " >", 3000, "-->" };
static const XmlLong long_header = { "<stream:stream " NS_STREAM_DECL " a='", "x", 5000, "'>" };
static const XmlLong long_doctype
    = { "<!DOCTYPE s [", "<!ENTITY a 'EXPANDED'>", 400, "]>" STREAM_OPEN };
/* GMarkup reads "<!" up to a '>' that ends a comment, CDATA or DOCTYPE; an
 * entity declaration outside a DTD never ends and swallows what follows. */
static const XmlLong bare_entity_declaration
    = { STREAM_OPEN "<!ENTITY x 'EXPANDED'>", "<message>&x;</message>", 1000, "" };
static const XmlLong very_deep = { STREAM_OPEN, "<a>", 100000, "" };
/* 15 + 224 + 17 = 256 bytes. */
static const XmlLong stanza_at_limit
    = { STREAM_OPEN "\n \n<message><body>", "x", 224, "</body></message>\n<presence/>" };
static const XmlLong stanza_over_limit
    = { STREAM_OPEN "<presence/>\n<message><body>", "x", 225, "</body></message>" };
/* A second document whose self-closing header ends one byte past the limit
 * (15 + 47 + 4 + 188 + 3 = 257 bytes): GMarkup reports the header at the
 * '/', before the last byte. */
static const XmlLong header_one_over_limit
    = { STREAM_OPEN STREAM_CLOSE "<stream:stream " NS_STREAM_DECL " a='", "x", 188, "'/>" };
static const XmlLong many_small_stanzas = { STREAM_OPEN, "\n\n\n<r/>", 1000, "" };

static const XmlCase limit_cases[] = {
  { "depth-over-limit",
    STREAM_OPEN "<a><b><c><d><e><f><g><h><i/></h></g></f></e></d></c></b>"
                "</a>",
    PTS_XML_ERROR_TOO_DEEP,
    0,
    { START } },
  { "depth-one",
    STREAM_OPEN "<message/><iq><query/></iq>",
    PTS_XML_ERROR_TOO_DEEP,
    1,
    { START, "<message xmlns='jabber:client'/>" },
    NULL,
    0,
    1 },
  { "depth-very-deep", NULL, PTS_XML_ERROR_TOO_DEEP, 0, { START }, NULL, 1 << 20, 0, &very_deep },
  { "stanza-at-limit", NULL, NO_ERROR, 2, { NULL }, NULL, 256, 0, &stanza_at_limit, TRUE },
  { "stanza-over-limit",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    1,
    { START, "<presence xmlns='jabber:client'/>" },
    NULL,
    256,
    0,
    &stanza_over_limit },
  { "header-one-over-limit",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { NULL },
    NULL,
    256,
    0,
    &header_one_over_limit,
    TRUE },
  { "many-small-stanzas", NULL, NO_ERROR, 1000, { NULL }, NULL, 128, 0, &many_small_stanzas, TRUE },
  { "long-text", NULL, PTS_XML_ERROR_TOO_BIG, 0, { START }, NULL, 0, 0, &long_text },
  { "gt-in-attribute", NULL, PTS_XML_ERROR_TOO_BIG, 0, { START }, NULL, 0, 0, &gt_in_attribute },
  { "gt-in-top-level-text",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { START },
    NULL,
    0,
    0,
    &gt_in_top_level_text },
  { "gt-in-comment", NULL, PTS_XML_ERROR_TOO_BIG, 0, { START }, NULL, 0, 0, &gt_in_comment },
  { "long-header", NULL, PTS_XML_ERROR_TOO_BIG, 0, { NULL }, NULL, 0, 0, &long_header },
  { "long-doctype", NULL, PTS_XML_ERROR_TOO_BIG, 0, { NULL }, NULL, 0, 0, &long_doctype },
  { "bare-entity-declaration",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { START },
    NULL,
    0,
    0,
    &bare_entity_declaration },
};

static const XmlCase restart_cases[] = {
  { "mid-chunk",
    STREAM_OPEN SASL_SUCCESS STREAM_OPEN "<iq type='set' id='bind'/>",
    NO_ERROR,
    2,
    { START, SASL_SUCCESS, START, "<iq xmlns='jabber:client' type='set' id='bind'/>" },
    "success" },
  { "declaration",
    STREAM_OPEN SASL_SUCCESS "<?xml version='1.0'?>" STREAM_OPEN "<iq/>",
    NO_ERROR,
    2,
    { START, SASL_SUCCESS, START, "<iq xmlns='jabber:client'/>" },
    "success" },
  { "keepalive-before-header",
    STREAM_OPEN SASL_SUCCESS "\n \r\n" STREAM_OPEN,
    NO_ERROR,
    1,
    { START, SASL_SUCCESS, START },
    "success" },
  /* The new document knows nothing of the old one's prefixes. */
  { "fresh-document",
    STREAM_OPEN SASL_SUCCESS "<stream:features/>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    1,
    { START, SASL_SUCCESS },
    "success" },
  /* The old document's open element is gone: closing it is an error. */
  { "old-close-tag",
    STREAM_OPEN SASL_SUCCESS STREAM_CLOSE,
    PTS_XML_ERROR_MALFORMED,
    1,
    { START, SASL_SUCCESS },
    "success" },
  /* Without the restart the second header is just an unfinished stanza. */
  { "not-requested",
    STREAM_OPEN SASL_SUCCESS STREAM_OPEN "<iq type='set' id='bind'/>",
    NO_ERROR,
    1,
    { START, SASL_SUCCESS } },
};

/* ---- whitespace keepalives --------------------------------------------- */

static GString *
repeat (GString *out, const char *text, guint times)
{
  for (guint i = 0; i < times; i++)
    g_string_append (out, text);
  return out;
}

static void
test_keepalives (void)
{
  static const char *const spaces[] = { " ", "\n", "\r\n", "\t", "  \n  " };
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  Recorder rec = { NULL, NULL, events, 0 };
  g_autoptr (PtsXmlParser) parser = pts_xml_parser_new (&recorder_callbacks, &rec, 256, 8);
  g_autoptr (GString) big = g_string_new ("<message><body>");
  g_autoptr (GError) error = NULL;

  g_test_summary ("Whitespace keepalives between stanzas (RFC 6120 §4.6.1) are not counted "
                  "against the stanza size limit, however many arrive.");

  rec.parser = parser;
  repeat (big, "x", 200);
  g_string_append (big, "</body></message>");

  g_assert_true (pts_xml_parser_feed (parser, STREAM_OPEN, strlen (STREAM_OPEN), &error));
  for (guint i = 0; i < 200000; i++)
    {
      const char *space = spaces[i % G_N_ELEMENTS (spaces)];

      g_assert_true (pts_xml_parser_feed (parser, space, strlen (space), &error));
      if (i % 1000 == 999)
        g_assert_true (pts_xml_parser_feed (parser, big->str, big->len, &error));
    }
  g_assert_no_error (error);
  g_assert_cmpuint (rec.n_stanzas, ==, 200);

  /* The same in one chunk. */
  {
    g_autoptr (GString) chunk = g_string_new (NULL);

    for (guint i = 0; i < 100; i++)
      {
        repeat (chunk, " \n", 1000);
        g_string_append_len (chunk, big->str, big->len);
      }
    g_assert_true (pts_xml_parser_feed (parser, chunk->str, chunk->len, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (rec.n_stanzas, ==, 300);
  }
}

static void
test_failed_stays_failed (void)
{
  static const char bad[] = STREAM_OPEN "<a></b>";
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  Recorder rec = { NULL, NULL, events, 0 };
  g_autoptr (PtsXmlParser) parser = pts_xml_parser_new (&recorder_callbacks, &rec, 4096, 8);
  g_autoptr (GError) error = NULL;

  g_test_summary ("After an error the parser refuses everything, even a restart.");
  rec.parser = parser;
  g_assert_false (pts_xml_parser_feed (parser, bad, strlen (bad), &error));
  g_assert_error (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED);
  g_clear_error (&error);

  pts_xml_parser_restart (parser);
  g_assert_false (pts_xml_parser_feed (parser, STREAM_OPEN, strlen (STREAM_OPEN), &error));
  g_assert_error (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED);
  g_assert_cmpuint (events->len, ==, 1);
}

static void
test_no_callbacks (void)
{
  static const char doc[] = STREAM_OPEN "<message><body>x</body></message>" STREAM_CLOSE;
  static const PtsXmlCallbacks none = { NULL, NULL, NULL };
  g_autoptr (PtsXmlParser) parser = pts_xml_parser_new (&none, NULL, 4096, 8);
  g_autoptr (GError) error = NULL;

  g_test_summary ("Callbacks are optional; unclaimed stanzas are freed.");
  g_assert_true (pts_xml_parser_feed (parser, doc, strlen (doc), &error));
  g_assert_no_error (error);
}

static void
test_free_mid_stanza (void)
{
  static const char doc[] = STREAM_OPEN "<message><body>x</body><thread>";
  g_autoptr (GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  Recorder rec = { NULL, NULL, events, 0 };
  PtsXmlParser *parser = pts_xml_parser_new (&recorder_callbacks, &rec, 4096, 8);
  g_autoptr (GError) error = NULL;

  g_test_summary ("Freeing the parser with a stanza half built frees the half stanza.");
  rec.parser = parser;
  g_assert_true (pts_xml_parser_feed (parser, doc, strlen (doc), &error));
  pts_xml_parser_free (parser);
  pts_xml_parser_free (NULL);
}

void
test_xml_add_limits (void)
{
  PTS_SPLIT_ADD_TABLE ("/server/xml", "limits", limit_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "restart", restart_cases, test_stream_case);
  g_test_add_func ("/server/xml/limits/keepalives", test_keepalives);
  g_test_add_func ("/server/xml/parser/failed-stays-failed", test_failed_stays_failed);
  g_test_add_func ("/server/xml/parser/no-callbacks", test_no_callbacks);
  g_test_add_func ("/server/xml/parser/free-mid-stanza", test_free_mid_stanza);
}
