/* bsp-discovery.c — which bytestreams proxies around us speak bs-proxy
 *
 * Per connection: disco#items of our server → disco#info of each item →
 * for bytestreams proxies, the bytestreams get that tells their SOCKS5
 * address. Results are cached for the connection's life; a reconnect makes
 * a new connection state and so a fresh walk. Streamhosts offered by a peer
 * on another server are looked up on demand. A bs-proxy that advertises
 * its http-base is known only once that base has been checked from here
 * (bsp-probe.c), so that no transfer is committed to an HTTP side this
 * network cannot reach. Its SOCKS5 address is tried once too, as libpurple
 * would connect to it, so that a sender offers no proxy it cannot use.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "bsp-discovery.h"
#include "bsp-http.h"
#include "bsp-log.h"
#include "bsp-probe.h"
#include "bsp-protocol.h"
#include "bsp-url.h"

#define BSP_NS_DATA_FORMS "jabber:x:data"

typedef struct _BspDiscoveryEntry BspDiscoveryEntry;

/* One bsp_discovery_ensure_async () waiting for its entry. */
typedef struct
{
  BspDiscoveryEntry *entry;
  GTask *task;
  GSource *cancelled; /* fires once the waiter's cancellable is cancelled */
} BspDiscoveryWaiter;

struct _BspDiscoveryEntry
{
  BspDiscovery *discovery;
  BspProxyInfo info;
  gboolean known; /* disco#info answered (or failed) */
  gboolean asked;
  gboolean ok;                          /* is_proxy after the answer */
  gboolean probing;                     /* its http-base is being checked */
  GPtrArray *waiters;                   /* BspDiscoveryWaiter */
  PurpleProxyConnectData *socks5_check; /* its SOCKS5 address, being tried */
  guint socks5_timeout_id;
};

struct _BspDiscovery
{
  PurpleConnection *gc;
  BspIqTracker *iq;
  GHashTable *entries; /* jid → BspDiscoveryEntry */
  SoupSession *http;   /* for the checks, with the account's proxy settings */
  GCancellable *cancellable;
};

gboolean
bsp_proxy_info_http_usable (const BspProxyInfo *info)
{
  return info != NULL && info->http && !info->http_blocked;
}

static void
bsp_discovery_socks5_stop (BspDiscoveryEntry *entry)
{
  g_clear_handle_id (&entry->socks5_timeout_id, g_source_remove);
  g_clear_pointer (&entry->socks5_check, purple_proxy_connect_cancel);
}

static void
bsp_discovery_entry_free (BspDiscoveryEntry *entry)
{
  bsp_discovery_socks5_stop (entry);
  g_free (entry->info.jid);
  g_free (entry->info.host);
  g_free (entry->info.http_base);
  g_clear_error (&entry->info.http_blocked_why);
  g_clear_pointer (&entry->info.tls_unverified, bsp_tls_peer_free);
  g_ptr_array_unref (entry->waiters);
  g_free (entry);
}

/* Takes @w out of its entry and completes its task: with the entry's
 * info when it is a bytestreams proxy, else with why not. */
static void
bsp_discovery_waiter_finish (BspDiscoveryWaiter *w, gboolean cancelled)
{
  g_autoptr (GTask) task = g_steal_pointer (&w->task);
  BspDiscoveryEntry *entry = w->entry;

  g_ptr_array_remove (entry->waiters, w);
  if (w->cancelled != NULL)
    g_source_destroy (w->cancelled);
  g_clear_pointer (&w->cancelled, g_source_unref);
  g_free (w);
  if (cancelled)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else if (entry->ok)
    g_task_return_pointer (task, &entry->info, NULL);
  else
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                             "%s did not answer as a bytestreams proxy", entry->info.jid);
}

static gboolean
bsp_discovery_waiter_cancelled (GCancellable *cancellable, gpointer user_data)
{
  bsp_discovery_waiter_finish (user_data, TRUE);
  return G_SOURCE_REMOVE;
}

BspDiscovery *
bsp_discovery_new (PurpleConnection *gc, BspIqTracker *iq)
{
  BspDiscovery *self = g_new0 (BspDiscovery, 1);

  self->gc = gc;
  self->iq = iq;
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) bsp_discovery_entry_free);
  self->http = bsp_http_session_new (purple_connection_get_account (gc));
  self->cancellable = g_cancellable_new ();
  return self;
}

void
bsp_discovery_free (BspDiscovery *self)
{
  GHashTableIter iter;
  BspDiscoveryEntry *entry;

  if (self == NULL)
    return;
  /* Waiters left, IQs and checks still running end cancelled: their
   * callbacks touch nothing (they point at entries). */
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    while (entry->waiters->len > 0)
      bsp_discovery_waiter_finish (entry->waiters->pdata[0], TRUE);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  soup_session_abort (self->http);
  g_clear_object (&self->http);
  g_hash_table_unref (self->entries);
  g_free (self);
}

static void
bsp_discovery_entry_done (BspDiscoveryEntry *entry)
{
  entry->known = TRUE;
  /* A callback may run at once and wait again: that one is answered at
   * once too (the entry is known). */
  while (entry->waiters->len > 0)
    bsp_discovery_waiter_finish (entry->waiters->pdata[0], FALSE);
}

static void
bsp_discovery_socks5_reached (BspDiscoveryEntry *entry, gboolean reached, const char *why)
{
  bsp_discovery_socks5_stop (entry);
  entry->info.socks5_blocked = !reached;
  if (!reached)
    bsp_log_info ("proxy %s: its SOCKS5 address %s:%u does not open from here (%s)",
                  entry->info.jid, entry->info.host, entry->info.port, why);
}

static void
bsp_discovery_socks5_connected (gpointer user_data, gint source, const gchar *error_message)
{
  BspDiscoveryEntry *entry = user_data;

  entry->socks5_check = NULL; /* libpurple frees it after this call */
  if (source >= 0)
    close (source); /* reachable: that is all we wanted to know */
  bsp_discovery_socks5_reached (entry, source >= 0,
                                error_message ? error_message : "no connection");
}

static gboolean
bsp_discovery_socks5_timeout (gpointer user_data)
{
  BspDiscoveryEntry *entry = user_data;

  entry->socks5_timeout_id = 0;
  bsp_discovery_socks5_reached (entry, FALSE, "no connection within the time allowed");
  return G_SOURCE_REMOVE;
}

/* Opens a TCP connection to the proxy's SOCKS5 address as prpl-jabber
 * would (through the account's proxy, if any) and closes it at once. */
static void
bsp_discovery_socks5_check (BspDiscoveryEntry *entry)
{
  PurpleAccount *account = purple_connection_get_account (entry->discovery->gc);

  if (entry->socks5_check != NULL || entry->info.host == NULL || entry->info.port == 0)
    return;
  entry->socks5_check = purple_proxy_connect (NULL, account, entry->info.host, entry->info.port,
                                              bsp_discovery_socks5_connected, entry);
  if (entry->socks5_check != NULL)
    entry->socks5_timeout_id
        = g_timeout_add_seconds (BSP_PROBE_TIMEOUT_S, bsp_discovery_socks5_timeout, entry);
  else
    bsp_discovery_socks5_reached (entry, FALSE, "libpurple could not start a connection");
}

static void
bsp_discovery_streamhost_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDiscoveryEntry *entry = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &error);
  xmlnode *query
      = reply ? xmlnode_get_child_with_namespace (reply, "query", BSP_NS_BYTESTREAMS) : NULL;
  xmlnode *host = query ? xmlnode_get_child (query, "streamhost") : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* with the discovery: the entry is gone */
  if (host != NULL)
    {
      const char *port = xmlnode_get_attrib (host, "port");
      guint64 p = 0;
      g_free (entry->info.host);
      entry->info.host = g_strdup (xmlnode_get_attrib (host, "host"));
      if (port != NULL && g_ascii_string_to_unsigned (port, 10, 1, 65535, &p, NULL))
        entry->info.port = (guint16) p;
    }
  bsp_log_info ("proxy %s: SOCKS5 %s:%u, HTTP %s%s%s", entry->info.jid,
                entry->info.host ? entry->info.host : "?", entry->info.port,
                entry->info.http ? "yes" : "no", entry->info.bridge ? " (bridges to SOCKS5)" : "",
                entry->info.http_base ? ", under an advertised base" : "");
  bsp_discovery_socks5_check (entry);
}

/* The text of the first <value/> of the form's field @var, or NULL. */
static char *
bsp_discovery_form_value (xmlnode *form, const char *var)
{
  for (xmlnode *field = xmlnode_get_child (form, "field"); field != NULL;
       field = xmlnode_get_next_twin (field))
    if (g_strcmp0 (xmlnode_get_attrib (field, "var"), var) == 0)
      {
        xmlnode *value = xmlnode_get_child (field, "value");
        return value ? xmlnode_get_data (value) : NULL;
      }
  return NULL;
}

/* The bs-proxy's XEP-0128 form: where its HTTP side hands out URLs, and
 * its size limit. Only the first form of that FORM_TYPE counts. */
static void
bsp_discovery_read_form (BspDiscoveryEntry *entry, xmlnode *query)
{
  for (xmlnode *form = xmlnode_get_child_with_namespace (query, "x", BSP_NS_DATA_FORMS);
       form != NULL; form = xmlnode_get_next_twin (form))
    {
      g_autofree char *type = NULL;
      g_autofree char *size = NULL;
      guint64 limit = 0;

      if (g_strcmp0 (xmlnode_get_namespace (form), BSP_NS_DATA_FORMS) != 0
          || g_strcmp0 (xmlnode_get_attrib (form, "type"), "result") != 0)
        continue;
      type = bsp_discovery_form_value (form, "FORM_TYPE");
      if (g_strcmp0 (type, BSP_NS_BSPROXY) != 0)
        continue;
      g_free (entry->info.http_base);
      entry->info.http_base = bsp_discovery_form_value (form, "http-base");
      size = bsp_discovery_form_value (form, "max-file-size");
      if (size != NULL && g_ascii_string_to_unsigned (size, 10, 1, G_MAXUINT64, &limit, NULL))
        entry->info.max_file_size = limit;
      if (entry->info.http_base != NULL && !bsp_url_base_is_valid (entry->info.http_base))
        bsp_log_warning ("proxy %s advertises an unusable HTTP base; none of its URLs will be "
                         "used",
                         entry->info.jid);
      return;
    }
}

static void
bsp_discovery_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDiscoveryEntry *entry = user_data;
  g_autoptr (GError) why = NULL;
  BspTlsPeer *unverified = NULL;
  gboolean reachable = bsp_probe_http_finish (result, &unverified, &why);

  /* Cancelled with the discovery: the entry is gone. */
  if (g_error_matches (why, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_pointer (&entry->info.tls_unverified, bsp_tls_peer_free);
  entry->info.tls_unverified = unverified;

  entry->probing = FALSE;
  if (reachable != !entry->info.http_blocked || !entry->known)
    {
      if (reachable)
        bsp_log_info ("proxy %s: its HTTP side answers from here", entry->info.jid);
      else
        bsp_log_info ("proxy %s: its HTTP side is not reachable from here (%s); transfers "
                      "through it keep to SOCKS5",
                      entry->info.jid, why->message);
    }
  entry->info.http_blocked = !reachable;
  g_clear_error (&entry->info.http_blocked_why);
  if (!reachable)
    entry->info.http_blocked_why = g_steal_pointer (&why);
  if (!entry->known)
    bsp_discovery_entry_done (entry);
}

static void
bsp_discovery_probe (BspDiscoveryEntry *entry)
{
  if (entry->probing)
    return;
  entry->probing = TRUE;
  bsp_probe_http_async (entry->discovery->http, entry->info.http_base,
                        entry->discovery->cancellable, bsp_discovery_probed, entry);
}

void
bsp_discovery_recheck_http (BspDiscovery *self, const char *jid)
{
  g_autofree char *norm = jid ? bsp_jid_normalize (jid) : NULL;
  BspDiscoveryEntry *entry = norm ? g_hash_table_lookup (self->entries, norm) : NULL;

  if (entry != NULL && entry->known && entry->ok && entry->info.http
      && entry->info.http_base != NULL && bsp_url_base_is_valid (entry->info.http_base))
    bsp_discovery_probe (entry);
}

static void
bsp_discovery_info_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDiscoveryEntry *entry = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &error);
  xmlnode *query
      = reply ? xmlnode_get_child_with_namespace (reply, "query", BSP_NS_DISCO_INFO) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* with the discovery: the entry is gone */
  if (query != NULL)
    {
      for (xmlnode *c = query->child; c != NULL; c = c->next)
        {
          if (c->type != XMLNODE_TYPE_TAG)
            continue;
          if (strcmp (c->name, "identity") == 0
              && g_strcmp0 (xmlnode_get_attrib (c, "category"), "proxy") == 0
              && g_strcmp0 (xmlnode_get_attrib (c, "type"), "bytestreams") == 0)
            entry->info.is_proxy = TRUE;
          else if (strcmp (c->name, "feature") == 0)
            {
              const char *var = xmlnode_get_attrib (c, "var");
              if (g_strcmp0 (var, BSP_NS_BSPROXY) == 0)
                entry->info.http = TRUE;
              else if (g_strcmp0 (var, BSP_NS_BSPROXY_BRIDGE) == 0)
                entry->info.bridge = TRUE;
            }
        }
      bsp_discovery_read_form (entry, query);
    }
  entry->ok = entry->info.is_proxy;
  if (entry->ok)
    {
      xmlnode *get = bsp_iq_new ("get", entry->info.jid, NULL, "query", BSP_NS_BYTESTREAMS, NULL);
      bsp_iq_tracker_send_async (entry->discovery->iq, get, 30, entry->discovery->cancellable,
                                 bsp_discovery_streamhost_cb, entry);
    }
  if (entry->ok && entry->info.http && entry->info.http_base != NULL
      && bsp_url_base_is_valid (entry->info.http_base))
    bsp_discovery_probe (entry); /* known once the check is done */
  else
    bsp_discovery_entry_done (entry);
}

static BspDiscoveryEntry *
bsp_discovery_entry (BspDiscovery *self, const char *jid)
{
  g_autofree char *norm = bsp_jid_normalize (jid);
  BspDiscoveryEntry *entry;

  if (norm == NULL)
    return NULL;
  entry = g_hash_table_lookup (self->entries, norm);
  if (entry != NULL)
    return entry;
  entry = g_new0 (BspDiscoveryEntry, 1);
  entry->discovery = self;
  entry->info.jid = g_steal_pointer (&norm);
  entry->waiters = g_ptr_array_new ();
  g_hash_table_insert (self->entries, entry->info.jid, entry);
  return entry;
}

static void
bsp_discovery_ask (BspDiscoveryEntry *entry)
{
  xmlnode *get;

  if (entry->asked)
    return;
  entry->asked = TRUE;
  get = bsp_iq_new ("get", entry->info.jid, NULL, "query", BSP_NS_DISCO_INFO, NULL);
  bsp_iq_tracker_send_async (entry->discovery->iq, get, 30, entry->discovery->cancellable,
                             bsp_discovery_info_cb, entry);
}

static void
bsp_discovery_items_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BspDiscovery *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (xmlnode) reply = bsp_iq_tracker_send_finish (result, &error);
  xmlnode *query
      = reply ? xmlnode_get_child_with_namespace (reply, "query", BSP_NS_DISCO_ITEMS) : NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* @self is gone */
  if (query == NULL)
    {
      bsp_log_info ("no service discovery on our server (%s)",
                    error ? error->message : "no items in the answer");
      return;
    }
  for (xmlnode *item = xmlnode_get_child (query, "item"); item != NULL;
       item = xmlnode_get_next_twin (item))
    {
      const char *jid = xmlnode_get_attrib (item, "jid");
      BspDiscoveryEntry *entry;
      /* Items with a node are not services of their own. */
      if (jid == NULL || xmlnode_get_attrib (item, "node") != NULL)
        continue;
      entry = bsp_discovery_entry (self, jid);
      if (entry != NULL)
        bsp_discovery_ask (entry);
    }
}

void
bsp_discovery_start (BspDiscovery *self, const char *extra_jid)
{
  g_autofree char *domain = bsp_jid_domain (purple_connection_get_display_name (self->gc));
  xmlnode *get = bsp_iq_new ("get", domain, NULL, "query", BSP_NS_DISCO_ITEMS, NULL);

  bsp_iq_tracker_send_async (self->iq, get, 30, self->cancellable, bsp_discovery_items_cb, self);
  if (extra_jid != NULL && *extra_jid != '\0')
    bsp_discovery_add (self, extra_jid);
}

void
bsp_discovery_add (BspDiscovery *self, const char *jid)
{
  BspDiscoveryEntry *entry = bsp_discovery_entry (self, jid);

  if (entry != NULL)
    bsp_discovery_ask (entry);
  else
    bsp_log_warning ("the configured proxy JID \"%s\" is not a valid JID", jid);
}

BspProxyState
bsp_discovery_state (BspDiscovery *self, const char *jid)
{
  g_autofree char *norm = jid ? bsp_jid_normalize (jid) : NULL;
  BspDiscoveryEntry *entry = norm ? g_hash_table_lookup (self->entries, norm) : NULL;

  if (entry == NULL || !entry->asked)
    return BSP_PROXY_UNKNOWN;
  if (!entry->known)
    return BSP_PROXY_CHECKING;
  if (!entry->ok)
    return BSP_PROXY_NOT_PROXY;
  if (!entry->info.http)
    return BSP_PROXY_SOCKS5_ONLY;
  return entry->info.http_blocked ? BSP_PROXY_HTTP_BLOCKED : BSP_PROXY_HTTP;
}

const BspProxyInfo *
bsp_discovery_lookup (BspDiscovery *self, const char *jid)
{
  g_autofree char *norm = jid ? bsp_jid_normalize (jid) : NULL;
  BspDiscoveryEntry *entry = norm ? g_hash_table_lookup (self->entries, norm) : NULL;

  return entry && entry->known && entry->ok ? &entry->info : NULL;
}

const BspProxyInfo *
bsp_discovery_find_http_blocked (BspDiscovery *self)
{
  GHashTableIter iter;
  BspDiscoveryEntry *entry;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->known && entry->ok && entry->info.http && entry->info.http_blocked)
      return &entry->info;
  return NULL;
}

void
bsp_discovery_ensure_async (BspDiscovery *self, const char *jid, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  BspDiscoveryEntry *entry;
  BspDiscoveryWaiter *w;

  g_task_set_source_tag (task, bsp_discovery_ensure_async);
  if (g_task_return_error_if_cancelled (task))
    return;
  entry = bsp_discovery_entry (self, jid);
  if (entry == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "\"%s\" is not a valid JID", jid);
      return;
    }
  w = g_new0 (BspDiscoveryWaiter, 1);
  w->entry = entry;
  w->task = g_steal_pointer (&task);
  g_ptr_array_add (entry->waiters, w);
  if (entry->known)
    {
      bsp_discovery_waiter_finish (w, FALSE);
      return;
    }
  if (cancellable != NULL)
    {
      w->cancelled = g_cancellable_source_new (cancellable);
      g_source_set_callback (w->cancelled, G_SOURCE_FUNC (bsp_discovery_waiter_cancelled), w, NULL);
      g_source_attach (w->cancelled, g_main_context_get_thread_default ());
    }
  bsp_discovery_ask (entry);
}

const BspProxyInfo *
bsp_discovery_ensure_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bsp_discovery_ensure_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
