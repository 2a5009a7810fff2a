/* pts-http-guard.c — what the HTTP side lets through to libsoup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-http"

#include <string.h>

#include "pts-http-guard.h"

/* ---- the check ----------------------------------------------------------- */

static gboolean
pts_http_guard_is_space (char c)
{
  return c == ' ' || c == '\t';
}

/* @line (without its line end) as a header: does its name equal @name? */
static gboolean
pts_http_guard_named (const char *line, gsize len, const char *name, const char **value,
                      gsize *value_len)
{
  gsize n = strlen (name);
  gsize i = n;

  if (len < n || g_ascii_strncasecmp (line, name, n) != 0)
    return FALSE;
  while (i < len && pts_http_guard_is_space (line[i]))
    i++;
  if (i >= len || line[i] != ':')
    return FALSE;
  i++;
  while (i < len && pts_http_guard_is_space (line[i]))
    i++;
  while (len > i && pts_http_guard_is_space (line[len - 1]))
    len--;
  *value = line + i;
  *value_len = len - i;
  return TRUE;
}

guint
pts_http_guard_scan (PtsHttpGuardScan *scan, const char *head, gsize len, const char **why)
{
  for (gsize i = scan->line_start; i < len && !scan->ended; i++)
    {
      const char *line = head + scan->line_start;
      gsize line_len = i - scan->line_start;
      const char *value;
      gsize value_len;

      if (head[i] != '\n')
        continue;
      scan->line_start = i + 1;
      if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
      if (scan->lines++ == 0)
        continue; /* the request line */
      if (line_len == 0)
        {
          scan->ended = TRUE; /* the end of the head */
          break;
        }
      if (pts_http_guard_is_space (line[0]))
        {
          *why = "a folded header line";
          return 400;
        }
      if (pts_http_guard_named (line, line_len, "Content-Length", &value, &value_len))
        {
          gboolean digits = value_len > 0 && value_len <= 19;
          for (gsize k = 0; digits && k < value_len; k++)
            digits = g_ascii_isdigit (value[k]);
          if (!digits || ++scan->lengths > 1)
            {
              *why = digits ? "more than one Content-Length"
                            : "a Content-Length that is not a number";
              return 400;
            }
        }
      else if (pts_http_guard_named (line, line_len, "Transfer-Encoding", &value, &value_len))
        {
          gboolean known = (value_len == 7 && g_ascii_strncasecmp (value, "chunked", 7) == 0)
                           || (value_len == 8 && g_ascii_strncasecmp (value, "identity", 8) == 0);
          if (!known || ++scan->codings > 1)
            {
              *why = known ? "more than one Transfer-Encoding"
                           : "a Transfer-Encoding other than chunked";
              return 501;
            }
        }
    }
  return 0;
}

guint
pts_http_guard_check (const char *head, gsize len, const char **why)
{
  PtsHttpGuardScan scan = { 0 };

  return pts_http_guard_scan (&scan, head, len, why);
}

/* ---- the input stream ---------------------------------------------------- */

#define PTS_TYPE_HTTP_GUARD_INPUT (pts_http_guard_input_get_type ())
G_DECLARE_FINAL_TYPE (PtsHttpGuardInput, pts_http_guard_input, PTS, HTTP_GUARD_INPUT, GInputStream)

struct _PtsHttpGuardInput
{
  GInputStream parent;
  GInputStream *base;    /* pollable */
  GOutputStream *reply;  /* where a refusal is written */
  GByteArray *head;      /* the head so far; NULL once it passed */
  PtsHttpGuardScan scan; /* how far its lines were checked */
  gboolean refused;
  gboolean tls;       /* the base is TLS: it may hold bytes the socket no longer shows */
  gboolean read_full; /* ...and the last read filled its buffer: some may wait there */
  guint64 passed;     /* bytes handed up so far */
};

static void pts_http_guard_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PtsHttpGuardInput, pts_http_guard_input, G_TYPE_INPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                pts_http_guard_input_pollable_init))

/* Looks at @n bytes just read into @buffer: FALSE, with the connection's
 * answer written and @error set, when they complete a head that must not
 * reach libsoup. */
static gboolean
pts_http_guard_input_scan (PtsHttpGuardInput *self, const void *buffer, gssize n, GError **error)
{
  const char *why = NULL;
  guint status;

  if (self->head == NULL || n <= 0)
    return TRUE;
  g_byte_array_append (self->head, buffer, (guint) n);
  /* Only the lines the new bytes completed: a head that trickles in byte
   * by byte costs its length once, not its length squared. */
  status
      = pts_http_guard_scan (&self->scan, (const char *) self->head->data, self->head->len, &why);
  if (status != 0)
    {
      g_autofree char *answer = g_strdup_printf (
          "HTTP/1.1 %u %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
          "Connection: close\r\n\r\n%s\n",
          status, status == 501 ? "Not Implemented" : "Bad Request", strlen (why) + 1, why);

      /* Best effort: a fresh connection's send buffer takes it. */
      g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->reply), answer,
                                                  strlen (answer), NULL, NULL);
      g_debug ("request refused before libsoup: %s", why);
      g_clear_pointer (&self->head, g_byte_array_unref);
      self->refused = TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "request refused: %s", why);
      return FALSE;
    }
  /* The head is complete (or too long for libsoup anyway): the rest passes. */
  if (self->scan.ended || self->head->len > PTS_HTTP_GUARD_MAX_HEAD)
    g_clear_pointer (&self->head, g_byte_array_unref);
  return TRUE;
}

/* What a read returns up: @n, or -1 when the head is refused. */
static gssize
pts_http_guard_input_pass (PtsHttpGuardInput *self, const void *buffer, gssize n, GError **error)
{
  if (!pts_http_guard_input_scan (self, buffer, n, error))
    return -1;
  if (n > 0)
    self->passed += (guint64) n;
  return n;
}

static gboolean
pts_http_guard_input_check_refused (PtsHttpGuardInput *self, GError **error)
{
  if (!self->refused)
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "request refused");
  return FALSE;
}

static gssize
pts_http_guard_input_read (GInputStream *stream, void *buffer, gsize count,
                           GCancellable *cancellable, GError **error)
{
  PtsHttpGuardInput *self = PTS_HTTP_GUARD_INPUT (stream);
  gssize n;

  if (!pts_http_guard_input_check_refused (self, error))
    return -1;
  n = g_input_stream_read (self->base, buffer, count, cancellable, error);
  self->read_full = self->tls && n > 0 && (gsize) n == count;
  return pts_http_guard_input_pass (self, buffer, n, error);
}

static gssize
pts_http_guard_input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count,
                                       GError **error)
{
  PtsHttpGuardInput *self = PTS_HTTP_GUARD_INPUT (stream);
  gssize n;

  if (!pts_http_guard_input_check_refused (self, error))
    return -1;
  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base), buffer, count,
                                                NULL, error);
  self->read_full = self->tls && n > 0 && (gsize) n == count;
  return pts_http_guard_input_pass (self, buffer, n, error);
}

static gboolean
pts_http_guard_input_is_readable (GPollableInputStream *stream)
{
  PtsHttpGuardInput *self = PTS_HTTP_GUARD_INPUT (stream);

  return self->refused || self->read_full
         || g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

/* TLS hands out one record at a time: a read that filled its buffer may
 * have left the rest of a record decrypted inside the TLS connection, and
 * the socket, already drained of it, never signals it. A watch over TLS is
 * therefore also ready while the last read was full; the next read, short
 * or blocked, settles it. (GLib's own source over the TLS stream waits for
 * the socket alone: a reader that stops before it would block, after a
 * round of reads or with little room, would otherwise wait for the next
 * packet, and at the end of a body for nothing at all.) */
typedef struct
{
  GSource source;
  PtsHttpGuardInput *input;
} PtsHttpGuardHeld;

static gboolean
pts_http_guard_held_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return ((PtsHttpGuardHeld *) source)->input->read_full;
}

static gboolean
pts_http_guard_held_check (GSource *source)
{
  return ((PtsHttpGuardHeld *) source)->input->read_full;
}

/* Only readies its parent (the stream's pollable source), which calls back. */
static gboolean
pts_http_guard_held_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
pts_http_guard_held_finalize (GSource *source)
{
  g_object_unref (((PtsHttpGuardHeld *) source)->input);
}

static GSourceFuncs pts_http_guard_held_funcs = {
  pts_http_guard_held_prepare,
  pts_http_guard_held_check,
  pts_http_guard_held_dispatch,
  pts_http_guard_held_finalize,
  NULL,
  NULL,
};

static GSource *
pts_http_guard_input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  PtsHttpGuardInput *self = PTS_HTTP_GUARD_INPUT (stream);
  g_autoptr (GSource) base
      = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base), NULL);
  GSource *source = g_pollable_source_new_full (stream, base, cancellable);

  if (self->tls)
    {
      g_autoptr (GSource) held
          = g_source_new (&pts_http_guard_held_funcs, sizeof (PtsHttpGuardHeld));

      ((PtsHttpGuardHeld *) held)->input = g_object_ref (self);
      g_source_set_static_name (held, "PtsHttpGuardHeld");
      g_source_add_child_source (source, held);
    }
  return source;
}

static gboolean
pts_http_guard_input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static void
pts_http_guard_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = pts_http_guard_input_can_poll;
  iface->is_readable = pts_http_guard_input_is_readable;
  iface->create_source = pts_http_guard_input_create_source;
  iface->read_nonblocking = pts_http_guard_input_read_nonblocking;
}

static gboolean
pts_http_guard_input_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE; /* the base closes with the guarded stream */
}

static void
pts_http_guard_input_finalize (GObject *object)
{
  PtsHttpGuardInput *self = PTS_HTTP_GUARD_INPUT (object);

  g_clear_object (&self->base);
  g_clear_object (&self->reply);
  g_clear_pointer (&self->head, g_byte_array_unref);
  G_OBJECT_CLASS (pts_http_guard_input_parent_class)->finalize (object);
}

static void
pts_http_guard_input_class_init (PtsHttpGuardInputClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = pts_http_guard_input_finalize;
  stream_class->read_fn = pts_http_guard_input_read;
  stream_class->close_fn = pts_http_guard_input_close;
}

static void
pts_http_guard_input_init (PtsHttpGuardInput *self)
{
  self->head = g_byte_array_new ();
}

/* ---- the stream pair ----------------------------------------------------- */

#define PTS_TYPE_HTTP_GUARD (pts_http_guard_get_type ())
G_DECLARE_FINAL_TYPE (PtsHttpGuard, pts_http_guard, PTS, HTTP_GUARD, GIOStream)

struct _PtsHttpGuard
{
  GIOStream parent;
  GIOStream *base;
  GInputStream *input;
};

G_DEFINE_TYPE (PtsHttpGuard, pts_http_guard, G_TYPE_IO_STREAM)

static GInputStream *
pts_http_guard_get_input_stream (GIOStream *stream)
{
  return PTS_HTTP_GUARD (stream)->input;
}

static GOutputStream *
pts_http_guard_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (PTS_HTTP_GUARD (stream)->base);
}

static gboolean
pts_http_guard_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  return g_io_stream_close (PTS_HTTP_GUARD (stream)->base, cancellable, error);
}

static void
pts_http_guard_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* On the caller's context, as the base does it (the default would close
 * the base from a worker thread). */
static void
pts_http_guard_close_async (GIOStream *stream, int io_priority, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_io_stream_close_async (PTS_HTTP_GUARD (stream)->base, io_priority, cancellable,
                           pts_http_guard_closed, task);
}

static gboolean
pts_http_guard_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
pts_http_guard_finalize (GObject *object)
{
  PtsHttpGuard *self = PTS_HTTP_GUARD (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (pts_http_guard_parent_class)->finalize (object);
}

static void
pts_http_guard_class_init (PtsHttpGuardClass *klass)
{
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = pts_http_guard_finalize;
  stream_class->get_input_stream = pts_http_guard_get_input_stream;
  stream_class->get_output_stream = pts_http_guard_get_output_stream;
  stream_class->close_fn = pts_http_guard_close;
  stream_class->close_async = pts_http_guard_close_async;
  stream_class->close_finish = pts_http_guard_close_finish;
}

static void
pts_http_guard_init (PtsHttpGuard *self)
{
}

gint64
pts_http_guard_bytes_passed (GInputStream *stream)
{
  if (!PTS_IS_HTTP_GUARD_INPUT (stream))
    return -1;
  return (gint64) PTS_HTTP_GUARD_INPUT (stream)->passed;
}

GIOStream *
pts_http_guard_new (GIOStream *base)
{
  PtsHttpGuard *self = g_object_new (PTS_TYPE_HTTP_GUARD, NULL);
  PtsHttpGuardInput *input = g_object_new (PTS_TYPE_HTTP_GUARD_INPUT, NULL);

  input->base = g_object_ref (g_io_stream_get_input_stream (base));
  input->tls = G_IS_TLS_CONNECTION (base);
  input->reply = g_object_ref (g_io_stream_get_output_stream (base));
  self->base = g_object_ref (base);
  self->input = G_INPUT_STREAM (input);
  return G_IO_STREAM (self);
}
