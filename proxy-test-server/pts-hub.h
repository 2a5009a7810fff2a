/* pts-hub.h — the embedded XMPP server: enough c2s for real clients on one machine
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-config.h"
#include "pts-proxy.h"

G_BEGIN_DECLS

typedef struct _PtsHub PtsHub;

PtsHub *pts_hub_new (const PtsConfig *config, PtsProxy *proxy);
/* Binds the c2s port (0 = any free port); returns the bound port or 0. */
guint16 pts_hub_listen (PtsHub *hub, const char *address, guint16 port, GError **error);
void pts_hub_free (PtsHub *hub);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsHub, pts_hub_free)

G_END_DECLS
