/* bsp-multipart.h — what both programs write about a file on the wire:
 * the upload's multipart/form-data framing (the plugin) and the file name
 * in a Content-Disposition (both)
 *
 * The server's parser (proxy-test-server/pts-multipart.c) reads exactly
 * what bsp_multipart_head () and bsp_multipart_tail () write; a unit test
 * runs one into the other (tests/unit/test-multipart-roundtrip.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The Content-Disposition parameters that name @name: an ASCII fallback
 * for old parsers in filename= (every byte outside printable ASCII, every
 * quote, backslash and slash as '_'), the exact name in filename*
 * (RFC 5987/6266: UTF-8, percent-encoded). */
char *bsp_disposition_filename (const char *name);

/* Everything of an upload's body before the file's bytes: the SIDHASH part,
 * then the FILE part's headers (PROTOCOL.md §3.4). @size is the file part's
 * length. */
char *bsp_multipart_head (const char *boundary, const char *sidhash, const char *filename,
                          guint64 size);
/* Everything after the file's bytes: the closing delimiter. */
char *bsp_multipart_tail (const char *boundary);

G_END_DECLS
