/* bsp-protocol.c — SIDHASH and JID rules shared by the plugin and the proxy
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-protocol.h"

/* Splits @jid into its node, domain and resource, without copying.
 * Any output may be NULL. Returns FALSE when the JID is syntactically
 * unusable: empty domain, empty node or resource after a separator,
 * or an '@' inside the domain part. */
static gboolean
bsp_jid_split (const char *jid, const char **node, gsize *node_len, const char **domain,
               gsize *domain_len, const char **resource)
{
  const char *slash, *at, *dom;

  if (jid == NULL || *jid == '\0' || !g_utf8_validate (jid, -1, NULL))
    return FALSE;

  slash = strchr (jid, '/');
  at = memchr (jid, '@', slash ? (gsize) (slash - jid) : strlen (jid));
  dom = at ? at + 1 : jid;

  if (at == jid)
    return FALSE;
  if (slash == dom || (slash == NULL && *dom == '\0'))
    return FALSE;
  if (slash != NULL && slash[1] == '\0')
    return FALSE;
  if (at != NULL && memchr (dom, '@', slash ? (gsize) (slash - dom) : strlen (dom)) != NULL)
    return FALSE;

  if (node != NULL)
    *node = at ? jid : NULL;
  if (node_len != NULL)
    *node_len = at ? (gsize) (at - jid) : 0;
  if (domain != NULL)
    *domain = dom;
  if (domain_len != NULL)
    *domain_len = slash ? (gsize) (slash - dom) : strlen (dom);
  if (resource != NULL)
    *resource = slash ? slash + 1 : NULL;
  return TRUE;
}

gboolean
bsp_jid_is_valid (const char *jid)
{
  return bsp_jid_split (jid, NULL, NULL, NULL, NULL, NULL);
}

gboolean
bsp_jid_is_full (const char *jid)
{
  const char *resource = NULL;

  return bsp_jid_split (jid, NULL, NULL, NULL, NULL, &resource) && resource != NULL;
}

/* Node and domain lower-cased, resource unchanged (PROTOCOL.md §1).
 * Returns NULL for an invalid JID. */
char *
bsp_jid_normalize (const char *jid)
{
  const char *node, *domain, *resource;
  gsize node_len, domain_len;
  GString *out;

  if (!bsp_jid_split (jid, &node, &node_len, &domain, &domain_len, &resource))
    return NULL;

  out = g_string_new (NULL);
  if (node != NULL)
    {
      g_autofree char *lower = g_utf8_strdown (node, node_len);
      g_string_append (out, lower);
      g_string_append_c (out, '@');
    }
  {
    g_autofree char *lower = g_utf8_strdown (domain, domain_len);
    g_string_append (out, lower);
  }
  if (resource != NULL)
    {
      g_string_append_c (out, '/');
      g_string_append (out, resource);
    }
  return g_string_free (out, FALSE);
}

/* The normalised bare JID (node@domain or domain), or NULL. */
char *
bsp_jid_bare (const char *jid)
{
  g_autofree char *norm = bsp_jid_normalize (jid);
  char *slash;

  if (norm == NULL)
    return NULL;
  slash = strchr (norm, '/');
  if (slash != NULL)
    *slash = '\0';
  return g_strdup (norm);
}

/* The normalised domain part, or NULL. */
char *
bsp_jid_domain (const char *jid)
{
  const char *domain;
  gsize domain_len;

  if (!bsp_jid_split (jid, NULL, NULL, &domain, &domain_len, NULL))
    return NULL;
  return g_utf8_strdown (domain, domain_len);
}

/* SIDHASH = lowercase hex SHA1 (SID + I + T), with both JIDs normalised.
 * Returns NULL when either JID is invalid. */
char *
bsp_sidhash (const char *sid, const char *initiator, const char *target)
{
  g_autofree char *i = bsp_jid_normalize (initiator);
  g_autofree char *t = bsp_jid_normalize (target);
  g_autoptr (GChecksum) sha = NULL;

  if (sid == NULL || i == NULL || t == NULL)
    return NULL;

  sha = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (sha, (const guchar *) sid, strlen (sid));
  g_checksum_update (sha, (const guchar *) i, strlen (i));
  g_checksum_update (sha, (const guchar *) t, strlen (t));
  return g_strdup (g_checksum_get_string (sha));
}

/* TRUE when @text is exactly 40 lowercase hex digits. */
gboolean
bsp_sidhash_is_valid (const char *text, gsize len)
{
  if (text == NULL || len != BSP_SIDHASH_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
      return FALSE;
  return TRUE;
}

char *
bsp_text_clean (const char *text, gsize max_chars)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_new (NULL);
  gsize n = 0;

  for (const char *p = valid; *p != '\0' && n < max_chars; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);

      if (type == G_UNICODE_CONTROL || type == G_UNICODE_FORMAT || type == G_UNICODE_LINE_SEPARATOR
          || type == G_UNICODE_PARAGRAPH_SEPARATOR || type == G_UNICODE_UNASSIGNED
          || type == G_UNICODE_PRIVATE_USE || type == G_UNICODE_SURROGATE)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_strstrip (g_string_free (out, FALSE));
}
