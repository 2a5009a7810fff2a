/* test-faults-harness.c — what the fault tests share (see
 * test-faults-harness.h). Clients here are raw sockets, so that a test
 * decides exactly how and when a connection ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>

#include "test-faults-harness.h"

/* @max_per_initiator, @idle_timeout: the server's options, as text. */
void
fixture_start_limited (Fixture *f, const char *max_per_initiator, const char *idle_timeout)
{
  g_autoptr (GError) error = NULL;

  f->server = pts_fixture_server_start ("--http-port", "0", "--idle-timeout", idle_timeout,
                                        "--max-per-initiator", max_per_initiator, NULL);
  f->http = g_uri_parse (f->server->http_base, G_URI_FLAGS_NONE, &error);
  g_assert_no_error (error);
  f->alice = pts_fixture_login (f->server, "alice", "sender");
  f->bob = pts_fixture_login (f->server, "bob", "receiver");
}

void
fixture_start (Fixture *f)
{
  /* A receiver reset before its GET was read, or an HTTP sender gone
   * before its first file byte, leave the session to the idle timeout. */
  fixture_start_limited (f, "16", "2");
}

void
fixture_stop (Fixture *f)
{
  g_clear_pointer (&f->alice, pts_test_client_free);
  g_clear_pointer (&f->bob, pts_test_client_free);
  g_clear_pointer (&f->http, g_uri_unref);
  pts_fixture_server_stop (g_steal_pointer (&f->server));
}

static GSocketConnection *
http_connect (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn
      = pts_test_tcp_connect (g_uri_get_host (f->http), (guint16) g_uri_get_port (f->http), &error);

  g_assert_no_error (error);
  return conn;
}

/* Ends @conn as @how says: a FIN after what was sent, or a reset. */
void
end_connection (GSocketConnection *conn, EndHow how)
{
  GSocket *socket = g_socket_connection_get_socket (conn);

  if (how == END_RST)
    {
      struct linger now = { 1, 0 };
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
}

/* Sends what it can of @len bytes of @seed's stream; FALSE once the peer
 * is gone (a write fails). */
gboolean
send_stream (GSocketConnection *conn, guint64 *state, gsize len)
{
  guint8 buf[65536];

  while (len > 0)
    {
      gsize n = MIN (len, sizeof buf);

      pts_test_random_fill (state, buf, n);
      if (!pts_test_socket_send_all (conn, buf, n, NULL))
        return FALSE;
      len -= n;
    }
  return TRUE;
}

/* What a receiver got until the proxy closed: the raw bytes. */
GBytes *
read_all (GSocketConnection *conn)
{
  g_autoptr (GError) error = NULL;
  GBytes *got = pts_test_socket_read_until_closed (conn, 16 * MIB, PTS_TEST_TIMEOUT_MS, &error);

  g_assert_no_error (error);
  return got;
}

/* Whether raw HTTP response bytes are a complete 200 with a body of
 * @size bytes, framed as its head says. */
gboolean
http_complete (GBytes *raw, gsize size)
{
  gsize len;
  const char *data = g_bytes_get_data (raw, &len);
  g_autofree char *text = g_strndup (data != NULL ? data : "", MIN (len, 4096));
  const char *end = strstr (text, "\r\n\r\n");
  const char *cl;

  if (end == NULL || !g_str_has_prefix (text, "HTTP/1.1 200 "))
    return FALSE;
  cl = g_strstr_len (text, end - text, "Content-Length: ");
  if (cl != NULL)
    return len - (gsize) (end + 4 - text) == size && g_ascii_strtoull (cl + 16, NULL, 10) == size;
  /* Chunked: whole only with its last chunk. */
  return len >= 5 && memcmp (data + len - 5, "0\r\n\r\n", 5) == 0;
}

void
fault_stream_clear (FaultStream *s)
{
  g_clear_pointer (&s->hash, g_free);
  g_clear_object (&s->sender);
  g_clear_object (&s->receiver);
}

/* The proxy's <activated/> push (not any other push, such as <ended/>). */
static gboolean
match_activated_push (const PtsNode *stanza, gpointer user_data)
{
  const char *proxy_jid = user_data;

  return pts_node_is (stanza, "iq", NULL)
         && g_strcmp0 (pts_node_get_attr (stanza, "from"), proxy_jid) == 0
         && g_strcmp0 (pts_node_get_attr (stanza, "type"), "set") == 0
         && pts_node_get_child (stanza, "activated", NS_BSPROXY) != NULL;
}

/* Bob registers by <connect/> as the HTTP receiver of Alice's stream @sid,
 * announcing @size unless NULL; returns the proxy's answer. */
PtsNode *
receiver_connect (Fixture *f, const char *sid, const char *size)
{
  const char *alice = pts_test_client_get_jid (f->alice);

  /* The arguments are escaped: the size attribute is in the format. */
  if (size == NULL)
    return pts_fixture_iq (
        f->bob, "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='%s' jid='%s'/></iq>",
        f->server->proxy_jid, sid, alice);
  return pts_fixture_iq (f->bob,
                         "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY
                         "' sid='%s' jid='%s' size='%s'/></iq>",
                         f->server->proxy_jid, sid, alice, size);
}

/* Alice activates @sid for an HTTP upload; returns the proxy's answer. */
PtsNode *
sender_activate_http (Fixture *f, const char *sid)
{
  return pts_fixture_iq (f->alice,
                         "<iq type='set' to='%s'><query xmlns='" PTS_NS_BYTESTREAMS
                         "' sid='%s'><activate>%s</activate><x xmlns='" NS_BSPROXY
                         "'/></query></iq>",
                         f->server->proxy_jid, sid, pts_test_client_get_jid (f->bob));
}

/* The receiver registers, the sender connects and activates, each by
 * HTTP or SOCKS5; an HTTP sender has sent its request's head, an HTTP
 * receiver its GET. */
void
fault_stream_open (Fixture *f, gboolean http_sender, gboolean http_receiver, const char *sid,
                   FaultStream *s)
{
  g_autoptr (PtsNode) reply = NULL, push = NULL;
  g_autofree char *upload_url = NULL, *download_url = NULL;
  g_autofree char *size_text = g_strdup_printf ("%d", FILE_SIZE);

  s->hash = pts_fixture_sidhash (sid, f->alice, f->bob);
  s->state = pts_http_stream_state (3);
  if (http_receiver)
    {
      reply = receiver_connect (f, sid, size_text);
      pts_fixture_assert_result (reply);
      g_clear_pointer (&reply, pts_node_free);
    }
  else
    s->receiver = pts_fixture_socks5 (f->server, NULL, s->hash);
  if (http_sender)
    {
      reply = sender_activate_http (f, sid);
      pts_fixture_assert_result (reply);
      upload_url = g_strdup (
          pts_node_get_attr (pts_node_get_child (reply, "activated", NS_BSPROXY), "url"));
    }
  else
    {
      s->sender = pts_fixture_socks5 (f->server, NULL, s->hash);
      reply = pts_fixture_activate (f->alice, f->server, sid, pts_test_client_get_jid (f->bob));
      pts_fixture_assert_result (reply);
    }
  if (http_receiver)
    {
      g_autoptr (GUri) uri = NULL;
      g_autofree char *get = NULL;

      push = pts_fixture_wait (f->bob, match_activated_push, (gpointer) f->server->proxy_jid);
      download_url = g_strdup (
          pts_node_get_attr (pts_node_get_child (push, "activated", NS_BSPROXY), "url"));
      pts_fixture_send (f->bob, "<iq type='result' to='%s' id='%s'/>", f->server->proxy_jid,
                        pts_node_get_attr (push, "id"));
      uri = g_uri_parse (download_url, G_URI_FLAGS_NONE, NULL);
      s->receiver = http_connect (f);
      get = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", g_uri_get_path (uri));
      g_assert_true (pts_test_socket_send_all (s->receiver, get, strlen (get), NULL));
    }
  if (http_sender)
    {
      g_autoptr (GUri) uri = g_uri_parse (upload_url, G_URI_FLAGS_NONE, NULL);
      g_autofree char *head = NULL, *part = NULL;
      gsize tail = strlen ("\r\n--" BOUNDARY "--\r\n");

      /* To an HTTP receiver the FILE part declares its length, as the
       * plugin's does (its bytes are then read from the socket itself,
       * pts-http-upload.c); to a SOCKS5 receiver it does not, as a plain
       * web form's: both ways of reading an upload meet every fault. */
      g_autofree char *length
          = http_receiver ? g_strdup_printf ("Content-Length: %d\r\n", FILE_SIZE) : g_strdup ("");

      part = g_strdup_printf ("--" BOUNDARY "\r\nContent-Disposition: form-data; "
                              "name=\"SIDHASH\"\r\n\r\n%s\r\n--" BOUNDARY "\r\n"
                              "Content-Disposition: form-data; name=\"FILE\"; "
                              "filename=\"f\"\r\n%s\r\n",
                              s->hash, length);
      head = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                              "boundary=" BOUNDARY "\r\nContent-Length: %" G_GSIZE_FORMAT
                              "\r\n\r\n%s",
                              g_uri_get_path (uri), strlen (part) + FILE_SIZE + tail, part);
      s->sender = http_connect (f);
      g_assert_true (pts_test_socket_send_all (s->sender, head, strlen (head), NULL));
    }
}

/* 1 MiB goes in, and the receiver takes half of it: the relay's buffer
 * alone can't hold 1 MiB, so bytes really flow end to end. */
void
fault_stream_flow (FaultStream *s)
{
  guint8 buf[65536];
  gsize got = 0;

  g_assert_true (send_stream (s->sender, &s->state, 1 * MIB));
  while (got < 512 * 1024)
    {
      g_autoptr (GError) error = NULL;
      gsize want = MIN (sizeof buf, 512 * 1024 - got);
      g_assert_true (
          pts_test_socket_read_exact (s->receiver, buf, want, PTS_TEST_TIMEOUT_MS, &error));
      got += want;
    }
}

/* Polls /status until no session is left (bounded). */
void
assert_sessions_freed (Fixture *f)
{
  g_autofree char *url = g_strconcat (f->server->http_base, "/status", NULL);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonParser) parser = json_parser_new ();
      PtsHttpResponse response = { 0 };
      guint left;

      pts_http_get (url, 1024 * 1024, &response, &error);
      g_assert_no_error (error);
      json_parser_load_from_data (parser, (const char *) response.body->data, response.body->len,
                                  &error);
      g_assert_no_error (error);
      left = json_array_get_length (json_object_get_array_member (
          json_node_get_object (json_parser_get_root (parser)), "sessions"));
      pts_http_response_clear (&response);
      if (left == 0)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
}
