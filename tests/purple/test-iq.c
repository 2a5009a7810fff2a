/* test-iq.c — the plugin's own IQs and their answers (plugin/bsp-iq.c)
 *
 * A tracker on a connection of its own, whose stanzas a handler of
 * jabber-sending-xmlnode catches instead of a server: a result comes back
 * as a copy the caller owns, an error reply and no answer as errors of
 * their own, an answer from the wrong sender is not taken, and a dropped
 * IQ calls back once, cancelled, from the main loop, touching nothing of
 * its owner, while its answer, if it still comes, is not taken.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-test-fake-xmpp.h"

#define ME FAKE_ME
#define PROXY "proxy.example.org"
#define NS_INFO "http://jabber.org/protocol/disco#info"

typedef FakeXmpp Fixture;

/* What one callback saw. */
typedef struct
{
  guint calls;
  xmlnode *reply;
  GError *error;
} Outcome;

/* Calls into this test's owner that are not allowed to touch it. */
static guint cancelled_calls;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  fake_xmpp_set_up (f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  fake_xmpp_tear_down (f);
}

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->reply, xmlnode_free);
  g_clear_error (&o->error);
}

static void
outcome_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outcome *o = user_data;
  g_autoptr (GError) error = NULL;
  xmlnode *reply = bsp_iq_tracker_send_finish (result, &error);

  g_assert_null (source);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* The owner may be gone: @o is not touched (ASan would see it). */
      g_assert_null (reply);
      cancelled_calls++;
      return;
    }
  g_assert_true ((reply == NULL) != (error == NULL));
  o->calls++;
  o->reply = reply;
  o->error = g_steal_pointer (&error);
}

/* An answer with a disco#info query, or an error. */
static xmlnode *
answer (const char *id, const char *from, const char *type, const char *condition)
{
  return fake_xmpp_answer (id, from, type, condition, "query", NS_INFO);
}

/* A disco#info get to @to, sent through the tracker; returns its id. */
static const char *
send_get (Fixture *f, const char *to, guint timeout_s, GCancellable *cancellable, Outcome *outcome)
{
  xmlnode *iq = bsp_iq_new ("get", to, "their-own", "query", NS_INFO, NULL);
  xmlnode *sent;
  guint before = f->sent->len;

  bsp_iq_tracker_send_async (f->tracker, iq, timeout_s, cancellable, outcome_cb, outcome);
  g_assert_cmpuint (f->sent->len, ==, before + 1);
  sent = f->sent->pdata[before];
  g_assert_cmpstr (xmlnode_get_attrib (sent, "to"), ==, to);
  /* Its id is the tracker's, not the caller's. */
  g_assert_cmpstr (xmlnode_get_attrib (sent, "id"), !=, "their-own");
  g_assert_true (g_str_has_prefix (xmlnode_get_attrib (sent, "id"), "bsp"));
  return xmlnode_get_attrib (sent, "id");
}

static void
test_result (Fixture *f, gconstpointer data)
{
  Outcome o = { 0 };
  g_autofree char *id = g_strdup (send_get (f, PROXY, 0, NULL, &o));

  g_assert_true (fake_xmpp_dispatch (f, answer (id, PROXY, NULL, NULL)));
  if (o.calls == 0)
    fake_xmpp_wait_for (&o.calls);
  g_assert_cmpuint (o.calls, ==, 1);
  g_assert_no_error (o.error);
  /* The caller's own copy: the dispatched stanza is freed already. */
  g_assert_nonnull (o.reply);
  g_assert_cmpstr (xmlnode_get_attrib (o.reply, "id"), ==, id);
  g_assert_nonnull (xmlnode_get_child (o.reply, "query"));
  /* Once only: the same answer again is not ours. */
  g_assert_false (fake_xmpp_dispatch (f, answer (id, PROXY, NULL, NULL)));
  g_assert_cmpuint (o.calls, ==, 1);
  outcome_clear (&o);
}

static void
test_error_reply (Fixture *f, gconstpointer data)
{
  struct
  {
    const char *type;
    const char *condition;
    int code;
    const char *message;
  } cases[] = {
    { "cancel", "item-not-found", BSP_IQ_ERROR_REFUSED, "item-not-found" },
    { "wait", "resource-constraint", BSP_IQ_ERROR_WAIT, "resource-constraint" },
    { "auth", "forbidden", BSP_IQ_ERROR_REFUSED, "forbidden" },
    { "wait", NULL, BSP_IQ_ERROR_WAIT, "undefined-condition" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Outcome o = { 0 };
      g_autofree char *id = g_strdup (send_get (f, PROXY, 0, NULL, &o));

      g_assert_true (fake_xmpp_dispatch (f, answer (id, PROXY, cases[i].type, cases[i].condition)));
      if (o.calls == 0)
        fake_xmpp_wait_for (&o.calls);
      g_assert_cmpuint (o.calls, ==, 1);
      g_assert_null (o.reply);
      g_assert_error (o.error, BSP_IQ_ERROR, cases[i].code);
      g_assert_cmpstr (o.error->message, ==, cases[i].message);
      outcome_clear (&o);
    }
}

static void
test_wrong_sender (Fixture *f, gconstpointer data)
{
  Outcome o = { 0 };
  g_autofree char *id = g_strdup (send_get (f, PROXY, 0, NULL, &o));
  Outcome mine = { 0 };
  g_autofree char *mine_id = g_strdup (send_get (f, NULL, 0, NULL, &mine));

  /* Someone else answering with the right id is not taken. */
  g_assert_false (fake_xmpp_dispatch (f, answer (id, "mallory@example.org/x", NULL, NULL)));
  g_assert_false (fake_xmpp_dispatch (f, answer (id, NULL, NULL, NULL)));
  g_assert_false (fake_xmpp_dispatch (f, answer (mine_id, PROXY, NULL, NULL)));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (o.calls, ==, 0);
  g_assert_cmpuint (mine.calls, ==, 0);
  /* The proxy's own answer is, whatever case its JID is in; our server's
   * may come from our domain (RFC 6120 §10.3.3). */
  g_assert_true (fake_xmpp_dispatch (f, answer (id, "Proxy.Example.Org", NULL, NULL)));
  g_assert_true (fake_xmpp_dispatch (f, answer (mine_id, "example.org", NULL, NULL)));
  if (o.calls == 0)
    fake_xmpp_wait_for (&o.calls);
  if (mine.calls == 0)
    fake_xmpp_wait_for (&mine.calls);
  g_assert_nonnull (o.reply);
  g_assert_nonnull (mine.reply);
  outcome_clear (&o);
  outcome_clear (&mine);
}

static void
test_timeout (Fixture *f, gconstpointer data)
{
  Outcome o = { 0 };
  g_autofree char *id = g_strdup (send_get (f, PROXY, 1, NULL, &o));
  gint64 start = g_get_monotonic_time ();

  fake_xmpp_wait_for (&o.calls);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC / 2);
  g_assert_error (o.error, BSP_IQ_ERROR, BSP_IQ_ERROR_TIMED_OUT);
  /* A late answer is not ours any more. */
  g_assert_false (fake_xmpp_dispatch (f, answer (id, PROXY, NULL, NULL)));
  g_assert_cmpuint (o.calls, ==, 1);
  outcome_clear (&o);
}

/* The owner drops its IQ and is freed before the answer comes. */
static void
test_cancel_before_reply (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Outcome *owner = g_new0 (Outcome, 1);
  guint before = cancelled_calls;
  g_autofree char *id = g_strdup (send_get (f, PROXY, 1, cancellable, owner));

  g_cancellable_cancel (cancellable);
  /* Not from inside the cancel: the owner goes on freeing itself. */
  g_assert_cmpuint (cancelled_calls, ==, before);
  g_free (owner);
  fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
  /* The answer, if it still comes, is not taken; its timeout (1 s) does
   * not call again. */
  g_assert_false (fake_xmpp_dispatch (f, answer (id, PROXY, NULL, NULL)));
  fake_xmpp_run_for (1500);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
}

/* The answer comes after the cancel but before the main loop ran it. */
static void
test_reply_after_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Outcome *owner = g_new0 (Outcome, 1);
  guint before = cancelled_calls;
  g_autofree char *id = g_strdup (send_get (f, PROXY, 0, cancellable, owner));

  g_cancellable_cancel (cancellable);
  g_free (owner);
  g_assert_false (fake_xmpp_dispatch (f, answer (id, PROXY, NULL, NULL)));
  g_assert_false (fake_xmpp_dispatch (f, answer (id, PROXY, "cancel", "item-not-found")));
  fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
}

/* Cancelled before it is sent: nothing goes out. */
static void
test_cancelled_already (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  guint before = cancelled_calls;

  g_cancellable_cancel (cancellable);
  bsp_iq_tracker_send_async (f->tracker, bsp_iq_new ("get", PROXY, NULL, NULL, NULL, NULL), 0,
                             cancellable, outcome_cb, NULL);
  g_assert_cmpuint (f->sent->len, ==, 0);
  fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
}

/* A cancel after the answer changes nothing. */
static void
test_cancel_after_reply (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Outcome o = { 0 };
  guint before = cancelled_calls;
  g_autofree char *id = g_strdup (send_get (f, PROXY, 0, cancellable, &o));

  g_assert_true (fake_xmpp_dispatch (f, answer (id, PROXY, NULL, NULL)));
  if (o.calls == 0)
    fake_xmpp_wait_for (&o.calls);
  g_cancellable_cancel (cancellable);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (o.calls, ==, 1);
  g_assert_cmpuint (cancelled_calls, ==, before);
  g_assert_nonnull (o.reply);
  outcome_clear (&o);
}

typedef struct
{
  Fixture *f;
  gboolean freeing; /* inside bsp_iq_tracker_free () */
  guint gone;       /* callbacks with BSP_IQ_ERROR_GONE */
} Going;

/* Sends again while the tracker goes: that one ends at once, unsent. */
static void
gone_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Going *g = user_data;
  g_autoptr (GError) error = NULL;
  xmlnode *reply = bsp_iq_tracker_send_finish (result, &error);

  g_assert_null (reply);
  g_assert_error (error, BSP_IQ_ERROR, BSP_IQ_ERROR_GONE);
  g_assert_cmpstr (error->message, ==, "signed off");
  if (g->gone++ == 0)
    {
      g_assert_true (g->freeing);
      bsp_iq_tracker_send_async (g->f->tracker, bsp_iq_new ("get", PROXY, NULL, NULL, NULL, NULL),
                                 0, NULL, gone_cb, g);
    }
}

/* Signs off from the main loop, as libpurple does. */
static gboolean
going (gpointer user_data)
{
  Going *g = user_data;

  g->freeing = TRUE;
  bsp_iq_tracker_free (g->f->tracker, "signed off");
  g->f->tracker = NULL;
  g->freeing = FALSE;
  return G_SOURCE_REMOVE;
}

static void
test_gone (Fixture *f, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  Going g = { f, FALSE, 0 };
  guint before = cancelled_calls;

  bsp_iq_tracker_send_async (f->tracker, bsp_iq_new ("get", PROXY, NULL, NULL, NULL, NULL), 0, NULL,
                             gone_cb, &g);
  /* One dropped by its owner first: cancelled, not gone. */
  bsp_iq_tracker_send_async (f->tracker, bsp_iq_new ("get", PROXY, NULL, NULL, NULL, NULL), 0,
                             cancellable, outcome_cb, NULL);
  g_cancellable_cancel (cancellable);
  g_assert_cmpuint (f->sent->len, ==, 2);
  g_idle_add (going, &g);
  while (g.gone < 2)
    fake_xmpp_wait_for (&g.gone);
  if (cancelled_calls == before)
    fake_xmpp_wait_for (&cancelled_calls);
  g_assert_cmpuint (g.gone, ==, 2);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
  g_assert_cmpuint (f->sent->len, ==, 2);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  fake_xmpp_init (FALSE);
#define ADD(path, func)                                                                            \
  g_test_add ("/plugin/iq/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("result", test_result);
  ADD ("error-reply", test_error_reply);
  ADD ("wrong-sender", test_wrong_sender);
  ADD ("timeout", test_timeout);
  ADD ("cancel-before-reply", test_cancel_before_reply);
  ADD ("reply-after-cancel", test_reply_after_cancel);
  ADD ("cancelled-already", test_cancelled_already);
  ADD ("cancel-after-reply", test_cancel_after_reply);
  ADD ("gone", test_gone);
#undef ADD
  rc = g_test_run ();
  fake_xmpp_uninit ();
  return rc;
}
