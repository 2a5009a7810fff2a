/* pts-fixture.c — asserting shorthands over pts-test-util for the server tests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-fixture.h"
#include "pts-test-tls.h"

/* The server with @users' accounts, then @options (may be NULL), then
 * @first_arg and the rest of @ap up to a NULL (@ap may be NULL when
 * @first_arg is). */
static PtsTestServer *
pts_fixture_server_startv (const char *const *users, const char *const *options,
                           const char *first_arg, va_list *ap)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) args = NULL;
  g_autoptr (GError) error = NULL;
  PtsTestServer *server;

  for (const char *const *user = users; *user != NULL; user++)
    {
      g_autofree char *account = g_strconcat (*user, ":" PTS_FIXTURE_PASSWORD, NULL);

      g_strv_builder_add_many (builder, "--user", account, NULL);
    }
  if (options != NULL)
    g_strv_builder_addv (builder, (const char **) options);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (*ap, const char *))
    g_strv_builder_add (builder, arg);
  /* The same tests run again against the server's other relay modes
   * (tests/server/meson.build: --relay-copy, --relay-threads). */
  if (g_getenv ("PTS_TEST_SERVER_ARGS") != NULL)
    {
      g_auto (GStrv) extra = g_strsplit (g_getenv ("PTS_TEST_SERVER_ARGS"), " ", -1);

      for (char **arg = extra; *arg != NULL; arg++)
        if (**arg != '\0')
          g_strv_builder_add (builder, *arg);
    }
  args = g_strv_builder_end (builder);

  server
      = pts_test_server_start (NULL, (const char *const *) args, PTS_TEST_SERVER_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (server);
  return server;
}

PtsTestServer *
pts_fixture_server_start (const char *first_arg, ...)
{
  static const char *const users[] = { "alice", "bob", "carol", NULL };
  PtsTestServer *server;
  va_list ap;

  va_start (ap, first_arg);
  server = pts_fixture_server_startv (users, NULL, first_arg, &ap);
  va_end (ap);
  return server;
}

static const char *const pts_fixture_pair_users[] = { "alice", "bob", NULL };

void
pts_fixture_pair_start_valist (PtsFixturePair *pair, const char *const *options,
                               const char *first_option, va_list ap)
{
  va_list rest;

  memset (pair, 0, sizeof *pair);
  va_copy (rest, ap);
  pair->server = pts_fixture_server_startv (pts_fixture_pair_users, options, first_option, &rest);
  va_end (rest);
  pts_fixture_pair_login (pair);
}

void
pts_fixture_pair_start (PtsFixturePair *pair, const char *first_option, ...)
{
  va_list ap;

  va_start (ap, first_option);
  pts_fixture_pair_start_valist (pair, NULL, first_option, ap);
  va_end (ap);
}

void
pts_fixture_pair_login (PtsFixturePair *pair)
{
  pair->alice = pts_fixture_login (pair->server, "alice", "sender");
  pair->bob = pts_fixture_login (pair->server, "bob", "receiver");
}

void
pts_fixture_pair_stop (PtsFixturePair *pair)
{
  g_clear_pointer (&pair->alice, pts_test_client_free);
  g_clear_pointer (&pair->bob, pts_test_client_free);
  pts_fixture_server_stop (g_steal_pointer (&pair->server));
}

void
pts_fixture_server_stop (PtsTestServer *server)
{
  g_autoptr (GError) error = NULL;

  pts_test_server_stop (server, &error);
  g_assert_no_error (error);
  pts_test_server_free (server);
}

PtsTestClient *
pts_fixture_login (PtsTestServer *server, const char *user, const char *resource)
{
  g_autoptr (GError) error = NULL;
  PtsTestClient *client;

  if (server->starttls)
    {
      /* --tls-cert: the same login over STARTTLS. */
      client = pts_test_client_connect_starttls (server->c2s_host, server->c2s_port, server->domain,
                                                 NULL, &error);
      g_assert_no_error (error);
      pts_test_client_authenticate (client, user, PTS_FIXTURE_PASSWORD, &error);
      g_assert_no_error (error);
      pts_test_client_bind (client, resource, &error);
    }
  else
    client = pts_test_client_login (server->c2s_host, server->c2s_port, server->domain, user,
                                    PTS_FIXTURE_PASSWORD, resource, &error);
  g_assert_no_error (error);
  g_assert_nonnull (client);
  return client;
}

void
pts_fixture_send (PtsTestClient *client, const char *format, ...)
{
  g_autoptr (GError) error = NULL;
  va_list ap;

  va_start (ap, format);
  pts_test_client_sendv (client, &error, format, ap);
  va_end (ap);
  g_assert_no_error (error);
}

PtsNode *
pts_fixture_iq (PtsTestClient *client, const char *format, ...)
{
  g_autoptr (GError) error = NULL;
  PtsNode *reply;
  va_list ap;

  va_start (ap, format);
  reply = pts_test_client_iqv (client, &error, format, ap);
  va_end (ap);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  return reply;
}

PtsNode *
pts_fixture_wait (PtsTestClient *client, PtsTestStanzaFunc match, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  PtsNode *stanza = pts_test_client_wait (client, match, user_data, PTS_TEST_TIMEOUT_MS, &error);

  g_assert_no_error (error);
  g_assert_nonnull (stanza);
  return stanza;
}

void
pts_fixture_assert_log_count (PtsTestServer *server, const char *needle, guint count)
{
  guint found;

  /* The log (stderr) may trail what was read from stdout (READY): wait
   * for the lines expected before counting them. */
  if (count > 0)
    pts_test_process_wait_line (server->process, PTS_TEST_STDERR, needle, count,
                                PTS_TEST_TIMEOUT_MS, NULL, NULL);
  found = pts_test_process_count_lines (server->process, PTS_TEST_STDERR, needle);
  if (found != count)
    g_test_message ("log lines with \"%s\": %u, expected %u", needle, found, count);
  g_assert_cmpuint (found, ==, count);
}

void
pts_fixture_assert_result (const PtsNode *reply)
{
  g_autofree char *xml = pts_test_node_to_string (reply);

  if (g_strcmp0 (pts_node_get_attr (reply, "type"), "result") != 0)
    g_test_message ("not a result: %s", xml);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "result");
}

void
pts_fixture_assert_error (const PtsNode *reply, const char *condition)
{
  g_autofree char *xml = pts_test_node_to_string (reply);

  g_test_message ("error reply: %s", xml);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "error");
  g_assert_cmpstr (pts_test_stanza_error_condition (reply), ==, condition);
}

gboolean
pts_fixture_match (const PtsNode *stanza, gpointer user_data)
{
  const PtsFixtureMatch *m = user_data;
  const char *type = pts_node_get_attr (stanza, "type");

  if (m->name != NULL && !pts_node_is (stanza, m->name, NULL))
    return FALSE;
  if (m->from != NULL && g_strcmp0 (pts_node_get_attr (stanza, "from"), m->from) != 0)
    return FALSE;
  if (m->type != NULL && (*m->type == '\0' ? type != NULL : g_strcmp0 (type, m->type) != 0))
    return FALSE;
  if (m->child_ns != NULL)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < stanza->children->len && !found; i++)
        found = pts_node_is (stanza->children->pdata[i], NULL, m->child_ns);
      if (!found)
        return FALSE;
    }
  return TRUE;
}

GSocketConnection *
pts_fixture_socks5 (PtsTestServer *server, const char *local, const char *hash)
{
  g_autoptr (GError) error = NULL;
  GSocketConnection *conn = NULL;
  int code = pts_test_socks5_connect_from (server->socks5_host, server->socks5_port, local, hash,
                                           &conn, &error);

  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0x00);
  return conn;
}

char *
pts_fixture_sidhash (const char *sid, PtsTestClient *initiator, PtsTestClient *target)
{
  char *hash
      = bsp_sidhash (sid, pts_test_client_get_jid (initiator), pts_test_client_get_jid (target));

  g_assert_nonnull (hash);
  return hash;
}

void
pts_fixture_stream_connect (PtsFixtureStream *stream, PtsTestServer *server,
                            PtsTestClient *initiator, PtsTestClient *target, const char *sid)
{
  g_autoptr (GError) error = NULL;
  int code;

  memset (stream, 0, sizeof *stream);
  stream->sid = g_strdup (sid);
  stream->hash = pts_fixture_sidhash (sid, initiator, target);
  code = pts_test_socks5_connect (server->socks5_host, server->socks5_port, stream->hash,
                                  &stream->target, &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0x00);
  code = pts_test_socks5_connect (server->socks5_host, server->socks5_port, stream->hash,
                                  &stream->initiator, &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0x00);
}

PtsNode *
pts_fixture_activate (PtsTestClient *initiator, PtsTestServer *server, const char *sid,
                      const char *target_jid)
{
  return pts_fixture_iq (initiator,
                         "<iq type='set' to='%s'>"
                         "<query xmlns='http://jabber.org/protocol/bytestreams' sid='%s'>"
                         "<activate>%s</activate></query></iq>",
                         server->proxy_jid, sid, target_jid);
}

void
pts_fixture_assert_transfer (PtsFixtureStream *stream, guint64 size, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  PtsTestTransfer result;

  pts_test_transfer (stream->initiator, stream->target, size, seed, PTS_TEST_TIMEOUT_MS, &result,
                     &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result.bytes_sent, ==, size);
  g_assert_cmpuint (result.bytes_received, ==, size);
  g_assert_cmpstr (result.received_sha256, ==, result.sent_sha256);
  g_test_message ("%" G_GUINT64_FORMAT " bytes in %.3f s (%.0f MiB/s), SHA-256 %s", size,
                  result.seconds, result.seconds > 0 ? size / result.seconds / 1048576.0 : 0.0,
                  result.received_sha256);
}

void
pts_fixture_stream_clear (PtsFixtureStream *stream)
{
  if (stream->target != NULL)
    g_io_stream_close (G_IO_STREAM (stream->target), NULL, NULL);
  if (stream->initiator != NULL)
    g_io_stream_close (G_IO_STREAM (stream->initiator), NULL, NULL);
  g_clear_object (&stream->target);
  g_clear_object (&stream->initiator);
  g_clear_pointer (&stream->sid, g_free);
  g_clear_pointer (&stream->hash, g_free);
}

void
pts_fixture_assert_good_stream (PtsTestServer *server, PtsTestClient *initiator,
                                PtsTestClient *target, const char *sid, guint64 size)
{
  PtsFixtureStream stream;
  g_autoptr (PtsNode) reply = NULL;

  pts_fixture_stream_connect (&stream, server, initiator, target, sid);
  reply = pts_fixture_activate (initiator, server, sid, pts_test_client_get_jid (target));
  pts_fixture_assert_result (reply);
  pts_fixture_assert_transfer (&stream, size, g_str_hash (sid));
  pts_fixture_stream_clear (&stream);
}

guint
pts_fixture_count_fds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", (int) pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* The descriptor count once connections still closing (an answer's
 * short drain) are gone: the lowest seen until it holds for 200 ms, or
 * until it reaches @target (bounded: 10 s). */
guint
pts_fixture_count_fds_settled (GPid pid, guint target)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint low = pts_fixture_count_fds (pid), stable = 0;

  while (low > target && stable < 10 && g_get_monotonic_time () < deadline)
    {
      guint now;

      g_usleep (20 * 1000);
      now = pts_fixture_count_fds (pid);
      stable = now < low ? 0 : stable + 1;
      low = MIN (low, now);
    }
  return low;
}

guint64
pts_fixture_rss_kib (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + 6, NULL, 10);
}
