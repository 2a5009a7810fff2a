/* pts-config.h — the proxy's settings, from the command line and a JSON file
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *domain;
  char **users;    /* "name:password" */
  char *user_file; /* more of them, one a line */
  char *listen;
  int c2s_port;
  int socks5_port;
  int http_port; /* -1 = HTTP side disabled */
  char *proxy_jid;
  char *socks5_only_jid; /* tests: a second, SOCKS5-only proxy, listed first */
  char *advertise_host;
  int advertise_port;
  char *http_base_url;
  char *tls_cert; /* PEM, chain allowed: the HTTP side is HTTPS */
  char *tls_key;
  char **acl_domains;      /* domains allowed to use the proxy; NULL = the local one */
  gboolean acl_open;       /* anyone may use the proxy */
  char **status_allow;     /* who else may read /status: addresses or ADDR/PREFIX */
  GPtrArray *status_masks; /* status_allow parsed (GInetAddressMask), by pts_config_finish */

  char *component; /* "host:port" = component mode */
  char *component_secret;
  char *component_secret_file;

  int max_sessions;  /* pending + active, global */
  int max_transfers; /* active, global */
  int max_per_initiator;
  gint64 max_file_size;   /* bytes, 0 = unlimited */
  int activation_timeout; /* seconds */
  int idle_timeout;       /* seconds */
  int progress_interval_ms;
  int buffer_size;       /* relay buffer per transfer, bytes */
  int max_stanza;        /* bytes */
  int keepalive;         /* seconds between whitespace keepalives, 0 = off */
  int login_timeout;     /* seconds for a c2s client to sign in */
  int http_idle_timeout; /* seconds an HTTP connection may do nothing */
  int max_connections;   /* per listener */
  int max_per_address;   /* per listener and remote address, 0 = no limit */
  gboolean verbose;
  gboolean version; /* --version: print it and exit */
} PtsConfig;

#define PTS_CONFIG_ERROR (pts_config_error_quark ())
GQuark pts_config_error_quark (void);

PtsConfig *pts_config_new (void);
void pts_config_free (PtsConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsConfig, pts_config_free)

/* Reads the command line (and the --config file it names, whose values the
 * command line overrides). Returns FALSE with @error set on bad input. */
gboolean pts_config_parse_args (PtsConfig *config, int *argc, char ***argv, GError **error);
gboolean pts_config_load_json (PtsConfig *config, const char *path, GError **error);
/* The same from @len bytes of JSON; @path names them in errors. */
gboolean pts_config_load_json_data (PtsConfig *config, const char *data, gsize len,
                                    const char *path, GError **error);
/* Fills defaults that depend on other settings and checks consistency. */
gboolean pts_config_finish (PtsConfig *config, GError **error);

/* An entry of status_allow as an address mask, or NULL. */
GInetAddressMask *pts_config_status_mask (const char *text, GError **error);

/* TRUE when a client at @address may read GET /status: loopback, and
 * whoever status_allow names. */
gboolean pts_config_may_read_status (const PtsConfig *config, GInetAddress *address);

/* The domain @jid (a domain JID) sits under: "example.org" for
 * "proxy.example.org"; NULL when it has none. */
char *pts_config_parent_domain (const char *jid);

/* TRUE when @jid may use the proxy under the ACL. */
gboolean pts_config_acl_allows (const PtsConfig *config, const char *jid);

G_END_DECLS
