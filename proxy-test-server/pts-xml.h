/* pts-xml.h — a small stanza tree and an incremental, hardened XMPP stream parser
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PTS_NS_STREAMS "http://etherx.jabber.org/streams"

typedef struct _PtsNode PtsNode;
struct _PtsNode
{
  char *name;          /* local name, without prefix */
  char *ns;            /* resolved namespace URI, or NULL */
  GPtrArray *attrs;    /* alternating name, value (owned strings); never xmlns */
  GPtrArray *children; /* PtsNode *, owned */
  GString *text;       /* character data directly inside, or NULL */
  PtsNode *parent;
};

PtsNode *pts_node_new (const char *name, const char *ns);
void pts_node_free (PtsNode *node);
PtsNode *pts_node_copy (const PtsNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsNode, pts_node_free)

const char *pts_node_get_attr (const PtsNode *node, const char *name);
void pts_node_set_attr (PtsNode *node, const char *name, const char *value);
void pts_node_remove_attr (PtsNode *node, const char *name);
/* Takes ownership of @child and returns it. */
PtsNode *pts_node_insert (PtsNode *parent, PtsNode *child);
/* A new child; @ns NULL means the parent's namespace. */
PtsNode *pts_node_add_child (PtsNode *parent, const char *name, const char *ns);
/* First child with that name (NULL = any) in that namespace (NULL = any). */
PtsNode *pts_node_get_child (const PtsNode *node, const char *name, const char *ns);
void pts_node_set_text (PtsNode *node, const char *text);
const char *pts_node_get_text (const PtsNode *node);
gboolean pts_node_is (const PtsNode *node, const char *name, const char *ns);

/* Appends the XML of @node to @out; the xmlns attribute is written only where
 * the namespace differs from @parent_ns. Elements in PTS_NS_STREAMS get the
 * "stream:" prefix. */
void pts_node_write (const PtsNode *node, const char *parent_ns, GString *out);
char *pts_node_to_string (const PtsNode *node, const char *parent_ns);

/* Parses one literal element, for tests and builders; NULL on error. */
PtsNode *pts_node_parse (const char *xml, GError **error);

#define PTS_XML_ERROR (pts_xml_error_quark ())
GQuark pts_xml_error_quark (void);

typedef enum
{
  PTS_XML_ERROR_MALFORMED,     /* not well-formed, or invalid UTF-8 */
  PTS_XML_ERROR_FORBIDDEN,     /* DTD, entity declaration, processing instruction */
  PTS_XML_ERROR_TOO_BIG,       /* a stanza over the size limit */
  PTS_XML_ERROR_TOO_DEEP,      /* nesting over the depth limit */
  PTS_XML_ERROR_BAD_NAMESPACE, /* an undeclared prefix */
} PtsXmlError;

typedef struct
{
  /* The stream header: @root holds its attributes; borrowed for the call. */
  void (*stream_start) (gpointer user_data, const PtsNode *root);
  /* A complete depth-1 element; ownership passes to the callee. */
  void (*stanza) (gpointer user_data, PtsNode *stanza);
  /* The stream's closing tag. */
  void (*stream_end) (gpointer user_data);
} PtsXmlCallbacks;

typedef struct _PtsXmlParser PtsXmlParser;

PtsXmlParser *pts_xml_parser_new (const PtsXmlCallbacks *callbacks, gpointer user_data,
                                  gsize max_stanza_bytes, guint max_depth);
void pts_xml_parser_free (PtsXmlParser *parser);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsXmlParser, pts_xml_parser_free)

/* Feeds bytes as they arrive from the network, in any split. Callbacks run
 * from inside. Returns FALSE with @error set once the stream is unusable;
 * further calls then fail too. */
gboolean pts_xml_parser_feed (PtsXmlParser *parser, const char *data, gsize len, GError **error);
/* Asks for a fresh document from the next byte on (XMPP stream restart after
 * SASL); safe to call from a callback. */
void pts_xml_parser_restart (PtsXmlParser *parser);

char *pts_xml_escape (const char *text);

G_END_DECLS
