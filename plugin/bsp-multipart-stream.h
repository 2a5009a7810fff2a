/* bsp-multipart-stream.h — the upload's body as a stream: the multipart
 * head, exactly the offered size of the file, then the tail
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* In the reader's thread, once per block of the file: the file bytes
 * handed on so far. */
typedef void (*BspMultipartProgress) (guint64 file_done, gpointer user_data);

#define BSP_TYPE_MULTIPART_STREAM (bsp_multipart_stream_get_type ())
G_DECLARE_FINAL_TYPE (BspMultipartStream, bsp_multipart_stream, BSP, MULTIPART_STREAM, GInputStream)

/* @head, then @size bytes of @file (a file shorter than that is an
 * error, a longer one is cut), then @tail. Takes @head and @tail. */
GInputStream *bsp_multipart_stream_new (GBytes *head, GInputStream *file, guint64 size,
                                        GBytes *tail, BspMultipartProgress progress,
                                        gpointer progress_data);
/* The connection @msg goes on (its output): on HTTP/1.x the first read
 * writes the whole body onto it and ends. */
void bsp_multipart_stream_set_direct (BspMultipartStream *self, SoupMessage *msg,
                                      GOutputStream *direct);

G_END_DECLS
