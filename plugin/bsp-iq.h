/* bsp-iq.h — sending stanzas through prpl-jabber, and tracking our own IQs
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <purple.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlnode, xmlnode_free)

/* Sends @node on @gc's stream (through the jabber-sending-xmlnode signal,
 * so XEP-0198 and other plugins see it) and frees it. */
void bsp_iq_send_stanza (PurpleConnection *gc, xmlnode *node);

/* A new <iq type=@type to=@to> with a child @name in @xmlns (or none when
 * @name is NULL); *@child, if given, receives the child. */
xmlnode *bsp_iq_new (const char *type, const char *to, const char *id, const char *name,
                     const char *xmlns, xmlnode **child);

/* Answers an IQ set/get with an empty result, or an error with @condition. */
void bsp_iq_send_result (PurpleConnection *gc, const char *to, const char *id);
void bsp_iq_send_error (PurpleConnection *gc, const char *to, const char *id, const char *type,
                        const char *condition);

/* The first error condition of an IQ error, or NULL. */
const char *bsp_iq_error_condition (xmlnode *iq);
/* Whether @iq is an error of type 'wait' (RFC 6120 §8.3.2: retry later). */
gboolean bsp_iq_error_is_wait (xmlnode *iq);

/* The answer to one of our IQs: @iq is the result or error stanza, or NULL
 * when none came (timeout, sign-off, unload) — then @why says which. */
typedef void (*BspIqCallback) (PurpleConnection *gc, xmlnode *iq, const char *why,
                               gpointer user_data);

typedef struct _BspIqTracker BspIqTracker;

BspIqTracker *bsp_iq_tracker_new (PurpleConnection *gc);
/* Calls every pending callback with @why and frees the tracker. */
void bsp_iq_tracker_free (BspIqTracker *tracker, const char *why);

/* Sends @iq (an IQ get or set; its id is replaced) and calls @callback once
 * with the answer. @timeout_s 0 = the default (60 s). */
void bsp_iq_tracker_send (BspIqTracker *tracker, xmlnode *iq, guint timeout_s,
                          BspIqCallback callback, gpointer user_data);
/* Forgets every pending IQ whose user_data is @user_data, without calling
 * back. */
void bsp_iq_tracker_forget (BspIqTracker *tracker, gpointer user_data);
/* Matches an incoming result/error by id and sender; TRUE when it was ours
 * (the callback ran). */
gboolean bsp_iq_tracker_dispatch (BspIqTracker *tracker, const char *type, const char *id,
                                  const char *from, xmlnode *iq);

G_END_DECLS
