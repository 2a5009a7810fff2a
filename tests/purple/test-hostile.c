/* test-hostile.c — the plugin as receiver, against a proxy that lies
 *
 * bob is a real libpurple (bsp-purple-driver) with the plugin. alice is
 * this test: a raw XMPP client (resource "evil") that offers a file, and a
 * second one (resource "proxy") that plays the bs-proxy: it answers bob's
 * disco#info with the bs-proxy feature and form, accepts his <connect/>,
 * and pushes <activated url=…/> with whatever URL the case wants. A tiny
 * HTTP responder on loopback, served from this thread once the push is
 * out, answers his GET the way the case wants: a redirect elsewhere, a
 * body longer than the offer, a body for an offer of size 0.
 *
 * Every hostile case must end bob's transfer cancelled with a reason in
 * his conversation, never complete, with no byte beyond the offered size
 * on his disk and no connection anywhere the URL should not lead. The
 * control case (an honest answer) shows the fake proxy is good enough to
 * complete a transfer, so that the refusals are the plugin's doing.
 *
 * The program test-hostile also runs test-hostile-send.c (the plugin as
 * sender, told to wait); test-hostile-harness.c is what they share.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bsp-protocol.h"
#include "test-hostile-harness.h"

#define HOSTILE_BOB_RESOURCE "hostile"
#define HOSTILE_SID "hostile-sid-1"

#define NS_SI "http://jabber.org/protocol/si"
#define NS_SI_FT "http://jabber.org/protocol/si/profile/file-transfer"

typedef enum
{
  HOSTILE_HTTP_NONE,         /* no connection may arrive */
  HOSTILE_HTTP_EXACT,        /* 200, exactly the offered bytes */
  HOSTILE_HTTP_REDIRECT,     /* 302 to the other listener */
  HOSTILE_HTTP_LONG_FIXED,   /* 200, Content-Length: offer + 1 MiB */
  HOSTILE_HTTP_LONG_CHUNKED, /* 200, chunked, offer + 1 MiB */
} HostileHttp;

typedef struct
{
  const char *path;
  const char *summary;
  guint64 size;    /* the offer */
  gboolean base;   /* the fake proxy advertises http-base */
  const char *url; /* {port}: the responder, {other}: the trap listener */
  HostileHttp http;
  const char *reason;   /* in bob's conversation; NULL: the transfer completes */
  gboolean forged_push; /* the sender pushes a URL to the trap first, as if the proxy */
  guint busy;           /* the first <connect/>s answered with a wait-type error */
} HostileCase;

static const HostileCase hostile_cases[] = {
  { "/hostile/control", "An honest fake proxy: the transfer completes (the setup works)", 1000,
    TRUE, "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_EXACT, NULL },
  { "/hostile/redirect", "The download answers 302 to another port: not followed", 1000, TRUE,
    "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_REDIRECT, "redirect" },
  { "/hostile/foreign-port", "The URL is on another port than the advertised base", 1000, TRUE,
    "http://127.0.0.1:{other}/dl/token", HOSTILE_HTTP_NONE,
    "not on the HTTP server the proxy advertised" },
  { "/hostile/foreign-host", "The URL is on another host than the advertised base", 1000, TRUE,
    "http://127.0.0.2:{port}/dl/token", HOSTILE_HTTP_NONE,
    "not on the HTTP server the proxy advertised" },
  { "/hostile/outside-base", "The URL leaves the advertised base's path by a dot segment", 1000,
    TRUE, "http://127.0.0.1:{port}/dl/%2e%2e/admin", HOSTILE_HTTP_NONE,
    "refused the download address" },
  { "/hostile/ftp", "An ftp: URL", 1000, TRUE, "ftp://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_NONE,
    "not an http or https URL" },
  { "/hostile/file", "A file: URL from a proxy that advertises no base", 1000, FALSE,
    "file:///etc/passwd", HOSTILE_HTTP_NONE, "not an http or https URL" },
  { "/hostile/size-0-fixed", "An offer of 0 bytes, a response with Content-Length: 1 MiB", 0, TRUE,
    "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_LONG_FIXED, "announces" },
  { "/hostile/size-0-chunked", "An offer of 0 bytes, a chunked response of 1 MiB", 0, FALSE,
    "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_LONG_CHUNKED, "longer than" },
  { "/hostile/forged-push",
    "Before the proxy's own push, another JID pushes <activated/> "
    "with the right sidhash and a URL to elsewhere: ignored, the real one completes",
    1000, TRUE, "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_EXACT, NULL, TRUE },
  { "/hostile/long-chunked", "An offer of 1000 bytes, a chunked response of 1 MiB more", 1000, TRUE,
    "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_LONG_CHUNKED, "longer than" },
  { "/hostile/connect-wait",
    "The proxy answers the first two <connect/>s with a wait-type "
    "error (resource-constraint): the plugin tries again after 1 s, then 2 s, and the third "
    "succeeds (no fallback to the trap's SOCKS5)",
    1000, TRUE, "http://127.0.0.1:{port}/dl/token", HOSTILE_HTTP_EXACT, NULL, FALSE, 2 },
};

/* Accepts one GET on @listener and answers it as @c says. */
static void
hostile_serve (GSocket *listener, const HostileCase *c, guint16 other_port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) request = g_string_new (NULL);
  g_autoptr (GSocket) conn = hostile_accept_request (listener, request);
  g_autofree char *head = NULL;
  g_autofree guint8 *body = NULL;
  guint64 length = c->size;

  g_assert_true (g_str_has_prefix (request->str, "GET /dl/token HTTP/1.1\r\n"));

  switch (c->http)
    {
    case HOSTILE_HTTP_REDIRECT:
      head = g_strdup_printf ("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/dl/token\r\n"
                              "Content-Length: 0\r\nConnection: close\r\n\r\n",
                              other_port);
      hostile_send (conn, head, strlen (head));
      return;
    case HOSTILE_HTTP_EXACT: break;
    case HOSTILE_HTTP_LONG_FIXED:
    case HOSTILE_HTTP_LONG_CHUNKED: length = c->size + 1024 * 1024; break;
    case HOSTILE_HTTP_NONE:
    default: g_assert_not_reached ();
    }

  body = g_malloc (length + 1);
  memset (body, 'x', length + 1);
  if (c->http == HOSTILE_HTTP_LONG_CHUNKED)
    {
      const char *start = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: close\r\n\r\n";
      if (!hostile_send (conn, start, strlen (start)))
        return;
      for (guint64 off = 0; off < length;)
        {
          gsize n = MIN (16 * 1024, length - off);
          g_autofree char *size_line = g_strdup_printf ("%zx\r\n", n);
          if (!hostile_send (conn, size_line, strlen (size_line))
              || !hostile_send (conn, body + off, n) || !hostile_send (conn, "\r\n", 2))
            return;
          off += n;
        }
      hostile_send (conn, "0\r\n\r\n", 5);
      return;
    }
  head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %" G_GUINT64_FORMAT
                          "\r\nConnection: close\r\n\r\n",
                          length);
  if (hostile_send (conn, head, strlen (head)))
    hostile_send (conn, body, length);
}

/* Plays the proxy (its HTTP side on @listener) until bob's <connect/> is
 * accepted; returns its size attribute. The first c->busy <connect/>s are
 * told to wait. */
static char *
hostile_play_proxy (PtsTestClient *proxy, const HostileCase *c, const char *http_base,
                    GSocket *listener)
{
  const char *me = pts_test_client_get_jid (proxy);
  guint connects = 0;
  gint64 last = 0;

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PtsNode) iq
          = pts_test_client_wait (proxy, hostile_match_request, NULL, HOSTILE_WAIT_MS, &error);
      const char *id, *from;
      PtsNode *child;
      g_autofree char *answer = NULL;

      g_assert_no_error (error);
      id = pts_node_get_attr (iq, "id");
      from = pts_node_get_attr (iq, "from");
      if ((child = pts_node_get_child (iq, "query", BSP_NS_DISCO_INFO)) != NULL)
        {
          g_autofree char *form = NULL;
          if (c->base)
            form = g_markup_printf_escaped (
                "<x xmlns='jabber:x:data' type='result'>"
                "<field var='FORM_TYPE' type='hidden'><value>%s</value></field>"
                "<field var='http-base'><value>%s</value></field></x>",
                BSP_NS_BSPROXY, http_base);
          g_autofree char *start = g_markup_printf_escaped (
              "<iq type='result' id='%s' to='%s'><query xmlns='%s'>"
              "<identity category='proxy' type='bytestreams' name='fake'/>"
              "<feature var='%s'/><feature var='%s'/>",
              id, from, BSP_NS_DISCO_INFO, BSP_NS_BYTESTREAMS, BSP_NS_BSPROXY);
          answer = g_strconcat (start, form ? form : "", "</query></iq>", NULL);
          hostile_send_raw (proxy, answer);
          /* With a base, the plugin checks it before it uses the proxy. */
          if (c->base)
            hostile_answer_probe (listener, "/dl/");
        }
      else if ((child = pts_node_get_child (iq, "connect", BSP_NS_BSPROXY)) != NULL
               && connects++ < c->busy)
        {
          gint64 now = g_get_monotonic_time ();

          /* the back-off: 1 s before the second try, 2 s before the third */
          if (last != 0)
            {
              g_test_message ("<connect/> again after %.2f s", (now - last) / 1e6);
              g_assert_cmpint (now - last, >=, (gint64) (connects - 1) * G_USEC_PER_SEC - 100000);
            }
          last = now;
          answer = g_markup_printf_escaped ("<iq type='error' id='%s' to='%s'><error type='wait'>"
                                            "<resource-constraint xmlns='%s'/></error></iq>",
                                            id, from, BSP_NS_STANZAS);
          hostile_send_raw (proxy, answer);
        }
      else if (child != NULL)
        {
          if (last != 0)
            {
              gint64 gap = g_get_monotonic_time () - last;
              g_test_message ("<connect/> again after %.2f s", gap / 1e6);
              g_assert_cmpint (gap, >=, (gint64) c->busy * G_USEC_PER_SEC - 100000);
            }
          g_assert_cmpuint (connects, ==, c->busy + 1);
          answer = g_markup_printf_escaped ("<iq type='result' id='%s' to='%s'>"
                                            "<connected xmlns='%s' jid='%s'/></iq>",
                                            id, from, BSP_NS_BSPROXY, me);
          hostile_send_raw (proxy, answer);
          {
            g_autofree char *text = pts_test_node_to_string (iq);
            g_test_message ("the plugin connected: %s", text);
          }
          return g_strdup (pts_node_get_attr (child, "size"));
        }
      else
        {
          answer = g_markup_printf_escaped ("<iq type='error' id='%s' to='%s'><error type='cancel'>"
                                            "<feature-not-implemented xmlns='%s'/></error></iq>",
                                            id, from, BSP_NS_STANZAS);
          hostile_send_raw (proxy, answer);
        }
    }
  g_assert_not_reached ();
  return NULL;
}

static char *
hostile_expand (const char *url, guint16 port, guint16 other)
{
  g_autoptr (GString) s = g_string_new (url);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *o = g_strdup_printf ("%u", other);

  g_string_replace (s, "{port}", p, 0);
  g_string_replace (s, "{other}", o, 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The driver's event line that contains @needle, parsed, or NULL. */
static JsonObject *
hostile_event (PtsTestProcess *driver, const char *needle)
{
  g_autofree char *line = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();

  if (pts_test_process_count_lines (driver, PTS_TEST_STDOUT, needle) == 0)
    return NULL;
  g_assert_true (pts_test_process_wait_line (driver, PTS_TEST_STDOUT, needle, 1, 0, &line, NULL));
  g_assert_true (json_parser_load_from_data (parser, line, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
hostile_test (gconstpointer user_data)
{
  const HostileCase *c = user_data;
  HostileWorld w;
  PtsTestClient *sender, *proxy;
  PtsTestProcess *driver;
  GSocket *http, *trap;
  guint16 http_port, trap_port;
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsNode) reply = NULL;
  g_autoptr (JsonObject) said = NULL;
  g_autofree char *user_dir = g_build_filename (g_get_user_config_dir (), "bob", NULL);
  g_autofree char *accept_dir = g_build_filename (g_get_user_config_dir (), "received", NULL);
  g_autofree char *received = g_build_filename (accept_dir, HOSTILE_FILE, NULL);
  g_autofree char *bob = NULL;
  g_autofree char *size = g_strdup_printf ("%" G_GUINT64_FORMAT, c->size);
  g_autofree char *http_base = NULL;
  g_autofree char *url = NULL;
  g_autofree char *sidhash = NULL;
  g_autofree char *connect_size = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *offer_id = NULL;
  g_autofree char *push_id = NULL;
  GStatBuf st;

  g_test_summary (c->summary);
  if (!hostile_world_start (&w, "alice", "proxy"))
    return;
  sender = w.peer;
  proxy = w.proxy;
  http = w.http;
  trap = w.trap;
  http_port = w.http_port;
  trap_port = w.trap_port;
  g_assert_cmpint (g_mkdir_with_parents (accept_dir, 0700), ==, 0);
  http_base = g_strdup_printf ("http://127.0.0.1:%u/dl/", http_port);
  url = hostile_expand (c->url, http_port, trap_port);

  bob = g_strdup_printf ("bob@%s/" HOSTILE_BOB_RESOURCE, w.server->domain);
  {
    const char *extra[] = { "--accept-dir", accept_dir, NULL };

    hostile_world_spawn_driver (&w, bob, user_dir, extra);
  }
  driver = w.driver;
  pts_test_process_wait_line (driver, PTS_TEST_STDOUT, "\"signed-on\"", 1, HOSTILE_WAIT_MS, NULL,
                              &error);
  g_assert_no_error (error);

  /* The XEP-0096 offer; bob's driver accepts it. */
  reply = pts_test_client_iq (
      sender, &error,
      "<iq type='set' to='%s'><si xmlns='" NS_SI "' id='" HOSTILE_SID "' profile='" NS_SI_FT
      "'><file xmlns='" NS_SI_FT "' name='" HOSTILE_FILE "' size='%s'/>"
      "<feature xmlns='http://jabber.org/protocol/feature-neg'><x xmlns='jabber:x:data' "
      "type='form'><field var='stream-method' type='list-single'><option><value>"
      "http://jabber.org/protocol/bytestreams</value></option></field></x></feature></si></iq>",
      bob, size);
  g_assert_no_error (error);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "result");
  g_clear_pointer (&reply, pts_node_free);

  /* The streamhost offer names the fake proxy; the plugin takes it. */
  offer_id = pts_test_client_next_id (sender);
  pts_test_client_sendf (sender, &error,
                         "<iq type='set' id='%s' to='%s'><query xmlns='%s' sid='" HOSTILE_SID
                         "'><streamhost jid='%s' host='127.0.0.1' port='%u'/></query></iq>",
                         offer_id, bob, BSP_NS_BYTESTREAMS, pts_test_client_get_jid (proxy),
                         trap_port);
  g_assert_no_error (error);
  connect_size = hostile_play_proxy (proxy, c, http_base, http);
  g_assert_cmpstr (connect_size, ==, size);
  reply = pts_test_client_wait_iq (sender, offer_id, HOSTILE_WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "result");
  g_assert_nonnull (pts_test_node_find (reply, "streamhost-used", BSP_NS_BYTESTREAMS));
  g_clear_pointer (&reply, pts_node_free);

  sidhash = bsp_sidhash (HOSTILE_SID, pts_test_client_get_jid (sender), bob);
  if (c->forged_push)
    {
      g_autofree char *forged_id = pts_test_client_next_id (sender);
      g_autofree char *forged_url
          = hostile_expand ("http://127.0.0.1:{other}/dl/token", http_port, trap_port);
      g_autofree char *forged = g_markup_printf_escaped (
          "<iq type='set' id='%s' to='%s'><activated xmlns='%s' sidhash='%s' url='%s'/></iq>",
          forged_id, bob, BSP_NS_BSPROXY, sidhash, forged_url);
      hostile_send_raw (sender, forged);
      reply = pts_test_client_wait_iq (sender, forged_id, HOSTILE_WAIT_MS, &error);
      g_assert_no_error (error);
      g_clear_pointer (&reply, pts_node_free);
    }

  /* The push that carries the URL under test. */
  push_id = pts_test_client_next_id (proxy);
  xml = g_markup_printf_escaped ("<iq type='set' id='%s' to='%s'><activated xmlns='%s' "
                                 "sidhash='%s' url='%s'/></iq>",
                                 push_id, bob, BSP_NS_BSPROXY, sidhash, url);
  hostile_send_raw (proxy, xml);
  reply = pts_test_client_wait_iq (proxy, push_id, HOSTILE_WAIT_MS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pts_node_get_attr (reply, "type"), ==, "result");

  if (c->http != HOSTILE_HTTP_NONE)
    hostile_serve (http, c, trap_port);

  hostile_world_wait_driver (&w);

  /* Nothing went where the URL should not lead. */
  g_assert_false (hostile_has_pending (trap));
  if (c->http == HOSTILE_HTTP_NONE)
    g_assert_false (hostile_has_pending (http));

  if (c->reason == NULL)
    {
      g_assert_cmpuint (
          pts_test_process_count_lines (driver, PTS_TEST_STDOUT, "\"xfer-completed\""), ==, 1);
      g_assert_cmpint (g_stat (received, &st), ==, 0);
      g_assert_cmpint (st.st_size, ==, c->size);
    }
  else
    {
      g_autofree char *needle = g_strdup_printf ("Transfer of %s failed: ", HOSTILE_FILE);
      const char *message;

      g_assert_cmpuint (
          pts_test_process_count_lines (driver, PTS_TEST_STDOUT, "\"xfer-completed\""), ==, 0);
      g_assert_cmpuint (
          pts_test_process_count_lines (driver, PTS_TEST_STDOUT, "\"xfer-cancelled\""), ==, 1);
      said = hostile_event (driver, needle);
      g_assert_nonnull (said);
      message = json_object_get_string_member (said, "message");
      g_test_message ("bob was told: %s", message);
      g_assert_nonnull (strstr (message, c->reason));
      /* nothing beyond the offer on disk */
      if (g_stat (received, &st) == 0)
        g_assert_cmpint (st.st_size, <=, c->size);
    }

  hostile_world_stop (&w);
}

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  /* libpurple's D-Bus glue must not reach the desktop's session bus. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  g_unsetenv ("DBUS_STARTER_ADDRESS");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (hostile_cases); i++)
    g_test_add_data_func (hostile_cases[i].path, &hostile_cases[i], hostile_test);
  test_hostile_add_send ();
  return g_test_run ();
}
