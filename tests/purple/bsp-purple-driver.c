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
 * Growing it: a goal is whatever driver_goal_reached() checks
 * (bsp-purple-driver-account.c); bsp-purple-driver.h says which file
 * holds which topic. This file has the options, main () and the events.
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

#include <glib-unix.h>

#include "bsp-protocol.h"
#include "bsp-purple-driver.h"

Driver *driver_global;

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

JsonBuilder *
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
void
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
void
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
/* Timeout and signals                                                 */

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
