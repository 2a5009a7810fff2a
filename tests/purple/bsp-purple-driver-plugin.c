/* bsp-purple-driver-plugin.c — the --plugin under test: probed and
 * loaded (now or with --plugin-late), described in a plugin-loaded event
 * with its preferences and frame, --pref and --pref-online applied,
 * --frame-when watched, and unloaded for --certificate unload
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-purple-driver.h"

/* --certificate unload */
gboolean
driver_unload_plugin (gpointer user_data)
{
  Driver *self = user_data;

  if (self->plugin != NULL && purple_plugin_is_loaded (self->plugin))
    {
      driver_event ("plugin-unloading", "id", purple_plugin_get_id (self->plugin), NULL);
      purple_plugin_unload (self->plugin);
    }
  return G_SOURCE_REMOVE;
}

/* The frame the plugin's UI info builds for a preferences dialog, or
 * NULL; the caller destroys it. */
static PurplePluginPrefFrame *
driver_plugin_pref_frame (PurplePlugin *plugin)
{
  PurplePluginUiInfo *ui_info
      = PURPLE_PLUGIN_HAS_PREF_FRAME (plugin) ? PURPLE_PLUGIN_UI_INFO (plugin) : NULL;

  if (ui_info == NULL || ui_info->get_plugin_pref_frame == NULL)
    return NULL;
  return ui_info->get_plugin_pref_frame (plugin);
}

/* The preferences that the plugin's UI-agnostic frame shows, as a JSON
 * array of pref paths: what Pidgin and Finch would build a dialog from. */
static void
driver_add_pref_names (JsonBuilder *builder, PurplePlugin *plugin)
{
  PurplePluginPrefFrame *frame = driver_plugin_pref_frame (plugin);

  json_builder_begin_array (builder);
  if (frame != NULL)
    {
      for (GList *l = purple_plugin_pref_frame_get_prefs (frame); l != NULL; l = l->next)
        {
          const char *name = purple_plugin_pref_get_name (l->data);

          if (name != NULL && purple_prefs_exists (name))
            json_builder_add_string_value (builder, name);
        }
      purple_plugin_pref_frame_destroy (frame);
    }
  json_builder_end_array (builder);
}

/* The plugin's preference frame as a UI sees it, in order: headings
 * (label only), options (name and label) and explanations (info). */
static void
driver_add_pref_frame (JsonBuilder *builder, PurplePlugin *plugin)
{
  PurplePluginPrefFrame *frame = driver_plugin_pref_frame (plugin);

  json_builder_begin_array (builder);
  for (GList *l = frame ? purple_plugin_pref_frame_get_prefs (frame) : NULL; l != NULL; l = l->next)
    {
      const char *name = purple_plugin_pref_get_name (l->data);
      const char *kind = name != NULL ? "option"
                         : purple_plugin_pref_get_type (l->data) == PURPLE_PLUGIN_PREF_INFO
                             ? "info"
                             : "heading";

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "kind");
      json_builder_add_string_value (builder, kind);
      if (name != NULL)
        {
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, name);
        }
      json_builder_set_member_name (builder, "label");
      json_builder_add_string_value (builder, purple_plugin_pref_get_label (l->data));
      json_builder_end_object (builder);
    }
  if (frame != NULL)
    purple_plugin_pref_frame_destroy (frame);
  json_builder_end_array (builder);
}

/* libpurple probes its plugin directories at start and, asked to probe
 * @path later, hands back any plugin already probed under the same file
 * name: a bsproxy.so installed system-wide would then run instead of the
 * one under test. Forget such a namesake first. */
static void
driver_forget_namesake (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');
  PurplePlugin *other;

  if (dot != NULL && g_str_equal (dot + 1, G_MODULE_SUFFIX))
    *dot = '\0';
  other = purple_plugins_find_with_basename (base);
  if (other == NULL || g_strcmp0 (other->path, path) == 0)
    return;
  g_printerr ("bsp-purple-driver: ignoring %s, another plugin of that name, for %s\n", other->path,
              path);
  if (purple_plugin_is_loaded (other))
    purple_plugin_unload (other);
  purple_plugin_destroy (other);
}

static gboolean
driver_load_plugin (Driver *self, GError **error)
{
  PurplePlugin *plugin;

  driver_forget_namesake (self->plugin_path);
  plugin = purple_plugin_probe (self->plugin_path);

  if (plugin == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s is not a libpurple plugin",
                   self->plugin_path);
      return FALSE;
    }
  if (plugin->error != NULL || !purple_plugin_load (plugin))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s did not load: %s", self->plugin_path,
                   plugin->error != NULL ? plugin->error : "its load function failed");
      return FALSE;
    }

  {
    g_autoptr (JsonBuilder) builder = driver_event_begin ("plugin-loaded");

    json_builder_set_member_name (builder, "id");
    json_builder_add_string_value (builder, purple_plugin_get_id (plugin));
    json_builder_set_member_name (builder, "name");
    json_builder_add_string_value (builder, purple_plugin_get_name (plugin));
    json_builder_set_member_name (builder, "path");
    json_builder_add_string_value (builder, self->plugin_path);
    json_builder_set_member_name (builder, "author");
    json_builder_add_string_value (builder, purple_plugin_get_author (plugin));
    json_builder_set_member_name (builder, "homepage");
    json_builder_add_string_value (builder, purple_plugin_get_homepage (plugin));
    json_builder_set_member_name (builder, "prefs");
    driver_add_pref_names (builder, plugin);
    json_builder_set_member_name (builder, "pref-frame");
    driver_add_pref_frame (builder, plugin);
    driver_event_emit (builder);
  }
  return TRUE;
}

/* Whether a label of the plugin's preference frame holds @text. */
static gboolean
driver_frame_says (PurplePlugin *plugin, const char *text)
{
  PurplePluginPrefFrame *frame = driver_plugin_pref_frame (plugin);
  gboolean found = FALSE;

  for (GList *l = frame ? purple_plugin_pref_frame_get_prefs (frame) : NULL; l != NULL && !found;
       l = l->next)
    found = g_strstr_len (purple_plugin_pref_get_label (l->data), -1, text) != NULL;
  if (frame != NULL)
    purple_plugin_pref_frame_destroy (frame);
  return found;
}

/* --frame-when: every 100 ms until the frame says it; then the frame as
 * an event. */
gboolean
driver_poll_frame (gpointer user_data)
{
  Driver *self = user_data;

  if (self->finished || self->plugin == NULL)
    {
      self->frame_poll_id = 0;
      return G_SOURCE_REMOVE;
    }
  if (!driver_frame_says (self->plugin, self->frame_when))
    return G_SOURCE_CONTINUE;
  self->frame_poll_id = 0;
  self->frame_seen = TRUE;
  {
    g_autoptr (JsonBuilder) builder = driver_event_begin ("pref-frame");

    json_builder_set_member_name (builder, "frame");
    driver_add_pref_frame (builder, self->plugin);
    driver_event_emit (builder);
  }
  driver_check_goal (self);
  return G_SOURCE_REMOVE;
}

/* --pref and --pref-online NAME=VALUE: sets a preference the plugin
 * registered, by its type. */
gboolean
driver_apply_prefs (char **specs, const char *option, GError **error)
{
  for (char **spec = specs; spec != NULL && *spec != NULL; spec++)
    {
      g_auto (GStrv) parts = g_strsplit (*spec, "=", 2);

      if (parts[0] == NULL || parts[1] == NULL || !purple_prefs_exists (parts[0]))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s '%s': not NAME=VALUE of an existing preference", option, *spec);
          return FALSE;
        }
      switch (purple_prefs_get_type (parts[0]))
        {
        case PURPLE_PREF_INT:
          purple_prefs_set_int (parts[0], (int) g_ascii_strtoll (parts[1], NULL, 10));
          break;
        case PURPLE_PREF_BOOLEAN:
          purple_prefs_set_bool (parts[0], g_str_equal (parts[1], "true"));
          break;
        case PURPLE_PREF_STRING: purple_prefs_set_string (parts[0], parts[1]); break;
        default:
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s '%s': a preference of a type the driver can't set", option, *spec);
          return FALSE;
        }
    }
  return TRUE;
}

/* Loads --plugin; a failure is reported as a plugin-error event. */
gboolean
driver_start_plugin (Driver *self)
{
  g_autoptr (GError) error = NULL;

  if (!driver_load_plugin (self, &error) || !driver_apply_prefs (self->prefs, "--pref", &error))
    {
      driver_event ("plugin-error", "path", self->plugin_path, "reason", error->message, NULL);
      g_printerr ("bsp-purple-driver: %s\n", error->message);
      return FALSE;
    }
  self->plugin_loaded = TRUE;
  self->plugin = purple_plugins_find_with_filename (self->plugin_path);
  return TRUE;
}
