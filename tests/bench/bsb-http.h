/* bsb-http.h — the HTTP/1.1 clients of the benchmark, on raw sockets or TLS
 *
 * http:// and https:// URLs alike (TLS through bsb-conn.h). The upload
 * POSTs multipart/form-data (part SIDHASH, then part FILE) with an exact
 * Content-Length and waits for the proxy's answer, which comes only once
 * the receiver has every byte. The download GETs the file and checks it as
 * it arrives, with or without chunked transfer coding. The PUT is
 * XEP-0363's upload to a slot.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "bsb-net.h"

G_BEGIN_DECLS

/* *@tls: whether @url is https://. */
gboolean bsb_http_parse_url (const char *url, gboolean *tls, char **host, guint16 *port,
                             char **path, GError **error);

/* Uploads @size bytes of the stream @seed to @url through a @buf_size
 * buffer. With @part_length the FILE part carries its own Content-Length
 * (the proxy then sends the download with a Content-Length instead of
 * chunked). TRUE once the proxy answered 200. The socket is published in
 * @slot while it is open. */
gboolean bsb_http_upload (const char *url, const char *sidhash, guint64 seed, guint64 size,
                          gsize buf_size, gboolean part_length, int timeout_s, BsbSocketSlot *slot,
                          GError **error);

/* PUTs @size bytes of the stream @seed to @url with @extra_headers (each
 * line ending in CRLF, or NULL); TRUE once the server answered 201. */
gboolean bsb_http_put (const char *url, const char *extra_headers, guint64 seed, guint64 size,
                       gsize buf_size, int timeout_s, BsbSocketSlot *slot, GError **error);

/* Downloads @url, which must be exactly @size bytes of the stream @seed.
 * *@last_byte_us: g_get_monotonic_time() when the last body byte came. */
gboolean bsb_http_download (const char *url, guint64 seed, guint64 size, gsize buf_size,
                            int timeout_s, BsbSocketSlot *slot, gint64 *last_byte_us,
                            GError **error);

G_END_DECLS
