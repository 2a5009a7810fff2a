/* pts-stanza.h — builders for the stanzas the proxy and the hub answer with
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-xml.h"

G_BEGIN_DECLS

#define PTS_NS_CLIENT "jabber:client"
#define PTS_NS_COMPONENT "jabber:component:accept"
#define PTS_NS_PING "urn:xmpp:ping"
#define PTS_NS_DATA_FORMS "jabber:x:data"

/* An empty result for @iq, from its 'to' to its 'from'. */
PtsNode *pts_stanza_iq_result (const PtsNode *iq);
/* An error reply to any stanza, with the RFC 6120 type for @condition. */
PtsNode *pts_stanza_error (const PtsNode *stanza, const char *condition, const char *text);
PtsNode *pts_stanza_iq_new (const char *type, const char *from, const char *to, const char *id);
const char *pts_stanza_error_type (const char *condition);

G_END_DECLS
