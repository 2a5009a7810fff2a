/* test-hostile-harness.h — what the hostile tests share: a server with
 * alice and bob, a driver (a real libpurple with the plugin) signed in as
 * one of them, two raw clients of the other (its "evil" party and the fake
 * bs-proxy), the fake proxy's HTTP listener and a trap listener that nothing
 * may reach, and the pieces of HTTP the fake proxy speaks.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-test-util.h"

#define HOSTILE_PASSWORD "secret"
#define HOSTILE_FILE "hostile.bin"
#define HOSTILE_WAIT_MS 20000
#define HOSTILE_DRIVER_TIMEOUT_S 60

typedef struct
{
  PtsTestServer *server;
  PtsTestClient *peer;    /* the raw party, resource "evil" */
  PtsTestClient *proxy;   /* the fake bs-proxy: the same account, another resource */
  PtsTestProcess *driver; /* the plugin's side */
  GSocket *http;          /* the fake proxy's HTTP side */
  GSocket *trap;          /* where no connection may arrive */
  guint16 http_port;
  guint16 trap_port;
} HostileWorld;

/* Starts the listeners, the server (alice and bob, both with
 * HOSTILE_PASSWORD) and signs in @peer_user twice: as "evil" and as
 * @proxy_resource. FALSE, the test skipped, without the server, the driver
 * or the plugin. */
gboolean hostile_world_start (HostileWorld *w, const char *peer_user, const char *proxy_resource);
/* Spawns the driver with the plugin as @account ("user@domain/resource"),
 * its data in @user_dir, with @extra (NULL-terminated) after the common
 * arguments. */
void hostile_world_spawn_driver (HostileWorld *w, const char *account, const char *user_dir,
                                 const char *const *extra);
/* Waits for the driver to end by itself (it does once its transfer ended,
 * either way), with its last words when it does not. */
void hostile_world_wait_driver (HostileWorld *w);
/* Signs the raw clients out, stops the server, frees everything. */
void hostile_world_stop (HostileWorld *w);

/* A loopback listener on a port the kernel picks. */
GSocket *hostile_listen (guint16 *port);
gboolean hostile_has_pending (GSocket *listener);
/* Whether a SOCKS5 client came to @listener: a connection that sends a byte. */
gboolean hostile_socks5_came (GSocket *listener);
gboolean hostile_send (GSocket *conn, const void *data, gsize len);
/* Accepts one connection on @listener and reads a request head from it. */
GSocket *hostile_accept_request (GSocket *listener, GString *request);
/* Answers the plugin's reachability check of the advertised base, whose
 * path is @path (PROTOCOL.md §1.5), as a bs-proxy does. */
void hostile_answer_probe (GSocket *listener, const char *path);
gboolean hostile_match_request (const PtsNode *stanza, gpointer user_data);
gboolean hostile_send_raw (PtsTestClient *client, const char *xml);

/* The case of test-hostile-send.c. */
void test_hostile_add_send (void);
