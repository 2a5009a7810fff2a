/* test-xml.c — the incremental stream parser: valid, malformed and
 * forbidden streams, each fed whole and split at every byte. The program
 * test-xml also runs test-xml-limits.c (limits, restarts, the parser's
 * behaviour) and test-xml-tree.c (the stanza tree and its serialisation).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-split.h"
#include "test-xml.h"

/* ---- parsing a stanza back ---------------------------------------------- */

static void
keep_first_stanza (gpointer user_data, PtsNode *stanza)
{
  PtsNode **first = user_data;

  if (*first == NULL)
    *first = stanza;
  else
    pts_node_free (stanza);
}

/* The first stanza of @xml, parsed inside a stream that declares the stream
 * prefix and no default namespace. */
PtsNode *
parse_in_stream (const char *xml, GError **error)
{
  static const PtsXmlCallbacks callbacks = { NULL, keep_first_stanza, NULL };
  g_autofree char *doc = g_strconcat ("<stream:stream " NS_STREAM_DECL ">", xml, NULL);
  PtsNode *first = NULL;
  g_autoptr (PtsXmlParser) parser = pts_xml_parser_new (&callbacks, &first, G_MAXSIZE, 64);

  if (!pts_xml_parser_feed (parser, doc, strlen (doc), error))
    {
      g_clear_pointer (&first, pts_node_free);
      return NULL;
    }
  if (first == NULL)
    g_set_error_literal (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED, "incomplete");
  return first;
}

/* Serialised XML parses back to a tree that serialises to the same text. */
static void
assert_round_trip (const char *xml)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) node = parse_in_stream (xml, &error);
  g_autofree char *again = NULL;

  g_assert_no_error (error);
  again = pts_node_to_string (node, NULL);
  g_assert_cmpstr (again, ==, xml);
}

/* ---- recording what the stream parser hands out ----------------------- */

static void
recorder_stream_start (gpointer user_data, const PtsNode *root)
{
  Recorder *rec = user_data;
  g_autofree char *xml = pts_node_to_string (root, NULL);

  g_ptr_array_add (rec->events, g_strconcat ("start ", xml, NULL));
}

static void
recorder_stanza (gpointer user_data, PtsNode *stanza)
{
  Recorder *rec = user_data;
  g_autoptr (PtsNode) node = stanza;
  char *xml = pts_node_to_string (node, NULL);

  g_ptr_array_add (rec->events, xml);
  rec->n_stanzas++;
  assert_round_trip (xml);
  if (rec->restart_on != NULL && g_strcmp0 (node->name, rec->restart_on) == 0)
    pts_xml_parser_restart (rec->parser);
}

static void
recorder_stream_end (gpointer user_data)
{
  Recorder *rec = user_data;

  g_ptr_array_add (rec->events, g_strdup ("end"));
}

const PtsXmlCallbacks recorder_callbacks = {
  recorder_stream_start,
  recorder_stanza,
  recorder_stream_end,
};

typedef struct
{
  const char *restart_on;
  gsize max_bytes;
  guint max_depth;
} ParseSetup;

/* A PtsSplitRunFunc: feeds @input in pieces that end at each offset of
 * @cuts, up to the first error; the outcome counts the stanzas. */
static PtsSplitOutcome *
run_parser (const guint8 *input, gsize len, const gsize *cuts, gsize n_cuts, gpointer user_data)
{
  const ParseSetup *setup = user_data;
  GPtrArray *events = g_ptr_array_new_with_free_func (g_free);
  Recorder rec = { NULL, setup->restart_on, events, 0 };
  g_autoptr (PtsXmlParser) parser = NULL;
  GError *error = NULL;
  gsize from = 0;

  parser = pts_xml_parser_new (&recorder_callbacks, &rec, setup->max_bytes, setup->max_depth);
  rec.parser = parser;
  for (gsize i = 0; i < n_cuts; i++)
    {
      g_assert_cmpuint (cuts[i], >=, from);
      g_assert_cmpuint (cuts[i], <=, len);
      if (!pts_xml_parser_feed (parser, (const char *) input + from, cuts[i] - from, &error))
        break;
      from = cuts[i];
    }
  return pts_split_outcome_new (events, rec.n_stanzas, error);
}

/* ---- table-driven stream cases ----------------------------------------- */

void
test_stream_case (gconstpointer data)
{
  const XmlCase *c = data;
  ParseSetup setup = {
    c->restart_on,
    c->max_bytes ? c->max_bytes : DEFAULT_MAX_BYTES,
    c->max_depth ? c->max_depth : DEFAULT_MAX_DEPTH,
  };
  g_autoptr (GString) built = NULL;
  g_autoptr (PtsSplitOutcome) whole = NULL;

  if (c->long_input != NULL)
    {
      built = g_string_new (c->long_input->head);
      for (guint i = 0; i < c->long_input->times; i++)
        g_string_append (built, c->long_input->unit);
      g_string_append (built, c->long_input->tail);
    }
  else
    built = g_string_new (c->input);
  whole = pts_split_run_whole (run_parser, (const guint8 *) built->str, built->len, &setup);

  if (c->error == NO_ERROR)
    g_assert_no_error (whole->error);
  else
    g_assert_error (whole->error, PTS_XML_ERROR, c->error);
  g_assert_cmpuint (whole->n_items, ==, c->n_stanzas);
  if (!c->any_events)
    {
      g_autofree char *expected = g_strjoinv ("\n", (char **) c->events);
      g_assert_cmpstr (whole->events, ==, expected);
    }
  /* Entities are never expanded: their replacement text says EXPANDED. */
  g_assert_null (strstr (whole->events, "EXPANDED"));

  /* At every position up to 1 KiB of input, at 64 for generated long input. */
  pts_split_assert_invariant (run_parser, (const guint8 *) built->str, built->len, 1024,
                              PTS_SPLIT_DEFAULT, whole, &setup);
}

static const XmlCase valid_cases[] = {
  { "message",
    STREAM_OPEN "<message to='a@example.com' type='chat'><body>hi &amp; bye</body>"
                "</message>" STREAM_CLOSE,
    NO_ERROR,
    1,
    { START,
      "<message xmlns='jabber:client' to='a@example.com' type='chat'><body>hi &amp; "
      "bye</body></message>",
      "end" } },
  { "xml-declaration",
    "<?xml version='1.0'?>" STREAM_OPEN "<presence/>",
    NO_ERROR,
    1,
    { START, "<presence xmlns='jabber:client'/>" } },
  { "xml-declaration-encoding",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" STREAM_OPEN "<presence/>",
    NO_ERROR,
    1,
    { START, "<presence xmlns='jabber:client'/>" } },
  { "iq-namespaces",
    STREAM_OPEN
    "<iq type='set' id='a1'><query "
    "xmlns='http://jabber.org/protocol/bytestreams' sid='s1'><streamhost jid='proxy.example.com' "
    "host='127.0.0.1' port='7777'/></query></iq>",
    NO_ERROR,
    1,
    { START, "<iq xmlns='jabber:client' type='set' id='a1'><query "
             "xmlns='http://jabber.org/protocol/bytestreams' sid='s1'><streamhost "
             "jid='proxy.example.com' host='127.0.0.1' port='7777'/></query></iq>" } },
  { "prefixed-children",
    STREAM_OPEN
    "<iq type='result' id='d'><d:query "
    "xmlns:d='http://jabber.org/protocol/disco#info'><d:identity category='proxy'/><feature "
    "var='x'/></d:query></iq>",
    NO_ERROR,
    1,
    { START, "<iq xmlns='jabber:client' type='result' id='d'><query "
             "xmlns='http://jabber.org/protocol/disco#info'><identity category='proxy'/><feature "
             "xmlns='jabber:client' var='x'/></query></iq>" } },
  { "prefix-non-ascii-local",
    STREAM_OPEN "<p:\xc3\xa9t\xc3\xa9 xmlns:p='urn:a'/>",
    NO_ERROR,
    1,
    { START, "<\xc3\xa9t\xc3\xa9 xmlns='urn:a'/>" } },
  { "prefix-shadowed",
    STREAM_OPEN "<p:iq xmlns:p='urn:a'><p:x xmlns:p='urn:b'><p:y/></p:x>"
                "<p:z/></p:iq>",
    NO_ERROR,
    1,
    { START, "<iq xmlns='urn:a'><x xmlns='urn:b'><y/></x><z/></iq>" } },
  { "stream-features",
    STREAM_OPEN "<stream:features><starttls "
                "xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
    NO_ERROR,
    1,
    { START, "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
             "</starttls></stream:features>" } },
  { "keepalives-and-comments",
    STREAM_OPEN " \n\t<message/>\r\n \n<!-- a > b -->  <message "
                "id='2'/> ",
    NO_ERROR,
    2,
    { START, "<message xmlns='jabber:client'/>", "<message xmlns='jabber:client' id='2'/>" } },
  { "comment-in-stanza",
    STREAM_OPEN "<message><!-- <b>x</b> --><body>t</body></message>",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client'><body>t</body></message>" } },
  { "escapes",
    STREAM_OPEN
    "<message id=\"it's\" a='&lt;&amp;&gt;&quot;'><body>&lt;b&gt; "
    "&quot;q&quot; &apos;a&apos; &#65;&#x42; caf\xc3\xa9 <![CDATA[<raw> & ]]></body></message>",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client' id='it&apos;s' a='&lt;&amp;&gt;&quot;'><body>"
             "&lt;b&gt; &quot;q&quot; &apos;a&apos; AB caf\xc3\xa9 &lt;raw&gt; &amp; </body>"
             "</message>" } },
  { "component",
    "<stream:stream xmlns='jabber:component:accept' " NS_STREAM_DECL
    " to='proxy.example.com'><handshake>aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d</handshake>",
    NO_ERROR,
    1,
    { "start <stream:stream to='proxy.example.com'/>",
      "<handshake xmlns='jabber:component:accept'>aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
      "</handshake>" } },
  { "self-closing-stream",
    "<stream:stream xmlns='jabber:client' " NS_STREAM_DECL "/>",
    NO_ERROR,
    0,
    { "start <stream:stream/>", "end" } },
  { "two-documents",
    STREAM_OPEN "<a/>" STREAM_CLOSE "\n" STREAM_OPEN "<b/>",
    NO_ERROR,
    2,
    { START, "<a xmlns='jabber:client'/>", "end", START, "<b xmlns='jabber:client'/>" } },
  { "mixed-content",
    STREAM_OPEN "<message>one<b/>two</message>",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client'>onetwo<b/></message>" } },
  { "xml-lang",
    STREAM_OPEN "<message xml:lang='en'/>",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client' xml:lang='en'/>" } },
  { "empty-default-namespace",
    STREAM_OPEN "<message><x xmlns=''><y/></x></message>",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client'><x xmlns=''><y/></x></message>" } },
  { "no-namespace",
    "<stream:stream " NS_STREAM_DECL "><message/>",
    NO_ERROR,
    1,
    { "start <stream:stream/>", "<message/>" } },
  /* Line ends: the reader turns a raw CR LF into LF, and a raw TAB in an
   * attribute value into a space; references survive, so the writer uses
   * them for CR, and for LF and TAB in attribute values. */
  { "line-ends",
    STREAM_OPEN "<message a='x&#13;&#10;&#9;y' b='1\t2'><body>l1\r\nl2&#13;"
                "<![CDATA[\r]]>\t</body></message>",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client' a='x&#13;&#10;&#9;y' b='1 2'><body>l1\nl2&#13;"
             "&#13;\t</body></message>" } },
  { "attribute-spacing",
    STREAM_OPEN "<message  to = \"a\"\n\ttype='chat' />",
    NO_ERROR,
    1,
    { START, "<message xmlns='jabber:client' to='a' type='chat'/>" } },
  { "incomplete-stanza", STREAM_OPEN "<message><body>hal", NO_ERROR, 0, { START } },
  { "empty", "", NO_ERROR, 0, { NULL } },
  { "depth-at-limit",
    STREAM_OPEN "<a><b><c><d><e><f><g><h/></g></f></e></d></c></b></a>",
    NO_ERROR,
    1,
    { START, "<a xmlns='jabber:client'><b><c><d><e><f><g><h/></g></f></e></d></c></b></a>" } },
};

static const XmlCase malformed_cases[] = {
  { "mismatched-tags", STREAM_OPEN "<message></iq>", PTS_XML_ERROR_MALFORMED, 0, { START } },
  { "mismatched-stream-close",
    STREAM_OPEN "</stream:features>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "close-without-open", "</stream:stream>", PTS_XML_ERROR_MALFORMED, 0, { NULL } },
  { "bad-utf8-text",
    STREAM_OPEN "<message><body>\xff</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "bad-utf8-overlong",
    STREAM_OPEN "<message><body>\xc0\xaf</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "bad-utf8-surrogate",
    STREAM_OPEN "<message><body>\xed\xa0\x80</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "bad-utf8-truncated",
    STREAM_OPEN "<message><body>\xe2\x82</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "bad-utf8-attribute",
    STREAM_OPEN "<message to='\xfe'/>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "bad-utf8-name", STREAM_OPEN "<mess\xffge/>", PTS_XML_ERROR_MALFORMED, 0, { START } },
  { "bad-utf8-between-stanzas",
    STREAM_OPEN "<a/>\xff<b/>",
    PTS_XML_ERROR_MALFORMED,
    1,
    { START, "<a xmlns='jabber:client'/>" } },
  { "control-character",
    STREAM_OPEN "<message><body>a\x01b</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "control-character-reference",
    STREAM_OPEN "<message><body>&#1;</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "control-character-attribute",
    STREAM_OPEN "<message id='&#x1b;'/>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "noncharacter-fffe",
    STREAM_OPEN "<message><body>\xef\xbf\xbe</body></message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "undeclared-prefix", STREAM_OPEN "<foo:bar/>", PTS_XML_ERROR_BAD_NAMESPACE, 0, { START } },
  { "undeclared-stream-prefix",
    "<stream:stream xmlns='jabber:client'>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { NULL } },
  { "undeclared-prefix-nested",
    STREAM_OPEN "<iq><x:query/></iq>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "two-colons",
    STREAM_OPEN "<a:b:c xmlns:a='urn:a'/>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "empty-prefix", STREAM_OPEN "<:message/>", PTS_XML_ERROR_BAD_NAMESPACE, 0, { START } },
  { "empty-local-name",
    STREAM_OPEN "<a: xmlns:a='urn:a'/>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "local-name-digit",
    STREAM_OPEN "<a:1x xmlns:a='urn:a'/>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "local-name-dash",
    STREAM_OPEN "<a:-x xmlns:a='urn:a'/>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "prefix-bound-to-empty",
    STREAM_OPEN "<p:iq xmlns:p=''/>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "prefix-undeclared-inside",
    STREAM_OPEN "<p:iq xmlns:p='urn:a'><p:x xmlns:p=''/></p:iq>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "prefix-out-of-scope",
    STREAM_OPEN "<iq><a:x xmlns:a='urn:a'/><a:y/></iq>",
    PTS_XML_ERROR_BAD_NAMESPACE,
    0,
    { START } },
  { "repeated-attribute",
    STREAM_OPEN "<iq to='a@example.com' type='get' to='b@example.com'/>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "repeated-xmlns",
    STREAM_OPEN "<iq xmlns='urn:a' xmlns='urn:b'/>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "repeated-attribute-in-header",
    "<stream:stream " NS_STREAM_DECL " to='a' to='b'>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { NULL } },
  { "garbage", "hello", PTS_XML_ERROR_MALFORMED, 0, { NULL } },
  { "garbage-in-tag", STREAM_OPEN "<<<>>>", PTS_XML_ERROR_MALFORMED, 0, { START } },
  { "unquoted-attribute", STREAM_OPEN "<message to=a/>", PTS_XML_ERROR_MALFORMED, 0, { START } },
  { "bad-name", STREAM_OPEN "<1message/>", PTS_XML_ERROR_MALFORMED, 0, { START } },
  /* An entity reference without any DTD: unknown, so an error. */
  { "unknown-entity",
    STREAM_OPEN "<message>&lol9;</message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "char-ref-zero", STREAM_OPEN "<message>&#0;</message>", PTS_XML_ERROR_MALFORMED, 0, { START } },
  { "unterminated-entity",
    STREAM_OPEN "<message>&amp</message>",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START } },
  { "junk-after-stream-end",
    STREAM_OPEN STREAM_CLOSE "junk",
    PTS_XML_ERROR_MALFORMED,
    0,
    { START, "end" } },
};

#define BILLION_LAUGHS                                                                             \
  "<!DOCTYPE lolz [<!ENTITY lol 'EXPANDED'>"                                                       \
  "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"                            \
  "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"                  \
  "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"                  \
  "<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>"                  \
  "<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>"                  \
  "<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>"                  \
  "<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>"                  \
  "<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>"                  \
  "<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>"                  \
  "]>"

static const XmlCase forbidden_cases[] = {
  { "doctype", "<!DOCTYPE stream:stream>" STREAM_OPEN, PTS_XML_ERROR_FORBIDDEN, 0, { NULL } },
  { "doctype-after-declaration",
    "<?xml version='1.0'?><!DOCTYPE stream:stream>" STREAM_OPEN,
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "doctype-in-stream", STREAM_OPEN "<!DOCTYPE x>", PTS_XML_ERROR_FORBIDDEN, 0, { START } },
  { "doctype-in-stanza",
    STREAM_OPEN "<message><!DOCTYPE x></message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { START } },
  { "internal-entity",
    "<!DOCTYPE s [<!ENTITY e 'EXPANDED'>]>" STREAM_OPEN "<message>&e;</message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "billion-laughs",
    BILLION_LAUGHS STREAM_OPEN "<message><body>&lol9;</body></message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "billion-laughs-in-stream",
    STREAM_OPEN BILLION_LAUGHS "<message><body>&lol9;</body></message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { START } },
  { "external-entity",
    "<!DOCTYPE s [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>" STREAM_OPEN
    "<message>&xxe;</message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "external-dtd",
    "<!DOCTYPE stream SYSTEM 'http://127.0.0.1:9/evil.dtd'>" STREAM_OPEN,
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "parameter-entity",
    "<!DOCTYPE s [<!ENTITY % p SYSTEM 'http://127.0.0.1:9/p.dtd'> %p;]>" STREAM_OPEN,
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "processing-instruction",
    STREAM_OPEN "<?php echo 1; ?>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { START } },
  { "processing-instruction-in-stanza",
    STREAM_OPEN "<message><?foo bar?></message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { START } },
  { "processing-instruction-before-root",
    "<?xml-stylesheet href='a.xsl'?>" STREAM_OPEN,
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { NULL } },
  { "xml-declaration-in-stream",
    STREAM_OPEN "<?xml version='1.0'?>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { START } },
  { "xml-declaration-in-stanza",
    STREAM_OPEN "<message><?xml version='1.0'?></message>",
    PTS_XML_ERROR_FORBIDDEN,
    0,
    { START } },
  { "pi-target-xmlfoo", "<?xmlfoo bar?>" STREAM_OPEN, PTS_XML_ERROR_FORBIDDEN, 0, { NULL } },
};

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  PTS_SPLIT_ADD_TABLE ("/server/xml", "valid", valid_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "malformed", malformed_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "forbidden", forbidden_cases, test_stream_case);
  test_xml_add_limits ();
  test_xml_add_tree ();

  return g_test_run ();
}
