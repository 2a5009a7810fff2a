/* bsp-purple-driver.h — what the files of the headless libpurple driver
 * share: its options and state, its JSON-lines events and the functions
 * one topic calls in another
 *
 *   bsp-purple-driver.c          options, main (), the JSON-lines events
 *   bsp-purple-driver-ui.c       libpurple's UI ops: event loop, DNS, debug
 *                                log, core set-up, requests (the certificate
 *                                prompt), notices and conversations
 *   bsp-purple-driver-account.c  accounts, their proxy settings, sign-in
 *                                signals and the goal the driver waits for
 *   bsp-purple-driver-plugin.c   loading --plugin, its preferences and frame
 *   bsp-purple-driver-xfer.c     file transfers: sending, accepting,
 *                                progress, triggers, their events
 *   bsp-purple-driver-offer.c    streamhost offers as they come in
 *                                (--no-direct, --direct-to) and --timing
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <purple.h>

G_BEGIN_DECLS

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

/* The driver: its options, then its state. */
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

/* libpurple's xfer, notify and conversation UI ops take no user_data
 * (bsp-purple-driver.c). */
extern Driver *driver_global;

/* libpurple's UI ops take no user_data: the debug switch is global
 * (bsp-purple-driver-ui.c). */
extern gboolean driver_debug_enabled;

/* bsp-purple-driver.c: JSON-lines events on stdout */
JsonBuilder *driver_event_begin (const char *event);
void driver_event_emit (JsonBuilder *builder);
void driver_event (const char *event, ...) G_GNUC_NULL_TERMINATED;

/* bsp-purple-driver-ui.c */
gboolean driver_init_purple (Driver *self, GError **error);
void driver_set_dialog_ui_ops (void);

/* bsp-purple-driver-account.c */
void driver_account_free (DriverAccount *da);
DriverAccount *driver_account_parse (const char *spec, GError **error);
guint driver_count_online_buddies (DriverAccount *da);
void driver_finish (Driver *self, int status);
void driver_check_goal (Driver *self);
gboolean driver_check_goal_idle (gpointer user_data);
void driver_connect_signals (Driver *self);
PurpleProxyInfo *driver_proxy_info (const char *spec, GError **error);
void driver_setup_account (Driver *self, DriverAccount *da);

/* bsp-purple-driver-plugin.c */
gboolean driver_start_plugin (Driver *self);
gboolean driver_unload_plugin (gpointer user_data);
gboolean driver_apply_prefs (char **specs, const char *option, GError **error);
gboolean driver_poll_frame (gpointer user_data);

/* bsp-purple-driver-xfer.c */
void driver_maybe_send (Driver *self);
void driver_connect_xfer_signals (Driver *self);

/* bsp-purple-driver-offer.c */
void driver_connect_offer_signals (Driver *self);

G_END_DECLS
