/* bsp-extra-proxy.h — the additional bs-proxy of the preferences: taken up
 * at once, and its state told to the user
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "bsp-plugin.h"

G_BEGIN_DECLS

/* After the preference changed (and the user stopped typing for a
 * moment), every signed-in account looks the new JID up at once. */
void bsp_extra_proxy_watch (BspPlugin *plugin);
void bsp_extra_proxy_unwatch (BspPlugin *plugin);

/* One sentence on the additional bs-proxy as configured now: not a valid
 * JID, being checked, a bs-proxy whose HTTP side answers… NULL when none
 * is set. */
char *bsp_extra_proxy_status (BspPlugin *plugin);

/* The plugin's actions (Tools → Plugin Actions in Pidgin, Finch's Actions
 * menu): "Check the additional bs-proxy". */
GList *bsp_extra_proxy_actions (PurplePlugin *plugin, gpointer context);

G_END_DECLS
