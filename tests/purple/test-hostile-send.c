/* test-hostile-send.c — the plugin as sender, against a bs-proxy that says
 * "wait": alice is a real libpurple (bsp-purple-driver) with the plugin; bob
 * is this test, a raw client ("evil") that accepts the offer and names the
 * fake proxy, and a second one ("fakeproxy") that answers the first
 * activation with a wait-type error and takes the upload on its HTTP side.
 * Part of the program test-hostile (test-hostile.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-protocol.h"
#include "test-hostile-harness.h"

#define NS_SI "http://jabber.org/protocol/si"
#define NS_SI_FT "http://jabber.org/protocol/si/profile/file-transfer"

typedef struct
{
  PtsTestClient *receiver; /* bob/evil: accepts the offer, names the fake proxy */
  PtsTestClient *proxy;    /* bob/fakeproxy: the bs-proxy */
  const char *http_base;
  GSocket *http; /* its HTTP side */
  guint16 trap_port;
  guint activations;
  gint64 last_activation;
  gboolean activated;
} HostileSend;

static void
hostile_send_serve_proxy (HostileSend *hs, PtsNode *iq)
{
  const char *id = pts_node_get_attr (iq, "id");
  const char *from = pts_node_get_attr (iq, "from");
  const char *type = pts_node_get_attr (iq, "type");
  PtsNode *query;
  g_autofree char *answer = NULL;

  if (pts_node_get_child (iq, "query", BSP_NS_DISCO_INFO) != NULL)
    answer = g_markup_printf_escaped (
        "<iq type='result' id='%s' to='%s'><query xmlns='%s'>"
        "<identity category='proxy' type='bytestreams' name='fake'/>"
        "<feature var='%s'/><feature var='%s'/><feature var='%s'/>"
        "<x xmlns='jabber:x:data' type='result'>"
        "<field var='FORM_TYPE' type='hidden'><value>%s</value></field>"
        "<field var='http-base'><value>%s</value></field></x></query></iq>",
        id, from, BSP_NS_DISCO_INFO, BSP_NS_BYTESTREAMS, BSP_NS_BSPROXY, BSP_NS_BSPROXY_BRIDGE,
        BSP_NS_BSPROXY, hs->http_base);
  else if ((query = pts_node_get_child (iq, "query", BSP_NS_BYTESTREAMS)) != NULL
           && g_strcmp0 (type, "get") == 0)
    answer = g_markup_printf_escaped ("<iq type='result' id='%s' to='%s'><query xmlns='%s'>"
                                      "<streamhost jid='%s' host='127.0.0.1' port='%u'/>"
                                      "</query></iq>",
                                      id, from, BSP_NS_BYTESTREAMS,
                                      pts_test_client_get_jid (hs->proxy), hs->trap_port);
  else if (query != NULL && pts_node_get_child (query, "x", BSP_NS_BSPROXY) != NULL)
    {
      gint64 now = g_get_monotonic_time ();

      if (hs->activations++ == 0)
        answer = g_markup_printf_escaped ("<iq type='error' id='%s' to='%s'><error type='wait'>"
                                          "<remote-server-timeout xmlns='%s'/></error></iq>",
                                          id, from, BSP_NS_STANZAS);
      else
        {
          g_test_message ("activation again after %.2f s", (now - hs->last_activation) / 1e6);
          g_assert_cmpint (now - hs->last_activation, >=, G_USEC_PER_SEC - 100000);
          answer = g_markup_printf_escaped ("<iq type='result' id='%s' to='%s'><activated "
                                            "xmlns='%s' url='%stoken'/></iq>",
                                            id, from, BSP_NS_BSPROXY, hs->http_base);
          hs->activated = TRUE;
        }
      hs->last_activation = now;
    }
  else if (g_strcmp0 (type, "get") == 0 || g_strcmp0 (type, "set") == 0)
    answer = g_markup_printf_escaped ("<iq type='error' id='%s' to='%s'><error type='cancel'>"
                                      "<feature-not-implemented xmlns='%s'/></error></iq>",
                                      id, from, BSP_NS_STANZAS);
  if (answer != NULL)
    hostile_send_raw (hs->proxy, answer);
  /* With its base known, the plugin checks it before it uses the proxy. */
  if (pts_node_get_child (iq, "query", BSP_NS_DISCO_INFO) != NULL)
    hostile_answer_probe (hs->http, "/up/");
}

static void
hostile_send_serve_receiver (HostileSend *hs, PtsNode *iq)
{
  const char *id = pts_node_get_attr (iq, "id");
  const char *from = pts_node_get_attr (iq, "from");
  PtsNode *query = pts_node_get_child (iq, "query", BSP_NS_BYTESTREAMS);
  g_autofree char *answer = NULL;

  if (pts_node_get_child (iq, "query", BSP_NS_DISCO_INFO) != NULL)
    answer = g_markup_printf_escaped (
        "<iq type='result' id='%s' to='%s'><query xmlns='%s'>"
        "<identity category='client' type='pc'/><feature var='%s'/><feature var='%s'/>"
        "<feature var='%s'/></query></iq>",
        id, from, BSP_NS_DISCO_INFO, NS_SI, NS_SI_FT, BSP_NS_BYTESTREAMS);
  else if (pts_node_get_child (iq, "si", NS_SI) != NULL)
    answer = g_markup_printf_escaped (
        "<iq type='result' id='%s' to='%s'><si xmlns='%s'><feature "
        "xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' type='submit'>"
        "<field var='stream-method'><value>%s</value></field></x></feature></si></iq>",
        id, from, NS_SI, BSP_NS_BYTESTREAMS);
  else if (query != NULL && g_strcmp0 (pts_node_get_attr (iq, "type"), "set") == 0)
    answer
        = g_markup_printf_escaped ("<iq type='result' id='%s' to='%s'><query xmlns='%s' "
                                   "sid='%s'><streamhost-used jid='%s'/></query></iq>",
                                   id, from, BSP_NS_BYTESTREAMS, pts_node_get_attr (query, "sid"),
                                   pts_test_client_get_jid (hs->proxy));
  else if (g_strcmp0 (pts_node_get_attr (iq, "type"), "get") == 0)
    answer = g_markup_printf_escaped ("<iq type='error' id='%s' to='%s'><error type='cancel'>"
                                      "<feature-not-implemented xmlns='%s'/></error></iq>",
                                      id, from, BSP_NS_STANZAS);
  if (answer != NULL)
    hostile_send_raw (hs->receiver, answer);
}

/* Accepts the POST and answers 200 once its whole body is in. */
static void
hostile_take_upload (GSocket *listener)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) conn = g_socket_accept (listener, NULL, &error);
  g_autoptr (GString) request = g_string_new (NULL);
  const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  const char *end, *cl;

  g_assert_no_error (error);
  g_socket_set_timeout (conn, HOSTILE_WAIT_MS / 1000);
  for (;;)
    {
      char buf[4096];
      gssize n;

      end = strstr (request->str, "\r\n\r\n");
      cl = end ? g_strstr_len (request->str, end - request->str, "Content-Length: ") : NULL;
      if (cl != NULL
          && request->len - (gsize) (end + 4 - request->str)
                 >= g_ascii_strtoull (cl + 16, NULL, 10))
        break;
      n = g_socket_receive (conn, buf, sizeof buf, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (request, buf, n);
    }
  g_test_message ("the plugin uploaded: %.*s", (int) strcspn (request->str, "\r"), request->str);
  g_assert_true (g_str_has_prefix (request->str, "POST /up/token HTTP/1.1\r\n"));
  hostile_send (conn, ok, strlen (ok));
}

static void
hostile_send_wait_test (void)
{
  HostileWorld w;
  PtsTestClient *receiver, *proxy;
  g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "alice", NULL);
  g_autofree char *file = g_build_filename (g_get_user_config_dir (), HOSTILE_FILE, NULL);
  g_autofree char *http_base = NULL, *account = NULL, *pref = NULL;
  g_autofree char *to = NULL, *after = NULL;
  gint64 deadline;
  HostileSend hs = { 0 };

  g_test_summary ("The plugin sends; the bs-proxy answers its first activation with a "
                  "wait-type error (remote-server-timeout): the plugin activates again after "
                  "1 s, uploads, and the transfer completes");
  if (!hostile_world_start (&w, "bob", "fakeproxy"))
    return;
  receiver = w.peer;
  proxy = w.proxy;
  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "0123456789", 10, NULL));
  http_base = g_strdup_printf ("http://127.0.0.1:%u/up/", w.http_port);
  hs.http_base = http_base;
  hs.http = w.http;
  hs.trap_port = w.trap_port;
  hs.receiver = receiver;
  hs.proxy = proxy;
  hostile_send_raw (receiver, "<presence/>");

  account = g_strdup_printf ("alice@%s/sender", w.server->domain);
  pref = g_strdup_printf ("/plugins/core/bsproxy/proxy_jid=%s", pts_test_client_get_jid (proxy));
  to = g_strdup (pts_test_client_get_jid (receiver));
  /* Sent once the plugin knows the bs-proxy (its streamhost and its HTTP
   * side), as by a user a moment after signing in: this fake proxy answers
   * only between the receiver's turns, and an offer made before would
   * rightly go without it. */
  after = g_strdup_printf ("proxy %s: SOCKS5 ", pts_test_client_get_jid (proxy));
  {
    const char *extra[]
        = { "--pref", pref, "--send-file", file, "--to", to, "--send-after", after, NULL };

    hostile_world_spawn_driver (&w, account, user_dir, extra);
  }

  /* Both play their parts until the activation is through. */
  deadline = g_get_monotonic_time () + HOSTILE_WAIT_MS * 1000;
  while (!hs.activated)
    {
      g_autoptr (PtsNode) from_proxy = NULL;
      g_autoptr (PtsNode) from_receiver = NULL;

      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *tail = pts_test_process_get_tail (w.driver, 60);
          g_test_message ("the driver's last words:\n%s", tail);
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      from_proxy = pts_test_client_wait (proxy, hostile_match_request, NULL, 100, NULL);
      if (from_proxy != NULL)
        hostile_send_serve_proxy (&hs, from_proxy);
      from_receiver = pts_test_client_wait (receiver, hostile_match_request, NULL, 100, NULL);
      if (from_receiver != NULL)
        hostile_send_serve_receiver (&hs, from_receiver);
    }
  g_assert_cmpuint (hs.activations, ==, 2);
  hostile_take_upload (w.http);

  hostile_world_wait_driver (&w);
  g_assert_cmpuint (pts_test_process_count_lines (w.driver, PTS_TEST_STDOUT, "\"xfer-completed\""),
                    ==, 1);
  /* no fallback: nobody came to the SOCKS5 streamhost */
  g_assert_false (hostile_socks5_came (w.trap));
  hostile_world_stop (&w);
}

void
test_hostile_add_send (void)
{
  g_test_add_func ("/hostile/send/activation-wait", hostile_send_wait_test);
}
