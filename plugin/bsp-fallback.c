/* bsp-fallback.c — handing a consumed IQ back to prpl-jabber
 *
 * prpl-jabber has no public way to process a stanza again, so this one file
 * looks up jabber_iq_parse() in the already loaded libjabber.so.0 (never
 * loading it itself) and calls it with the connection's JabberStream. That
 * runs the jabber-receiving-iq signal again (where the plugin lets this one
 * IQ pass) and then libpurple's own handlers. jabber_iq_parse() skips the
 * XEP-0198 counting, so the stanza is not counted twice.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <dlfcn.h>

#include "bsp-fallback.h"
#include "bsp-log.h"

typedef void (*BspJabberIqParse) (gpointer js, xmlnode *packet);

static xmlnode *bsp_fallback_current;

static BspJabberIqParse
bsp_fallback_symbol (void)
{
  static gboolean looked_up;
  static BspJabberIqParse parse;

  if (!looked_up)
    {
      void *lib = dlopen ("libjabber.so.0", RTLD_NOW | RTLD_NOLOAD);
      looked_up = TRUE;
      if (lib != NULL)
        {
          parse = (BspJabberIqParse) dlsym (lib, "jabber_iq_parse");
          /* libjabber stays loaded with prpl-jabber; drop our extra reference. */
          dlclose (lib);
        }
      if (parse == NULL)
        bsp_log_warning ("jabber_iq_parse not found in libjabber.so.0: transfers that "
                         "cannot go over HTTP will fail instead of falling back");
    }
  return parse;
}

gboolean
bsp_fallback_reinject (PurpleConnection *gc, xmlnode *iq)
{
  BspJabberIqParse parse = bsp_fallback_symbol ();
  gpointer js = purple_connection_get_protocol_data (gc);

  if (parse == NULL || js == NULL)
    return FALSE;
  bsp_fallback_current = iq;
  parse (js, iq);
  bsp_fallback_current = NULL;
  return TRUE;
}

gboolean
bsp_fallback_is_reinjected (xmlnode *iq)
{
  return iq != NULL && iq == bsp_fallback_current;
}
