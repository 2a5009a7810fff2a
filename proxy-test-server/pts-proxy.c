/* pts-proxy.c — the bytestreams proxy: sessions keyed by SIDHASH, its IQs, its limits
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-proxy"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>

#include "bsp-protocol.h"
#include "pts-http-endpoint.h"
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
  char *initiator; /* full JIDs: from <connect>, or from activation */
  char *target;
  char *initiator_bare;
  PtsSessionState state;
  /* The target registered with <connect> and downloads over HTTP. */
  gboolean http_target;
  /* SOCKS5 connections in arrival order. Without an HTTP target the first
   * is the target and the second the initiator (XEP-0065 §6); with one,
   * the only SOCKS5 connection is the initiator's. */
  GSocketConnection *first;
  GSocketConnection *second;
  guint first_watch;
  guint second_watch;
  PtsRelay *relay;
  char *upload_token;
  char *download_id;
  guint timer_id;
  guint progress_id;
  guint64 progress_last;
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
  char *http_base;        /* NULL = HTTP side disabled */
  GHashTable *sessions;   /* hash → PtsSession */
  GHashTable *uploads;    /* upload token → PtsSession */
  GHashTable *downloads;  /* download id → PtsSession */
  guint next_id;

  guint64 transfers_done;
  guint64 transfers_failed;
  guint64 bytes_relayed;
  GHashTable *failures;   /* reason → count */
};

static void
pts_session_free (PtsSession *session)
{
  g_clear_handle_id (&session->timer_id, g_source_remove);
  g_clear_handle_id (&session->first_watch, g_source_remove);
  g_clear_handle_id (&session->second_watch, g_source_remove);
  g_clear_handle_id (&session->progress_id, g_source_remove);
  if (session->upload_token != NULL)
    g_hash_table_remove (session->proxy->uploads, session->upload_token);
  if (session->download_id != NULL)
    g_hash_table_remove (session->proxy->downloads, session->download_id);
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
  g_free (session->upload_token);
  g_free (session->download_id);
  g_free (session);
}

PtsProxy *
pts_proxy_new (const PtsConfig *config)
{
  PtsProxy *self = g_new0 (PtsProxy, 1);

  self->config = config;
  self->uploads = g_hash_table_new (g_str_hash, g_str_equal);
  self->downloads = g_hash_table_new (g_str_hash, g_str_equal);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) pts_session_free);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
pts_proxy_shutdown (PtsProxy *self)
{
  /* Every session ends now, while the transports they use still exist. */
  g_hash_table_remove_all (self->sessions);
}

void
pts_proxy_free (PtsProxy *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->uploads);
  g_hash_table_unref (self->downloads);
  g_hash_table_unref (self->failures);
  g_free (self->http_base);
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

void
pts_proxy_set_http_base (PtsProxy *self, const char *base_url)
{
  g_free (self->http_base);
  self->http_base = base_url ? g_strdup (base_url) : NULL;
  /* No trailing slash: URLs are built as base + "/…". */
  if (self->http_base != NULL && g_str_has_suffix (self->http_base, "/"))
    self->http_base[strlen (self->http_base) - 1] = '\0';
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

static void
pts_proxy_count_failure (PtsProxy *self, const char *reason)
{
  gpointer count = g_hash_table_lookup (self->failures, reason);

  self->transfers_failed++;
  g_hash_table_replace (self->failures, g_strdup (reason),
                        GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
}

static gboolean
pts_session_activation_timeout (gpointer user_data)
{
  PtsSession *session = user_data;

  session->timer_id = 0;
  g_message ("session %.8s… not activated within %d s; dropped", session->hash,
             session->proxy->config->activation_timeout);
  pts_proxy_count_failure (session->proxy, "activation-timeout");
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
    g_autoptr (GError) error = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_TIMEOUT,
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
      pts_proxy_count_failure (self, pts_relay_error_reason (error));
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

/* A parked SOCKS5 connection (before activation) became readable: either
 * its peer left, or the initiator sent early data, which stays in the
 * kernel until the relay reads it (never consumed here). */
static gboolean pts_session_parked_cb (gint fd, GIOCondition condition, gpointer user_data);

static guint
pts_session_watch (PtsSession *session, GSocketConnection *conn)
{
  int fd = g_socket_get_fd (g_socket_connection_get_socket (conn));

  return g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, pts_session_parked_cb, session);
}

static gboolean
pts_session_parked_cb (gint fd, GIOCondition condition, gpointer user_data)
{
  PtsSession *session = user_data;
  gboolean is_first = session->first != NULL
                      && fd == g_socket_get_fd (g_socket_connection_get_socket (session->first));
  char c;
  gssize n = recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n > 0)
    {
      /* Early data from the initiator: held, and no longer watched. */
      if (is_first)
        session->first_watch = 0;
      else
        session->second_watch = 0;
      return G_SOURCE_REMOVE;
    }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return G_SOURCE_CONTINUE;

  if (is_first && !session->http_target)
    {
      /* The target left: the stream cannot happen any more. */
      g_debug ("session %.8s…: the target left before activation", session->hash);
      session->first_watch = 0;
      pts_proxy_count_failure (session->proxy, "receiver-gone");
      pts_proxy_remove_session (session->proxy, session);
      return G_SOURCE_REMOVE;
    }
  /* The initiator left: another may still come. */
  g_debug ("session %.8s…: the initiator left before activation", session->hash);
  if (is_first)
    {
      session->first_watch = 0;
      g_io_stream_close (G_IO_STREAM (session->first), NULL, NULL);
      g_clear_object (&session->first);
    }
  else
    {
      session->second_watch = 0;
      g_io_stream_close (G_IO_STREAM (session->second), NULL, NULL);
      g_clear_object (&session->second);
    }
  return G_SOURCE_REMOVE;
}

static PtsSession *
pts_proxy_new_session (PtsProxy *self, const char *hash)
{
  PtsSession *session = g_new0 (PtsSession, 1);

  session->proxy = self;
  session->hash = g_strdup (hash);
  session->created = g_get_monotonic_time ();
  session->timer_id = g_timeout_add_seconds (self->config->activation_timeout,
                                             pts_session_activation_timeout, session);
  g_hash_table_insert (self->sessions, session->hash, session);
  return session;
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
      session = pts_proxy_new_session (self, hash);
      session->first = g_object_ref (conn);
      session->first_watch = pts_session_watch (session, conn);
      g_debug ("session %.8s…: first SOCKS5 connection", hash);
      return TRUE;
    }
  if (session->state != PTS_SESSION_PENDING || session->second != NULL
      || (session->http_target && session->first != NULL))
    {
      *why = "session already has both parties";
      return FALSE;
    }
  if (session->http_target)
    {
      /* The target is on HTTP: this can only be the initiator. */
      session->first = g_object_ref (conn);
      session->first_watch = pts_session_watch (session, conn);
      g_debug ("session %.8s…: SOCKS5 initiator for an HTTP target", hash);
      return TRUE;
    }
  session->second = g_object_ref (conn);
  session->second_watch = pts_session_watch (session, conn);
  g_debug ("session %.8s…: second SOCKS5 connection", hash);
  return TRUE;
}

PtsEndpoint *
pts_proxy_find_upload (PtsProxy *self, const char *token)
{
  PtsSession *session = g_hash_table_lookup (self->uploads, token);
  PtsEndpoint *ep;

  if (session == NULL || session->relay == NULL)
    return NULL;
  ep = pts_relay_get_source (session->relay);
  return pts_http_endpoint_is_upload (ep) ? ep : NULL;
}

PtsEndpoint *
pts_proxy_find_download (PtsProxy *self, const char *id)
{
  PtsSession *session = g_hash_table_lookup (self->downloads, id);
  PtsEndpoint *ep;

  if (session == NULL || session->relay == NULL)
    return NULL;
  ep = pts_relay_get_sink (session->relay);
  return pts_http_endpoint_is_download (ep) ? ep : NULL;
}

/* ---- pushes to an HTTP target ---------------------------------------------- */

static PtsNode *
pts_proxy_push_new (PtsProxy *self, PtsSession *session, const char *name)
{
  g_autofree char *id = g_strdup_printf ("pts%u", ++self->next_id);
  PtsNode *iq = pts_stanza_iq_new ("set", self->config->proxy_jid, session->target, id);
  PtsNode *child = pts_node_add_child (iq, name, BSP_NS_BSPROXY);

  pts_node_set_attr (child, "sidhash", session->hash);
  return iq;
}

static gint64
pts_session_total (PtsSession *session)
{
  PtsEndpoint *source = pts_relay_get_source (session->relay);
  gint64 size = -1;

  pts_relay_get_file_info (session->relay, &size, NULL);
  if (size < 0 && pts_http_endpoint_is_upload (source))
    size = pts_http_upload_get_total (source);
  return size;
}

static gboolean
pts_session_progress (gpointer user_data)
{
  PtsSession *session = user_data;
  PtsProxy *self = session->proxy;
  guint64 sent = pts_relay_bytes_out (session->relay);
  gint64 total = pts_session_total (session);
  PtsNode *iq, *progress;
  char num[32];

  if (sent == session->progress_last)
    return G_SOURCE_CONTINUE; /* only while bytes flow */
  session->progress_last = sent;
  iq = pts_proxy_push_new (self, session, "progress");
  progress = iq->children->pdata[0];
  if (total >= 0)
    {
      g_snprintf (num, sizeof num, "%" G_GINT64_FORMAT, total);
      pts_node_set_attr (progress, "total", num);
    }
  g_snprintf (num, sizeof num, "%" G_GUINT64_FORMAT, sent);
  pts_node_set_attr (progress, "sent", num);
  pts_proxy_send (self, iq);
  return G_SOURCE_CONTINUE;
}

/* ---- IQs -------------------------------------------------------------------- */

static void
pts_proxy_disco_info (PtsProxy *self, const PtsNode *iq, const PtsNode *query)
{
  PtsNode *reply, *q, *identity;

  if (pts_node_get_attr (query, "node") != NULL)
    {
      pts_proxy_reply_error (self, iq, "item-not-found", NULL);
      return;
    }
  reply = pts_stanza_iq_result (iq);
  q = pts_node_add_child (reply, "query", BSP_NS_DISCO_INFO);
  identity = pts_node_add_child (q, "identity", NULL);
  pts_node_set_attr (identity, "category", "proxy");
  pts_node_set_attr (identity, "type", "bytestreams");
  pts_node_set_attr (identity, "name", "SOCKS5 Bytestreams Service");
  pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", BSP_NS_BYTESTREAMS);
  pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", BSP_NS_DISCO_INFO);
  pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", PTS_NS_PING);
  if (self->http_base != NULL)
    {
      pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", BSP_NS_BSPROXY);
      pts_node_set_attr (pts_node_add_child (q, "feature", NULL), "var", BSP_NS_BSPROXY_BRIDGE);
      if (self->config->max_file_size > 0)
        {
          /* XEP-0128, as XEP-0363 announces its limit. */
          PtsNode *x = pts_node_add_child (q, "x", PTS_NS_DATA_FORMS);
          PtsNode *field;
          g_autofree char *max = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                  self->config->max_file_size);
          pts_node_set_attr (x, "type", "result");
          field = pts_node_add_child (x, "field", NULL);
          pts_node_set_attr (field, "var", "FORM_TYPE");
          pts_node_set_attr (field, "type", "hidden");
          pts_node_set_text (pts_node_add_child (field, "value", NULL), BSP_NS_BSPROXY);
          field = pts_node_add_child (x, "field", NULL);
          pts_node_set_attr (field, "var", "max-file-size");
          pts_node_set_text (pts_node_add_child (field, "value", NULL), max);
        }
    }
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

/* <connect xmlns=NS sid jid=I/> from T: T downloads over HTTP (protocol.md §2). */
static void
pts_proxy_connect (PtsProxy *self, const PtsNode *iq, const PtsNode *connect)
{
  const char *from = pts_node_get_attr (iq, "from");
  const char *sid = pts_node_get_attr (connect, "sid");
  const char *jid = pts_node_get_attr (connect, "jid");
  g_autofree char *initiator = jid ? bsp_jid_normalize (jid) : NULL;
  g_autofree char *target = from ? bsp_jid_normalize (from) : NULL;
  g_autofree char *hash = NULL;
  PtsSession *session;
  PtsNode *reply;

  if (self->http_base == NULL)
    {
      pts_proxy_reply_error (self, iq, "service-unavailable", "the HTTP side is disabled");
      return;
    }
  if (sid == NULL || *sid == '\0' || strlen (sid) > BSP_SID_MAX_LEN)
    {
      pts_proxy_reply_error (self, iq, "bad-request", "sid must have 1 to 128 characters");
      return;
    }
  if (initiator == NULL || !bsp_jid_is_full (initiator) || target == NULL
      || !bsp_jid_is_full (target))
    {
      pts_proxy_reply_error (self, iq, "bad-request", "jid must be the sender's full JID");
      return;
    }
  if (strcmp (initiator, target) == 0)
    {
      pts_proxy_reply_error (self, iq, "bad-request", "sender and receiver are the same");
      return;
    }
  if (!pts_config_acl_allows (self->config, target))
    {
      pts_proxy_reply_error (self, iq, "forbidden", "this proxy serves its own domains only");
      return;
    }
  hash = bsp_sidhash (sid, initiator, target);
  session = g_hash_table_lookup (self->sessions, hash);
  if (session != NULL)
    {
      pts_proxy_reply_error (self, iq, "conflict", "this stream already has a receiver");
      return;
    }
  if (g_hash_table_size (self->sessions) >= (guint) self->config->max_sessions)
    {
      pts_proxy_reply_error (self, iq, "resource-constraint", "too many sessions");
      return;
    }
  session = pts_proxy_new_session (self, hash);
  session->http_target = TRUE;
  session->initiator = g_steal_pointer (&initiator);
  session->target = g_steal_pointer (&target);
  g_debug ("session %.8s…: HTTP receiver %s", hash, session->target);

  reply = pts_stanza_iq_result (iq);
  pts_node_set_attr (pts_node_add_child (reply, "connected", BSP_NS_BSPROXY), "jid",
                     self->config->proxy_jid);
  pts_proxy_send (self, reply);
}

static void
pts_proxy_activate (PtsProxy *self, const PtsNode *iq, const PtsNode *query)
{
  const char *from = pts_node_get_attr (iq, "from");
  const char *sid = pts_node_get_attr (query, "sid");
  PtsNode *activate = pts_node_get_child (query, "activate", BSP_NS_BYTESTREAMS);
  gboolean http_initiator = pts_node_get_child (query, "x", BSP_NS_BSPROXY) != NULL;
  g_autofree char *target = activate && pts_node_get_text (activate)
                                ? g_strstrip (g_strdup (pts_node_get_text (activate)))
                                : NULL;
  g_autofree char *hash = NULL;
  g_autofree char *bare = NULL;
  PtsSession *session;
  PtsEndpoint *source, *sink;
  GSocketConnection *initiator_conn, *target_conn;
  PtsNode *reply;

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
  if (http_initiator && self->http_base == NULL)
    {
      pts_proxy_reply_error (self, iq, "feature-not-implemented", "the HTTP side is disabled");
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

  /* Who is where (protocol.md §4). */
  if (session->http_target)
    {
      initiator_conn = session->first;
      target_conn = NULL;
    }
  else
    {
      target_conn = session->first;
      initiator_conn = session->second;
    }
  if (!http_initiator && initiator_conn == NULL)
    {
      pts_proxy_reply_error (self, iq, "not-allowed", "only one party is connected");
      return;
    }
  bare = bsp_jid_bare (from);
  if (pts_proxy_count_active (self, bare) >= (guint) self->config->max_per_initiator
      || pts_proxy_count_active (self, NULL) >= (guint) self->config->max_transfers)
    {
      pts_proxy_reply_error (self, iq, "resource-constraint", "too many transfers");
      return;
    }

  g_clear_handle_id (&session->timer_id, g_source_remove);
  g_clear_handle_id (&session->first_watch, g_source_remove);
  g_clear_handle_id (&session->second_watch, g_source_remove);
  g_free (session->initiator);
  g_free (session->target);
  session->initiator = bsp_jid_normalize (from);
  session->target = bsp_jid_normalize (target);
  session->initiator_bare = g_steal_pointer (&bare);
  session->state = PTS_SESSION_ACTIVE;
  session->activated = g_get_monotonic_time ();

  if (http_initiator)
    {
      source = pts_http_upload_new (session->hash, self->config->max_file_size);
      session->upload_token = g_uuid_string_random ();
      g_hash_table_insert (self->uploads, session->upload_token, session);
    }
  else
    source = pts_socket_endpoint_new (initiator_conn, TRUE);
  if (session->http_target)
    {
      sink = pts_http_download_new ();
      session->download_id = g_uuid_string_random ();
      g_hash_table_insert (self->downloads, session->download_id, session);
    }
  else
    sink = pts_socket_endpoint_new (target_conn, FALSE);
  g_clear_object (&session->first);
  g_clear_object (&session->second);

  session->relay = pts_relay_new (self->config->buffer_size, source, sink,
                                  pts_session_relay_done, session);
  if (!http_initiator)
    pts_relay_set_file_info (session->relay, -1, NULL); /* a SOCKS5 stream has no headers */
  session->timer_id = g_timeout_add_seconds (MAX (1, self->config->idle_timeout / 4),
                                             pts_session_idle_check, session);
  pts_relay_start (session->relay);
  g_message ("session %.8s… active: %s (%s) → %s (%s)", session->hash, session->initiator,
             http_initiator ? "HTTP" : "SOCKS5", session->target,
             session->http_target ? "HTTP" : "SOCKS5");

  reply = pts_stanza_iq_result (iq);
  if (http_initiator)
    {
      g_autofree char *url = g_strdup_printf ("%s/upload/%s", self->http_base,
                                              session->upload_token);
      pts_node_set_attr (pts_node_add_child (reply, "activated", BSP_NS_BSPROXY), "url", url);
    }
  pts_proxy_send (self, reply);

  if (session->http_target)
    {
      g_autofree char *url = g_strdup_printf ("%s/%s", self->http_base, session->download_id);
      PtsNode *push = pts_proxy_push_new (self, session, "activated");
      pts_node_set_attr (push->children->pdata[0], "url", url);
      pts_proxy_send (self, push);
      session->progress_id = g_timeout_add (self->config->progress_interval_ms,
                                            pts_session_progress, session);
    }
}

static void
pts_proxy_handle_iq (PtsProxy *self, PtsNode *iq)
{
  const char *type = pts_node_get_attr (iq, "type");
  PtsNode *child = iq->children->len > 0 ? iq->children->pdata[0] : NULL;
  gboolean get;

  /* Answers to our pushes, and errors: nothing to do. */
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
  get = g_str_equal (type, "get");
  if (get && pts_node_is (child, "query", BSP_NS_DISCO_INFO))
    pts_proxy_disco_info (self, iq, child);
  else if (get && pts_node_is (child, "query", BSP_NS_DISCO_ITEMS))
    {
      PtsNode *reply = pts_stanza_iq_result (iq);
      pts_node_add_child (reply, "query", BSP_NS_DISCO_ITEMS);
      pts_proxy_send (self, reply);
    }
  else if (get && pts_node_is (child, "ping", PTS_NS_PING))
    pts_proxy_send (self, pts_stanza_iq_result (iq));
  else if (get && pts_node_is (child, "query", BSP_NS_BYTESTREAMS))
    pts_proxy_streamhost (self, iq);
  else if (!get && pts_node_is (child, "query", BSP_NS_BYTESTREAMS))
    pts_proxy_activate (self, iq, child);
  else if (!get && pts_node_is (child, "connect", BSP_NS_BSPROXY))
    pts_proxy_connect (self, iq, child);
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

/* ---- status ------------------------------------------------------------------- */

static const char *
pts_session_side (PtsSession *session, gboolean initiator)
{
  PtsEndpoint *ep;

  if (session->relay != NULL)
    {
      ep = initiator ? pts_relay_get_source (session->relay)
                     : pts_relay_get_sink (session->relay);
      return ep ? ep->klass->kind : "gone";
    }
  if (initiator)
    {
      GSocketConnection *c = session->http_target ? session->first : session->second;
      return c ? "socks5" : "none";
    }
  if (session->http_target)
    return "http";
  return session->first ? "socks5" : "none";
}

void
pts_proxy_build_status (PtsProxy *self, JsonBuilder *builder)
{
  GHashTableIter iter;
  PtsSession *session;
  const char *reason;
  gpointer count;
  gint64 now = g_get_monotonic_time ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "proxy_jid");
  json_builder_add_string_value (builder, self->config->proxy_jid);
  json_builder_set_member_name (builder, "http");
  json_builder_add_boolean_value (builder, self->http_base != NULL);

  json_builder_set_member_name (builder, "sessions");
  json_builder_begin_array (builder);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      double age = (now - session->created) / (double) G_USEC_PER_SEC;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "sidhash");
      json_builder_add_string_value (builder, session->hash);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, session->state == PTS_SESSION_ACTIVE ? "active"
                                                                                   : "pending");
      json_builder_set_member_name (builder, "initiator");
      json_builder_add_string_value (builder, pts_session_side (session, TRUE));
      json_builder_set_member_name (builder, "target");
      json_builder_add_string_value (builder, pts_session_side (session, FALSE));
      json_builder_set_member_name (builder, "age_s");
      json_builder_add_double_value (builder, age);
      if (session->relay != NULL)
        {
          guint64 bytes = pts_relay_bytes_out (session->relay);
          double secs = (now - session->activated) / (double) G_USEC_PER_SEC;
          json_builder_set_member_name (builder, "bytes");
          json_builder_add_int_value (builder, (gint64) bytes);
          json_builder_set_member_name (builder, "buffered");
          json_builder_add_int_value (builder, (gint64) pts_relay_buffered (session->relay));
          json_builder_set_member_name (builder, "total");
          json_builder_add_int_value (builder, pts_session_total (session));
          json_builder_set_member_name (builder, "rate_bps");
          json_builder_add_double_value (builder, secs > 0 ? bytes / secs : 0.0);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "counters");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "transfers_done");
  json_builder_add_int_value (builder, (gint64) self->transfers_done);
  json_builder_set_member_name (builder, "transfers_failed");
  json_builder_add_int_value (builder, (gint64) self->transfers_failed);
  json_builder_set_member_name (builder, "bytes_relayed");
  json_builder_add_int_value (builder, (gint64) self->bytes_relayed);
  json_builder_set_member_name (builder, "failed_by_reason");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->failures);
  while (g_hash_table_iter_next (&iter, (gpointer *) &reason, &count))
    {
      json_builder_set_member_name (builder, reason);
      json_builder_add_int_value (builder, GPOINTER_TO_UINT (count));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}
