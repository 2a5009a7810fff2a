/* pts-selfcheck.c — one file through proxy-test-server's SOCKS5 proxy, verified
 *
 * The demo of the README's first command: starts the server, signs two
 * accounts in, finds the proxy as an XMPP client does (disco#items, then the
 * streamhost query), connects both ends by SOCKS5 (XEP-0065), activates,
 * moves the data, compares SHA-256 on both sides, prints one line and stops
 * the server.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-test-util.h"

#define PTS_SELFCHECK_PASSWORD "selfcheck"
#define PTS_SELFCHECK_DEFAULT_SIZE (G_GUINT64_CONSTANT (64) * 1024 * 1024)

static gboolean
pts_selfcheck_parse_size (const char *text, guint64 *out, GError **error)
{
  char *end = NULL;
  guint64 value, unit = 1;

  value = g_ascii_strtoull (text, &end, 10);
  if (end == text)
    goto bad;
  switch (g_ascii_toupper (*end))
    {
    case 'K':
      unit = 1024;
      end++;
      break;
    case 'M':
      unit = 1024 * 1024;
      end++;
      break;
    case 'G':
      unit = 1024 * 1024 * 1024;
      end++;
      break;
    default: break;
    }
  if (unit > 1 && *end == 'i')
    end++;
  if (*end == 'B')
    end++;
  if (*end != '\0' || value == 0 || value > G_MAXUINT64 / unit)
    goto bad;
  *out = value * unit;
  return TRUE;

bad:
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--size wants a positive number of bytes, optionally with K, M or G, got "
               "\"%s\"",
               text);
  return FALSE;
}

/* The server binary: --server, else $PTS_SERVER or the one built with
 * this program (pts_test_server_path ()), else proxy-test-server from
 * PATH. */
static char *
pts_selfcheck_server_path (const char *option)
{
  const char *found;

  if (option != NULL)
    return g_strdup (option);
  found = pts_test_server_path (NULL);
  if (found != NULL)
    return g_strdup (found);
  return g_find_program_in_path ("proxy-test-server");
}

static gboolean
pts_selfcheck_expect_result (PtsNode *reply, const char *what, GError **error)
{
  if (g_strcmp0 (pts_node_get_attr (reply, "type"), "result") == 0)
    return TRUE;
  g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL, "%s: %s", what,
               pts_test_stanza_error_condition (reply) ? pts_test_stanza_error_condition (reply)
                                                       : "not a result");
  return FALSE;
}

/* disco#items of the domain, then the streamhost query to each item until
 * one answers: the XEP-0065 discovery a client does. */
static gboolean
pts_selfcheck_find_proxy (PtsTestClient *client, const char *domain, char **proxy_jid, char **host,
                          guint16 *port, GError **error)
{
  g_autoptr (PtsNode) items = NULL;
  PtsNode *query;

  items = pts_test_client_iq (client, error,
                              "<iq type='get' to='%s'>"
                              "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
                              domain);
  if (items == NULL || !pts_selfcheck_expect_result (items, "disco#items", error))
    return FALSE;
  query = pts_node_get_child (items, "query", BSP_NS_DISCO_ITEMS);
  for (guint i = 0; query != NULL && i < query->children->len; i++)
    {
      const char *jid = pts_node_get_attr (query->children->pdata[i], "jid");
      g_autoptr (PtsNode) hosts = NULL;
      PtsNode *streamhost;
      guint64 value = 0;

      if (jid == NULL)
        continue;
      hosts = pts_test_client_iq (
          client, error,
          "<iq type='get' to='%s'><query xmlns='http://jabber.org/protocol/bytestreams'/></iq>",
          jid);
      if (hosts == NULL)
        return FALSE;
      streamhost = pts_test_node_find (hosts, "streamhost", BSP_NS_BYTESTREAMS);
      if (g_strcmp0 (pts_node_get_attr (hosts, "type"), "result") != 0 || streamhost == NULL
          || pts_node_get_attr (streamhost, "host") == NULL
          || !g_ascii_string_to_unsigned (pts_node_get_attr (streamhost, "port"), 10, 1, 65535,
                                          &value, NULL))
        continue;
      *proxy_jid = g_strdup (jid);
      *host = g_strdup (pts_node_get_attr (streamhost, "host"));
      *port = (guint16) value;
      return TRUE;
    }
  g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
               "no item of %s's disco#items answers as a SOCKS5 bytestreams proxy", domain);
  return FALSE;
}

static GSocketConnection *
pts_selfcheck_socks5 (const char *host, guint16 port, const char *hash, const char *role,
                      GError **error)
{
  GSocketConnection *conn = NULL;
  int code = pts_test_socks5_connect (host, port, hash, &conn, error);

  if (code < 0)
    {
      g_prefix_error (error, "SOCKS5 connection of the %s: ", role);
      return NULL;
    }
  if (code != 0)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "the proxy refused the %s's SOCKS5 connection with reply %02x", role, code);
      return NULL;
    }
  return conn;
}

static gboolean
pts_selfcheck_run (const char *server_path, guint64 size, gboolean verbose, GError **error)
{
  const char *args[] = { "--user", "sender:" PTS_SELFCHECK_PASSWORD, "--user",
                         "receiver:" PTS_SELFCHECK_PASSWORD, NULL };
  g_autoptr (PtsTestServer) server = NULL;
  g_autoptr (PtsTestClient) sender = NULL, receiver = NULL;
  g_autoptr (GSocketConnection) target = NULL, initiator = NULL;
  g_autoptr (PtsNode) activated = NULL;
  g_autofree char *proxy_jid = NULL, *host = NULL, *sid = NULL, *hash = NULL;
  g_autofree char *size_text = NULL;
  guint16 port = 0;
  PtsTestTransfer result;

  server = pts_test_server_start (server_path, args,
                                  verbose ? PTS_TEST_SERVER_DEFAULT : PTS_TEST_SERVER_QUIET, error);
  if (server == NULL)
    {
      g_prefix_error (error, "starting %s: ", server_path);
      return FALSE;
    }

  sender = pts_test_client_login (server->c2s_host, server->c2s_port, server->domain, "sender",
                                  PTS_SELFCHECK_PASSWORD, "selfcheck", error);
  if (sender == NULL)
    return FALSE;
  receiver = pts_test_client_login (server->c2s_host, server->c2s_port, server->domain, "receiver",
                                    PTS_SELFCHECK_PASSWORD, "selfcheck", error);
  if (receiver == NULL)
    return FALSE;
  if (!pts_selfcheck_find_proxy (sender, server->domain, &proxy_jid, &host, &port, error))
    {
      g_prefix_error (error, "finding the proxy: ");
      return FALSE;
    }

  /* The target connects first, then the initiator, both with the SIDHASH. */
  sid = g_uuid_string_random ();
  hash = bsp_sidhash (sid, pts_test_client_get_jid (sender), pts_test_client_get_jid (receiver));
  target = pts_selfcheck_socks5 (host, port, hash, "receiver", error);
  if (target == NULL)
    return FALSE;
  initiator = pts_selfcheck_socks5 (host, port, hash, "sender", error);
  if (initiator == NULL)
    return FALSE;
  activated = pts_test_client_iq (sender, error,
                                  "<iq type='set' to='%s'>"
                                  "<query xmlns='http://jabber.org/protocol/bytestreams' "
                                  "sid='%s'><activate>%s</activate></query></iq>",
                                  proxy_jid, sid, pts_test_client_get_jid (receiver));
  if (activated == NULL || !pts_selfcheck_expect_result (activated, "activation", error))
    return FALSE;

  if (!pts_test_transfer (initiator, target, size, g_get_real_time (), 30000, &result, error))
    {
      g_prefix_error (error, "transfer: ");
      return FALSE;
    }
  if (result.bytes_received != size || strcmp (result.sent_sha256, result.received_sha256) != 0)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "data corrupted: sent %" G_GUINT64_FORMAT " bytes with SHA-256 %s, "
                   "received %" G_GUINT64_FORMAT " bytes with SHA-256 %s",
                   result.bytes_sent, result.sent_sha256, result.bytes_received,
                   result.received_sha256);
      return FALSE;
    }

  g_clear_pointer (&sender, pts_test_client_free);
  g_clear_pointer (&receiver, pts_test_client_free);
  if (!pts_test_server_stop (server, error))
    {
      g_prefix_error (error, "stopping the server: ");
      return FALSE;
    }

  size_text = g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
  printf ("%s through the SOCKS5 proxy in %.2f s: %.0f MiB/s, SHA-256 verified\n", size_text,
          result.seconds, result.seconds > 0 ? size / result.seconds / (1024.0 * 1024.0) : 0.0);
  if (verbose)
    printf ("SHA-256 %s\n", result.received_sha256);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *server_option = NULL;
  g_autofree char *size_option = NULL;
  g_autofree char *server_path = NULL;
  gboolean verbose = FALSE;
  guint64 size = PTS_SELFCHECK_DEFAULT_SIZE;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[]
      = { { "server", 's', 0, G_OPTION_ARG_FILENAME, &server_option,
            "The proxy-test-server binary (default: $PTS_SERVER, else the one built alongside)",
            "PATH" },
          { "size", 'n', 0, G_OPTION_ARG_STRING, &size_option,
            "Bytes to move, with an optional K, M or G (binary) suffix (default: 64M)", "SIZE" },
          { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Show the server's log and the digest",
            NULL },
          G_OPTION_ENTRY_NULL };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- move a file through proxy-test-server and verify it");
  g_option_context_set_summary (
      context, "Starts proxy-test-server on loopback, signs in two accounts, moves random "
               "data\nfrom one to the other through its XEP-0065 SOCKS5 proxy and checks "
               "that the\nSHA-256 of what arrived equals that of what was sent.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)
      || (size_option != NULL && !pts_selfcheck_parse_size (size_option, &size, &error)))
    {
      fprintf (stderr, "pts-selfcheck: %s\nTry --help.\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      fprintf (stderr, "pts-selfcheck: unexpected argument \"%s\"\nTry --help.\n", argv[1]);
      return 2;
    }

  server_path = pts_selfcheck_server_path (server_option);
  if (server_path == NULL)
    {
      fprintf (stderr, "pts-selfcheck: cannot find proxy-test-server: give --server PATH "
                       "or set PTS_SERVER\n");
      return 1;
    }
  if (!pts_selfcheck_run (server_path, size, verbose, &error))
    {
      fprintf (stderr, "pts-selfcheck: FAILED: %s\n", error->message);
      return 1;
    }
  return 0;
}
