/* bsp-protocol.h — names and identities shared by the plugin and the proxy
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BSP_NS_BSPROXY "http://oneteam.im/bs-proxy"
#define BSP_NS_BSPROXY_BRIDGE "http://oneteam.im/bs-proxy#bridge"
#define BSP_NS_BYTESTREAMS "http://jabber.org/protocol/bytestreams"
#define BSP_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define BSP_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define BSP_NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

/* SHA-1 hex digest length, and so the SOCKS5 DST.ADDR length. */
#define BSP_SIDHASH_LEN 40
/* Longest SID the proxy accepts (PROTOCOL.md §2.3). */
#define BSP_SID_MAX_LEN 128

char *bsp_jid_normalize (const char *jid);
char *bsp_jid_bare (const char *jid);
gboolean bsp_jid_is_valid (const char *jid);
gboolean bsp_jid_is_full (const char *jid);
char *bsp_jid_domain (const char *jid);

char *bsp_sidhash (const char *sid, const char *initiator, const char *target);
gboolean bsp_sidhash_is_valid (const char *text, gsize len);

/* Longest human text on <abort/> and <ended/>, in characters (PROTOCOL.md §5.6). */
#define BSP_END_TEXT_MAX 200

/* @text (may be NULL or any bytes) made safe to show or forward: valid
 * UTF-8, every control or formatting character (newlines, bidi
 * overrides…) a space, blanks trimmed, at most @max_chars characters.
 * Returns a new string, "" at worst. */
char *bsp_text_clean (const char *text, gsize max_chars);

G_END_DECLS
