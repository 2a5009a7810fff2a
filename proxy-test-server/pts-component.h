/* pts-component.h — XEP-0114: the proxy as a component of a real XMPP server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-config.h"
#include "pts-proxy.h"

G_BEGIN_DECLS

typedef struct _PtsComponent PtsComponent;

/* Called after every successful handshake. */
typedef void (*PtsComponentReadyFunc) (PtsComponent *component, gpointer user_data);

PtsComponent *pts_component_new (const PtsConfig *config, PtsProxy *proxy,
                                 PtsComponentReadyFunc ready, gpointer user_data);
/* Connects now, and again with back-off whenever the server goes away. */
void pts_component_start (PtsComponent *component);
void pts_component_free (PtsComponent *component);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsComponent, pts_component_free)

G_END_DECLS
