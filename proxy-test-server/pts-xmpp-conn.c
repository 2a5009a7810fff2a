/* pts-xmpp-conn.c — one XMPP stream over a GIOStream: parse in, queue out
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-xmpp"

#include <string.h>

#include "pts-xmpp-conn.h"
#include "pts-net.h"

#define PTS_XMPP_READ_SIZE 16384
/* A peer that does not read what it is sent is cut off past this. */
#define PTS_XMPP_MAX_QUEUED (4 * 1024 * 1024)

struct _PtsXmppConn
{
  gint ref_count;
  GIOStream *stream; /* the TLS connection once STARTTLS is done */
  GIOStream *base;   /* the accepted connection */
  GCancellable *cancellable;
  PtsXmppConnCallbacks callbacks;
  gpointer user_data;
  PtsXmlParser *parser;
  guint8 read_buf[PTS_XMPP_READ_SIZE];

  GByteArray *out;      /* queued, not yet handed to a write */
  GByteArray *inflight; /* being written; never touched by appends */
  gsize inflight_off;
  gboolean writing;
  gboolean closing; /* no more input; close once @out is flushed */
  gboolean closed;  /* the closed callback ran or is scheduled */
  GError *close_error;
  guint keepalive_id;
  guint keepalive_seconds;
  gint64 last_write;

  /* STARTTLS: once asked for, nothing more is read in clear; the handshake
   * starts when everything queued before it is written. */
  GTlsCertificate *tls_certificate;
  gboolean tls_pending; /* asked for, handshake not finished */
  gboolean tls_handshaking;
  gboolean tls_violated; /* the peer sent a stanza after asking for TLS */
};

static void pts_xmpp_conn_flush (PtsXmppConn *self);
static void pts_xmpp_conn_read (PtsXmppConn *self);
static void pts_xmpp_conn_handshake (PtsXmppConn *self);

static void
pts_xmpp_conn_on_stream_start (gpointer user_data, const PtsNode *root)
{
  PtsXmppConn *self = user_data;

  if (!self->closing && self->callbacks.stream_start != NULL)
    self->callbacks.stream_start (self, root, self->user_data);
}

static void
pts_xmpp_conn_on_stanza (gpointer user_data, PtsNode *stanza)
{
  PtsXmppConn *self = user_data;

  if (self->closing || self->tls_pending)
    {
      /* After <starttls/> the peer must wait for <proceed/> (RFC 6120 §5.4.2.3). */
      self->tls_violated = self->tls_pending;
      pts_node_free (stanza);
      return;
    }
  self->callbacks.stanza (self, stanza, self->user_data);
}

static void
pts_xmpp_conn_on_stream_end (gpointer user_data)
{
  PtsXmppConn *self = user_data;

  pts_xmpp_conn_close (self, NULL, NULL);
}

static const PtsXmlCallbacks pts_xmpp_conn_parser_callbacks = {
  pts_xmpp_conn_on_stream_start,
  pts_xmpp_conn_on_stanza,
  pts_xmpp_conn_on_stream_end,
};

PtsXmppConn *
pts_xmpp_conn_new (GIOStream *stream, const PtsXmppConnCallbacks *callbacks, gpointer user_data,
                   gsize max_stanza)
{
  PtsXmppConn *self = g_new0 (PtsXmppConn, 1);

  self->ref_count = 1;
  self->stream = g_object_ref (stream);
  self->base = g_object_ref (stream);
  self->cancellable = g_cancellable_new ();
  self->callbacks = *callbacks;
  self->user_data = user_data;
  self->parser = pts_xml_parser_new (&pts_xmpp_conn_parser_callbacks, self, max_stanza, 32);
  self->out = g_byte_array_new ();
  self->inflight = g_byte_array_new ();
  return self;
}

PtsXmppConn *
pts_xmpp_conn_ref (PtsXmppConn *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
pts_xmpp_conn_unref (PtsXmppConn *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  g_object_unref (self->stream);
  g_object_unref (self->base);
  pts_xml_parser_free (self->parser);
  g_byte_array_unref (self->out);
  g_byte_array_unref (self->inflight);
  g_clear_error (&self->close_error);
  g_clear_object (&self->tls_certificate);
  g_free (self);
}

gboolean
pts_xmpp_conn_is_closing (PtsXmppConn *self)
{
  return self->closing;
}

static void
pts_xmpp_conn_stream_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsXmppConn *self = user_data;

  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  if (!self->closed)
    {
      self->closed = TRUE;
      g_clear_handle_id (&self->keepalive_id, g_source_remove);
      self->callbacks.closed (self, self->close_error, self->user_data);
    }
  pts_xmpp_conn_unref (self);
}

/* Ends the connection now (after a failed read or write, or a flushed close). */
static void
pts_xmpp_conn_shutdown (PtsXmppConn *self, const GError *error)
{
  if (self->closed || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (error != NULL && self->close_error == NULL)
    self->close_error = g_error_copy (error);
  self->closing = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, pts_xmpp_conn_stream_closed,
                           pts_xmpp_conn_ref (self));
}

static void
pts_xmpp_conn_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsXmppConn *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_output_stream_write_finish (G_OUTPUT_STREAM (source), result, &error);

  self->writing = FALSE;
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pts_xmpp_conn_shutdown (self, error);
      pts_xmpp_conn_unref (self);
      return;
    }
  self->inflight_off += n;
  if (self->inflight_off == self->inflight->len)
    {
      g_byte_array_set_size (self->inflight, 0);
      self->inflight_off = 0;
    }
  self->last_write = g_get_monotonic_time ();
  pts_xmpp_conn_flush (self);
  pts_xmpp_conn_unref (self);
}

static void
pts_xmpp_conn_flush (PtsXmppConn *self)
{
  if (self->writing || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (self->inflight->len == 0)
    {
      GByteArray *tmp;

      if (self->out->len == 0)
        {
          if (self->closing)
            pts_xmpp_conn_shutdown (self, NULL);
          else if (self->tls_pending && !self->tls_handshaking)
            pts_xmpp_conn_handshake (self);
          return;
        }
      tmp = self->inflight;
      self->inflight = self->out;
      self->out = tmp;
      self->inflight_off = 0;
    }
  self->writing = TRUE;
  g_output_stream_write_async (g_io_stream_get_output_stream (self->stream),
                               self->inflight->data + self->inflight_off,
                               self->inflight->len - self->inflight_off, G_PRIORITY_DEFAULT,
                               self->cancellable, pts_xmpp_conn_written, pts_xmpp_conn_ref (self));
}

void
pts_xmpp_conn_send_raw (PtsXmppConn *self, const char *data, gssize len)
{
  if (self->closed || g_cancellable_is_cancelled (self->cancellable))
    return;
  if (len < 0)
    len = strlen (data);
  if (self->out->len + self->inflight->len + (gsize) len > PTS_XMPP_MAX_QUEUED)
    {
      g_autoptr (GError) error
          = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NO_SPACE, "peer does not read its stream");
      pts_xmpp_conn_shutdown (self, error);
      return;
    }
  g_byte_array_append (self->out, (const guint8 *) data, (guint) len);
  pts_xmpp_conn_flush (self);
}

void
pts_xmpp_conn_send (PtsXmppConn *self, const PtsNode *node, const char *stream_ns)
{
  g_autofree char *xml = pts_node_to_string (node, stream_ns);

  pts_xmpp_conn_send_raw (self, xml, -1);
}

void
pts_xmpp_conn_close (PtsXmppConn *self, const char *condition, const char *text)
{
  if (self->closing)
    return;
  if (self->tls_pending)
    {
      /* Mid-handshake neither clear text nor TLS can carry a stream error. */
      g_autoptr (GError) error
          = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "%s during the TLS handshake",
                         condition != NULL ? condition : "closed");
      pts_xmpp_conn_shutdown (self, error);
      return;
    }
  if (condition != NULL)
    {
      GString *err = g_string_new ("<stream:error><");
      g_string_append_printf (err, "%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", condition);
      if (text != NULL)
        {
          /* The parser's message may quote the offending bytes: never send
           * them back, the peer's parser would fail on its own error. */
          g_autofree char *valid = g_utf8_make_valid (text, -1);
          g_autofree char *escaped = NULL;
          for (char *p = valid; *p != '\0'; p++)
            if ((guchar) *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
              *p = '?';
          escaped = pts_xml_escape (valid);
          g_string_append_printf (
              err, "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>%s</text>", escaped);
        }
      g_string_append (err, "</stream:error>");
      pts_xmpp_conn_send_raw (self, err->str, err->len);
      g_string_free (err, TRUE);
    }
  pts_xmpp_conn_send_raw (self, "</stream:stream>", -1);
  self->closing = TRUE;
  pts_xmpp_conn_flush (self);
}

void
pts_xmpp_conn_abort (PtsXmppConn *self)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  self->closing = TRUE;
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  /* The socket itself: a TLS close could wait on a peer that does not read. */
  g_io_stream_close (self->base, NULL, NULL);
}

void
pts_xmpp_conn_restart (PtsXmppConn *self)
{
  pts_xml_parser_restart (self->parser);
}

static void
pts_xmpp_conn_on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsXmppConn *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pts_xmpp_conn_shutdown (self, error);
    }
  else if (n == 0)
    {
      g_autoptr (GError) eof = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                                    "connection closed by peer");
      pts_xmpp_conn_shutdown (self, self->closing ? NULL : eof);
    }
  else if (!pts_xml_parser_feed (self->parser, (const char *) self->read_buf, n, &error))
    {
      const char *condition = "not-well-formed";
      if (g_error_matches (error, PTS_XML_ERROR, PTS_XML_ERROR_TOO_BIG))
        condition = "policy-violation";
      else if (g_error_matches (error, PTS_XML_ERROR, PTS_XML_ERROR_FORBIDDEN))
        condition = "restricted-xml";
      else if (g_error_matches (error, PTS_XML_ERROR, PTS_XML_ERROR_BAD_NAMESPACE))
        condition = "invalid-namespace";
      g_message ("closing stream: %s", error->message);
      if (self->close_error == NULL)
        self->close_error = g_error_copy (error);
      pts_xmpp_conn_close (self, condition, error->message);
    }
  else if (self->tls_violated)
    {
      g_autoptr (GError) early = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                                      "data after <starttls/> before <proceed/>");
      pts_xmpp_conn_shutdown (self, early);
    }
  else if (!self->closing && !self->tls_pending)
    pts_xmpp_conn_read (self);
  pts_xmpp_conn_unref (self);
}

static void
pts_xmpp_conn_read (PtsXmppConn *self)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream), self->read_buf,
                             sizeof self->read_buf, G_PRIORITY_DEFAULT, self->cancellable,
                             pts_xmpp_conn_on_read, pts_xmpp_conn_ref (self));
}

void
pts_xmpp_conn_start (PtsXmppConn *self)
{
  pts_xmpp_conn_read (self);
}

static gboolean
pts_xmpp_conn_keepalive (gpointer user_data)
{
  PtsXmppConn *self = user_data;
  gint64 idle = g_get_monotonic_time () - self->last_write;

  if (idle >= (gint64) self->keepalive_seconds * G_USEC_PER_SEC)
    pts_xmpp_conn_send_raw (self, " ", 1);
  return G_SOURCE_CONTINUE;
}

void
pts_xmpp_conn_set_keepalive (PtsXmppConn *self, guint seconds)
{
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  self->keepalive_seconds = seconds;
  self->last_write = g_get_monotonic_time ();
  if (seconds > 0)
    self->keepalive_id = g_timeout_add_seconds (seconds, pts_xmpp_conn_keepalive, self);
}

static void
pts_xmpp_conn_handshaken (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsXmppConn *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_prefix_error (&error, "TLS handshake: ");
          pts_xmpp_conn_shutdown (self, error);
        }
      pts_xmpp_conn_unref (self);
      return;
    }
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      pts_xmpp_conn_unref (self);
      return;
    }
  /* From here on the stream is the TLS one; closing it closes the socket. */
  g_object_unref (self->stream);
  self->stream = G_IO_STREAM (g_object_ref (source));
  self->tls_pending = FALSE;
  self->tls_handshaking = FALSE;
  pts_xml_parser_restart (self->parser);
  pts_xmpp_conn_read (self);
  pts_xmpp_conn_flush (self);
  pts_xmpp_conn_unref (self);
}

static void
pts_xmpp_conn_handshake (PtsXmppConn *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = NULL;

  self->tls_handshaking = TRUE;
  tls = pts_net_tls_server_new (self->stream, self->tls_certificate, &error);
  if (tls == NULL)
    {
      g_prefix_error (&error, "TLS: ");
      pts_xmpp_conn_shutdown (self, error);
      return;
    }
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable,
                                    pts_xmpp_conn_handshaken, pts_xmpp_conn_ref (self));
}

void
pts_xmpp_conn_start_tls (PtsXmppConn *self, GTlsCertificate *certificate)
{
  g_return_if_fail (!self->tls_pending);
  if (self->closing)
    return;
  g_set_object (&self->tls_certificate, certificate);
  self->tls_pending = TRUE;
  pts_xmpp_conn_flush (self);
}

gboolean
pts_xmpp_conn_is_tls (PtsXmppConn *self)
{
  return G_IS_TLS_CONNECTION (self->stream);
}
