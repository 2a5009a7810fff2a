/* pts-config-options.c — every setting of the proxy, declared once
 *
 * Each row is one setting: its name (the long option and the JSON key),
 * type, field, default, limits and help. pts-config.c derives the
 * defaults, the command line, the JSON reader and --help from this table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stddef.h>

#include "pts-config-options.h"

#define PTS_FIELD(f) offsetof (PtsConfig, f)

const PtsOption pts_options[] = {
  { "domain", 'd', PTS_OPT_STRING, PTS_FIELD (domain), "localhost", 0, 0, "DOMAIN",
    "XMPP domain of the embedded server; with --component it only sets the default proxy "
    "JID",
    NULL },
  { "user", 'u', PTS_OPT_STRV, PTS_FIELD (users), NULL, 0, 0, "NAME:PASSWORD",
    "An account of the embedded server; repeat for more. Every local user can read a "
    "command line: prefer --user-file",
    "users" },
  { "user-file", 0, PTS_OPT_FILENAME, PTS_FIELD (user_file), NULL, 0, 0, "FILE",
    "Accounts of the embedded server, one NAME:PASSWORD a line ('#' starts a comment)", NULL },
  { "listen", 'l', PTS_OPT_STRING, PTS_FIELD (listen), "127.0.0.1", 0, 0, "ADDR",
    "Address to bind every listener to", NULL },
  { "c2s-port", 0, PTS_OPT_INT, PTS_FIELD (c2s_port), "5222", 0, 65535, "PORT",
    "Client-to-server XMPP port (0 = pick a free port)", NULL },
  { "socks5-port", 0, PTS_OPT_INT, PTS_FIELD (socks5_port), "7777", 0, 65535, "PORT",
    "SOCKS5 bytestreams port (0 = pick a free port)", NULL },
  { "http-port", 0, PTS_OPT_INT, PTS_FIELD (http_port), "-1", -1, 65535, "PORT",
    "HTTP port of the bs-proxy extension (0 = pick a free port, -1 = disabled)", NULL },
  { "proxy-jid", 'j', PTS_OPT_STRING, PTS_FIELD (proxy_jid), NULL, 0, 0, "JID",
    "JID of the bytestreams proxy (default: proxy.DOMAIN); with --component, the "
    "component's name on the server",
    NULL },
  { "test-socks5-only-jid", 0, PTS_OPT_STRING, PTS_FIELD (socks5_only_jid), NULL, 0, 0, "JID",
    "For tests: the embedded server also lists JID, before the proxy, as a bytestreams proxy "
    "without the bs-proxy extension (served by the same SOCKS5 port), as a server with a "
    "SOCKS5-only proxy does",
    NULL },
  { "advertise-host", 0, PTS_OPT_STRING, PTS_FIELD (advertise_host), NULL, 0, 0, "HOST",
    "SOCKS5 host to tell clients when it differs from the bound address (NAT)", NULL },
  { "advertise-port", 0, PTS_OPT_INT, PTS_FIELD (advertise_port), "0", 0, 65535, "PORT",
    "SOCKS5 port to tell clients when it differs from the bound one (0 = the bound one)", NULL },
  { "http-base-url", 0, PTS_OPT_STRING, PTS_FIELD (http_base_url), NULL, 0, 0, "URL",
    "Base of the URLs handed to clients when it differs from the bound address", NULL },
  { "tls-cert", 0, PTS_OPT_FILENAME, PTS_FIELD (tls_cert), NULL, 0, 0, "FILE",
    "Serve the HTTP side as HTTPS with this certificate (PEM, the chain after it); the URLs "
    "handed out are then https://, and the embedded XMPP server requires STARTTLS with it",
    NULL },
  { "tls-key", 0, PTS_OPT_FILENAME, PTS_FIELD (tls_key), NULL, 0, 0, "FILE",
    "The private key of --tls-cert (PEM; default: in the --tls-cert file)", NULL },
  { "acl", 0, PTS_OPT_STRV, PTS_FIELD (acl_domains), NULL, 0, 0, "DOMAIN",
    "A domain whose users may use the proxy; repeat for more (default: the embedded "
    "server's DOMAIN; with --component the parent domain of the proxy JID, e.g. "
    "example.org for proxy.example.org)",
    NULL },
  { "acl-open", 0, PTS_OPT_BOOL, PTS_FIELD (acl_open), NULL, 0, 0, NULL,
    "Let users of any domain use the proxy", NULL },
  { "status-allow", 0, PTS_OPT_STRV, PTS_FIELD (status_allow), NULL, 0, 0, "ADDR",
    "An address (or ADDR/PREFIX) besides loopback that may read GET /status; repeat for "
    "more (default: loopback only)",
    NULL },
  { "component", 0, PTS_OPT_STRING, PTS_FIELD (component), NULL, 0, 0, "HOST:PORT",
    "Run as an XEP-0114 component of the XMPP server at HOST:PORT instead of embedding one", NULL },
  { "component-secret", 0, PTS_OPT_STRING, PTS_FIELD (component_secret), NULL, 0, 0, "SECRET",
    "Shared secret of the component connection (visible to local users: prefer "
    "--component-secret-file)",
    NULL },
  { "component-secret-file", 0, PTS_OPT_FILENAME, PTS_FIELD (component_secret_file), NULL, 0, 0,
    "FILE", "Read the component's shared secret from the first line of FILE", NULL },
  { "max-sessions", 0, PTS_OPT_INT, PTS_FIELD (max_sessions), "1024", 1, 1000000, "N",
    "Most bytestream sessions at once, pending or active; more SOCKS5 connections are "
    "refused and <connect> gets resource-constraint",
    NULL },
  { "max-transfers", 0, PTS_OPT_INT, PTS_FIELD (max_transfers), "256", 1, 1000000, "N",
    "Most active transfers at once; more activations get resource-constraint", NULL },
  { "max-per-initiator", 0, PTS_OPT_INT, PTS_FIELD (max_per_initiator), "16", 1, 1000000, "N",
    "Most active transfers one sender may have at once", NULL },
  { "max-file-size", 0, PTS_OPT_INT64, PTS_FIELD (max_file_size), "0", 0, G_MAXINT64, "BYTES",
    "Largest HTTP upload in bytes (0 = no limit)", NULL },
  { "max-connections", 0, PTS_OPT_INT, PTS_FIELD (max_connections), "4096", 1, 1000000, "N",
    "Most connections open at once through each listener (c2s, SOCKS5, HTTP); more are "
    "refused at once",
    NULL },
  { "max-per-address", 0, PTS_OPT_INT, PTS_FIELD (max_per_address), "128", 0, 1000000, "N",
    "Most of those from one IP address (loopback exempt; 0 = no limit)", NULL },
  { "login-timeout", 0, PTS_OPT_INT, PTS_FIELD (login_timeout), "30", 1, 3600, "SECONDS",
    "Seconds a client of the embedded server has to sign in before it is disconnected", NULL },
  { "http-idle-timeout", 0, PTS_OPT_INT, PTS_FIELD (http_idle_timeout), "60", 1, 86400, "SECONDS",
    "Seconds an HTTP connection may send or take nothing before it is closed", NULL },
  { "activation-timeout", 0, PTS_OPT_INT, PTS_FIELD (activation_timeout), "60", 1, 86400, "SECONDS",
    "Seconds a session may wait for activation", NULL },
  { "idle-timeout", 0, PTS_OPT_INT, PTS_FIELD (idle_timeout), "300", 1, 86400, "SECONDS",
    "Seconds an active transfer may move no byte before it is cut", NULL },
  { "progress-interval", 0, PTS_OPT_INT, PTS_FIELD (progress_interval_ms), "5000", 10, 3600000,
    "MS", "Milliseconds between <progress/> pushes to HTTP receivers", NULL },
  { "buffer-size", 0, PTS_OPT_INT, PTS_FIELD (buffer_size), "262144", 4096, 64 * 1024 * 1024,
    "BYTES", "Relay buffer per transfer in bytes", NULL },
  { "relay-copy", 0, PTS_OPT_BOOL, PTS_FIELD (relay_copy), NULL, 0, 0, NULL,
    "Copy every relay's bytes, even where splice(2) could move them (socket to socket)", NULL },
  { "relay-threads", 0, PTS_OPT_INT, PTS_FIELD (relay_threads), "0", 0, 256, "N",
    "Worker threads for SOCKS5 to SOCKS5 relays: 0 = one per core, 1 = the main thread", NULL },
  { "max-stanza", 0, PTS_OPT_INT, PTS_FIELD (max_stanza), "262144", 4096, 16 * 1024 * 1024, "BYTES",
    "Largest XMPP stanza accepted in bytes", NULL },
  { "keepalive", 0, PTS_OPT_INT, PTS_FIELD (keepalive), "60", 0, 86400, "SECONDS",
    "Seconds between whitespace keepalives to idle clients, 0 = never", NULL },
  { "verbose", 'v', PTS_OPT_BOOL, PTS_FIELD (verbose), NULL, 0, 0, NULL,
    "Log every stanza and session event", NULL },
};

const gsize pts_n_options = G_N_ELEMENTS (pts_options);
