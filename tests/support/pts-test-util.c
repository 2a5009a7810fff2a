/* pts-test-util.c — blocking helpers for tests of proxy-test-server
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-test"

#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "bsp-protocol.h"
#include "pts-test-sanitizer.h"
#include "pts-test-util.h"

G_DEFINE_QUARK (pts - test - error - quark, pts_test_error)

#define PTS_TEST_SOCKET_TIMEOUT_S 60
#define PTS_TEST_READY_TIMEOUT_MS 20000
#define PTS_TEST_STOP_TIMEOUT_MS 10000
#define PTS_TEST_CHUNK (256 * 1024)

/* ==== child processes ====================================================== */

struct _PtsTestProcess
{
  GSubprocess *subprocess;
  char *name;
  char *echo_prefix;
  GMutex lock;
  GCond cond;
  GPtrArray *lines[2]; /* char *, per PtsTestPipe */
  gboolean eof[2];
  GThread *readers[2];
  gboolean reaped;
};

typedef struct
{
  PtsTestProcess *process;
  PtsTestPipe pipe;
  GInputStream *stream;
} PtsTestReader;

static gpointer
pts_test_process_read_pipe (gpointer data)
{
  PtsTestReader *reader = data;
  PtsTestProcess *self = reader->process;
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (reader->stream);
  char *line;

  /* Ends at the pipe's end, which comes when the child exits. */
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL)
    {
      if (self->echo_prefix != NULL)
        g_printerr ("[%s] %s\n", self->echo_prefix, line);
      g_mutex_lock (&self->lock);
      g_ptr_array_add (self->lines[reader->pipe], line);
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
    }
  g_mutex_lock (&self->lock);
  self->eof[reader->pipe] = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  g_object_unref (reader->stream);
  g_free (reader);
  return NULL;
}

/* Runs in the child between fork and exec: a test that aborts must not
 * leave its servers behind. */
static void
pts_test_process_child_setup (gpointer user_data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

GSubprocessLauncher *
pts_test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, pts_test_process_child_setup, NULL, NULL);
  pts_test_sanitizer_setenv (launcher);
  return launcher;
}

PtsTestProcess *
pts_test_process_spawn (const char *const *argv, const char *echo_prefix, GError **error)
{
  return pts_test_process_spawn_logged (argv, echo_prefix, NULL, error);
}

PtsTestProcess *
pts_test_process_spawn_logged (const char *const *argv, const char *echo_prefix,
                               const char *log_path, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) subprocess = NULL;
  PtsTestProcess *self;

  launcher = pts_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                    | (log_path == NULL ? G_SUBPROCESS_FLAGS_STDERR_PIPE : 0));
  if (log_path != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  subprocess = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (subprocess == NULL)
    return NULL;

  self = g_new0 (PtsTestProcess, 1);
  self->subprocess = g_steal_pointer (&subprocess);
  self->name = g_path_get_basename (argv[0]);
  self->echo_prefix = g_strdup (echo_prefix);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  for (int i = 0; i < 2; i++)
    {
      PtsTestReader *reader;
      GInputStream *stream = i == PTS_TEST_STDOUT ? g_subprocess_get_stdout_pipe (self->subprocess)
                                                  : g_subprocess_get_stderr_pipe (self->subprocess);

      self->lines[i] = g_ptr_array_new_with_free_func (g_free);
      if (stream == NULL)
        {
          /* stderr goes to a log file: nothing to read */
          self->eof[i] = TRUE;
          continue;
        }
      reader = g_new0 (PtsTestReader, 1);
      reader->process = self;
      reader->pipe = i;
      reader->stream = g_object_ref (stream);
      self->readers[i] = g_thread_new ("pts-test-pipe", pts_test_process_read_pipe, reader);
    }
  return self;
}

/* The @count-th line containing @needle, or NULL; with the lock held. */
static const char *
pts_test_process_find_locked (PtsTestProcess *self, PtsTestPipe pipe, const char *needle,
                              guint count, guint *found)
{
  GPtrArray *lines = self->lines[pipe];

  *found = 0;
  for (guint i = 0; i < lines->len; i++)
    if (strstr (lines->pdata[i], needle) != NULL && ++*found == count)
      return lines->pdata[i];
  return NULL;
}

gboolean
pts_test_process_wait_line (PtsTestProcess *self, PtsTestPipe pipe, const char *needle, guint count,
                            guint timeout_ms, char **out_line, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  const char *pipe_name = pipe == PTS_TEST_STDOUT ? "stdout" : "stderr";
  gboolean ok = FALSE;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      guint found;
      const char *line = pts_test_process_find_locked (self, pipe, needle, count, &found);

      if (line != NULL)
        {
          if (out_line != NULL)
            *out_line = g_strdup (line);
          ok = TRUE;
          break;
        }
      if (self->eof[pipe])
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_EXITED,
                       "%s closed its %s (exited?) after %u of %u lines with \"%s\"", self->name,
                       pipe_name, found, count, needle);
          break;
        }
      /* Woken by every new line; the deadline bounds the loop. */
      if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                       "%s printed %u of %u lines with \"%s\" on %s within %u ms", self->name,
                       found, count, needle, pipe_name, timeout_ms);
          break;
        }
    }
  g_mutex_unlock (&self->lock);
  return ok;
}

guint
pts_test_process_count_lines (PtsTestProcess *self, PtsTestPipe pipe, const char *needle)
{
  guint found;

  g_mutex_lock (&self->lock);
  pts_test_process_find_locked (self, pipe, needle, G_MAXUINT, &found);
  g_mutex_unlock (&self->lock);
  return found;
}

GPid
pts_test_process_get_pid (PtsTestProcess *self)
{
  const char *id = self->reaped ? NULL : g_subprocess_get_identifier (self->subprocess);

  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

GSubprocess *
pts_test_process_get_subprocess (PtsTestProcess *self)
{
  return self->subprocess;
}

char *
pts_test_process_get_tail (PtsTestProcess *self, guint n)
{
  GString *out = g_string_new (NULL);

  g_mutex_lock (&self->lock);
  for (int pipe = PTS_TEST_STDERR; pipe >= PTS_TEST_STDOUT; pipe--)
    {
      GPtrArray *lines = self->lines[pipe];
      for (guint i = lines->len > n ? lines->len - n : 0; i < lines->len; i++)
        g_string_append_printf (out, "  %s| %s\n", pipe == PTS_TEST_STDOUT ? "out" : "err",
                                (const char *) lines->pdata[i]);
    }
  g_mutex_unlock (&self->lock);
  return g_string_free (out, FALSE);
}

typedef struct
{
  gboolean done;
  gboolean exited;
  gboolean timed_out;
} PtsTestWait;

static void
pts_test_process_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PtsTestWait *wait = user_data;

  wait->exited = g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  wait->done = TRUE;
}

static gboolean
pts_test_process_wait_timeout (gpointer user_data)
{
  PtsTestWait *wait = user_data;

  wait->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Waits at most @timeout_ms for the child to exit; TRUE once it has. */
static gboolean
pts_test_process_reap (PtsTestProcess *self, guint timeout_ms)
{
  g_autoptr (GMainContext) context = NULL;
  g_autoptr (GCancellable) cancellable = NULL;
  g_autoptr (GSource) timer = NULL;
  PtsTestWait wait = { FALSE, FALSE, FALSE };

  if (self->reaped)
    return TRUE;
  context = g_main_context_new ();
  cancellable = g_cancellable_new ();
  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (self->subprocess, cancellable, pts_test_process_waited, &wait);
  timer = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timer, pts_test_process_wait_timeout, &wait, NULL);
  g_source_attach (timer, context);
  while (!wait.done && !wait.timed_out)
    g_main_context_iteration (context, TRUE);
  if (!wait.done)
    {
      /* The cancelled wait still reports back, promptly. */
      g_cancellable_cancel (cancellable);
      while (!wait.done)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timer);
  g_main_context_pop_thread_default (context);
  self->reaped = wait.exited;
  return self->reaped;
}

static void
pts_test_process_join (PtsTestProcess *self)
{
  for (int i = 0; i < 2; i++)
    if (self->readers[i] != NULL)
      g_thread_join (g_steal_pointer (&self->readers[i]));
}

/* Waits for the exit (killing the process after @timeout_ms), then checks
 * for status 0. */
static gboolean
pts_test_process_finish (PtsTestProcess *self, guint timeout_ms, const char *what, GError **error)
{
  g_autofree char *tail = NULL;

  if (!pts_test_process_reap (self, timeout_ms))
    {
      g_subprocess_force_exit (self->subprocess);
      pts_test_process_reap (self, PTS_TEST_STOP_TIMEOUT_MS);
      pts_test_process_join (self);
      tail = pts_test_process_get_tail (self, 20);
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                   "%s did not exit within %u ms%s; killed\n%s", self->name, timeout_ms, what,
                   tail);
      return FALSE;
    }
  pts_test_process_join (self);
  tail = pts_test_process_get_tail (self, 20);
  if (g_subprocess_get_if_signaled (self->subprocess))
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_EXITED,
                   "%s was killed by signal %d (%s)\n%s", self->name,
                   g_subprocess_get_term_sig (self->subprocess),
                   g_strsignal (g_subprocess_get_term_sig (self->subprocess)), tail);
      return FALSE;
    }
  if (g_subprocess_get_exit_status (self->subprocess) != 0)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_EXITED, "%s exited with status %d\n%s",
                   self->name, g_subprocess_get_exit_status (self->subprocess), tail);
      return FALSE;
    }
  return TRUE;
}

gboolean
pts_test_process_stop (PtsTestProcess *self, guint timeout_ms, GError **error)
{
  if (!self->reaped)
    g_subprocess_send_signal (self->subprocess, SIGTERM);
  return pts_test_process_finish (self, timeout_ms, " of SIGTERM", error);
}

gboolean
pts_test_process_wait (PtsTestProcess *self, guint timeout_ms, GError **error)
{
  return pts_test_process_finish (self, timeout_ms, "", error);
}

void
pts_test_process_free (PtsTestProcess *self)
{
  if (self == NULL)
    return;
  if (!self->reaped)
    {
      g_subprocess_force_exit (self->subprocess);
      pts_test_process_reap (self, PTS_TEST_STOP_TIMEOUT_MS);
    }
  pts_test_process_join (self);
  for (int i = 0; i < 2; i++)
    g_ptr_array_unref (self->lines[i]);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_object_unref (self->subprocess);
  g_free (self->name);
  g_free (self->echo_prefix);
  g_free (self);
}

/* ==== the server under test ================================================== */

const char *
pts_test_server_path (GError **error)
{
  const char *path = g_getenv ("PTS_SERVER");

  if (path != NULL && *path != '\0')
    return path;
#ifdef PTS_TEST_BUILT_SERVER
  if (g_file_test (PTS_TEST_BUILT_SERVER, G_FILE_TEST_IS_EXECUTABLE))
    return PTS_TEST_BUILT_SERVER;
  g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_FAILED,
                       "no proxy-test-server: PTS_SERVER is not set and the build tree has "
                       "no " PTS_TEST_BUILT_SERVER " (run meson compile, or set PTS_SERVER)");
#else
  g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_FAILED,
                       "no proxy-test-server: set PTS_SERVER to its path");
#endif
  return NULL;
}

gboolean
pts_test_parse_address (const char *text, char **host, guint16 *port, GError **error)
{
  const char *colon = text ? strrchr (text, ':') : NULL;
  const char *start = text;
  gsize host_len;
  guint64 value = 0;

  if (colon == NULL || colon == text
      || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &value, NULL))
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL, "\"%s\" is not HOST:PORT",
                   text ? text : "(null)");
      return FALSE;
    }
  host_len = colon - text;
  if (text[0] == '[' && colon[-1] == ']')
    {
      start = text + 1;
      host_len -= 2;
    }
  *host = g_strndup (start, host_len);
  *port = (guint16) value;
  return TRUE;
}

guint16
pts_test_free_port (GError **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  guint16 port;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_bind (socket, any, TRUE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return 0;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);
  return port;
}

static const char *
pts_test_json_string (JsonObject *obj, const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
pts_test_server_parse_ready (PtsTestServer *self, const char *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *obj;
  const char *c2s, *socks5, *proxy_jid, *domain;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "READY carries no JSON object: %s", json);
      return FALSE;
    }
  obj = json_node_get_object (root);
  c2s = pts_test_json_string (obj, "c2s");
  socks5 = pts_test_json_string (obj, "socks5");
  proxy_jid = pts_test_json_string (obj, "proxy_jid");
  domain = pts_test_json_string (obj, "domain");
  self->component = g_strdup (pts_test_json_string (obj, "component"));
  self->starttls = json_object_get_boolean_member_with_default (obj, "starttls", FALSE);
  if (socks5 == NULL || proxy_jid == NULL || domain == NULL
      || (c2s == NULL && self->component == NULL))
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "READY lacks socks5, proxy_jid, domain or c2s/component: %s", json);
      return FALSE;
    }
  if (c2s != NULL && !pts_test_parse_address (c2s, &self->c2s_host, &self->c2s_port, error))
    return FALSE;
  if (!pts_test_parse_address (socks5, &self->socks5_host, &self->socks5_port, error))
    return FALSE;
  self->proxy_jid = g_strdup (proxy_jid);
  self->domain = g_strdup (domain);
  self->http_base = g_strdup (pts_test_json_string (obj, "http_base_url"));
  return TRUE;
}

PtsTestServer *
pts_test_server_start (const char *path, const char *const *extra_args, PtsTestServerFlags flags,
                       GError **error)
{
  return pts_test_server_start_logged (path, extra_args, flags, NULL, error);
}

PtsTestServer *
pts_test_server_start_logged (const char *path, const char *const *extra_args,
                              PtsTestServerFlags flags, const char *log_path, GError **error)
{
  g_autoptr (PtsTestServer) self = g_new0 (PtsTestServer, 1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) argv = NULL;
  g_autofree char *line = NULL;
  g_autoptr (GError) local_error = NULL;

  if (path == NULL && (path = pts_test_server_path (error)) == NULL)
    return NULL;
  g_strv_builder_add_many (builder, path, "--listen", "127.0.0.1", "--c2s-port", "0",
                           "--socks5-port", "0", NULL);
  if (extra_args != NULL)
    g_strv_builder_addv (builder, (const char **) extra_args);
  argv = g_strv_builder_end (builder);

  self->process = pts_test_process_spawn_logged ((const char *const *) argv,
                                                 (flags & PTS_TEST_SERVER_QUIET) ? NULL : "server",
                                                 log_path, error);
  if (self->process == NULL)
    return NULL;
  if (!pts_test_process_wait_line (self->process, PTS_TEST_STDOUT, "READY {", 1,
                                   PTS_TEST_READY_TIMEOUT_MS, &line, &local_error))
    {
      g_autofree char *tail = pts_test_process_get_tail (self->process, 20);
      g_set_error (error, local_error->domain, local_error->code,
                   "the server did not get ready: %s\n%s", local_error->message, tail);
      return NULL;
    }
  if (!g_str_has_prefix (line, "READY {")
      || !pts_test_server_parse_ready (self, line + strlen ("READY "), error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                     "the READY line is not alone on its line: %s", line);
      return NULL;
    }
  return g_steal_pointer (&self);
}

gboolean
pts_test_server_stop (PtsTestServer *self, GError **error)
{
  return pts_test_process_stop (self->process, PTS_TEST_STOP_TIMEOUT_MS, error);
}

void
pts_test_server_free (PtsTestServer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->process, pts_test_process_free);
  g_free (self->c2s_host);
  g_free (self->socks5_host);
  g_free (self->component);
  g_free (self->proxy_jid);
  g_free (self->domain);
  g_free (self->http_base);
  g_free (self);
}

/* ==== plain sockets ============================================================ */

GSocketConnection *
pts_test_tcp_connect (const char *host, guint16 port, GError **error)
{
  return pts_test_tcp_connect_from (host, port, NULL, error);
}

GSocketConnection *
pts_test_tcp_connect_from (const char *host, guint16 port, const char *local, GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GSocketConnection *conn;

  if (local != NULL)
    {
      g_autoptr (GSocketAddress) address = g_inet_socket_address_new_from_string (local, 0);
      g_socket_client_set_local_address (client, address);
    }
  /* Loopback only: never ask a desktop proxy resolver. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, PTS_TEST_SOCKET_TIMEOUT_S);
  conn = g_socket_client_connect_to_host (client, host, port, NULL, error);
  if (conn == NULL)
    return NULL;
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  return conn;
}

/* Waits for @condition until @deadline (monotonic µs). */
static gboolean
pts_test_socket_wait (GSocket *socket, GIOCondition condition, gint64 deadline, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gint64 remaining = MAX (0, deadline - g_get_monotonic_time ());

  if (g_socket_condition_timed_wait (socket, condition, remaining, NULL, &local_error))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                         condition == G_IO_IN ? "timed out waiting for data"
                                              : "timed out waiting to send");
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gssize
pts_test_socket_send_some (GSocket *socket, const void *data, gsize len, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gssize n = g_socket_send_with_blocking (socket, data, len, FALSE, NULL, &local_error);

  if (n >= 0)
    return n;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return 0;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return -1;
}

/* Sends all of @data; no single wait for buffer space lasts longer than
 * @timeout_ms. */
static gboolean
pts_test_socket_send_timed (GSocket *socket, const guint8 *data, gsize len, guint timeout_ms,
                            GError **error)
{
  gsize done = 0;

  /* Bounded: every round sends at least one byte or fails. */
  while (done < len)
    {
      gssize n;

      if (!pts_test_socket_wait (socket, G_IO_OUT,
                                 g_get_monotonic_time () + (gint64) timeout_ms * 1000, error))
        return FALSE;
      n = pts_test_socket_send_some (socket, data + done, len - done, error);
      if (n < 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

gboolean
pts_test_socket_send_all (GSocketConnection *conn, const void *data, gsize len, GError **error)
{
  return pts_test_socket_send_timed (g_socket_connection_get_socket (conn), data, len,
                                     PTS_TEST_TIMEOUT_MS, error);
}

/* One non-blocking receive after waiting for data until @deadline.
 * Returns the count, 0 at the end of the stream, -1 on error. */
static gssize
pts_test_socket_receive (GSocket *socket, guint8 *buf, gsize len, gint64 deadline, GError **error)
{
  /* Bounded: each round waits with the deadline, and a readable socket
   * yields data, the end, or an error. */
  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n;

      if (!pts_test_socket_wait (socket, G_IO_IN, deadline, error))
        return -1;
      n = g_socket_receive_with_blocking (socket, (char *) buf, len, FALSE, NULL, &local_error);
      if (n >= 0)
        return n;
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return -1;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                               "timed out waiting for data");
          return -1;
        }
    }
}

gboolean
pts_test_socket_read_exact (GSocketConnection *conn, void *buf, gsize len, guint timeout_ms,
                            GError **error)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gsize done = 0;

  while (done < len)
    {
      gssize n
          = pts_test_socket_receive (socket, (guint8 *) buf + done, len - done, deadline, error);
      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_CLOSED,
                       "connection closed after %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes",
                       done, len);
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

GBytes *
pts_test_socket_read_until_closed (GSocketConnection *conn, gsize max, guint timeout_ms,
                                   GError **error)
{
  GSocket *socket = g_socket_connection_get_socket (conn);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 buf[16384];

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n = pts_test_socket_receive (socket, buf, sizeof buf, deadline, &local_error);

      if (n == 0)
        break;
      if (n < 0)
        {
          if (g_error_matches (local_error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT))
            {
              g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                           "the connection is still open after %u ms (%u bytes read)", timeout_ms,
                           data->len);
              return NULL;
            }
          /* A reset is a close too. */
          break;
        }
      g_byte_array_append (data, buf, MIN ((gsize) n, max - MIN (max, data->len)));
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* ==== XEP-0065 SOCKS5 ============================================================ */

int
pts_test_socks5_connect (const char *host, guint16 port, const char *hash,
                         GSocketConnection **out_conn, GError **error)
{
  return pts_test_socks5_connect_from (host, port, NULL, hash, out_conn, error);
}

int
pts_test_socks5_connect_from (const char *host, guint16 port, const char *local, const char *hash,
                              GSocketConnection **out_conn, GError **error)
{
  g_autoptr (GSocketConnection) conn = NULL;
  static const guint8 greeting[] = { 0x05, 0x01, 0x00 };
  guint8 method[2];
  guint8 request[5 + 255 + 2];
  guint8 head[5];
  guint8 rest[255 + 2];
  gsize hash_len = strlen (hash);

  g_return_val_if_fail (hash_len <= 255, -1);
  conn = pts_test_tcp_connect_from (host, port, local, error);
  if (conn == NULL)
    return -1;
  if (!pts_test_socket_send_all (conn, greeting, sizeof greeting, error)
      || !pts_test_socket_read_exact (conn, method, sizeof method, PTS_TEST_TIMEOUT_MS, error))
    return -1;
  if (method[0] != 0x05 || method[1] != 0x00)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "SOCKS5 method selection answered %02x %02x", method[0], method[1]);
      return -1;
    }

  request[0] = 0x05; /* VER */
  request[1] = 0x01; /* CMD CONNECT */
  request[2] = 0x00; /* RSV */
  request[3] = 0x03; /* ATYP domain name */
  request[4] = (guint8) hash_len;
  memcpy (request + 5, hash, hash_len);
  request[5 + hash_len] = 0;
  request[6 + hash_len] = 0;
  if (!pts_test_socket_send_all (conn, request, 7 + hash_len, error)
      || !pts_test_socket_read_exact (conn, head, sizeof head, PTS_TEST_TIMEOUT_MS, error))
    return -1;
  if (head[0] != 0x05)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL, "SOCKS5 reply has version %u",
                   head[0]);
      return -1;
    }
  if (head[1] != 0x00)
    {
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return head[1];
    }
  if (!pts_test_socket_read_exact (conn, rest, head[4] + 2, PTS_TEST_TIMEOUT_MS, error))
    return -1;
  if (head[3] != 0x03 || head[4] != hash_len || memcmp (rest, hash, hash_len) != 0
      || rest[hash_len] != 0 || rest[hash_len + 1] != 0)
    {
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                   "the SOCKS5 success reply does not echo the address and port 0");
      return -1;
    }
  *out_conn = g_steal_pointer (&conn);
  return 0;
}

/* ==== bulk transfer ================================================================ */

void
pts_test_random_fill (guint64 *state, guint8 *buf, gsize len)
{
  guint64 x = *state ? *state : G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  /* xorshift64*: far faster than the SHA-256 that checks it. */
  for (gsize i = 0; i < len; i += 8)
    {
      guint64 v;

      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      v = x * G_GUINT64_CONSTANT (0x2545f4914f6cdd1d);
      memcpy (buf + i, &v, MIN (8, len - i));
    }
  *state = x;
}

typedef struct
{
  GSocket *socket;
  guint64 limit; /* reading more than this is an error */
  guint idle_timeout_ms;
  guint64 received;
  GChecksum *sha;
  GError *error;
  gint64 finished;
} PtsTestSink;

static gpointer
pts_test_sink_run (gpointer data)
{
  PtsTestSink *sink = data;
  g_autofree guint8 *buf = g_malloc (PTS_TEST_CHUNK);

  /* Bounded by the stream's end, the byte limit and the idle timeout. */
  for (;;)
    {
      gint64 deadline = g_get_monotonic_time () + (gint64) sink->idle_timeout_ms * 1000;
      gssize n
          = pts_test_socket_receive (sink->socket, buf, PTS_TEST_CHUNK, deadline, &sink->error);

      if (n <= 0)
        break;
      g_checksum_update (sink->sha, buf, n);
      sink->received += n;
      if (sink->received > sink->limit)
        {
          g_set_error (&sink->error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                       "the receiver got more than the %" G_GUINT64_FORMAT " bytes sent",
                       sink->limit);
          break;
        }
    }
  sink->finished = g_get_monotonic_time ();
  return NULL;
}

gboolean
pts_test_transfer (GSocketConnection *from, GSocketConnection *to, guint64 size, guint64 seed,
                   guint idle_timeout_ms, PtsTestTransfer *result, GError **error)
{
  GSocket *out = g_socket_connection_get_socket (from);
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (PTS_TEST_CHUNK);
  g_autoptr (GError) write_error = NULL;
  PtsTestSink sink = { 0 };
  GThread *thread;
  guint64 state = seed * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) + 1;
  gint64 started;

  memset (result, 0, sizeof *result);
  sink.socket = g_socket_connection_get_socket (to);
  sink.limit = size;
  sink.idle_timeout_ms = idle_timeout_ms;
  sink.sha = g_checksum_new (G_CHECKSUM_SHA256);
  thread = g_thread_new ("pts-test-sink", pts_test_sink_run, &sink);

  started = g_get_monotonic_time ();
  while (result->bytes_sent < size)
    {
      gsize chunk = MIN (size - result->bytes_sent, PTS_TEST_CHUNK);

      pts_test_random_fill (&state, buf, chunk);
      g_checksum_update (sha, buf, chunk);
      if (!pts_test_socket_send_timed (out, buf, chunk, idle_timeout_ms, &write_error))
        break;
      result->bytes_sent += chunk;
    }
  /* The end of the data: the proxy passes it on as the end of the stream. */
  if (write_error == NULL)
    g_socket_shutdown (out, FALSE, TRUE, &write_error);
  g_thread_join (thread);

  g_strlcpy (result->sent_sha256, g_checksum_get_string (sha), sizeof result->sent_sha256);
  g_strlcpy (result->received_sha256, g_checksum_get_string (sink.sha),
             sizeof result->received_sha256);
  result->bytes_received = sink.received;
  result->seconds = (sink.finished - started) / (double) G_USEC_PER_SEC;
  g_checksum_free (sink.sha);

  if (write_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&write_error),
                                  "sending byte %" G_GUINT64_FORMAT ": ", result->bytes_sent);
      g_clear_error (&sink.error);
      return FALSE;
    }
  if (sink.error != NULL)
    {
      g_propagate_prefixed_error (error, sink.error,
                                  "receiving after %" G_GUINT64_FORMAT " bytes: ", sink.received);
      return FALSE;
    }
  return TRUE;
}

/* ==== raw XMPP client ================================================================ */

struct _PtsTestClient
{
  GSocketConnection *conn;
  GSocket *socket;
  char *domain;
  char *jid;
  char *stream_id;
  PtsXmlParser *parser;
  GQueue stanzas;    /* PtsNode *, received and not yet taken */
  PtsNode *features; /* of the current stream */
  gboolean closed;   /* the peer closed the TCP connection */
  guint64 bytes_received;
  GError *parse_error;
  guint next_id;
  gpointer data; /* pts_test_client_set_data_full() */
  GDestroyNotify data_destroy;
};

static void
pts_test_client_on_stream_start (gpointer user_data, const PtsNode *root)
{
  PtsTestClient *self = user_data;

  g_free (self->stream_id);
  self->stream_id = g_strdup (pts_node_get_attr (root, "id"));
}

static void
pts_test_client_on_stanza (gpointer user_data, PtsNode *stanza)
{
  PtsTestClient *self = user_data;

  /* After <success/> the server expects a new stream from the next byte. */
  if (pts_node_is (stanza, "success", PTS_TEST_NS_SASL))
    pts_xml_parser_restart (self->parser);
  g_queue_push_tail (&self->stanzas, stanza);
}

static void
pts_test_client_on_stream_end (gpointer user_data)
{
}

static const PtsXmlCallbacks pts_test_client_parser_callbacks = {
  pts_test_client_on_stream_start,
  pts_test_client_on_stanza,
  pts_test_client_on_stream_end,
};

/* Reads once (waiting until @deadline) and feeds the parser. */
static gboolean
pts_test_client_read (PtsTestClient *self, gint64 deadline, GError **error)
{
  guint8 buf[16384];
  gssize n;

  if (self->closed)
    {
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_CLOSED,
                           "the server closed the connection");
      return FALSE;
    }
  n = pts_test_socket_receive (self->socket, buf, sizeof buf, deadline, error);
  if (n < 0)
    return FALSE;
  if (n == 0)
    {
      self->closed = TRUE;
      return TRUE;
    }
  self->bytes_received += n;
  if (self->parse_error == NULL)
    pts_xml_parser_feed (self->parser, (const char *) buf, n, &self->parse_error);
  return TRUE;
}

static gboolean
pts_test_is_stream_error (const PtsNode *stanza)
{
  return pts_node_is (stanza, "error", PTS_NS_STREAMS);
}

static const char *
pts_test_stream_error_condition (const PtsNode *stanza)
{
  for (guint i = 0; i < stanza->children->len; i++)
    {
      const PtsNode *child = stanza->children->pdata[i];
      if (pts_node_is (child, NULL, PTS_TEST_NS_STREAM_ERRORS)
          && g_strcmp0 (child->name, "text") != 0)
        return child->name;
    }
  return "undefined-condition";
}

PtsNode *
pts_test_client_wait (PtsTestClient *self, PtsTestStanzaFunc match, gpointer user_data,
                      guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr (GError) local_error = NULL;

  /* Bounded by the deadline: every round reads once, waiting at most until
   * then. */
  for (;;)
    {
      for (GList *l = self->stanzas.head; l != NULL; l = l->next)
        if (match == NULL || match (l->data, user_data))
          {
            PtsNode *stanza = l->data;
            g_queue_delete_link (&self->stanzas, l);
            return stanza;
          }
      for (GList *l = self->stanzas.head; l != NULL; l = l->next)
        if (pts_test_is_stream_error (l->data))
          {
            g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_STREAM,
                                 pts_test_stream_error_condition (l->data));
            return NULL;
          }
      if (self->parse_error != NULL)
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                       "the server's stream does not parse: %s", self->parse_error->message);
          return NULL;
        }
      if (g_get_monotonic_time () >= deadline
          || !pts_test_client_read (self, deadline, &local_error))
        {
          g_autofree char *first = NULL;

          if (local_error != NULL
              && !g_error_matches (local_error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          /* Say what did come, for the test log. */
          if (self->stanzas.head != NULL)
            first = pts_test_node_to_string (self->stanzas.head->data);
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                       "no matching stanza within %u ms (%u others waiting%s%.200s)", timeout_ms,
                       self->stanzas.length, first ? ", the first: " : "", first ? first : "");
          return NULL;
        }
    }
}

static gboolean
pts_test_match_name (const PtsNode *stanza, gpointer user_data)
{
  const char *const *name_ns = user_data;

  return pts_node_is (stanza, name_ns[0], name_ns[1]);
}

static PtsNode *
pts_test_client_wait_name (PtsTestClient *self, const char *name, const char *ns, GError **error)
{
  const char *name_ns[2] = { name, ns };

  return pts_test_client_wait (self, pts_test_match_name, name_ns, PTS_TEST_TIMEOUT_MS, error);
}

static gboolean
pts_test_match_iq_reply (const PtsNode *stanza, gpointer user_data)
{
  const char *type = pts_node_get_attr (stanza, "type");

  return pts_node_is (stanza, "iq", NULL)
         && g_strcmp0 (pts_node_get_attr (stanza, "id"), user_data) == 0
         && (g_strcmp0 (type, "result") == 0 || g_strcmp0 (type, "error") == 0);
}

PtsNode *
pts_test_client_wait_iq (PtsTestClient *self, const char *id, guint timeout_ms, GError **error)
{
  return pts_test_client_wait (self, pts_test_match_iq_reply, (gpointer) id, timeout_ms, error);
}

static gboolean
pts_test_match_stream_error (const PtsNode *stanza, gpointer user_data)
{
  return pts_test_is_stream_error (stanza);
}

char *
pts_test_client_wait_stream_error (PtsTestClient *self, guint timeout_ms, GError **error)
{
  g_autoptr (PtsNode) stanza
      = pts_test_client_wait (self, pts_test_match_stream_error, NULL, timeout_ms, error);

  return stanza ? g_strdup (pts_test_stream_error_condition (stanza)) : NULL;
}

guint64
pts_test_client_get_bytes_received (PtsTestClient *self)
{
  return self->bytes_received;
}

gboolean
pts_test_client_wait_bytes (PtsTestClient *self, guint64 count, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  /* Bounded: each read waits at most until the deadline. */
  while (self->bytes_received < count)
    if (!pts_test_client_read (self, deadline, error))
      return FALSE;
    else if (self->closed)
      {
        g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_CLOSED,
                             "the server closed the connection");
        return FALSE;
      }
  return TRUE;
}

gboolean
pts_test_client_wait_closed (PtsTestClient *self, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!self->closed)
    {
      g_autoptr (GError) local_error = NULL;

      if (!pts_test_client_read (self, deadline, &local_error))
        {
          if (g_error_matches (local_error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT))
            {
              g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_TIMED_OUT,
                           "the server kept the connection open for %u ms", timeout_ms);
              return FALSE;
            }
          /* A reset is a close too. */
          self->closed = TRUE;
        }
    }
  return TRUE;
}

gboolean
pts_test_client_send_raw (PtsTestClient *self, const char *data, gssize len, GError **error)
{
  if (len < 0)
    len = strlen (data);
  return pts_test_socket_send_all (self->conn, data, len, error);
}

gboolean
pts_test_client_sendv (PtsTestClient *self, GError **error, const char *format, va_list args)
{
  g_autofree char *xml = g_markup_vprintf_escaped (format, args);

  return pts_test_client_send_raw (self, xml, -1, error);
}

gboolean
pts_test_client_sendf (PtsTestClient *self, GError **error, const char *format, ...)
{
  va_list args;
  gboolean ok;

  va_start (args, format);
  ok = pts_test_client_sendv (self, error, format, args);
  va_end (args);
  return ok;
}

char *
pts_test_client_next_id (PtsTestClient *self)
{
  return g_strdup_printf ("pts-test-%u", ++self->next_id);
}

PtsNode *
pts_test_client_iqv (PtsTestClient *self, GError **error, const char *format, va_list args)
{
  g_autofree char *xml = g_markup_vprintf_escaped (format, args);
  g_autofree char *id = pts_test_client_next_id (self);
  g_autofree char *with_id = NULL;

  g_return_val_if_fail (g_str_has_prefix (xml, "<iq "), NULL);
  with_id = g_strdup_printf ("<iq id='%s' %s", id, xml + strlen ("<iq "));
  if (!pts_test_client_send_raw (self, with_id, -1, error))
    return NULL;
  return pts_test_client_wait_iq (self, id, PTS_TEST_TIMEOUT_MS, error);
}

PtsNode *
pts_test_client_iq (PtsTestClient *self, GError **error, const char *format, ...)
{
  va_list args;
  PtsNode *reply;

  va_start (args, format);
  reply = pts_test_client_iqv (self, error, format, args);
  va_end (args);
  return reply;
}

gboolean
pts_test_client_open_stream (PtsTestClient *self, GError **error)
{
  PtsNode *features;

  if (!pts_test_client_sendf (self, error,
                              "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                              "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
                              "version='1.0' xml:lang='en'>",
                              self->domain))
    return FALSE;
  features = pts_test_client_wait_name (self, "features", PTS_NS_STREAMS, error);
  if (features == NULL)
    {
      g_prefix_error (error, "waiting for stream features: ");
      return FALSE;
    }
  g_clear_pointer (&self->features, pts_node_free);
  self->features = features;
  return TRUE;
}

PtsTestClient *
pts_test_client_new_for_connection (GSocketConnection *conn, const char *domain)
{
  PtsTestClient *self = g_new0 (PtsTestClient, 1);

  self->domain = g_strdup (domain);
  self->parser = pts_xml_parser_new (&pts_test_client_parser_callbacks, self, 16 * 1024 * 1024, 64);
  g_queue_init (&self->stanzas);
  self->conn = g_object_ref (conn);
  self->socket = g_socket_connection_get_socket (self->conn);
  return self;
}

PtsTestClient *
pts_test_client_connect (const char *host, guint16 port, const char *domain, GError **error)
{
  g_autoptr (GSocketConnection) conn = pts_test_tcp_connect (host, port, error);
  g_autoptr (PtsTestClient) self = NULL;

  if (conn == NULL)
    return NULL;
  self = pts_test_client_new_for_connection (conn, domain);
  if (!pts_test_client_open_stream (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

static gboolean
pts_test_client_offers_plain (PtsTestClient *self)
{
  PtsNode *mechanisms = pts_node_get_child (self->features, "mechanisms", PTS_TEST_NS_SASL);

  for (guint i = 0; mechanisms != NULL && i < mechanisms->children->len; i++)
    if (g_strcmp0 (pts_node_get_text (mechanisms->children->pdata[i]), "PLAIN") == 0)
      return TRUE;
  return FALSE;
}

static gboolean
pts_test_match_sasl_outcome (const PtsNode *stanza, gpointer user_data)
{
  return pts_node_is (stanza, "success", PTS_TEST_NS_SASL)
         || pts_node_is (stanza, "failure", PTS_TEST_NS_SASL)
         || pts_node_is (stanza, "challenge", PTS_TEST_NS_SASL);
}

gboolean
pts_test_client_authenticate (PtsTestClient *self, const char *user, const char *password,
                              GError **error)
{
  return pts_test_client_authenticate_as (self, "", user, password, error);
}

gboolean
pts_test_client_authenticate_as (PtsTestClient *self, const char *authzid, const char *user,
                                 const char *password, GError **error)
{
  gsize authzid_len = strlen (authzid);
  gsize user_len = strlen (user), password_len = strlen (password);
  g_autofree guint8 *raw = g_malloc (authzid_len + user_len + password_len + 2);
  g_autofree char *b64 = NULL;
  g_autoptr (PtsNode) outcome = NULL;

  if (!pts_test_client_offers_plain (self))
    {
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                           "the server does not offer SASL PLAIN");
      return FALSE;
    }
  /* authzid NUL authcid NUL password */
  memcpy (raw, authzid, authzid_len);
  raw[authzid_len] = '\0';
  memcpy (raw + authzid_len + 1, user, user_len);
  raw[authzid_len + 1 + user_len] = '\0';
  memcpy (raw + authzid_len + 2 + user_len, password, password_len);
  b64 = g_base64_encode (raw, authzid_len + user_len + password_len + 2);
  if (!pts_test_client_sendf (self, error,
                              "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                              "mechanism='PLAIN'>%s</auth>",
                              b64))
    return FALSE;
  outcome
      = pts_test_client_wait (self, pts_test_match_sasl_outcome, NULL, PTS_TEST_TIMEOUT_MS, error);
  if (outcome == NULL)
    return FALSE;
  if (pts_node_is (outcome, "failure", NULL))
    {
      const PtsNode *condition = NULL;
      for (guint i = 0; i < outcome->children->len && condition == NULL; i++)
        if (g_strcmp0 (((PtsNode *) outcome->children->pdata[i])->name, "text") != 0)
          condition = outcome->children->pdata[i];
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_AUTH,
                           condition ? condition->name : "undefined");
      return FALSE;
    }
  if (pts_node_is (outcome, "challenge", NULL))
    {
      g_set_error_literal (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                           "the server sent a SASL challenge for PLAIN with an initial "
                           "response");
      return FALSE;
    }
  return pts_test_client_open_stream (self, error);
}

gboolean
pts_test_client_bind (PtsTestClient *self, const char *resource, GError **error)
{
  g_autoptr (PtsNode) reply = NULL;
  PtsNode *jid;
  PtsNode *session;

  if (resource != NULL)
    reply = pts_test_client_iq (self, error,
                                "<iq type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                                "<resource>%s</resource></bind></iq>",
                                resource);
  else
    reply = pts_test_client_iq (self, error,
                                "<iq type='set'>"
                                "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  if (reply == NULL)
    return FALSE;
  jid = pts_test_node_find (reply, "jid", PTS_TEST_NS_BIND);
  if (g_strcmp0 (pts_node_get_attr (reply, "type"), "result") != 0 || jid == NULL
      || pts_node_get_text (jid) == NULL)
    {
      g_autofree char *xml = pts_test_node_to_string (reply);
      g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL, "bind failed: %s", xml);
      return FALSE;
    }
  g_free (self->jid);
  self->jid = g_strdup (pts_node_get_text (jid));

  /* RFC 3921 sessions, for servers that still require them. */
  session = pts_node_get_child (self->features, "session", PTS_TEST_NS_SESSION);
  if (session != NULL && pts_node_get_child (session, "optional", NULL) == NULL)
    {
      g_autoptr (PtsNode) result = pts_test_client_iq (
          self, error,
          "<iq type='set'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
      if (result == NULL)
        return FALSE;
      if (g_strcmp0 (pts_node_get_attr (result, "type"), "result") != 0)
        {
          g_set_error (error, PTS_TEST_ERROR, PTS_TEST_ERROR_PROTOCOL,
                       "session establishment failed: %s",
                       pts_test_stanza_error_condition (result));
          return FALSE;
        }
    }
  return TRUE;
}

PtsTestClient *
pts_test_client_login (const char *host, guint16 port, const char *domain, const char *user,
                       const char *password, const char *resource, GError **error)
{
  g_autoptr (PtsTestClient) self = pts_test_client_connect (host, port, domain, error);

  if (self == NULL || !pts_test_client_authenticate (self, user, password, error)
      || !pts_test_client_bind (self, resource, error))
    {
      g_prefix_error (error, "logging in %s@%s: ", user, domain);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
pts_test_client_get_jid (PtsTestClient *self)
{
  return self->jid;
}

const char *
pts_test_client_get_stream_id (PtsTestClient *self)
{
  return self->stream_id;
}

void
pts_test_client_close (PtsTestClient *self)
{
  if (!self->closed)
    pts_test_socket_send_all (self->conn, "</stream:stream>", strlen ("</stream:stream>"), NULL);
  g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
  self->closed = TRUE;
}

const PtsNode *
pts_test_client_get_features (PtsTestClient *self)
{
  return self->features;
}

void
pts_test_client_set_data_full (PtsTestClient *self, gpointer data, GDestroyNotify destroy)
{
  self->data = data;
  self->data_destroy = destroy;
}

void
pts_test_client_free (PtsTestClient *self)
{
  if (self == NULL)
    return;
  if (self->conn != NULL)
    {
      g_io_stream_close (G_IO_STREAM (self->conn), NULL, NULL);
      g_object_unref (self->conn);
    }
  if (self->data_destroy != NULL)
    self->data_destroy (self->data);
  g_queue_clear_full (&self->stanzas, (GDestroyNotify) pts_node_free);
  g_clear_pointer (&self->features, pts_node_free);
  pts_xml_parser_free (self->parser);
  g_clear_error (&self->parse_error);
  g_free (self->domain);
  g_free (self->jid);
  g_free (self->stream_id);
  g_free (self);
}

/* ==== stanza inspection ============================================================== */

const char *
pts_test_stanza_error_condition (const PtsNode *stanza)
{
  PtsNode *error;

  if (g_strcmp0 (pts_node_get_attr (stanza, "type"), "error") != 0)
    return NULL;
  error = pts_node_get_child (stanza, "error", NULL);
  for (guint i = 0; error != NULL && i < error->children->len; i++)
    {
      const PtsNode *child = error->children->pdata[i];
      if (pts_node_is (child, NULL, BSP_NS_STANZAS) && g_strcmp0 (child->name, "text") != 0)
        return child->name;
    }
  return "undefined-condition";
}

PtsNode *
pts_test_node_find (const PtsNode *node, const char *name, const char *ns)
{
  if (pts_node_is (node, name, ns))
    return (PtsNode *) node;
  for (guint i = 0; i < node->children->len; i++)
    {
      PtsNode *found = pts_test_node_find (node->children->pdata[i], name, ns);
      if (found != NULL)
        return found;
    }
  return NULL;
}

char *
pts_test_node_to_string (const PtsNode *node)
{
  return pts_node_to_string (node, PTS_TEST_NS_CLIENT);
}
