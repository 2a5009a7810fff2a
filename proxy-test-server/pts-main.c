/* pts-main.c — proxy-test-server: an XEP-0065 proxy with the bs-proxy HTTP extension
 *
 * Data flow: options → the proxy (sessions, IQs) → its SOCKS5 listener → an
 * XMPP face, either the embedded hub (default) or an XEP-0114 component
 * connection → one READY line on stdout → the main loop until SIGINT/SIGTERM.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>

#include "pts-component.h"
#include "pts-config.h"
#include "pts-http.h"
#include "pts-hub.h"
#include "pts-listener.h"
#include "pts-proxy.h"
#include "pts-socks5-server.h"

#define PTS_SOCKS5_HANDSHAKE_TIMEOUT 30

#if defined(__SANITIZE_ADDRESS__)
/* Leak reports must be matched by tests/lsan.supp, which needs whole
 * stacks: GLib has no frame pointers for the fast unwinder. */
const char *__asan_default_options (void);

const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}
#endif

typedef struct
{
  PtsConfig *config;
  GMainLoop *loop;
  char *listen_fmt;
  guint16 c2s_port;
  guint16 socks5_port;
  guint16 http_port;
  const char *http_base;
  gboolean ready_printed;
} PtsApp;

static gboolean
pts_app_quit (gpointer user_data)
{
  PtsApp *app = user_data;

  g_message ("signal received, shutting down");
  g_main_loop_quit (app->loop);
  return G_SOURCE_CONTINUE;
}

/* Settings are read at start only: a hangup must not end the transfers. */
static gboolean
pts_app_hangup (gpointer user_data)
{
  g_message ("SIGHUP ignored: settings are read at start only, restart to apply changes");
  return G_SOURCE_CONTINUE;
}

static char *
pts_app_address (PtsApp *app, guint16 port)
{
  /* IPv6 addresses go in brackets, so that "host:port" stays unambiguous. */
  if (strchr (app->config->listen, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", app->config->listen, port);
  return g_strdup_printf ("%s:%u", app->config->listen, port);
}

static void
pts_app_print_ready (PtsApp *app)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autofree char *socks5 = pts_app_address (app, app->socks5_port);

  if (app->ready_printed)
    return;
  app->ready_printed = TRUE;

  json_builder_begin_object (builder);
  if (app->config->component == NULL)
    {
      g_autofree char *c2s = pts_app_address (app, app->c2s_port);
      json_builder_set_member_name (builder, "c2s");
      json_builder_add_string_value (builder, c2s);
      json_builder_set_member_name (builder, "starttls");
      json_builder_add_boolean_value (builder, app->config->tls_cert != NULL);
    }
  else
    {
      json_builder_set_member_name (builder, "component");
      json_builder_add_string_value (builder, app->config->component);
    }
  json_builder_set_member_name (builder, "socks5");
  json_builder_add_string_value (builder, socks5);
  if (app->http_port != 0)
    {
      g_autofree char *http = pts_app_address (app, app->http_port);
      json_builder_set_member_name (builder, "http");
      json_builder_add_string_value (builder, http);
      json_builder_set_member_name (builder, "http_base_url");
      json_builder_add_string_value (builder, app->http_base);
      json_builder_set_member_name (builder, "tls");
      json_builder_add_boolean_value (builder, app->config->tls_cert != NULL);
    }
  json_builder_set_member_name (builder, "proxy_jid");
  json_builder_add_string_value (builder, app->config->proxy_jid);
  json_builder_set_member_name (builder, "domain");
  json_builder_add_string_value (builder, app->config->domain);
  /* Who may use the proxy, defaults filled in: an operator sees at once
   * whether the users they mean are let in. */
  json_builder_set_member_name (builder, "acl");
  json_builder_begin_array (builder);
  for (char **d = app->config->acl_domains; d != NULL && *d != NULL; d++)
    json_builder_add_string_value (builder, *d);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "acl_open");
  json_builder_add_boolean_value (builder, app->config->acl_open);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);
  printf ("READY %s\n", json);
  fflush (stdout);
}

static void
pts_app_component_ready (PtsComponent *component, gpointer user_data)
{
  pts_app_print_ready (user_data);
}

/* Logs go to stderr only: stdout carries the READY line alone. */
static GLogWriterOutput
pts_app_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                    gpointer user_data)
{
  PtsApp *app = user_data;

  if (!app->config->verbose && (level & G_LOG_LEVEL_DEBUG))
    return G_LOG_WRITER_HANDLED;
  {
    g_autofree char *line = g_log_writer_format_fields (level, fields, n_fields, FALSE);
    fprintf (stderr, "%s\n", line);
  }
  return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PtsConfig) config = pts_config_new ();
  g_autoptr (PtsProxy) proxy = NULL;
  g_autoptr (PtsSocks5Server) socks5 = NULL;
  g_autoptr (PtsHub) hub = NULL;
  g_autoptr (PtsComponent) component = NULL;
  g_autoptr (PtsHttp) http = NULL;
  PtsApp app = { 0 };
  guint sigint, sigterm, sighup;

  setlocale (LC_ALL, "");
  app.config = config;
  g_log_set_writer_func (pts_app_log_writer, &app, NULL);

  if (pts_config_parse_args (config, &argc, &argv, &error) && config->version)
    {
      printf ("%s %s\n", g_get_prgname (), PACKAGE_VERSION);
      return 0;
    }
  if (error != NULL || !pts_config_finish (config, &error))
    {
      fprintf (stderr, "proxy-test-server: %s\nTry --help.\n", error->message);
      return 2;
    }

  /* Every connection costs a descriptor: use what the system allows. */
  pts_listener_raise_fd_limit ();
  /* A receiver gone while the relay splices to it is an EPIPE, not a
   * signal (splice(2) has no MSG_NOSIGNAL). */
  signal (SIGPIPE, SIG_IGN);
  app.loop = g_main_loop_new (NULL, FALSE);
  /* Before READY: a signal right after it must end us cleanly. */
  sigint = g_unix_signal_add (SIGINT, pts_app_quit, &app);
  sigterm = g_unix_signal_add (SIGTERM, pts_app_quit, &app);
  sighup = g_unix_signal_add (SIGHUP, pts_app_hangup, &app);
  proxy = pts_proxy_new (config);

  socks5 = pts_socks5_server_new (proxy, PTS_SOCKS5_HANDSHAKE_TIMEOUT,
                                  (guint) config->max_connections, (guint) config->max_per_address);
  app.socks5_port = pts_socks5_server_listen (socks5, config->listen, config->socks5_port, &error);
  if (app.socks5_port == 0)
    goto fail;
  pts_proxy_set_streamhost (proxy, config->advertise_host ? config->advertise_host : config->listen,
                            config->advertise_port ? config->advertise_port : app.socks5_port);

  if (config->http_port >= 0)
    {
      http = pts_http_new (config, proxy);
      app.http_port = pts_http_listen (http, config->listen, config->http_port, &error);
      if (app.http_port == 0)
        goto fail;
      app.http_base = pts_http_get_base_url (http);
    }

  if (config->component != NULL)
    {
      component = pts_component_new (config, proxy, pts_app_component_ready, &app);
      pts_component_start (component);
    }
  else
    {
      hub = pts_hub_new (config, proxy);
      app.c2s_port = pts_hub_listen (hub, config->listen, config->c2s_port, &error);
      if (app.c2s_port == 0)
        goto fail;
      pts_app_print_ready (&app);
    }

  g_main_loop_run (app.loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_source_remove (sighup);

  pts_proxy_shutdown (proxy);
  g_clear_pointer (&hub, pts_hub_free);
  g_clear_pointer (&component, pts_component_free);
  g_clear_pointer (&socks5, pts_socks5_server_free);
  g_clear_pointer (&http, pts_http_free);
  g_clear_pointer (&proxy, pts_proxy_free);
  g_main_loop_unref (app.loop);
  return 0;

fail:
  fprintf (stderr, "proxy-test-server: %s\n", error->message);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_source_remove (sighup);
  g_main_loop_unref (app.loop);
  return 1;
}
