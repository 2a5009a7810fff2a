/* test-e2e.h — what the e2e test's files share: its cases, the fixture
 * (one proxy-test-server), two drivers run to their ends, and what must
 * have happened
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "bsp-test-cut.h"
#include "bsp-test-purple.h"

#define E2E_ALICE "alice@localhost/e2e"
#define E2E_BOB "bob@localhost/e2e"

/* What a driver may take for one case, and what we give it on top
 * before we kill it. */
#define E2E_DRIVER_TIMEOUT_S 60
#define E2E_GRACE_S 20

/* Where the mid-transfer failure cases strike (--cancel-at and co.). */
#define E2E_TRIGGER_BYTES "1048576"

#define E2E_PATH_HTTP "goes over HTTP through the file transfer proxy "

/* Test files: pseudo-random, made once per run, in one directory
 * (test-e2e-harness.c). */
typedef struct
{
  const char *id;   /* as in test paths */
  const char *name; /* the file's name, UTF-8 */
  gsize size;
  gboolean checksum; /* whether its SHA-256 is needed */
  char *path;
  char *sha256;
} E2eFile;

typedef enum
{
  E2E_PLAIN,  /* libpurple alone */
  E2E_PLUGIN, /* libpurple with bsproxy.so */
} E2eClient;

typedef struct
{
  const char *path;
  E2eClient sender;
  E2eClient receiver;
  gboolean no_direct;        /* the receiver ignores the sender's own streamhosts */
  gboolean no_http;          /* the server runs without its HTTP side */
  gboolean http_unreachable; /* it advertises an HTTP base where nothing answers */
  const char *file;          /* an e2e_files id */
  const char *initiator_via; /* how the proxy must see them: "HTTP" or "SOCKS5" */
  const char *target_via;
  const char *summary;
  const char *known_bug; /* why the case cannot pass yet: skip it */
  const char *trigger;   /* the failure cases: where they strike (NULL: E2E_TRIGGER_BYTES) */
  const char *cut;       /* HTTP goes through a forwarder that resets the request
                          * starting with this ("POST", "GET ") mid-transfer */
} E2eCase;

typedef struct
{
  BspTestServer *server;
  char *dir;
  char *server_log;
  char *accept_dir;
  char *dead_base;       /* the HTTP base where nothing answers, for http_unreachable */
  BspTestCutter *cutter; /* with E2eCase.cut */
} E2eFixture;

typedef void (*E2eTestFunc) (E2eFixture *fixture, gconstpointer user_data);

/* Two drivers at once, their events read as they come */

typedef struct _E2eRun E2eRun;

typedef struct
{
  E2eRun *run;
  const char *role; /* "alice" or "bob" */
  GSubprocess *process;
  GDataInputStream *out;
  GPtrArray *events; /* JsonObject * */
  char *log_path;    /* its stderr: libpurple's debug log */
  gboolean out_done;
  gboolean exited;
  int status; /* exit status, or 128 + signal */
} E2ePeer;

/* Called for every event as it arrives, e.g. to kill the server. */
typedef void (*E2eEventFunc) (E2eRun *run, E2ePeer *peer, JsonObject *event, gpointer user_data);

struct _E2eRun
{
  GMainContext *context;
  GCancellable *cancellable;
  E2ePeer alice;
  E2ePeer bob;
  E2eEventFunc on_event;
  gpointer user_data;
  gboolean timed_out;
};

/* test-e2e-harness.c */
void e2e_files_init (void);
void e2e_files_remove (void);
const E2eFile *e2e_file_get (const char *id);
char *e2e_sha256_file (const char *path, goffset *size);
void e2e_fixture_set_up (E2eFixture *fixture, gconstpointer user_data);
void e2e_fixture_tear_down (E2eFixture *fixture, gconstpointer user_data);
void e2e_run_clear (E2eRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (E2eRun, e2e_run_clear)
void e2e_run (E2eRun *run, E2eFixture *fixture, const E2eCase *c, const char *const *alice_args,
              const char *const *bob_args);

/* test-e2e.c */
void e2e_run_transfer (E2eRun *run, E2eFixture *fixture, const E2eCase *c, const E2eFile *file,
                       const char *const *alice_extra, const char *const *bob_extra);

/* test-e2e-assert.c */
gint64 e2e_event_int (JsonObject *event, const char *name);
const char *e2e_direction (E2ePeer *peer);
void e2e_assert_status (E2ePeer *peer, int status);
void e2e_assert_progress_sane (E2ePeer *peer, gint64 size);
void e2e_assert_completed (E2ePeer *peer, const E2eFile *file, gboolean exact);
void e2e_assert_cancelled (E2ePeer *peer, const char *status);
const char *e2e_assert_reason (E2ePeer *peer, const E2eFile *file);
void e2e_show_user_events (E2ePeer *peer);
void e2e_assert_notice (E2ePeer *peer, const char *primary, const char *secondary);
void e2e_assert_line (E2ePeer *peer, const char *kind, const char *start, gboolean exact);
void e2e_assert_path (E2ePeer *peer, const E2eFile *file, const char *how);
void e2e_assert_only_error_line (E2ePeer *peer, const char *except);
void e2e_assert_user_cancel_seen (E2ePeer *peer, E2ePeer *other, const char *user,
                                  const E2eFile *file, gboolean plugin);
void e2e_assert_not_received (E2eFixture *fixture, const E2eFile *file);
void e2e_assert_received (E2eFixture *fixture, const E2eFile *file, E2ePeer *bob);
void e2e_assert_session (E2eFixture *fixture, const char *initiator_via, const char *target_via);
gboolean e2e_driver_log_contains (E2ePeer *peer, const char *needle);

/* test-e2e-cancel.c */
void e2e_test_decline (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_sender_cancels (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_receiver_cancels (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_sender_unloads (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_receiver_unloads (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_sender_signs_off (E2eFixture *fixture, gconstpointer user_data);

/* test-e2e-fail.c */
void e2e_test_proxy_killed (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_stall (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_receiver_disk_full (E2eFixture *fixture, gconstpointer user_data);
void e2e_test_http_cut (E2eFixture *fixture, gconstpointer user_data);
