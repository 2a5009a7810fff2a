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
#include "pts-http-download.h"
#include "pts-http-upload.h"
#include "pts-pairing.h"
#include "pts-proxy.h"
#include "pts-relay.h"
#include "pts-session.h"
#include "pts-socket-endpoint.h"
#include "pts-stanza.h"

/* Most SOCKS5 connections held for one stream before activation: its two
 * parties and two more (someone who learnt the SIDHASH, a party's retry). */
#define PTS_SESSION_MAX_CANDIDATES 4

typedef struct _PtsProxySession PtsProxySession;

/* A SOCKS5 connection that asked for a stream, parked until activation
 * says whose it is (pts-pairing.h). */
typedef struct
{
  PtsProxySession *ps;
  GSocketConnection *conn;
  GInetAddress *address; /* where it comes from */
  guint watch;
} PtsCandidate;

/* The proxy's side of a session (its glue in the table): the connections
 * waiting for activation, then the relay, and the timers. */
struct _PtsProxySession
{
  PtsProxy *proxy;
  PtsSession *session;
  GPtrArray *candidates; /* PtsCandidate, in arrival order, until activation */
  PtsRelay *relay;
  guint timer_id;        /* activation timeout, then idle check */
  guint progress_id;
  guint64 progress_last;
};

struct _PtsProxy
{
  const PtsConfig *config;
  PtsProxySendFunc send;
  gpointer send_data;
  char *host;
  guint16 port;
  char *http_base;        /* NULL = HTTP side disabled */
  PtsSessionTable *table;
  PtsProxyPeerFunc peer;  /* where a full JID's XMPP connection comes from */
  gpointer peer_data;
  guint next_id;
};

/* Closes its connection, if it still holds one. */
static void
pts_candidate_free (PtsCandidate *candidate)
{
  g_clear_handle_id (&candidate->watch, g_source_remove);
  if (candidate->conn != NULL)
    {
      g_io_stream_close (G_IO_STREAM (candidate->conn), NULL, NULL);
      g_object_unref (candidate->conn);
    }
  g_clear_object (&candidate->address);
  g_free (candidate);
}

static void
pts_proxy_session_free (PtsProxySession *ps)
{
  g_clear_handle_id (&ps->timer_id, g_source_remove);
  g_clear_handle_id (&ps->progress_id, g_source_remove);
  g_clear_pointer (&ps->relay, pts_relay_free);
  g_ptr_array_unref (ps->candidates);
  g_free (ps);
}

PtsProxy *
pts_proxy_new (const PtsConfig *config)
{
  PtsProxy *self = g_new0 (PtsProxy, 1);
  PtsSessionLimits limits = {
    (guint) config->max_sessions,
    (guint) config->max_transfers,
    (guint) config->max_per_initiator,
  };

  self->config = config;
  self->table = pts_session_table_new (&limits, (GDestroyNotify) pts_proxy_session_free);
  return self;
}

void
pts_proxy_shutdown (PtsProxy *self)
{
  /* Every session ends now, while the transports they use still exist. */
  pts_session_table_clear (self->table);
}

void
pts_proxy_free (PtsProxy *self)
{
  if (self == NULL)
    return;
  pts_session_table_free (self->table);
  g_free (self->http_base);
  g_free (self->host);
  g_free (self);
}

void
pts_proxy_set_peer_lookup (PtsProxy *self, PtsProxyPeerFunc peer, gpointer user_data)
{
  self->peer = peer;
  self->peer_data = user_data;
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
  return pts_session_table_count (self->table);
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

static gboolean
pts_session_activation_timeout (gpointer user_data)
{
  PtsProxySession *ps = user_data;

  ps->timer_id = 0;
  g_message ("session %.8s… not activated within %d s; dropped", ps->session->hash,
             ps->proxy->config->activation_timeout);
  pts_session_table_end (ps->proxy->table, ps->session, "activation-timeout", 0);
  return G_SOURCE_REMOVE;
}

static gboolean
pts_session_idle_check (gpointer user_data)
{
  PtsProxySession *ps = user_data;
  gint64 idle = g_get_monotonic_time () - pts_relay_last_activity (ps->relay);

  if (idle < (gint64) ps->proxy->config->idle_timeout * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  {
    g_autoptr (GError) error = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_TIMEOUT,
                                            "no data moved for %d s",
                                            ps->proxy->config->idle_timeout);
    ps->timer_id = 0;
    pts_relay_fail (ps->relay, error);
  }
  return G_SOURCE_REMOVE;
}

static void
pts_session_relay_done (PtsRelay *relay, const GError *error, gpointer user_data)
{
  PtsProxySession *ps = user_data;
  PtsSession *session = ps->session;
  guint64 bytes = pts_relay_bytes_out (relay);
  double secs = (g_get_monotonic_time () - session->activated) / (double) G_USEC_PER_SEC;

  if (error == NULL)
    g_message ("session %.8s… done: %" G_GUINT64_FORMAT " bytes in %.2f s (%.1f MiB/s)",
               session->hash, bytes, secs, secs > 0 ? bytes / secs / 1048576.0 : 0.0);
  else
    g_message ("session %.8s… failed after %" G_GUINT64_FORMAT " bytes: %s", session->hash,
               bytes, error->message);
  pts_session_table_end (ps->proxy->table, session,
                         error != NULL ? pts_relay_error_reason (error) : NULL, bytes);
}

/* A parked SOCKS5 connection (before activation) became readable: either
 * its peer left, or the initiator sent early data, which stays in the
 * kernel until the relay reads it (never consumed here). */
static gboolean
pts_candidate_parked_cb (gint fd, GIOCondition condition, gpointer user_data)
{
  PtsCandidate *candidate = user_data;
  PtsProxySession *ps = candidate->ps;
  char c;
  gssize n = recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

  if (n > 0)
    {
      /* Early data from the initiator: held, and no longer watched. */
      candidate->watch = 0;
      return G_SOURCE_REMOVE;
    }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return G_SOURCE_CONTINUE;

  /* It left: another may still come, unless the stream can't happen any
   * more (no SOCKS5 party left, and the target is not on HTTP). */
  g_debug ("session %.8s…: a SOCKS5 connection left before activation", ps->session->hash);
  candidate->watch = 0;
  g_ptr_array_remove (ps->candidates, candidate);
  if (ps->candidates->len == 0 && !ps->session->http_target)
    pts_session_table_end (ps->proxy->table, ps->session, "receiver-gone", 0);
  return G_SOURCE_REMOVE;
}

/* A new pending session with its glue, or NULL with the reason in @why. */
static PtsProxySession *
pts_proxy_new_session (PtsProxy *self, const char *hash, const char **why)
{
  g_autoptr (GError) error = NULL;
  PtsSession *session = pts_session_table_add (self->table, hash, g_get_monotonic_time (),
                                               &error);
  PtsProxySession *ps;

  if (session == NULL)
    {
      *why = "too many sessions";
      return NULL;
    }
  ps = g_new0 (PtsProxySession, 1);
  ps->proxy = self;
  ps->session = session;
  ps->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) pts_candidate_free);
  ps->timer_id = g_timeout_add_seconds (self->config->activation_timeout,
                                        pts_session_activation_timeout, ps);
  session->glue = ps;
  return ps;
}

static void
pts_session_add_candidate (PtsProxySession *ps, GSocketConnection *conn)
{
  PtsCandidate *candidate = g_new0 (PtsCandidate, 1);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  int fd = g_socket_get_fd (g_socket_connection_get_socket (conn));

  candidate->ps = ps;
  candidate->conn = g_object_ref (conn);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    candidate->address = g_object_ref (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  candidate->watch = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, pts_candidate_parked_cb,
                                    candidate);
  g_ptr_array_add (ps->candidates, candidate);
}

gboolean
pts_proxy_socks5_attach (PtsProxy *self, const char *hash, GSocketConnection *conn,
                         const char **why)
{
  PtsSession *session = pts_session_table_lookup (self->table, hash);
  PtsProxySession *ps;

  if (session == NULL)
    {
      if ((ps = pts_proxy_new_session (self, hash, why)) == NULL)
        return FALSE;
    }
  else if (session->state != PTS_SESSION_PENDING)
    {
      *why = "this stream is already active";
      return FALSE;
    }
  else if ((ps = session->glue)->candidates->len >= PTS_SESSION_MAX_CANDIDATES)
    {
      *why = "too many connections for this stream";
      return FALSE;
    }
  /* Every connection is held: which is whose is only decided at
   * activation, so that an early one can't displace a party. */
  pts_session_add_candidate (ps, conn);
  g_debug ("session %.8s…: SOCKS5 connection %u", hash, ps->candidates->len);
  return TRUE;
}

PtsEndpoint *
pts_proxy_find_upload (PtsProxy *self, const char *token)
{
  PtsSession *session = pts_session_table_find_upload (self->table, token);
  PtsProxySession *ps = session != NULL ? session->glue : NULL;
  PtsEndpoint *ep;

  if (ps == NULL || ps->relay == NULL)
    return NULL;
  ep = pts_relay_get_source (ps->relay);
  return pts_http_endpoint_is_upload (ep) ? ep : NULL;
}

PtsEndpoint *
pts_proxy_find_download (PtsProxy *self, const char *token)
{
  PtsSession *session = pts_session_table_find_download (self->table, token);
  PtsProxySession *ps = session != NULL ? session->glue : NULL;
  PtsEndpoint *ep;

  if (ps == NULL || ps->relay == NULL)
    return NULL;
  ep = pts_relay_get_sink (ps->relay);
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
pts_session_total (PtsProxySession *ps)
{
  PtsEndpoint *source = pts_relay_get_source (ps->relay);
  gint64 size = -1;

  pts_relay_get_file_info (ps->relay, &size, NULL);
  if (size < 0 && pts_http_endpoint_is_upload (source))
    size = pts_http_upload_get_total (source);
  return size;
}

static gboolean
pts_session_progress (gpointer user_data)
{
  PtsProxySession *ps = user_data;
  PtsProxy *self = ps->proxy;
  guint64 sent = pts_relay_bytes_out (ps->relay);
  gint64 total = pts_session_total (ps);
  PtsNode *iq, *progress;
  char num[32];

  if (sent == ps->progress_last)
    return G_SOURCE_CONTINUE; /* only while bytes flow */
  ps->progress_last = sent;
  iq = pts_proxy_push_new (self, ps->session, "progress");
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
pts_proxy_form_field (PtsNode *form, const char *var, const char *type, const char *value)
{
  PtsNode *field = pts_node_add_child (form, "field", NULL);

  pts_node_set_attr (field, "var", var);
  if (type != NULL)
    pts_node_set_attr (field, "type", type);
  pts_node_set_text (pts_node_add_child (field, "value", NULL), value);
}

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
      /* XEP-0128: where the URLs handed out live (a client accepts no
       * other), and the size limit as XEP-0363 announces its own. */
      PtsNode *x = pts_node_add_child (q, "x", PTS_NS_DATA_FORMS);
      g_autofree char *base = g_strconcat (self->http_base, "/", NULL);

      pts_node_set_attr (x, "type", "result");
      pts_proxy_form_field (x, "FORM_TYPE", "hidden", BSP_NS_BSPROXY);
      pts_proxy_form_field (x, "http-base", NULL, base);
      if (self->config->max_file_size > 0)
        {
          g_autofree char *max = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                  self->config->max_file_size);
          pts_proxy_form_field (x, "max-file-size", NULL, max);
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

/* A file size as sent on <connect size='…'/>: decimal digits only. */
static gboolean
pts_proxy_parse_size (const char *text, gint64 *size)
{
  guint64 value;

  if (*text == '\0' || strlen (text) > 18 || strspn (text, "0123456789") != strlen (text))
    return FALSE;
  value = g_ascii_strtoull (text, NULL, 10);
  *size = (gint64) value;
  return TRUE;
}

/* <connect xmlns=NS sid jid=I [size]/> from T: T downloads over HTTP (PROTOCOL.md §2). */
static void
pts_proxy_connect (PtsProxy *self, const PtsNode *iq, const PtsNode *connect)
{
  const char *from = pts_node_get_attr (iq, "from");
  const char *sid = pts_node_get_attr (connect, "sid");
  const char *jid = pts_node_get_attr (connect, "jid");
  const char *size_text = pts_node_get_attr (connect, "size");
  gint64 size = -1;
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
  if (size_text != NULL && !pts_proxy_parse_size (size_text, &size))
    {
      pts_proxy_reply_error (self, iq, "bad-request", "size must be a byte count");
      return;
    }
  if (size > 0 && self->config->max_file_size > 0 && size > self->config->max_file_size)
    {
      pts_proxy_reply_error (self, iq, "not-acceptable", "the file is over this proxy's limit");
      return;
    }
  hash = bsp_sidhash (sid, initiator, target);
  session = pts_session_table_lookup (self->table, hash);
  /* A SOCKS5 connection may have asked for this stream already (anyone
   * who learnt the SIDHASH can): it is then a sender candidate. The
   * <connect> itself comes from the receiver, as the server vouches. */
  if (session != NULL && (session->http_target || session->state != PTS_SESSION_PENDING))
    {
      pts_proxy_reply_error (self, iq, "conflict", "this stream already has a receiver");
      return;
    }
  if (session == NULL)
    {
      const char *why = NULL;
      PtsProxySession *ps = pts_proxy_new_session (self, hash, &why);

      if (ps == NULL)
        {
          pts_proxy_reply_error (self, iq, "resource-constraint", why);
          return;
        }
      session = ps->session;
    }
  session->http_target = TRUE;
  session->expected_size = size;
  g_free (session->initiator);
  g_free (session->target);
  session->initiator = g_steal_pointer (&initiator);
  session->target = g_steal_pointer (&target);
  g_debug ("session %.8s…: HTTP receiver %s", hash, session->target);

  reply = pts_stanza_iq_result (iq);
  pts_node_set_attr (pts_node_add_child (reply, "connected", BSP_NS_BSPROXY), "jid",
                     self->config->proxy_jid);
  pts_proxy_send (self, reply);
}

/* Where @jid's XMPP connection comes from, when the proxy can know. */
static GInetAddress *
pts_proxy_peer_address (PtsProxy *self, const char *jid)
{
  return self->peer != NULL ? self->peer (jid, self->peer_data) : NULL;
}

/* Picks the SOCKS5 connections of the parties that come by SOCKS5 and
 * hands them out (references); the others stay as candidates. */
static PtsPairingResult
pts_proxy_pair (PtsProxy *self, PtsProxySession *ps, const char *initiator, const char *target,
                gboolean want_initiator, gboolean want_target, GSocketConnection **initiator_conn,
                GSocketConnection **target_conn)
{
  g_autoptr (GInetAddress) near_initiator = pts_proxy_peer_address (self, initiator);
  g_autoptr (GInetAddress) near_target = pts_proxy_peer_address (self, target);
  guint n = ps->candidates->len;
  g_autofree PtsPairingCandidate *c = g_new0 (PtsPairingCandidate, MAX (n, 1));
  PtsPairingResult result;
  int i, t;

  for (guint k = 0; k < n; k++)
    {
      PtsCandidate *candidate = ps->candidates->pdata[k];
      if (candidate->address != NULL)
        {
          c[k].near_initiator = near_initiator != NULL
                                && g_inet_address_equal (candidate->address, near_initiator);
          c[k].near_target = near_target != NULL
                             && g_inet_address_equal (candidate->address, near_target);
        }
    }
  result = pts_pairing_choose (c, n, want_initiator, want_target, &i, &t);
  if (result != PTS_PAIRING_OK)
    return result;
  if (i >= 0)
    *initiator_conn = g_steal_pointer (&((PtsCandidate *) ps->candidates->pdata[i])->conn);
  if (t >= 0)
    *target_conn = g_steal_pointer (&((PtsCandidate *) ps->candidates->pdata[t])->conn);
  return PTS_PAIRING_OK;
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
  PtsProxySession *ps;
  g_autoptr (GError) error = NULL;
  PtsEndpoint *source, *sink;
  GSocketConnection *initiator_conn = NULL, *target_conn = NULL;
  g_autofree char *upload_token = NULL;
  g_autofree char *download_token = NULL;
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
  session = pts_session_table_lookup (self->table, hash);
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
  ps = session->glue;

  /* Who is where (PROTOCOL.md §4, §8.3). */
  bare = bsp_jid_bare (from);
  if (!pts_session_table_may_activate (self->table, bare, &error))
    {
      pts_proxy_reply_error (self, iq, "resource-constraint", error->message);
      return;
    }
  switch (pts_proxy_pair (self, ps, from, target, !http_initiator, !session->http_target,
                          &initiator_conn, &target_conn))
    {
    case PTS_PAIRING_OK:
      break;
    case PTS_PAIRING_MISSING:
      pts_proxy_reply_error (self, iq, "not-allowed", "only one party is connected");
      return;
    case PTS_PAIRING_AMBIGUOUS:
      g_message ("session %.8s…: %u SOCKS5 connections and no way to tell which are the "
                 "parties; activation refused",
                 session->hash, ps->candidates->len);
      pts_proxy_reply_error (self, iq, "conflict",
                             "more connections than parties for this stream: "
                             "the proxy can't tell which are yours");
      return;
    }

  g_clear_handle_id (&ps->timer_id, g_source_remove);
  {
    g_autofree char *initiator = bsp_jid_normalize (from);
    g_autofree char *target_norm = bsp_jid_normalize (target);

    pts_session_table_activate (self->table, session, initiator, target_norm, http_initiator,
                                g_get_monotonic_time (), &upload_token, &download_token);
  }
  source = http_initiator ? pts_http_upload_new (session->hash, self->config->max_file_size)
                          : pts_socket_endpoint_new (initiator_conn, TRUE);
  sink = session->http_target ? pts_http_download_new ()
                              : pts_socket_endpoint_new (target_conn, FALSE);
  g_clear_object (&initiator_conn);
  g_clear_object (&target_conn);
  /* Whoever else connected for this stream is not a party. */
  g_ptr_array_set_size (ps->candidates, 0);

  ps->relay = pts_relay_new (self->config->buffer_size, source, sink, pts_session_relay_done,
                             ps);
  /* The size the receiver expects: the download's Content-Length, and a
   * sender that gives fewer or more bytes fails the transfer. */
  pts_relay_expect_size (ps->relay, session->expected_size);
  if (!http_initiator)
    pts_relay_set_file_info (ps->relay, -1, NULL); /* a SOCKS5 stream has no headers */
  ps->timer_id = g_timeout_add_seconds (MAX (1, self->config->idle_timeout / 4),
                                        pts_session_idle_check, ps);
  pts_relay_start (ps->relay);
  g_message ("session %.8s… active: %s (%s) → %s (%s)", session->hash, session->initiator,
             http_initiator ? "HTTP" : "SOCKS5", session->target,
             session->http_target ? "HTTP" : "SOCKS5");

  reply = pts_stanza_iq_result (iq);
  if (http_initiator)
    {
      g_autofree char *url = g_strdup_printf ("%s/upload/%s", self->http_base, upload_token);
      pts_node_set_attr (pts_node_add_child (reply, "activated", BSP_NS_BSPROXY), "url", url);
    }
  pts_proxy_send (self, reply);

  if (session->http_target)
    {
      g_autofree char *url = g_strdup_printf ("%s/%s", self->http_base, download_token);
      PtsNode *push = pts_proxy_push_new (self, session, "activated");
      pts_node_set_attr (push->children->pdata[0], "url", url);
      pts_proxy_send (self, push);
      ps->progress_id = g_timeout_add (self->config->progress_interval_ms, pts_session_progress,
                                       ps);
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
pts_session_side (PtsProxySession *ps, gboolean initiator)
{
  PtsEndpoint *ep;

  if (ps->relay != NULL)
    {
      ep = initiator ? pts_relay_get_source (ps->relay) : pts_relay_get_sink (ps->relay);
      return ep ? ep->klass->kind : "gone";
    }
  /* Before activation, which connection is whose is not known yet. */
  if (!initiator && ps->session->http_target)
    return "http";
  return ps->candidates->len > 0 ? "socks5" : "none";
}

static void
pts_proxy_describe_session (PtsSession *session, JsonBuilder *builder, gpointer user_data)
{
  PtsProxySession *ps = session->glue;
  gint64 now = g_get_monotonic_time ();

  json_builder_set_member_name (builder, "initiator");
  json_builder_add_string_value (builder, pts_session_side (ps, TRUE));
  json_builder_set_member_name (builder, "target");
  json_builder_add_string_value (builder, pts_session_side (ps, FALSE));
  if (ps->relay != NULL)
    {
      guint64 bytes = pts_relay_bytes_out (ps->relay);
      double secs = (now - session->activated) / (double) G_USEC_PER_SEC;

      json_builder_set_member_name (builder, "bytes");
      json_builder_add_int_value (builder, (gint64) bytes);
      json_builder_set_member_name (builder, "buffered");
      json_builder_add_int_value (builder, (gint64) pts_relay_buffered (ps->relay));
      json_builder_set_member_name (builder, "total");
      json_builder_add_int_value (builder, pts_session_total (ps));
      json_builder_set_member_name (builder, "rate_bps");
      json_builder_add_double_value (builder, secs > 0 ? bytes / secs : 0.0);
    }
}

void
pts_proxy_build_status (PtsProxy *self, JsonBuilder *builder)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "proxy_jid");
  json_builder_add_string_value (builder, self->config->proxy_jid);
  json_builder_set_member_name (builder, "http");
  json_builder_add_boolean_value (builder, self->http_base != NULL);
  pts_session_table_build_status (self->table, builder, g_get_monotonic_time (),
                                  pts_proxy_describe_session, self);
  json_builder_end_object (builder);
}
