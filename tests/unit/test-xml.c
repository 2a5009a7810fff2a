/* test-xml.c — the stanza tree, its serialisation and the incremental stream parser
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "pts-split.h"
#include "pts-xml.h"

#define NS_STREAM_DECL "xmlns:stream='http://etherx.jabber.org/streams'"
#define STREAM_OPEN                                                                                \
  "<stream:stream xmlns='jabber:client' " NS_STREAM_DECL " to='example.com' version='1.0'>"
#define STREAM_CLOSE "</stream:stream>"
/* What the recorder writes for STREAM_OPEN. */
#define START "start <stream:stream to='example.com' version='1.0'/>"
#define SASL_SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"

#define NO_ERROR (-1)
#define DEFAULT_MAX_BYTES 4096
#define DEFAULT_MAX_DEPTH 8

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
static PtsNode *
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

typedef struct
{
  PtsXmlParser *parser;
  const char *restart_on; /* a stanza name that triggers a stream restart */
  GPtrArray *events;      /* "start <header/>", a stanza's XML, or "end" */
  guint n_stanzas;
} Recorder;

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

static const PtsXmlCallbacks recorder_callbacks = {
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

typedef struct
{
  const char *name;
  const char *input;
  gint error;            /* a PtsXmlError, or NO_ERROR */
  guint n_stanzas;       /* stanzas handed out before the end or the error */
  const char *events[8]; /* everything handed out, in order; NULL-terminated */
  const char *restart_on;
  gsize max_bytes;          /* 0: DEFAULT_MAX_BYTES */
  guint max_depth;          /* 0: DEFAULT_MAX_DEPTH */
  GString *(*build) (void); /* builds a long input instead of @input */
  gboolean any_events;      /* do not compare @events (too long to write down) */
} XmlCase;

static void
test_stream_case (gconstpointer data)
{
  const XmlCase *c = data;
  ParseSetup setup = {
    c->restart_on,
    c->max_bytes ? c->max_bytes : DEFAULT_MAX_BYTES,
    c->max_depth ? c->max_depth : DEFAULT_MAX_DEPTH,
  };
  g_autoptr (GString) built = c->build ? c->build () : g_string_new (c->input);
  g_autoptr (PtsSplitOutcome) whole
      = pts_split_run_whole (run_parser, (const guint8 *) built->str, built->len, &setup);

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

/* Long inputs for the limit cases. */

static GString *
repeat (GString *out, const char *text, guint times)
{
  for (guint i = 0; i < times; i++)
    g_string_append (out, text);
  return out;
}

static GString *
build_long_text (void)
{
  GString *s = g_string_new (STREAM_OPEN "<message><body>");

  repeat (s, "x", 5000);
  return g_string_append (s, "</body></message>");
}

static GString *
build_gt_in_attribute (void)
{
  GString *s = g_string_new (STREAM_OPEN "<message a='");

  repeat (s, ">", 5000);
  return g_string_append (s, "'/>");
}

static GString *
build_gt_in_top_level_text (void)
{
  return repeat (g_string_new (STREAM_OPEN), "x>", 3000);
}

static GString *
build_gt_in_comment (void)
{
  GString *s = g_string_new (STREAM_OPEN "<!--");

  repeat (s, " >", 3000);
  return g_string_append (s, "-->");
}

static GString *
build_long_header (void)
{
  GString *s = g_string_new ("<stream:stream " NS_STREAM_DECL " a='");

  repeat (s, "x", 5000);
  return g_string_append (s, "'>");
}

static GString *
build_long_doctype (void)
{
  GString *s = g_string_new ("<!DOCTYPE s [");

  repeat (s, "<!ENTITY a 'EXPANDED'>", 400);
  return g_string_append (s, "]>" STREAM_OPEN);
}

/* GMarkup reads "<!" up to a '>' that ends a comment, CDATA or DOCTYPE; an
 * entity declaration outside a DTD never ends and swallows what follows. */
static GString *
build_bare_entity_declaration (void)
{
  GString *s = g_string_new (STREAM_OPEN "<!ENTITY x 'EXPANDED'>");

  return repeat (s, "<message>&x;</message>", 1000);
}

static GString *
build_very_deep (void)
{
  return repeat (g_string_new (STREAM_OPEN), "<a>", 100000);
}

/* 15 + 224 + 17 = 256 bytes. */
static GString *
build_stanza_at_limit (void)
{
  GString *s = g_string_new (STREAM_OPEN "\n \n<message><body>");

  repeat (s, "x", 224);
  return g_string_append (s, "</body></message>\n<presence/>");
}

static GString *
build_stanza_over_limit (void)
{
  GString *s = g_string_new (STREAM_OPEN "<presence/>\n<message><body>");

  repeat (s, "x", 225);
  return g_string_append (s, "</body></message>");
}

/* A second document whose self-closing header ends one byte past the limit:
 * GMarkup reports the header at the '/', before the last byte. */
static GString *
build_header_one_over_limit (void)
{
  GString *s = g_string_new (STREAM_OPEN STREAM_CLOSE "<stream:stream " NS_STREAM_DECL " a='");

  repeat (s, "x", 188); /* 15 + 47 + 4 + 188 + 3 = 257 bytes */
  return g_string_append (s, "'/>");
}

static GString *
build_many_small_stanzas (void)
{
  GString *s = g_string_new (STREAM_OPEN);

  return repeat (s, "\n\n\n<r/>", 1000);
}

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
  { "depth-very-deep",
    NULL,
    PTS_XML_ERROR_TOO_DEEP,
    0,
    { START },
    NULL,
    1 << 20,
    0,
    build_very_deep },
  { "stanza-at-limit", NULL, NO_ERROR, 2, { NULL }, NULL, 256, 0, build_stanza_at_limit, TRUE },
  { "stanza-over-limit",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    1,
    { START, "<presence xmlns='jabber:client'/>" },
    NULL,
    256,
    0,
    build_stanza_over_limit },
  { "header-one-over-limit",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { NULL },
    NULL,
    256,
    0,
    build_header_one_over_limit,
    TRUE },
  { "many-small-stanzas",
    NULL,
    NO_ERROR,
    1000,
    { NULL },
    NULL,
    128,
    0,
    build_many_small_stanzas,
    TRUE },
  { "long-text", NULL, PTS_XML_ERROR_TOO_BIG, 0, { START }, NULL, 0, 0, build_long_text },
  { "gt-in-attribute",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { START },
    NULL,
    0,
    0,
    build_gt_in_attribute },
  { "gt-in-top-level-text",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { START },
    NULL,
    0,
    0,
    build_gt_in_top_level_text },
  { "gt-in-comment", NULL, PTS_XML_ERROR_TOO_BIG, 0, { START }, NULL, 0, 0, build_gt_in_comment },
  { "long-header", NULL, PTS_XML_ERROR_TOO_BIG, 0, { NULL }, NULL, 0, 0, build_long_header },
  { "long-doctype", NULL, PTS_XML_ERROR_TOO_BIG, 0, { NULL }, NULL, 0, 0, build_long_doctype },
  { "bare-entity-declaration",
    NULL,
    PTS_XML_ERROR_TOO_BIG,
    0,
    { START },
    NULL,
    0,
    0,
    build_bare_entity_declaration },
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

/* ---- the tree and its serialisation ------------------------------------ */

typedef struct
{
  const char *text;
  const char *escaped;
} EscapeCase;

static void
test_escape (void)
{
  static const EscapeCase cases[] = {
    { "", "" },
    { "plain text", "plain text" },
    { "<>&'\"", "&lt;&gt;&amp;&apos;&quot;" },
    { "&amp;", "&amp;amp;" },
    { "caf\xc3\xa9 ]]>", "caf\xc3\xa9 ]]&gt;" },
    { "a\r\nb\tc", "a&#13;\nb\tc" }, /* a raw CR would be read as LF */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = pts_xml_escape (cases[i].text);
      g_assert_cmpstr (escaped, ==, cases[i].escaped);
    }
}

static void
test_write_namespaces (void)
{
  static const char expected[]
      = "<iq xmlns='jabber:client' type='set' to='a&amp;b&apos;c&quot;&lt;d&gt;'>"
        "<query xmlns='http://jabber.org/protocol/bytestreams' sid='s1'>"
        "<streamhost jid='proxy.example.com'/>"
        "<x xmlns='http://oneteam.im/bs-proxy'/>"
        "<activate>t@example.org/R &amp; &lt;co&gt;</activate>"
        "</query></iq>";
  /* The same, inside a client or component stream. */
  static const char expected_in_client[]
      = "<iq type='set' to='a&amp;b&apos;c&quot;&lt;d&gt;'>"
        "<query xmlns='http://jabber.org/protocol/bytestreams' sid='s1'>"
        "<streamhost jid='proxy.example.com'/>"
        "<x xmlns='http://oneteam.im/bs-proxy'/>"
        "<activate>t@example.org/R &amp; &lt;co&gt;</activate>"
        "</query></iq>";
  g_autoptr (PtsNode) iq = pts_node_new ("iq", "jabber:client");
  g_autoptr (PtsNode) parsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *in_client = NULL;
  g_autofree char *in_component = NULL;
  g_autofree char *in_other = NULL;
  g_autofree char *again = NULL;
  PtsNode *query, *host, *activate;

  g_test_summary ("xmlns is written only where the namespace changes; attribute values and "
                  "text are escaped; parsing the output gives the same tree back.");

  pts_node_set_attr (iq, "type", "set");
  pts_node_set_attr (iq, "to", "a&b'c\"<d>");
  query = pts_node_add_child (iq, "query", "http://jabber.org/protocol/bytestreams");
  pts_node_set_attr (query, "sid", "s1");
  host = pts_node_add_child (query, "streamhost", NULL);
  pts_node_set_attr (host, "jid", "proxy.example.com");
  pts_node_add_child (query, "x", "http://oneteam.im/bs-proxy");
  activate = pts_node_add_child (query, "activate", NULL);
  pts_node_set_text (activate, "t@example.org/R & <co>");

  xml = pts_node_to_string (iq, NULL);
  g_assert_cmpstr (xml, ==, expected);

  /* Client and component stanzas are interchangeable (XEP-0114). */
  in_client = pts_node_to_string (iq, "jabber:client");
  in_component = pts_node_to_string (iq, "jabber:component:accept");
  in_other = pts_node_to_string (iq, "jabber:server");
  g_assert_cmpstr (in_client, ==, expected_in_client);
  g_assert_cmpstr (in_component, ==, in_client);
  g_assert_cmpstr (in_other, ==, expected);

  parsed = pts_node_parse (expected, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->name, ==, "iq");
  g_assert_cmpstr (parsed->ns, ==, "jabber:client");
  g_assert_cmpstr (pts_node_get_attr (parsed, "to"), ==, "a&b'c\"<d>");
  g_assert_cmpstr (
      pts_node_get_text (pts_node_get_child (
          pts_node_get_child (parsed, "query", "http://jabber.org/protocol/bytestreams"),
          "activate", NULL)),
      ==, "t@example.org/R & <co>");
  again = pts_node_to_string (parsed, NULL);
  g_assert_cmpstr (again, ==, expected);
}

static void
test_write_stream_namespace (void)
{
  static const char expected[]
      = "<stream:features>"
        "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
        "</mechanisms>"
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        "<ver xmlns='jabber:client'/>"
        "</stream:features>";
  static const char expected_in_client[]
      = "<stream:features>"
        "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
        "</mechanisms>"
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        "<ver/>"
        "</stream:features>";
  g_autoptr (PtsNode) features = pts_node_new ("features", PTS_NS_STREAMS);
  g_autoptr (PtsNode) parsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *in_client = NULL;
  g_autofree char *again = NULL;
  PtsNode *mechanisms;

  g_test_summary ("Elements in the streams namespace get the stream: prefix and no xmlns; "
                  "their children are written against the stream's default namespace.");

  mechanisms = pts_node_add_child (features, "mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl");
  pts_node_set_text (pts_node_add_child (mechanisms, "mechanism", NULL), "PLAIN");
  pts_node_add_child (features, "bind", "urn:ietf:params:xml:ns:xmpp-bind");
  pts_node_add_child (features, "ver", "jabber:client");

  xml = pts_node_to_string (features, NULL);
  g_assert_cmpstr (xml, ==, expected);
  in_client = pts_node_to_string (features, "jabber:client");
  g_assert_cmpstr (in_client, ==, expected_in_client);

  parsed = parse_in_stream (expected, &error);
  g_assert_no_error (error);
  g_assert_true (pts_node_is (parsed, "features", PTS_NS_STREAMS));
  g_assert_true (pts_node_is (pts_node_get_child (parsed, "ver", NULL), "ver", "jabber:client"));
  again = pts_node_to_string (parsed, NULL);
  g_assert_cmpstr (again, ==, expected);
}

static void
test_write_empty_namespace (void)
{
  static const char expected[] = "<message xmlns='jabber:client'><x xmlns=''><y/></x></message>";
  g_autoptr (PtsNode) message = pts_node_new ("message", "jabber:client");
  g_autoptr (PtsNode) parsed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = NULL;
  PtsNode *x;

  g_test_summary ("A child in no namespace under a namespaced parent is written with "
                  "xmlns='', so that it does not inherit the parent's namespace when read back.");

  x = pts_node_insert (message, pts_node_new ("x", NULL));
  pts_node_insert (x, pts_node_new ("y", NULL));
  xml = pts_node_to_string (message, NULL);
  g_assert_cmpstr (xml, ==, expected);

  parsed = pts_node_parse (expected, &error);
  g_assert_no_error (error);
  x = pts_node_get_child (parsed, "x", NULL);
  g_assert_nonnull (x);
  g_assert_null (x->ns);
  g_assert_null (pts_node_get_child (x, "y", NULL)->ns);
}

typedef struct
{
  const char *xml;
  gint error;
  const char *written; /* on success, pts_node_to_string (node, NULL) */
} NodeParseCase;

static void
test_node_parse (void)
{
  static const NodeParseCase cases[] = {
    { "<a/>", NO_ERROR, "<a/>" },
    { "<a xmlns='urn:x' b='1'><c>t</c></a>", NO_ERROR, "<a xmlns='urn:x' b='1'><c>t</c></a>" },
    { " <a/> ", NO_ERROR, "<a/>" },
    { "<a/><b/>", NO_ERROR, "<a/>" }, /* the first element only */
    { "", PTS_XML_ERROR_MALFORMED, NULL },
    { "text only", PTS_XML_ERROR_MALFORMED, NULL },
    { "<a>", PTS_XML_ERROR_MALFORMED, NULL },
    { "<a></b>", PTS_XML_ERROR_MALFORMED, NULL },
    { "<x:a/>", PTS_XML_ERROR_BAD_NAMESPACE, NULL },
    { "<a><?pi x?></a>", PTS_XML_ERROR_FORBIDDEN, NULL },
    { "<a>\xff</a>", PTS_XML_ERROR_MALFORMED, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const NodeParseCase *c = &cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (PtsNode) node = NULL;
      g_autofree char *quoted = g_strescape (c->xml, NULL);

      g_test_message ("pts_node_parse (\"%s\")", quoted);
      node = pts_node_parse (c->xml, &error);
      if (c->error == NO_ERROR)
        {
          g_autofree char *written = NULL;

          g_assert_no_error (error);
          written = pts_node_to_string (node, NULL);
          g_assert_cmpstr (written, ==, c->written);
        }
      else
        {
          g_assert_error (error, PTS_XML_ERROR, c->error);
          g_assert_null (node);
        }
    }
}

static void
test_node_api (void)
{
  g_autoptr (PtsNode) iq = pts_node_new ("iq", "jabber:client");
  g_autoptr (PtsNode) copy = NULL;
  g_autofree char *original_xml = NULL;
  g_autofree char *copy_xml = NULL;
  PtsNode *query;

  pts_node_set_attr (iq, "type", "get");
  pts_node_set_attr (iq, "id", "1");
  pts_node_set_attr (iq, "type", "set"); /* replaces */
  pts_node_set_attr (iq, "to", NULL);    /* absent: no-op */
  g_assert_cmpstr (pts_node_get_attr (iq, "type"), ==, "set");
  g_assert_cmpuint (iq->attrs->len, ==, 4);
  pts_node_set_attr (iq, "id", NULL); /* removes */
  g_assert_null (pts_node_get_attr (iq, "id"));
  pts_node_set_attr (iq, "id", "2");
  pts_node_remove_attr (iq, "id");
  pts_node_remove_attr (iq, "missing");
  g_assert_null (pts_node_get_attr (iq, "id"));
  g_assert_cmpuint (iq->attrs->len, ==, 2);

  query = pts_node_add_child (iq, "query", "urn:q");
  g_assert_true (query->parent == iq);
  pts_node_add_child (query, "item", NULL);
  g_assert_cmpstr (pts_node_get_child (query, "item", NULL)->ns, ==, "urn:q");
  g_assert_true (pts_node_get_child (iq, NULL, "urn:q") == query);
  g_assert_true (pts_node_get_child (iq, "query", NULL) == query);
  g_assert_null (pts_node_get_child (iq, "query", "urn:other"));
  g_assert_true (pts_node_is (query, "query", "urn:q"));
  g_assert_false (pts_node_is (query, "query", "urn:other"));
  g_assert_false (pts_node_is (NULL, NULL, NULL));

  pts_node_set_text (query, "t");
  g_assert_cmpstr (pts_node_get_text (query), ==, "t");
  pts_node_set_text (query, NULL);
  g_assert_null (pts_node_get_text (query));
  pts_node_set_text (query, "u");

  copy = pts_node_copy (iq);
  original_xml = pts_node_to_string (iq, NULL);
  copy_xml = pts_node_to_string (copy, NULL);
  g_assert_cmpstr (copy_xml, ==, original_xml);
  g_assert_cmpstr (copy_xml, ==,
                   "<iq xmlns='jabber:client' type='set'><query xmlns='urn:q'>u"
                   "<item/></query></iq>");
  g_assert_true (pts_node_get_child (copy, "query", NULL)->parent == copy);
  pts_node_free (NULL);
}

/* ---- main -------------------------------------------------------------- */

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  PTS_SPLIT_ADD_TABLE ("/server/xml", "valid", valid_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "malformed", malformed_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "forbidden", forbidden_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "limits", limit_cases, test_stream_case);
  PTS_SPLIT_ADD_TABLE ("/server/xml", "restart", restart_cases, test_stream_case);
  g_test_add_func ("/server/xml/limits/keepalives", test_keepalives);
  g_test_add_func ("/server/xml/parser/failed-stays-failed", test_failed_stays_failed);
  g_test_add_func ("/server/xml/parser/no-callbacks", test_no_callbacks);
  g_test_add_func ("/server/xml/parser/free-mid-stanza", test_free_mid_stanza);

  g_test_add_func ("/server/xml/write/escape", test_escape);
  g_test_add_func ("/server/xml/write/namespaces", test_write_namespaces);
  g_test_add_func ("/server/xml/write/stream-namespace", test_write_stream_namespace);
  g_test_add_func ("/server/xml/write/empty-namespace", test_write_empty_namespace);
  g_test_add_func ("/server/xml/node/parse", test_node_parse);
  g_test_add_func ("/server/xml/node/api", test_node_api);

  return g_test_run ();
}
