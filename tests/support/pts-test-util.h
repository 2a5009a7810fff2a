/* pts-test-util.h — blocking helpers for tests of proxy-test-server
 *
 * Everything here blocks the calling thread and is bounded by a timeout:
 * spawning a process and waiting for a line of its output, a raw XMPP
 * client, a SOCKS5 (XEP-0065) client and a checksummed bulk transfer.
 * Failures are reported through GError, never by aborting, so that tools
 * can use these helpers as well as tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <stdarg.h>

#include "pts-xml.h"

G_BEGIN_DECLS

#define PTS_TEST_ERROR (pts_test_error_quark ())
GQuark pts_test_error_quark (void);

typedef enum
{
  PTS_TEST_ERROR_FAILED,
  PTS_TEST_ERROR_TIMED_OUT, /* nothing matching arrived in time */
  PTS_TEST_ERROR_EXITED,    /* the process ended (or closed its output) too early */
  PTS_TEST_ERROR_CLOSED,    /* the peer closed the connection */
  PTS_TEST_ERROR_STREAM,    /* an XMPP stream error; the message is its condition */
  PTS_TEST_ERROR_AUTH,      /* a SASL failure; the message is its condition */
  PTS_TEST_ERROR_PROTOCOL,  /* the peer sent something unexpected */
} PtsTestError;

/* The default bound of every wait, in milliseconds. */
#define PTS_TEST_TIMEOUT_MS 10000

/* ---- child processes ------------------------------------------------------ */

typedef struct _PtsTestProcess PtsTestProcess;

typedef enum
{
  PTS_TEST_STDOUT,
  PTS_TEST_STDERR,
} PtsTestPipe;

/* Spawns @argv with both output pipes read line by line in the background.
 * When @echo_prefix is not NULL every line is copied to our stderr as
 * "[prefix] line", so that test logs show what the child said. */
PtsTestProcess *pts_test_process_spawn (const char *const *argv, const char *echo_prefix,
                                        GError **error);
/* The same with stderr written to the file @log_path (NULL: read as above). */
PtsTestProcess *pts_test_process_spawn_logged (const char *const *argv, const char *echo_prefix,
                                               const char *log_path, GError **error);
/* A launcher for helpers: the child gets SIGTERM when the test dies, and
 * the tests' ASan defaults (pts-test-sanitizer.h). */
GSubprocessLauncher *pts_test_launcher_new (GSubprocessFlags flags);
/* The GSubprocess under @process, for tests that signal or wait on it. */
GSubprocess *pts_test_process_get_subprocess (PtsTestProcess *process);
/* Waits until @count lines of @pipe contain @needle; @out_line (optional)
 * gets a copy of the @count-th. Fails with PTS_TEST_ERROR_EXITED when the
 * pipe reaches its end first, PTS_TEST_ERROR_TIMED_OUT after @timeout_ms. */
gboolean pts_test_process_wait_line (PtsTestProcess *process, PtsTestPipe pipe, const char *needle,
                                     guint count, guint timeout_ms, char **out_line,
                                     GError **error);
/* How many lines of @pipe so far contain @needle. */
guint pts_test_process_count_lines (PtsTestProcess *process, PtsTestPipe pipe, const char *needle);
/* The process id while the process runs, else 0 (for /proc/PID/status). */
GPid pts_test_process_get_pid (PtsTestProcess *process);
/* The last @n lines of stderr, then of stdout, for error messages. */
char *pts_test_process_get_tail (PtsTestProcess *process, guint n);
/* Sends SIGTERM and waits (at most @timeout_ms) for the exit; fails unless
 * the process exited with status 0. */
gboolean pts_test_process_stop (PtsTestProcess *process, guint timeout_ms, GError **error);
/* Waits (at most @timeout_ms) for the process to exit by itself; fails
 * unless it exited with status 0. */
gboolean pts_test_process_wait (PtsTestProcess *process, guint timeout_ms, GError **error);
/* Kills the process if it still runs, and frees everything. */
void pts_test_process_free (PtsTestProcess *process);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsTestProcess, pts_test_process_free)

/* ---- the server under test -------------------------------------------------- */

typedef enum
{
  PTS_TEST_SERVER_DEFAULT = 0,
  PTS_TEST_SERVER_QUIET = 1 << 0, /* do not copy the server's log to stderr */
} PtsTestServerFlags;

typedef struct
{
  /* All read-only, from the READY line. */
  PtsTestProcess *process;
  char *c2s_host; /* NULL in component mode */
  guint16 c2s_port;
  char *socks5_host;
  guint16 socks5_port;
  char *component; /* HOST:PORT in component mode, else NULL */
  char *proxy_jid;
  char *domain;
  char *http_base;   /* the HTTP side's base URL, NULL without one */
  gboolean starttls; /* the embedded server requires STARTTLS (--tls-cert) */
} PtsTestServer;

/* The server binary: $PTS_SERVER, else the one in the build tree that
 * this library was built in (meson compiles its path in), else NULL with
 * @error set saying so. */
const char *pts_test_server_path (GError **error);
/* Starts the server at @path (NULL: pts_test_server_path()) on loopback with
 * free ports (--listen 127.0.0.1 --c2s-port 0 --socks5-port 0, then
 * @extra_args) and waits for its READY line. */
PtsTestServer *pts_test_server_start (const char *path, const char *const *extra_args,
                                      PtsTestServerFlags flags, GError **error);
/* The same with the server's log (stderr) written to @log_path. */
PtsTestServer *pts_test_server_start_logged (const char *path, const char *const *extra_args,
                                             PtsTestServerFlags flags, const char *log_path,
                                             GError **error);
/* SIGTERM, then checks that the server exited with status 0. */
gboolean pts_test_server_stop (PtsTestServer *server, GError **error);
void pts_test_server_free (PtsTestServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsTestServer, pts_test_server_free)

/* Splits "host:port" or "[v6]:port". */
gboolean pts_test_parse_address (const char *text, char **host, guint16 *port, GError **error);
/* A port on 127.0.0.1 that was free a moment ago. */
guint16 pts_test_free_port (GError **error);

/* ---- plain sockets ------------------------------------------------------------ */

/* One send that does not block: the count sent, 0 when the socket has no
 * room, -1 with @error set on failure. */
gssize pts_test_socket_send_some (GSocket *socket, const void *data, gsize len, GError **error);

/* A TCP connection to @host:@port; connecting and every later blocking
 * operation are bounded by a 60 s socket timeout. */
GSocketConnection *pts_test_tcp_connect (const char *host, guint16 port, GError **error);
/* The same from the local address @local (e.g. another loopback address,
 * 127.0.0.2: a host other than the test's own, as the server sees it). */
GSocketConnection *pts_test_tcp_connect_from (const char *host, guint16 port, const char *local,
                                              GError **error);
gboolean pts_test_socket_send_all (GSocketConnection *conn, const void *data, gsize len,
                                   GError **error);
/* Reads exactly @len bytes; PTS_TEST_ERROR_CLOSED if the peer closes first. */
gboolean pts_test_socket_read_exact (GSocketConnection *conn, void *buf, gsize len,
                                     guint timeout_ms, GError **error);
/* One non-blocking receive after waiting for data until @deadline
 * (monotonic µs). Returns the count, 0 at the end of the stream, -1 on
 * error. */
gssize pts_test_socket_receive (GSocket *socket, guint8 *buf, gsize len, gint64 deadline,
                                GError **error);
/* Reads (and keeps at most @max bytes of) everything until the peer closes
 * or resets the connection; PTS_TEST_ERROR_TIMED_OUT if it is still open
 * after @timeout_ms. */
GBytes *pts_test_socket_read_until_closed (GSocketConnection *conn, gsize max, guint timeout_ms,
                                           GError **error);

/* ---- XEP-0065 SOCKS5 ---------------------------------------------------------- */

/* Connects to a streamhost and asks for @hash (DST.ADDR) with port 0.
 * Returns the reply code: 0x00 with *@out_conn the open connection (the
 * reply must echo the hash), or the server's error code with the connection
 * closed. Returns -1 with @error set when no reply came. */
int pts_test_socks5_connect (const char *host, guint16 port, const char *hash,
                             GSocketConnection **out_conn, GError **error);
/* The same from the local address @local (NULL: any). */
int pts_test_socks5_connect_from (const char *host, guint16 port, const char *local,
                                  const char *hash, GSocketConnection **out_conn, GError **error);

/* ---- bulk transfer ---------------------------------------------------------------- */

typedef struct
{
  guint64 bytes_sent;
  guint64 bytes_received;
  char sent_sha256[65];
  char received_sha256[65];
  double seconds; /* first byte sent to the receiver's end of stream */
} PtsTestTransfer;

/* Writes @size bytes of fast pseudo-random data (from @seed) to @from, then
 * shuts its sending side down, while a thread reads @to until the end of the
 * stream; both sides are hashed with SHA-256. @result is filled even on
 * failure. A read or write that makes no progress for @idle_timeout_ms
 * fails. */
gboolean pts_test_transfer (GSocketConnection *from, GSocketConnection *to, guint64 size,
                            guint64 seed, guint idle_timeout_ms, PtsTestTransfer *result,
                            GError **error);
/* Fills @buf with the pseudo-random stream; @state carries on between calls. */
void pts_test_random_fill (guint64 *state, guint8 *buf, gsize len);

/* ---- raw XMPP client ------------------------------------------------------------ */

#define PTS_TEST_NS_CLIENT "jabber:client"
#define PTS_TEST_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define PTS_TEST_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define PTS_TEST_NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define PTS_TEST_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"

typedef struct _PtsTestClient PtsTestClient;

/* A stream over @conn as it is: nothing is sent. For the other end of a
 * connection, such as a stand-in server's accepted one: the waits below
 * read what the peer sends as for a client. */
PtsTestClient *pts_test_client_new_for_connection (GSocketConnection *conn, const char *domain);
/* Sends a stream header and waits for the features. */
gboolean pts_test_client_open_stream (PtsTestClient *client, GError **error);
/* @destroy (@data) runs when @client is freed, after its connection closed. */
void pts_test_client_set_data_full (PtsTestClient *client, gpointer data, GDestroyNotify destroy);
/* Opens a client stream to @domain and waits for its features. */
PtsTestClient *pts_test_client_connect (const char *host, guint16 port, const char *domain,
                                        GError **error);
/* SASL PLAIN. On a <failure/> the connection stays usable and @error is
 * PTS_TEST_ERROR_AUTH with the condition (e.g. "not-authorized") as message. */
gboolean pts_test_client_authenticate (PtsTestClient *client, const char *user,
                                       const char *password, GError **error);
/* Binds @resource (NULL: the server picks) and opens a session if offered. */
gboolean pts_test_client_bind (PtsTestClient *client, const char *resource, GError **error);
/* connect + authenticate + bind. */
/* With the SASL authorization identity @authzid ("" for none). */
gboolean pts_test_client_authenticate_as (PtsTestClient *client, const char *authzid,
                                          const char *user, const char *password, GError **error);
/* The features of the current stream (NULL before the first). */
const PtsNode *pts_test_client_get_features (PtsTestClient *client);
/* The id of the stream the server opened last. */
const char *pts_test_client_get_stream_id (PtsTestClient *client);
PtsTestClient *pts_test_client_login (const char *host, guint16 port, const char *domain,
                                      const char *user, const char *password, const char *resource,
                                      GError **error);
/* The full JID from the bind result, or NULL before. */
const char *pts_test_client_get_jid (PtsTestClient *client);
/* A fresh stanza id, unique for this client. */
char *pts_test_client_next_id (PtsTestClient *client);

gboolean pts_test_client_send_raw (PtsTestClient *client, const char *data, gssize len,
                                   GError **error);
/* Formats with g_markup_vprintf_escaped: every %s argument is escaped. */
gboolean pts_test_client_sendf (PtsTestClient *client, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
gboolean pts_test_client_sendv (PtsTestClient *client, GError **error, const char *format,
                                va_list args) G_GNUC_PRINTF (3, 0);

typedef gboolean (*PtsTestStanzaFunc) (const PtsNode *stanza, gpointer user_data);

/* Returns (and removes) the first received stanza that @match accepts
 * (NULL: any), reading more as needed. Stanzas that do not match are kept
 * for later waits. An unmatched stream error fails the wait with
 * PTS_TEST_ERROR_STREAM and its condition. */
PtsNode *pts_test_client_wait (PtsTestClient *client, PtsTestStanzaFunc match, gpointer user_data,
                               guint timeout_ms, GError **error);
/* The reply (result or error) to the IQ with @id. */
PtsNode *pts_test_client_wait_iq (PtsTestClient *client, const char *id, guint timeout_ms,
                                  GError **error);
/* Sends the IQ built from @format (as pts_test_client_sendf(); it starts
 * with "<iq " and has no id: a fresh one is added) and waits for its reply. */
PtsNode *pts_test_client_iq (PtsTestClient *client, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);
PtsNode *pts_test_client_iqv (PtsTestClient *client, GError **error, const char *format,
                              va_list args) G_GNUC_PRINTF (3, 0);
/* Waits for a stream error and returns its condition. */
char *pts_test_client_wait_stream_error (PtsTestClient *client, guint timeout_ms, GError **error);
/* Bytes read from the server so far, whitespace keepalives included. */
guint64 pts_test_client_get_bytes_received (PtsTestClient *client);
/* Reads (stanzas are kept) until @count bytes in all have come. */
gboolean pts_test_client_wait_bytes (PtsTestClient *client, guint64 count, guint timeout_ms,
                                     GError **error);
/* Reads until the server closes the connection (stanzas are kept). */
gboolean pts_test_client_wait_closed (PtsTestClient *client, guint timeout_ms, GError **error);
/* Sends </stream:stream> and closes the socket. */
void pts_test_client_close (PtsTestClient *client);
void pts_test_client_free (PtsTestClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsTestClient, pts_test_client_free)

/* ---- stanza inspection --------------------------------------------------------- */

/* The defined condition of an error stanza (type='error'), or NULL. */
const char *pts_test_stanza_error_condition (const PtsNode *stanza);
/* The first descendant-or-self element called @name in @ns (NULL: any). */
PtsNode *pts_test_node_find (const PtsNode *node, const char *name, const char *ns);
/* A stanza as XML, for messages. */
char *pts_test_node_to_string (const PtsNode *node);

G_END_DECLS
