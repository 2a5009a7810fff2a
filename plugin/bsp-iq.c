/* bsp-iq.c — sending stanzas through prpl-jabber, and tracking our own IQs
 *
 * Our IQs carry ids of our own ("bsp" and a counter); their answers are
 * matched in jabber-receiving-iq by id *and* sender, like Pidgin's own
 * service-discovery plugin does, and consumed there.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-iq.h"
#include "bsp-log.h"
#include "bsp-protocol.h"

#define BSP_IQ_DEFAULT_TIMEOUT 60

void
bsp_iq_send_stanza (PurpleConnection *gc, xmlnode *node)
{
  PurplePlugin *prpl = purple_connection_get_prpl (gc);

  /* The handlers may look at or modify the node in place, never replace it. */
  purple_signal_emit (prpl, "jabber-sending-xmlnode", gc, &node);
  if (node != NULL)
    xmlnode_free (node);
}

xmlnode *
bsp_iq_new (const char *type, const char *to, const char *id, const char *name, const char *xmlns,
            xmlnode **child)
{
  xmlnode *iq = xmlnode_new ("iq");
  xmlnode *c = NULL;

  xmlnode_set_attrib (iq, "type", type);
  if (to != NULL)
    xmlnode_set_attrib (iq, "to", to);
  if (id != NULL)
    xmlnode_set_attrib (iq, "id", id);
  if (name != NULL)
    {
      c = xmlnode_new_child (iq, name);
      if (xmlns != NULL)
        xmlnode_set_namespace (c, xmlns);
    }
  if (child != NULL)
    *child = c;
  return iq;
}

void
bsp_iq_send_result (PurpleConnection *gc, const char *to, const char *id)
{
  bsp_iq_send_stanza (gc, bsp_iq_new ("result", to, id, NULL, NULL, NULL));
}

void
bsp_iq_send_error (PurpleConnection *gc, const char *to, const char *id, const char *type,
                   const char *condition)
{
  xmlnode *error;
  xmlnode *iq = bsp_iq_new ("error", to, id, "error", NULL, &error);
  xmlnode *cond = xmlnode_new_child (error, condition);

  xmlnode_set_attrib (error, "type", type);
  xmlnode_set_namespace (cond, BSP_NS_STANZAS);
  bsp_iq_send_stanza (gc, iq);
}

/* The first error condition of an IQ error, or NULL. */
static const char *
bsp_iq_error_condition (xmlnode *iq)
{
  xmlnode *error = iq ? xmlnode_get_child (iq, "error") : NULL;

  if (error == NULL)
    return NULL;
  for (xmlnode *c = error->child; c != NULL; c = c->next)
    if (c->type == XMLNODE_TYPE_TAG && g_strcmp0 (xmlnode_get_namespace (c), BSP_NS_STANZAS) == 0
        && strcmp (c->name, "text") != 0)
      return c->name;
  return "undefined-condition";
}

/* Whether @iq is an error of type 'wait' (RFC 6120 §8.3.2: retry later). */
static gboolean
bsp_iq_error_is_wait (xmlnode *iq)
{
  xmlnode *error = iq ? xmlnode_get_child (iq, "error") : NULL;

  return error != NULL && g_strcmp0 (xmlnode_get_attrib (iq, "type"), "error") == 0
         && g_strcmp0 (xmlnode_get_attrib (error, "type"), "wait") == 0;
}

G_DEFINE_QUARK (bsp - iq - error - quark, bsp_iq_error)

typedef struct
{
  BspIqTracker *tracker;
  char *id;
  char *to; /* normalised, or NULL for our own server */
  GTask *task;
  guint timeout_id;
  GSource *cancelled; /* fires once the owner's cancellable is cancelled */
} BspIqPending;

struct _BspIqTracker
{
  PurpleConnection *gc;
  GHashTable *pending; /* id → BspIqPending */
  guint counter;
  char *gone; /* while it is being freed: why */
};

static void
bsp_iq_pending_free (BspIqPending *pending)
{
  g_clear_handle_id (&pending->timeout_id, g_source_remove);
  if (pending->cancelled != NULL)
    g_source_destroy (pending->cancelled);
  g_clear_pointer (&pending->cancelled, g_source_unref);
  g_clear_object (&pending->task);
  g_free (pending->id);
  g_free (pending->to);
  g_free (pending);
}

/* Ends @pending (out of the table already) with @reply, a result the
 * caller gets a copy of, or with @error (taken). */
static void
bsp_iq_pending_finish (BspIqPending *pending, xmlnode *reply, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&pending->task);

  /* Freed first: the callback may send again. */
  bsp_iq_pending_free (pending);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, xmlnode_copy (reply), (GDestroyNotify) xmlnode_free);
}

static gboolean
bsp_iq_pending_is_cancelled (BspIqPending *pending)
{
  return g_cancellable_is_cancelled (g_task_get_cancellable (pending->task));
}

BspIqTracker *
bsp_iq_tracker_new (PurpleConnection *gc)
{
  BspIqTracker *self = g_new0 (BspIqTracker, 1);

  self->gc = gc;
  self->pending = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
bsp_iq_tracker_free (BspIqTracker *self, const char *why)
{
  if (self == NULL)
    return;
  /* A callback may send again: that one ends at once (see
   * bsp_iq_tracker_send_async ()), and the loop takes what is left. */
  self->gone = g_strdup (why ? why : "the connection ended");
  while (g_hash_table_size (self->pending) > 0)
    {
      GHashTableIter iter;
      BspIqPending *pending;

      g_hash_table_iter_init (&iter, self->pending);
      g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending);
      g_hash_table_iter_steal (&iter);
      bsp_iq_pending_finish (pending, NULL,
                             g_error_new_literal (BSP_IQ_ERROR, BSP_IQ_ERROR_GONE, self->gone));
    }
  g_hash_table_unref (self->pending);
  g_free (self->gone);
  g_free (self);
}

static gboolean
bsp_iq_timeout (gpointer user_data)
{
  BspIqPending *pending = user_data;
  BspIqTracker *self = pending->tracker;

  pending->timeout_id = 0;
  g_hash_table_steal (self->pending, pending->id);
  if (bsp_iq_pending_is_cancelled (pending))
    {
      /* Dropped by its owner already; the cancel has not run yet. */
      bsp_iq_pending_finish (pending, NULL,
                             g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
      return G_SOURCE_REMOVE;
    }
  bsp_log_info ("no answer to %s from %s", pending->id, pending->to ? pending->to : "server");
  bsp_iq_pending_finish (pending, NULL,
                         g_error_new_literal (BSP_IQ_ERROR, BSP_IQ_ERROR_TIMED_OUT, "timeout"));
  return G_SOURCE_REMOVE;
}

/* The owner dropped the IQ: from the main loop, never inside its
 * g_cancellable_cancel (). */
static gboolean
bsp_iq_cancelled (GCancellable *cancellable, gpointer user_data)
{
  BspIqPending *pending = user_data;

  g_hash_table_steal (pending->tracker->pending, pending->id);
  bsp_iq_pending_finish (pending, NULL,
                         g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled"));
  return G_SOURCE_REMOVE;
}

void
bsp_iq_tracker_send_async (BspIqTracker *self, xmlnode *iq, guint timeout_s,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (xmlnode) stanza = iq;
  BspIqPending *pending;
  const char *to;

  g_task_set_source_tag (task, bsp_iq_tracker_send_async);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->gone != NULL)
    {
      g_task_return_new_error (task, BSP_IQ_ERROR, BSP_IQ_ERROR_GONE, "%s", self->gone);
      return;
    }
  to = xmlnode_get_attrib (stanza, "to");
  pending = g_new0 (BspIqPending, 1);
  pending->tracker = self;
  pending->id = g_strdup_printf ("bsp%u", ++self->counter);
  pending->to = to ? bsp_jid_normalize (to) : NULL;
  pending->task = g_steal_pointer (&task);
  pending->timeout_id = g_timeout_add_seconds (timeout_s ? timeout_s : BSP_IQ_DEFAULT_TIMEOUT,
                                               bsp_iq_timeout, pending);
  if (cancellable != NULL)
    {
      pending->cancelled = g_cancellable_source_new (cancellable);
      g_source_set_callback (pending->cancelled, G_SOURCE_FUNC (bsp_iq_cancelled), pending, NULL);
      g_source_attach (pending->cancelled, g_main_context_get_thread_default ());
    }
  g_hash_table_insert (self->pending, pending->id, pending);
  xmlnode_set_attrib (stanza, "id", pending->id);
  bsp_iq_send_stanza (self->gc, g_steal_pointer (&stanza));
}

xmlnode *
bsp_iq_tracker_send_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bsp_iq_tracker_send_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Answers from our own server may come without 'from', or from our bare
 * JID or the domain (RFC 6120 §10.3.3). */
static gboolean
bsp_iq_from_matches (BspIqTracker *self, const char *expected, const char *from)
{
  g_autofree char *norm = from ? bsp_jid_normalize (from) : NULL;
  g_autofree char *me = NULL;

  if (expected != NULL)
    return g_strcmp0 (expected, norm) == 0;
  if (norm == NULL)
    return TRUE;
  me = bsp_jid_bare (purple_connection_get_display_name (self->gc));
  if (g_strcmp0 (norm, me) == 0)
    return TRUE;
  {
    g_autofree char *domain = bsp_jid_domain (me);
    return g_strcmp0 (norm, domain) == 0;
  }
}

gboolean
bsp_iq_tracker_dispatch (BspIqTracker *self, const char *type, const char *id, const char *from,
                         xmlnode *iq)
{
  BspIqPending *pending;

  if (self == NULL || id == NULL
      || (g_strcmp0 (type, "result") != 0 && g_strcmp0 (type, "error") != 0))
    return FALSE;
  pending = g_hash_table_lookup (self->pending, id);
  /* One its owner dropped is not ours any more, as if never sent. */
  if (pending == NULL || bsp_iq_pending_is_cancelled (pending))
    return FALSE;
  if (!bsp_iq_from_matches (self, pending->to, from))
    {
      bsp_log_warning ("answer to %s came from %s instead of %s; ignored", id,
                       from ? from : "(none)", pending->to ? pending->to : "our server");
      return FALSE;
    }
  g_hash_table_steal (self->pending, id);
  if (g_strcmp0 (type, "result") == 0)
    bsp_iq_pending_finish (pending, iq, NULL);
  else
    {
      const char *condition = bsp_iq_error_condition (iq);

      bsp_iq_pending_finish (
          pending, NULL,
          g_error_new_literal (BSP_IQ_ERROR,
                               bsp_iq_error_is_wait (iq) ? BSP_IQ_ERROR_WAIT : BSP_IQ_ERROR_REFUSED,
                               condition ? condition : "undefined-condition"));
    }
  return TRUE;
}
