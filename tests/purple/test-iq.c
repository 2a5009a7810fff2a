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

#include <gio/gio.h>
#include <purple.h>

#include "bsp-iq.h"

#ifdef BSP_PURPLE_HAS_DBUS
/* From libpurple's dbus-server.h, which wants D-Bus's own headers. */
void purple_dbus_init_ids (void);
#endif

#define ME "alice@example.org/home"
#define PROXY "proxy.example.org"

/* Stands in for prpl-jabber: the instance its signal is registered on. */
static int fake_prpl;

typedef struct
{
  PurpleConnection gc;
  GPtrArray *sent; /* copies of what went out */
  BspIqTracker *tracker;
} Fixture;

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
fixture_sending (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_true (gc == &f->gc);
  g_ptr_array_add (f->sent, xmlnode_copy (*packet));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->gc.prpl = (PurplePlugin *) &fake_prpl;
  f->gc.display_name = g_strdup (ME);
  f->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) xmlnode_free);
  purple_signal_connect (&fake_prpl, "jabber-sending-xmlnode", f, PURPLE_CALLBACK (fixture_sending),
                         f);
  f->tracker = bsp_iq_tracker_new (&f->gc);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  bsp_iq_tracker_free (f->tracker, "the test ended");
  purple_signals_disconnect_by_handle (f);
  g_ptr_array_unref (f->sent);
  g_free (f->gc.display_name);
  /* Nothing left for the main loop: a leftover source would be a leak. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
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

static gboolean
wait_too_long (gpointer user_data)
{
  g_error ("no callback within %u s", GPOINTER_TO_UINT (user_data));
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until *@counter grows. */
static void
wait_for_call (guint *counter)
{
  guint before = *counter;
  guint guard = g_timeout_add_seconds (10, wait_too_long, GUINT_TO_POINTER (10));

  while (*counter == before)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (guard);
}

/* A disco#info get to @to, sent through the tracker; returns its id. */
static const char *
send_get (Fixture *f, const char *to, guint timeout_s, GCancellable *cancellable, Outcome *outcome)
{
  xmlnode *iq
      = bsp_iq_new ("get", to, "their-own", "query", "http://jabber.org/protocol/disco#info", NULL);
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

/* An answer to @id from @from: a result with a query when @type is NULL,
 * else an error of @type with @condition (none when NULL). */
static xmlnode *
new_answer (const char *id, const char *from, const char *type, const char *condition)
{
  xmlnode *iq;

  if (type == NULL)
    iq = bsp_iq_new ("result", ME, id, "query", "http://jabber.org/protocol/disco#info", NULL);
  else
    {
      xmlnode *error;

      iq = bsp_iq_new ("error", ME, id, "error", NULL, &error);
      xmlnode_set_attrib (error, "type", type);
      if (condition != NULL)
        xmlnode_set_namespace (xmlnode_new_child (error, condition),
                               "urn:ietf:params:xml:ns:xmpp-stanzas");
    }
  if (from != NULL)
    xmlnode_set_attrib (iq, "from", from);
  return iq;
}

static gboolean
time_is_up (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop for @ms: for what must *not* happen in that time. */
static void
run_for (guint ms)
{
  gboolean up = FALSE;

  g_timeout_add (ms, time_is_up, &up);
  while (!up)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
dispatch (Fixture *f, xmlnode *iq)
{
  gboolean ours = bsp_iq_tracker_dispatch (f->tracker, xmlnode_get_attrib (iq, "type"),
                                           xmlnode_get_attrib (iq, "id"),
                                           xmlnode_get_attrib (iq, "from"), iq);

  xmlnode_free (iq);
  return ours;
}

static void
test_result (Fixture *f, gconstpointer data)
{
  Outcome o = { 0 };
  g_autofree char *id = g_strdup (send_get (f, PROXY, 0, NULL, &o));

  g_assert_true (dispatch (f, new_answer (id, PROXY, NULL, NULL)));
  if (o.calls == 0)
    wait_for_call (&o.calls);
  g_assert_cmpuint (o.calls, ==, 1);
  g_assert_no_error (o.error);
  /* The caller's own copy: the dispatched stanza is freed already. */
  g_assert_nonnull (o.reply);
  g_assert_cmpstr (xmlnode_get_attrib (o.reply, "id"), ==, id);
  g_assert_nonnull (xmlnode_get_child (o.reply, "query"));
  /* Once only: the same answer again is not ours. */
  g_assert_false (dispatch (f, new_answer (id, PROXY, NULL, NULL)));
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

      g_assert_true (dispatch (f, new_answer (id, PROXY, cases[i].type, cases[i].condition)));
      if (o.calls == 0)
        wait_for_call (&o.calls);
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
  g_assert_false (dispatch (f, new_answer (id, "mallory@example.org/x", NULL, NULL)));
  g_assert_false (dispatch (f, new_answer (id, NULL, NULL, NULL)));
  g_assert_false (dispatch (f, new_answer (mine_id, PROXY, NULL, NULL)));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (o.calls, ==, 0);
  g_assert_cmpuint (mine.calls, ==, 0);
  /* The proxy's own answer is, whatever case its JID is in; our server's
   * may come from our domain (RFC 6120 §10.3.3). */
  g_assert_true (dispatch (f, new_answer (id, "Proxy.Example.Org", NULL, NULL)));
  g_assert_true (dispatch (f, new_answer (mine_id, "example.org", NULL, NULL)));
  if (o.calls == 0)
    wait_for_call (&o.calls);
  if (mine.calls == 0)
    wait_for_call (&mine.calls);
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

  wait_for_call (&o.calls);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC / 2);
  g_assert_error (o.error, BSP_IQ_ERROR, BSP_IQ_ERROR_TIMED_OUT);
  /* A late answer is not ours any more. */
  g_assert_false (dispatch (f, new_answer (id, PROXY, NULL, NULL)));
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
  wait_for_call (&cancelled_calls);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
  /* The answer, if it still comes, is not taken; its timeout (1 s) does
   * not call again. */
  g_assert_false (dispatch (f, new_answer (id, PROXY, NULL, NULL)));
  run_for (1500);
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
  g_assert_false (dispatch (f, new_answer (id, PROXY, NULL, NULL)));
  g_assert_false (dispatch (f, new_answer (id, PROXY, "cancel", "item-not-found")));
  wait_for_call (&cancelled_calls);
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
  wait_for_call (&cancelled_calls);
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

  g_assert_true (dispatch (f, new_answer (id, PROXY, NULL, NULL)));
  if (o.calls == 0)
    wait_for_call (&o.calls);
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
  guint guard;

  bsp_iq_tracker_send_async (f->tracker, bsp_iq_new ("get", PROXY, NULL, NULL, NULL, NULL), 0, NULL,
                             gone_cb, &g);
  /* One dropped by its owner first: cancelled, not gone. */
  bsp_iq_tracker_send_async (f->tracker, bsp_iq_new ("get", PROXY, NULL, NULL, NULL, NULL), 0,
                             cancellable, outcome_cb, NULL);
  g_cancellable_cancel (cancellable);
  g_assert_cmpuint (f->sent->len, ==, 2);
  g_idle_add (going, &g);
  guard = g_timeout_add_seconds (10, wait_too_long, GUINT_TO_POINTER (10));
  while (g.gone < 2 || cancelled_calls == before)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (guard);
  g_assert_cmpuint (g.gone, ==, 2);
  g_assert_cmpuint (cancelled_calls, ==, before + 1);
  g_assert_cmpuint (f->sent->len, ==, 2);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
#ifdef BSP_PURPLE_HAS_DBUS
  /* A libpurple built with D-Bus registers every xmlnode in its maps. */
  purple_dbus_init_ids ();
#endif
  purple_signals_init ();
  /* Without its value types: they are for D-Bus, which is not running. */
  purple_signal_register (&fake_prpl, "jabber-sending-xmlnode",
                          purple_marshal_VOID__POINTER_POINTER, NULL, 0);
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
  purple_signals_unregister_by_instance (&fake_prpl);
  purple_signals_uninit ();
  return rc;
}
