/* bsp-plugin.h — the plugin's identity and its one context struct
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <purple.h>

#include "bsp-connection.h"

G_BEGIN_DECLS

#define BSP_PLUGIN_ID "core-bsproxy"
#define BSP_PLUGIN_JABBER_ID "prpl-jabber"

/* Everything the plugin holds while loaded; lives on plugin->extra and
 * travels to every signal handler as user_data. */
typedef struct _BspPlugin BspPlugin;

struct _BspPlugin
{
  PurplePlugin *plugin; /* not owned */
  PurplePlugin *jabber; /* not owned: prpl-jabber, a declared dependency */
  BspConnectionTable *connections;
  guint extra_timer; /* the additional bs-proxy is taken up when it fires */
};

G_END_DECLS
