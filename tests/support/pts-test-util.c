/* pts-test-util.c — blocking helpers for tests of proxy-test-server: child
 * processes whose output lines are kept and awaited, and the server under
 * test started until its READY line. Sockets and SOCKS5 are in
 * pts-test-net.c, the raw XMPP client in pts-test-xmpp.c.
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

#define PTS_TEST_READY_TIMEOUT_MS 20000
#define PTS_TEST_STOP_TIMEOUT_MS 10000

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
