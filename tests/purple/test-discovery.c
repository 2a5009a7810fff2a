/* test-discovery.c — several waiters on one proxy's discovery
 * (plugin/bsp-discovery.c), on a connection without a server
 *
 * Waiters on one JID share its disco#info; a cancelled waiter calls back
 * once, cancelled, from the main loop, and touches nothing of its owner,
 * while the others get the answer; one that comes when the answer is known
 * calls back from the main loop too. What is not a bytestreams proxy, or
 * not a JID, is an error; a discovery freed under its waiters ends them
 * cancelled, and its IQs' answers are not taken any more.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-discovery.h"
#include "bsp-protocol.h"
#include "bsp-test-fake-xmpp.h"

#define PROXY "proxy.example.org"

typedef struct
{
  FakeXmpp x;
  BspDiscovery *discovery;
} Fixture;

/* What one waiter saw. */
typedef struct
{
  guint calls;
  const BspProxyInfo *info;
  GError *error;
} Outcome;

/* Calls back into owners that are gone: they must touch nothing. */
static guint cancelled_calls;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  fake_xmpp_set_up (&f->x);
  f->discovery = bsp_discovery_new (&f->x.gc, f->x.tracker);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  bsp_discovery_free (f->discovery);
  fake_xmpp_tear_down (&f->x);
}

static void
outcome_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outcome *o = user_data;
  g_autoptr (GError) error = NULL;
  const BspProxyInfo *info = bsp_discovery_ensure_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* The owner may be gone: @o is not touched (ASan would see it). */
      g_assert_null (info);
      cancelled_calls++;
      return;
    }
  g_assert_true ((info == NULL) != (error == NULL));
  o->calls++;
  o->info = info;
  g_clear_error (&o->error);
  o->error = g_steal_pointer (&error);
}

/* The disco#info answer of a bytestreams proxy that speaks only SOCKS5. */
static xmlnode *
proxy_info (const char *id)
{
  xmlnode *iq = fake_xmpp_answer (id, PROXY, NULL, NULL, "query", BSP_NS_DISCO_INFO);
  xmlnode *identity = xmlnode_new_child (xmlnode_get_child (iq, "query"), "identity");

  xmlnode_set_attrib (identity, "category", "proxy");
  xmlnode_set_attrib (identity, "type", "bytestreams");
  return iq;
}

static void
test_waiters (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) dropped = g_cancellable_new ();
  g_autoptr (GCancellable) kept = g_cancellable_new ();
  Outcome *gone = g_new0 (Outcome, 1);
  Outcome o = { 0 };
  Outcome late = { 0 };
  guint before = cancelled_calls;
  g_autofree char *id = NULL;

  bsp_discovery_ensure_async (f->discovery, PROXY, dropped, outcome_cb, gone);
  bsp_discovery_ensure_async (f->discovery, "Proxy.Example.Org", kept, outcome_cb, &o);
  /* One question for both. */
  g_assert_cmpuint (f->x.sent->len, ==, 1);
  id = g_strdup (fake_xmpp_sent_id (&f->x, 0, PROXY));
  g_assert_cmpint (bsp_discovery_state (f->discovery, PROXY), ==, BSP_PROXY_CHECKING);

  /* The first owner goes: its waiter ends from the main loop. */
  g_cancellable_cancel (dropped);
  g_assert_cmpuint (cancelled_calls, ==, before);
  g_free (gone);
  fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (o.calls, ==, 0);

  /* The other gets the answer. */
  g_assert_true (fake_xmpp_dispatch (&f->x, proxy_info (id)));
  if (o.calls == 0)
    fake_xmpp_wait_for (&o.calls);
  g_assert_cmpuint (o.calls, ==, 1);
  g_assert_no_error (o.error);
  g_assert_nonnull (o.info);
  g_assert_cmpstr (o.info->jid, ==, PROXY);
  g_assert_true (o.info->is_proxy);
  g_assert_false (o.info->http);
  g_assert_cmpint (bsp_discovery_state (f->discovery, PROXY), ==, BSP_PROXY_SOCKS5_ONLY);
  /* Its streamhost is asked next, once. */
  g_assert_cmpuint (f->x.sent->len, ==, 2);
  fake_xmpp_sent_id (&f->x, 1, PROXY);

  /* Known now: answered without a question, from the main loop. */
  bsp_discovery_ensure_async (f->discovery, PROXY, kept, outcome_cb, &late);
  g_assert_cmpuint (late.calls, ==, 0);
  fake_xmpp_wait_for (&late.calls);
  g_assert_true (late.info == o.info);
  g_assert_cmpuint (f->x.sent->len, ==, 2);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
}

static void
test_not_proxy (Fixture *f, gconstpointer data)
{
  Outcome o = { 0 };
  Outcome bad = { 0 };

  bsp_discovery_ensure_async (f->discovery, "conference.example.org", NULL, outcome_cb, &o);
  g_assert_true (fake_xmpp_dispatch (
      &f->x, fake_xmpp_answer (fake_xmpp_sent_id (&f->x, 0, "conference.example.org"),
                               "conference.example.org", "cancel", "item-not-found", NULL, NULL)));
  if (o.calls == 0)
    fake_xmpp_wait_for (&o.calls);
  g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpint (bsp_discovery_state (f->discovery, "conference.example.org"), ==,
                   BSP_PROXY_NOT_PROXY);
  g_clear_error (&o.error);

  bsp_discovery_ensure_async (f->discovery, "", NULL, outcome_cb, &bad);
  fake_xmpp_wait_for (&bad.calls);
  g_assert_error (bad.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (f->x.sent->len, ==, 1);
  g_clear_error (&bad.error);
}

/* Cancelled before it waits: nothing is asked. */
static void
test_cancelled_already (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  guint before = cancelled_calls;

  g_cancellable_cancel (cancellable);
  bsp_discovery_ensure_async (f->discovery, PROXY, cancellable, outcome_cb, NULL);
  fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
  g_assert_cmpuint (f->x.sent->len, ==, 0);
}

/* The connection goes with a waiter still there (its owner did not
 * cancel it): it ends cancelled, and the answer is not taken. */
static void
test_freed (Fixture *f, gconstpointer data)
{
  guint before = cancelled_calls;
  g_autofree char *id = NULL;

  bsp_discovery_ensure_async (f->discovery, PROXY, NULL, outcome_cb, NULL);
  id = g_strdup (fake_xmpp_sent_id (&f->x, 0, PROXY));
  g_clear_pointer (&f->discovery, bsp_discovery_free);
  if (cancelled_calls == before)
    fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
  g_assert_false (fake_xmpp_dispatch (&f->x, proxy_info (id)));
  fake_xmpp_run_for (100);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  fake_xmpp_init (TRUE);
#define ADD(path, func)                                                                            \
  g_test_add ("/plugin/discovery/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("waiters", test_waiters);
  ADD ("not-proxy", test_not_proxy);
  ADD ("cancelled-already", test_cancelled_already);
  ADD ("freed", test_freed);
#undef ADD
  rc = g_test_run ();
  fake_xmpp_uninit ();
  return rc;
}
