/* pts-stanza.c — builders for the stanzas the proxy and the hub answer with
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-protocol.h"
#include "pts-stanza.h"

PtsNode *
pts_stanza_iq_new (const char *type, const char *from, const char *to, const char *id)
{
  PtsNode *iq = pts_node_new ("iq", PTS_NS_CLIENT);

  pts_node_set_attr (iq, "type", type);
  pts_node_set_attr (iq, "id", id);
  pts_node_set_attr (iq, "from", from);
  pts_node_set_attr (iq, "to", to);
  return iq;
}

PtsNode *
pts_stanza_iq_result (const PtsNode *iq)
{
  return pts_stanza_iq_new ("result", pts_node_get_attr (iq, "to"), pts_node_get_attr (iq, "from"),
                            pts_node_get_attr (iq, "id"));
}

const char *
pts_stanza_error_type (const char *condition)
{
  static const struct
  {
    const char *condition, *type;
  } types[] = {
    { "bad-request", "modify" },
    { "jid-malformed", "modify" },
    { "not-acceptable", "modify" },
    { "policy-violation", "modify" },
    { "forbidden", "auth" },
    { "not-authorized", "auth" },
    { "resource-constraint", "wait" },
    { "internal-server-error", "cancel" },
    { "remote-server-timeout", "wait" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    if (strcmp (types[i].condition, condition) == 0)
      return types[i].type;
  return "cancel";
}

PtsNode *
pts_stanza_error (const PtsNode *stanza, const char *condition, const char *text)
{
  PtsNode *reply = pts_node_new (stanza->name, stanza->ns);
  PtsNode *error;

  pts_node_set_attr (reply, "type", "error");
  pts_node_set_attr (reply, "id", pts_node_get_attr (stanza, "id"));
  pts_node_set_attr (reply, "from", pts_node_get_attr (stanza, "to"));
  pts_node_set_attr (reply, "to", pts_node_get_attr (stanza, "from"));
  error = pts_node_add_child (reply, "error", NULL);
  pts_node_set_attr (error, "type", pts_stanza_error_type (condition));
  pts_node_add_child (error, condition, BSP_NS_STANZAS);
  if (text != NULL)
    pts_node_set_text (pts_node_add_child (error, "text", BSP_NS_STANZAS), text);
  return reply;
}
