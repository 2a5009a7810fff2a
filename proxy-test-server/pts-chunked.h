/* pts-chunked.h — an incremental decoder of HTTP/1.1 chunked bodies (RFC 9112 §7.1)
 *
 * Bytes go in as they arrive, split anywhere; the body's data comes out in
 * place (moved to the front of the same buffer), so a body of any size
 * streams through in constant memory. Chunk extensions and trailers are
 * read and dropped, within limits. Pure logic, no I/O.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PTS_CHUNKED_ERROR (pts_chunked_error_quark ())
GQuark pts_chunked_error_quark (void);

typedef enum
{
  PTS_CHUNKED_ERROR_MALFORMED, /* not chunked framing */
  PTS_CHUNKED_ERROR_TOO_LARGE, /* a chunk-size line or the trailers over their limit */
} PtsChunkedError;

/* Longest chunk-size line (size, extensions) and all trailers together. */
#define PTS_CHUNKED_MAX_LINE 4096
#define PTS_CHUNKED_MAX_TRAILERS 16384

typedef struct _PtsChunked PtsChunked;

PtsChunked *pts_chunked_new (void);
void pts_chunked_free (PtsChunked *decoder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsChunked, pts_chunked_free)

/* Decodes the @len bytes at @data: the body's data bytes are moved to the
 * front of @data and their count returned, -1 with @error set on bad
 * framing (the decoder then stays failed). *@used is how many input bytes
 * belonged to the body: fewer than @len only once the body ended (what
 * follows is not the body's). */
gssize pts_chunked_decode (PtsChunked *decoder, guint8 *data, gsize len, gsize *used,
                           GError **error);
/* TRUE once the last chunk and the trailers are through. */
gboolean pts_chunked_is_done (PtsChunked *decoder);

G_END_DECLS
