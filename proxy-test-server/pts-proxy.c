/* pts-proxy.c — the bytestreams proxy: sessions keyed by SIDHASH, its IQs, its limits
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-proxy"

#include <string.h>

#include "bsp-protocol.h"
#include "pts-proxy.h"
#include "pts-relay.h"
#include "pts-socket-endpoint.h"
#include "pts-stanza.h"

typedef enum
{
  PTS_SESSION_PENDING,
  PTS_SESSION_ACTIVE,
} PtsSessionState;

typedef struct
{
  PtsProxy *proxy;
  char *hash;
  char *initiator; /* full JIDs, known from activation */
  char *target;
  char *initiator_bare;
  PtsSessionState state;
  /* SOCKS5 connections in arrival order: the first is the target, the
   * second the initiator (XEP-0065 §6). */
  GSocketConnection *first;
  GSocketConnection *second;
  PtsRelay *relay;
  guint timer_id;
  gint64 created;
  gint64 activated;
} PtsSession;

struct _PtsProxy
{
  const PtsConfig *config;
  PtsProxySendFunc send;
  gpointer send_data;
  char *host;
  guint16 port;
  GHashTable *sessions; /* hash → PtsSession */

  guint64 transfers_done;
  guint64 transfers_failed;
  guint64 bytes_relayed;
};

static void
pts_session_free (PtsSession *session)
{
  g_clear_handle_id (&session->timer_id, g_source_remove);
  g_clear_pointer (&session->relay, pts_relay_free);
  if (session->first != NULL)
    g_io_stream_close (G_IO_STREAM (session->first), NULL, NULL);
  if (session->second != NULL)
    g_io_stream_close (G_IO_STREAM (session->second), NULL, NULL);
  g_clear_object (&session->first);
  g_clear_object (&session->second);
  g_free (session->hash);
  g_free (session->initiator);
  g_free (session->target);
  g_free (session->initiator_bare);
  g_free (session);
}

PtsProxy *
pts_proxy_new (const PtsConfig *config)
{
  PtsProxy *self = g_new0 (PtsProxy, 1);

  self->config = config;
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) pts_session_free);
  return self;
}

void
pts_proxy_free (PtsProxy *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->sessions);
  g_free (self->host);
  g_free (self);
}

void
pts_proxy_set_sender (PtsProxy *self, PtsProxySendFunc send, gpointer user_data)
{
  self->send = send;
  self->send_data = user_data;
}

void
pts_proxy_set_streamhost (PtsProxy *self, const char *host, guint16 port)
{
  g_free (self->host);
  self->host = g_strdup (host);
  self->port = port;
}

const char *
pts_proxy_get_jid (PtsProxy *self)
{
  return self->config->proxy_jid;
}

guint
pts_proxy_count_sessions (PtsProxy *self)
{
  return g_hash_table_size (self->sessions);
}

static void
pts_proxy_send (PtsProxy *self, PtsNode *stanza)
{
  if (self->send != NULL)
    self->send (stanza, self->send_data);
  else
    pts_node_free (stanza);
}

static void
pts_proxy_reply_error (PtsProxy *self, const PtsNode *iq, const char *condition,
                       const char *text)
{
  g_debug ("%s from %s: %s%s%s", pts_node_get_attr (iq, "id"), pts_node_get_attr (iq, "from"),
           condition, text ? ": " : "", text ? text : "");
  pts_proxy_send (self, pts_stanza_error (iq, condition, text));
}

/* ---- sessions ------------------------------------------------------------- */

static void
pts_proxy_remove_session (PtsProxy *self, PtsSession *session)
{
  g_hash_table_remove (self->sessions, session->hash);
}

static gboolean
pts_session_activation_timeout (gpointer user_data)
{
  PtsSession *session = user_data;

  session->timer_id = 0;
  g_message ("session %.8s… not activated within %d s; dropped", session->hash,
             session->proxy->config->activation_timeout);
  session->proxy->transfers_failed++;
  pts_proxy_remove_session (session->proxy, session);
  return G_SOURCE_REMOVE;
}

static gboolean
pts_session_idle_check (gpointer user_data)
{
  PtsSession *session = user_data;
  gint64 idle = g_get_monotonic_time () - pts_relay_last_activity (session->relay);

  if (idle < (gint64) session->proxy->config->idle_timeout * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  {
    g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                            "no data moved for %d s",
                                            session->proxy->config->idle_timeout);
    session->timer_id = 0;
    pts_relay_fail (session->relay, error);
  }
  return G_SOURCE_REMOVE;
}

static void
pts_session_relay_done (PtsRelay *relay, const GError *error, gpointer user_data)
{
  PtsSession *session = user_data;
  PtsProxy *self = session->proxy;
  guint64 bytes = pts_relay_bytes_out (relay);
  double secs = (g_get_monotonic_time () - session->activated) / (double) G_USEC_PER_SEC;

  self->bytes_relayed += bytes;
  if (error == NULL)
    {
      self->transfers_done++;
      g_message ("session %.8s… done: %" G_GUINT64_FORMAT " bytes in %.2f s (%.1f MiB/s)",
                 session->hash, bytes, secs, secs > 0 ? bytes / secs / 1048576.0 : 0.0);
    }
  else
    {
      self->transfers_failed++;
      g_message ("session %.8s… failed after %" G_GUINT64_FORMAT " bytes: %s", session->hash,
                 bytes, error->message);
    }
  pts_proxy_remove_session (self, session);
}

static guint
pts_proxy_count_active (PtsProxy *self, const char *initiator_bare)
{
  GHashTableIter iter;
  PtsSession *session;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    if (session->state == PTS_SESSION_ACTIVE
        && (initiator_bare == NULL || g_strcmp0 (session->initiator_bare, initiator_bare) == 0))
      n++;
  return n;
}

gboolean
pts_proxy_socks5_attach (PtsProxy *self, const char *hash, GSocketConnection *conn,
                         const char **why)
{
  PtsSession *session = g_hash_table_lookup (self->sessions, hash);

  if (session == NULL)
    {
      if (g_hash_table_size (self->sessions) >= (guint) self->config->max_sessions)
        {
          *why = "too many sessions";
          return FALSE;
        }
      session = g_new0 (PtsSession, 1);
      session->proxy = self;
      session->hash = g_strdup (hash);
      session->created = g_get_monotonic_time ();
      session->first = g_object_ref (conn);
      session->timer_id = g_timeout_add_seconds (self->config->activation_timeout,
                                                 pts_session_activation_timeout, session);
      g_hash_table_insert (self->sessions, session->hash, session);
      g_debug ("session %.8s…: first SOCKS5 connection", hash);
      return TRUE;
    }
  if (session->state != PTS_SESSION_PENDING || session->second != NULL)
    {
      *why = "session already has both parties";
      return FALSE;
    }
  session->second = g_object_ref (conn);
  g_debug ("session %.8s…: second SOCKS5 connection", hash);
  return TRUE;
}

/* ---- IQs -------------------------------------------------------------------- */

static void
pts_proxy_disco_info (PtsProxy *self, const PtsNode *iq, const PtsNode *query)
{
  PtsNode *reply = pts_stanza_iq_result (iq);
  PtsNode *q = pts_node_add_child (reply, "query", BSP_NS_DISCO_INFO);
  PtsNode *identity = pts_node_add_child (q, "identity", NULL);

  if (pts_node_get_attr (query, "node") != NULL)
    {
      pts_node_free (reply);
      pts_proxy_reply_error (self, iq, "item-not-found", NULL);
      return;
    }
  pts_node_set_attr (identity, "category", "proxy");
  pts_node_set_attr (identity, "type", "bytestreams");
  pts_node_set_attr (identity, "name", "SOCKS5 Bytestreams Service");
  pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", BSP_NS_BYTESTREAMS);
  pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", BSP_NS_DISCO_INFO);
  pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", PTS_NS_PING);
  pts_proxy_send (self, reply);
}

static void
pts_proxy_streamhost (PtsProxy *self, const PtsNode *iq)
{
  PtsNode *reply, *q, *host;
  g_autofree char *port = NULL;

  if (!pts_config_acl_allows (self->config, pts_node_get_attr (iq, "from")))
    {
      pts_proxy_reply_error (self, iq, "forbidden", "this proxy serves its own domains only");
      return;
    }
  reply = pts_stanza_iq_result (iq);
  q = pts_node_add_child (reply, "query", BSP_NS_BYTESTREAMS);
  host = pts_node_add_child (q, "streamhost", NULL);
  port = g_strdup_printf ("%u", self->port);
  pts_node_set_attr (host, "jid", self->config->proxy_jid);
  pts_node_set_attr (host, "host", self->host);
  pts_node_set_attr (host, "port", port);
  pts_proxy_send (self, reply);
}

static void
pts_proxy_activate (PtsProxy *self, const PtsNode *iq, const PtsNode *query)
{
  const char *from = pts_node_get_attr (iq, "from");
  const char *sid = pts_node_get_attr (query, "sid");
  PtsNode *activate = pts_node_get_child (query, "activate", BSP_NS_BYTESTREAMS);
  g_autofree char *target = activate && pts_node_get_text (activate)
                                ? g_strstrip (g_strdup (pts_node_get_text (activate)))
                                : NULL;
  g_autofree char *hash = NULL;
  g_autofree char *bare = NULL;
  PtsSession *session;
  PtsEndpoint *source, *sink;

  if (sid == NULL || *sid == '\0' || strlen (sid) > BSP_SID_MAX_LEN || activate == NULL)
    {
      pts_proxy_reply_error (self, iq, "bad-request", "sid and <activate/> are required");
      return;
    }
  if (target == NULL || !bsp_jid_is_full (target) || !bsp_jid_is_full (from))
    {
      pts_proxy_reply_error (self, iq, "jid-malformed", "both parties need full JIDs");
      return;
    }
  if (!pts_config_acl_allows (self->config, from))
    {
      pts_proxy_reply_error (self, iq, "forbidden", "this proxy serves its own domains only");
      return;
    }
  hash = bsp_sidhash (sid, from, target);
  session = g_hash_table_lookup (self->sessions, hash);
  if (session == NULL)
    {
      pts_proxy_reply_error (self, iq, "item-not-found", "no connection for this stream");
      return;
    }
  if (session->state != PTS_SESSION_PENDING)
    {
      pts_proxy_reply_error (self, iq, "conflict", "this stream is already active");
      return;
    }
  if (session->second == NULL)
    {
      pts_proxy_reply_error (self, iq, "not-allowed", "only one party is connected");
      return;
    }
  bare = bsp_jid_bare (from);
  if (pts_proxy_count_active (self, bare) >= (guint) self->config->max_per_initiator
      || pts_proxy_count_active (self, NULL) >= (guint) self->config->max_sessions)
    {
      pts_proxy_reply_error (self, iq, "resource-constraint", "too many transfers");
      return;
    }

  g_clear_handle_id (&session->timer_id, g_source_remove);
  session->initiator = bsp_jid_normalize (from);
  session->target = bsp_jid_normalize (target);
  session->initiator_bare = g_steal_pointer (&bare);
  session->state = PTS_SESSION_ACTIVE;
  session->activated = g_get_monotonic_time ();

  source = pts_socket_endpoint_new (session->second, TRUE);
  sink = pts_socket_endpoint_new (session->first, FALSE);
  g_clear_object (&session->first);
  g_clear_object (&session->second);
  session->relay = pts_relay_new (self->config->buffer_size, source, sink,
                                  pts_session_relay_done, session);
  session->timer_id = g_timeout_add_seconds (MAX (1, self->config->idle_timeout / 4),
                                             pts_session_idle_check, session);
  pts_relay_start (session->relay);
  g_message ("session %.8s… active: %s → %s", session->hash, session->initiator,
             session->target);
  pts_proxy_send (self, pts_stanza_iq_result (iq));
}

static void
pts_proxy_handle_iq (PtsProxy *self, PtsNode *iq)
{
  const char *type = pts_node_get_attr (iq, "type");
  PtsNode *child = iq->children->len > 0 ? iq->children->pdata[0] : NULL;

  if (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0)
    return;
  if (g_strcmp0 (type, "get") != 0 && g_strcmp0 (type, "set") != 0)
    {
      pts_proxy_reply_error (self, iq, "bad-request", "unknown IQ type");
      return;
    }
  if (child == NULL || iq->children->len != 1)
    {
      pts_proxy_reply_error (self, iq, "bad-request", "an IQ has exactly one child");
      return;
    }
  if (g_str_equal (type, "get") && pts_node_is (child, "query", BSP_NS_DISCO_INFO))
    pts_proxy_disco_info (self, iq, child);
  else if (g_str_equal (type, "get") && pts_node_is (child, "query", BSP_NS_DISCO_ITEMS))
    {
      PtsNode *reply = pts_stanza_iq_result (iq);
      pts_node_add_child (reply, "query", BSP_NS_DISCO_ITEMS);
      pts_proxy_send (self, reply);
    }
  else if (g_str_equal (type, "get") && pts_node_is (child, "ping", PTS_NS_PING))
    pts_proxy_send (self, pts_stanza_iq_result (iq));
  else if (g_str_equal (type, "get") && pts_node_is (child, "query", BSP_NS_BYTESTREAMS))
    pts_proxy_streamhost (self, iq);
  else if (g_str_equal (type, "set") && pts_node_is (child, "query", BSP_NS_BYTESTREAMS))
    pts_proxy_activate (self, iq, child);
  else
    pts_proxy_reply_error (self, iq, "service-unavailable", NULL);
}

void
pts_proxy_handle_stanza (PtsProxy *self, PtsNode *stanza)
{
  if (pts_node_is (stanza, "iq", NULL))
    pts_proxy_handle_iq (self, stanza);
  else if (pts_node_is (stanza, "message", NULL)
           && g_strcmp0 (pts_node_get_attr (stanza, "type"), "error") != 0)
    pts_proxy_send (self, pts_stanza_error (stanza, "service-unavailable", NULL));
  pts_node_free (stanza);
}
