/* pts-test-xmpp.c — blocking helpers for tests of proxy-test-server: a raw
 * XMPP client (stream, SASL PLAIN, binding, IQs, waiting for a stanza) and
 * stanza inspection (see pts-test-util.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-test"

#include <stdarg.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-test-util.h"

/* ==== raw XMPP client ================================================================ */

struct _PtsTestClient
{
  GSocketConnection *conn;
  GSocket *socket;
  char *domain;
  char *jid;
  char *stream_id;
  PtsXmlParser *parser;
  GQueue stanzas;    /* PtsNode *, received and not yet taken */
  PtsNode *features; /* of the current stream */
  gboolean closed;   /* the peer closed the TCP connection */
  guint64 bytes_received;
  GError *parse_error;
  guint next_id;
  gpointer data; /* pts_test_client_set_data_full() */
  GDestroyNotify data_destroy;
};

static void
pts_test_client_on_stream_start (gpointer user_data, const PtsNode *root)
{
  PtsTestClient *self = user_data;

  g_free (self->stream_id);
  self->stream_id = g_strdup (pts_node_get_attr (root, "id"));
}

static void
pts_test_client_on_stanza (gpointer user_data, PtsNode *stanza)
{
  PtsTestClient *self = user_data;

  /* After <success/> the server expects a new stream from the next byte. */
  if (pts_node_is (stanza, "success", PTS_TEST_NS_SASL))
    pts_xml_parser_restart (self->parser);
  g_queue_push_tail (&self->stanzas, stanza);
}

static void
pts_test_client_on_stream_end (gpointer user_data)
{
}

static const PtsXmlCallbacks pts_test_client_parser_callbacks = {
  pts_test_client_on_stream_start,
  pts_test_client_on_stanza,
  pts_test_client_on_stream_end,
};

/* Reads once (waiting until @deadline) and feeds the parser. */
static gboolean
pts_test_client_read (PtsTestClient *self, gint64 deadline, GError **error)
{
  guint8 buf[16384];
  gssize n;

  if (self->closed)
    {
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_CLOSED,
                           "the server closed the connection");
      return FALSE;
    }
  n = pts_test_socket_receive (self->socket, buf, sizeof buf, deadline, error);
  if (n < 0)
    return FALSE;
  if (n == 0)
    {
      self->closed = TRUE;
      return TRUE;
    }
  self->bytes_received += n;
  if (self->parse_error == NULL)
    pts_xml_parser_feed (self->parser, (const char *) buf, n, &self->parse_error);
  return TRUE;
}

static gboolean
pts_test_is_stream_error (const PtsNode *stanza)
{
  return pts_node_is (stanza, "error", PTS_NS_STREAMS);
}

static const char *
pts_test_stream_error_condition (const PtsNode *stanza)
{
  for (guint i = 0; i < stanza->children->len; i++)
    {
      const PtsNode *child = stanza->children->pdata[i];
      if (pts_node_is (child, NULL, PTS_TEST_NS_STREAM_ERRORS)
          && g_strcmp0 (child->name, "text") != 0)
        return child->name;
    }
  return "undefined-condition";
}

PtsNode *
pts_test_client_wait (PtsTestClient *self, PtsTestStanzaFunc match, gpointer user_data,
                      guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr (GError) local_error = NULL;

  /* Bounded by the deadline: every round reads once, waiting at most until
   * then. */
  for (;;)
    {
      for (GList *l = self->stanzas.head; l != NULL; l = l->next)
        if (match == NULL || match (l->data, user_data))
          {
            PtsNode *stanza = l->data;
            g_queue_delete_link (&self->stanzas, l);
            return stanza;
          }
      for (GList *l = self->stanzas.head; l != NULL; l = l->next)
        if (pts_test_is_stream_error (l->data))
          {
            g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_STREAM,
                                 pts_test_stream_error_condition (l->data));
            return NULL;
          }
      if (self->parse_error != NULL)
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                       "the server's stream does not parse: %s", self->parse_error->message);
          return NULL;
        }
      if (g_get_monotonic_time () >= deadline
          || !pts_test_client_read (self, deadline, &local_error))
        {
          g_autofree char *first = NULL;

          if (local_error != NULL
              && !g_error_matches (local_error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          /* Say what did come, for the test log. */
          if (self->stanzas.head != NULL)
            first = pts_test_node_to_string (self->stanzas.head->data);
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                       "no matching stanza within %u ms (%u others waiting%s%.200s)", timeout_ms,
                       self->stanzas.length, first ? ", the first: " : "", first ? first : "");
          return NULL;
        }
    }
}

static gboolean
pts_test_match_name (const PtsNode *stanza, gpointer user_data)
{
  const char *const *name_ns = user_data;

  return pts_node_is (stanza, name_ns[0], name_ns[1]);
}

static PtsNode *
pts_test_client_wait_name (PtsTestClient *self, const char *name, const char *ns, GError **error)
{
  const char *name_ns[2] = { name, ns };

  return pts_test_client_wait (self, pts_test_match_name, name_ns, PTS_TEST_TIMEOUT_MS, error);
}

static gboolean
pts_test_match_iq_reply (const PtsNode *stanza, gpointer user_data)
{
  const char *type = pts_node_get_attr (stanza, "type");

  return pts_node_is (stanza, "iq", NULL)
         && g_strcmp0 (pts_node_get_attr (stanza, "id"), user_data) == 0
         && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0);
}

PtsNode *
pts_test_client_wait_iq (PtsTestClient *self, const char *id, guint timeout_ms, GError **error)
{
  return pts_test_client_wait (self, pts_test_match_iq_reply, (gpointer) id, timeout_ms, error);
}

static gboolean
pts_test_match_stream_error (const PtsNode *stanza, gpointer user_data)
{
  return pts_test_is_stream_error (stanza);
}

char *
pts_test_client_wait_stream_error (PtsTestClient *self, guint timeout_ms, GError **error)
{
  g_autoptr (PtsNode) stanza
      = pts_test_client_wait (self, pts_test_match_stream_error, NULL, timeout_ms, error);

  return stanza ? g_strdup (pts_test_stream_error_condition (stanza)) : NULL;
}

guint64
pts_test_client_get_bytes_received (PtsTestClient *self)
{
  return self->bytes_received;
}

gboolean
pts_test_client_wait_bytes (PtsTestClient *self, guint64 count, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  /* Bounded: each read waits at most until the deadline. */
  while (self->bytes_received < count)
    if (!pts_test_client_read (self, deadline, error))
      return FALSE;
    else if (self->closed)
      {
        g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_CLOSED,
                             "the server closed the connection");
        return FALSE;
      }
  return TRUE;
}

gboolean
pts_test_client_wait_closed (PtsTestClient *self, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!self->closed)
    {
      g_autoptr (GError) local_error = NULL;

      if (!pts_test_client_read (self, deadline, &local_error))
        {
          if (g_error_matches (local_error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT))
            {
              g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                           "the server kept the connection open for %u ms", timeout_ms);
              return FALSE;
            }
          /* A reset is a close too. */
          self->closed = TRUE;
        }
    }
  return TRUE;
}

gboolean
pts_test_client_send_raw (PtsTestClient *self, const char *data, gssize len, GError **error)
{
  if (len < 0)
    len = strlen (data);
  return pts_test_socket_send_all (self->conn, data, len, error);
}

gboolean
pts_test_client_sendv (PtsTestClient *self, GError **error, const char *format, va_list args)
{
  g_autofree char *xml = g_markup_vprintf_escaped (format, args);

  return pts_test_client_send_raw (self, xml, -1, error);
}

gboolean
pts_test_client_sendf (PtsTestClient *self, GError **error, const char *format, ...)
{
  va_list args;
  gboolean ok;

  va_start (args, format);
  ok = pts_test_client_sendv (self, error, format, args);
  va_end (args);
  return ok;
}

char *
pts_test_client_next_id (PtsTestClient *self)
{
  return g_strdup_printf ("pts-test-%u", ++self->next_id);
}

PtsNode *
pts_test_client_iqv (PtsTestClient *self, GError **error, const char *format, va_list args)
{
  g_autofree char *xml = g_markup_vprintf_escaped (format, args);
  g_autofree char *id = pts_test_client_next_id (self);
  g_autofree char *with_id = NULL;

  g_return_val_if_fail (g_str_has_prefix (xml, "<iq "), NULL);
  with_id = g_strdup_printf ("<iq id='%s' %s", id, xml + strlen ("<iq "));
  if (!pts_test_client_send_raw (self, with_id, -1, error))
    return NULL;
  return pts_test_client_wait_iq (self, id, PTS_TEST_TIMEOUT_MS, error);
}

PtsNode *
pts_test_client_iq (PtsTestClient *self, GError **error, const char *format, ...)
{
  va_list args;
  PtsNode *reply;

  va_start (args, format);
  reply = pts_test_client_iqv (self, error, format, args);
  va_end (args);
  return reply;
}

gboolean
pts_test_client_open_stream (PtsTestClient *self, GError **error)
{
  PtsNode *features;

  if (!pts_test_client_sendf (self, error,
                              "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                              "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
                              "version='1.0' xml:lang='en'>",
                              self->domain))
    return FALSE;
  features = pts_test_client_wait_name (self, "features", PTS_NS_STREAMS, error);
  if (features == NULL)
    {
      g_prefix_error (error, "waiting for stream features: ");
      return FALSE;
    }
  g_clear_pointer (&self->features, pts_node_free);
  self->features = features;
  return TRUE;
}

PtsTestClient *
pts_test_client_new_for_connection (GSocketConnection *conn, const char *domain)
{
  PtsTestClient *self = g_new0 (PtsTestClient, 1);

  self->domain = g_strdup (domain);
  self->parser = pts_xml_parser_new (&pts_test_client_parser_callbacks, self, 16 * 1024 * 1024, 64);
  g_queue_init (&self->stanzas);
  self->conn = g_object_ref (conn);
  self->socket = g_socket_connection_get_socket (self->conn);
  return self;
}

PtsTestClient *
pts_test_client_connect (const char *host, guint16 port, const char *domain, GError **error)
{
  g_autoptr (GSocketConnection) conn = pts_test_tcp_connect (host, port, error);
  g_autoptr (PtsTestClient) self = NULL;

  if (conn == NULL)
    return NULL;
  self = pts_test_client_new_for_connection (conn, domain);
  if (!pts_test_client_open_stream (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

static gboolean
pts_test_client_offers_plain (PtsTestClient *self)
{
  PtsNode *mechanisms = pts_node_get_child (self->features, "mechanisms", PTS_TEST_NS_SASL);

  for (guint i = 0; mechanisms != NULL && i < mechanisms->children->len; i++)
    if (g_strcmp0 (pts_node_get_text (mechanisms->children->pdata[i]), "PLAIN") == 0)
      return TRUE;
  return FALSE;
}

static gboolean
pts_test_match_sasl_outcome (const PtsNode *stanza, gpointer user_data)
{
  return pts_node_is (stanza, "success", PTS_TEST_NS_SASL)
         || pts_node_is (stanza, "failure", PTS_TEST_NS_SASL)
         || pts_node_is (stanza, "challenge", PTS_TEST_NS_SASL);
}

gboolean
pts_test_client_authenticate (PtsTestClient *self, const char *user, const char *password,
                              GError **error)
{
  return pts_test_client_authenticate_as (self, "", user, password, error);
}

gboolean
pts_test_client_authenticate_as (PtsTestClient *self, const char *authzid, const char *user,
                                 const char *password, GError **error)
{
  gsize authzid_len = strlen (authzid);
  gsize user_len = strlen (user), password_len = strlen (password);
  g_autofree guint8 *raw = g_malloc (authzid_len + user_len + password_len + 2);
  g_autofree char *b64 = NULL;
  g_autoptr (PtsNode) outcome = NULL;

  if (!pts_test_client_offers_plain (self))
    {
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                           "the server does not offer SASL PLAIN");
      return FALSE;
    }
  /* authzid NUL authcid NUL password */
  memcpy (raw, authzid, authzid_len);
  raw[authzid_len] = '\0';
  memcpy (raw + authzid_len + 1, user, user_len);
  raw[authzid_len + 1 + user_len] = '\0';
  memcpy (raw + authzid_len + 2 + user_len, password, password_len);
  b64 = g_base64_encode (raw, authzid_len + user_len + password_len + 2);
  if (!pts_test_client_sendf (self, error,
                              "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                              "mechanism='PLAIN'>%s</auth>",
                              b64))
    return FALSE;
  outcome
      = pts_test_client_wait (self, pts_test_match_sasl_outcome, NULL, PTS_TEST_TIMEOUT_MS, error);
  if (outcome == NULL)
    return FALSE;
  if (pts_node_is (outcome, "failure", NULL))
    {
      const PtsNode *condition = NULL;
      for (guint i = 0; i < outcome->children->len && condition == NULL; i++)
        if (g_strcmp0 (((PtsNode *) outcome->children->pdata[i])->name, "text") != 0)
          condition = outcome->children->pdata[i];
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH,
                           condition ? condition->name : "undefined");
      return FALSE;
    }
  if (pts_node_is (outcome, "challenge", NULL))
    {
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                           "the server sent a SASL challenge for PLAIN with an initial "
                           "response");
      return FALSE;
    }
  return pts_test_client_open_stream (self, error);
}

gboolean
pts_test_client_bind (PtsTestClient *self, const char *resource, GError **error)
{
  g_autoptr (PtsNode) reply = NULL;
  PtsNode *jid;
  PtsNode *session;

  if (resource != NULL)
    reply = pts_test_client_iq (self, error,
                                "<iq type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                                "<resource>%s</resource></bind></iq>",
                                resource);
  else
    reply = pts_test_client_iq (self, error,
                                "<iq type='set'>"
                                "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  if (reply == NULL)
    return FALSE;
  jid = pts_test_node_find (reply, "jid", PTS_TEST_NS_BIND);
  if (g_strcmp0 (pts_node_get_attr (reply, "type"), "result") != 0 || jid == NULL
      || pts_node_get_text (jid) == NULL)
    {
      g_autofree char *xml = pts_test_node_to_string (reply);
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL, "bind failed: %s", xml);
      return FALSE;
    }
  g_free (self->jid);
  self->jid = g_strdup (pts_node_get_text (jid));

  /* RFC 3921 sessions, for servers that still require them. */
  session = pts_node_get_child (self->features, "session", PTS_TEST_NS_SESSION);
  if (session != NULL && pts_node_get_child (session, "optional", NULL) == NULL)
    {
      g_autoptr (PtsNode) result = pts_test_client_iq (
          self, error,
          "<iq type='set'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
      if (result == NULL)
        return FALSE;
      if (g_strcmp0 (pts_node_get_attr (result, "type"), "result") != 0)
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                       "session establishment failed: %s",
                       pts_test_stanza_error_condition (result));
          return FALSE;
        }
    }
  return TRUE;
}

PtsTestClient *
pts_test_client_login (const char *host, guint16 port, const char *domain, const char *user,
                       const char *password, const char *resource, GError **error)
{
  g_autoptr (PtsTestClient) self = pts_test_client_connect (host, port, domain, error);

  if (self == NULL || !pts_test_client_authenticate (self, user, password, error)
      || !pts_test_client_bind (self, resource, error))
    {
      g_prefix_error (error, "logging in %s@%s: ", user, domain);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
pts_test_client_get_jid (PtsTestClient *self)
{
  return self->jid;
}

const char *
pts_test_client_get_stream_id (PtsTestClient *self)
{
  return self->stream_id;
}

void
pts_test_client_close (PtsTestClient *self)
{
  if (!self->closed)
    pts_test_socket_send_all (self->conn, "</stream:stream>", strlen ("</stream:stream>"), NULL);
  g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
  self->closed = TRUE;
}

const PtsNode *
pts_test_client_get_features (PtsTestClient *self)
{
  return self->features;
}

void
pts_test_client_set_data_full (PtsTestClient *self, gpointer data, GDestroyNotify destroy)
{
  self->data = data;
  self->data_destroy = destroy;
}

void
pts_test_client_free (PtsTestClient *self)
{
  if (self == NULL)
    return;
  if (self->conn != NULL)
    {
      g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
      g_object_unref (self->conn);
    }
  if (self->data_destroy != NULL)
    self->data_destroy (self->data);
  g_queue_clear_full (&self->stanzas, (GDestroyNotify) pts_node_free);
  g_clear_pointer (&self->features, pts_node_free);
  pts_xml_parser_free (self->parser);
  g_clear_error (&self->parse_error);
  g_free (self->domain);
  g_free (self->jid);
  g_free (self->stream_id);
  g_free (self);
}

/* ==== stanza inspection ============================================================== */

const char *
pts_test_stanza_error_condition (const PtsNode *stanza)
{
  PtsNode *error;

  if (g_strcmp0 (pts_node_get_attr (stanza, "type"), "error") != 0)
    return NULL;
  error = pts_node_get_child (stanza, "error", NULL);
  for (guint i = 0; error != NULL && i < error->children->len; i++)
    {
      const PtsNode *child = error->children->pdata[i];
      if (pts_node_is (child, NULL, BSP_NS_STANZAS) && g_strcmp0 (child->name, "text") != 0)
        return child->name;
    }
  return "undefined-condition";
}

PtsNode *
pts_test_node_find (const PtsNode *node, const char *name, const char *ns)
{
  if (pts_node_is (node, name, ns))
    return (PtsNode *) node;
  for (guint i = 0; i < node->children->len; i++)
    {
      PtsNode *found = pts_test_node_find (node->children->pdata[i], name, ns);
      if (found != NULL)
        return found;
    }
  return NULL;
}

char *
pts_test_node_to_string (const PtsNode *node)
{
  return pts_node_to_string (node, PTS_TEST_NS_CLIENT);
}
