/* test-prefs-frame.c — the plugin's preference dialog, as each UI lays it out
 *
 * Pidgin shows a frame's explanation lines as wrapped labels; Finch 2.x
 * shows them as one line cut at the window's edge with "Not implemented
 * yet." beside it. The plugin therefore builds two layouts; both must carry
 * every option, its heading, its explanation with an example, and the line
 * on the additional bs-proxy.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include <purple.h>

#include "bsp-prefs.h"

#define STATUS                                                                                     \
  "\"x@@y\" is not a valid JID: write the proxy's address, for example "                           \
  "proxy.example.org."

static const char *const options[] = { BSP_PREF_SEND_HTTP, BSP_PREF_HTTP_ONLY, BSP_PREF_RECV_HTTP,
                                       BSP_PREF_PROXY_JID, BSP_PREF_STALL_SECONDS };

static void
test_pidgin_layout (void)
{
  PurplePluginPrefFrame *frame = bsp_prefs_build_frame (FALSE, STATUS);
  GList *prefs = purple_plugin_pref_frame_get_prefs (frame);
  guint option = 0;

  g_test_summary ("Pidgin: every option has a heading before it and an explanation with an "
                  "example after it; the additional bs-proxy's state comes after its "
                  "explanation");
  for (GList *l = prefs; l != NULL; l = l->next)
    {
      const char *name = purple_plugin_pref_get_name (l->data);
      PurplePluginPref *next;

      if (name == NULL)
        continue;
      g_assert_cmpuint (option, <, G_N_ELEMENTS (options));
      g_assert_cmpstr (name, ==, options[option]);
      g_assert_nonnull (l->prev);
      g_assert_null (purple_plugin_pref_get_name (l->prev->data));
      g_assert_cmpint (purple_plugin_pref_get_type (l->prev->data), !=, PURPLE_PLUGIN_PREF_INFO);
      g_assert_nonnull (l->next);
      next = l->next->data;
      g_assert_cmpint (purple_plugin_pref_get_type (next), ==, PURPLE_PLUGIN_PREF_INFO);
      g_assert_nonnull (strstr (purple_plugin_pref_get_label (next), "Example: "));
      if (g_str_equal (name, BSP_PREF_PROXY_JID))
        g_assert_cmpstr (purple_plugin_pref_get_label (l->next->next->data), ==, STATUS);
      option++;
    }
  g_assert_cmpuint (option, ==, G_N_ELEMENTS (options));
  purple_plugin_pref_frame_destroy (frame);
}

static void
test_finch_layout (void)
{
  PurplePluginPrefFrame *frame = bsp_prefs_build_frame (TRUE, STATUS);
  GList *prefs = purple_plugin_pref_frame_get_prefs (frame);
  guint option = 0;
  gboolean status_seen = FALSE;

  g_test_summary ("Finch: no explanation lines (Finch can't show them); each heading holds "
                  "its explanation with an example, wrapped to lines of at most 72 "
                  "characters, and the additional bs-proxy's state");
  for (GList *l = prefs; l != NULL; l = l->next)
    {
      const char *name = purple_plugin_pref_get_name (l->data);
      const char *heading;
      g_auto (GStrv) lines = NULL;
      g_autofree char *joined = NULL;

      g_assert_cmpint (purple_plugin_pref_get_type (l->data), !=, PURPLE_PLUGIN_PREF_INFO);
      if (name == NULL)
        continue;
      g_assert_cmpstr (name, ==, options[option]);
      heading = purple_plugin_pref_get_label (l->prev->data);
      lines = g_strsplit (heading, "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), >=, 2);
      for (guint i = 0; lines[i] != NULL; i++)
        g_assert_cmpint (g_utf8_strlen (lines[i], -1), <=, 72);
      joined = g_strjoinv (" ", lines + 1);
      g_assert_nonnull (strstr (joined, "Example: "));
      if (strstr (joined, STATUS) != NULL)
        {
          g_assert_cmpstr (name, ==, BSP_PREF_PROXY_JID);
          status_seen = TRUE;
        }
      option++;
    }
  g_assert_cmpuint (option, ==, G_N_ELEMENTS (options));
  g_assert_true (status_seen);
  purple_plugin_pref_frame_destroy (frame);
}

static void
test_wrap (void)
{
  static const struct
  {
    const char *text;
    guint width;
    const char *wrapped;
  } cases[] = {
    { "one two three", 7, "one two\nthree" },
    { "one two three", 100, "one two three" },
    { "a verylongword b", 4, "a\nverylongword\nb" },
    { "zwölf äpfel über", 11, "zwölf äpfel\nüber" },
    { "  spaced   out  ", 20, "spaced out" },
    { "", 10, "" },
  };

  g_test_summary ("Wrapping breaks at spaces, counts characters (not bytes), keeps a long "
                  "word whole");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = bsp_prefs_wrap (cases[i].text, cases[i].width);
      g_assert_cmpstr (got, ==, cases[i].wrapped);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/purple/prefs-frame/pidgin", test_pidgin_layout);
  g_test_add_func ("/purple/prefs-frame/finch", test_finch_layout);
  g_test_add_func ("/purple/prefs-frame/wrap", test_wrap);
  return g_test_run ();
}
