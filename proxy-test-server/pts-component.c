/* pts-component.c — XEP-0114: the proxy as a component of a real XMPP server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-component"

#include <stdlib.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-component.h"
#include "pts-stanza.h"
#include "pts-xmpp-conn.h"

#define PTS_COMPONENT_BACKOFF_MIN 1
#define PTS_COMPONENT_BACKOFF_MAX 60

struct _PtsComponent
{
  const PtsConfig *config;
  PtsProxy *proxy;
  PtsComponentReadyFunc ready;
  gpointer ready_data;
  char *host;
  guint16 port;

  GSocketClient *client;
  GCancellable *cancellable;
  PtsXmppConn *conn;
  gboolean handshaken;
  guint backoff;
  guint retry_id;
};

static void pts_component_connect (PtsComponent *self);

static gboolean
pts_component_retry (gpointer user_data)
{
  pts_component_connect (user_data);
  return G_SOURCE_REMOVE;
}

static void
pts_component_schedule_retry (PtsComponent *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_message ("reconnecting to %s:%u in %u s", self->host, self->port, self->backoff);
  self->retry_id = g_timeout_add_seconds (self->backoff, pts_component_retry, self);
  self->backoff = MIN (self->backoff * 2, PTS_COMPONENT_BACKOFF_MAX);
}

static void
pts_component_send (PtsNode *stanza, gpointer user_data)
{
  PtsComponent *self = user_data;

  if (self->conn != NULL && self->handshaken)
    pts_xmpp_conn_send (self->conn, stanza, PTS_NS_COMPONENT);
  pts_node_free (stanza);
}

static void
pts_component_stream_start (PtsXmppConn *conn, const PtsNode *root, gpointer user_data)
{
  PtsComponent *self = user_data;
  const char *id = pts_node_get_attr (root, "id");
  g_autofree char *input = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *xml = NULL;

  if (id == NULL)
    {
      pts_xmpp_conn_close (conn, "invalid-id", "no stream id");
      return;
    }
  input = g_strconcat (id, self->config->component_secret, NULL);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
  xml = g_strdup_printf ("<handshake>%s</handshake>", digest);
  pts_xmpp_conn_send_raw (conn, xml, -1);
}

static void
pts_component_stanza (PtsXmppConn *conn, PtsNode *stanza, gpointer user_data)
{
  PtsComponent *self = user_data;
  g_autoptr (PtsNode) owned = stanza;

  if (!self->handshaken)
    {
      if (pts_node_is (owned, "handshake", NULL))
        {
          self->handshaken = TRUE;
          self->backoff = PTS_COMPONENT_BACKOFF_MIN;
          g_message ("attached to %s:%u as %s", self->host, self->port,
                     self->config->proxy_jid);
          if (self->ready != NULL)
            self->ready (self, self->ready_data);
        }
      else if (pts_node_is (owned, "error", PTS_NS_STREAMS))
        g_warning ("the server refused the component: check --component-secret and the "
                   "component's name (%s)",
                   self->config->proxy_jid);
      return;
    }
  if (!pts_node_is (owned, "iq", NULL) && !pts_node_is (owned, "message", NULL)
      && !pts_node_is (owned, "presence", NULL))
    return;
  pts_proxy_handle_stanza (self->proxy, g_steal_pointer (&owned));
}

static void
pts_component_closed (PtsXmppConn *conn, const GError *error, gpointer user_data)
{
  PtsComponent *self = user_data;

  g_message ("component connection closed%s%s", error ? ": " : "",
             error ? error->message : "");
  self->handshaken = FALSE;
  g_clear_pointer (&self->conn, pts_xmpp_conn_unref);
  pts_component_schedule_retry (self);
}

static const PtsXmppConnCallbacks pts_component_callbacks = {
  pts_component_stream_start,
  pts_component_stanza,
  pts_component_closed,
};

static void
pts_component_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) sc
      = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  PtsComponent *self = user_data;
  g_autofree char *header = NULL;

  if (sc == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_message ("cannot reach %s:%u: %s", self->host, self->port, error->message);
      pts_component_schedule_retry (self);
      return;
    }
  self->conn = pts_xmpp_conn_new (G_IO_STREAM (sc), &pts_component_callbacks, self,
                                  self->config->max_stanza);
  header = g_strdup_printf ("<?xml version='1.0'?><stream:stream "
                            "xmlns='jabber:component:accept' "
                            "xmlns:stream='http://etherx.jabber.org/streams' to='%s'>",
                            self->config->proxy_jid);
  pts_xmpp_conn_send_raw (self->conn, header, -1);
  if (self->config->keepalive > 0)
    pts_xmpp_conn_set_keepalive (self->conn, self->config->keepalive);
  pts_xmpp_conn_start (self->conn);
}

static void
pts_component_connect (PtsComponent *self)
{
  self->retry_id = 0;
  g_socket_client_connect_to_host_async (self->client, self->host, self->port,
                                         self->cancellable, pts_component_connected, self);
}

PtsComponent *
pts_component_new (const PtsConfig *config, PtsProxy *proxy, PtsComponentReadyFunc ready,
                   gpointer user_data)
{
  PtsComponent *self = g_new0 (PtsComponent, 1);
  const char *colon = strrchr (config->component, ':');

  self->config = config;
  self->proxy = proxy;
  self->ready = ready;
  self->ready_data = user_data;
  self->host = g_strndup (config->component, colon - config->component);
  self->port = (guint16) atoi (colon + 1);
  self->client = g_socket_client_new ();
  /* A direct connection to the configured server: asking the desktop's
   * proxy resolver is wrong here, and aborts where GSettings has no schemas. */
  g_socket_client_set_enable_proxy (self->client, FALSE);
  g_socket_client_set_timeout (self->client, 30);
  self->cancellable = g_cancellable_new ();
  self->backoff = PTS_COMPONENT_BACKOFF_MIN;
  pts_proxy_set_sender (proxy, pts_component_send, self);
  return self;
}

void
pts_component_start (PtsComponent *self)
{
  pts_component_connect (self);
}

void
pts_component_free (PtsComponent *self)
{
  if (self == NULL)
    return;
  pts_proxy_set_sender (self->proxy, NULL, NULL);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  if (self->conn != NULL)
    pts_xmpp_conn_abort (self->conn);
  g_clear_pointer (&self->conn, pts_xmpp_conn_unref);
  g_free (self->host);
  g_free (self);
}
