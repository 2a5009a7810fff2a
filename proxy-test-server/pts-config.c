/* pts-config.c — the proxy's settings, from the command line and a JSON file
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-config.h"

G_DEFINE_QUARK (pts-config-error-quark, pts_config_error)

#define PTS_UNSET G_MININT

PtsConfig *
pts_config_new (void)
{
  PtsConfig *config = g_new0 (PtsConfig, 1);

  config->domain = g_strdup ("localhost");
  config->listen = g_strdup ("127.0.0.1");
  config->c2s_port = 5222;
  config->socks5_port = 7777;
  config->http_port = -1;
  config->advertise_port = 0;
  config->max_sessions = 1024;
  config->max_transfers = 256;
  config->max_per_initiator = 16;
  config->activation_timeout = 60;
  config->idle_timeout = 300;
  config->progress_interval_ms = 5000;
  config->buffer_size = 256 * 1024;
  config->max_stanza = 256 * 1024;
  config->keepalive = 60;
  return config;
}

void
pts_config_free (PtsConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->domain);
  g_strfreev (config->users);
  g_free (config->listen);
  g_free (config->proxy_jid);
  g_free (config->advertise_host);
  g_free (config->http_base_url);
  g_strfreev (config->acl_domains);
  g_free (config->component);
  g_free (config->component_secret);
  g_free (config);
}

static void
pts_config_set_string (char **field, const char *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

static void
pts_config_set_int (int *field, int value)
{
  if (value != PTS_UNSET)
    *field = value;
}

static void
pts_config_append_strv (char ***field, char **values)
{
  GStrvBuilder *builder;

  if (values == NULL)
    return;
  builder = g_strv_builder_new ();
  if (*field != NULL)
    g_strv_builder_addv (builder, (const char **) *field);
  g_strv_builder_addv (builder, (const char **) values);
  g_strfreev (*field);
  *field = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
}

/* ---- JSON ---------------------------------------------------------------- */

static gboolean
pts_config_json_int (JsonObject *obj, const char *key, int *field, int min, int max,
                     GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  gint64 value;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be an integer", key);
      return FALSE;
    }
  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be between %d and %d", key, min,
                   max);
      return FALSE;
    }
  *field = (int) value;
  return TRUE;
}

static gboolean
pts_config_json_string (JsonObject *obj, const char *key, char **field, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be a string", key);
      return FALSE;
    }
  pts_config_set_string (field, json_node_get_string (node));
  return TRUE;
}

static gboolean
pts_config_json_strv (JsonObject *obj, const char *key, char ***field, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  JsonArray *array;
  g_autoptr (GStrvBuilder) builder = NULL;
  g_auto (GStrv) values = NULL;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be an array of strings", key);
      return FALSE;
    }
  array = json_node_get_array (node);
  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be an array of strings", key);
          return FALSE;
        }
      g_strv_builder_add (builder, json_node_get_string (item));
    }
  values = g_strv_builder_end (builder);
  pts_config_append_strv (field, values);
  return TRUE;
}

static const char *const pts_config_known_keys[] = {
  "domain", "users", "listen", "c2s-port", "socks5-port", "http-port", "proxy-jid",
  "advertise-host", "advertise-port", "http-base-url", "acl", "acl-open", "component",
  "component-secret", "max-sessions", "max-transfers", "max-per-initiator", "max-file-size",
  "activation-timeout", "idle-timeout", "progress-interval", "buffer-size", "max-stanza",
  "keepalive", "verbose", NULL
};

gboolean
pts_config_load_json (PtsConfig *config, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;
  JsonObject *obj;
  JsonNode *member;
  g_autoptr (GList) members = NULL;
  int progress_ms = PTS_UNSET;

  if (!json_parser_load_from_file (parser, path, &local_error))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "%s: %s", path, local_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "%s: the top level must be an object", path);
      return FALSE;
    }
  obj = json_node_get_object (root);

  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (pts_config_known_keys, l->data))
      {
        g_set_error (error, PTS_CONFIG_ERROR, 0, "%s: unknown setting \"%s\"", path,
                     (const char *) l->data);
        return FALSE;
      }

#define PTS_TRY(expr)                                                                     \
  G_STMT_START                                                                            \
  {                                                                                       \
    if (!(expr))                                                                          \
      {                                                                                   \
        g_prefix_error (error, "%s: ", path);                                             \
        return FALSE;                                                                     \
      }                                                                                   \
  }                                                                                       \
  G_STMT_END

  PTS_TRY (pts_config_json_string (obj, "domain", &config->domain, error));
  PTS_TRY (pts_config_json_strv (obj, "users", &config->users, error));
  PTS_TRY (pts_config_json_string (obj, "listen", &config->listen, error));
  PTS_TRY (pts_config_json_int (obj, "c2s-port", &config->c2s_port, 0, 65535, error));
  PTS_TRY (pts_config_json_int (obj, "socks5-port", &config->socks5_port, 0, 65535, error));
  PTS_TRY (pts_config_json_int (obj, "http-port", &config->http_port, -1, 65535, error));
  PTS_TRY (pts_config_json_string (obj, "proxy-jid", &config->proxy_jid, error));
  PTS_TRY (pts_config_json_string (obj, "advertise-host", &config->advertise_host, error));
  PTS_TRY (pts_config_json_int (obj, "advertise-port", &config->advertise_port, 0, 65535,
                                error));
  PTS_TRY (pts_config_json_string (obj, "http-base-url", &config->http_base_url, error));
  PTS_TRY (pts_config_json_strv (obj, "acl", &config->acl_domains, error));
  PTS_TRY (pts_config_json_string (obj, "component", &config->component, error));
  PTS_TRY (pts_config_json_string (obj, "component-secret", &config->component_secret,
                                   error));
  PTS_TRY (pts_config_json_int (obj, "max-sessions", &config->max_sessions, 1, 1000000,
                                error));
  PTS_TRY (pts_config_json_int (obj, "max-transfers", &config->max_transfers, 1, 1000000,
                                error));
  PTS_TRY (pts_config_json_int (obj, "max-per-initiator", &config->max_per_initiator, 1,
                                1000000, error));
  PTS_TRY (pts_config_json_int (obj, "activation-timeout", &config->activation_timeout, 1,
                                86400, error));
  PTS_TRY (pts_config_json_int (obj, "idle-timeout", &config->idle_timeout, 1, 86400,
                                error));
  PTS_TRY (pts_config_json_int (obj, "progress-interval", &progress_ms, 10, 3600000, error));
  PTS_TRY (pts_config_json_int (obj, "buffer-size", &config->buffer_size, 4096,
                                64 * 1024 * 1024, error));
  PTS_TRY (pts_config_json_int (obj, "max-stanza", &config->max_stanza, 4096,
                                16 * 1024 * 1024, error));
  PTS_TRY (pts_config_json_int (obj, "keepalive", &config->keepalive, 0, 86400, error));
#undef PTS_TRY
  pts_config_set_int (&config->progress_interval_ms, progress_ms);

  member = json_object_get_member (obj, "max-file-size");
  if (member != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_INT64
          || json_node_get_int (member) < 0)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0,
                       "%s: \"max-file-size\" must be a non-negative integer", path);
          return FALSE;
        }
      config->max_file_size = json_node_get_int (member);
    }
  if (json_object_has_member (obj, "acl-open"))
    config->acl_open = json_object_get_boolean_member (obj, "acl-open");
  if (json_object_has_member (obj, "verbose"))
    config->verbose = json_object_get_boolean_member (obj, "verbose");
  return TRUE;
}

/* ---- command line ---------------------------------------------------------- */

gboolean
pts_config_parse_args (PtsConfig *config, int *argc, char ***argv, GError **error)
{
  g_autofree char *config_path = NULL;
  g_autofree char *domain = NULL, *listen = NULL, *proxy_jid = NULL;
  g_autofree char *advertise_host = NULL, *http_base_url = NULL;
  g_autofree char *component = NULL, *component_secret = NULL;
  g_auto (GStrv) users = NULL, acl = NULL;
  int c2s_port = PTS_UNSET, socks5_port = PTS_UNSET, http_port = PTS_UNSET;
  int advertise_port = PTS_UNSET, max_sessions = PTS_UNSET, max_per_initiator = PTS_UNSET;
  int max_transfers = PTS_UNSET;
  int activation_timeout = PTS_UNSET, idle_timeout = PTS_UNSET, progress_ms = PTS_UNSET;
  int buffer_size = PTS_UNSET, max_stanza = PTS_UNSET, keepalive = PTS_UNSET;
  gint64 max_file_size = -1;
  gboolean acl_open = FALSE, verbose = FALSE;
  g_autoptr (GOptionContext) context = NULL;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Read settings from a JSON file (keys as the long options); the command line wins",
      "FILE" },
    { "domain", 'd', 0, G_OPTION_ARG_STRING, &domain,
      "XMPP domain of the embedded server (default: localhost); with --component it only "
      "sets the default proxy JID",
      "DOMAIN" },
    { "user", 'u', 0, G_OPTION_ARG_STRING_ARRAY, &users,
      "An account of the embedded server; repeat for more", "NAME:PASSWORD" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address to bind every listener to (default: 127.0.0.1)", "ADDR" },
    { "c2s-port", 0, 0, G_OPTION_ARG_INT, &c2s_port,
      "Client-to-server XMPP port (default: 5222, 0 = pick a free port)", "PORT" },
    { "socks5-port", 0, 0, G_OPTION_ARG_INT, &socks5_port,
      "SOCKS5 bytestreams port (default: 7777, 0 = pick a free port)", "PORT" },
    { "http-port", 0, 0, G_OPTION_ARG_INT, &http_port,
      "HTTP port of the bs-proxy extension (0 = pick a free port; default: disabled)",
      "PORT" },
    { "proxy-jid", 'j', 0, G_OPTION_ARG_STRING, &proxy_jid,
      "JID of the bytestreams proxy (default: proxy.DOMAIN); with --component, the "
      "component's name on the server",
      "JID" },
    { "advertise-host", 0, 0, G_OPTION_ARG_STRING, &advertise_host,
      "SOCKS5 host to tell clients when it differs from the bound address (NAT)", "HOST" },
    { "advertise-port", 0, 0, G_OPTION_ARG_INT, &advertise_port,
      "SOCKS5 port to tell clients when it differs from the bound one", "PORT" },
    { "http-base-url", 0, 0, G_OPTION_ARG_STRING, &http_base_url,
      "Base of the URLs handed to clients when it differs from the bound address", "URL" },
    { "acl", 0, 0, G_OPTION_ARG_STRING_ARRAY, &acl,
      "A domain whose users may use the proxy; repeat for more (default: the embedded "
      "server's DOMAIN; with --component the parent domain of the proxy JID, e.g. "
      "example.org for proxy.example.org)",
      "DOMAIN" },
    { "acl-open", 0, 0, G_OPTION_ARG_NONE, &acl_open,
      "Let users of any domain use the proxy", NULL },
    { "component", 0, 0, G_OPTION_ARG_STRING, &component,
      "Run as an XEP-0114 component of the XMPP server at HOST:PORT instead of embedding one",
      "HOST:PORT" },
    { "component-secret", 0, 0, G_OPTION_ARG_STRING, &component_secret,
      "Shared secret of the component connection", "SECRET" },
    { "max-sessions", 0, 0, G_OPTION_ARG_INT, &max_sessions,
      "Most bytestream sessions at once, pending or active; more SOCKS5 connections are "
      "refused and <connect> gets resource-constraint (default: 1024)",
      "N" },
    { "max-transfers", 0, 0, G_OPTION_ARG_INT, &max_transfers,
      "Most active transfers at once; more activations get resource-constraint (default: 256)",
      "N" },
    { "max-per-initiator", 0, 0, G_OPTION_ARG_INT, &max_per_initiator,
      "Most active transfers one sender may have at once (default: 16)", "N" },
    { "max-file-size", 0, 0, G_OPTION_ARG_INT64, &max_file_size,
      "Largest HTTP upload in bytes (default: 0 = no limit)", "BYTES" },
    { "activation-timeout", 0, 0, G_OPTION_ARG_INT, &activation_timeout,
      "Seconds a session may wait for activation (default: 60)", "SECONDS" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
      "Seconds an active transfer may move no byte before it is cut (default: 300)",
      "SECONDS" },
    { "progress-interval", 0, 0, G_OPTION_ARG_INT, &progress_ms,
      "Milliseconds between <progress/> pushes to HTTP receivers (default: 5000)", "MS" },
    { "buffer-size", 0, 0, G_OPTION_ARG_INT, &buffer_size,
      "Relay buffer per transfer in bytes (default: 262144)", "BYTES" },
    { "max-stanza", 0, 0, G_OPTION_ARG_INT, &max_stanza,
      "Largest XMPP stanza accepted in bytes (default: 262144)", "BYTES" },
    { "keepalive", 0, 0, G_OPTION_ARG_INT, &keepalive,
      "Seconds between whitespace keepalives to idle clients, 0 = never (default: 60). "
      "With --component also the link check: the proxy pings the server (XEP-0199) after "
      "this long without a stanza from it, and reconnects when a ping is not answered "
      "within as long again",
      "SECONDS" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log every stanza and session event",
      NULL },
    G_OPTION_ENTRY_NULL
  };

  context = g_option_context_new ("- XEP-0065 bytestreams proxy with the bs-proxy HTTP extension");
  g_option_context_set_summary (
      context, "Relays file transfers between XMPP users over SOCKS5 and HTTP. By default it\n"
               "embeds a minimal XMPP server, so everything runs on one machine; with\n"
               "--component it attaches to a real server (Prosody, ejabberd) instead.\n"
               "Once listening it prints one line on stdout: READY {json}.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "unexpected argument \"%s\"", (*argv)[1]);
      return FALSE;
    }

  if (config_path != NULL && !pts_config_load_json (config, config_path, error))
    return FALSE;

  pts_config_set_string (&config->domain, domain);
  pts_config_append_strv (&config->users, users);
  pts_config_set_string (&config->listen, listen);
  pts_config_set_int (&config->c2s_port, c2s_port);
  pts_config_set_int (&config->socks5_port, socks5_port);
  pts_config_set_int (&config->http_port, http_port);
  pts_config_set_string (&config->proxy_jid, proxy_jid);
  pts_config_set_string (&config->advertise_host, advertise_host);
  pts_config_set_int (&config->advertise_port, advertise_port);
  pts_config_set_string (&config->http_base_url, http_base_url);
  pts_config_append_strv (&config->acl_domains, acl);
  pts_config_set_string (&config->component, component);
  pts_config_set_string (&config->component_secret, component_secret);
  pts_config_set_int (&config->max_sessions, max_sessions);
  pts_config_set_int (&config->max_transfers, max_transfers);
  pts_config_set_int (&config->max_per_initiator, max_per_initiator);
  pts_config_set_int (&config->activation_timeout, activation_timeout);
  pts_config_set_int (&config->idle_timeout, idle_timeout);
  pts_config_set_int (&config->progress_interval_ms, progress_ms);
  pts_config_set_int (&config->buffer_size, buffer_size);
  pts_config_set_int (&config->max_stanza, max_stanza);
  pts_config_set_int (&config->keepalive, keepalive);
  if (max_file_size >= 0)
    config->max_file_size = max_file_size;
  if (acl_open)
    config->acl_open = TRUE;
  if (verbose)
    config->verbose = TRUE;
  return TRUE;
}

static gboolean
pts_config_check_port (const char *name, int port, int min, GError **error)
{
  if (port < min || port > 65535)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "%s must be between %d and 65535", name, min);
      return FALSE;
    }
  return TRUE;
}

gboolean
pts_config_finish (PtsConfig *config, GError **error)
{
  g_autofree char *domain = bsp_jid_domain (config->domain);

  if (domain == NULL || strchr (config->domain, '@') || strchr (config->domain, '/'))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "invalid domain \"%s\"", config->domain);
      return FALSE;
    }
  g_free (config->domain);
  config->domain = g_steal_pointer (&domain);

  if (config->proxy_jid == NULL)
    config->proxy_jid = g_strconcat ("proxy.", config->domain, NULL);
  if (!bsp_jid_is_valid (config->proxy_jid) || strchr (config->proxy_jid, '@')
      || strchr (config->proxy_jid, '/'))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "invalid proxy JID \"%s\"", config->proxy_jid);
      return FALSE;
    }

  if (!pts_config_check_port ("--c2s-port", config->c2s_port, 0, error)
      || !pts_config_check_port ("--socks5-port", config->socks5_port, 0, error)
      || !pts_config_check_port ("--http-port", config->http_port, -1, error)
      || !pts_config_check_port ("--advertise-port", config->advertise_port, 0, error))
    return FALSE;

  if (config->max_sessions < 1 || config->max_transfers < 1 || config->max_per_initiator < 1
      || config->activation_timeout < 1 || config->idle_timeout < 1
      || config->progress_interval_ms < 10 || config->buffer_size < 4096
      || config->max_stanza < 4096 || config->keepalive < 0)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0,
                   "limits and timeouts must be positive (buffer and stanza sizes at least "
                   "4096, progress interval at least 10 ms)");
      return FALSE;
    }

  for (char **u = config->users; u != NULL && *u != NULL; u++)
    {
      const char *colon = strchr (*u, ':');
      g_autofree char *name = colon ? g_strndup (*u, colon - *u) : NULL;
      if (name == NULL || *name == '\0' || colon[1] == '\0' || strpbrk (name, "@/ \t"))
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0,
                       "--user wants NAME:PASSWORD with a non-empty name and password, got \"%s\"",
                       *u);
          return FALSE;
        }
    }

  if (config->component != NULL)
    {
      const char *colon = strrchr (config->component, ':');
      if (colon == NULL || colon == config->component || atoi (colon + 1) <= 0
          || atoi (colon + 1) > 65535)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0, "--component wants HOST:PORT, got \"%s\"",
                       config->component);
          return FALSE;
        }
      if (config->component_secret == NULL)
        {
          g_set_error_literal (error, PTS_CONFIG_ERROR, 0,
                               "--component needs --component-secret");
          return FALSE;
        }
    }

  if (config->acl_domains == NULL)
    {
      /* A component serves the users of the server it is attached to, named
       * by its own JID (proxy.example.org → example.org): --domain names the
       * embedded server's domain and means nothing there. */
      char *local = config->component != NULL ? pts_config_parent_domain (config->proxy_jid)
                                              : g_strdup (config->domain);

      if (local == NULL && !config->acl_open)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0,
                       "the proxy JID \"%s\" has no parent domain to open the proxy to: "
                       "give --acl DOMAIN or --acl-open",
                       config->proxy_jid);
          return FALSE;
        }
      config->acl_domains = g_new0 (char *, 2);
      config->acl_domains[0] = local;
    }
  return TRUE;
}

char *
pts_config_parent_domain (const char *jid)
{
  const char *dot = strchr (jid, '.');

  if (dot == NULL || dot == jid || dot[1] == '\0')
    return NULL;
  return g_ascii_strdown (dot + 1, -1);
}

gboolean
pts_config_acl_allows (const PtsConfig *config, const char *jid)
{
  g_autofree char *domain = bsp_jid_domain (jid);

  if (domain == NULL)
    return FALSE;
  if (config->acl_open)
    return TRUE;
  for (char **d = config->acl_domains; d != NULL && *d != NULL; d++)
    if (g_ascii_strcasecmp (*d, domain) == 0)
      return TRUE;
  return FALSE;
}
