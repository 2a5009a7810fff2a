/* test-faults.c — a party that goes away at any moment, through every pair
 *
 * The sender or the receiver of each of the four pairs closes its
 * connection (cleanly, FIN, or with a reset, RST) just after the activation
 * or mid-stream. The other side must always see a failure — never a short
 * file that looks complete — and the session must be freed. Then a thousand
 * such aborts through one server, whose descriptors and memory must come
 * back to where they started. And a load test: 128 simultaneous transfers
 * through each pair (the benchmark's client, every byte checked) while the
 * abort loop runs beside them.
 *
 * Clients here are raw sockets, so that the test decides exactly how and
 * when a connection ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>

#include "pts-fixture.h"
#include "pts-http-client.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define MIB (1024 * 1024)
#define FILE_SIZE (4 * MIB)
#define BOUNDARY "faultfaultfault"

typedef enum
{
  VICTIM_SENDER,
  VICTIM_RECEIVER,
} Victim;

typedef enum
{
  END_FIN,
  END_RST,
} EndHow;

typedef enum
{
  PHASE_ACTIVATED, /* right after the activation, before any byte */
  PHASE_MID,       /* 1 MiB into the file */
} Phase;

typedef struct
{
  PtsTestServer *server;
  PtsTestClient *alice;
  PtsTestClient *bob;
  GUri *http;
} Fixture;

/* @max_per_initiator, @idle_timeout: the server's options, as text. */
static void
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

static void
fixture_start (Fixture *f)
{
  /* A receiver reset before its GET was read, or an HTTP sender gone
   * before its first file byte, leave the session to the idle timeout. */
  fixture_start_limited (f, "16", "2");
}

static void
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
static void
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
static gboolean
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
static GBytes *
read_all (GSocketConnection *conn)
{
  g_autoptr (GError) error = NULL;
  GBytes *got = pts_test_socket_read_until_closed (conn, 16 * MIB, PTS_TEST_TIMEOUT_MS, &error);

  g_assert_no_error (error);
  return got;
}

/* Whether raw HTTP response bytes are a complete 200 with a body of
 * @size bytes, framed as its head says. */
static gboolean
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

typedef struct
{
  const char *path;
  gboolean http_sender;
  gboolean http_receiver;
  Victim victim;
  EndHow how;
  Phase phase;
} FaultCase;

/* One session's data connections, as a party's client would have them. */
typedef struct
{
  char *hash;
  GSocketConnection *sender;
  GSocketConnection *receiver;
  guint64 state; /* the sender's stream */
} FaultStream;

static void
fault_stream_clear (FaultStream *s)
{
  g_clear_pointer (&s->hash, g_free);
  g_clear_object (&s->sender);
  g_clear_object (&s->receiver);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FaultStream, fault_stream_clear)

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

/* The receiver registers, the sender connects and activates, each by
 * HTTP or SOCKS5; an HTTP sender has sent its request's head, an HTTP
 * receiver its GET. */
static void
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
      reply = pts_fixture_iq (f->bob,
                              "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='%s' "
                              "jid='%s' size='%s'/></iq>",
                              f->server->proxy_jid, sid, pts_test_client_get_jid (f->alice),
                              size_text);
      pts_fixture_assert_result (reply);
      g_clear_pointer (&reply, pts_node_free);
    }
  else
    s->receiver = pts_fixture_socks5 (f->server, NULL, s->hash);
  if (http_sender)
    {
      reply = pts_fixture_iq (f->alice,
                              "<iq type='set' to='%s'><query xmlns='" PTS_NS_BYTESTREAMS
                              "' sid='%s'><activate>%s</activate><x xmlns='" NS_BSPROXY
                              "'/></query></iq>",
                              f->server->proxy_jid, sid, pts_test_client_get_jid (f->bob));
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

      part = g_strdup_printf ("--" BOUNDARY "\r\nContent-Disposition: form-data; "
                              "name=\"SIDHASH\"\r\n\r\n%s\r\n--" BOUNDARY "\r\n"
                              "Content-Disposition: form-data; name=\"FILE\"; "
                              "filename=\"f\"\r\n\r\n",
                              s->hash);
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
static void
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

static void
run_fault (Fixture *f, const FaultCase *tc, const char *sid)
{
  g_auto (FaultStream) s = { 0 };
  GSocketConnection *sender, *receiver;
  guint64 *state = &s.state;

  fault_stream_open (f, tc->http_sender, tc->http_receiver, sid, &s);
  sender = s.sender;
  receiver = s.receiver;

  /* Bytes flow, then the victim goes. */
  if (tc->phase == PHASE_MID)
    fault_stream_flow (&s);
  if (tc->victim == VICTIM_SENDER)
    {
      g_autoptr (GBytes) rest = NULL;

      end_connection (sender, tc->how);
      rest = read_all (receiver);
      if (tc->http_receiver)
        g_assert_false (http_complete (rest, FILE_SIZE));
      else
        g_assert_cmpuint (g_bytes_get_size (rest), <, FILE_SIZE);
    }
  else
    {
      g_autoptr (GBytes) answer = NULL;

      end_connection (receiver, tc->how);
      /* The sender goes on until the proxy stops taking its bytes; what it
       * hears back (an HTTP answer) is no success. */
      send_stream (sender, state, FILE_SIZE);
      answer = read_all (sender);
      if (tc->http_sender)
        {
          gsize len;
          const char *text = g_bytes_get_data (answer, &len);
          g_assert_false (len >= 13 && g_str_has_prefix (text, "HTTP/1.1 200 "));
        }
    }
}

/* Polls /status until no session is left (bounded). */
static void
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

/* ---- what the parties are told: <abort/> and <ended/> (PROTOCOL.md §5.6, §5.7) ---- */

typedef struct
{
  const char *proxy_jid;
  const char *hash;
} EndedMatch;

static gboolean
match_ended (const PtsNode *stanza, gpointer user_data)
{
  const EndedMatch *m = user_data;
  PtsNode *ended = pts_node_get_child (stanza, "ended", NS_BSPROXY);

  return pts_node_is (stanza, "iq", NULL) && ended != NULL
         && g_strcmp0 (pts_node_get_attr (stanza, "from"), m->proxy_jid) == 0
         && g_strcmp0 (pts_node_get_attr (stanza, "type"), "set") == 0
         && g_strcmp0 (pts_node_get_attr (ended, "sidhash"), m->hash) == 0;
}

/* The <ended/> push for @hash that @client gets (within @timeout_ms), or
 * NULL; answered as every push is. */
static PtsNode *
wait_ended (Fixture *f, PtsTestClient *client, const char *hash, guint timeout_ms)
{
  EndedMatch m = { f->server->proxy_jid, hash };
  g_autoptr (GError) error = NULL;
  PtsNode *iq = pts_test_client_wait (client, match_ended, &m, timeout_ms, &error);

  if (iq == NULL)
    {
      g_assert_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT);
      return NULL;
    }
  pts_fixture_send (client, "<iq type='result' to='%s' id='%s'/>", f->server->proxy_jid,
                    pts_node_get_attr (iq, "id"));
  return iq;
}

/* @client is told that the session ended for @reason (with @text, when
 * not NULL). */
static void
assert_ended (Fixture *f, PtsTestClient *client, const char *hash, const char *reason,
              const char *text)
{
  g_autoptr (PtsNode) iq = wait_ended (f, client, hash, PTS_TEST_TIMEOUT_MS);
  PtsNode *ended;

  g_assert_nonnull (iq);
  ended = pts_node_get_child (iq, "ended", NS_BSPROXY);
  g_test_message ("%s: <ended reason='%s'>%s</ended>", pts_test_client_get_jid (client),
                  pts_node_get_attr (ended, "reason"),
                  pts_node_get_text (ended) ? pts_node_get_text (ended) : "");
  g_assert_cmpstr (pts_node_get_attr (ended, "reason"), ==, reason);
  if (text != NULL)
    g_assert_cmpstr (pts_node_get_text (ended), ==, text);
}

/* @client is told nothing of @hash for longer than the grace (§5.7). */
static void
assert_not_ended (Fixture *f, PtsTestClient *client, const char *hash)
{
  g_autoptr (PtsNode) iq = wait_ended (f, client, hash, 1500);

  g_assert_null (iq);
}

static PtsNode *
send_abort (PtsTestClient *client, Fixture *f, const char *sid, const char *other_jid,
            const char *reason, const char *text)
{
  return pts_fixture_iq (client,
                         "<iq type='set' to='%s'><abort xmlns='" NS_BSPROXY "' sid='%s' "
                         "jid='%s' reason='%s'>%s</abort></iq>",
                         f->server->proxy_jid, sid, other_jid, reason, text);
}

typedef struct
{
  const char *path;
  Victim victim;
  const char *reason; /* what both parties are told */
} ResetCase;

static const ResetCase reset_cases[] = {
  { "/server/ended/sender-reset", VICTIM_SENDER, "sender-lost" },
  { "/server/ended/receiver-reset", VICTIM_RECEIVER, "receiver-lost" },
};

static void
test_ended_reset (gconstpointer data)
{
  const ResetCase *tc = data;
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };

  g_test_summary ("HTTP to HTTP, mid-stream, one side's HTTP connection is reset and it sends "
                  "no <abort/>: after the grace, both parties get <ended/> saying whose "
                  "connection broke.");
  fixture_start (&f);
  fault_stream_open (&f, TRUE, TRUE, "reset-sid", &s);
  fault_stream_flow (&s);
  end_connection (tc->victim == VICTIM_SENDER ? s.sender : s.receiver, END_RST);
  /* The proxy sees a reset download only when it writes to it: the
   * sender goes on until the proxy stops taking its bytes. */
  if (tc->victim == VICTIM_RECEIVER)
    send_stream (s.sender, &s.state, FILE_SIZE - 1 * MIB);
  assert_ended (&f, f.bob, s.hash, tc->reason, NULL);
  assert_ended (&f, f.alice, s.hash, tc->reason, NULL);
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

static void
test_ended_short (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };

  g_test_summary ("A plain SOCKS5 sender (activated over XMPP, as libpurple does) closes its "
                  "stream cleanly before the size the HTTP receiver announced, and sends no "
                  "<abort/>: after the grace both are told short.");
  fixture_start (&f);
  fault_stream_open (&f, FALSE, TRUE, "short-sid", &s);
  fault_stream_flow (&s);
  end_connection (s.sender, END_FIN);
  assert_ended (&f, f.bob, s.hash, "short", NULL);
  assert_ended (&f, f.alice, s.hash, "short", NULL);
  fixture_stop (&f);
}

static void
test_ended_abort_first (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (GBytes) answer = NULL;
  g_autofree char *long_text = g_strnfill (1000, 'x');
  /* a newline, a tab, DEL and a right-to-left override: each a blank */
  g_autofree char *text = g_strconcat ("disk full\n\t\x7f\xe2\x80\xae[2J ", long_text, NULL);
  const char *told = "disk full    [2J x";
  PtsNode *ended;
  const char *got;

  g_test_summary ("Mid-stream the receiver ends the session with <abort reason='failed'> and "
                  "a long text with control characters: it gets a result, the sender gets "
                  "<ended reason='receiver-failed'> with the text cleaned and cut to 200 "
                  "characters, the receiver no <ended/>, and the upload no 200.");
  fixture_start (&f);
  fault_stream_open (&f, TRUE, TRUE, "abort-sid", &s);
  fault_stream_flow (&s);
  reply = send_abort (f.bob, &f, "abort-sid", pts_test_client_get_jid (f.alice), "failed", text);
  pts_fixture_assert_result (reply);
  {
    g_autoptr (PtsNode) iq = wait_ended (&f, f.alice, s.hash, PTS_TEST_TIMEOUT_MS);

    g_assert_nonnull (iq);
    ended = pts_node_get_child (iq, "ended", NS_BSPROXY);
    g_assert_cmpstr (pts_node_get_attr (ended, "reason"), ==, "receiver-failed");
    got = pts_node_get_text (ended);
    g_assert_cmpuint (g_utf8_strlen (got, -1), ==, 200);
    g_assert_true (g_str_has_prefix (got, told));
  }
  assert_not_ended (&f, f.bob, s.hash);
  send_stream (s.sender, &s.state, FILE_SIZE);
  answer = read_all (s.sender);
  {
    gsize len;
    const char *head = g_bytes_get_data (answer, &len);
    g_assert_false (len >= 13 && g_str_has_prefix (head, "HTTP/1.1 200 "));
  }
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

static void
test_ended_abort_after_reset (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };
  g_autoptr (PtsNode) reply = NULL;

  g_test_summary ("The sender's HTTP connection is reset, and its <abort reason='cancelled'/> "
                  "arrives just after (as a client's XMPP stanza may): the receiver is told "
                  "sender-cancelled, never sender-lost, and the sender nothing.");
  fixture_start (&f);
  fault_stream_open (&f, TRUE, TRUE, "late-sid", &s);
  fault_stream_flow (&s);
  end_connection (s.sender, END_RST);
  /* the reset is seen first: the session is gone, its record waits */
  assert_sessions_freed (&f);
  reply = send_abort (f.alice, &f, "late-sid", pts_test_client_get_jid (f.bob), "cancelled", "");
  pts_fixture_assert_result (reply);
  assert_ended (&f, f.bob, s.hash, "sender-cancelled", NULL);
  assert_not_ended (&f, f.alice, s.hash);
  assert_not_ended (&f, f.bob, s.hash); /* and only once */
  fixture_stop (&f);
}

static gpointer
read_all_thread (gpointer conn)
{
  return read_all (conn);
}

static void
test_ended_third_party (void)
{
  Fixture f = { 0 };
  g_auto (FaultStream) s = { 0 };
  g_autoptr (PtsTestClient) carol = NULL;
  g_autoptr (GBytes) rest = NULL;
  GThread *reader;
  const char *alice = NULL, *bob = NULL;
  gsize tail = strlen ("\r\n--" BOUNDARY "--\r\n");

  g_test_summary ("carol, who is no party, sends <abort/> for alice's stream to bob (naming "
                  "either of them, as either reason): each is refused with item-not-found, "
                  "the transfer goes on to its end and nobody gets <ended/>; a malformed "
                  "<abort/> is a bad-request.");
  fixture_start (&f);
  carol = pts_fixture_login (f.server, "carol", "x");
  alice = pts_test_client_get_jid (f.alice);
  bob = pts_test_client_get_jid (f.bob);
  fault_stream_open (&f, TRUE, TRUE, "third-sid", &s);
  fault_stream_flow (&s);
  for (int i = 0; i < 4; i++)
    {
      g_autoptr (PtsNode) reply = send_abort (carol, &f, "third-sid", i % 2 ? alice : bob,
                                              i < 2 ? "cancelled" : "failed", "boo");
      pts_fixture_assert_error (reply, "item-not-found");
    }
  {
    g_autoptr (PtsNode) reply = send_abort (f.bob, &f, "third-sid", alice, "bored", "");
    pts_fixture_assert_error (reply, "bad-request");
  }
  /* the rest of the file, the multipart's end: a whole download */
  reader = g_thread_new ("receiver", read_all_thread, s.receiver);
  g_assert_true (send_stream (s.sender, &s.state, FILE_SIZE - 1 * MIB));
  g_assert_true (pts_test_socket_send_all (s.sender, "\r\n--" BOUNDARY "--\r\n", tail, NULL));
  rest = g_thread_join (reader);
  /* with the half MiB read before: the whole body and its head */
  g_assert_cmpuint (g_bytes_get_size (rest) + 512 * 1024, >, FILE_SIZE);
  assert_not_ended (&f, f.alice, s.hash);
  assert_not_ended (&f, f.bob, s.hash);
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

static void
test_ended_before_activation (void)
{
  Fixture f = { 0 };
  g_autofree char *hash = NULL;
  g_autoptr (PtsNode) reply = NULL;

  g_test_summary ("The receiver registered by <connect/>, the sender cancels before the "
                  "activation with <abort/>: the receiver is told sender-cancelled with the "
                  "sender's text, and the session is gone (the activation then finds none).");
  fixture_start (&f);
  hash = pts_fixture_sidhash ("early-sid", f.alice, f.bob);
  reply = pts_fixture_iq (f.bob,
                          "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='early-sid' "
                          "jid='%s' size='10'/></iq>",
                          f.server->proxy_jid, pts_test_client_get_jid (f.alice));
  pts_fixture_assert_result (reply);
  g_clear_pointer (&reply, pts_node_free);
  reply = send_abort (f.alice, &f, "early-sid", pts_test_client_get_jid (f.bob), "cancelled",
                      "changed my mind");
  pts_fixture_assert_result (reply);
  assert_ended (&f, f.bob, hash, "sender-cancelled", "changed my mind");
  g_clear_pointer (&reply, pts_node_free);
  reply = pts_fixture_iq (f.alice,
                          "<iq type='set' to='%s'><query xmlns='" PTS_NS_BYTESTREAMS
                          "' sid='early-sid'><activate>%s</activate><x xmlns='" NS_BSPROXY
                          "'/></query></iq>",
                          f.server->proxy_jid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (reply, "item-not-found");
  fixture_stop (&f);
}

static void
test_ended_expired (void)
{
  Fixture f = { 0 };
  g_autofree char *hash = NULL;
  g_autoptr (PtsNode) reply = NULL;

  g_test_summary ("The receiver registered by <connect/> and the sender never activates: when "
                  "the activation timeout drops the session, the receiver is told expired.");
  f.server = pts_fixture_server_start ("--http-port", "0", "--activation-timeout", "1", NULL);
  f.alice = pts_fixture_login (f.server, "alice", "sender");
  f.bob = pts_fixture_login (f.server, "bob", "receiver");
  hash = pts_fixture_sidhash ("expired-sid", f.alice, f.bob);
  reply = pts_fixture_iq (f.bob,
                          "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' "
                          "sid='expired-sid' jid='%s'/></iq>",
                          f.server->proxy_jid, pts_test_client_get_jid (f.alice));
  pts_fixture_assert_result (reply);
  assert_ended (&f, f.bob, hash, "expired", NULL);
  assert_not_ended (&f, f.alice, hash);
  fixture_stop (&f);
}

static GPtrArray *fault_cases;

static void
test_fault (gconstpointer data)
{
  const FaultCase *tc = data;
  Fixture f = { 0 };

  g_test_summary ("One party of one pair goes away (FIN or RST, after the activation or "
                  "mid-stream): the other sees a failure, never a complete short file, and "
                  "the session is freed.");
  fixture_start (&f);
  run_fault (&f, tc, "fault-sid");
  assert_sessions_freed (&f);
  fixture_stop (&f);
}

/* Case @i of the matrix, made quick: after the activation only (mid-stream
 * moves a MiB each time), and the victim always on SOCKS5, whose leaving
 * the proxy sees at once (the cases that wait for the idle timeout are the
 * matrix's). */
static void
run_quick_abort (Fixture *f, guint i, const char *sid)
{
  FaultCase quick = *(const FaultCase *) fault_cases->pdata[i % fault_cases->len];

  quick.phase = PHASE_ACTIVATED;
  if (quick.victim == VICTIM_SENDER ? quick.http_sender : quick.http_receiver)
    quick.victim = quick.victim == VICTIM_SENDER ? VICTIM_RECEIVER : VICTIM_SENDER;
  if (quick.victim == VICTIM_SENDER ? quick.http_sender : quick.http_receiver)
    quick.http_sender = quick.http_receiver = FALSE;
  run_fault (f, &quick, sid);
}

static void
test_thousand_aborts (void)
{
  Fixture f = { 0 };
  GPid pid;
  guint fds_before, fds_after;
  guint64 rss_before, rss_after;

  g_test_summary ("A thousand transfers broken off through one server, every case of the "
                  "matrix in turn: its descriptor count is back where it started, and its "
                  "memory within 4 MiB of it.");
  fixture_start (&f);
  pid = pts_test_process_get_pid (f.server->process);
  /* One round first, so that one-time allocations are made. */
  run_fault (&f, fault_cases->pdata[0], "warm-up");
  assert_sessions_freed (&f);
  fds_before = pts_fixture_count_fds_settled (pid, 0);
  rss_before = pts_fixture_rss_kib (pid);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *sid = g_strdup_printf ("abort-%u", i);
      run_quick_abort (&f, i, sid);
    }
  assert_sessions_freed (&f);
  fds_after = pts_fixture_count_fds_settled (pid, fds_before);
  rss_after = pts_fixture_rss_kib (pid);
  g_test_message ("descriptors %u → %u, RSS %" G_GUINT64_FORMAT " → %" G_GUINT64_FORMAT " KiB",
                  fds_before, fds_after, rss_before, rss_after);
  g_assert_cmpuint (fds_after, ==, fds_before);
#if !defined(__SANITIZE_ADDRESS__)
  /* Under AddressSanitizer freed memory sits in its quarantine, so RSS says
   * nothing there; LeakSanitizer checks the server's exit instead. */
  g_assert_cmpuint (rss_after, <, rss_before + 4096);
#endif
  fixture_stop (&f);
}

/* The benchmark's client: $PTS_BENCH_CLIENT (set by meson). */
static const char *
bench_client (void)
{
  const char *path = g_getenv ("PTS_BENCH_CLIENT");

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("PTS_BENCH_CLIENT must name the built tests/bench/bsb-bench (meson test sets it)");
  return path;
}

static void
load_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

static void
test_load_with_aborts (void)
{
  static const char *const pairs[] = { "socks5-socks5", "http-socks5", "socks5-http", "http-http" };
  Fixture f = { 0 };
  GPid pid;
  guint fds_before, aborts = 0;

  g_test_summary ("128 simultaneous transfers through each of the four pairs, every byte "
                  "checked, while transfers are broken off one after another beside them; "
                  "afterwards no session is left and the descriptors are back.");
  /* The benchmark client's 128 and the abort loop's one, from alice. */
  /* Under the sanitizers 128 transfers at once may each wait seconds for
   * a turn: the idle timeout must not take them for stuck (the quick
   * aborts beside them need none). */
  fixture_start_limited (&f, "256", "60");
  pid = pts_test_process_get_pid (f.server->process);
  run_fault (&f, fault_cases->pdata[0], "warm-up");
  assert_sessions_freed (&f);
  fds_before = pts_fixture_count_fds_settled (pid, 0);

  for (guint p = 0; p < G_N_ELEMENTS (pairs); p++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *c2s = g_strdup_printf ("%s:%u", f.server->c2s_host, f.server->c2s_port);
      g_autofree char *socks5
          = g_strdup_printf ("%s:%u", f.server->socks5_host, f.server->socks5_port);
      g_autofree char *server_pid = g_strdup_printf ("%d", (int) pid);
      const char *argv[] = { bench_client (),
                             "relay",
                             "--name",
                             pairs[p],
                             "--pair",
                             pairs[p],
                             "--c2s",
                             c2s,
                             "--socks5",
                             socks5,
                             "--domain",
                             f.server->domain,
                             "--proxy-jid",
                             f.server->proxy_jid,
                             "--initiator",
                             "alice:" PTS_FIXTURE_PASSWORD,
                             "--target",
                             "bob:" PTS_FIXTURE_PASSWORD,
                             "--streams",
                             "128",
                             "--size",
                             "1M",
                             "--timeout",
                             "120",
                             "--server-pid",
                             server_pid,
                             NULL };
      g_autoptr (GSubprocess) load = NULL;
      g_autofree char *out = NULL;
      gboolean done = FALSE;
      guint before = aborts;

      load = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
      g_assert_no_error (error);
      g_subprocess_wait_async (load, NULL, load_done, &done);
      /* Aborts, one after another, for as long as the load runs (each is
       * synchronous; the subprocess's end is seen between them). */
      while (!done)
        {
          g_autofree char *sid = g_strdup_printf ("load-abort-%u", aborts);
          run_quick_abort (&f, aborts++, sid);
          while (g_main_context_iteration (NULL, FALSE))
            ;
        }
      g_subprocess_communicate_utf8 (load, NULL, NULL, &out, NULL, &error);
      g_assert_no_error (error);
      g_test_message ("%s: %s (%u aborts beside)", pairs[p], out ? g_strstrip (out) : "",
                      aborts - before);
      g_assert_true (g_subprocess_get_if_exited (load));
      g_assert_cmpint (g_subprocess_get_exit_status (load), ==, 0);
      g_assert_nonnull (strstr (out, " ok=1 "));
      g_assert_nonnull (strstr (out, " streams=128 "));
      g_assert_cmpuint (aborts - before, >=, 1);
    }
  assert_sessions_freed (&f);
  g_assert_cmpuint (pts_fixture_count_fds_settled (pid, fds_before), ==, fds_before);
  fixture_stop (&f);
}

int
main (int argc, char **argv)
{
  static const char *const pairs[]
      = { "socks5-to-socks5", "http-to-socks5", "socks5-to-http", "http-to-http" };
  static const char *const victims[] = { "sender", "receiver" };
  static const char *const hows[] = { "fin", "rst" };
  static const char *const phases[] = { "activated", "mid-stream" };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  fault_cases = g_ptr_array_new_with_free_func (g_free);
  for (guint p = 0; p < 4; p++)
    for (guint v = 0; v < 2; v++)
      for (guint h = 0; h < 2; h++)
        for (guint ph = 0; ph < 2; ph++)
          {
            FaultCase *tc = g_new0 (FaultCase, 1);
            g_autofree char *path = g_strdup_printf ("/server/faults/%s/%s-%s/%s", pairs[p],
                                                     victims[v], hows[h], phases[ph]);

            tc->path = g_intern_string (path);
            tc->http_sender = p == 1 || p == 3;
            tc->http_receiver = p == 2 || p == 3;
            tc->victim = (Victim) v;
            tc->how = (EndHow) h;
            tc->phase = (Phase) ph;
            g_ptr_array_add (fault_cases, tc);
            g_test_add_data_func (tc->path, tc, test_fault);
          }
  g_test_add_func ("/server/faults/thousand-aborts", test_thousand_aborts);
  g_test_add_func ("/server/faults/load-with-aborts", test_load_with_aborts);
  for (gsize i = 0; i < G_N_ELEMENTS (reset_cases); i++)
    g_test_add_data_func (reset_cases[i].path, &reset_cases[i], test_ended_reset);
  g_test_add_func ("/server/ended/short", test_ended_short);
  g_test_add_func ("/server/ended/abort-first", test_ended_abort_first);
  g_test_add_func ("/server/ended/abort-after-reset", test_ended_abort_after_reset);
  g_test_add_func ("/server/ended/third-party", test_ended_third_party);
  g_test_add_func ("/server/ended/before-activation", test_ended_before_activation);
  g_test_add_func ("/server/ended/expired", test_ended_expired);
  return g_test_run ();
}
