/* pts-multipart.h — an incremental multipart/form-data parser
 *
 * Bytes go in as they arrive, split anywhere; part bodies come out as
 * slices of the input (no copy) through callbacks, so a file part of any size
 * streams through in constant memory.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PTS_MULTIPART_ERROR (pts_multipart_error_quark ())
GQuark pts_multipart_error_quark (void);

typedef enum
{
  PTS_MULTIPART_ERROR_MALFORMED, /* bad framing or part headers */
  PTS_MULTIPART_ERROR_TOO_LARGE, /* part headers over the limit */
  PTS_MULTIPART_ERROR_TRUNCATED, /* the body ended before the closing delimiter */
} PtsMultipartError;

typedef struct
{
  const char *name;         /* form field name, never NULL */
  const char *filename;     /* from filename* (RFC 5987) or filename, or NULL */
  const char *content_type; /* or NULL */
  gint64 content_length;    /* the part's own Content-Length header, or -1 */
} PtsMultipartPart;

typedef struct
{
  /* A part starts; @offset is the body offset of its first data byte.
   * Return FALSE with @error set to stop. */
  gboolean (*part_begin) (gpointer user_data, const PtsMultipartPart *part, guint64 offset,
                          GError **error);
  gboolean (*part_data) (gpointer user_data, const guint8 *data, gsize len, GError **error);
  gboolean (*part_end) (gpointer user_data, GError **error);
} PtsMultipartCallbacks;

typedef struct _PtsMultipart PtsMultipart;

/* @boundary is the Content-Type's boundary parameter, already unquoted. */
PtsMultipart *pts_multipart_new (const char *boundary, const PtsMultipartCallbacks *callbacks,
                                 gpointer user_data);
void pts_multipart_free (PtsMultipart *parser);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsMultipart, pts_multipart_free)

gboolean pts_multipart_feed (PtsMultipart *parser, const guint8 *data, gsize len, GError **error);
/* The body ended: FALSE with TRUNCATED unless the closing delimiter was seen. */
gboolean pts_multipart_finish (PtsMultipart *parser, GError **error);
gboolean pts_multipart_is_done (PtsMultipart *parser);
/* Bytes the current part declared (its Content-Length) that have not come
 * yet: they are its data whatever they are, so its owner may take them
 * another way (straight from a socket) and tell the parser with
 * pts_multipart_skip_declared(), without part_data for them. 0 outside
 * such a part. */
guint64 pts_multipart_declared_left (PtsMultipart *parser);
void pts_multipart_skip_declared (PtsMultipart *parser, guint64 n);
/* Bytes of framing after the data of the last part, when the body is laid
 * out as usual: CRLF "--" boundary "--" CRLF. */
gsize pts_multipart_trailer_length (PtsMultipart *parser);

G_END_DECLS
