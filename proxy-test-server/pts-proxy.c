/* pts-proxy.c — the bytestreams proxy: its IQs (disco, streamhost, <connect/>, activation)
 *
 * <abort/> and the <ended/> pushes are in pts-proxy-end.c.
 * The sessions live in a PtsSessionTable (pts-session.c); what the proxy
 * hangs on each — the SOCKS5 connections, the relay, the timers — is in
 * pts-proxy-session.c.
 *
 * Threads: all of this runs on the main thread (XMPP, the session table,
 * activation, the HTTP side). Only relays between two SOCKS5 connections
 * run on the pool's workers (pts-relay-pool.h); what the main thread may
 * still do with them is in pts-relay.c's opening comment.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-proxy"

#include <string.h>

#include "bsp-protocol.h"
#include "pts-http-download.h"
#include "pts-http-upload.h"
#include "pts-pairing.h"
#include "pts-proxy-private.h"
#include "pts-socket-endpoint.h"
#include "pts-stanza.h"

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
  self->endings = pts_proxy_endings_new ();
  {
    guint threads
        = config->relay_threads > 0 ? (guint) config->relay_threads : g_get_num_processors ();

    if (threads > 1)
      self->pool = pts_relay_pool_new (threads);
    g_debug ("relays between SOCKS5 connections: %u worker thread(s)%s", threads > 1 ? threads : 0,
             threads > 1 ? "" : ", on the main thread");
  }
  return self;
}

void
pts_proxy_shutdown (PtsProxy *self)
{
  /* Every session ends now, while the transports they use still exist. */
  pts_session_table_clear (self->table);
  g_hash_table_remove_all (self->endings);
}

void
pts_proxy_free (PtsProxy *self)
{
  if (self == NULL)
    return;
  pts_session_table_free (self->table);
  /* After the sessions: each relay was stopped in its worker. */
  g_clear_pointer (&self->pool, pts_relay_pool_free);
  g_hash_table_unref (self->endings);
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

void
pts_proxy_send (PtsProxy *self, PtsNode *stanza)
{
  if (self->send != NULL)
    self->send (stanza, self->send_data);
  else
    pts_node_free (stanza);
}

void
pts_proxy_reply_error (PtsProxy *self, const PtsNode *iq, const char *condition, const char *text)
{
  g_debug ("%s from %s: %s%s%s", pts_node_get_attr (iq, "id"), pts_node_get_attr (iq, "from"),
           condition, text ? ": " : "", text ? text : "");
  pts_proxy_send (self, pts_stanza_error (iq, condition, text));
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
pts_proxy_disco_info (PtsProxy *self, const PtsNode *iq, const PtsNode *query, gboolean socks5_only)
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
  if (self->http_base != NULL && !socks5_only)
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
          g_autofree char *max = g_strdup_printf ("%" G_GINT64_FORMAT, self->config->max_file_size);
          pts_proxy_form_field (x, "max-file-size", NULL, max);
        }
    }
  pts_proxy_send (self, reply);
}

static void
pts_proxy_streamhost (PtsProxy *self, const PtsNode *iq, const char *jid)
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
  pts_node_set_attr (host, "jid", jid);
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
    case PTS_PAIRING_OK: break;
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
  ps->initiator_conn = g_steal_pointer (&initiator_conn);
  ps->target_conn = g_steal_pointer (&target_conn);
  /* Whoever else connected for this stream is not a party. */
  g_ptr_array_set_size (ps->candidates, 0);

  pts_proxy_session_start_relay (ps, source, sink, !http_initiator);
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
    }
}

static void
pts_proxy_handle_iq (PtsProxy *self, PtsNode *iq)
{
  const char *type = pts_node_get_attr (iq, "type");
  PtsNode *child = iq->children->len > 0 ? iq->children->pdata[0] : NULL;
  const char *to;
  g_autofree char *norm = NULL;
  gboolean get, socks5_only;

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
  /* --test-socks5-only-jid: the same SOCKS5 side under a second name that
   * knows nothing of the bs-proxy extension. */
  to = pts_node_get_attr (iq, "to");
  norm = to ? bsp_jid_normalize (to) : NULL;
  socks5_only = norm != NULL && self->config->socks5_only_jid != NULL
                && g_strcmp0 (norm, self->config->socks5_only_jid) == 0;
  if (socks5_only
      && (pts_node_is (child, "connect", BSP_NS_BSPROXY)
          || pts_node_is (child, "abort", BSP_NS_BSPROXY)
          || pts_node_get_child (child, "x", BSP_NS_BSPROXY) != NULL))
    pts_proxy_reply_error (self, iq, "feature-not-implemented", "a SOCKS5-only proxy");
  else if (get && pts_node_is (child, "query", BSP_NS_DISCO_INFO))
    pts_proxy_disco_info (self, iq, child, socks5_only);
  else if (get && pts_node_is (child, "query", BSP_NS_DISCO_ITEMS))
    {
      PtsNode *reply = pts_stanza_iq_result (iq);
      pts_node_add_child (reply, "query", BSP_NS_DISCO_ITEMS);
      pts_proxy_send (self, reply);
    }
  else if (get && pts_node_is (child, "ping", PTS_NS_PING))
    pts_proxy_send (self, pts_stanza_iq_result (iq));
  else if (get && pts_node_is (child, "query", BSP_NS_BYTESTREAMS))
    pts_proxy_streamhost (self, iq, socks5_only ? norm : self->config->proxy_jid);
  else if (!get && pts_node_is (child, "query", BSP_NS_BYTESTREAMS))
    pts_proxy_activate (self, iq, child);
  else if (!get && pts_node_is (child, "connect", BSP_NS_BSPROXY))
    pts_proxy_connect (self, iq, child);
  else if (!get && pts_node_is (child, "abort", BSP_NS_BSPROXY))
    pts_proxy_abort (self, iq, child);
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

void
pts_proxy_build_status (PtsProxy *self, JsonBuilder *builder, gboolean tls)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "proxy_jid");
  json_builder_add_string_value (builder, self->config->proxy_jid);
  json_builder_set_member_name (builder, "http");
  json_builder_add_boolean_value (builder, self->http_base != NULL);
  json_builder_set_member_name (builder, "tls");
  json_builder_add_boolean_value (builder, tls);
  json_builder_set_member_name (builder, "relay_threads");
  json_builder_begin_array (builder);
  for (guint i = 0; self->pool != NULL && i < pts_relay_pool_size (self->pool); i++)
    json_builder_add_int_value (builder, pts_relay_pool_load (self->pool, i));
  json_builder_end_array (builder);
  pts_session_table_build_status (self->table, builder, g_get_monotonic_time (),
                                  pts_proxy_describe_session, self);
  json_builder_end_object (builder);
}
