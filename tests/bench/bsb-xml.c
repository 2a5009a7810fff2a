/* bsb-xml.c — just enough XML to drive an XMPP stream from a benchmark
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsb-xml.h"

static gboolean
bsb_xml_is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static gboolean
bsb_xml_is_name_end (char c)
{
  return c == '\0' || c == '>' || c == '/' || bsb_xml_is_space (c);
}

/* The end of the markup that starts at @buf[i] == '<': the index just past
 * its '>', 0 if it is incomplete. *@kind: '?', '!', '/' (end tag), 'e'
 * (empty element), 's' (start tag). */
static gsize
bsb_xml_markup_end (const char *buf, gsize len, gsize i, char *kind)
{
  char quote = 0;
  gsize j;

  if (i + 1 >= len)
    return 0;
  if (buf[i + 1] == '?' || buf[i + 1] == '!')
    {
      const char *close = buf[i + 1] == '?'                    ? "?>"
                          : (i + 3 < len && buf[i + 2] == '-') ? "-->"
                                                               : ">";
      const char *end = g_strstr_len (buf + i + 2, len - i - 2, close);
      *kind = buf[i + 1];
      return end ? (gsize) (end - buf) + strlen (close) : 0;
    }
  for (j = i + 1; j < len; j++)
    {
      char c = buf[j];
      if (quote != 0)
        {
          if (c == quote)
            quote = 0;
        }
      else if (c == '"' || c == '\'')
        quote = c;
      else if (c == '>')
        {
          if (buf[i + 1] == '/')
            *kind = '/';
          else if (buf[j - 1] == '/')
            *kind = 'e';
          else
            *kind = 's';
          return j + 1;
        }
    }
  return 0;
}

gssize
bsb_xml_stream_header_len (const char *buf, gsize len)
{
  gsize i = 0;

  for (;;)
    {
      gsize end;
      char kind = 0;

      while (i < len && bsb_xml_is_space (buf[i]))
        i++;
      if (i >= len)
        return 0;
      if (buf[i] != '<')
        return -1;
      end = bsb_xml_markup_end (buf, len, i, &kind);
      if (end == 0)
        return 0;
      if (kind == 's')
        {
          g_autofree char *name = bsb_xml_name (buf + i);
          return g_strcmp0 (name, "stream") == 0 ? (gssize) end : -1;
        }
      if (kind != '?' && kind != '!')
        return -1;
      i = end;
    }
}

gssize
bsb_xml_element_len (const char *buf, gsize len, gsize *skip)
{
  gsize i = 0;
  int depth = 0;

  while (i < len && bsb_xml_is_space (buf[i]))
    i++;
  *skip = i;
  while (i < len)
    {
      gsize end;
      char kind = 0;

      if (buf[i] != '<')
        {
          if (depth == 0)
            return -1; /* text between stanzas */
          i++;
          continue;
        }
      end = bsb_xml_markup_end (buf, len, i, &kind);
      if (end == 0)
        return 0;
      switch (kind)
        {
        case 's': depth++; break;
        case '/':
          if (depth == 0)
            return -1; /* </stream:stream> */
          depth--;
          break;
        default: break;
        }
      i = end;
      if (depth == 0 && (kind == 's' || kind == '/' || kind == 'e'))
        return (gssize) (i - *skip);
    }
  return 0;
}

char *
bsb_xml_name (const char *elem)
{
  const char *start, *p, *colon = NULL;

  if (elem == NULL || *elem != '<')
    return NULL;
  start = elem + 1;
  for (p = start; !bsb_xml_is_name_end (*p); p++)
    if (*p == ':')
      colon = p;
  if (colon != NULL)
    start = colon + 1;
  return g_strndup (start, p - start);
}

const char *
bsb_xml_find (const char *xml, const char *name)
{
  gsize nlen = strlen (name);

  for (const char *p = strchr (xml, '<'); p != NULL; p = strchr (p + 1, '<'))
    {
      const char *q = p + 1;
      const char *local = q;

      if (*q == '/' || *q == '?' || *q == '!')
        continue;
      for (; !bsb_xml_is_name_end (*q); q++)
        if (*q == ':')
          local = q + 1;
      if ((gsize) (q - local) == nlen && memcmp (local, name, nlen) == 0)
        return p;
    }
  return NULL;
}

static char *
bsb_xml_unescape (const char *text, gsize len)
{
  GString *out = g_string_sized_new (len);
  static const struct
  {
    const char *entity;
    char c;
  } entities[] = {
    { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' }
  };

  for (gsize i = 0; i < len; i++)
    {
      gboolean done = FALSE;
      if (text[i] == '&')
        for (gsize k = 0; k < G_N_ELEMENTS (entities) && !done; k++)
          {
            gsize elen = strlen (entities[k].entity);
            if (len - i >= elen && memcmp (text + i, entities[k].entity, elen) == 0)
              {
                g_string_append_c (out, entities[k].c);
                i += elen - 1;
                done = TRUE;
              }
          }
      if (!done)
        g_string_append_c (out, text[i]);
    }
  return g_string_free (out, FALSE);
}

char *
bsb_xml_attr (const char *elem, const char *attr)
{
  const char *p;
  gsize alen = strlen (attr);

  if (elem == NULL || *elem != '<')
    return NULL;
  for (p = elem + 1; !bsb_xml_is_name_end (*p); p++)
    ;
  for (;;)
    {
      const char *name, *eq, *value;
      char quote;

      while (bsb_xml_is_space (*p))
        p++;
      if (*p == '\0' || *p == '>' || *p == '/')
        return NULL;
      name = p;
      while (*p != '\0' && *p != '=' && !bsb_xml_is_space (*p) && *p != '>')
        p++;
      eq = p;
      while (bsb_xml_is_space (*p))
        p++;
      if (*p != '=')
        return NULL;
      p++;
      while (bsb_xml_is_space (*p))
        p++;
      quote = *p;
      if (quote != '\'' && quote != '"')
        return NULL;
      value = ++p;
      while (*p != '\0' && *p != quote)
        p++;
      if (*p == '\0')
        return NULL;
      if ((gsize) (eq - name) == alen && memcmp (name, attr, alen) == 0)
        return bsb_xml_unescape (value, p - value);
      p++;
    }
}

char *
bsb_xml_text (const char *elem)
{
  char kind = 0;
  gsize len = strlen (elem);
  gsize end = bsb_xml_markup_end (elem, len, 0, &kind);
  const char *close;

  if (end == 0 || kind != 's')
    return NULL;
  close = strchr (elem + end, '<');
  if (close == NULL)
    return NULL;
  return bsb_xml_unescape (elem + end, close - (elem + end));
}

char *
bsb_xml_escape (const char *text)
{
  return g_markup_escape_text (text, -1);
}
