/* bsp-purple-driver-ui.c — the driver's libpurple UI: its timers and fd
 * watches on GLib's main loop, DNS through GResolver, the debug log on
 * stderr, the core's set-up, and the dialogs a user would answer or read:
 * requests (an incoming file with --decline, the certificate prompt with
 * --certificate), notices and conversation lines, each as an event
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>

#include "bsp-purple-driver.h"

gboolean driver_debug_enabled;

/* ------------------------------------------------------------------ */
/* Event loop: libpurple's timers and fd watches on GLib's main loop   */

typedef struct
{
  PurpleInputFunction func;
  gpointer data;
} DriverInput;

static gboolean
driver_input_dispatch (int fd, GIOCondition condition, gpointer user_data)
{
  DriverInput *input = user_data;
  PurpleInputCondition purple_condition = 0;

  if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    purple_condition |= PURPLE_INPUT_READ;
  if (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    purple_condition |= PURPLE_INPUT_WRITE;

  input->func (input->data, fd, purple_condition);
  return G_SOURCE_CONTINUE;
}

static guint
driver_input_add (int fd, PurpleInputCondition condition, PurpleInputFunction func,
                  gpointer user_data)
{
  DriverInput *input = g_new0 (DriverInput, 1);
  GIOCondition io_condition = 0;

  input->func = func;
  input->data = user_data;

  if (condition & PURPLE_INPUT_READ)
    io_condition |= G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (condition & PURPLE_INPUT_WRITE)
    io_condition |= G_IO_OUT | G_IO_HUP | G_IO_ERR;

  return g_unix_fd_add_full (G_PRIORITY_DEFAULT, fd, io_condition, driver_input_dispatch, input,
                             g_free);
}

static PurpleEventLoopUiOps driver_eventloop_ops = {
  .timeout_add = g_timeout_add,
  .timeout_remove = g_source_remove,
  .input_add = driver_input_add,
  .input_remove = g_source_remove,
  .input_get_error = NULL, /* libpurple's getsockopt () default */
  .timeout_add_seconds = g_timeout_add_seconds,
};

/* ------------------------------------------------------------------ */
/* DNS: GResolver instead of libpurple's forked resolver process       */

typedef struct
{
  PurpleDnsQueryData *query; /* NULL once libpurple dropped the query */
  PurpleDnsQueryResolvedCallback resolved_cb;
  PurpleDnsQueryFailedCallback failed_cb;
  GCancellable *cancellable;
} DriverDnsQuery;

/* PurpleDnsQueryData * → DriverDnsQuery *, for the queries in flight. */
static GHashTable *driver_dns_queries;

static void
driver_dns_query_free (DriverDnsQuery *dq)
{
  g_clear_object (&dq->cancellable);
  g_free (dq);
}

static void
driver_dns_resolved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DriverDnsQuery *dq = user_data;
  g_autoptr (GError) error = NULL;
  GList *addresses;
  GSList *hosts = NULL;
  PurpleDnsQueryData *query;
  unsigned short port;

  addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  query = dq->query;
  if (query == NULL)
    {
      /* libpurple cancelled it: the query is gone, only dq is left */
      g_resolver_free_addresses (addresses);
      driver_dns_query_free (dq);
      return;
    }
  g_hash_table_remove (driver_dns_queries, query);

  if (addresses == NULL)
    {
      dq->failed_cb (query, error->message);
      driver_dns_query_free (dq);
      return;
    }

  /* libpurple wants (size_t length, struct sockaddr *) pairs it frees */
  port = purple_dnsquery_get_port (query);
  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autoptr (GSocketAddress) address = g_inet_socket_address_new (l->data, port);
      gssize size = g_socket_address_get_native_size (address);
      gpointer native;

      if (size <= 0)
        continue;
      native = g_malloc0 (size);
      if (!g_socket_address_to_native (address, native, size, NULL))
        {
          g_free (native);
          continue;
        }
      hosts = g_slist_append (hosts, GSIZE_TO_POINTER ((gsize) size));
      hosts = g_slist_append (hosts, native);
    }
  g_resolver_free_addresses (addresses);

  dq->resolved_cb (query, hosts);
  driver_dns_query_free (dq);
}

static gboolean
driver_dns_resolve (PurpleDnsQueryData *query, PurpleDnsQueryResolvedCallback resolved_cb,
                    PurpleDnsQueryFailedCallback failed_cb)
{
  g_autoptr (GResolver) resolver = g_resolver_get_default ();
  const char *host = purple_dnsquery_get_host (query); /* not a copy */
  DriverDnsQuery *dq = g_new0 (DriverDnsQuery, 1);

  dq->query = query;
  dq->resolved_cb = resolved_cb;
  dq->failed_cb = failed_cb;
  dq->cancellable = g_cancellable_new ();
  g_hash_table_insert (driver_dns_queries, query, dq);

  g_resolver_lookup_by_name_async (resolver, host, dq->cancellable, driver_dns_resolved_cb, dq);
  return TRUE;
}

static void
driver_dns_destroy (PurpleDnsQueryData *query)
{
  DriverDnsQuery *dq = g_hash_table_lookup (driver_dns_queries, query);

  if (dq == NULL)
    return;
  g_hash_table_remove (driver_dns_queries, query);
  dq->query = NULL;
  g_cancellable_cancel (dq->cancellable);
}

static PurpleDnsQueryUiOps driver_dns_ops = {
  .resolve_host = driver_dns_resolve,
  .destroy = driver_dns_destroy,
};

/* ------------------------------------------------------------------ */
/* Debug log (stderr, only with --debug) and the core UI               */

static void
driver_debug_print (PurpleDebugLevel level, const char *category, const char *text)
{
  Driver *self = driver_global;

  if (self != NULL && self->send_after != NULL && !self->send_after_seen
      && strstr (text, self->send_after) != NULL)
    {
      self->send_after_seen = TRUE;
      g_idle_add (driver_check_goal_idle, self);
    }
  fprintf (stderr, "purple: %s: %s", category != NULL ? category : "-", text);
  if (*text == '\0' || text[strlen (text) - 1] != '\n')
    fputc ('\n', stderr);
}

static gboolean
driver_debug_is_enabled (PurpleDebugLevel level, const char *category)
{
  return driver_debug_enabled;
}

static PurpleDebugUiOps driver_debug_ops = {
  .print = driver_debug_print,
  .is_enabled = driver_debug_is_enabled,
};

static GHashTable *driver_ui_info;

static GHashTable *
driver_get_ui_info (void)
{
  if (driver_ui_info == NULL)
    {
      driver_ui_info = g_hash_table_new (g_str_hash, g_str_equal);
      g_hash_table_insert (driver_ui_info, (gpointer) "name", (gpointer) DRIVER_UI_ID);
      g_hash_table_insert (driver_ui_info, (gpointer) "version", (gpointer) PACKAGE_VERSION);
      g_hash_table_insert (driver_ui_info, (gpointer) "client_type", (gpointer) "bot");
    }
  return driver_ui_info;
}

static void
driver_ui_init (void)
{
  driver_dns_queries = g_hash_table_new (g_direct_hash, g_direct_equal);
  purple_dnsquery_set_ui_ops (&driver_dns_ops);
}

static void
driver_ui_quit (void)
{
  purple_dnsquery_set_ui_ops (NULL);
  g_clear_pointer (&driver_dns_queries, g_hash_table_unref);
  g_clear_pointer (&driver_ui_info, g_hash_table_unref);
}

static PurpleCoreUiOps driver_core_ops = {
  .ui_prefs_init = NULL,
  .debug_ui_init = NULL,
  .ui_init = driver_ui_init,
  .quit = driver_ui_quit,
  .get_ui_info = driver_get_ui_info,
};

/* ------------------------------------------------------------------ */
/* Requests, notices and conversation lines, as events                 */

typedef struct
{
  PurpleRequestActionCb callback;
  void *user_data;
  int index;
} DriverRequestAnswer;

static gboolean
driver_request_answer (gpointer data)
{
  DriverRequestAnswer *answer = data;

  answer->callback (answer->user_data, answer->index);
  g_free (answer);
  return G_SOURCE_REMOVE;
}

/* A question from libpurple ("X wants to send you Y"): with --decline the
 * last action (Cancel) is chosen, from the main loop as a click would be;
 * libpurple's certificate prompt gets the --certificate answer. */
static void *
driver_request_action (const char *title, const char *primary, const char *secondary,
                       int default_action, PurpleAccount *account, const char *who,
                       PurpleConversation *conv, void *user_data, size_t action_count,
                       va_list actions)
{
  /* libpurple later closes the request by this handle: never NULL. */
  static int handle;
  Driver *self = driver_global;
  DriverRequestAnswer *answer;

  g_autofree const char **labels = g_new0 (const char *, action_count + 1);
  g_autofree PurpleRequestActionCb *callbacks = g_new0 (PurpleRequestActionCb, action_count + 1);
  int index = -1;

  driver_event ("request", "title", title, "primary", primary, "secondary", secondary, NULL);
  for (size_t i = 0; i < action_count; i++)
    {
      labels[i] = va_arg (actions, const char *);
      callbacks[i] = va_arg (actions, PurpleRequestActionCb);
    }
  /* libpurple's certificate prompt: Accept, Reject, View Certificate. */
  if (action_count >= 2 && g_strcmp0 (labels[0], "Accept") == 0
      && g_strcmp0 (labels[1], "Reject") == 0)
    {
      if (g_strcmp0 (self->certificate, "unload") == 0)
        {
          /* No answer: the plugin goes away while the prompt is open. */
          driver_event ("certificate-answer", "answer", "none", NULL);
          g_idle_add (driver_unload_plugin, self);
        }
      else if (self->certificate != NULL)
        {
          index = g_str_equal (self->certificate, "accept") ? 0 : 1;
          driver_event ("certificate-answer", "answer", labels[index], NULL);
        }
    }
  else if (self->decline && action_count > 0)
    index = (int) action_count - 1;
  if (index < 0)
    return &handle;
  answer = g_new0 (DriverRequestAnswer, 1);
  answer->callback = callbacks[index];
  answer->index = index;
  answer->user_data = user_data;
  if (self->certificate_delay > 0 && labels[0] != NULL && g_str_equal (labels[0], "Accept"))
    g_timeout_add_seconds (self->certificate_delay, driver_request_answer, answer);
  else
    g_idle_add (driver_request_answer, answer);
  return &handle;
}

/* libpurple closes a request nobody answered (e.g. its owner went away). */
static void
driver_close_request (PurpleRequestType type, void *ui_handle)
{
  driver_event ("request-closed", NULL);
}

static PurpleRequestUiOps driver_request_ops = {
  .request_action = driver_request_action,
  .close_request = driver_close_request,
};

/* Errors and notices that Pidgin would show in a dialog. */
static void *
driver_notify_message (PurpleNotifyMsgType type, const char *title, const char *primary,
                       const char *secondary)
{
  driver_event ("notify", "title", title, "primary", primary, "secondary", secondary, NULL);
  return NULL;
}

static PurpleNotifyUiOps driver_notify_ops = {
  .notify_message = driver_notify_message,
};

/* What Pidgin would write into the conversation window. */
static void
driver_write_conv (PurpleConversation *conv, const char *name, const char *alias,
                   const char *message, PurpleMessageFlags flags, time_t mtime)
{
  driver_event ("conversation", "with", purple_conversation_get_name (conv), "message", message,
                "kind", (flags & PURPLE_MESSAGE_ERROR) ? "error" : "system", NULL);
}

static PurpleConversationUiOps driver_conv_ops = {
  .write_conv = driver_write_conv,
};

/* The dialogs' UI ops, set before the transfers' signals are connected. */
void
driver_set_dialog_ui_ops (void)
{
  purple_notify_set_ui_ops (&driver_notify_ops);
  purple_request_set_ui_ops (&driver_request_ops);
  purple_conversations_set_ui_ops (&driver_conv_ops);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */

/* libpurple reads prefs.xml inside purple_core_init (), before it would
 * start UPnP discovery and guess a public IP: pre-seed a fresh user
 * dir so that the driver stays on loopback. A STUN server that is set
 * (and never used: no media here) keeps prpl-jabber from looking one
 * up in DNS at sign-in. An existing file is kept. */
static gboolean
driver_seed_prefs (const char *user_dir, GError **error)
{
  static const char prefs[] = "<?xml version='1.0' encoding='UTF-8' ?>\n"
                              "<pref version='1' name='/'>\n"
                              " <pref name='purple'>\n"
                              "  <pref name='network'>\n"
                              "   <pref name='auto_ip' type='bool' value='0'/>\n"
                              "   <pref name='public_ip' type='string' value='127.0.0.1'/>\n"
                              "   <pref name='map_ports' type='bool' value='0'/>\n"
                              "   <pref name='stun_server' type='string' value='127.0.0.1'/>\n"
                              "  </pref>\n"
                              " </pref>\n"
                              "</pref>\n";
  g_autofree char *path = g_build_filename (user_dir, "prefs.xml", NULL);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  return g_file_set_contents (path, prefs, -1, error);
}

gboolean
driver_init_purple (Driver *self, GError **error)
{
  if (g_mkdir_with_parents (self->user_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "cannot create %s: %s", self->user_dir, g_strerror (saved_errno));
      return FALSE;
    }
  if (!driver_seed_prefs (self->user_dir, error))
    return FALSE;

  purple_util_set_user_dir (self->user_dir);
  purple_debug_set_enabled (FALSE);
  purple_debug_set_ui_ops (&driver_debug_ops);
  purple_core_set_ui_ops (&driver_core_ops);
  purple_eventloop_set_ui_ops (&driver_eventloop_ops);

  if (!purple_core_init (DRIVER_UI_ID))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "purple_core_init () failed");
      return FALSE;
    }
  purple_set_blist (purple_blist_new ());
  purple_blist_load ();
  if (self->ca_dir != NULL)
    purple_certificate_add_ca_search_path (self->ca_dir);

  if (purple_plugins_find_with_id (DRIVER_XMPP_PRPL) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "libpurple has no %s",
                   DRIVER_XMPP_PRPL);
      return FALSE;
    }
  return TRUE;
}
