/* bsp-test-fake-xmpp.h — a connection of libpurple's without a server,
 * for the plugin's IQ tracker and discovery (tests/purple/test-iq.c,
 * tests/purple/test-discovery.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <purple.h>

#include "bsp-iq.h"

G_BEGIN_DECLS

#define FAKE_ME "alice@example.org/home"

/* What the plugin sends goes to a handler of jabber-sending-xmlnode,
 * registered on a stand-in for prpl-jabber, instead of a server. */
typedef struct
{
  PurpleConnection gc;
  GPtrArray *sent; /* copies of what went out */
  BspIqTracker *tracker;
} FakeXmpp;

/* Once per program, before any test: the parts of libpurple the plugin's
 * IQs need (signals; with @proxies, also the preferences and the proxy
 * settings an HTTP session reads, kept under a fresh user directory). */
void fake_xmpp_init (gboolean proxies);
void fake_xmpp_uninit (void);

void fake_xmpp_set_up (FakeXmpp *x);
/* Frees the tracker (pending IQs end as gone) and runs the main loop dry. */
void fake_xmpp_tear_down (FakeXmpp *x);

/* The id of the @index-th stanza sent, after checking its type and
 * recipient. */
const char *fake_xmpp_sent_id (FakeXmpp *x, guint index, const char *to);
/* An answer to @id from @from: a result with a child @name in @xmlns when
 * @type is NULL (none when @name is NULL), else an error of @type with
 * @condition (none when NULL). */
xmlnode *fake_xmpp_answer (const char *id, const char *from, const char *type,
                           const char *condition, const char *name, const char *xmlns);
/* Hands @iq (taken) to the tracker as prpl-jabber would; TRUE when it was
 * consumed. */
gboolean fake_xmpp_dispatch (FakeXmpp *x, xmlnode *iq);

/* Runs the main loop until *@counter grows (at most 10 s). */
void fake_xmpp_wait_for (guint *counter);
/* Runs the main loop for @ms: for what must *not* happen in that time. */
void fake_xmpp_run_for (guint ms);

G_END_DECLS
