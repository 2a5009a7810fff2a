/* bsp-purple-driver-offer.c — streamhost offers as they come in: their
 * direct streamhosts dropped (--no-direct) or pointed elsewhere
 * (--direct-to), offers and bs-proxy <connect/>s timed (--timing), and
 * the moment libpurple knows its server's proxy (ft-proxy-ready)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-protocol.h"
#include "bsp-purple-driver.h"

/* --direct-to: the sender's own streamhosts of an offer point at HOST:PORT
 * instead (a closed port, a listener that never accepts, an address that
 * drops everything). */
static void
driver_redirect_direct_streamhosts (Driver *self, xmlnode *query)
{
  const char *colon = strrchr (self->direct_to, ':');
  g_autofree char *host = g_strndup (self->direct_to, colon - self->direct_to);

  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      const char *jid = xmlnode_get_attrib (sh, "jid");

      if (jid != NULL && strchr (jid, '@') != NULL)
        {
          xmlnode_set_attrib (sh, "host", host);
          xmlnode_set_attrib (sh, "port", colon + 1);
        }
    }
}

static void
driver_timing_event (const char *event)
{
  g_autoptr (JsonBuilder) builder = driver_event_begin (event);

  json_builder_set_member_name (builder, "ms");
  json_builder_add_int_value (builder, g_get_monotonic_time () / 1000);
  driver_event_emit (builder);
}

/* --timing: when the plugin sends a bs-proxy its <connect/>. */
static void
driver_sending_xmlnode_cb (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  xmlnode *iq = packet ? *packet : NULL;

  if (iq != NULL && g_strcmp0 (iq->name, "iq") == 0
      && xmlnode_get_child_with_namespace (iq, "connect", BSP_NS_BSPROXY) != NULL)
    driver_timing_event ("proxy-connect");
}

/* --no-direct: as if the peers sat behind two NATs, drop the streamhosts
 * of an offer that are the sender itself (a JID with a node), so that only
 * proxies remain. */
static void
driver_strip_direct_streamhosts (xmlnode *query)
{
  xmlnode *sh = xmlnode_get_child (query, "streamhost");

  while (sh != NULL)
    {
      xmlnode *next = xmlnode_get_next_twin (sh);
      const char *jid = xmlnode_get_attrib (sh, "jid");

      if (jid != NULL && strchr (jid, '@') != NULL)
        {
          /* unlink from the parent's child list, then free */
          xmlnode **link = &query->child;
          while (*link != NULL && *link != sh)
            link = &(*link)->next;
          if (*link == sh)
            {
              *link = sh->next;
              if (query->lastchild == sh)
                {
                  xmlnode *last = query->child;
                  while (last != NULL && last->next != NULL)
                    last = last->next;
                  query->lastchild = last;
                }
              sh->next = NULL;
              xmlnode_free (sh);
            }
        }
      sh = next;
    }
}

/* Once libpurple has the streamhost of its server's proxy (its own
 * bytestreams get, not the plugin's "bsp…" ids), an offer includes it. */
static void
driver_receiving_xmlnode_cb (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  Driver *self = user_data;
  xmlnode *iq = packet ? *packet : NULL;
  xmlnode *query;
  const char *id;

  if (iq == NULL || g_strcmp0 (iq->name, "iq") != 0)
    return;
  id = xmlnode_get_attrib (iq, "id");
  query = xmlnode_get_child_with_namespace (iq, "query", "http://jabber.org/protocol/bytestreams");
  if (query != NULL && g_strcmp0 (xmlnode_get_attrib (iq, "type"), "set") == 0
      && xmlnode_get_child (query, "streamhost") != NULL)
    {
      if (self->no_direct)
        driver_strip_direct_streamhosts (query);
      if (self->direct_to != NULL)
        driver_redirect_direct_streamhosts (self, query);
      if (self->timing)
        driver_timing_event ("streamhost-offer");
    }
  if (self->proxy_ready)
    return;
  if (query == NULL || xmlnode_get_child (query, "streamhost") == NULL
      || g_strcmp0 (xmlnode_get_attrib (iq, "type"), "result") != 0
      || (id != NULL && g_str_has_prefix (id, "bsp")))
    return;
  /* prpl-jabber handles this same stanza right after us: look again from
   * the main loop. */
  self->proxy_ready = TRUE;
  driver_event ("ft-proxy-ready", "account",
                purple_account_get_username (purple_connection_get_account (gc)), NULL);
  g_idle_add (driver_check_goal_idle, self);
}

void
driver_connect_offer_signals (Driver *self)
{
  PurplePlugin *jabber = purple_plugins_find_with_id (DRIVER_XMPP_PRPL);

  if (jabber != NULL)
    purple_signal_connect (jabber, "jabber-receiving-xmlnode", self,
                           PURPLE_CALLBACK (driver_receiving_xmlnode_cb), self);
  if (jabber != NULL && self->timing)
    purple_signal_connect (jabber, "jabber-sending-xmlnode", self,
                           PURPLE_CALLBACK (driver_sending_xmlnode_cb), self);
}
