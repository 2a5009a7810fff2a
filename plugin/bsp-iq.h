/* bsp-iq.h — sending stanzas through prpl-jabber, and tracking our own IQs
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
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

/* Why one of our IQs brought no result (bsp_iq_tracker_send_finish ()). */
#define BSP_IQ_ERROR (bsp_iq_error_quark ())
typedef enum
{
  BSP_IQ_ERROR_REFUSED,   /* an error reply; the message is its condition */
  BSP_IQ_ERROR_WAIT,      /* an error reply of type 'wait' (RFC 6120 §8.3.2: retry
                           * later); the message is its condition */
  BSP_IQ_ERROR_TIMED_OUT, /* no answer in time */
  BSP_IQ_ERROR_GONE,      /* the connection ended first; the message says how */
} BspIqError;

GQuark bsp_iq_error_quark (void);

typedef struct _BspIqTracker BspIqTracker;

BspIqTracker *bsp_iq_tracker_new (PurpleConnection *gc);
/* Ends every pending IQ with BSP_IQ_ERROR_GONE and @why, and frees the
 * tracker. */
void bsp_iq_tracker_free (BspIqTracker *tracker, const char *why);

/* Sends @iq (an IQ get or set; taken, its id is replaced) and calls
 * @callback once (GTask: from the main loop) when the answer came or none
 * will. @timeout_s 0 = the default (60 s). Cancelling @cancellable is how
 * an owner drops the IQ: a later answer is not ours any more, and
 * @callback gets G_IO_ERROR_CANCELLED, then must touch nothing of
 * @user_data (the owner may be freed by then). */
void bsp_iq_tracker_send_async (BspIqTracker *tracker, xmlnode *iq, guint timeout_s,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
/* The result stanza (the caller's, xmlnode_free () it), or NULL and why in
 * @error: BSP_IQ_ERROR (an error reply, no answer, the connection gone) or
 * G_IO_ERROR_CANCELLED. No tracker is needed here: after a cancel or with
 * the connection gone, the owner's pointer to it may be stale. */
xmlnode *bsp_iq_tracker_send_finish (GAsyncResult *result, GError **error);
/* Matches an incoming result/error by id and sender; TRUE when it was ours
 * (consumed: its task completes with it). */
gboolean bsp_iq_tracker_dispatch (BspIqTracker *tracker, const char *type, const char *id,
                                  const char *from, xmlnode *iq);

G_END_DECLS
