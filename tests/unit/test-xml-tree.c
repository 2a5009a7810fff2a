/* test-xml-tree.c — the stanza tree and its serialisation: escaping,
 * namespaces written once where they change, parsing a node and the node
 * API. Part of the program test-xml (test-xml.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-split.h"
#include "test-xml.h"

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

void
test_xml_add_tree (void)
{
  g_test_add_func ("/server/xml/write/escape", test_escape);
  g_test_add_func ("/server/xml/write/namespaces", test_write_namespaces);
  g_test_add_func ("/server/xml/write/stream-namespace", test_write_stream_namespace);
  g_test_add_func ("/server/xml/write/empty-namespace", test_write_empty_namespace);
  g_test_add_func ("/server/xml/node/parse", test_node_parse);
  g_test_add_func ("/server/xml/node/api", test_node_api);
}
