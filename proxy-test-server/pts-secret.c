/* pts-secret.c — capability tokens from the kernel's random source
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#define G_LOG_DOMAIN "pts-secret"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "pts-secret.h"

static void
pts_secret_fill (guint8 *buf, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = getrandom (buf + done, len - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("getrandom failed (%s): refusing to make a guessable token", g_strerror (errno));
      done += (gsize) n;
    }
}

char *
pts_secret_token_new (void)
{
  guint8 raw[PTS_SECRET_BYTES];
  g_autofree char *b64 = NULL;
  GString *out;

  pts_secret_fill (raw, sizeof raw);
  b64 = g_base64_encode (raw, sizeof raw);
  memset (raw, 0, sizeof raw);
  out = g_string_sized_new (strlen (b64));
  for (const char *p = b64; *p != '\0'; p++)
    {
      if (*p == '+')
        g_string_append_c (out, '-');
      else if (*p == '/')
        g_string_append_c (out, '_');
      else if (*p != '=')
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
pts_secret_token_key (const char *token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

gboolean
pts_secret_equal (const void *a, gsize a_len, const void *b, gsize b_len)
{
  guint8 da[32], db[32];
  gsize la = sizeof da, lb = sizeof db;
  g_autoptr (GChecksum) ca = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GChecksum) cb = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 diff = 0;

  g_checksum_update (ca, a, (gssize) a_len);
  g_checksum_update (cb, b, (gssize) b_len);
  g_checksum_get_digest (ca, da, &la);
  g_checksum_get_digest (cb, db, &lb);
  for (gsize i = 0; i < sizeof da; i++)
    diff |= da[i] ^ db[i];
  return diff == 0;
}
