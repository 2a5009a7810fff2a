/* pts-config.c — the proxy's settings, from the command line and a JSON file
 *
 * Every setting is declared once, in pts_options[] (pts-config-options.c):
 * its name (the long option and the JSON key), type, field, default,
 * limits and help. The defaults, the command line, the JSON reader and
 * --help all come from that table, here; pts_config_finish() checks what
 * depends on several settings.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stddef.h>
#include <string.h>

#include "bsp-protocol.h"
#include "pts-config.h"
#include "pts-config-options.h"

G_DEFINE_QUARK (pts - config - error - quark, pts_config_error)

#define PTS_FIELD_PTR(config, opt) ((gpointer) ((guint8 *) (config) + (opt)->offset))

static const char *
pts_option_json_key (const PtsOption *opt)
{
  return opt->json_key != NULL ? opt->json_key : opt->name;
}

/* Sets a number field, checked against the option's limits. */
static gboolean
pts_option_set_number (PtsConfig *config, const PtsOption *opt, gint64 value, GError **error)
{
  if (value < opt->min || value > opt->max)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0,
                   "\"%s\" must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, opt->name,
                   opt->min, opt->max);
      return FALSE;
    }
  if (opt->type == PTS_OPT_INT64)
    *(gint64 *) PTS_FIELD_PTR (config, opt) = value;
  else
    *(int *) PTS_FIELD_PTR (config, opt) = (int) value;
  return TRUE;
}

static void
pts_option_set_string (PtsConfig *config, const PtsOption *opt, const char *value)
{
  char **field = PTS_FIELD_PTR (config, opt);

  g_free (*field);
  *field = g_strdup (value);
}

static void
pts_strv_append (char ***field, const char *const *values)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (*field != NULL)
    g_strv_builder_addv (builder, (const char **) *field);
  g_strv_builder_addv (builder, (const char **) values);
  g_strfreev (*field);
  *field = g_strv_builder_end (builder);
}

static void
pts_option_append_strv (PtsConfig *config, const PtsOption *opt, const char *const *values)
{
  pts_strv_append (PTS_FIELD_PTR (config, opt), values);
}

PtsConfig *
pts_config_new (void)
{
  PtsConfig *config = g_new0 (PtsConfig, 1);

  for (gsize i = 0; i < pts_n_options; i++)
    {
      const PtsOption *opt = &pts_options[i];

      if (opt->def == NULL)
        continue;
      if (opt->type == PTS_OPT_INT || opt->type == PTS_OPT_INT64)
        pts_option_set_number (config, opt, g_ascii_strtoll (opt->def, NULL, 10), NULL);
      else if (opt->type == PTS_OPT_STRING || opt->type == PTS_OPT_FILENAME)
        pts_option_set_string (config, opt, opt->def);
    }
  return config;
}

void
pts_config_free (PtsConfig *config)
{
  if (config == NULL)
    return;
  for (gsize i = 0; i < pts_n_options; i++)
    {
      const PtsOption *opt = &pts_options[i];

      if (opt->type == PTS_OPT_STRING || opt->type == PTS_OPT_FILENAME)
        g_free (*(char **) PTS_FIELD_PTR (config, opt));
      else if (opt->type == PTS_OPT_STRV)
        g_strfreev (*(char ***) PTS_FIELD_PTR (config, opt));
    }
  g_clear_pointer (&config->status_masks, g_ptr_array_unref);
  g_free (config);
}

/* ---- JSON ---------------------------------------------------------------- */

static gboolean
pts_option_from_json (PtsConfig *config, const PtsOption *opt, JsonNode *node, GError **error)
{
  const char *key = pts_option_json_key (opt);
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  switch (opt->type)
    {
    case PTS_OPT_STRING:
    case PTS_OPT_FILENAME:
      if (type != G_TYPE_STRING)
        break;
      pts_option_set_string (config, opt, json_node_get_string (node));
      return TRUE;
    case PTS_OPT_INT:
    case PTS_OPT_INT64:
      if (type != G_TYPE_INT64)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be an integer", key);
          return FALSE;
        }
      return pts_option_set_number (config, opt, json_node_get_int (node), error);
    case PTS_OPT_BOOL:
      if (type != G_TYPE_BOOLEAN)
        break;
      *(gboolean *) PTS_FIELD_PTR (config, opt) = json_node_get_boolean (node);
      return TRUE;
    case PTS_OPT_STRV:
      {
        JsonArray *array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
        g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
        g_auto (GStrv) values = NULL;

        for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
          {
            JsonNode *item = json_array_get_element (array, i);
            if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
              array = NULL;
            else
              g_strv_builder_add (builder, json_node_get_string (item));
          }
        if (array == NULL)
          {
            g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be an array of strings", key);
            return FALSE;
          }
        values = g_strv_builder_end (builder);
        pts_option_append_strv (config, opt, (const char *const *) values);
        return TRUE;
      }
    }
  g_set_error (error, PTS_CONFIG_ERROR, 0, "\"%s\" must be a %s", key,
               opt->type == PTS_OPT_BOOL ? "boolean" : "string");
  return FALSE;
}

gboolean
pts_config_load_json (PtsConfig *config, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local_error = NULL;

  if (!g_file_get_contents (path, &text, &len, &local_error))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "%s: %s", path, local_error->message);
      return FALSE;
    }
  return pts_config_load_json_data (config, text, len, path, error);
}

gboolean
pts_config_load_json_data (PtsConfig *config, const char *data, gsize len, const char *path,
                           GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GList) members = NULL;
  JsonNode *root;
  JsonObject *obj;

  if (!json_parser_load_from_data (parser, data, (gssize) len, &local_error))
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
    {
      const PtsOption *opt = NULL;

      for (gsize i = 0; i < pts_n_options && opt == NULL; i++)
        if (g_str_equal (pts_option_json_key (&pts_options[i]), l->data))
          opt = &pts_options[i];
      if (opt == NULL)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0, "%s: unknown setting \"%s\"", path,
                       (const char *) l->data);
          return FALSE;
        }
      if (!pts_option_from_json (config, opt, json_object_get_member (obj, l->data), error))
        {
          g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- command line ---------------------------------------------------------- */

/* Where GOptionContext puts what the command line says, before it is
 * applied over the JSON file's settings. */
typedef union
{
  char *string;
  char **strv;
  int number;
  gint64 number64;
  gboolean flag;
} PtsOptionSlot;

#define PTS_UNSET_INT G_MININT
#define PTS_UNSET_INT64 G_MININT64

static GOptionArg
pts_option_arg (PtsOptType type)
{
  switch (type)
    {
    case PTS_OPT_STRING: return G_OPTION_ARG_STRING;
    case PTS_OPT_FILENAME: return G_OPTION_ARG_FILENAME;
    case PTS_OPT_STRV: return G_OPTION_ARG_STRING_ARRAY;
    case PTS_OPT_INT: return G_OPTION_ARG_INT;
    case PTS_OPT_INT64: return G_OPTION_ARG_INT64;
    case PTS_OPT_BOOL: return G_OPTION_ARG_NONE;
    }
  g_return_val_if_reached (G_OPTION_ARG_NONE);
}

gboolean
pts_config_parse_args (PtsConfig *config, int *argc, char ***argv, GError **error)
{
  gsize n = pts_n_options;
  g_autofree PtsOptionSlot *slots = g_new0 (PtsOptionSlot, n);
  g_autofree GOptionEntry *entries = g_new0 (GOptionEntry, n + 3);
  g_autoptr (GPtrArray) help = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *config_path = NULL;
  g_autoptr (GOptionContext) context = NULL;
  gboolean ok = FALSE, version = FALSE;

  entries[0] = (GOptionEntry){ "config",
                               'c',
                               0,
                               G_OPTION_ARG_FILENAME,
                               &config_path,
                               "Read settings from a JSON file (keys as the long options); "
                               "the command line wins",
                               "FILE" };
  entries[1]
      = (GOptionEntry){ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit",
                        NULL };
  for (gsize i = 0; i < n; i++)
    {
      const PtsOption *opt = &pts_options[i];
      char *text = opt->def != NULL && opt->type != PTS_OPT_STRV
                       ? g_strdup_printf ("%s (default: %s)", opt->help, opt->def)
                       : g_strdup (opt->help);

      g_ptr_array_add (help, text);
      if (opt->type == PTS_OPT_INT)
        slots[i].number = PTS_UNSET_INT;
      else if (opt->type == PTS_OPT_INT64)
        slots[i].number64 = PTS_UNSET_INT64;
      entries[i + 2]
          = (GOptionEntry){ opt->name, opt->short_name, 0, pts_option_arg (opt->type), &slots[i],
                            text,      opt->arg };
    }

  context = g_option_context_new ("- XEP-0065 bytestreams proxy with the bs-proxy HTTP extension");
  g_option_context_set_summary (
      context, "Relays file transfers between XMPP users over SOCKS5 and HTTP. By default it\n"
               "embeds a minimal XMPP server, so everything runs on one machine; with\n"
               "--component it attaches to a real server (Prosody, ejabberd) instead.\n"
               "Once listening it prints one line on stdout: READY {json}.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
    goto out;
  if (version)
    {
      /* Nothing else matters: pts-main.c prints it. */
      config->version = TRUE;
      ok = TRUE;
      goto out;
    }
  if (*argc > 1)
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "unexpected argument \"%s\"", (*argv)[1]);
      goto out;
    }
  if (config_path != NULL && !pts_config_load_json (config, config_path, error))
    goto out;

  /* The command line over the file. */
  for (gsize i = 0; i < n; i++)
    {
      const PtsOption *opt = &pts_options[i];
      PtsOptionSlot *slot = &slots[i];

      switch (opt->type)
        {
        case PTS_OPT_STRING:
        case PTS_OPT_FILENAME:
          if (slot->string != NULL)
            pts_option_set_string (config, opt, slot->string);
          break;
        case PTS_OPT_STRV:
          if (slot->strv != NULL)
            pts_option_append_strv (config, opt, (const char *const *) slot->strv);
          break;
        case PTS_OPT_INT:
          if (slot->number != PTS_UNSET_INT
              && !pts_option_set_number (config, opt, slot->number, error))
            goto out;
          break;
        case PTS_OPT_INT64:
          if (slot->number64 != PTS_UNSET_INT64
              && !pts_option_set_number (config, opt, slot->number64, error))
            goto out;
          break;
        case PTS_OPT_BOOL:
          if (slot->flag)
            *(gboolean *) PTS_FIELD_PTR (config, opt) = TRUE;
          break;
        }
    }
  ok = TRUE;

out:
  for (gsize i = 0; i < n; i++)
    {
      if (pts_options[i].type == PTS_OPT_STRING || pts_options[i].type == PTS_OPT_FILENAME)
        g_free (slots[i].string);
      else if (pts_options[i].type == PTS_OPT_STRV)
        g_strfreev (slots[i].strv);
    }
  return ok;
}

GInetAddressMask *
pts_config_status_mask (const char *text, GError **error)
{
  if (strchr (text, '/') != NULL)
    return g_inet_address_mask_new_from_string (text, error);
  {
    g_autoptr (GInetAddress) address = g_inet_address_new_from_string (text);

    if (address == NULL)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an address: %s", text);
        return NULL;
      }
    return g_inet_address_mask_new (address, g_inet_address_get_native_size (address) * 8, error);
  }
}

gboolean
pts_config_may_read_status (const PtsConfig *config, GInetAddress *address)
{
  if (g_inet_address_get_is_loopback (address))
    return TRUE;
  for (guint i = 0; config->status_masks != NULL && i < config->status_masks->len; i++)
    if (g_inet_address_mask_matches (config->status_masks->pdata[i], address))
      return TRUE;
  return FALSE;
}

/* Appends the accounts of --user-file; a bad line is named by number
 * only, never shown (it may hold a password). */
static gboolean
pts_config_read_user_file (PtsConfig *config, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) users = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!g_file_get_contents (config->user_file, &text, NULL, &local_error))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "--user-file: %s", local_error->message);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (*line == '\0' || *line == '#')
        continue;
      if (strchr (line, ':') == NULL)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0, "%s, line %u: wants NAME:PASSWORD",
                       config->user_file, i + 1);
          return FALSE;
        }
      g_strv_builder_add (builder, line);
    }
  users = g_strv_builder_end (builder);
  pts_strv_append (&config->users, (const char *const *) users);
  return TRUE;
}

static gboolean
pts_config_read_secret_file (PtsConfig *config, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local_error = NULL;
  char *nl;

  if (!g_file_get_contents (config->component_secret_file, &text, NULL, &local_error))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "--component-secret-file: %s", local_error->message);
      return FALSE;
    }
  if ((nl = strpbrk (text, "\r\n")) != NULL)
    *nl = '\0';
  if (*text == '\0')
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0, "%s: the first line is empty",
                   config->component_secret_file);
      return FALSE;
    }
  g_free (config->component_secret);
  config->component_secret = g_steal_pointer (&text);
  return TRUE;
}

gboolean
pts_config_finish (PtsConfig *config, GError **error)
{
  g_autofree char *domain = bsp_jid_domain (config->domain);

  if (config->user_file != NULL && !pts_config_read_user_file (config, error))
    return FALSE;
  if (config->component_secret_file != NULL && !pts_config_read_secret_file (config, error))
    return FALSE;

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
  if (config->socks5_only_jid != NULL
      && (!bsp_jid_is_valid (config->socks5_only_jid) || strchr (config->socks5_only_jid, '@')
          || strchr (config->socks5_only_jid, '/')
          || g_strcmp0 (config->socks5_only_jid, config->proxy_jid) == 0
          || config->component != NULL))
    {
      g_set_error (error, PTS_CONFIG_ERROR, 0,
                   "--test-socks5-only-jid wants a JID other than the proxy's, without "
                   "--component; got \"%s\"",
                   config->socks5_only_jid);
      return FALSE;
    }

  for (char **u = config->users; u != NULL && *u != NULL; u++)
    {
      const char *colon = strchr (*u, ':');
      g_autofree char *name = colon ? g_strndup (*u, colon - *u) : NULL;
      if (name == NULL || *name == '\0' || colon[1] == '\0' || strpbrk (name, "@/ \t"))
        {
          /* Never the text itself: it may hold a password. */
          g_set_error (error, PTS_CONFIG_ERROR, 0,
                       "--user wants NAME:PASSWORD with a non-empty name and password "
                       "(account %u is not)",
                       (guint) (u - config->users) + 1);
          return FALSE;
        }
    }

  /* Parsed once here, for every /status request to match against. */
  g_clear_pointer (&config->status_masks, g_ptr_array_unref);
  config->status_masks = g_ptr_array_new_with_free_func (g_object_unref);
  for (char **a = config->status_allow; a != NULL && *a != NULL; a++)
    {
      GInetAddressMask *mask = pts_config_status_mask (*a, NULL);
      if (mask == NULL)
        {
          g_set_error (error, PTS_CONFIG_ERROR, 0,
                       "--status-allow wants an address or ADDR/PREFIX, got \"%s\"", *a);
          return FALSE;
        }
      g_ptr_array_add (config->status_masks, mask);
    }

  if (config->tls_key != NULL && config->tls_cert == NULL)
    {
      g_set_error_literal (error, PTS_CONFIG_ERROR, 0, "--tls-key needs --tls-cert");
      return FALSE;
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
          g_set_error_literal (error, PTS_CONFIG_ERROR, 0, "--component needs --component-secret");
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
