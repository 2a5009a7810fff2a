/* bsb-stream.h — the benchmark's pseudo-random byte stream: cheap to make, cheap to check
 *
 * Byte k of the stream with seed S is byte (k mod 8) of the little-endian
 * 64-bit word w = k / 8, and word w is table[w mod BLOCK] XOR key(S, w / BLOCK):
 * a 64 KiB splitmix64 table shared by every stream, re-keyed every block by a
 * splitmix64 of the seed and the block number. A sender fills its buffer and a
 * receiver checks what it got at about memory speed, so neither is the
 * bottleneck; a dropped, repeated or reordered piece of any size shows up as
 * a mismatch at a known offset.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes bytes [@offset, @offset + @len) of the stream @seed into @buf. */
void bsb_stream_fill (guint64 seed, guint64 offset, guint8 *buf, gsize len);

/* Checks @len received bytes that should be the stream @seed from @offset on.
 * Returns TRUE when they match; else FALSE, with the offset of the first
 * wrong byte in @bad_offset when it is not NULL. */
gboolean bsb_stream_check (guint64 seed, guint64 offset, const guint8 *buf, gsize len,
                           guint64 *bad_offset);

/* A receiver's running check: feed it the bytes in order as they come. */
typedef struct
{
  guint64 seed;
  guint64 offset;     /* bytes seen so far */
  gboolean ok;        /* FALSE once a byte was wrong */
  guint64 bad_offset; /* the first wrong byte, when !ok */
} BsbStreamCheck;

void bsb_stream_check_init (BsbStreamCheck *check, guint64 seed);
void bsb_stream_check_feed (BsbStreamCheck *check, const guint8 *buf, gsize len);

G_END_DECLS
