/* pts-xml.c — a small stanza tree and an incremental, hardened XMPP stream parser
 *
 * The tokenizer is GMarkup: it is incremental, validates UTF-8, knows only the
 * five predefined entities and character references, and never reads a DTD.
 * On top of it this file resolves namespaces, refuses DTDs and processing
 * instructions, caps stanza size and nesting depth, and hands out one tree per
 * depth-1 element.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-xml.h"

G_DEFINE_QUARK (pts - xml - error - quark, pts_xml_error)

/* ---- the tree ---------------------------------------------------------- */

PtsNode *
pts_node_new (const char *name, const char *ns)
{
  PtsNode *node = g_new0 (PtsNode, 1);

  node->name = g_strdup (name);
  node->ns = g_strdup (ns);
  node->attrs = g_ptr_array_new_with_free_func (g_free);
  node->children = g_ptr_array_new_with_free_func ((GDestroyNotify) pts_node_free);
  return node;
}

void
pts_node_free (PtsNode *node)
{
  if (node == NULL)
    return;
  g_free (node->name);
  g_free (node->ns);
  g_ptr_array_unref (node->attrs);
  g_ptr_array_unref (node->children);
  if (node->text != NULL)
    g_string_free (node->text, TRUE);
  g_free (node);
}

PtsNode *
pts_node_copy (const PtsNode *node)
{
  PtsNode *copy = pts_node_new (node->name, node->ns);

  for (guint i = 0; i < node->attrs->len; i++)
    g_ptr_array_add (copy->attrs, g_strdup (node->attrs->pdata[i]));
  for (guint i = 0; i < node->children->len; i++)
    pts_node_insert (copy, pts_node_copy (node->children->pdata[i]));
  if (node->text != NULL)
    copy->text = g_string_new_len (node->text->str, node->text->len);
  return copy;
}

const char *
pts_node_get_attr (const PtsNode *node, const char *name)
{
  for (guint i = 0; i + 1 < node->attrs->len; i += 2)
    if (strcmp (node->attrs->pdata[i], name) == 0)
      return node->attrs->pdata[i + 1];
  return NULL;
}

void
pts_node_remove_attr (PtsNode *node, const char *name)
{
  for (guint i = 0; i + 1 < node->attrs->len; i += 2)
    if (strcmp (node->attrs->pdata[i], name) == 0)
      {
        g_ptr_array_remove_range (node->attrs, i, 2);
        return;
      }
}

void
pts_node_set_attr (PtsNode *node, const char *name, const char *value)
{
  for (guint i = 0; i + 1 < node->attrs->len; i += 2)
    if (strcmp (node->attrs->pdata[i], name) == 0)
      {
        if (value == NULL)
          {
            g_ptr_array_remove_range (node->attrs, i, 2);
            return;
          }
        g_free (node->attrs->pdata[i + 1]);
        node->attrs->pdata[i + 1] = g_strdup (value);
        return;
      }
  if (value == NULL)
    return;
  g_ptr_array_add (node->attrs, g_strdup (name));
  g_ptr_array_add (node->attrs, g_strdup (value));
}

PtsNode *
pts_node_insert (PtsNode *parent, PtsNode *child)
{
  child->parent = parent;
  g_ptr_array_add (parent->children, child);
  return child;
}

PtsNode *
pts_node_add_child (PtsNode *parent, const char *name, const char *ns)
{
  return pts_node_insert (parent, pts_node_new (name, ns ? ns : parent->ns));
}

gboolean
pts_node_is (const PtsNode *node, const char *name, const char *ns)
{
  return node != NULL && (name == NULL || g_strcmp0 (node->name, name) == 0)
         && (ns == NULL || g_strcmp0 (node->ns, ns) == 0);
}

PtsNode *
pts_node_get_child (const PtsNode *node, const char *name, const char *ns)
{
  for (guint i = 0; i < node->children->len; i++)
    {
      PtsNode *child = node->children->pdata[i];
      if (pts_node_is (child, name, ns))
        return child;
    }
  return NULL;
}

void
pts_node_set_text (PtsNode *node, const char *text)
{
  if (node->text != NULL)
    g_string_free (node->text, TRUE);
  node->text = text ? g_string_new (text) : NULL;
}

const char *
pts_node_get_text (const PtsNode *node)
{
  return node->text ? node->text->str : NULL;
}

/* A reader turns a raw CR into LF (XML §2.11), and in an attribute value
 * also LF and TAB into spaces (§3.3.3): those are written as references. */
static void
pts_xml_append_escaped (GString *out, const char *text, gsize len, gboolean attribute)
{
  for (gsize i = 0; i < len; i++)
    {
      switch (text[i])
        {
        case '&': g_string_append (out, "&amp;"); break;
        case '<': g_string_append (out, "&lt;"); break;
        case '>': g_string_append (out, "&gt;"); break;
        case '\'': g_string_append (out, "&apos;"); break;
        case '"': g_string_append (out, "&quot;"); break;
        case '\r': g_string_append (out, "&#13;"); break;
        case '\n': g_string_append (out, attribute ? "&#10;" : "\n"); break;
        case '\t': g_string_append (out, attribute ? "&#9;" : "\t"); break;
        default: g_string_append_c (out, text[i]); break;
        }
    }
}

char *
pts_xml_escape (const char *text)
{
  GString *out = g_string_new (NULL);

  pts_xml_append_escaped (out, text, strlen (text), FALSE);
  return g_string_free (out, FALSE);
}

/* Stanzas are the same in a client stream and a component stream (XEP-0114),
 * so a tree built for one is written unchanged into the other. */
static gboolean
pts_xml_ns_equal (const char *a, const char *b)
{
  static const char *const stanza_ns[] = { "jabber:client", "jabber:component:accept", NULL };

  if (g_strcmp0 (a, b) == 0)
    return TRUE;
  return a != NULL && b != NULL && g_strv_contains (stanza_ns, a) && g_strv_contains (stanza_ns, b);
}

void
pts_node_write (const PtsNode *node, const char *parent_ns, GString *out)
{
  gboolean stream_ns = g_strcmp0 (node->ns, PTS_NS_STREAMS) == 0;

  g_string_append_c (out, '<');
  if (stream_ns)
    g_string_append (out, "stream:");
  g_string_append (out, node->name);
  if (!stream_ns && node->ns != NULL && !pts_xml_ns_equal (node->ns, parent_ns))
    {
      g_string_append (out, " xmlns='");
      pts_xml_append_escaped (out, node->ns, strlen (node->ns), TRUE);
      g_string_append_c (out, '\'');
    }
  else if (!stream_ns && node->ns == NULL && parent_ns != NULL)
    g_string_append (out, " xmlns=''"); /* else it would inherit @parent_ns */
  for (guint i = 0; i + 1 < node->attrs->len; i += 2)
    {
      const char *value = node->attrs->pdata[i + 1];
      g_string_append_printf (out, " %s='", (const char *) node->attrs->pdata[i]);
      pts_xml_append_escaped (out, value, strlen (value), TRUE);
      g_string_append_c (out, '\'');
    }
  if (node->children->len == 0 && (node->text == NULL || node->text->len == 0))
    {
      g_string_append (out, "/>");
      return;
    }
  g_string_append_c (out, '>');
  if (node->text != NULL)
    pts_xml_append_escaped (out, node->text->str, node->text->len, FALSE);
  for (guint i = 0; i < node->children->len; i++)
    pts_node_write (node->children->pdata[i], stream_ns ? parent_ns : node->ns, out);
  g_string_append (out, "</");
  if (stream_ns)
    g_string_append (out, "stream:");
  g_string_append (out, node->name);
  g_string_append_c (out, '>');
}

char *
pts_node_to_string (const PtsNode *node, const char *parent_ns)
{
  GString *out = g_string_new (NULL);

  pts_node_write (node, parent_ns, out);
  return g_string_free (out, FALSE);
}

/* ---- the parser -------------------------------------------------------- */

typedef struct
{
  char *default_ns;
  GPtrArray *prefixes; /* alternating prefix, uri; NULL when none declared */
} PtsXmlScope;

struct _PtsXmlParser
{
  PtsXmlCallbacks callbacks;
  gpointer user_data;
  gsize max_stanza_bytes;
  guint max_depth;

  GMarkupParseContext *context;
  GArray *scopes;   /* PtsXmlScope, one per open element */
  PtsNode *current; /* the stanza being built, at its innermost open element */
  PtsNode *stanza_root;
  gsize stanza_bytes;
  gboolean at_boundary;     /* a callback saw a stanza boundary in this slice */
  gboolean between_stanzas; /* nothing but whitespace since the last boundary */
  gboolean restart_pending;
  gboolean stream_ended;
  gboolean failed;
};

static void
pts_xml_scope_clear (gpointer data)
{
  PtsXmlScope *scope = data;

  g_free (scope->default_ns);
  if (scope->prefixes != NULL)
    g_ptr_array_unref (scope->prefixes);
}

/* The stream header, a stanza, or a comment or XML declaration outside any
 * stanza has just ended: what follows is a new unit for the size limit. */
static void
pts_xml_parser_mark_boundary (PtsXmlParser *self)
{
  self->at_boundary = TRUE;
}

static const char *
pts_xml_parser_lookup (PtsXmlParser *self, const char *prefix)
{
  if (g_strcmp0 (prefix, "xml") == 0)
    return "http://www.w3.org/XML/1998/namespace";
  for (guint i = self->scopes->len; i > 0; i--)
    {
      PtsXmlScope *scope = &g_array_index (self->scopes, PtsXmlScope, i - 1);
      if (prefix == NULL)
        {
          if (scope->default_ns != NULL)
            return *scope->default_ns ? scope->default_ns : NULL;
          continue;
        }
      if (scope->prefixes == NULL)
        continue;
      for (guint j = 0; j + 1 < scope->prefixes->len; j += 2)
        if (strcmp (scope->prefixes->pdata[j], prefix) == 0)
          {
            /* xmlns:p='' leaves p undeclared (illegal in Namespaces 1.0,
             * an undeclaration in 1.1); never a namespace "". */
            const char *uri = scope->prefixes->pdata[j + 1];
            return *uri ? uri : NULL;
          }
    }
  return NULL;
}

/* XML 1.0 §2.2: C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF,
 * are not characters, raw or as references; GMarkup lets them through, and
 * routing them would break the recipient's parser. */
static gboolean
pts_xml_check_chars (const char *text, gsize len, GError **error)
{
  const guchar *p = (const guchar *) text;

  for (gsize i = 0; i < len; i++)
    if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
        || (p[i] == 0xef && i + 2 < len && p[i + 1] == 0xbf && p[i + 2] >= 0xbe))
      {
        g_set_error_literal (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED,
                             "a character that XML does not allow");
        return FALSE;
      }
  return TRUE;
}

static void
pts_xml_start_element (GMarkupParseContext *context, const char *element_name,
                       const char **attribute_names, const char **attribute_values,
                       gpointer user_data, GError **error)
{
  PtsXmlParser *self = user_data;
  PtsXmlScope scope = { NULL, NULL };
  const char *colon, *local, *ns;
  g_autofree char *prefix = NULL;
  PtsNode *node;

  if (self->scopes->len >= self->max_depth)
    {
      g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_TOO_DEEP, "elements nested deeper than %u",
                   self->max_depth);
      return;
    }
  for (guint i = 0; attribute_values[i] != NULL; i++)
    if (!pts_xml_check_chars (attribute_values[i], strlen (attribute_values[i]), error))
      return;

  /* GMarkup lets a repeated attribute through; XML §3.1 does not, and two
   * readers could each take a different one. */
  if (attribute_names[0] != NULL && attribute_names[1] != NULL)
    {
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; attribute_names[i] != NULL; i++)
        if (!g_hash_table_add (seen, (gpointer) attribute_names[i]))
          {
            g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED, "attribute '%s' repeated",
                         attribute_names[i]);
            return;
          }
    }

  for (guint i = 0; attribute_names[i] != NULL; i++)
    {
      const char *name = attribute_names[i];
      if (strcmp (name, "xmlns") == 0)
        {
          g_free (scope.default_ns);
          scope.default_ns = g_strdup (attribute_values[i]);
        }
      else if (g_str_has_prefix (name, "xmlns:") && name[6] != '\0')
        {
          if (scope.prefixes == NULL)
            scope.prefixes = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (scope.prefixes, g_strdup (name + 6));
          g_ptr_array_add (scope.prefixes, g_strdup (attribute_values[i]));
        }
    }
  g_array_append_val (self->scopes, scope);

  colon = strchr (element_name, ':');
  if (colon != NULL)
    {
      prefix = g_strndup (element_name, colon - element_name);
      local = colon + 1;
      /* A qualified name is prefix:local, both names (Namespaces in XML
       * §4): "a:b:c" would be written back as prefix "a:b", "a:1" as the
       * invalid name "1". GMarkup checked the rest of the characters. */
      if (colon == element_name || strchr (local, ':') != NULL
          || !(g_unichar_isalpha (g_utf8_get_char (local)) || *local == '_'))
        {
          g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_BAD_NAMESPACE,
                       "'%s' is not a qualified name", element_name);
          return;
        }
    }
  else
    local = element_name;
  ns = pts_xml_parser_lookup (self, prefix);
  if (prefix != NULL && ns == NULL)
    {
      g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_BAD_NAMESPACE,
                   "undeclared namespace prefix '%s'", prefix);
      return;
    }

  node = pts_node_new (local, ns);
  for (guint i = 0; attribute_names[i] != NULL; i++)
    {
      const char *name = attribute_names[i];
      if (strcmp (name, "xmlns") == 0 || g_str_has_prefix (name, "xmlns:"))
        continue;
      g_ptr_array_add (node->attrs, g_strdup (name));
      g_ptr_array_add (node->attrs, g_strdup (attribute_values[i]));
    }

  if (self->scopes->len == 1)
    {
      /* The stream header. */
      if (self->callbacks.stream_start != NULL)
        self->callbacks.stream_start (self->user_data, node);
      pts_node_free (node);
      pts_xml_parser_mark_boundary (self);
      return;
    }

  if (self->current == NULL)
    self->stanza_root = node;
  else
    pts_node_insert (self->current, node);
  self->current = node;
}

static void
pts_xml_end_element (GMarkupParseContext *context, const char *element_name, gpointer user_data,
                     GError **error)
{
  PtsXmlParser *self = user_data;

  g_array_set_size (self->scopes, self->scopes->len - 1);

  if (self->scopes->len == 0)
    {
      self->stream_ended = TRUE;
      if (self->callbacks.stream_end != NULL)
        self->callbacks.stream_end (self->user_data);
      return;
    }

  if (self->current == NULL)
    return;
  self->current = self->current->parent;
  if (self->current == NULL)
    {
      PtsNode *stanza = g_steal_pointer (&self->stanza_root);
      pts_xml_parser_mark_boundary (self);
      if (self->callbacks.stanza != NULL)
        self->callbacks.stanza (self->user_data, stanza);
      else
        pts_node_free (stanza);
    }
}

static void
pts_xml_text (GMarkupParseContext *context, const char *text, gsize text_len, gpointer user_data,
              GError **error)
{
  PtsXmlParser *self = user_data;

  if (!pts_xml_check_chars (text, text_len, error))
    return;
  if (self->current == NULL)
    return; /* whitespace keepalives between stanzas */
  if (self->current->text == NULL)
    self->current->text = g_string_sized_new (text_len);
  g_string_append_len (self->current->text, text, text_len);
}

static void
pts_xml_passthrough (GMarkupParseContext *context, const char *text, gsize text_len,
                     gpointer user_data, GError **error)
{
  PtsXmlParser *self = user_data;

  if (text_len >= 4 && memcmp (text, "<!--", 4) == 0)
    {
      /* comments carry nothing; drop them */
      if (self->current == NULL)
        pts_xml_parser_mark_boundary (self);
      return;
    }
  if (self->scopes->len == 0 && text_len >= 6 && memcmp (text, "<?xml", 5) == 0
      && g_ascii_isspace (text[5]))
    {
      /* the XML declaration */
      pts_xml_parser_mark_boundary (self);
      return;
    }
  g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_FORBIDDEN,
               "DTDs and processing instructions are not allowed in XMPP");
}

static const GMarkupParser pts_xml_markup_parser = {
  pts_xml_start_element, pts_xml_end_element, pts_xml_text, pts_xml_passthrough, NULL,
};

static void
pts_xml_parser_reset (PtsXmlParser *self)
{
  g_clear_pointer (&self->context, g_markup_parse_context_free);
  g_array_set_size (self->scopes, 0);
  g_clear_pointer (&self->stanza_root, pts_node_free);
  self->current = NULL;
  self->stanza_bytes = 0;
  self->at_boundary = FALSE;
  self->between_stanzas = TRUE;
  self->restart_pending = FALSE;
  self->stream_ended = FALSE;
  self->context = g_markup_parse_context_new (&pts_xml_markup_parser, G_MARKUP_TREAT_CDATA_AS_TEXT,
                                              self, NULL);
}

PtsXmlParser *
pts_xml_parser_new (const PtsXmlCallbacks *callbacks, gpointer user_data, gsize max_stanza_bytes,
                    guint max_depth)
{
  PtsXmlParser *self = g_new0 (PtsXmlParser, 1);

  self->callbacks = *callbacks;
  self->user_data = user_data;
  self->max_stanza_bytes = max_stanza_bytes;
  /* The stream element itself is one level. */
  self->max_depth = max_depth + 1;
  self->scopes = g_array_new (FALSE, TRUE, sizeof (PtsXmlScope));
  g_array_set_clear_func (self->scopes, pts_xml_scope_clear);
  pts_xml_parser_reset (self);
  return self;
}

void
pts_xml_parser_free (PtsXmlParser *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->context, g_markup_parse_context_free);
  g_clear_pointer (&self->stanza_root, pts_node_free);
  g_array_unref (self->scopes);
  g_free (self);
}

void
pts_xml_parser_restart (PtsXmlParser *self)
{
  self->restart_pending = TRUE;
}

static gboolean
pts_xml_parser_parse (PtsXmlParser *self, const char *data, gsize len, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (g_markup_parse_context_parse (self->context, data, len, &local_error))
    return TRUE;
  self->failed = TRUE;
  if (local_error->domain == PTS_XML_ERROR)
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED, "not well-formed: %s",
                 local_error->message);
  return FALSE;
}

gboolean
pts_xml_parser_feed (PtsXmlParser *self, const char *data, gsize len, GError **error)
{
  if (self->failed)
    {
      g_set_error_literal (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED,
                           "the stream already failed");
      return FALSE;
    }

  /* A restart asked for between two reads (a login answered later, from a
   * timer) takes effect before the next byte. */
  if (self->restart_pending)
    pts_xml_parser_reset (self);

  /* Feed up to and including each '>', so that a restart requested by a
   * callback takes effect at the exact byte, and so that the size of the
   * stanza in progress is known after every tag. */
  while (len > 0)
    {
      const char *gt;
      gsize slice;

      /* Whitespace between stanzas (keepalives, RFC 6120 §4.6.1) carries
       * nothing: it is neither counted nor left for GMarkup to buffer. */
      if (self->between_stanzas)
        {
          while (len > 0 && (*data == ' ' || *data == '\t' || *data == '\r' || *data == '\n'))
            {
              data++;
              len--;
            }
          if (len == 0)
            break;
          self->between_stanzas = FALSE;
        }

      gt = memchr (data, '>', len);
      slice = gt ? (gsize) (gt - data) + 1 : len;

      /* Everything since the last stanza boundary counts against the stanza
       * limit, checked before GMarkup buffers it. A '>' alone is no
       * boundary: it may sit in an attribute value, text or a comment. */
      self->stanza_bytes += slice;
      if (self->stanza_bytes > self->max_stanza_bytes)
        {
          /* GMarkup still gets the bytes up to the limit, so that the
           * outcome does not depend on where the input was split. */
          gsize fits = slice - (self->stanza_bytes - self->max_stanza_bytes);

          if (fits > 0 && !pts_xml_parser_parse (self, data, fits, error))
            return FALSE;
          self->failed = TRUE;
          g_set_error (error, PTS_XML_ERROR, PTS_XML_ERROR_TOO_BIG,
                       "stanza larger than %" G_GSIZE_FORMAT " bytes", self->max_stanza_bytes);
          return FALSE;
        }

      if (!pts_xml_parser_parse (self, data, slice, error))
        return FALSE;
      data += slice;
      len -= slice;
      /* A boundary counts once its tag is complete ("/>" may be split). */
      if (self->at_boundary && gt != NULL)
        {
          self->stanza_bytes = 0;
          self->between_stanzas = TRUE;
        }
      self->at_boundary = FALSE;

      /* After a restart or the stream's end, the next byte starts a new
       * document. */
      if (self->restart_pending || self->stream_ended)
        pts_xml_parser_reset (self);
    }
  return TRUE;
}

/* ---- one-shot parsing, for builders and tests -------------------------- */

typedef struct
{
  PtsNode *result;
} PtsXmlOneShot;

static void
pts_xml_one_shot_stanza (gpointer user_data, PtsNode *stanza)
{
  PtsXmlOneShot *one = user_data;

  if (one->result == NULL)
    one->result = stanza;
  else
    pts_node_free (stanza);
}

PtsNode *
pts_node_parse (const char *xml, GError **error)
{
  static const PtsXmlCallbacks callbacks = { NULL, pts_xml_one_shot_stanza, NULL };
  PtsXmlOneShot one = { NULL };
  g_autoptr (PtsXmlParser) parser = pts_xml_parser_new (&callbacks, &one, G_MAXSIZE, 64);
  g_autofree char *doc = g_strconcat ("<r>", xml, "</r>", NULL);

  if (!pts_xml_parser_feed (parser, doc, strlen (doc), error))
    {
      g_clear_pointer (&one.result, pts_node_free);
      return NULL;
    }
  if (one.result == NULL)
    g_set_error_literal (error, PTS_XML_ERROR, PTS_XML_ERROR_MALFORMED, "no element");
  return one.result;
}
