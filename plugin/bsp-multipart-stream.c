/* bsp-multipart-stream.c — the upload's body: head, then exactly @size
 * bytes of the file, then tail; a read never spans two of them.
 *
 * libsoup writes a request body by splicing it in 8 KiB pieces, each a
 * send(2) of its own and a signal emission; at a GiB that is most of the
 * sender's CPU time. So on HTTP/1.x, when libsoup asks for the first
 * piece (the request line and headers are out by then), the stream
 * writes the whole body itself, in large blocks, onto the connection
 * libsoup reported in SoupMessage::network-event, and then ends: libsoup
 * goes on to read the answer. The bytes on the wire are the same. Without
 * that connection (or over HTTP/2, whose body is framed), libsoup's reads
 * are answered from the block, read from the file in large blocks.
 * Only the synchronous read is implemented: the upload runs in a thread
 * of its own (GInputStream's default async read would run it in GIO's
 * pool, which works too, but nothing here asks for it).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsp-http.h"
#include "bsp-multipart-stream.h"

#define BSP_MULTIPART_BLOCK (256 * 1024)

struct _BspMultipartStream
{
  GInputStream parent;
  GBytes *head;
  GInputStream *inner;
  GBytes *tail;
  gsize head_off;
  gsize tail_off;
  guint64 file_left; /* of the offered size, not read from the file yet */
  guint64 file_done; /* file bytes handed to the reader */
  gboolean inner_done;
  guint8 *block;
  gsize block_off;
  gsize block_len;
  BspMultipartProgress progress;
  gpointer progress_data;
  SoupMessage *msg;      /* not a reference: it owns the stream */
  GOutputStream *direct; /* the connection's output, once libsoup told it */
  gboolean started;
};

G_DEFINE_TYPE (BspMultipartStream, bsp_multipart_stream, G_TYPE_INPUT_STREAM)

/* Copies from @data at *@off; returns the count, 0 when used up. */
static gsize
bsp_multipart_stream_take (const guint8 *data, gsize len, gsize *off, void *buffer, gsize count)
{
  gsize n = MIN (count, len - *off);

  memcpy (buffer, data + *off, n);
  *off += n;
  return n;
}

static gsize
bsp_multipart_stream_take_bytes (GBytes *bytes, gsize *off, void *buffer, gsize count)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return bsp_multipart_stream_take (data, len, off, buffer, count);
}

/* A read that needs no file I/O: from the head, the block or the tail.
 * Returns FALSE when the block is used up and the file has more. */
static gboolean
bsp_multipart_stream_read_ready (BspMultipartStream *self, void *buffer, gsize count, gsize *n)
{
  if (self->head_off < g_bytes_get_size (self->head))
    *n = bsp_multipart_stream_take_bytes (self->head, &self->head_off, buffer, count);
  else if (self->block_off < self->block_len)
    {
      *n = bsp_multipart_stream_take (self->block, self->block_len, &self->block_off, buffer,
                                      count);
      self->file_done += *n;
    }
  else if (self->inner_done)
    *n = bsp_multipart_stream_take_bytes (self->tail, &self->tail_off, buffer, count);
  else
    return FALSE;
  return TRUE;
}

/* The block is used up: the next one from the file, or the end of the
 * file part (inner_done). FALSE with @error when the file fails or ends
 * short. */
static gboolean
bsp_multipart_stream_fill (BspMultipartStream *self, GCancellable *cancellable, GError **error)
{
  gssize got;

  /* A good moment to tell: once per block, not per small read. */
  if (self->progress != NULL)
    self->progress (self->file_done, self->progress_data);
  if (self->file_left == 0)
    {
      /* The offer's size is what goes, even if the file grew since. */
      self->inner_done = TRUE;
      return TRUE;
    }
  got = g_input_stream_read (self->inner, self->block, MIN (BSP_MULTIPART_BLOCK, self->file_left),
                             cancellable, error);
  if (got < 0)
    return FALSE;
  if (got == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the file is shorter than offered (%" G_GUINT64_FORMAT " bytes missing)",
                   self->file_left);
      return FALSE;
    }
  self->file_left -= got;
  self->block_off = 0;
  self->block_len = got;
  return TRUE;
}

static gboolean
bsp_multipart_stream_write_bytes (BspMultipartStream *self, GBytes *bytes, gsize *off,
                                  GCancellable *cancellable, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  if (!g_output_stream_write_all (self->direct, data, len, NULL, cancellable, error))
    return FALSE;
  *off = len;
  return TRUE;
}

/* The whole body straight onto the connection, in large blocks. */
static gboolean
bsp_multipart_stream_write_direct (BspMultipartStream *self, GCancellable *cancellable,
                                   GError **error)
{
  if (!bsp_multipart_stream_write_bytes (self, self->head, &self->head_off, cancellable, error))
    return FALSE;
  while (TRUE)
    {
      if (!bsp_multipart_stream_fill (self, cancellable, error))
        return FALSE;
      if (self->inner_done)
        break;
      if (!g_output_stream_write_all (self->direct, self->block, self->block_len, NULL, cancellable,
                                      error))
        return FALSE;
      self->block_off = self->block_len;
      self->file_done += self->block_len;
    }
  return bsp_multipart_stream_write_bytes (self, self->tail, &self->tail_off, cancellable, error);
}

static gssize
bsp_multipart_stream_read (GInputStream *stream, void *buffer, gsize count,
                           GCancellable *cancellable, GError **error)
{
  BspMultipartStream *self = BSP_MULTIPART_STREAM (stream);
  gsize n = 0;

  if (!self->started)
    {
      self->started = TRUE;
      if (self->direct != NULL && self->msg != NULL
          && soup_message_get_http_version (self->msg) != SOUP_HTTP_2_0)
        /* Written: what is left for libsoup is the end of the body. */
        return bsp_multipart_stream_write_direct (self, cancellable, error) ? 0 : -1;
    }
  while (!bsp_multipart_stream_read_ready (self, buffer, count, &n))
    if (!bsp_multipart_stream_fill (self, cancellable, error))
      return -1;
  return n;
}

static gboolean
bsp_multipart_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return g_input_stream_close (BSP_MULTIPART_STREAM (stream)->inner, cancellable, error);
}

static void
bsp_multipart_stream_finalize (GObject *object)
{
  BspMultipartStream *self = BSP_MULTIPART_STREAM (object);

  g_bytes_unref (self->head);
  g_bytes_unref (self->tail);
  g_object_unref (self->inner);
  g_clear_object (&self->direct);
  g_aligned_free (self->block);
  G_OBJECT_CLASS (bsp_multipart_stream_parent_class)->finalize (object);
}

static void
bsp_multipart_stream_class_init (BspMultipartStreamClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = bsp_multipart_stream_finalize;
  stream_class->read_fn = bsp_multipart_stream_read;
  stream_class->close_fn = bsp_multipart_stream_close;
}

static void
bsp_multipart_stream_init (BspMultipartStream *self)
{
  self->block = bsp_http_block_new (BSP_MULTIPART_BLOCK);
}

GInputStream *
bsp_multipart_stream_new (GBytes *head, GInputStream *file, guint64 size, GBytes *tail,
                          BspMultipartProgress progress, gpointer progress_data)
{
  BspMultipartStream *self = g_object_new (BSP_TYPE_MULTIPART_STREAM, NULL);

  self->head = head;
  self->tail = tail;
  self->inner = g_object_ref (file);
  self->file_left = size;
  self->progress = progress;
  self->progress_data = progress_data;
  return G_INPUT_STREAM (self);
}

void
bsp_multipart_stream_set_direct (BspMultipartStream *self, SoupMessage *msg, GOutputStream *direct)
{
  self->msg = msg;
  g_set_object (&self->direct, direct);
}
