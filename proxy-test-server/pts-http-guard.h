/* pts-http-guard.h — what the HTTP side lets through to libsoup
 *
 * libsoup 3.2 (Debian 12's; fixed in 3.6) leaks the request path of every
 * request whose body framing it does not recognise: a Transfer-Encoding
 * other than chunked or identity, or a Content-Length that is not a plain
 * number. Such requests cost a public server memory for good, 64 KiB per
 * request at most, as fast as an outsider can send them (3,000 requests
 * took 176 MiB in a trial). The guard stands between the connection and
 * libsoup: it reads the request's head as it passes and ends the
 * connection, answering 400 or 501 itself, before libsoup would parse a
 * head framed that way (or with a folded header line, which would fold
 * into such a value). Each connection carries one request (the server
 * answers every request with Connection: close), so the first head is the
 * only one to check.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The longest request head libsoup reads; past it the guard lets libsoup
 * refuse the request itself. */
#define PTS_HTTP_GUARD_MAX_HEAD (64 * 1024)

/* How far a head's lines were checked; zero-initialised for a new head. */
typedef struct
{
  gsize line_start; /* where the first line not checked yet starts */
  guint lines;      /* complete lines so far, the request line included */
  guint lengths;    /* Content-Length headers seen */
  guint codings;    /* Transfer-Encoding headers seen */
  gboolean ended;   /* the empty line that ends the head was seen */
} PtsHttpGuardScan;

/* Why @head (a request head, possibly incomplete: only its complete lines
 * count) must not reach libsoup: an HTTP status and a reason, or 0 when it
 * may. Checks only the lines completed since the last call with @scan, so
 * that @head can grow between calls. */
guint pts_http_guard_scan (PtsHttpGuardScan *scan, const char *head, gsize len, const char **why);
/* The same for a whole @head at once. Pure, for the tests. */
guint pts_http_guard_check (const char *head, gsize len, const char **why);

/* @base with its input read through the guard; closing it closes @base. */
GIOStream *pts_http_guard_new (GIOStream *base);
/* How many bytes the guard's input @stream has handed up (to libsoup,
 * or to whoever took the connection from it), or -1 when @stream is not
 * a guard's. The guard keeps nothing back over a plain socket: a read
 * above it that brings the bytes it passed came from the socket, not
 * from a buffer in between (pts-http-request.c). */
gint64 pts_http_guard_bytes_passed (GInputStream *stream);

G_END_DECLS
