/* pts-http-request.h — an upload request taken from libsoup: its body, then its answer
 *
 * libsoup's server reads a request body 8 KiB at a time, one main-loop turn
 * each, and answers only after the whole body; a proxy wants neither. So
 * every POST to an upload URL is taken from libsoup right after its head
 * (pts-http.c), and from then on this object owns the connection: it reads
 * the body in large blocks (Content-Length or chunked framing), and it
 * writes the one answer, at once when the body need not be read (a refusal,
 * before gigabytes arrive), then closes after a short bounded drain so that
 * the client reads the answer before the close resets the connection.
 *
 * With Content-Length, reading the body ourselves takes about 40 % less
 * server CPU per GiB than libsoup's chunks (tests/bench/run.sh, HTTP →
 * SOCKS5, when this path was introduced).
 *
 * Every request is listed in its PtsHttp's registry, which frees those
 * still alive when the HTTP side stops.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PtsHttpRequest PtsHttpRequest;

/* The body's bytes become readable again (or its end, or an error). */
typedef void (*PtsHttpRequestFunc) (PtsHttpRequest *request, gpointer user_data);

/* Takes @stream (and @socket, its plain socket, or NULL under TLS: only
 * a plain one is shut down after the answer). @content_length < 0: the
 * body is chunked. The request adds itself to @registry (a set) and
 * removes itself when it ends. */
PtsHttpRequest *pts_http_request_new (GIOStream *stream, GSocket *socket, gint64 content_length,
                                      GHashTable *registry);
/* Frees @request at once, closing its connection (the HTTP side stops). */
void pts_http_request_free (PtsHttpRequest *request);

/* Reads body bytes into @buf: > 0 bytes, 0 at the body's end, -1 with
 * @error (G_IO_ERROR_WOULD_BLOCK: nothing yet; watch). Never more than
 * @max bytes of body. */
gssize pts_http_request_read (PtsHttpRequest *request, guint8 *buf, gsize max, GError **error);
/* Body bytes not read yet, or -1 when unknown (chunked). */
gint64 pts_http_request_remaining (PtsHttpRequest *request);
/* The plain socket the body's next bytes are read from directly, once no
 * byte of it waits in a buffer above the socket (libsoup's, after the
 * head): a reader may then take up to pts_http_request_remaining() bytes
 * from it itself (splice(2), recv()), telling each with
 * pts_http_request_consumed(). -1: not yet, or never (TLS, chunked). The
 * watch below still tells when the socket is readable. */
int pts_http_request_raw_fd (PtsHttpRequest *request);
void pts_http_request_consumed (PtsHttpRequest *request, gsize n);
/* Calls @func once the body can be read (again); one watch at a time. */
void pts_http_request_watch (PtsHttpRequest *request, PtsHttpRequestFunc func, gpointer user_data);
void pts_http_request_unwatch (PtsHttpRequest *request);

/* Answers @status with @text and ends the request: the caller lets go of
 * it. With @read_rest, a body with at most @drain_max bytes left is read
 * (and dropped) first, as HTTP/1.1 answers after the request; otherwise,
 * or with more left, the answer goes out now and the connection closes
 * after a short drain. */
void pts_http_request_answer (PtsHttpRequest *request, guint status, const char *text,
                              gboolean read_rest);

G_END_DECLS
