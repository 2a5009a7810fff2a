/* bsb-stream.c — the benchmark's pseudo-random byte stream
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsb-stream.h"

#define BSB_STREAM_BLOCK_WORDS 8192 /* 64 KiB per key */
#define BSB_STREAM_TABLE_SEED G_GUINT64_CONSTANT (0x62736270726f7879)

static guint64 bsb_stream_table[BSB_STREAM_BLOCK_WORDS];
static GOnce bsb_stream_table_once = G_ONCE_INIT;

static inline guint64
bsb_stream_splitmix64 (guint64 x)
{
  x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static gpointer
bsb_stream_table_init (gpointer data)
{
  for (guint i = 0; i < BSB_STREAM_BLOCK_WORDS; i++)
    bsb_stream_table[i] = bsb_stream_splitmix64 (BSB_STREAM_TABLE_SEED + i);
  return NULL;
}

static inline const guint64 *
bsb_stream_get_table (void)
{
  g_once (&bsb_stream_table_once, bsb_stream_table_init, NULL);
  return bsb_stream_table;
}

static inline guint64
bsb_stream_key (guint64 seed, guint64 block)
{
  return bsb_stream_splitmix64 (bsb_stream_splitmix64 (seed) ^ block);
}

static inline guint64
bsb_stream_word (const guint64 *table, guint64 seed, guint64 w)
{
  return GUINT64_TO_LE (table[w % BSB_STREAM_BLOCK_WORDS]
                        ^ bsb_stream_key (seed, w / BSB_STREAM_BLOCK_WORDS));
}

static inline guint8
bsb_stream_byte (const guint64 *table, guint64 seed, guint64 offset)
{
  guint64 word = GUINT64_FROM_LE (bsb_stream_word (table, seed, offset / 8));

  return (guint8) (word >> (8 * (offset % 8)));
}

void
bsb_stream_fill (guint64 seed, guint64 offset, guint8 *buf, gsize len)
{
  const guint64 *table = bsb_stream_get_table ();
  gsize i = 0;

  /* Unaligned head, whole words block by block, tail. */
  while (i < len && (offset + i) % 8 != 0)
    {
      buf[i] = bsb_stream_byte (table, seed, offset + i);
      i++;
    }
  while (len - i >= 8)
    {
      guint64 w = (offset + i) / 8;
      guint64 key = GUINT64_TO_LE (bsb_stream_key (seed, w / BSB_STREAM_BLOCK_WORDS));
      gsize first = w % BSB_STREAM_BLOCK_WORDS;
      gsize n = MIN ((len - i) / 8, BSB_STREAM_BLOCK_WORDS - first);
      const guint64 *t = table + first;
      guint8 *out = buf + i;

      for (gsize j = 0; j < n; j++)
        {
          guint64 v = GUINT64_TO_LE (t[j]) ^ key;
          memcpy (out + 8 * j, &v, 8);
        }
      i += 8 * n;
    }
  while (i < len)
    {
      buf[i] = bsb_stream_byte (table, seed, offset + i);
      i++;
    }
}

/* The first wrong byte of a range known to hold one. */
static guint64
bsb_stream_find_bad (const guint64 *table, guint64 seed, guint64 offset, const guint8 *buf,
                     gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (buf[i] != bsb_stream_byte (table, seed, offset + i))
      return offset + i;
  return offset + len;
}

gboolean
bsb_stream_check (guint64 seed, guint64 offset, const guint8 *buf, gsize len, guint64 *bad_offset)
{
  const guint64 *table = bsb_stream_get_table ();
  gsize i = 0;

  while (i < len && (offset + i) % 8 != 0)
    {
      if (buf[i] != bsb_stream_byte (table, seed, offset + i))
        goto bad;
      i++;
    }
  while (len - i >= 8)
    {
      guint64 w = (offset + i) / 8;
      guint64 key = GUINT64_TO_LE (bsb_stream_key (seed, w / BSB_STREAM_BLOCK_WORDS));
      gsize first = w % BSB_STREAM_BLOCK_WORDS;
      gsize n = MIN ((len - i) / 8, BSB_STREAM_BLOCK_WORDS - first);
      const guint64 *t = table + first;
      const guint8 *in = buf + i;
      guint64 diff = 0;

      /* One OR-reduction per segment: vectorises, no branch per word. */
      for (gsize j = 0; j < n; j++)
        {
          guint64 v;
          memcpy (&v, in + 8 * j, 8);
          diff |= v ^ GUINT64_TO_LE (t[j]) ^ key;
        }
      if (diff != 0)
        goto bad;
      i += 8 * n;
    }
  while (i < len)
    {
      if (buf[i] != bsb_stream_byte (table, seed, offset + i))
        goto bad;
      i++;
    }
  return TRUE;

bad:
  if (bad_offset != NULL)
    *bad_offset = bsb_stream_find_bad (table, seed, offset, buf, len);
  return FALSE;
}

void
bsb_stream_check_init (BsbStreamCheck *check, guint64 seed)
{
  check->seed = seed;
  check->offset = 0;
  check->ok = TRUE;
  check->bad_offset = 0;
}

void
bsb_stream_check_feed (BsbStreamCheck *check, const guint8 *buf, gsize len)
{
  if (check->ok && !bsb_stream_check (check->seed, check->offset, buf, len, &check->bad_offset))
    check->ok = FALSE;
  check->offset += len;
}
