/* bsp-prefs.c — the plugin's preferences and their UI-agnostic frame
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "bsp-log.h"
#include "bsp-prefs.h"
#include "bsp-protocol.h"

/* Registers the preferences with their defaults. Existing values,
 * loaded from the user's prefs.xml, are kept. */
void
bsp_prefs_init (void)
{
  purple_prefs_add_none (BSP_PREFS_ROOT);
  purple_prefs_add_bool (BSP_PREF_SEND_HTTP, TRUE);
  purple_prefs_add_bool (BSP_PREF_HTTP_ONLY, FALSE);
  purple_prefs_add_bool (BSP_PREF_RECV_HTTP, TRUE);
  purple_prefs_add_string (BSP_PREF_PROXY_JID, "");
  purple_prefs_add_int (BSP_PREF_STALL_SECONDS, BSP_STALL_DEFAULT);
  purple_prefs_add_int (BSP_PREF_PROBE_SECONDS, BSP_PROBE_DEFAULT);
}

/* Finch's dialogs (libpurple 2.x's gnt request UI) show an explanation
 * line of a frame as a one-line label cut at the window's edge, followed
 * by "Not implemented yet.". There the explanation goes into the option's
 * heading instead, which Finch shows whole, one label line per line of
 * text: so it is wrapped here. */
#define BSP_PREFS_FINCH_UI "gnt-purple"
#define BSP_PREFS_WRAP 72

/* @text with line breaks at spaces so that no line is over @width
 * characters (a longer word stands on its own line). */
char *
bsp_prefs_wrap (const char *text, guint width)
{
  GString *out = g_string_new (NULL);
  g_auto (GStrv) words = g_strsplit (text, " ", -1);
  guint line = 0;

  for (guint i = 0; words[i] != NULL; i++)
    {
      glong len = g_utf8_strlen (words[i], -1);

      if (len == 0)
        continue;
      if (line > 0 && line + 1 + len > width)
        {
          g_string_append_c (out, '\n');
          line = 0;
        }
      else if (line > 0)
        {
          g_string_append_c (out, ' ');
          line++;
        }
      g_string_append (out, words[i]);
      line += len;
    }
  return g_string_free (out, FALSE);
}

typedef struct
{
  PurplePluginPrefFrame *frame;
  gboolean finch;
} BspPrefsBuilder;

static void
bsp_prefs_add_info (BspPrefsBuilder *b, const char *text)
{
  PurplePluginPref *info = purple_plugin_pref_new_with_label (text);

  purple_plugin_pref_set_type (info, PURPLE_PLUGIN_PREF_INFO);
  purple_plugin_pref_frame_add (b->frame, info);
}

/* A heading, then the option, then a short explanation with an example
 * under it (and @status, when given, under that). Finch adds an
 * explanation to the group its heading opened, so every option has a
 * heading of its own; in Finch's layout the texts are in the heading. */
static void
bsp_prefs_add (BspPrefsBuilder *b, const char *heading, PurplePluginPref *pref,
               const char *explanation, const char *status)
{
  if (b->finch)
    {
      g_autofree char *wrapped = bsp_prefs_wrap (explanation, BSP_PREFS_WRAP);
      g_autofree char *said = status ? bsp_prefs_wrap (status, BSP_PREFS_WRAP) : NULL;
      g_autofree char *text = g_strjoin ("\n", heading, wrapped, said, NULL);

      purple_plugin_pref_frame_add (b->frame, purple_plugin_pref_new_with_label (text));
      purple_plugin_pref_frame_add (b->frame, pref);
      return;
    }
  purple_plugin_pref_frame_add (b->frame, purple_plugin_pref_new_with_label (heading));
  purple_plugin_pref_frame_add (b->frame, pref);
  bsp_prefs_add_info (b, explanation);
  if (status != NULL)
    bsp_prefs_add_info (b, status);
}

PurplePluginPrefFrame *
bsp_prefs_build_frame (gboolean finch, const char *proxy_status)
{
  BspPrefsBuilder b = { purple_plugin_pref_frame_new (), finch };
  PurplePluginPref *pref;

  pref = purple_plugin_pref_new_with_name_and_label (
      BSP_PREF_SEND_HTTP, _("Use HTTP through a bs-proxy for sending files"));
  bsp_prefs_add (&b,
                 _("Sending files"), pref,
                    _("A bs-proxy is a file transfer proxy of your XMPP server that also speaks "
                   "HTTP, so that files get through firewalls that only let web traffic out. "
                   "Example: at an office that blocks everything but the web, leave this on; "
                   "without a bs-proxy the usual XMPP transfer is used anyway."),
                       NULL);

  pref = purple_plugin_pref_new_with_name_and_label (BSP_PREF_HTTP_ONLY,
                                                     _("Offer no proxies that speak only SOCKS5"));
  bsp_prefs_add (&b,
                 _("Behind a web proxy"), pref,
                    _("When sending, leave out the file transfer proxies that speak only SOCKS5, "
                   "so that the other side cannot choose one this network blocks. Proxies "
                   "found unreachable from here are left out anyway. Example: turn this on "
                   "at an office where only the web proxy lets traffic out."),
                       NULL);

  pref = purple_plugin_pref_new_with_name_and_label (
      BSP_PREF_RECV_HTTP, _("Use HTTP through a bs-proxy for receiving files"));
  bsp_prefs_add (&b, _("Receiving files"), pref,
                        _("When the sender offers a bs-proxy and cannot be reached directly, the "
                   "file is downloaded from it over HTTP. Example: turn this off to always "
                   "receive the usual XMPP way (direct or SOCKS5)."),
                           NULL);

  pref = purple_plugin_pref_new_with_name_and_label (BSP_PREF_PROXY_JID,
                                                     _("Additional bs-proxy JID"));
  bsp_prefs_add (&b,
                 _("Proxy"), pref,
                    _("A bs-proxy to offer besides the ones your server announces, used at once. "
                   "Leave it empty to use only your server's. Example: proxy.example.org"),
                       proxy_status);

  pref = purple_plugin_pref_new_with_name_and_label (
      BSP_PREF_STALL_SECONDS, _("Give up when no data moves for (seconds)"));
  purple_plugin_pref_set_bounds (pref, BSP_STALL_MIN, BSP_STALL_MAX);
  bsp_prefs_add (&b,
                 _("Stalled transfers"), pref,
                    _("A transfer over HTTP that moves no data for this long ends, with \"no data "
                   "for N s\" as the reason. Example: 30; raise it on a very slow or flaky "
                   "link."),
                       NULL);

  return b.frame;
}

/* The frame every UI (Pidgin, Finch) turns into its own dialog, laid out
 * for the UI that runs. The UI owns and frees it. */
PurplePluginPrefFrame *
bsp_prefs_get_frame (PurplePlugin *plugin, const char *proxy_status)
{
  return bsp_prefs_build_frame (g_strcmp0 (purple_core_get_ui (), BSP_PREFS_FINCH_UI) == 0,
                                proxy_status);
}

gboolean
bsp_prefs_get_send_http (void)
{
  return purple_prefs_get_bool (BSP_PREF_SEND_HTTP);
}

gboolean
bsp_prefs_get_http_only (void)
{
  return purple_prefs_get_bool (BSP_PREF_HTTP_ONLY);
}

gboolean
bsp_prefs_get_recv_http (void)
{
  return purple_prefs_get_bool (BSP_PREF_RECV_HTTP);
}

/* The extra proxy JID the user configured, normalised, or NULL when
 * the preference is empty or not a JID. */
char *
bsp_prefs_dup_proxy_jid (void)
{
  g_autofree char *text = g_strdup (purple_prefs_get_string (BSP_PREF_PROXY_JID));
  char *jid;

  if (text == NULL)
    return NULL;
  g_strstrip (text);
  if (*text == '\0')
    return NULL;

  jid = bsp_jid_normalize (text);
  if (jid == NULL)
    bsp_log_warning ("ignoring the preference %s: '%s' is not a JID", BSP_PREF_PROXY_JID, text);
  return jid;
}

/* How long an HTTP transfer may move no byte before it ends, clamped to
 * the bounds the dialog offers (prefs.xml can say anything). */
guint
bsp_prefs_get_stall_seconds (void)
{
  return CLAMP (purple_prefs_get_int (BSP_PREF_STALL_SECONDS), BSP_STALL_MIN, BSP_STALL_MAX);
}

/* How long the check of a bs-proxy's HTTP side may take, clamped. */
int
bsp_prefs_get_probe_seconds (void)
{
  return CLAMP (purple_prefs_get_int (BSP_PREF_PROBE_SECONDS), BSP_PROBE_MIN, BSP_PROBE_MAX);
}
