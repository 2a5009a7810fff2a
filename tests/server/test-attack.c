/* test-attack.c — the proxy as an outsider would attack it
 *
 * Alice sends to Bob; Mallory has no account (or one of her own, carol) and
 * wants Alice's file, or wants Bob to get hers. Each case plays what she
 * can see and try from outside, and checks that nothing reaches her, nothing
 * of hers reaches Bob, and that the real transfer still goes through where
 * the proxy can tell the parties apart (PROTOCOL.md §8).
 *
 * Mallory's SOCKS5 connections come from 127.0.0.2: to the proxy, another
 * host than the one Alice's and Bob's XMPP connections come from.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "pts-fixture.h"
#include "pts-http-client.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define ELSEWHERE "127.0.0.2"
#define FILE_SIZE (256 * 1024)

typedef PtsFixturePair Fixture;

/* Alice and Bob on a server with an HTTP side and one more account, carol. */
static void
fixture_start (Fixture *f)
{
  f->server = pts_fixture_server_start ("--http-port", "0", NULL);
  g_assert_nonnull (f->server->http_base);
  pts_fixture_pair_login (f);
}

/* What Mallory's connection got before the proxy closed it (a reset
 * counts as closed): it must be nothing at all. */
static void
assert_got_nothing (GSocketConnection *conn)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  char buf[4096];
  gsize total = 0;

  /* Bounded: each wait at most the timeout, each round data or the end. */
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n;

      g_assert_true (g_socket_condition_timed_wait (
          socket, G_IO_IN, (gint64) PTS_TEST_TIMEOUT_MS * 1000, NULL, &error));
      n = g_socket_receive (socket, buf, sizeof buf, NULL, &error);
      if (n <= 0)
        break;
      total += (gsize) n;
    }
  g_assert_cmpuint (total, ==, 0);
}

/* ==== SOCKS5: a squatter with the right SIDHASH ================================ */

typedef enum
{
  SQUAT_BEFORE_TARGET,    /* before Bob connects */
  SQUAT_BEFORE_INITIATOR, /* between Bob and Alice */
  SQUAT_AFTER_INITIATOR,  /* after both, before the activation */
} SquatWhen;

typedef struct
{
  const char *path;
  SquatWhen when;
} SquatCase;

static const SquatCase squat_cases[] = {
  { "/server/attack/squatter/before-receiver", SQUAT_BEFORE_TARGET },
  { "/server/attack/squatter/before-sender", SQUAT_BEFORE_INITIATOR },
  { "/server/attack/squatter/before-activation", SQUAT_AFTER_INITIATOR },
};

static void
test_squatter (gconstpointer data)
{
  const SquatCase *tc = data;
  Fixture f;
  PtsFixtureStream stream = { 0 };
  g_autoptr (GSocketConnection) squatter = NULL;
  g_autoptr (PtsNode) reply = NULL;
  guint8 payload[4096];
  guint64 state = 11;

  g_test_summary ("Someone who learnt the SIDHASH connects by SOCKS5 from another host, "
                  "before the receiver, between the parties or just before the activation: "
                  "the real parties are paired all the same, the transfer arrives intact, and "
                  "the squatter's connection carries nothing either way.");
  fixture_start (&f);
  stream.sid = g_strdup ("squat-sid");
  stream.hash = pts_fixture_sidhash (stream.sid, f.alice, f.bob);
  if (tc->when == SQUAT_BEFORE_TARGET)
    squatter = pts_fixture_socks5 (f.server, ELSEWHERE, stream.hash);
  stream.target = pts_fixture_socks5 (f.server, NULL, stream.hash);
  if (tc->when == SQUAT_BEFORE_INITIATOR)
    squatter = pts_fixture_socks5 (f.server, ELSEWHERE, stream.hash);
  stream.initiator = pts_fixture_socks5 (f.server, NULL, stream.hash);
  if (tc->when == SQUAT_AFTER_INITIATOR)
    squatter = pts_fixture_socks5 (f.server, ELSEWHERE, stream.hash);

  /* The squatter would gladly send Bob its own bytes. */
  pts_test_random_fill (&state, payload, sizeof payload);
  g_assert_true (pts_test_socket_send_all (squatter, payload, sizeof payload, NULL));

  reply = pts_fixture_activate (f.alice, f.server, stream.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_result (reply);
  pts_fixture_assert_transfer (&stream, 1024 * 1024, 12);
  assert_got_nothing (squatter);
  pts_fixture_stream_clear (&stream);
  pts_fixture_pair_stop (&f);
}

static void
test_squatter_unknowable (void)
{
  Fixture f;
  PtsFixtureStream stream = { 0 };
  g_autoptr (GSocketConnection) squatter = NULL;
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (GError) error = NULL;
  guint8 byte = 0;

  g_test_summary ("A squatter the proxy can't tell from the parties (same address, as on a "
                  "shared host or behind one NAT): the activation is refused with conflict "
                  "rather than a guess, and no byte reaches anyone.");
  fixture_start (&f);
  stream.sid = g_strdup ("unknowable");
  stream.hash = pts_fixture_sidhash (stream.sid, f.alice, f.bob);
  stream.target = pts_fixture_socks5 (f.server, NULL, stream.hash);
  squatter = pts_fixture_socks5 (f.server, NULL, stream.hash);
  stream.initiator = pts_fixture_socks5 (f.server, NULL, stream.hash);
  reply = pts_fixture_activate (f.alice, f.server, stream.sid, pts_test_client_get_jid (f.bob));
  pts_fixture_assert_error (reply, "conflict");

  /* Nothing flows: what Alice writes reaches no one. */
  g_assert_true (pts_test_socket_send_all (stream.initiator, &byte, 1, NULL));
  g_assert_false (pts_test_socket_read_exact (squatter, &byte, 1, 500, &error));
  g_clear_error (&error);
  g_assert_false (pts_test_socket_read_exact (stream.target, &byte, 1, 500, &error));
  pts_fixture_stream_clear (&stream);
  pts_fixture_pair_stop (&f);
}

/* ==== HTTP: capability URLs ===================================================== */

typedef struct
{
  char *url;
  const char *sidhash;
  guint64 seed;
  PtsHttpUploadResult result;
  gboolean ok;
  GError *error;
} Upload;

static gpointer
upload_thread (gpointer data)
{
  Upload *u = data;
  PtsHttpUpload upload = { .sidhash = u->sidhash, .size = FILE_SIZE, .seed = u->seed };

  u->ok = pts_http_post_upload (u->url, &upload, &u->result, &u->error);
  return NULL;
}

/* Bob <connect>s, Alice activates for HTTP; the two capability URLs. */
static void
http_session (Fixture *f, PtsTestClient *sender, PtsTestClient *receiver, const char *sid,
              char **upload_url, char **download_url)
{
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (PtsNode) push = NULL;
  PtsFixtureMatch match = { "iq", f->server->proxy_jid, "set", NS_BSPROXY };
  PtsNode *child;

  reply = pts_fixture_iq (receiver,
                          "<iq type='set' to='%s'><connect xmlns='" NS_BSPROXY "' sid='%s' "
                          "jid='%s'/></iq>",
                          f->server->proxy_jid, sid, pts_test_client_get_jid (sender));
  pts_fixture_assert_result (reply);
  g_clear_pointer (&reply, pts_node_free);
  reply = pts_fixture_iq (sender,
                          "<iq type='set' to='%s'><query xmlns='" PTS_NS_BYTESTREAMS "' sid='%s'>"
                          "<activate>%s</activate><x xmlns='" NS_BSPROXY "'/></query></iq>",
                          f->server->proxy_jid, sid, pts_test_client_get_jid (receiver));
  pts_fixture_assert_result (reply);
  child = pts_node_get_child (reply, "activated", NS_BSPROXY);
  g_assert_nonnull (child);
  *upload_url = g_strdup (pts_node_get_attr (child, "url"));
  push = pts_fixture_wait (receiver, pts_fixture_match, &match);
  child = pts_node_get_child (push, "activated", NS_BSPROXY);
  g_assert_nonnull (child);
  *download_url = g_strdup (pts_node_get_attr (child, "url"));
  pts_fixture_send (receiver, "<iq type='result' to='%s' id='%s'/>", f->server->proxy_jid,
                    pts_node_get_attr (push, "id"));
}

/* The token: what follows the last '/' of a capability URL. */
static const char *
token_of (const char *url)
{
  return strrchr (url, '/') + 1;
}

static void
assert_token_shape (const char *token)
{
  /* At least 128 bits, URL-safe, and not a UUID. */
  g_assert_cmpuint (strlen (token), >=, 22);
  g_assert_cmpuint (strspn (token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_"),
                    ==, strlen (token));
  g_assert_false (strlen (token) == 36 && token[8] == '-' && token[13] == '-');
}

/* Every guess, by GET and by POST: nothing but 404, and no body but the
 * error text. */
static void
assert_guesses_fail (Fixture *f, GPtrArray *guesses)
{
  for (guint i = 0; i < guesses->len; i++)
    {
      const char *guess = guesses->pdata[i];
      g_autofree char *get_url = g_strconcat (f->server->http_base, "/", guess, NULL);
      g_autofree char *post_url = g_strconcat (f->server->http_base, "/upload/", guess, NULL);
      PtsHttpResponse response = { 0 };
      PtsHttpUploadResult result = { 0 };
      PtsHttpUpload upload
          = { .sidhash = "0000000000000000000000000000000000000000", .size = 1024, .seed = 66 };
      g_autoptr (GError) error = NULL;

      pts_http_get (get_url, 256, &response, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (response.status, ==, SOUP_STATUS_NOT_FOUND);
      pts_http_response_clear (&response);
      pts_http_post_upload (post_url, &upload, &result, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (result.response.status, ==, SOUP_STATUS_NOT_FOUND);
      pts_http_upload_result_clear (&result);
    }
}

static void
test_capability_urls (void)
{
  Fixture f;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) guesses = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (PtsTestClient) carol = NULL, carol2 = NULL;
  g_autofree char *hash = NULL, *upload_url = NULL, *download_url = NULL;
  g_autoptr (GError) error = NULL;
  PtsHttpResponse status = { 0 }, download = { 0 };
  g_autofree char *status_text = NULL;
  Upload real = { 0 };
  GThread *thread;
  char expected[65];
  guint64 state = 77;

  g_test_summary ("Mallory collects 64 stream ids before login and the URLs of eight transfers "
                  "of her own, then reads /status while Alice's transfer to Bob waits: the "
                  "page shows no SIDHASH or token, and every URL she can derive (from ids, "
                  "tokens, hashes, by mutation, at random) is 404 by GET and POST. Alice's "
                  "file then reaches Bob intact.");
  fixture_start (&f);

  /* What anyone can see before logging in. */
  for (guint i = 0; i < 64; i++)
    {
      g_autoptr (PtsTestClient) probe = pts_test_client_connect (
          f.server->c2s_host, f.server->c2s_port, f.server->domain, &error);
      g_assert_no_error (error);
      g_assert_nonnull (pts_test_client_get_stream_id (probe));
      g_ptr_array_add (guesses,
                       g_uri_escape_string (pts_test_client_get_stream_id (probe), NULL, FALSE));
    }

  /* What a user of the proxy sees of her own transfers. */
  carol = pts_fixture_login (f.server, "carol", "a");
  carol2 = pts_fixture_login (f.server, "carol", "b");
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *sid = g_strdup_printf ("own-%u", i);
      char *up = NULL, *down = NULL;

      http_session (&f, carol, carol2, sid, &up, &down);
      g_ptr_array_add (seen, g_strdup (token_of (up)));
      g_ptr_array_add (seen, g_strdup (token_of (down)));
      g_free (up);
      g_free (down);
    }

  hash = pts_fixture_sidhash ("alice-sid", f.alice, f.bob);
  http_session (&f, f.alice, f.bob, "alice-sid", &upload_url, &download_url);
  assert_token_shape (token_of (upload_url));
  assert_token_shape (token_of (download_url));

  /* Tokens share nothing a guess could build on. */
  for (guint i = 0; i < seen->len; i++)
    {
      assert_token_shape (seen->pdata[i]);
      for (guint j = 0; j < i; j++)
        g_assert_false (strncmp (seen->pdata[i], seen->pdata[j], 5) == 0);
    }

  /* The status page, as anyone on the host can read it. */
  {
    g_autofree char *url = g_strconcat (f.server->http_base, "/status", NULL);
    pts_http_get (url, 1024 * 1024, &status, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (status.status, ==, SOUP_STATUS_OK);
    status_text = g_strndup ((const char *) status.body->data, status.body->len);
    g_assert_null (strstr (status_text, hash));
    g_assert_null (strstr (status_text, token_of (upload_url)));
    g_assert_null (strstr (status_text, token_of (download_url)));
    pts_http_response_clear (&status);
  }

  /* Every guess Mallory can make from what she saw. */
  for (guint i = 0; i < seen->len; i++)
    {
      char *token = seen->pdata[i];
      g_autofree char *flipped = g_strdup (token);

      /* (Her own tokens open her own transfers only: those are hers.) */
      flipped[strlen (flipped) - 1] = flipped[strlen (flipped) - 1] == 'A' ? 'B' : 'A';
      g_ptr_array_add (guesses, g_steal_pointer (&flipped));
      g_ptr_array_add (guesses, g_strndup (token, strlen (token) - 1));
    }
  g_ptr_array_add (guesses, g_strdup (hash));
  g_ptr_array_add (guesses, g_strndup (hash, 8));
  for (guint i = 0; i < 32; i++)
    {
      guint8 raw[24];
      g_autofree char *b64 = NULL;

      pts_test_random_fill (&state, raw, sizeof raw);
      b64 = g_base64_encode (raw, sizeof raw);
      g_strdelimit (b64, "+", '-');
      g_strdelimit (b64, "/", '_');
      g_ptr_array_add (guesses, g_steal_pointer (&b64));
    }
  assert_guesses_fail (&f, guesses);

  /* Alice's transfer is untouched. */
  real.url = upload_url;
  real.sidhash = hash;
  real.seed = 78;
  thread = g_thread_new ("upload", upload_thread, &real);
  pts_http_get (download_url, 0, &download, &error);
  g_thread_join (thread);
  g_assert_no_error (error);
  g_assert_no_error (real.error);
  g_assert_cmpuint (real.result.response.status, ==, SOUP_STATUS_OK);
  g_assert_cmpuint (download.status, ==, SOUP_STATUS_OK);
  g_assert_true (download.complete);
  pts_http_stream_sha256 (real.seed, FILE_SIZE, expected);
  g_assert_cmpstr (download.sha256, ==, expected);
  pts_http_response_clear (&download);
  pts_http_upload_result_clear (&real.result);
  pts_fixture_pair_stop (&f);
}

static void
test_connect_after_squatter (void)
{
  Fixture f;
  g_autofree char *hash = NULL, *upload_url = NULL, *download_url = NULL;
  g_autoptr (GSocketConnection) squatter = NULL;

  g_test_summary ("A SOCKS5 connection that asks for a stream before its receiver's "
                  "<connect/> does not take the receiver's place: the <connect/> is accepted "
                  "and the HTTP session goes on.");
  fixture_start (&f);
  hash = pts_fixture_sidhash ("early", f.alice, f.bob);
  squatter = pts_fixture_socks5 (f.server, ELSEWHERE, hash);
  http_session (&f, f.alice, f.bob, "early", &upload_url, &download_url);
  assert_got_nothing (squatter);
  pts_fixture_pair_stop (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (squat_cases); i++)
    g_test_add_data_func (squat_cases[i].path, &squat_cases[i], test_squatter);
  g_test_add_func ("/server/attack/squatter/unknowable", test_squatter_unknowable);
  g_test_add_func ("/server/attack/squatter/before-connect", test_connect_after_squatter);
  g_test_add_func ("/server/attack/capability-urls", test_capability_urls);
  return g_test_run ();
}
