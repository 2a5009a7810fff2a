/* bsb-xmpp.h — a blocking XMPP client good for one thing: bytestream IQs
 *
 * Logs in with SASL PLAIN on a plaintext loopback stream, binds a
 * resource, then sends IQs and hands back whole stanzas as text.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _BsbXmpp BsbXmpp;

BsbXmpp *bsb_xmpp_login (const char *host, guint16 port, const char *domain, const char *user,
                         const char *password, const char *resource, int timeout_s, GError **error);
void bsb_xmpp_free (BsbXmpp *xmpp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsbXmpp, bsb_xmpp_free)

/* The full JID the server bound. */
const char *bsb_xmpp_get_jid (BsbXmpp *xmpp);
int bsb_xmpp_get_fd (BsbXmpp *xmpp);

gboolean bsb_xmpp_send (BsbXmpp *xmpp, const char *xml, GError **error);

/* A whole stanza already received, without reading; NULL if there is none
 * yet (or on a broken stream: then @error is set). */
char *bsb_xmpp_take (BsbXmpp *xmpp, GError **error);
/* Reads once from the socket (call when poll() says it is readable). */
gboolean bsb_xmpp_fill (BsbXmpp *xmpp, GError **error);
/* The next stanza, waiting at most @timeout_ms. */
char *bsb_xmpp_next (BsbXmpp *xmpp, int timeout_ms, GError **error);

/* Answers an IQ set or get from someone else with an empty result. */
gboolean bsb_xmpp_ack (BsbXmpp *xmpp, const char *stanza, GError **error);

/* Sends @xml, an IQ with id @id, and waits for its result; other IQ sets
 * are acknowledged on the way, other stanzas dropped. An error reply is a
 * GError. */
char *bsb_xmpp_iq (BsbXmpp *xmpp, const char *xml, const char *id, int timeout_ms, GError **error);

/* SIDHASH: lowercase hex SHA-1 of @sid, @initiator and @target. */
char *bsb_xmpp_sidhash (const char *sid, const char *initiator, const char *target);

G_END_DECLS
