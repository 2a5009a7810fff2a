/* pts-component-link.c — what the component link reads from the server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-component-link.h"

char *
pts_component_handshake (const PtsNode *header, const char *secret, const char **why)
{
  const char *id = pts_node_get_attr (header, "id");
  g_autofree char *input = NULL;
  g_autofree char *digest = NULL;

  if (id == NULL || *id == '\0')
    {
      *why = "no stream id";
      return NULL;
    }
  if (strlen (id) > PTS_COMPONENT_MAX_ID)
    {
      *why = "a stream id that is too long";
      return NULL;
    }
  for (const char *p = id; *p != '\0'; p++)
    if (*p < 0x21 || *p > 0x7e)
      {
        *why = "a stream id with characters outside printable ASCII";
        return NULL;
      }
  input = g_strconcat (id, secret, NULL);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
  return g_strdup_printf ("<handshake>%s</handshake>", digest);
}

PtsComponentVerdict
pts_component_classify (const PtsNode *stanza, gboolean handshaken, const char *ping_id)
{
  const char *type;

  if (!handshaken)
    {
      if (pts_node_is (stanza, "handshake", NULL))
        return PTS_COMPONENT_ACCEPTED;
      if (pts_node_is (stanza, "error", PTS_NS_STREAMS))
        return PTS_COMPONENT_REFUSED;
      return PTS_COMPONENT_IGNORE;
    }
  if (pts_node_is (stanza, "iq", NULL))
    {
      type = pts_node_get_attr (stanza, "type");
      /* A result, or an error from a server without XEP-0199. */
      if (ping_id != NULL && g_strcmp0 (pts_node_get_attr (stanza, "id"), ping_id) == 0
          && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0))
        return PTS_COMPONENT_PING_ANSWER;
      return PTS_COMPONENT_DELIVER;
    }
  if (pts_node_is (stanza, "message", NULL) || pts_node_is (stanza, "presence", NULL))
    return PTS_COMPONENT_DELIVER;
  return PTS_COMPONENT_IGNORE;
}
