/* pts-hub.c — the embedded XMPP server: enough c2s for real clients on one machine
 *
 * SASL PLAIN against the configured accounts, resource binding, sessions, a
 * roster in which every account sees every other with subscription both,
 * presence broadcast, routing by full and bare JID, disco for the domain (its
 * items list the proxy), XEP-0199 ping and whitespace keepalives. Stanzas for
 * the proxy's JID go to the proxy; the proxy's answers come back through
 * pts_hub_route().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-hub"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-hub-private.h"
#include "pts-listener.h"
#include "pts-stanza.h"

static void pts_hub_route (PtsHub *self, PtsNode *stanza);

/* ---- helpers ----------------------------------------------------------------- */

void
pts_client_send (PtsClient *client, const PtsNode *stanza)
{
  pts_xmpp_conn_send (client->conn, stanza, PTS_NS_CLIENT);
}

void
pts_client_send_take (PtsClient *client, PtsNode *stanza)
{
  pts_client_send (client, stanza);
  pts_node_free (stanza);
}

/* The available resources of @bare, best priority first. */
static GPtrArray *
pts_hub_resources_of (PtsHub *self, const char *bare, gboolean available_only)
{
  GPtrArray *out = g_ptr_array_new ();

  for (GList *l = self->clients; l != NULL; l = l->next)
    {
      PtsClient *c = l->data;
      if (c->state != PTS_CLIENT_BOUND || g_strcmp0 (c->bare, bare) != 0)
        continue;
      if (available_only && c->presence == NULL)
        continue;
      g_ptr_array_add (out, c);
    }
  return out;
}

static gboolean
pts_hub_is_account (PtsHub *self, const char *bare)
{
  g_autofree char *domain = bsp_jid_domain (bare);
  const char *at = strchr (bare, '@');
  g_autofree char *node = at ? g_strndup (bare, at - bare) : NULL;

  return node != NULL && g_strcmp0 (domain, self->config->domain) == 0
         && g_hash_table_contains (self->accounts, node);
}

/* ---- presence ----------------------------------------------------------------- */

static void
pts_hub_broadcast_presence (PtsHub *self, PtsClient *from, const PtsNode *presence)
{
  for (GList *l = self->clients; l != NULL; l = l->next)
    {
      PtsClient *c = l->data;
      g_autoptr (PtsNode) copy = NULL;
      gboolean available;

      /* Every account is in every roster, the sender's own other resources
       * included; a client gets its own presence back too (RFC 6121 §4.2.2). */
      available = c->state == PTS_CLIENT_BOUND && c->presence != NULL;
      if (!available && c != from)
        continue;
      copy = pts_node_copy (presence);
      pts_node_set_attr (copy, "from", from->full);
      pts_node_set_attr (copy, "to", c->full);
      pts_client_send (c, copy);
    }
}

static void
pts_client_presence (PtsClient *client, PtsNode *presence)
{
  g_autoptr (PtsNode) owned = presence; /* ownership passes in */
  PtsHub *self = client->hub;
  const char *type = pts_node_get_attr (presence, "type");
  const char *to = pts_node_get_attr (presence, "to");
  gboolean first;

  if (to != NULL)
    {
      /* Directed presence, and subscription traffic: everyone is already
       * subscribed both ways, so route it as it is. */
      pts_node_set_attr (presence, "from", client->full);
      pts_hub_route (self, g_steal_pointer (&owned));
      return;
    }
  if (type != NULL && g_strcmp0 (type, "unavailable") != 0)
    return; /* probes and subscriptions to the server itself: nothing to do */

  if (g_strcmp0 (type, "unavailable") == 0)
    {
      if (client->presence == NULL)
        return;
      g_clear_pointer (&client->presence, pts_node_free);
      pts_hub_broadcast_presence (self, client, presence);
      return;
    }

  first = client->presence == NULL;
  g_clear_pointer (&client->presence, pts_node_free);
  client->presence = pts_node_copy (presence);
  pts_node_remove_attr (client->presence, "to");
  {
    PtsNode *prio = pts_node_get_child (presence, "priority", NULL);
    client->priority = prio && pts_node_get_text (prio) ? atoi (pts_node_get_text (prio)) : 0;
  }
  pts_hub_broadcast_presence (self, client, client->presence);

  if (first)
    {
      /* Initial presence: tell the newcomer who is there. */
      for (GList *l = self->clients; l != NULL; l = l->next)
        {
          PtsClient *c = l->data;
          g_autoptr (PtsNode) copy = NULL;
          if (c == client || c->state != PTS_CLIENT_BOUND || c->presence == NULL)
            continue;
          copy = pts_node_copy (c->presence);
          pts_node_set_attr (copy, "from", c->full);
          pts_node_set_attr (copy, "to", client->full);
          pts_client_send (client, copy);
        }
    }
}

/* ---- IQs the server answers ----------------------------------------------------- */

static void
pts_hub_roster (PtsHub *self, PtsClient *client, PtsNode *iq, PtsNode *query)
{
  PtsNode *reply, *q;
  g_autoptr (GList) names = NULL;

  if (g_strcmp0 (pts_node_get_attr (iq, "type"), "set") == 0)
    {
      /* The roster is fixed: every account sees every other. */
      pts_client_send_take (client, pts_stanza_iq_result (iq));
      return;
    }
  reply = pts_stanza_iq_result (iq);
  q = pts_node_add_child (reply, "query", PTS_NS_ROSTER);
  names = g_hash_table_get_keys (self->accounts);
  names = g_list_sort (names, (GCompareFunc) g_strcmp0);
  for (GList *l = names; l != NULL; l = l->next)
    {
      g_autofree char *jid = g_strdup_printf ("%s@%s", (char *) l->data, self->config->domain);
      PtsNode *item;
      if (g_strcmp0 (jid, client->bare) == 0)
        continue;
      item = pts_node_add_child (q, "item", NULL);
      pts_node_set_attr (item, "jid", jid);
      pts_node_set_attr (item, "name", l->data);
      pts_node_set_attr (item, "subscription", "both");
      pts_node_set_text (pts_node_add_child (item, "group", NULL), "Everyone");
    }
  pts_node_set_attr (reply, "from", NULL);
  pts_client_send_take (client, reply);
}

static void
pts_hub_disco_info (PtsHub *self, PtsClient *client, PtsNode *iq, const char *to_bare)
{
  PtsNode *reply = pts_stanza_iq_result (iq);
  PtsNode *q = pts_node_add_child (reply, "query", BSP_NS_DISCO_INFO);
  PtsNode *identity = pts_node_add_child (q, "identity", NULL);
  const char *features_server[]
      = { BSP_NS_DISCO_INFO, BSP_NS_DISCO_ITEMS, PTS_NS_PING, PTS_NS_ROSTER,
          PTS_NS_VCARD,      PTS_NS_VERSION,     NULL };
  const char *features_account[] = { BSP_NS_DISCO_INFO, BSP_NS_DISCO_ITEMS, NULL };
  const char *const *features = to_bare ? features_account : features_server;

  pts_node_set_attr (q, "node", pts_node_get_attr (pts_node_get_child (iq, "query", NULL), "node"));
  if (to_bare != NULL)
    {
      pts_node_set_attr (identity, "category", "account");
      pts_node_set_attr (identity, "type", "registered");
    }
  else
    {
      pts_node_set_attr (identity, "category", "server");
      pts_node_set_attr (identity, "type", "im");
      pts_node_set_attr (identity, "name", "proxy-test-server");
    }
  for (gsize i = 0; features[i] != NULL; i++)
    pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", features[i]);
  pts_client_send_take (client, reply);
}

static void
pts_hub_server_iq (PtsHub *self, PtsClient *client, PtsNode *iq, const char *to_bare)
{
  const char *type = pts_node_get_attr (iq, "type");
  PtsNode *child = iq->children->len > 0 ? iq->children->pdata[0] : NULL;
  gboolean get = g_strcmp0 (type, "get") == 0;

  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    return;
  if (child == NULL || (!get && g_strcmp0 (type, "set") != 0))
    {
      pts_client_send_take (client, pts_stanza_error (iq, "bad-request", NULL));
      return;
    }
  if (pts_node_is (child, "query", PTS_NS_ROSTER) && to_bare == NULL)
    pts_hub_roster (self, client, iq, child);
  else if (pts_node_is (child, "session", PTS_NS_SESSION) && !get)
    pts_client_send_take (client, pts_stanza_iq_result (iq));
  else if (pts_node_is (child, "ping", PTS_NS_PING) && get)
    pts_client_send_take (client, pts_stanza_iq_result (iq));
  else if (pts_node_is (child, "query", BSP_NS_DISCO_INFO) && get)
    pts_hub_disco_info (self, client, iq, to_bare);
  else if (pts_node_is (child, "query", BSP_NS_DISCO_ITEMS) && get)
    {
      PtsNode *reply = pts_stanza_iq_result (iq);
      PtsNode *q = pts_node_add_child (reply, "query", BSP_NS_DISCO_ITEMS);
      if (to_bare == NULL && pts_node_get_attr (child, "node") == NULL
          && self->config->socks5_only_jid != NULL)
        {
          PtsNode *item = pts_node_add_child (q, "item", NULL);
          pts_node_set_attr (item, "jid", self->config->socks5_only_jid);
          pts_node_set_attr (item, "name", "SOCKS5 file transfer proxy");
        }
      if (to_bare == NULL && pts_node_get_attr (child, "node") == NULL)
        {
          PtsNode *item = pts_node_add_child (q, "item", NULL);
          pts_node_set_attr (item, "jid", self->config->proxy_jid);
          pts_node_set_attr (item, "name", "File transfer proxy");
        }
      pts_client_send_take (client, reply);
    }
  else if (pts_node_is (child, "vCard", PTS_NS_VCARD))
    {
      /* No storage: an empty card, and writes are accepted and forgotten. */
      PtsNode *reply = pts_stanza_iq_result (iq);
      if (get)
        pts_node_add_child (reply, "vCard", PTS_NS_VCARD);
      pts_client_send_take (client, reply);
    }
  else if (pts_node_is (child, "query", PTS_NS_VERSION) && get && to_bare == NULL)
    {
      PtsNode *reply = pts_stanza_iq_result (iq);
      PtsNode *q = pts_node_add_child (reply, "query", PTS_NS_VERSION);
      pts_node_set_text (pts_node_add_child (q, "name", NULL), "proxy-test-server");
      pts_node_set_text (pts_node_add_child (q, "version", NULL), PACKAGE_VERSION);
      pts_client_send_take (client, reply);
    }
  else
    pts_client_send_take (client, pts_stanza_error (iq, "service-unavailable", NULL));
}

/* ---- routing --------------------------------------------------------------------- */

static void
pts_hub_bounce (PtsHub *self, PtsNode *stanza, const char *condition)
{
  const char *type = pts_node_get_attr (stanza, "type");

  /* Never answer an error with an error, nor a result or a presence. */
  if (g_strcmp0 (type, "error") == 0 || g_strcmp0 (type, "result") == 0
      || pts_node_is (stanza, "presence", NULL))
    return;
  pts_hub_route (self, pts_stanza_error (stanza, condition, NULL));
}

/* Delivers a stanza whose 'from' is already trustworthy. Takes ownership. */
static void
pts_hub_route (PtsHub *self, PtsNode *stanza)
{
  const char *to = pts_node_get_attr (stanza, "to");
  g_autofree char *norm = to ? bsp_jid_normalize (to) : NULL;
  g_autofree char *bare = norm ? bsp_jid_bare (norm) : NULL;
  g_autoptr (PtsNode) owned = stanza;
  PtsClient *client;

  if (to == NULL || norm == NULL)
    {
      if (to != NULL)
        pts_hub_bounce (self, owned, "jid-malformed");
      return;
    }
  if (g_strcmp0 (bare, self->config->proxy_jid) == 0
      || (self->config->socks5_only_jid != NULL
          && g_strcmp0 (bare, self->config->socks5_only_jid) == 0))
    {
      pts_proxy_handle_stanza (self->proxy, g_steal_pointer (&owned));
      return;
    }

  client = g_hash_table_lookup (self->bound, norm);
  if (client != NULL)
    {
      pts_client_send (client, owned);
      return;
    }

  if (pts_hub_is_account (self, bare))
    {
      g_autoptr (GPtrArray) resources = pts_hub_resources_of (self, bare, TRUE);
      int best = G_MININT;

      if (pts_node_is (owned, "message", NULL) && resources->len > 0)
        {
          /* To the bare JID (or to a resource that is gone): the
           * available resources with the highest non-negative priority. */
          for (guint i = 0; i < resources->len; i++)
            best = MAX (best, ((PtsClient *) resources->pdata[i])->priority);
          if (best >= 0)
            {
              for (guint i = 0; i < resources->len; i++)
                if (((PtsClient *) resources->pdata[i])->priority == best)
                  pts_client_send (resources->pdata[i], owned);
              return;
            }
        }
      if (pts_node_is (owned, "presence", NULL) && strcmp (norm, bare) == 0)
        {
          g_autoptr (GPtrArray) all = pts_hub_resources_of (self, bare, FALSE);
          for (guint i = 0; i < all->len; i++)
            pts_client_send (all->pdata[i], owned);
          return;
        }
      pts_hub_bounce (self, owned, "service-unavailable");
      return;
    }
  pts_hub_bounce (self, owned, "service-unavailable");
}

static void
pts_hub_proxy_send (PtsNode *stanza, gpointer user_data)
{
  pts_hub_route (user_data, stanza);
}

static void
pts_client_stanza (PtsXmppConn *conn, PtsNode *stanza, gpointer user_data)
{
  PtsClient *client = user_data;
  PtsHub *self = client->hub;
  g_autoptr (PtsNode) owned = stanza;
  const char *to;
  g_autofree char *norm = NULL;
  g_autofree char *bare = NULL;

  if (client->state == PTS_CLIENT_AUTHENTICATING)
    {
      if (pts_node_is (owned, "starttls", PTS_NS_TLS))
        pts_client_starttls (client);
      else
        pts_client_auth (client, owned);
      return;
    }
  if (client->state != PTS_CLIENT_AUTHENTICATED && client->state != PTS_CLIENT_BOUND)
    {
      pts_xmpp_conn_close (conn, "not-authorized", NULL);
      return;
    }
  if (client->state == PTS_CLIENT_AUTHENTICATED)
    {
      PtsNode *bind = pts_node_get_child (owned, "bind", PTS_NS_BIND);
      if (pts_node_is (owned, "iq", NULL) && bind != NULL
          && g_strcmp0 (pts_node_get_attr (owned, "type"), "set") == 0)
        pts_client_bind (client, owned, bind);
      else
        pts_xmpp_conn_close (conn, "not-authorized", "bind a resource first");
      return;
    }

  if (!pts_node_is (owned, "iq", NULL) && !pts_node_is (owned, "message", NULL)
      && !pts_node_is (owned, "presence", NULL))
    {
      pts_xmpp_conn_close (conn, "unsupported-stanza-type", NULL);
      return;
    }

  /* The server stamps every stanza with the sender's full JID. */
  pts_node_set_attr (owned, "from", client->full);
  if (pts_node_is (owned, "presence", NULL))
    {
      pts_client_presence (client, g_steal_pointer (&owned));
      return;
    }

  to = pts_node_get_attr (owned, "to");
  if (to != NULL)
    {
      norm = bsp_jid_normalize (to);
      if (norm == NULL)
        {
          pts_client_send_take (client, pts_stanza_error (owned, "jid-malformed", NULL));
          return;
        }
      bare = bsp_jid_bare (norm);
    }

  if (pts_node_is (owned, "iq", NULL))
    {
      if (to == NULL || g_strcmp0 (norm, self->config->domain) == 0
          || g_strcmp0 (norm, client->bare) == 0)
        {
          pts_hub_server_iq (self, client, owned, NULL);
          return;
        }
      if (strcmp (norm, bare) == 0 && pts_hub_is_account (self, bare))
        {
          /* An IQ to a bare account JID is the server's to answer. */
          pts_hub_server_iq (self, client, owned, bare);
          return;
        }
    }
  if (pts_node_is (owned, "message", NULL) && to == NULL)
    return;
  pts_hub_route (self, g_steal_pointer (&owned));
}

static void
pts_client_free (PtsClient *client)
{
  pts_xmpp_conn_abort (client->conn);
  pts_xmpp_conn_unref (client->conn);
  g_clear_pointer (&client->presence, pts_node_free);
  g_clear_handle_id (&client->auth_timer, g_source_remove);
  g_clear_handle_id (&client->login_timer, g_source_remove);
  g_free (client->pending_auth);
  g_free (client->address);
  g_clear_object (&client->inet);
  g_free (client->stream_id);
  g_free (client->user);
  g_free (client->bare);
  g_free (client->full);
  g_free (client);
}

static void
pts_client_closed (PtsXmppConn *conn, const GError *error, gpointer user_data)
{
  PtsClient *client = user_data;
  PtsHub *self = client->hub;

  self->clients = g_list_remove (self->clients, client);
  if (client->full != NULL && g_hash_table_lookup (self->bound, client->full) == client)
    g_hash_table_remove (self->bound, client->full);
  if (client->presence != NULL)
    {
      g_autoptr (PtsNode) gone = pts_node_new ("presence", PTS_NS_CLIENT);
      g_clear_pointer (&client->presence, pts_node_free);
      pts_node_set_attr (gone, "type", "unavailable");
      pts_hub_broadcast_presence (self, client, gone);
    }
  if (client->full != NULL)
    g_message ("%s signed off%s%s", client->full, error ? ": " : "", error ? error->message : "");
  else if (client->starttls && error != NULL)
    g_message ("a client from %s: %s", client->address, error->message);
  pts_client_free (client);
}

static const PtsXmppConnCallbacks pts_client_callbacks = {
  pts_client_stream_start,
  pts_client_stanza,
  pts_client_closed,
};

static void
pts_hub_incoming (GSocketConnection *conn, gpointer user_data)
{
  PtsHub *self = user_data;
  PtsClient *client = g_new0 (PtsClient, 1);

  client->hub = self;
  {
    g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);

    if (G_IS_INET_SOCKET_ADDRESS (remote))
      {
        client->inet
            = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
        client->address = g_inet_address_to_string (client->inet);
      }
    else
      client->address = g_strdup ("local");
  }
  /* Replies go out as several small writes: without this, Nagle holds each
   * one until the client's delayed ACK (40 ms on Linux). */
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  client->conn = pts_xmpp_conn_new (G_IO_STREAM (conn), &pts_client_callbacks, client,
                                    self->config->max_stanza);
  self->clients = g_list_prepend (self->clients, client);
  client->login_timer
      = g_timeout_add_seconds (self->config->login_timeout, pts_client_login_timeout, client);
  pts_xmpp_conn_start (client->conn);
}

static GInetAddress *
pts_hub_peer_address (const char *full_jid, gpointer user_data)
{
  PtsHub *self = user_data;
  g_autofree char *norm = bsp_jid_normalize (full_jid);
  PtsClient *client = norm != NULL ? g_hash_table_lookup (self->bound, norm) : NULL;

  return client != NULL && client->inet != NULL ? g_object_ref (client->inet) : NULL;
}

PtsHub *
pts_hub_new (const PtsConfig *config, PtsProxy *proxy)
{
  PtsHub *self = g_new0 (PtsHub, 1);

  self->config = config;
  self->proxy = proxy;
  self->accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->bound = g_hash_table_new (g_str_hash, g_str_equal);
  self->throttle = pts_auth_throttle_new ();
  for (char **u = config->users; u != NULL && *u != NULL; u++)
    {
      const char *colon = strchr (*u, ':');
      g_hash_table_replace (self->accounts, g_utf8_strdown (*u, colon - *u), g_strdup (colon + 1));
    }
  {
    PtsListenerConfig listener = {
      "c2s",
      (guint) config->max_connections,
      (guint) config->max_per_address,
      TRUE,
      0, /* signed-in clients may be quiet: keepalives and TCP watch them */
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
      "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
      "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>too many connections</text>"
      "</stream:error></stream:stream>",
    };
    self->listener = pts_listener_new (&listener, pts_hub_incoming, self);
  }
  pts_proxy_set_sender (proxy, pts_hub_proxy_send, self);
  pts_proxy_set_peer_lookup (proxy, pts_hub_peer_address, self);
  return self;
}

guint16
pts_hub_listen (PtsHub *self, const char *address, guint16 port, GError **error)
{
  const PtsConfig *config = self->config;

  if (config->tls_cert != NULL && self->certificate == NULL)
    {
      /* The HTTP side's certificate: clients get STARTTLS with it. */
      self->certificate = g_tls_certificate_new_from_files (
          config->tls_cert, config->tls_key ? config->tls_key : config->tls_cert, error);
      if (self->certificate == NULL)
        {
          g_prefix_error (error, "--tls-cert: ");
          return 0;
        }
    }
  return pts_listener_listen (self->listener, address, port, error);
}

void
pts_hub_free (PtsHub *self)
{
  if (self == NULL)
    return;
  pts_proxy_set_sender (self->proxy, NULL, NULL);
  pts_proxy_set_peer_lookup (self->proxy, NULL, NULL);
  g_clear_pointer (&self->listener, pts_listener_free);
  while (self->clients != NULL)
    {
      PtsClient *client = self->clients->data;
      self->clients = g_list_delete_link (self->clients, self->clients);
      pts_client_free (client);
    }
  g_hash_table_unref (self->bound);
  pts_auth_throttle_free (self->throttle);
  g_hash_table_unref (self->accounts);
  g_clear_object (&self->certificate);
  g_free (self);
}
