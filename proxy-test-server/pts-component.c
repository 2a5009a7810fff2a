/* pts-component.c — XEP-0114: the proxy as a component of a real XMPP server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-component"

#include <stdlib.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-component-link.h"
#include "pts-component.h"
#include "pts-stanza.h"
#include "pts-xmpp-conn.h"

#define PTS_COMPONENT_BACKOFF_MIN 1
#define PTS_COMPONENT_BACKOFF_MAX 60
/* Connecting and the handshake together: a server that accepts the TCP
 * connection and then says nothing is left after this long. Only for
 * attaching: an established link has no read timeout (a quiet server sends
 * nothing for hours); pings tell whether it still lives. */
#define PTS_COMPONENT_ATTACH_TIMEOUT 30
/* Stanzas to send while the link is down wait this long, this many at
 * most; each one dropped is logged. */
#define PTS_COMPONENT_QUEUE_MAX 256
#define PTS_COMPONENT_QUEUE_AGE 30

typedef struct
{
  PtsNode *stanza;
  gint64 queued; /* monotonic µs */
} PtsComponentQueued;

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

  /* The link check, on one timer: the handshake's deadline, then pings. */
  guint check_id;
  gint64 attach_started; /* monotonic µs */
  gint64 last_input;     /* the last stanza from the server */
  gint64 ping_sent;      /* 0 = no ping waits for its answer */
  char *ping_to;
  guint ping_serial;
  char *ping_iq_id;

  GQueue queue; /* PtsComponentQueued *, oldest first */
};

static void pts_component_connect (PtsComponent *self);
static void pts_component_check_schedule (PtsComponent *self);

static void
pts_component_queued_free (PtsComponentQueued *queued)
{
  pts_node_free (queued->stanza);
  g_free (queued);
}

static const char *
pts_component_attr (const PtsNode *stanza, const char *name)
{
  const char *value = pts_node_get_attr (stanza, name);

  return value != NULL ? value : "";
}

/* Says which stanza is not sent and why: never dropped in silence. */
static void
pts_component_log_dropped (const PtsNode *stanza, const char *why)
{
  g_warning ("stanza not sent (%s): <%s type='%s' id='%s' to='%s'>", why, stanza->name,
             pts_component_attr (stanza, "type"), pts_component_attr (stanza, "id"),
             pts_component_attr (stanza, "to"));
}

/* Drops the queued stanzas older than the queue's bound. */
static void
pts_component_queue_expire (PtsComponent *self)
{
  gint64 oldest = g_get_monotonic_time () - PTS_COMPONENT_QUEUE_AGE * G_USEC_PER_SEC;
  PtsComponentQueued *queued;

  while ((queued = g_queue_peek_head (&self->queue)) != NULL && queued->queued < oldest)
    {
      g_autofree char *why = g_strdup_printf ("it waited %u s for the link to %s:%u",
                                              PTS_COMPONENT_QUEUE_AGE, self->host, self->port);
      pts_component_log_dropped (queued->stanza, why);
      pts_component_queued_free (g_queue_pop_head (&self->queue));
    }
}

static void
pts_component_queue_push (PtsComponent *self, PtsNode *stanza)
{
  PtsComponentQueued *queued;

  pts_component_queue_expire (self);
  if (self->queue.length >= PTS_COMPONENT_QUEUE_MAX)
    {
      pts_component_log_dropped (stanza, "the link to the server is down and the queue is full");
      pts_node_free (stanza);
      return;
    }
  g_debug ("<%s id='%s' to='%s'> waits for the link", stanza->name,
           pts_component_attr (stanza, "id"), pts_component_attr (stanza, "to"));
  queued = g_new (PtsComponentQueued, 1);
  queued->stanza = stanza;
  queued->queued = g_get_monotonic_time ();
  g_queue_push_tail (&self->queue, queued);
}

/* Sends what waited for the link, in order. */
static void
pts_component_queue_flush (PtsComponent *self)
{
  PtsComponentQueued *queued;
  guint sent = 0;

  pts_component_queue_expire (self);
  while ((queued = g_queue_pop_head (&self->queue)) != NULL)
    {
      pts_xmpp_conn_send (self->conn, queued->stanza, PTS_NS_COMPONENT);
      pts_component_queued_free (queued);
      sent++;
    }
  if (sent > 0)
    g_message ("sent %u stanza%s that waited for the link", sent, sent == 1 ? "" : "s");
}

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
  pts_component_queue_expire (self);
  g_message ("reconnecting to %s:%u in %u s", self->host, self->port, self->backoff);
  self->retry_id = g_timeout_add_seconds (self->backoff, pts_component_retry, self);
  self->backoff = MIN (self->backoff * 2, PTS_COMPONENT_BACKOFF_MAX);
}

/* Ends the link at once (it is closed, dead or never got attached) and
 * makes a new one after the back-off. */
static void
pts_component_drop_link (PtsComponent *self)
{
  g_clear_handle_id (&self->check_id, g_source_remove);
  self->handshaken = FALSE;
  self->ping_sent = 0;
  if (self->conn != NULL)
    pts_xmpp_conn_abort (self->conn);
  g_clear_pointer (&self->conn, pts_xmpp_conn_unref);
  pts_component_schedule_retry (self);
}

static void
pts_component_send_ping (PtsComponent *self)
{
  g_autoptr (PtsNode) iq = NULL;

  g_free (self->ping_iq_id);
  self->ping_iq_id = g_strdup_printf ("pts-ping-%u", ++self->ping_serial);
  iq = pts_stanza_iq_new ("get", self->config->proxy_jid, self->ping_to, self->ping_iq_id);
  pts_node_add_child (iq, "ping", PTS_NS_PING);
  self->ping_sent = g_get_monotonic_time ();
  pts_xmpp_conn_send (self->conn, iq, PTS_NS_COMPONENT);
}

/* The link check: runs when the handshake's deadline is due, when the
 * server has been quiet for a keepalive period (then it pings), and when a
 * ping's answer is due. */
static gboolean
pts_component_check (gpointer user_data)
{
  PtsComponent *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 period = (gint64) self->config->keepalive * G_USEC_PER_SEC;

  self->check_id = 0;
  if (!self->handshaken)
    {
      if (now - self->attach_started >= PTS_COMPONENT_ATTACH_TIMEOUT * G_USEC_PER_SEC)
        {
          g_message ("no handshake from %s:%u within %u s", self->host, self->port,
                     PTS_COMPONENT_ATTACH_TIMEOUT);
          pts_component_drop_link (self);
          return G_SOURCE_REMOVE;
        }
    }
  else if (self->ping_sent != 0 && now - self->ping_sent >= period)
    {
      g_message ("component link dead: %s:%u did not answer a ping within %d s", self->host,
                 self->port, self->config->keepalive);
      pts_component_drop_link (self);
      return G_SOURCE_REMOVE;
    }
  else if (self->ping_sent == 0 && now - self->last_input >= period)
    pts_component_send_ping (self);
  pts_component_check_schedule (self);
  return G_SOURCE_REMOVE;
}

/* Sets the check's timer for the next thing that falls due. */
static void
pts_component_check_schedule (PtsComponent *self)
{
  gint64 period = (gint64) self->config->keepalive * G_USEC_PER_SEC;
  gint64 due;

  g_clear_handle_id (&self->check_id, g_source_remove);
  if (!self->handshaken)
    due = self->attach_started + PTS_COMPONENT_ATTACH_TIMEOUT * G_USEC_PER_SEC;
  else if (period == 0)
    return;
  else if (self->ping_sent != 0)
    due = self->ping_sent + period;
  else
    due = self->last_input + period;
  /* A millisecond late rather than early: the check then finds it due. */
  self->check_id = g_timeout_add ((guint) MAX (0, (due - g_get_monotonic_time ()) / 1000 + 1),
                                  pts_component_check, self);
}

static void
pts_component_send (PtsNode *stanza, gpointer user_data)
{
  PtsComponent *self = user_data;

  if (self->conn != NULL && self->handshaken && !pts_xmpp_conn_is_closing (self->conn))
    {
      pts_xmpp_conn_send (self->conn, stanza, PTS_NS_COMPONENT);
      pts_node_free (stanza);
    }
  else
    pts_component_queue_push (self, stanza);
}

static void
pts_component_stream_start (PtsXmppConn *conn, const PtsNode *root, gpointer user_data)
{
  PtsComponent *self = user_data;
  const char *why = NULL;
  g_autofree char *xml = pts_component_handshake (root, self->config->component_secret, &why);

  if (xml == NULL)
    {
      g_message ("%s:%u sent %s; closing the link", self->host, self->port, why);
      pts_xmpp_conn_close (conn, "invalid-id", why);
      return;
    }
  pts_xmpp_conn_send_raw (conn, xml, -1);
}

static void
pts_component_stanza (PtsXmppConn *conn, PtsNode *stanza, gpointer user_data)
{
  PtsComponent *self = user_data;
  g_autoptr (PtsNode) owned = stanza;

  /* Any stanza shows the link alive, the answer to a ping among them. */
  self->last_input = g_get_monotonic_time ();
  self->ping_sent = 0;
  switch (pts_component_classify (owned, self->handshaken, self->ping_iq_id))
    {
    case PTS_COMPONENT_ACCEPTED:
      self->handshaken = TRUE;
      self->backoff = PTS_COMPONENT_BACKOFF_MIN;
      g_message ("attached to %s:%u as %s", self->host, self->port, self->config->proxy_jid);
      pts_component_check_schedule (self);
      pts_component_queue_flush (self);
      if (self->ready != NULL)
        self->ready (self, self->ready_data);
      break;
    case PTS_COMPONENT_REFUSED:
      g_warning ("the server refused the component: check --component-secret and the "
                 "component's name (%s)",
                 self->config->proxy_jid);
      break;
    case PTS_COMPONENT_DELIVER:
      pts_proxy_handle_stanza (self->proxy, g_steal_pointer (&owned));
      break;
    case PTS_COMPONENT_PING_ANSWER: /* it has done its work above */
    case PTS_COMPONENT_IGNORE:
    default: break;
    }
}

static void
pts_component_closed (PtsXmppConn *conn, const GError *error, gpointer user_data)
{
  PtsComponent *self = user_data;

  g_message ("component connection closed%s%s", error ? ": " : "", error ? error->message : "");
  pts_component_drop_link (self);
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
  /* The client's timeout was for connecting: reads on the established link
   * wait as long as the server stays quiet. */
  g_socket_set_timeout (g_socket_connection_get_socket (sc), 0);
  g_socket_set_keepalive (g_socket_connection_get_socket (sc), TRUE);
  self->attach_started = g_get_monotonic_time ();
  pts_component_check_schedule (self);
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
  g_socket_client_connect_to_host_async (self->client, self->host, self->port, self->cancellable,
                                         pts_component_connected, self);
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
  g_socket_client_set_timeout (self->client, PTS_COMPONENT_ATTACH_TIMEOUT);
  self->cancellable = g_cancellable_new ();
  self->backoff = PTS_COMPONENT_BACKOFF_MIN;
  /* Pings go to the server the component is attached to: the domain its
   * JID sits under (example.org for proxy.example.org). */
  self->ping_to = pts_config_parent_domain (config->proxy_jid);
  if (self->ping_to == NULL)
    self->ping_to = g_strdup (config->proxy_jid);
  g_queue_init (&self->queue);
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
  g_clear_handle_id (&self->check_id, g_source_remove);
  if (self->queue.length > 0)
    g_message ("%u stanza%s that waited for the link not sent: shutting down", self->queue.length,
               self->queue.length == 1 ? "" : "s");
  g_queue_clear_full (&self->queue, (GDestroyNotify) pts_component_queued_free);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  if (self->conn != NULL)
    pts_xmpp_conn_abort (self->conn);
  g_clear_pointer (&self->conn, pts_xmpp_conn_unref);
  g_free (self->host);
  g_free (self->ping_to);
  g_free (self->ping_iq_id);
  g_free (self);
}
