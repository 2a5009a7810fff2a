/* bsp-purple-driver.c — a headless libpurple client for the tests
 *
 * Runs libpurple on a GLib main loop with no UI at all, signs in the
 * XMPP accounts it is given (optionally with the bsproxy plugin loaded),
 * waits for a goal and reports what happens as JSON lines on stdout:
 *
 *   {"event":"plugin-loaded","id":"core-bsproxy","name":"…","path":"…","author":"…",
 *    "homepage":null,"prefs":["/plugins/…",…],
 *    "pref-frame":[{"kind":"heading"|"option"|"info","name":"/plugins/…","label":"…"},…]}
 *   {"event":"signed-on","account":"alice@localhost/driver"}
 *   {"event":"prefs-set"}                      (--pref-online applied)
 *   {"event":"pref-frame","frame":[…]}         (--frame-when: the frame says it)
 *   {"event":"buddy-online","account":"alice@localhost/driver","buddy":"bob@localhost"}
 *   {"event":"plugin-error","path":"…","reason":"…"}
 *   {"event":"connection-error","account":"…","reason":"…"}
 *   {"event":"timeout","seconds":30}
 *   {"event":"streamhost-offer","ms":123}       (--timing: an offer came in)
 *   {"event":"proxy-connect","ms":456}          (--timing: a bs-proxy <connect/> went out)
 *   {"event":"done"}
 *
 * Exit status 0 once the goal is reached ("done"), 1 on a plugin or
 * connection error or a timeout, 2 on bad usage. Diagnostics (and libpurple's debug log
 * with --debug) go to stderr, so stdout stays machine-readable.
 *
 * Growing it: a goal is whatever driver_goal_reached() checks. File
 * transfers (--send-file PATH --to JID, --accept-dir DIR) will add their
 * own state to DriverAccount and their own events, and extend that check.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <purple.h>

#include "bsp-protocol.h"

#define DRIVER_UI_ID "bsp-purple-driver"
#define DRIVER_XMPP_PRPL "prpl-jabber"

/* One account given with --account. */
typedef struct
{
  char *jid;  /* as given, possibly with a /resource */
  char *bare; /* normalised bare JID, for buddy look-ups */
  char *password;
  PurpleAccount *account; /* owned by libpurple's account list */
  gboolean signed_on;
} DriverAccount;

typedef struct
{
  /* options */
  char *user_dir;
  char **account_specs;
  char *server;
  int port;
  char *plugin_path;
  gboolean plugin_late;
  int wait_online;
  int timeout;
  gboolean debug;
  char *send_file;
  char *send_after; /* --send-after: send once the debug log said this */
  gboolean send_after_seen;
  char *send_to;
  char *accept_dir;
  gboolean decline;
  gint64 cancel_at;       /* cancel our side once this many bytes moved (-1: never) */
  gint64 unload_at;       /* unload the plugin then */
  gint64 signoff_at;      /* sign the transferring account off then */
  gint64 file_size_limit; /* RLIMIT_FSIZE: writes beyond fail (a full disk) */
  int expect;             /* transfers that must end before we finish */
  gboolean progress_bar;
  gboolean no_direct;
  char *direct_to;           /* HOST:PORT for the sender's own streamhosts in offers */
  gboolean timing;           /* report when offers come and <connect/>s go */
  char **prefs;              /* NAME=VALUE, set once the plugin loaded */
  gboolean default_security; /* leave the account's connection security as libpurple has it */
  char *ca_dir;              /* more CA certificates for libpurple's x509 verifier */
  char *certificate;         /* "accept" or "reject": the answer to certificate prompts */
  int certificate_delay;     /* seconds before that answer */
  char **prefs_online;       /* NAME=VALUE, set once every account signed on */
  char *frame_when;          /* finish once a label of the plugin's frame holds this */
  char *proxy;               /* the accounts' own proxy settings */
  char *global_proxy;        /* libpurple's global ones */

  /* state */
  GPtrArray *accounts; /* DriverAccount * */
  GMainLoop *loop;
  guint timeout_id;
  guint sigint_id;
  guint sigterm_id;
  gboolean plugin_loaded;
  PurplePlugin *plugin;
  gboolean finished;
  int exit_status;
  gboolean proxy_ready; /* libpurple knows its server's SOCKS5 proxy */
  gboolean send_started;
  int xfers_ended;
  int xfers_failed;
  gboolean trigger_fired;
  gint64 last_progress;
  gboolean prefs_online_set;
  gboolean frame_seen;
  guint frame_poll_id;
} Driver;

/* libpurple's xfer, notify and conversation UI ops take no user_data. */
static Driver *driver_global;

/* libpurple's UI ops take no user_data: the debug switch is global. */
static gboolean driver_debug_enabled;

#if defined(__SANITIZE_ADDRESS__)
#define DRIVER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DRIVER_ASAN 1
#endif
#endif

#ifdef DRIVER_ASAN
/* Under LeakSanitizer, libpurple's own leaks must be matched by the
 * suppressions (by library), so their stacks must be whole and readable:
 *  - full malloc stacks (the tests' defaults, pts-test-sanitizer.h);
 *  - every module kept mapped: libpurple dlcloses its protocol and
 *    loader plugins at purple_core_quit (), and frames in an unmapped
 *    module are unknown (meson exports dlclose for sanitized builds). */
int dlclose (void *handle);

int
dlclose (void *handle)
{
  return 0;
}
#endif

/* ------------------------------------------------------------------ */
/* JSON-lines events                                                   */

static JsonBuilder *
driver_event_begin (const char *event)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, event);
  return builder;
}

/* Closes the object that driver_event_begin() opened and prints it as
 * one line. */
static void
driver_event_emit (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *line = NULL;

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  line = json_generator_to_data (generator, NULL);

  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/* An event with string members only: name/value pairs, then NULL. */
static void G_GNUC_NULL_TERMINATED
driver_event (const char *event, ...)
{
  g_autoptr (JsonBuilder) builder = driver_event_begin (event);
  const char *name;
  va_list args;

  va_start (args, event);
  while ((name = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);

      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, value != NULL ? value : "");
    }
  va_end (args);

  driver_event_emit (builder);
}

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

static gboolean driver_check_goal_idle (gpointer user_data);

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
/* Accounts and goals                                                  */

static void
driver_account_free (DriverAccount *da)
{
  g_free (da->jid);
  g_free (da->bare);
  g_free (da->password);
  g_free (da);
}

/* Parses "JID:PASSWORD"; the JID ends at the first ':'. */
static DriverAccount *
driver_account_parse (const char *spec, GError **error)
{
  const char *colon = strchr (spec, ':');
  g_autofree char *jid = NULL;
  DriverAccount *da;

  if (colon == NULL || colon == spec)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--account wants JID:PASSWORD, got '%s'", spec);
      return NULL;
    }
  jid = g_strndup (spec, colon - spec);
  if (!bsp_jid_is_valid (jid) || strchr (jid, '@') == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--account: '%s' is not a user JID", jid);
      return NULL;
    }

  da = g_new0 (DriverAccount, 1);
  da->bare = bsp_jid_bare (jid);
  da->jid = g_steal_pointer (&jid);
  da->password = g_strdup (colon + 1);
  return da;
}

static DriverAccount *
driver_find_account (Driver *self, PurpleAccount *account)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *da = g_ptr_array_index (self->accounts, i);

      if (da->account == account)
        return da;
    }
  return NULL;
}

static guint
driver_count_online_buddies (DriverAccount *da)
{
  GSList *buddies = purple_find_buddies (da->account, NULL);
  guint online = 0;

  for (GSList *l = buddies; l != NULL; l = l->next)
    if (PURPLE_BUDDY_IS_ONLINE ((PurpleBuddy *) l->data))
      online++;
  g_slist_free (buddies);
  return online;
}

/* --wait-online N: every account sees every other account of this
 * driver online, and at least N-1 contacts online in all (N counts the
 * participants, itself included, so accounts of another driver process
 * can be waited for too). */
static gboolean
driver_account_sees_others (Driver *self, DriverAccount *da)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *other = g_ptr_array_index (self->accounts, i);

      if (other == da || g_strcmp0 (other->bare, da->bare) == 0)
        continue;
      if (!PURPLE_BUDDY_IS_ONLINE (purple_find_buddy (da->account, other->bare)))
        return FALSE;
    }
  return self->wait_online <= 1
         || driver_count_online_buddies (da) >= (guint) self->wait_online - 1;
}

static gboolean
driver_all_signed_on (Driver *self)
{
  for (guint i = 0; i < self->accounts->len; i++)
    if (!((DriverAccount *) g_ptr_array_index (self->accounts, i))->signed_on)
      return FALSE;
  return TRUE;
}

static gboolean
driver_wants_transfers (Driver *self)
{
  return self->send_file != NULL || self->accept_dir != NULL || self->decline;
}

static gboolean
driver_goal_reached (Driver *self)
{
  if (driver_wants_transfers (self))
    return self->xfers_ended >= self->expect;
  if (!driver_all_signed_on (self))
    return FALSE;
  if (self->plugin_path != NULL && !self->plugin_loaded)
    return FALSE;
  if (self->frame_when != NULL && !self->frame_seen)
    return FALSE;
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *da = g_ptr_array_index (self->accounts, i);

      if (self->wait_online > 0 && !driver_account_sees_others (self, da))
        return FALSE;
    }
  return TRUE;
}

static void
driver_finish (Driver *self, int status)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  self->exit_status = status;
  if (status == 0)
    driver_event ("done", NULL);
  g_main_loop_quit (self->loop);
}

static gboolean driver_start_plugin (Driver *self);
static void driver_maybe_send (Driver *self);
static gboolean driver_apply_prefs (char **specs, const char *option, GError **error);
static gboolean driver_poll_frame (gpointer user_data);

static void
driver_check_goal (Driver *self)
{
  if (self->finished)
    return;
  driver_maybe_send (self);
  /* --plugin-late: the plugin arrives among connections it must adopt */
  if (self->plugin_path != NULL && !self->plugin_loaded && driver_all_signed_on (self)
      && !driver_start_plugin (self))
    {
      driver_finish (self, 1);
      return;
    }
  /* --pref-online: a change while signed in, as a user makes it in the
   * dialog; --frame-when then watches the dialog's text (bounded by
   * --timeout) for what the plugin must come to say. */
  if (self->prefs_online != NULL && !self->prefs_online_set && driver_all_signed_on (self)
      && (self->plugin_path == NULL || self->plugin_loaded))
    {
      g_autoptr (GError) error = NULL;

      self->prefs_online_set = TRUE;
      if (!driver_apply_prefs (self->prefs_online, "--pref-online", &error))
        {
          g_printerr ("%s\n", error->message);
          driver_finish (self, 1);
          return;
        }
      driver_event ("prefs-set", NULL);
      if (self->frame_when != NULL && self->frame_poll_id == 0)
        self->frame_poll_id = g_timeout_add (100, driver_poll_frame, self);
    }
  if (driver_goal_reached (self))
    driver_finish (self, 0);
}

/* ------------------------------------------------------------------ */
/* File transfers                                                      */

static void
driver_xfer_event (const char *event, PurpleXfer *xfer, const char *extra_name,
                   const char *extra_value)
{
  g_autoptr (JsonBuilder) builder = driver_event_begin (event);

  json_builder_set_member_name (builder, "direction");
  json_builder_add_string_value (
      builder, purple_xfer_get_type (xfer) == PURPLE_XFER_SEND ? "send" : "receive");
  json_builder_set_member_name (builder, "peer");
  json_builder_add_string_value (builder, purple_xfer_get_remote_user (xfer));
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (
      builder, purple_xfer_get_filename (xfer) ? purple_xfer_get_filename (xfer) : "");
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64) purple_xfer_get_size (xfer));
  json_builder_set_member_name (builder, "bytes");
  json_builder_add_int_value (builder, (gint64) purple_xfer_get_bytes_sent (xfer));
  if (purple_xfer_get_local_filename (xfer) != NULL)
    {
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, purple_xfer_get_local_filename (xfer));
    }
  if (extra_name != NULL)
    {
      json_builder_set_member_name (builder, extra_name);
      json_builder_add_string_value (builder, extra_value);
    }
  driver_event_emit (builder);
}

static void
driver_xfer_ended (Driver *self, gboolean ok)
{
  self->xfers_ended++;
  if (!ok)
    self->xfers_failed++;
  if (self->progress_bar)
    g_printerr ("\n");
  driver_check_goal (self);
}

/* --direct-to: the sender's own streamhosts of an offer point at HOST:PORT
 * instead (a closed port, a listener that never accepts, an address that
 * drops everything). */
static void
driver_redirect_direct_streamhosts (Driver *self, xmlnode *query)
{
  const char *colon = strrchr (self->direct_to, ':');
  g_autofree char *host = g_strndup (self->direct_to, colon - self->direct_to);

  for (xmlnode *sh = xmlnode_get_child (query, "streamhost"); sh != NULL;
       sh = xmlnode_get_next_twin (sh))
    {
      const char *jid = xmlnode_get_attrib (sh, "jid");

      if (jid != NULL && strchr (jid, '@') != NULL)
        {
          xmlnode_set_attrib (sh, "host", host);
          xmlnode_set_attrib (sh, "port", colon + 1);
        }
    }
}

static void
driver_timing_event (const char *event)
{
  g_autoptr (JsonBuilder) builder = driver_event_begin (event);

  json_builder_set_member_name (builder, "ms");
  json_builder_add_int_value (builder, g_get_monotonic_time () / 1000);
  driver_event_emit (builder);
}

/* --timing: when the plugin sends a bs-proxy its <connect/>. */
static void
driver_sending_xmlnode_cb (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  xmlnode *iq = packet ? *packet : NULL;

  if (iq != NULL && g_strcmp0 (iq->name, "iq") == 0
      && xmlnode_get_child_with_namespace (iq, "connect", BSP_NS_BSPROXY) != NULL)
    driver_timing_event ("proxy-connect");
}

/* --no-direct: as if the peers sat behind two NATs, drop the streamhosts
 * of an offer that are the sender itself (a JID with a node), so that only
 * proxies remain. */
static void
driver_strip_direct_streamhosts (xmlnode *query)
{
  xmlnode *sh = xmlnode_get_child (query, "streamhost");

  while (sh != NULL)
    {
      xmlnode *next = xmlnode_get_next_twin (sh);
      const char *jid = xmlnode_get_attrib (sh, "jid");

      if (jid != NULL && strchr (jid, '@') != NULL)
        {
          /* unlink from the parent's child list, then free */
          xmlnode **link = &query->child;
          while (*link != NULL && *link != sh)
            link = &(*link)->next;
          if (*link == sh)
            {
              *link = sh->next;
              if (query->lastchild == sh)
                {
                  xmlnode *last = query->child;
                  while (last != NULL && last->next != NULL)
                    last = last->next;
                  query->lastchild = last;
                }
              sh->next = NULL;
              xmlnode_free (sh);
            }
        }
      sh = next;
    }
}

static gboolean
driver_check_goal_idle (gpointer user_data)
{
  driver_check_goal (user_data);
  return G_SOURCE_REMOVE;
}

/* Once libpurple has the streamhost of its server's proxy (its own
 * bytestreams get, not the plugin's "bsp…" ids), an offer includes it. */
static void
driver_receiving_xmlnode_cb (PurpleConnection *gc, xmlnode **packet, gpointer user_data)
{
  Driver *self = user_data;
  xmlnode *iq = packet ? *packet : NULL;
  xmlnode *query;
  const char *id;

  if (iq == NULL || g_strcmp0 (iq->name, "iq") != 0)
    return;
  id = xmlnode_get_attrib (iq, "id");
  query = xmlnode_get_child_with_namespace (iq, "query", "http://jabber.org/protocol/bytestreams");
  if (query != NULL && g_strcmp0 (xmlnode_get_attrib (iq, "type"), "set") == 0
      && xmlnode_get_child (query, "streamhost") != NULL)
    {
      if (self->no_direct)
        driver_strip_direct_streamhosts (query);
      if (self->direct_to != NULL)
        driver_redirect_direct_streamhosts (self, query);
      if (self->timing)
        driver_timing_event ("streamhost-offer");
    }
  if (self->proxy_ready)
    return;
  if (query == NULL || xmlnode_get_child (query, "streamhost") == NULL
      || g_strcmp0 (xmlnode_get_attrib (iq, "type"), "result") != 0
      || (id != NULL && g_str_has_prefix (id, "bsp")))
    return;
  /* prpl-jabber handles this same stanza right after us: look again from
   * the main loop. */
  self->proxy_ready = TRUE;
  driver_event ("ft-proxy-ready", "account",
                purple_account_get_username (purple_connection_get_account (gc)), NULL);
  g_idle_add (driver_check_goal_idle, self);
}

static void
driver_maybe_send (Driver *self)
{
  DriverAccount *da;
  g_autofree char *bare = NULL;

  if (self->send_file == NULL || self->send_started || self->finished || !self->proxy_ready
      || (self->send_after != NULL && !self->send_after_seen))
    return;
  da = g_ptr_array_index (self->accounts, 0);
  bare = bsp_jid_bare (self->send_to);
  if (!da->signed_on || !PURPLE_BUDDY_IS_ONLINE (purple_find_buddy (da->account, bare)))
    return;
  self->send_started = TRUE;
  /* As a user would, from an open conversation: reasons show up there. */
  purple_conversation_new (PURPLE_CONV_TYPE_IM, da->account, self->send_to);
  serv_send_file (purple_account_get_connection (da->account), self->send_to, self->send_file);
}

/* A file name from the network, made safe to use inside --accept-dir. */
static char *
driver_safe_name (const char *name)
{
  g_autofree char *base = g_path_get_basename (name && *name ? name : "file");

  if (g_strcmp0 (base, "..") == 0 || g_strcmp0 (base, ".") == 0 || g_strcmp0 (base, "/") == 0)
    return g_strdup ("file");
  return g_steal_pointer (&base);
}

static void
driver_file_recv_request_cb (PurpleXfer *xfer, gpointer user_data)
{
  Driver *self = user_data;

  driver_xfer_event ("xfer-offered", xfer, NULL, NULL);
  purple_conversation_new (PURPLE_CONV_TYPE_IM, purple_xfer_get_account (xfer),
                           purple_xfer_get_remote_user (xfer));
  /* --decline: no file name is set, so libpurple asks the user, and
   * driver_request_action answers Cancel, as a user would. */
  if (self->accept_dir != NULL)
    {
      g_autofree char *name = driver_safe_name (purple_xfer_get_filename (xfer));
      g_autofree char *path = g_build_filename (self->accept_dir, name, NULL);
      purple_xfer_request_accepted (xfer, path);
    }
}

static gboolean
driver_fire_trigger (gpointer user_data)
{
  PurpleXfer *xfer = user_data;
  Driver *self = driver_global;
  gint64 bytes = (gint64) purple_xfer_get_bytes_sent (xfer);

  if (!purple_xfer_is_canceled (xfer) && !purple_xfer_is_completed (xfer))
    {
      if (self->cancel_at >= 0 && bytes >= self->cancel_at)
        {
          driver_xfer_event ("xfer-cancelling", xfer, NULL, NULL);
          purple_xfer_cancel_local (xfer);
        }
      else if (self->unload_at >= 0 && bytes >= self->unload_at && self->plugin != NULL)
        {
          driver_event ("plugin-unloading", "id", purple_plugin_get_id (self->plugin), NULL);
          purple_plugin_unload (self->plugin);
        }
      else if (self->signoff_at >= 0 && bytes >= self->signoff_at)
        {
          driver_event ("signing-off", "account",
                        purple_account_get_username (purple_xfer_get_account (xfer)), NULL);
          purple_account_disconnect (purple_xfer_get_account (xfer));
        }
    }
  purple_xfer_unref (xfer);
  return G_SOURCE_REMOVE;
}

static void
driver_xfer_update_progress (PurpleXfer *xfer, double percent)
{
  Driver *self = driver_global;
  gint64 now = g_get_monotonic_time ();
  gint64 bytes = (gint64) purple_xfer_get_bytes_sent (xfer);
  gint64 size = (gint64) purple_xfer_get_size (xfer);
  gint64 trigger = MAX (self->cancel_at, MAX (self->unload_at, self->signoff_at));

  if (!self->trigger_fired && trigger >= 0 && bytes >= trigger)
    {
      /* Not from inside libpurple's own progress path; at the default
       * priority, so that a busy transfer (all default-priority I/O) can't
       * starve it until the end. */
      self->trigger_fired = TRUE;
      purple_xfer_ref (xfer);
      g_idle_add_full (G_PRIORITY_DEFAULT, driver_fire_trigger, xfer, NULL);
    }
  if (now - self->last_progress < 200000 && bytes != size)
    return;
  self->last_progress = now;
  driver_xfer_event ("xfer-progress", xfer, NULL, NULL);
  if (self->progress_bar && size > 0)
    {
      int width = 40, filled = (int) (width * (double) bytes / size);
      double secs = (now - (gint64) purple_xfer_get_start_time (xfer) * G_USEC_PER_SEC)
                    / (double) G_USEC_PER_SEC;
      g_printerr ("\r  [%.*s%*s] %5.1f%%  %.1f/%.1f MiB", filled,
                  "########################################", width - filled, "",
                  100.0 * bytes / size, bytes / 1048576.0, size / 1048576.0);
      (void) secs;
    }
}

static PurpleXferUiOps driver_xfer_ops = {
  .update_progress = driver_xfer_update_progress,
};

static void
driver_file_start_cb (PurpleXfer *xfer, gpointer user_data)
{
  driver_xfer_event ("xfer-started", xfer, NULL, NULL);
}

static void
driver_file_complete_cb (PurpleXfer *xfer, gpointer user_data)
{
  driver_xfer_event ("xfer-completed", xfer, NULL, NULL);
  driver_xfer_ended (user_data, TRUE);
}

static void
driver_file_cancel_cb (PurpleXfer *xfer, gpointer user_data)
{
  driver_xfer_event ("xfer-cancelled", xfer, "status",
                     purple_xfer_get_status (xfer) == PURPLE_XFER_STATUS_CANCEL_REMOTE
                         ? "cancel-remote"
                         : "cancel-local");
  driver_xfer_ended (user_data, FALSE);
}

typedef struct
{
  PurpleRequestActionCb callback;
  void *user_data;
  int index;
} DriverRequestAnswer;

/* --certificate unload */
static gboolean
driver_unload_plugin (gpointer user_data)
{
  Driver *self = user_data;

  if (self->plugin != NULL && purple_plugin_is_loaded (self->plugin))
    {
      driver_event ("plugin-unloading", "id", purple_plugin_get_id (self->plugin), NULL);
      purple_plugin_unload (self->plugin);
    }
  return G_SOURCE_REMOVE;
}

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

static void
driver_connect_xfer_signals (Driver *self)
{
  void *xfers = purple_xfers_get_handle ();
  PurplePlugin *jabber = purple_plugins_find_with_id (DRIVER_XMPP_PRPL);

  purple_xfers_set_ui_ops (&driver_xfer_ops);
  purple_notify_set_ui_ops (&driver_notify_ops);
  purple_request_set_ui_ops (&driver_request_ops);
  purple_conversations_set_ui_ops (&driver_conv_ops);
  purple_signal_connect (xfers, "file-recv-request", self,
                         PURPLE_CALLBACK (driver_file_recv_request_cb), self);
  purple_signal_connect (xfers, "file-send-start", self, PURPLE_CALLBACK (driver_file_start_cb),
                         self);
  purple_signal_connect (xfers, "file-recv-start", self, PURPLE_CALLBACK (driver_file_start_cb),
                         self);
  purple_signal_connect (xfers, "file-send-complete", self,
                         PURPLE_CALLBACK (driver_file_complete_cb), self);
  purple_signal_connect (xfers, "file-recv-complete", self,
                         PURPLE_CALLBACK (driver_file_complete_cb), self);
  purple_signal_connect (xfers, "file-send-cancel", self, PURPLE_CALLBACK (driver_file_cancel_cb),
                         self);
  purple_signal_connect (xfers, "file-recv-cancel", self, PURPLE_CALLBACK (driver_file_cancel_cb),
                         self);
  if (jabber != NULL)
    purple_signal_connect (jabber, "jabber-receiving-xmlnode", self,
                           PURPLE_CALLBACK (driver_receiving_xmlnode_cb), self);
  if (jabber != NULL && self->timing)
    purple_signal_connect (jabber, "jabber-sending-xmlnode", self,
                           PURPLE_CALLBACK (driver_sending_xmlnode_cb), self);
}

/* ------------------------------------------------------------------ */
/* libpurple signals                                                   */

static void
driver_signed_on_cb (PurpleConnection *gc, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_connection_get_account (gc));

  if (da == NULL)
    return;
  da->signed_on = TRUE;
  driver_event ("signed-on", "account", da->jid, NULL);
  driver_check_goal (self);
}

static void
driver_connection_error_cb (PurpleConnection *gc, PurpleConnectionError reason,
                            const char *description, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_connection_get_account (gc));

  if (da == NULL)
    return;
  driver_event ("connection-error", "account", da->jid, "reason", description, NULL);
  driver_finish (self, 1);
}

static void
driver_buddy_signed_on_cb (PurpleBuddy *buddy, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_buddy_get_account (buddy));

  if (da == NULL)
    return;
  driver_event ("buddy-online", "account", da->jid, "buddy", purple_buddy_get_name (buddy), NULL);
  driver_check_goal (self);
}

static void
driver_buddy_signed_off_cb (PurpleBuddy *buddy, gpointer user_data)
{
  Driver *self = user_data;
  DriverAccount *da = driver_find_account (self, purple_buddy_get_account (buddy));

  if (da == NULL)
    return;
  driver_event ("buddy-offline", "account", da->jid, "buddy", purple_buddy_get_name (buddy), NULL);
}

static void
driver_connect_signals (Driver *self)
{
  void *connections = purple_connections_get_handle ();
  void *blist = purple_blist_get_handle ();

  purple_signal_connect (connections, "signed-on", self, PURPLE_CALLBACK (driver_signed_on_cb),
                         self);
  purple_signal_connect (connections, "connection-error", self,
                         PURPLE_CALLBACK (driver_connection_error_cb), self);
  purple_signal_connect (blist, "buddy-signed-on", self,
                         PURPLE_CALLBACK (driver_buddy_signed_on_cb), self);
  purple_signal_connect (blist, "buddy-signed-off", self,
                         PURPLE_CALLBACK (driver_buddy_signed_off_cb), self);
  driver_connect_xfer_signals (self);
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

static gboolean
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

/* The frame the plugin's UI info builds for a preferences dialog, or
 * NULL; the caller destroys it. */
static PurplePluginPrefFrame *
driver_plugin_pref_frame (PurplePlugin *plugin)
{
  PurplePluginUiInfo *ui_info
      = PURPLE_PLUGIN_HAS_PREF_FRAME (plugin) ? PURPLE_PLUGIN_UI_INFO (plugin) : NULL;

  if (ui_info == NULL || ui_info->get_plugin_pref_frame == NULL)
    return NULL;
  return ui_info->get_plugin_pref_frame (plugin);
}

/* The preferences that the plugin's UI-agnostic frame shows, as a JSON
 * array of pref paths: what Pidgin and Finch would build a dialog from. */
static void
driver_add_pref_names (JsonBuilder *builder, PurplePlugin *plugin)
{
  PurplePluginPrefFrame *frame = driver_plugin_pref_frame (plugin);

  json_builder_begin_array (builder);
  if (frame != NULL)
    {
      for (GList *l = purple_plugin_pref_frame_get_prefs (frame); l != NULL; l = l->next)
        {
          const char *name = purple_plugin_pref_get_name (l->data);

          if (name != NULL && purple_prefs_exists (name))
            json_builder_add_string_value (builder, name);
        }
      purple_plugin_pref_frame_destroy (frame);
    }
  json_builder_end_array (builder);
}

/* The plugin's preference frame as a UI sees it, in order: headings
 * (label only), options (name and label) and explanations (info). */
static void
driver_add_pref_frame (JsonBuilder *builder, PurplePlugin *plugin)
{
  PurplePluginPrefFrame *frame = driver_plugin_pref_frame (plugin);

  json_builder_begin_array (builder);
  for (GList *l = frame ? purple_plugin_pref_frame_get_prefs (frame) : NULL; l != NULL; l = l->next)
    {
      const char *name = purple_plugin_pref_get_name (l->data);
      const char *kind = name != NULL ? "option"
                         : purple_plugin_pref_get_type (l->data) == PURPLE_PLUGIN_PREF_INFO
                             ? "info"
                             : "heading";

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "kind");
      json_builder_add_string_value (builder, kind);
      if (name != NULL)
        {
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, name);
        }
      json_builder_set_member_name (builder, "label");
      json_builder_add_string_value (builder, purple_plugin_pref_get_label (l->data));
      json_builder_end_object (builder);
    }
  if (frame != NULL)
    purple_plugin_pref_frame_destroy (frame);
  json_builder_end_array (builder);
}

/* libpurple probes its plugin directories at start and, asked to probe
 * @path later, hands back any plugin already probed under the same file
 * name: a bsproxy.so installed system-wide would then run instead of the
 * one under test. Forget such a namesake first. */
static void
driver_forget_namesake (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');
  PurplePlugin *other;

  if (dot != NULL && g_str_equal (dot + 1, G_MODULE_SUFFIX))
    *dot = '\0';
  other = purple_plugins_find_with_basename (base);
  if (other == NULL || g_strcmp0 (other->path, path) == 0)
    return;
  g_printerr ("bsp-purple-driver: ignoring %s, another plugin of that name, for %s\n", other->path,
              path);
  if (purple_plugin_is_loaded (other))
    purple_plugin_unload (other);
  purple_plugin_destroy (other);
}

static gboolean
driver_load_plugin (Driver *self, GError **error)
{
  PurplePlugin *plugin;

  driver_forget_namesake (self->plugin_path);
  plugin = purple_plugin_probe (self->plugin_path);

  if (plugin == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s is not a libpurple plugin",
                   self->plugin_path);
      return FALSE;
    }
  if (plugin->error != NULL || !purple_plugin_load (plugin))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s did not load: %s", self->plugin_path,
                   plugin->error != NULL ? plugin->error : "its load function failed");
      return FALSE;
    }

  {
    g_autoptr (JsonBuilder) builder = driver_event_begin ("plugin-loaded");

    json_builder_set_member_name (builder, "id");
    json_builder_add_string_value (builder, purple_plugin_get_id (plugin));
    json_builder_set_member_name (builder, "name");
    json_builder_add_string_value (builder, purple_plugin_get_name (plugin));
    json_builder_set_member_name (builder, "path");
    json_builder_add_string_value (builder, self->plugin_path);
    json_builder_set_member_name (builder, "author");
    json_builder_add_string_value (builder, purple_plugin_get_author (plugin));
    json_builder_set_member_name (builder, "homepage");
    json_builder_add_string_value (builder, purple_plugin_get_homepage (plugin));
    json_builder_set_member_name (builder, "prefs");
    driver_add_pref_names (builder, plugin);
    json_builder_set_member_name (builder, "pref-frame");
    driver_add_pref_frame (builder, plugin);
    driver_event_emit (builder);
  }
  return TRUE;
}

/* Whether a label of the plugin's preference frame holds @text. */
static gboolean
driver_frame_says (PurplePlugin *plugin, const char *text)
{
  PurplePluginPrefFrame *frame = driver_plugin_pref_frame (plugin);
  gboolean found = FALSE;

  for (GList *l = frame ? purple_plugin_pref_frame_get_prefs (frame) : NULL; l != NULL && !found;
       l = l->next)
    found = g_strstr_len (purple_plugin_pref_get_label (l->data), -1, text) != NULL;
  if (frame != NULL)
    purple_plugin_pref_frame_destroy (frame);
  return found;
}

/* --frame-when: every 100 ms until the frame says it; then the frame as
 * an event. */
static gboolean
driver_poll_frame (gpointer user_data)
{
  Driver *self = user_data;

  if (self->finished || self->plugin == NULL)
    {
      self->frame_poll_id = 0;
      return G_SOURCE_REMOVE;
    }
  if (!driver_frame_says (self->plugin, self->frame_when))
    return G_SOURCE_CONTINUE;
  self->frame_poll_id = 0;
  self->frame_seen = TRUE;
  {
    g_autoptr (JsonBuilder) builder = driver_event_begin ("pref-frame");

    json_builder_set_member_name (builder, "frame");
    driver_add_pref_frame (builder, self->plugin);
    driver_event_emit (builder);
  }
  driver_check_goal (self);
  return G_SOURCE_REMOVE;
}

/* --pref and --pref-online NAME=VALUE: sets a preference the plugin
 * registered, by its type. */
static gboolean
driver_apply_prefs (char **specs, const char *option, GError **error)
{
  for (char **spec = specs; spec != NULL && *spec != NULL; spec++)
    {
      g_auto (GStrv) parts = g_strsplit (*spec, "=", 2);

      if (parts[0] == NULL || parts[1] == NULL || !purple_prefs_exists (parts[0]))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s '%s': not NAME=VALUE of an existing preference", option, *spec);
          return FALSE;
        }
      switch (purple_prefs_get_type (parts[0]))
        {
        case PURPLE_PREF_INT:
          purple_prefs_set_int (parts[0], (int) g_ascii_strtoll (parts[1], NULL, 10));
          break;
        case PURPLE_PREF_BOOLEAN:
          purple_prefs_set_bool (parts[0], g_str_equal (parts[1], "true"));
          break;
        case PURPLE_PREF_STRING: purple_prefs_set_string (parts[0], parts[1]); break;
        default:
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s '%s': a preference of a type the driver can't set", option, *spec);
          return FALSE;
        }
    }
  return TRUE;
}

/* Loads --plugin; a failure is reported as a plugin-error event. */
static gboolean
driver_start_plugin (Driver *self)
{
  g_autoptr (GError) error = NULL;

  if (!driver_load_plugin (self, &error) || !driver_apply_prefs (self->prefs, "--pref", &error))
    {
      driver_event ("plugin-error", "path", self->plugin_path, "reason", error->message, NULL);
      g_printerr ("bsp-purple-driver: %s\n", error->message);
      return FALSE;
    }
  self->plugin_loaded = TRUE;
  self->plugin = purple_plugins_find_with_filename (self->plugin_path);
  return TRUE;
}

/* --proxy and --global-proxy: "http://[USER[:PASSWORD]@]HOST:PORT" (an
 * HTTP proxy, as the account's Proxy tab sets it), "envvar" (from
 * http_proxy and co.), "global" (--proxy only) or "none". */
static PurpleProxyInfo *
driver_proxy_info (const char *spec, GError **error)
{
  PurpleProxyInfo *info = purple_proxy_info_new ();
  g_autoptr (GUri) uri = NULL;

  if (g_str_equal (spec, "envvar") || g_str_equal (spec, "global") || g_str_equal (spec, "none"))
    {
      purple_proxy_info_set_type (info, spec[0] == 'e'   ? PURPLE_PROXY_USE_ENVVAR
                                        : spec[0] == 'g' ? PURPLE_PROXY_USE_GLOBAL
                                                         : PURPLE_PROXY_NONE);
      return info;
    }
  uri = g_uri_parse (spec, G_URI_FLAGS_HAS_PASSWORD, error);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 || g_uri_get_host (uri) == NULL
      || g_uri_get_port (uri) <= 0)
    {
      if (uri != NULL)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "not http://[USER[:PASSWORD]@]HOST:PORT: %s", spec);
      purple_proxy_info_destroy (info);
      return NULL;
    }
  purple_proxy_info_set_type (info, PURPLE_PROXY_HTTP);
  purple_proxy_info_set_host (info, g_uri_get_host (uri));
  purple_proxy_info_set_port (info, g_uri_get_port (uri));
  purple_proxy_info_set_username (info, g_uri_get_user (uri));
  purple_proxy_info_set_password (info, g_uri_get_password (uri));
  return info;
}

static void
driver_setup_account (Driver *self, DriverAccount *da)
{
  PurpleAccount *account = purple_accounts_find (da->jid, DRIVER_XMPP_PRPL);

  if (account == NULL)
    {
      account = purple_account_new (da->jid, DRIVER_XMPP_PRPL);
      purple_accounts_add (account);
    }
  da->account = account;

  /* kept in memory only: nothing secret lands in accounts.xml */
  purple_account_set_remember_password (account, FALSE);
  purple_account_set_password (account, da->password);

  if (self->server != NULL)
    purple_account_set_string (account, "connect_server", self->server);
  if (self->port > 0)
    purple_account_set_int (account, "port", self->port);
  if (!self->default_security)
    {
      /* a plaintext local test server: no TLS required, PLAIN allowed */
      purple_account_set_string (account, "connection_security", "opportunistic_tls");
      purple_account_set_bool (account, "auth_plain_in_clear", TRUE);
    }
  /* no public file-transfer proxy (the default is a host on the Internet) */
  purple_account_set_string (account, "ft_proxies", "");
  /* checked by driver_parse_options () */
  if (self->proxy != NULL)
    purple_account_set_proxy_info (account, driver_proxy_info (self->proxy, NULL));
  if (self->global_proxy != NULL)
    purple_global_proxy_set_info (driver_proxy_info (self->global_proxy, NULL));

  purple_account_set_enabled (account, DRIVER_UI_ID, TRUE);
}

static gboolean
driver_timeout_cb (gpointer user_data)
{
  Driver *self = user_data;
  g_autoptr (JsonBuilder) builder = driver_event_begin ("timeout");

  self->timeout_id = 0;
  json_builder_set_member_name (builder, "seconds");
  json_builder_add_int_value (builder, self->timeout);
  driver_event_emit (builder);

  for (guint i = 0; i < self->accounts->len; i++)
    {
      DriverAccount *da = g_ptr_array_index (self->accounts, i);

      g_printerr ("bsp-purple-driver: %s: %s, %u contact(s) online\n", da->jid,
                  da->signed_on ? "signed on" : "not signed on",
                  da->signed_on ? driver_count_online_buddies (da) : 0);
    }
  driver_finish (self, 1);
  return G_SOURCE_REMOVE;
}

static gboolean
driver_signal_cb (gpointer user_data)
{
  Driver *self = user_data;

  g_printerr ("bsp-purple-driver: interrupted\n");
  driver_finish (self, 1);
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ */

static gboolean
driver_parse_options (Driver *self, int *argc, char ***argv, GError **error)
{
  const GOptionEntry entries[] = {
    { "user-dir", 0, 0, G_OPTION_ARG_FILENAME, &self->user_dir,
      "libpurple's home directory (required; created if missing, use a temporary one)", "DIR" },
    { "account", 0, 0, G_OPTION_ARG_STRING_ARRAY, &self->account_specs,
      "An XMPP account to sign in (repeatable); the JID may end in /resource and must not "
      "contain ':'",
      "JID:PASSWORD" },
    { "server", 0, 0, G_OPTION_ARG_STRING, &self->server,
      "Connect every account to this host instead of looking up its domain", "HOST" },
    { "port", 0, 0, G_OPTION_ARG_INT, &self->port,
      "Connect every account to this port (default 5222)", "N" },
    { "plugin", 0, 0, G_OPTION_ARG_FILENAME, &self->plugin_path,
      "Probe and load this libpurple plugin (.so) before signing in", "PATH" },
    { "plugin-late", 0, 0, G_OPTION_ARG_NONE, &self->plugin_late,
      "Load the --plugin only once every account is signed on (it must adopt the connections)",
      NULL },
    { "wait-online", 0, 0, G_OPTION_ARG_INT, &self->wait_online,
      "Finish once every account is signed on and sees the other accounts, and N-1 contacts "
      "in all, online (N counts the participants, itself included). Without it, finish once "
      "every account is signed on",
      "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &self->timeout,
      "Give up with exit status 1 after this many seconds (default 30)", "SECONDS" },
    { "debug", 0, 0, G_OPTION_ARG_NONE, &self->debug, "Print libpurple's debug log to stderr",
      NULL },
    { "send-file", 0, 0, G_OPTION_ARG_FILENAME, &self->send_file,
      "Send this file from the first account (needs --to) once the peer is online", "PATH" },
    { "send-after", 0, 0, G_OPTION_ARG_STRING, &self->send_after,
      "Send --send-file only once libpurple's debug log (--debug) has a line holding TEXT, "
      "as a user who sends a while after signing in",
      "TEXT" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &self->send_to, "The full JID to send --send-file to",
      "JID" },
    { "accept-dir", 0, 0, G_OPTION_ARG_FILENAME, &self->accept_dir,
      "Accept incoming files into this directory", "DIR" },
    { "decline", 0, 0, G_OPTION_ARG_NONE, &self->decline, "Decline incoming files", NULL },
    { "cancel-at", 0, 0, G_OPTION_ARG_INT64, &self->cancel_at,
      "Cancel the transfer on this side once this many bytes moved", "BYTES" },
    { "unload-at", 0, 0, G_OPTION_ARG_INT64, &self->unload_at,
      "Unload the --plugin once this many bytes moved", "BYTES" },
    { "signoff-at", 0, 0, G_OPTION_ARG_INT64, &self->signoff_at,
      "Sign the account off once this many bytes moved", "BYTES" },
    { "file-size-limit", 0, 0, G_OPTION_ARG_INT64, &self->file_size_limit,
      "No file this process writes may grow beyond this many bytes, as on a full disk (the "
      "debug log on stderr counts too when it goes to a file)",
      "BYTES" },
    { "expect", 0, 0, G_OPTION_ARG_INT, &self->expect,
      "Finish once this many transfers ended, completed or not (default 1)", "N" },
    { "progress-bar", 0, 0, G_OPTION_ARG_NONE, &self->progress_bar, "Draw a progress bar on stderr",
      NULL },
    { "pref", 0, 0, G_OPTION_ARG_STRING_ARRAY, &self->prefs,
      "Set a libpurple preference of the plugin once it loaded (repeatable)", "NAME=VALUE" },
    { "pref-online", 0, 0, G_OPTION_ARG_STRING_ARRAY, &self->prefs_online,
      "Set a preference of the plugin once every account signed on (repeatable)", "NAME=VALUE" },
    { "frame-when", 0, 0, G_OPTION_ARG_STRING, &self->frame_when,
      "Finish only once a label of the plugin's preferences holds TEXT (a pref-frame event)",
      "TEXT" },
    { "no-direct", 0, 0, G_OPTION_ARG_NONE, &self->no_direct,
      "Ignore the direct streamhosts of incoming offers, as behind NAT: only proxies are used",
      NULL },
    { "direct-to", 0, 0, G_OPTION_ARG_STRING, &self->direct_to,
      "Point the direct streamhosts of incoming offers at HOST:PORT instead", "HOST:PORT" },
    { "timing", 0, 0, G_OPTION_ARG_NONE, &self->timing,
      "Report when streamhost offers come in and bs-proxy <connect/>s go out", NULL },
    { "default-security", 0, 0, G_OPTION_ARG_NONE, &self->default_security,
      "Leave the accounts' connection security as libpurple sets it (TLS required)", NULL },
    { "ca-dir", 0, 0, G_OPTION_ARG_FILENAME, &self->ca_dir,
      "Trust the CA certificates (PEM files) in this directory too", "DIR" },
    { "certificate-delay", 0, 0, G_OPTION_ARG_INT, &self->certificate_delay,
      "Give the --certificate answer only after this many seconds, as a user reading it",
      "SECONDS" },
    { "certificate", 0, 0, G_OPTION_ARG_STRING, &self->certificate,
      "Answer libpurple's certificate prompts: accept or reject; unload: leave them open and "
      "unload the --plugin (default: leave them open)",
      "ANSWER" },
    { "proxy", 0, 0, G_OPTION_ARG_STRING, &self->proxy,
      "The accounts' proxy: http://[USER[:PASSWORD]@]HOST:PORT, envvar, global or none", "PROXY" },
    { "global-proxy", 0, 0, G_OPTION_ARG_STRING, &self->global_proxy,
      "libpurple's global proxy: http://[USER[:PASSWORD]@]HOST:PORT, envvar or none", "PROXY" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);

  g_option_context_set_summary (context,
                                "A headless libpurple client for tests: signs in XMPP accounts "
                                "and prints what happens as JSON lines on stdout.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;

  if (*argc > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unexpected argument '%s'",
                   (*argv)[1]);
      return FALSE;
    }
  if (self->user_dir == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--user-dir is required");
      return FALSE;
    }
  if (self->account_specs == NULL || self->account_specs[0] == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                           "at least one --account is required");
      return FALSE;
    }
  for (guint i = 0; i < 2; i++)
    {
      const char *spec = i == 0 ? self->proxy : self->global_proxy;
      PurpleProxyInfo *info = spec ? driver_proxy_info (spec, error) : NULL;

      if (spec != NULL && info == NULL)
        return FALSE;
      if (info != NULL)
        purple_proxy_info_destroy (info);
    }
  if (self->port < 0 || self->port > 65535)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--port %d is out of range",
                   self->port);
      return FALSE;
    }
  if (self->wait_online < 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--wait-online must not be negative");
      return FALSE;
    }
  if ((self->send_file == NULL) != (self->send_to == NULL))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                           "--send-file and --to go together");
      return FALSE;
    }
  if (self->send_to != NULL && !bsp_jid_is_full (self->send_to))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--to must be a full JID (with a /resource)");
      return FALSE;
    }
  if (self->direct_to != NULL
      && (strrchr (self->direct_to, ':') == NULL
          || strrchr (self->direct_to, ':') == self->direct_to))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--direct-to wants HOST:PORT");
      return FALSE;
    }
  if (self->expect <= 0)
    self->expect = 1;
  if (self->plugin_late && self->plugin_path == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                           "--plugin-late needs --plugin");
      return FALSE;
    }
  if (self->timeout <= 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--timeout must be positive");
      return FALSE;
    }
  if (self->certificate != NULL && !g_str_equal (self->certificate, "accept")
      && !g_str_equal (self->certificate, "reject") && !g_str_equal (self->certificate, "unload"))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--certificate is accept, reject or unload");
      return FALSE;
    }

  for (char **spec = self->account_specs; *spec != NULL; spec++)
    {
      DriverAccount *da = driver_account_parse (*spec, error);

      if (da == NULL)
        return FALSE;
      g_ptr_array_add (self->accounts, da);
    }

  /* --port alone: connect to the first account's domain on that port */
  if (self->server == NULL && self->port > 0)
    self->server = bsp_jid_domain (((DriverAccount *) self->accounts->pdata[0])->jid);
  return TRUE;
}

static void
driver_clear (Driver *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->ca_dir, g_free);
  g_clear_pointer (&self->send_after, g_free);
  g_clear_pointer (&self->certificate, g_free);
  g_clear_pointer (&self->accounts, g_ptr_array_unref);
  g_clear_pointer (&self->user_dir, g_free);
  g_clear_pointer (&self->account_specs, g_strfreev);
  g_clear_pointer (&self->prefs, g_strfreev);
  g_clear_pointer (&self->prefs_online, g_strfreev);
  g_clear_pointer (&self->frame_when, g_free);
  g_clear_handle_id (&self->frame_poll_id, g_source_remove);
  g_clear_pointer (&self->server, g_free);
  g_clear_pointer (&self->plugin_path, g_free);
  g_clear_pointer (&self->send_file, g_free);
  g_clear_pointer (&self->send_to, g_free);
  g_clear_pointer (&self->direct_to, g_free);
  g_clear_pointer (&self->proxy, g_free);
  g_clear_pointer (&self->global_proxy, g_free);
  g_clear_pointer (&self->accept_dir, g_free);
}

int
main (int argc, char **argv)
{
  Driver driver = {
    .timeout = 30,
    .exit_status = 1,
    .cancel_at = -1,
    .unload_at = -1,
    .signoff_at = -1,
  };
  Driver *self = &driver;

  driver_global = self;
  g_autoptr (GError) error = NULL;
  gboolean purple_up = FALSE;

  setlocale (LC_ALL, "");
  /* a peer that closes its socket must not kill us mid-write */
  signal (SIGPIPE, SIG_IGN);

  self->accounts = g_ptr_array_new_with_free_func ((GDestroyNotify) driver_account_free);
  self->loop = g_main_loop_new (NULL, FALSE);

  if (!driver_parse_options (self, &argc, &argv, &error))
    {
      g_printerr ("bsp-purple-driver: %s\n", error->message);
      driver_clear (self);
      return 2;
    }
  if (self->file_size_limit > 0)
    {
      struct rlimit limit = { (rlim_t) self->file_size_limit, (rlim_t) self->file_size_limit };

      /* a write past it fails with EFBIG instead of killing us */
      signal (SIGXFSZ, SIG_IGN);
      if (setrlimit (RLIMIT_FSIZE, &limit) != 0)
        {
          g_printerr ("bsp-purple-driver: setrlimit: %s\n", g_strerror (errno));
          driver_clear (self);
          return 2;
        }
    }
  driver_debug_enabled = self->debug;

  if (!driver_init_purple (self, &error))
    goto out;
  purple_up = TRUE;
  driver_connect_signals (self);

  if (self->plugin_path != NULL && !self->plugin_late && !driver_start_plugin (self))
    goto out;

  for (guint i = 0; i < self->accounts->len; i++)
    driver_setup_account (self, g_ptr_array_index (self->accounts, i));
  /* an online status for every enabled account is what connects them */
  purple_savedstatus_activate (purple_savedstatus_new (NULL, PURPLE_STATUS_AVAILABLE));

  self->timeout_id = g_timeout_add_seconds (self->timeout, driver_timeout_cb, self);
  self->sigint_id = g_unix_signal_add (SIGINT, driver_signal_cb, self);
  self->sigterm_id = g_unix_signal_add (SIGTERM, driver_signal_cb, self);

  g_main_loop_run (self->loop);

out:
  if (error != NULL)
    {
      g_printerr ("bsp-purple-driver: %s\n", error->message);
      self->exit_status = 1;
    }
  if (purple_up)
    {
      /* Signs every account off, unloads the plugins, saves the user dir.
       * Our handlers stay connected: transfers that end now (a lost
       * connection, a sign-off) still report it. */
      purple_core_quit ();
    }
  driver_clear (self);
  return self->exit_status;
}
