/* pts-proxy-session.c — what the proxy hangs on a session: connections, relay, timers
 *
 * Before activation, every SOCKS5 connection that asks for the stream is
 * held as a candidate (pts-pairing.h says at activation which are the
 * parties); then the relay moves the bytes, a timer watches it for
 * idleness, and an HTTP target gets <progress/> pushes. The session table
 * frees all of it with the session.
 *
 * Threads: everything here runs on the main thread. A relay between two
 * SOCKS5 connections runs on a worker (pts_relay_start_in()), and one from
 * a SOCKS5 sender to an HTTP receiver moves to one once its download is a
 * plain socket (pts_relay_sink_became_socket()); this file
 * then only reads its published counters and kinds, fails it
 * (pts_relay_fail() queues that in the worker), frees it (which waits for
 * the worker to stop it), and gets its end on the main thread. The
 * session keeps a reference to both connections until then: the worker
 * closes them, but their last reference is dropped here, so that the
 * SOCKS5 listener counts a connection open for as long as its session.
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
#include "pts-proxy-private.h"
#include "pts-stanza.h"

/* Most SOCKS5 connections held for one stream before activation: its two
 * parties and two more (someone who learnt the SIDHASH, a party's retry). */
#define PTS_SESSION_MAX_CANDIDATES 4

/* A SOCKS5 connection that asked for a stream, parked until activation
 * says whose it is (pts-pairing.h). */
typedef struct
{
  PtsProxySession *ps;
  GSocketConnection *conn;
  GInetAddress *address; /* where it comes from */
  guint watch;
} PtsCandidate;

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

void
pts_proxy_session_free (PtsProxySession *ps)
{
  g_clear_handle_id (&ps->timer_id, g_source_remove);
  g_clear_handle_id (&ps->progress_id, g_source_remove);
  g_clear_pointer (&ps->relay, pts_relay_free);
  /* Finalized here, after the relay: counted open until now. */
  g_clear_object (&ps->initiator_conn);
  g_clear_object (&ps->target_conn);
  g_ptr_array_unref (ps->candidates);
  g_free (ps->abort_kind);
  g_free (ps->abort_text);
  g_free (ps);
}

/* ---- sessions ------------------------------------------------------------- */

static gboolean
pts_session_activation_timeout (gpointer user_data)
{
  PtsProxySession *ps = user_data;

  ps->timer_id = 0;
  g_message ("session %.8s… not activated within %d s; dropped", ps->session->hash,
             ps->proxy->config->activation_timeout);
  pts_proxy_session_expired (ps, "expired");
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
    g_autoptr (GError) error
        = g_error_new (PTS_RELAY_ERROR, PTS_RELAY_ERROR_TIMEOUT, "no data moved for %d s",
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
    g_message ("session %.8s… done: %" G_GUINT64_FORMAT " bytes in %.2f s (%.1f MiB/s, %s, %s)",
               session->hash, bytes, secs, secs > 0 ? bytes / secs / 1048576.0 : 0.0,
               pts_relay_mode (relay),
               pts_relay_get_context (relay) != NULL ? "worker thread" : "main thread");
  else
    {
      g_message ("session %.8s… failed after %" G_GUINT64_FORMAT " bytes: %s", session->hash, bytes,
                 error->message);
      pts_proxy_session_failed (ps, error);
    }
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

PtsProxySession *
pts_proxy_new_session (PtsProxy *self, const char *hash, const char **why)
{
  g_autoptr (GError) error = NULL;
  PtsSession *session = pts_session_table_add (self->table, hash, g_get_monotonic_time (), &error);
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
    candidate->address
        = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  candidate->watch
      = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, pts_candidate_parked_cb, candidate);
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

/* The relay of @session (NULL for none) once it is activated, or NULL. */
static PtsRelay *
pts_proxy_relay_of (PtsSession *session)
{
  PtsProxySession *ps = session != NULL ? session->glue : NULL;

  return ps != NULL ? ps->relay : NULL;
}

PtsEndpoint *
pts_proxy_find_upload (PtsProxy *self, const char *token)
{
  PtsRelay *relay = pts_proxy_relay_of (pts_session_table_find_upload (self->table, token));
  /* Only an HTTP end is looked at: a socket end may be a worker's. */
  PtsEndpoint *ep = relay != NULL && g_str_equal (pts_relay_kind (relay, TRUE), "http")
                        ? pts_relay_get_source (relay)
                        : NULL;

  return pts_http_endpoint_is_upload (ep) ? ep : NULL;
}

PtsEndpoint *
pts_proxy_find_download (PtsProxy *self, const char *token, gboolean *taken)
{
  PtsRelay *relay = pts_proxy_relay_of (pts_session_table_find_download (self->table, token));
  PtsEndpoint *ep;

  /* A relay with an HTTP sink goes to a worker only once its download is
   * the proxy's own socket (pts_relay_sink_became_socket()): its GET came,
   * and its endpoints are the worker's now. */
  *taken = relay != NULL && pts_relay_get_context (relay) != NULL;
  if (*taken)
    return NULL;
  ep = relay != NULL && g_str_equal (pts_relay_kind (relay, FALSE), "http")
           ? pts_relay_get_sink (relay)
           : NULL;
  return pts_http_endpoint_is_download (ep) ? ep : NULL;
}

/* ---- pushes to an HTTP target ---------------------------------------------- */

PtsNode *
pts_proxy_push_to (PtsProxy *self, const char *to, const char *hash, const char *name)
{
  g_autofree char *id = g_strdup_printf ("pts%u", ++self->next_id);
  PtsNode *iq = pts_stanza_iq_new ("set", self->config->proxy_jid, to, id);
  PtsNode *child = pts_node_add_child (iq, name, BSP_NS_BSPROXY);

  pts_node_set_attr (child, "sidhash", hash);
  return iq;
}

PtsNode *
pts_proxy_push_new (PtsProxy *self, PtsSession *session, const char *name)
{
  return pts_proxy_push_to (self, session->target, session->hash, name);
}

static gint64
pts_session_total (PtsProxySession *ps)
{
  gint64 size = -1;

  /* The file info of a SOCKS5 source is set before the start, for good. */
  pts_relay_get_file_info (ps->relay, &size, NULL);
  if (size < 0 && g_str_equal (pts_relay_kind (ps->relay, TRUE), "http"))
    {
      /* An HTTP upload: its relay is on the main thread. */
      PtsEndpoint *source = pts_relay_get_source (ps->relay);

      if (pts_http_endpoint_is_upload (source))
        size = pts_http_upload_get_total (source);
    }
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

/* Where @jid's XMPP connection comes from, when the proxy can know. */
static GInetAddress *
pts_proxy_peer_address (PtsProxy *self, const char *jid)
{
  return self->peer != NULL ? self->peer (jid, self->peer_data) : NULL;
}

PtsPairingResult
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
          c[k].near_initiator
              = near_initiator != NULL && g_inet_address_equal (candidate->address, near_initiator);
          c[k].near_target
              = near_target != NULL && g_inet_address_equal (candidate->address, near_target);
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

/* ---- status ------------------------------------------------------------------- */

static const char *
pts_session_side (PtsProxySession *ps, gboolean initiator)
{
  if (ps->relay != NULL)
    return pts_relay_kind (ps->relay, initiator);
  /* Before activation, which connection is whose is not known yet. */
  if (!initiator && ps->session->http_target)
    return "http";
  return ps->candidates->len > 0 ? "socks5" : "none";
}

void
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
pts_proxy_session_start_relay (PtsProxySession *ps, PtsEndpoint *source, PtsEndpoint *sink,
                               gboolean socks5_source)
{
  PtsProxy *self = ps->proxy;
  gboolean plain;

  ps->relay = pts_relay_new (self->config->buffer_size, source, sink, pts_session_relay_done, ps);
  /* Two plain sockets (never TLS: the SOCKS5 side has none): zero-copy. */
  plain = g_str_equal (source->klass->kind, "socks5") && g_str_equal (sink->klass->kind, "socks5");
  if (plain && !self->config->relay_copy)
    pts_relay_use_pipe (ps->relay);
  /* A plain HTTP download may turn into a socket later (pts-http-download.c):
   * then the relay may splice, and move to a worker. */
  pts_relay_allow_splice (ps->relay, !self->config->relay_copy, self->pool);
  /* The size the receiver expects: the download's Content-Length, and a
   * sender that gives fewer or more bytes fails the transfer. */
  pts_relay_expect_size (ps->relay, ps->session->expected_size);
  if (socks5_source)
    pts_relay_set_file_info (ps->relay, -1, NULL); /* a SOCKS5 stream has no headers */
  ps->timer_id
      = g_timeout_add_seconds (MAX (1, self->config->idle_timeout / 4), pts_session_idle_check, ps);
  if (ps->session->http_target)
    ps->progress_id = g_timeout_add (self->config->progress_interval_ms, pts_session_progress, ps);
  if (plain && self->pool != NULL)
    {
      /* Both its ends are the relay's own: a worker takes it whole. The
       * HTTP ends stay on the main thread with libsoup. */
      gint *load;
      GMainContext *context = pts_relay_pool_pick (self->pool, &load);

      pts_relay_start_in (ps->relay, context, load);
    }
  else
    pts_relay_start (ps->relay);
}
