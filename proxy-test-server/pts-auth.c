/* pts-auth.c — the embedded server's logins: SASL PLAIN and the slowdown of guessing
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-auth.h"
#include "pts-secret.h"

/* Whether the SASL authorization identity @authzid may go with @node:
 * empty, the node itself or its bare JID, exactly (ASCII case aside). */
static gboolean
pts_auth_authzid_ok (const char *authzid, const char *node, const char *domain)
{
  g_autofree char *bare = NULL;

  if (*authzid == '\0' || g_ascii_strcasecmp (authzid, node) == 0)
    return TRUE;
  bare = g_strdup_printf ("%s@%s", node, domain);
  return g_ascii_strcasecmp (authzid, bare) == 0;
}

PtsAuthResult
pts_auth_plain (const char *b64, GHashTable *accounts, const char *domain, char **node_out,
                char **shown)
{
  gsize len = 0;
  g_autofree guchar *raw = g_base64_decode (b64, &len);
  const char *end = (const char *) raw + len;
  const char *authzid = (const char *) raw;
  const char *authcid = raw != NULL ? memchr (authzid, '\0', len) : NULL;
  const char *password = authcid ? memchr (authcid + 1, '\0', end - authcid - 1) : NULL;
  g_autofree char *node = NULL;
  const char *expected;
  gboolean ok;

  if (shown != NULL)
    *shown = g_strdup ("");
  if (authcid == NULL || password == NULL || memchr (password + 1, '\0', end - password - 1))
    return PTS_AUTH_MALFORMED;
  authcid++;
  password++;
  if (shown != NULL)
    {
      g_free (*shown);
      *shown = g_utf8_make_valid (authcid, MIN (strlen (authcid), 64));
    }
  node = g_utf8_validate (authcid, -1, NULL) ? g_utf8_strdown (authcid, -1) : NULL;
  expected = node != NULL ? g_hash_table_lookup (accounts, node) : NULL;
  /* Compared in constant time, and compared even for an unknown account
   * (against nothing), so that timing says nothing about either. */
  ok = pts_secret_equal (expected != NULL ? expected : "", expected != NULL ? strlen (expected) : 0,
                         password, (gsize) (end - password))
       && expected != NULL && pts_auth_authzid_ok (authzid, node, domain);
  if (!ok)
    return PTS_AUTH_NOT_AUTHORIZED;
  *node_out = g_steal_pointer (&node);
  return PTS_AUTH_OK;
}

typedef struct
{
  guint failures;
  gint64 next_allowed; /* no attempt from there is checked before */
  gint64 last;
} PtsAuthPenalty;

struct _PtsAuthThrottle
{
  GHashTable *penalties; /* address → PtsAuthPenalty */
};

PtsAuthThrottle *
pts_auth_throttle_new (void)
{
  PtsAuthThrottle *self = g_new0 (PtsAuthThrottle, 1);

  self->penalties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
pts_auth_throttle_free (PtsAuthThrottle *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->penalties);
  g_free (self);
}

gint64
pts_auth_throttle_wait (PtsAuthThrottle *self, const char *address, gint64 now)
{
  PtsAuthPenalty *penalty = g_hash_table_lookup (self->penalties, address);

  return penalty != NULL ? MAX (0, penalty->next_allowed - now) : 0;
}

void
pts_auth_throttle_failed (PtsAuthThrottle *self, const char *address, gint64 now)
{
  gint64 forget = (gint64) PTS_AUTH_FORGET_S * G_USEC_PER_SEC;
  PtsAuthPenalty *penalty = g_hash_table_lookup (self->penalties, address);

  if (penalty == NULL)
    {
      if (g_hash_table_size (self->penalties) >= PTS_AUTH_MAX_ADDRESSES)
        {
          GHashTableIter iter;
          PtsAuthPenalty *p;

          g_hash_table_iter_init (&iter, self->penalties);
          while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &p))
            if (now - p->last > forget)
              g_hash_table_iter_remove (&iter);
        }
      if (g_hash_table_size (self->penalties) >= PTS_AUTH_MAX_ADDRESSES)
        return; /* full of recent failures: the connection limits hold */
      penalty = g_new0 (PtsAuthPenalty, 1);
      g_hash_table_insert (self->penalties, g_strdup (address), penalty);
    }
  else if (now - penalty->last > forget)
    penalty->failures = 0;
  penalty->last = now;
  if (++penalty->failures > PTS_AUTH_FREE_FAILURES)
    {
      guint step = MIN (penalty->failures - PTS_AUTH_FREE_FAILURES - 1, 3);
      gint64 delay = MIN ((gint64) 500 << step, PTS_AUTH_MAX_DELAY_MS) * 1000;

      /* Attempts from one address are spaced out, however many
       * connections they come on. */
      penalty->next_allowed = MAX (penalty->next_allowed, now) + delay;
    }
}

void
pts_auth_throttle_succeeded (PtsAuthThrottle *self, const char *address)
{
  g_hash_table_remove (self->penalties, address);
}
