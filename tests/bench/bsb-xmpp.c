/* bsb-xmpp.c — a blocking XMPP client good for one thing: bytestream IQs
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bsb-net.h"
#include "bsb-xml.h"
#include "bsb-xmpp.h"

#define BSB_XMPP_READ_SIZE 16384
#define BSB_XMPP_MAX_BUFFER (1024 * 1024)

struct _BsbXmpp
{
  int fd;
  GString *in;
  char *domain;
  char *jid;
  int timeout_ms;
};

void
bsb_xmpp_free (BsbXmpp *self)
{
  if (self == NULL)
    return;
  if (self->fd >= 0)
    {
      /* A polite end; nobody waits for the answer. */
      (void) send (self->fd, "</stream:stream>", 16, MSG_NOSIGNAL);
      close (self->fd);
    }
  g_string_free (self->in, TRUE);
  g_free (self->domain);
  g_free (self->jid);
  g_free (self);
}

const char *
bsb_xmpp_get_jid (BsbXmpp *self)
{
  return self->jid;
}

int
bsb_xmpp_get_fd (BsbXmpp *self)
{
  return self->fd;
}

gboolean
bsb_xmpp_send (BsbXmpp *self, const char *xml, GError **error)
{
  return bsb_net_write_all (self->fd, xml, strlen (xml), error);
}

gboolean
bsb_xmpp_fill (BsbXmpp *self, GError **error)
{
  char buf[BSB_XMPP_READ_SIZE];
  gssize n = bsb_net_read (self->fd, buf, sizeof buf, error);

  if (n < 0)
    return FALSE;
  if (n == 0)
    {
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                           "the XMPP server closed the connection");
      return FALSE;
    }
  if (self->in->len + n > BSB_XMPP_MAX_BUFFER)
    {
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "stanza too large");
      return FALSE;
    }
  g_string_append_len (self->in, buf, n);
  return TRUE;
}

/* Waits until the socket is readable, then reads once. */
static gboolean
bsb_xmpp_wait_fill (BsbXmpp *self, gint64 deadline, GError **error)
{
  for (;;)
    {
      struct pollfd pfd = { self->fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      int rc;

      if (left <= 0)
        {
          g_set_error_literal (error, BSB_ERROR, BSB_ERROR_IO,
                               "timed out waiting for the XMPP server");
          return FALSE;
        }
      rc = poll (&pfd, 1, (int) MIN (left, G_MAXINT));
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "poll: %s", g_strerror (errno));
          return FALSE;
        }
      if (rc > 0)
        return bsb_xmpp_fill (self, error);
    }
}

char *
bsb_xmpp_take (BsbXmpp *self, GError **error)
{
  gsize skip = 0;
  gssize len = bsb_xml_element_len (self->in->str, self->in->len, &skip);
  char *stanza;

  if (len < 0)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "the XMPP stream ended: %.200s",
                   self->in->str + skip);
      return NULL;
    }
  if (len == 0)
    {
      g_string_erase (self->in, 0, skip);
      return NULL;
    }
  stanza = g_strndup (self->in->str + skip, len);
  g_string_erase (self->in, 0, skip + len);
  return stanza;
}

char *
bsb_xmpp_next (BsbXmpp *self, int timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      GError *local = NULL;
      char *stanza = bsb_xmpp_take (self, &local);

      if (stanza != NULL)
        return stanza;
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      if (!bsb_xmpp_wait_fill (self, deadline, error))
        return NULL;
    }
}

static gboolean
bsb_xmpp_open_stream (BsbXmpp *self, GError **error)
{
  g_autofree char *header
      = g_strdup_printf ("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
                         self->domain);
  gint64 deadline = g_get_monotonic_time () + (gint64) self->timeout_ms * 1000;

  if (!bsb_xmpp_send (self, header, error))
    return FALSE;
  for (;;)
    {
      gssize n = bsb_xml_stream_header_len (self->in->str, self->in->len);
      if (n < 0)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "not an XMPP stream: %.200s",
                       self->in->str);
          return FALSE;
        }
      if (n > 0)
        {
          g_string_erase (self->in, 0, n);
          return TRUE;
        }
      if (!bsb_xmpp_wait_fill (self, deadline, error))
        return FALSE;
    }
}

/* The server's <stream:features/>, skipping anything else. */
static char *
bsb_xmpp_features (BsbXmpp *self, GError **error)
{
  for (guint i = 0; i < 16; i++)
    {
      g_autofree char *stanza = bsb_xmpp_next (self, self->timeout_ms, error);
      g_autofree char *name = NULL;

      if (stanza == NULL)
        return NULL;
      name = bsb_xml_name (stanza);
      if (g_strcmp0 (name, "features") == 0)
        return g_steal_pointer (&stanza);
      if (g_strcmp0 (name, "error") == 0)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "stream error: %s", stanza);
          return NULL;
        }
    }
  g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "no stream features");
  return NULL;
}

static gboolean
bsb_xmpp_sasl_plain (BsbXmpp *self, const char *features, const char *user, const char *password,
                     GError **error)
{
  g_autofree char *reply = NULL;
  g_autofree char *name = NULL;
  g_autofree char *b64 = NULL;
  g_autofree char *auth = NULL;
  GString *raw = g_string_new (NULL);
  gboolean plain = FALSE;
  const char *tls = bsb_xml_find (features, "starttls");

  for (const char *m = bsb_xml_find (features, "mechanism"); m != NULL;
       m = bsb_xml_find (m + 1, "mechanism"))
    {
      g_autofree char *text = bsb_xml_text (m);
      if (g_strcmp0 (text, "PLAIN") == 0)
        plain = TRUE;
    }
  if (tls != NULL && bsb_xml_find (tls, "required") != NULL)
    {
      g_string_free (raw, TRUE);
      g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                           "the server requires TLS; the benchmark speaks plaintext only");
      return FALSE;
    }
  if (!plain)
    {
      g_string_free (raw, TRUE);
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                   "the server offers no SASL PLAIN on this stream: %s", features);
      return FALSE;
    }
  g_string_append_c (raw, '\0');
  g_string_append (raw, user);
  g_string_append_c (raw, '\0');
  g_string_append (raw, password);
  b64 = g_base64_encode ((const guchar *) raw->str, raw->len);
  g_string_free (raw, TRUE);
  auth = g_strdup_printf ("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                          "mechanism='PLAIN'>%s</auth>",
                          b64);
  if (!bsb_xmpp_send (self, auth, error))
    return FALSE;
  reply = bsb_xmpp_next (self, self->timeout_ms, error);
  if (reply == NULL)
    return FALSE;
  name = bsb_xml_name (reply);
  if (g_strcmp0 (name, "success") != 0)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "login as %s refused: %s", user, reply);
      return FALSE;
    }
  return TRUE;
}

static const char *
bsb_xmpp_iq_type (const char *stanza, char **owned)
{
  *owned = bsb_xml_attr (stanza, "type");
  return *owned;
}

gboolean
bsb_xmpp_ack (BsbXmpp *self, const char *stanza, GError **error)
{
  g_autofree char *id = bsb_xml_attr (stanza, "id");
  g_autofree char *from = bsb_xml_attr (stanza, "from");
  g_autofree char *eid = bsb_xml_escape (id ? id : "");
  g_autofree char *efrom = bsb_xml_escape (from ? from : "");
  g_autofree char *reply
      = g_strdup_printf ("<iq type='result' id='%s'%s%s%s/>", eid, from ? " to='" : "",
                         from ? efrom : "", from ? "'" : "");

  return bsb_xmpp_send (self, reply, error);
}

char *
bsb_xmpp_iq (BsbXmpp *self, const char *xml, const char *id, int timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (!bsb_xmpp_send (self, xml, error))
    return NULL;
  for (;;)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      g_autofree char *stanza = NULL;
      g_autofree char *name = NULL;
      g_autofree char *sid = NULL;
      g_autofree char *type = NULL;

      if (left <= 0)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "no answer to IQ %s", id);
          return NULL;
        }
      stanza = bsb_xmpp_next (self, (int) left, error);
      if (stanza == NULL)
        return NULL;
      name = bsb_xml_name (stanza);
      if (g_strcmp0 (name, "iq") != 0)
        continue;
      sid = bsb_xml_attr (stanza, "id");
      bsb_xmpp_iq_type (stanza, &type);
      if ((g_strcmp0 (type, "set") == 0 || g_strcmp0 (type, "get") == 0))
        {
          if (!bsb_xmpp_ack (self, stanza, error))
            return NULL;
          continue;
        }
      if (g_strcmp0 (sid, id) != 0)
        continue;
      if (g_strcmp0 (type, "result") == 0)
        return g_steal_pointer (&stanza);
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "IQ %s failed: %s", id, stanza);
      return NULL;
    }
}

BsbXmpp *
bsb_xmpp_login (const char *host, guint16 port, const char *domain, const char *user,
                const char *password, const char *resource, int timeout_s, GError **error)
{
  g_autoptr (BsbXmpp) self = g_new0 (BsbXmpp, 1);
  g_autofree char *features = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *bound = NULL;
  g_autofree char *eres = bsb_xml_escape (resource);
  const char *session;
  const char *jid;

  self->fd = -1;
  self->in = g_string_new (NULL);
  self->domain = g_strdup (domain);
  self->timeout_ms = timeout_s * 1000;
  self->fd = bsb_net_connect (host, port, timeout_s, error);
  if (self->fd < 0)
    return NULL;

  if (!bsb_xmpp_open_stream (self, error))
    return NULL;
  features = bsb_xmpp_features (self, error);
  if (features == NULL || !bsb_xmpp_sasl_plain (self, features, user, password, error))
    return NULL;

  /* The stream restarts after SASL. */
  g_clear_pointer (&features, g_free);
  if (!bsb_xmpp_open_stream (self, error))
    return NULL;
  features = bsb_xmpp_features (self, error);
  if (features == NULL)
    return NULL;
  bind = g_strdup_printf ("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:"
                          "xmpp-bind'><resource>%s</resource></bind></iq>",
                          eres);
  bound = bsb_xmpp_iq (self, bind, "bind1", self->timeout_ms, error);
  if (bound == NULL)
    return NULL;
  jid = bsb_xml_find (bound, "jid");
  self->jid = jid ? bsb_xml_text (jid) : NULL;
  if (self->jid == NULL)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "bind gave no JID: %s", bound);
      return NULL;
    }
  /* RFC 3921 sessions, for servers that still want one. */
  session = bsb_xml_find (features, "session");
  if (session != NULL && bsb_xml_find (session, "optional") == NULL)
    {
      g_autofree char *reply = bsb_xmpp_iq (
          self,
          "<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
          "sess1", self->timeout_ms, error);
      if (reply == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}

char *
bsb_xmpp_sidhash (const char *sid, const char *initiator, const char *target)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);

  g_checksum_update (sha1, (const guchar *) sid, -1);
  g_checksum_update (sha1, (const guchar *) initiator, -1);
  g_checksum_update (sha1, (const guchar *) target, -1);
  return g_strdup (g_checksum_get_string (sha1));
}
