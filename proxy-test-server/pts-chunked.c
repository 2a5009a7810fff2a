/* pts-chunked.c — an incremental decoder of HTTP/1.1 chunked bodies
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * A bare LF is taken for CRLF, as most servers do; nothing else is bent.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-chunked.h"

G_DEFINE_QUARK (pts - chunked - error - quark, pts_chunked_error)

typedef enum
{
  PTS_CHUNKED_SIZE,    /* in the chunk-size digits */
  PTS_CHUNKED_EXT,     /* after them, up to the line's end */
  PTS_CHUNKED_DATA,    /* in chunk-data */
  PTS_CHUNKED_DATA_CR, /* expecting the CR after chunk-data */
  PTS_CHUNKED_DATA_LF, /* expecting its LF */
  PTS_CHUNKED_TRAILER, /* at the start of a trailer line (or the final CRLF) */
  PTS_CHUNKED_TRAILER_LINE,
  PTS_CHUNKED_FINAL_LF, /* the CR of the empty line seen */
  PTS_CHUNKED_DONE,
  PTS_CHUNKED_FAILED,
} PtsChunkedState;

struct _PtsChunked
{
  PtsChunkedState state;
  guint64 size; /* of the chunk being read: its digits so far, then what is left */
  guint digits;
  gsize line;     /* bytes of the current chunk-size line */
  gsize trailers; /* bytes of trailers so far */
  gboolean cr;    /* the last byte of the current line was CR */
};

PtsChunked *
pts_chunked_new (void)
{
  return g_new0 (PtsChunked, 1);
}

void
pts_chunked_free (PtsChunked *self)
{
  g_free (self);
}

gboolean
pts_chunked_is_done (PtsChunked *self)
{
  return self->state == PTS_CHUNKED_DONE;
}

static gssize
pts_chunked_fail (PtsChunked *self, GError **error, PtsChunkedError code, const char *what)
{
  self->state = PTS_CHUNKED_FAILED;
  g_set_error_literal (error, PTS_CHUNKED_ERROR, code, what);
  return -1;
}

static int
pts_chunked_hex (guint8 c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The chunk-size line ended: on to its data, or to the trailers. */
static void
pts_chunked_line_done (PtsChunked *self)
{
  self->line = 0;
  self->cr = FALSE;
  self->state = self->size > 0 ? PTS_CHUNKED_DATA : PTS_CHUNKED_TRAILER;
}

gssize
pts_chunked_decode (PtsChunked *self, guint8 *data, gsize len, gsize *used, GError **error)
{
  gsize in = 0, out = 0;

  *used = 0;
  if (self->state == PTS_CHUNKED_FAILED)
    return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                             "the chunked body already failed");
  while (in < len && self->state != PTS_CHUNKED_DONE)
    {
      guint8 c = data[in];

      switch (self->state)
        {
        case PTS_CHUNKED_DATA:
          {
            gsize n = (gsize) MIN ((guint64) (len - in), self->size);

            if (out != in)
              memmove (data + out, data + in, n);
            out += n;
            in += n;
            self->size -= n;
            if (self->size == 0)
              self->state = PTS_CHUNKED_DATA_CR;
            continue;
          }
        case PTS_CHUNKED_SIZE:
          if (++self->line > PTS_CHUNKED_MAX_LINE)
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_TOO_LARGE,
                                     "chunk-size line too long");
          if (pts_chunked_hex (c) >= 0)
            {
              /* 15 hex digits: far beyond any file, and no overflow. */
              if (++self->digits > 15)
                return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_TOO_LARGE,
                                         "chunk size too large");
              self->size = self->size * 16 + (guint64) pts_chunked_hex (c);
            }
          else if (self->digits == 0)
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "a chunk starts with its size in hex");
          else if (c == ';' || c == ' ' || c == '\t')
            self->state = PTS_CHUNKED_EXT;
          else if (c == '\r')
            {
              self->state = PTS_CHUNKED_EXT;
              self->cr = TRUE;
            }
          else if (c == '\n')
            pts_chunked_line_done (self);
          else
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "bad character in a chunk size");
          break;
        case PTS_CHUNKED_EXT:
          if (++self->line > PTS_CHUNKED_MAX_LINE)
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_TOO_LARGE,
                                     "chunk-size line too long");
          if (c == '\n')
            pts_chunked_line_done (self);
          else if (self->cr)
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "CR without LF in a chunk-size line");
          else if (c == '\r')
            self->cr = TRUE;
          else if (c < 0x20 && c != '\t')
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "control character in a chunk extension");
          break;
        case PTS_CHUNKED_DATA_CR:
          if (c == '\n')
            {
              self->state = PTS_CHUNKED_SIZE;
              self->digits = 0;
              break;
            }
          if (c != '\r')
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "chunk data longer than its size");
          self->state = PTS_CHUNKED_DATA_LF;
          break;
        case PTS_CHUNKED_DATA_LF:
          if (c != '\n')
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "CR without LF after chunk data");
          self->state = PTS_CHUNKED_SIZE;
          self->digits = 0;
          break;
        case PTS_CHUNKED_TRAILER:
        case PTS_CHUNKED_TRAILER_LINE:
          if (++self->trailers > PTS_CHUNKED_MAX_TRAILERS)
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_TOO_LARGE, "trailers too long");
          if (self->state == PTS_CHUNKED_TRAILER && c == '\r')
            self->state = PTS_CHUNKED_FINAL_LF;
          else if (self->state == PTS_CHUNKED_TRAILER && c == '\n')
            self->state = PTS_CHUNKED_DONE;
          else if (c == '\n')
            self->state = PTS_CHUNKED_TRAILER; /* one trailer line, dropped */
          else if (c == '\0')
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED, "NUL in a trailer");
          else
            self->state = PTS_CHUNKED_TRAILER_LINE;
          break;
        case PTS_CHUNKED_FINAL_LF:
          if (c != '\n')
            return pts_chunked_fail (self, error, PTS_CHUNKED_ERROR_MALFORMED,
                                     "CR without LF at the end of the body");
          self->state = PTS_CHUNKED_DONE;
          break;
        case PTS_CHUNKED_DONE:
        case PTS_CHUNKED_FAILED: g_assert_not_reached ();
        }
      in++;
    }
  *used = in;
  return (gssize) out;
}
