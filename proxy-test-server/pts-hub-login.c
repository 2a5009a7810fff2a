/* pts-hub-login.c — the embedded server's clients, from the first stream header to a bound resource
 *
 * Stream headers and features, STARTTLS when the server has a certificate
 * (then required before SASL, RFC 6120 §5), SASL PLAIN (checked by
 * pts-auth.c, with the slowdown of guessing), resource binding (the newest
 * login wins), and the login timeout, which covers the TLS handshake too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-hub"

#include <string.h>

#include "pts-hub-private.h"
#include "pts-stanza.h"

/* ---- stream setup ------------------------------------------------------------- */

/* With a certificate, nothing but STARTTLS is offered until TLS is up. */
static gboolean
pts_client_needs_tls (PtsClient *client)
{
  return client->hub->certificate != NULL && !pts_xmpp_conn_is_tls (client->conn);
}

static void
pts_client_send_header (PtsClient *client)
{
  g_autofree char *header = NULL;

  g_free (client->stream_id);
  client->stream_id = g_uuid_string_random ();
  header = g_strdup_printf ("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                            "xmlns:stream='http://etherx.jabber.org/streams' id='%s' "
                            "from='%s' version='1.0' xml:lang='en'>",
                            client->stream_id, client->hub->config->domain);
  pts_xmpp_conn_send_raw (client->conn, header, -1);
}

void
pts_client_stream_start (PtsXmppConn *conn, const PtsNode *root, gpointer user_data)
{
  PtsClient *client = user_data;
  const char *to = pts_node_get_attr (root, "to");

  pts_client_send_header (client);
  if (!pts_node_is (root, "stream", PTS_NS_STREAMS))
    {
      pts_xmpp_conn_close (conn, "invalid-namespace", NULL);
      return;
    }
  if (to != NULL && g_ascii_strcasecmp (to, client->hub->config->domain) != 0)
    {
      pts_xmpp_conn_close (conn, "host-unknown", "this server serves another domain");
      return;
    }
  if (g_strcmp0 (pts_node_get_attr (root, "version"), "1.0") != 0)
    {
      pts_xmpp_conn_close (conn, "unsupported-version", "XMPP 1.0 streams only");
      return;
    }

  if (client->state == PTS_CLIENT_CONNECTED || client->state == PTS_CLIENT_AUTHENTICATING)
    {
      client->state = PTS_CLIENT_AUTHENTICATING;
      if (pts_client_needs_tls (client))
        pts_xmpp_conn_send_raw (conn,
                                "<stream:features><starttls xmlns='" PTS_NS_TLS "'>"
                                "<required/></starttls></stream:features>",
                                -1);
      else
        pts_xmpp_conn_send_raw (
            conn,
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
            "<mechanism>PLAIN</mechanism></mechanisms></stream:features>",
            -1);
    }
  else
    pts_xmpp_conn_send_raw (conn,
                            "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
                            "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'>"
                            "<optional/></session></stream:features>",
                            -1);
}

/* <starttls/>: <proceed/>, then the handshake (pts-xmpp-conn.c); the client
 * opens a fresh stream over TLS and gets the SASL features. */
void
pts_client_starttls (PtsClient *client)
{
  if (!pts_client_needs_tls (client))
    {
      /* Not offered (no certificate, or TLS is already up): RFC 6120 §5.4.2.2. */
      pts_xmpp_conn_send_raw (client->conn, "<failure xmlns='" PTS_NS_TLS "'/>", -1);
      pts_xmpp_conn_close (client->conn, NULL, NULL);
      return;
    }
  client->starttls = TRUE;
  pts_xmpp_conn_send_raw (client->conn, "<proceed xmlns='" PTS_NS_TLS "'/>", -1);
  pts_xmpp_conn_start_tls (client->conn, client->hub->certificate);
}

static void
pts_client_sasl_failure (PtsClient *client, const char *condition)
{
  g_autofree char *xml = g_strdup_printf (
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><%s/></failure>", condition);

  pts_xmpp_conn_send_raw (client->conn, xml, -1);
  if (++client->auth_failures >= PTS_MAX_AUTH_FAILURES)
    pts_xmpp_conn_close (client->conn, "policy-violation", "too many failed logins");
}

static void pts_client_auth_check (PtsClient *client, const char *text);

static gboolean
pts_client_auth_resume (gpointer user_data)
{
  PtsClient *client = user_data;
  g_autofree char *text = g_steal_pointer (&client->pending_auth);

  client->auth_timer = 0;
  pts_client_auth_check (client, text);
  return G_SOURCE_REMOVE;
}

void
pts_client_auth (PtsClient *client, PtsNode *auth)
{
  PtsHub *self = client->hub;
  const char *text = pts_node_get_text (auth);
  gint64 wait;

  if (client->pending_auth != NULL)
    {
      pts_xmpp_conn_close (client->conn, "policy-violation", "one login attempt at a time");
      return;
    }
  if (pts_client_needs_tls (client))
    {
      /* No password crosses the network in clear when TLS is on offer. */
      pts_xmpp_conn_send_raw (
          client->conn, "<failure xmlns='" PTS_NS_SASL "'><encryption-required/></failure>", -1);
      pts_xmpp_conn_close (client->conn, "policy-violation", "STARTTLS first");
      return;
    }
  if (!pts_node_is (auth, "auth", PTS_NS_SASL) && !pts_node_is (auth, "response", PTS_NS_SASL))
    {
      pts_client_sasl_failure (client, "malformed-request");
      return;
    }
  if (pts_node_is (auth, "auth", PTS_NS_SASL)
      && g_strcmp0 (pts_node_get_attr (auth, "mechanism"), "PLAIN") != 0)
    {
      pts_client_sasl_failure (client, "invalid-mechanism");
      return;
    }
  if (pts_node_is (auth, "auth", PTS_NS_SASL)
      && (text == NULL || *text == '\0' || g_str_equal (text, "=")))
    {
      /* No initial response: ask for it with an empty challenge. */
      pts_xmpp_conn_send_raw (client->conn, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
                              -1);
      return;
    }
  wait = pts_auth_throttle_wait (self->throttle, client->address, g_get_monotonic_time ());
  if (wait > 0)
    {
      /* Held back, unchecked, until this address's turn comes. */
      client->pending_auth = g_strdup (text != NULL ? text : "");
      client->auth_timer
          = g_timeout_add ((guint) (wait / 1000) + 1, pts_client_auth_resume, client);
      return;
    }
  pts_client_auth_check (client, text != NULL ? text : "");
}

static void
pts_client_auth_check (PtsClient *client, const char *text)
{
  PtsHub *self = client->hub;
  g_autofree char *node = NULL;
  g_autofree char *shown = NULL;

  switch (pts_auth_plain (text, self->accounts, self->config->domain, &node, &shown))
    {
    case PTS_AUTH_OK: break;
    case PTS_AUTH_MALFORMED:
      pts_auth_throttle_failed (self->throttle, client->address, g_get_monotonic_time ());
      pts_client_sasl_failure (client, "malformed-request");
      return;
    case PTS_AUTH_NOT_AUTHORIZED:
      g_message ("authentication failed for \"%s\" from %s", shown, client->address);
      pts_auth_throttle_failed (self->throttle, client->address, g_get_monotonic_time ());
      pts_client_sasl_failure (client, "not-authorized");
      return;
    }
  pts_auth_throttle_succeeded (self->throttle, client->address);
  client->user = g_steal_pointer (&node);
  client->bare = g_strdup_printf ("%s@%s", client->user, self->config->domain);
  client->state = PTS_CLIENT_AUTHENTICATED;
  pts_xmpp_conn_send_raw (client->conn, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", -1);
  pts_xmpp_conn_restart (client->conn);
}

void
pts_client_bind (PtsClient *client, PtsNode *iq, PtsNode *bind)
{
  PtsHub *self = client->hub;
  PtsNode *res = pts_node_get_child (bind, "resource", PTS_NS_BIND);
  const char *wanted = res ? pts_node_get_text (res) : NULL;
  g_autofree char *resource = NULL;
  g_autofree char *full = NULL;
  PtsClient *old;
  PtsNode *reply, *b;

  if (client->full != NULL)
    {
      pts_client_send_take (client, pts_stanza_error (iq, "not-allowed", "already bound"));
      return;
    }
  if (wanted != NULL)
    resource = g_strstrip (g_strdup (wanted));
  if (resource == NULL || *resource == '\0')
    {
      g_free (resource);
      resource = g_uuid_string_random ();
    }
  if (strlen (resource) > 1023 || !g_utf8_validate (resource, -1, NULL))
    {
      pts_client_send_take (client, pts_stanza_error (iq, "bad-request", "invalid resource"));
      return;
    }
  full = g_strdup_printf ("%s/%s", client->bare, resource);
  old = g_hash_table_lookup (self->bound, full);
  if (old != NULL)
    {
      /* The newest login wins: the old session is told why it ends. */
      g_message ("%s logged in again; the older session is closed", full);
      g_hash_table_remove (self->bound, full);
      pts_xmpp_conn_close (old->conn, "conflict", "replaced by a new connection");
    }
  client->full = g_steal_pointer (&full);
  client->state = PTS_CLIENT_BOUND;
  g_clear_handle_id (&client->login_timer, g_source_remove);
  g_hash_table_insert (self->bound, client->full, client);
  if (self->config->keepalive > 0)
    pts_xmpp_conn_set_keepalive (client->conn, self->config->keepalive);

  reply = pts_stanza_iq_new ("result", NULL, NULL, pts_node_get_attr (iq, "id"));
  b = pts_node_add_child (reply, "bind", PTS_NS_BIND);
  pts_node_set_text (pts_node_add_child (b, "jid", NULL), client->full);
  pts_client_send_take (client, reply);
  g_message ("%s signed in", client->full);
}

/* A client that has not signed in within the login timeout. */
gboolean
pts_client_login_timeout (gpointer user_data)
{
  PtsClient *client = user_data;
  g_autofree char *text
      = g_strdup_printf ("sign in within %d s", client->hub->config->login_timeout);

  client->login_timer = 0;
  g_message ("a client from %s did not sign in within %d s", client->address,
             client->hub->config->login_timeout);
  pts_xmpp_conn_close (client->conn, "connection-timeout", text);
  return G_SOURCE_REMOVE;
}
