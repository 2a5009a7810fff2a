/* bsp-test-purple.h — what the headless libpurple tests share
 *
 * Where the driver and the plugin are, subprocesses that die with the
 * test, proxy-test-server on kernel-chosen loopback ports (started by the
 * test support library, pts-test-util.h) and the driver's JSON-lines
 * events.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <stdarg.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "pts-test-util.h"

G_BEGIN_DECLS

/* The accounts that bsp_test_server_start () creates. */
#define BSP_TEST_PASSWORD "secret"

const char *bsp_test_driver_path (void);
const char *bsp_test_plugin_path (void);

GSubprocessLauncher *bsp_test_launcher_new (GSubprocessFlags flags);
void bsp_test_launcher_isolate_driver (GSubprocessLauncher *launcher);

typedef struct
{
  PtsTestServer *server; /* started and waited for by the support library */
  GSubprocess *process;  /* the server's, until the test stops or kills it */
  char *c2s_host;
  char *c2s_port;
  char *http_base_url; /* NULL when the server has no HTTP side */
} BspTestServer;

BspTestServer *bsp_test_server_start (const char *const *extra_args, const char *log_path,
                                      GError **error);
gboolean bsp_test_server_stop (BspTestServer *self, gboolean *clean, GError **error);
void bsp_test_server_free (BspTestServer *self);
/* A fixture's tear-down: stops *@server unless the test stopped it already
 * (it must exit with status 0: under ASan, also without leaks) and frees
 * it; nothing when it is NULL. */
void bsp_test_server_clear (BspTestServer **server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspTestServer, bsp_test_server_free)

JsonObject *bsp_test_event_parse (const char *line, GError **error);
JsonObject *bsp_test_events_findv (GPtrArray *events, const char *event, va_list args);
JsonObject *bsp_test_events_find (GPtrArray *events, const char *event, ...) G_GNUC_NULL_TERMINATED;
guint bsp_test_events_count (GPtrArray *events, const char *event, ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
