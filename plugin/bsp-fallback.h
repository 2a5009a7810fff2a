/* bsp-fallback.h — handing a consumed IQ back to prpl-jabber
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <purple.h>

G_BEGIN_DECLS

/* Lets prpl-jabber process @iq as if the plugin had never seen it (its own
 * SOCKS5 path then runs). FALSE when that is impossible here (the symbol
 * is missing from libjabber): the caller must answer the peer itself. */
gboolean bsp_fallback_reinject (PurpleConnection *gc, xmlnode *iq);
/* TRUE while @iq is being handed back: the plugin must not consume it. */
gboolean bsp_fallback_is_reinjected (xmlnode *iq);

G_END_DECLS
