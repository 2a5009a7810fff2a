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

const char *
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

gboolean
bsp_iq_error_is_wait (xmlnode *iq)
{
  xmlnode *error = iq ? xmlnode_get_child (iq, "error") : NULL;

  return error != NULL && g_strcmp0 (xmlnode_get_attrib (iq, "type"), "error") == 0
         && g_strcmp0 (xmlnode_get_attrib (error, "type"), "wait") == 0;
}

typedef struct
{
  BspIqTracker *tracker;
  char *id;
  char *to; /* normalised, or NULL for our own server */
  BspIqCallback callback;
  gpointer user_data;
  guint timeout_id;
} BspIqPending;

struct _BspIqTracker
{
  PurpleConnection *gc;
  GHashTable *pending; /* id → BspIqPending */
  guint counter;
};

static void
bsp_iq_pending_free (BspIqPending *pending)
{
  g_clear_handle_id (&pending->timeout_id, g_source_remove);
  g_free (pending->id);
  g_free (pending->to);
  g_free (pending);
}

BspIqTracker *
bsp_iq_tracker_new (PurpleConnection *gc)
{
  BspIqTracker *self = g_new0 (BspIqTracker, 1);

  self->gc = gc;
  self->pending
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) bsp_iq_pending_free);
  return self;
}

void
bsp_iq_tracker_free (BspIqTracker *self, const char *why)
{
  GHashTableIter iter;
  BspIqPending *pending;
  GPtrArray *all;

  if (self == NULL)
    return;
  /* Take them all out first: a callback may send or forget others. */
  all = g_ptr_array_new_with_free_func ((GDestroyNotify) bsp_iq_pending_free);
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    {
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (all, pending);
    }
  for (guint i = 0; i < all->len; i++)
    {
      pending = all->pdata[i];
      pending->callback (self->gc, NULL, why, pending->user_data);
    }
  g_ptr_array_unref (all);
  g_hash_table_unref (self->pending);
  g_free (self);
}

static gboolean
bsp_iq_timeout (gpointer user_data)
{
  BspIqPending *pending = user_data;
  BspIqTracker *self = pending->tracker;

  pending->timeout_id = 0;
  g_hash_table_steal (self->pending, pending->id);
  bsp_log_info ("no answer to %s from %s", pending->id, pending->to ? pending->to : "server");
  pending->callback (self->gc, NULL, "timeout", pending->user_data);
  bsp_iq_pending_free (pending);
  return G_SOURCE_REMOVE;
}

void
bsp_iq_tracker_send (BspIqTracker *self, xmlnode *iq, guint timeout_s, BspIqCallback callback,
                     gpointer user_data)
{
  BspIqPending *pending = g_new0 (BspIqPending, 1);
  const char *to = xmlnode_get_attrib (iq, "to");

  pending->tracker = self;
  pending->id = g_strdup_printf ("bsp%u", ++self->counter);
  pending->to = to ? bsp_jid_normalize (to) : NULL;
  pending->callback = callback;
  pending->user_data = user_data;
  pending->timeout_id = g_timeout_add_seconds (timeout_s ? timeout_s : BSP_IQ_DEFAULT_TIMEOUT,
                                               bsp_iq_timeout, pending);
  g_hash_table_insert (self->pending, pending->id, pending);
  xmlnode_set_attrib (iq, "id", pending->id);
  bsp_iq_send_stanza (self->gc, iq);
}

void
bsp_iq_tracker_forget (BspIqTracker *self, gpointer user_data)
{
  GHashTableIter iter;
  BspIqPending *pending;

  if (self == NULL)
    return;
  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &pending))
    if (pending->user_data == user_data)
      g_hash_table_iter_remove (&iter);
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
  if (pending == NULL)
    return FALSE;
  if (!bsp_iq_from_matches (self, pending->to, from))
    {
      bsp_log_warning ("answer to %s came from %s instead of %s; ignored", id,
                       from ? from : "(none)", pending->to ? pending->to : "our server");
      return FALSE;
    }
  g_hash_table_steal (self->pending, id);
  pending->callback (self->gc, iq, NULL, pending->user_data);
  bsp_iq_pending_free (pending);
  return TRUE;
}
