/* pts-session.c — the proxy's session table: one session per stream, keyed by SIDHASH
 *
 * Threads: main thread only, counters and /status included; a relay that
 * ran on a worker ends its session from the main thread
 * (pts-proxy-session.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-secret.h"
#include "pts-session.h"

/* Characters of a SIDHASH shown on /status: enough to tell sessions apart
 * in a log, far too few to stand in for it. */
#define PTS_STATUS_HASH_PREFIX 8

G_DEFINE_QUARK (pts - session - error - quark, pts_session_error)

/* What the table keeps of a session beside the public part. */
typedef struct
{
  PtsSession pub;
  char *upload_key; /* SHA-256 of the capability tokens, never the tokens */
  char *download_key;
} PtsSessionPrivate;

struct _PtsSessionTable
{
  PtsSessionLimits limits;
  GDestroyNotify free_glue;
  GHashTable *sessions;  /* hash → PtsSessionPrivate */
  GHashTable *uploads;   /* upload token's key → PtsSessionPrivate */
  GHashTable *downloads; /* download token's key → PtsSessionPrivate */
  guint active;

  guint64 done;
  guint64 failed;
  guint64 bytes;
  GHashTable *failures; /* reason → count */
};

static void
pts_session_free (PtsSessionTable *table, PtsSessionPrivate *session)
{
  if (session->pub.glue != NULL && table->free_glue != NULL)
    table->free_glue (session->pub.glue);
  g_free (session->pub.hash);
  g_free (session->pub.initiator);
  g_free (session->pub.target);
  g_free (session->pub.initiator_bare);
  g_free (session->upload_key);
  g_free (session->download_key);
  g_free (session);
}

PtsSessionTable *
pts_session_table_new (const PtsSessionLimits *limits, GDestroyNotify free_glue)
{
  PtsSessionTable *self = g_new0 (PtsSessionTable, 1);

  self->limits = *limits;
  self->free_glue = free_glue;
  self->sessions = g_hash_table_new (g_str_hash, g_str_equal);
  self->uploads = g_hash_table_new (g_str_hash, g_str_equal);
  self->downloads = g_hash_table_new (g_str_hash, g_str_equal);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
pts_session_table_free (PtsSessionTable *self)
{
  if (self == NULL)
    return;
  pts_session_table_clear (self);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->uploads);
  g_hash_table_unref (self->downloads);
  g_hash_table_unref (self->failures);
  g_free (self);
}

PtsSession *
pts_session_table_lookup (PtsSessionTable *self, const char *hash)
{
  return g_hash_table_lookup (self->sessions, hash);
}

guint
pts_session_table_count (PtsSessionTable *self)
{
  return g_hash_table_size (self->sessions);
}

PtsSession *
pts_session_table_add (PtsSessionTable *self, const char *hash, gint64 now, GError **error)
{
  PtsSessionPrivate *session;

  g_return_val_if_fail (!g_hash_table_contains (self->sessions, hash), NULL);
  if (g_hash_table_size (self->sessions) >= self->limits.max_sessions)
    {
      g_set_error_literal (error, PTS_SESSION_ERROR, PTS_SESSION_ERROR_LIMIT, "too many sessions");
      return NULL;
    }
  session = g_new0 (PtsSessionPrivate, 1);
  session->pub.hash = g_strdup (hash);
  session->pub.state = PTS_SESSION_PENDING;
  session->pub.expected_size = -1;
  session->pub.created = now;
  g_hash_table_insert (self->sessions, session->pub.hash, session);
  return &session->pub;
}

gboolean
pts_session_table_may_activate (PtsSessionTable *self, const char *initiator_bare, GError **error)
{
  GHashTableIter iter;
  PtsSession *session;
  guint mine = 0;

  if (self->active >= self->limits.max_transfers)
    {
      g_set_error_literal (error, PTS_SESSION_ERROR, PTS_SESSION_ERROR_LIMIT, "too many transfers");
      return FALSE;
    }
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    if (session->state == PTS_SESSION_ACTIVE
        && g_strcmp0 (session->initiator_bare, initiator_bare) == 0)
      mine++;
  if (mine >= self->limits.max_per_initiator)
    {
      g_set_error_literal (error, PTS_SESSION_ERROR, PTS_SESSION_ERROR_LIMIT,
                           "too many transfers from this sender");
      return FALSE;
    }
  return TRUE;
}

static char *
pts_session_table_new_token (GHashTable *index, PtsSessionPrivate *session, char **key)
{
  char *token = pts_secret_token_new ();

  *key = pts_secret_token_key (token);
  g_hash_table_insert (index, *key, session);
  return token;
}

void
pts_session_table_activate (PtsSessionTable *self, PtsSession *pub, const char *initiator,
                            const char *target, gboolean http_initiator, gint64 now,
                            char **upload_token, char **download_token)
{
  PtsSessionPrivate *session = (PtsSessionPrivate *) pub;
  const char *slash = strchr (initiator, '/');

  g_return_if_fail (pub->state == PTS_SESSION_PENDING);
  g_free (pub->initiator);
  g_free (pub->target);
  pub->initiator = g_strdup (initiator);
  pub->target = g_strdup (target);
  pub->initiator_bare = slash ? g_strndup (initiator, slash - initiator) : g_strdup (initiator);
  pub->state = PTS_SESSION_ACTIVE;
  pub->activated = now;
  self->active++;
  *upload_token = http_initiator
                      ? pts_session_table_new_token (self->uploads, session, &session->upload_key)
                      : NULL;
  *download_token = pub->http_target ? pts_session_table_new_token (self->downloads, session,
                                                                    &session->download_key)
                                     : NULL;
}

static PtsSession *
pts_session_table_find_token (GHashTable *index, const char *token)
{
  g_autofree char *key = NULL;

  if (token == NULL || *token == '\0' || strlen (token) > 64)
    return NULL;
  key = pts_secret_token_key (token);
  return g_hash_table_lookup (index, key);
}

PtsSession *
pts_session_table_find_upload (PtsSessionTable *self, const char *token)
{
  return pts_session_table_find_token (self->uploads, token);
}

PtsSession *
pts_session_table_find_download (PtsSessionTable *self, const char *token)
{
  return pts_session_table_find_token (self->downloads, token);
}

static void
pts_session_table_unlink (PtsSessionTable *self, PtsSessionPrivate *session)
{
  g_hash_table_remove (self->sessions, session->pub.hash);
  if (session->upload_key != NULL)
    g_hash_table_remove (self->uploads, session->upload_key);
  if (session->download_key != NULL)
    g_hash_table_remove (self->downloads, session->download_key);
  if (session->pub.state == PTS_SESSION_ACTIVE)
    self->active--;
}

void
pts_session_table_end (PtsSessionTable *self, PtsSession *pub, const char *failure, guint64 bytes)
{
  PtsSessionPrivate *session = (PtsSessionPrivate *) pub;

  self->bytes += bytes;
  if (failure == NULL)
    self->done++;
  else
    {
      gpointer count = g_hash_table_lookup (self->failures, failure);

      self->failed++;
      g_hash_table_replace (self->failures, g_strdup (failure),
                            GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
    }
  /* Out of every index first: the glue's teardown may look sessions up. */
  pts_session_table_unlink (self, session);
  pts_session_free (self, session);
}

void
pts_session_table_clear (PtsSessionTable *self)
{
  /* Bounded: each round removes one session. */
  while (g_hash_table_size (self->sessions) > 0)
    {
      GHashTableIter iter;
      PtsSessionPrivate *session;

      g_hash_table_iter_init (&iter, self->sessions);
      g_hash_table_iter_next (&iter, NULL, (gpointer *) &session);
      pts_session_table_unlink (self, session);
      pts_session_free (self, session);
    }
}

void
pts_session_table_build_status (PtsSessionTable *self, JsonBuilder *builder, gint64 now,
                                PtsSessionDescribeFunc describe, gpointer user_data)
{
  GHashTableIter iter;
  PtsSession *session;
  const char *reason;
  gpointer count;

  json_builder_set_member_name (builder, "sessions");
  json_builder_begin_array (builder);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      g_autofree char *prefix = g_strndup (session->hash, PTS_STATUS_HASH_PREFIX);

      json_builder_begin_object (builder);
      /* Only a prefix: the whole SIDHASH is what a SOCKS5 party shows. */
      json_builder_set_member_name (builder, "sidhash_prefix");
      json_builder_add_string_value (builder, prefix);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder,
                                     session->state == PTS_SESSION_ACTIVE ? "active" : "pending");
      json_builder_set_member_name (builder, "age_s");
      json_builder_add_double_value (builder, (now - session->created) / (double) G_USEC_PER_SEC);
      if (describe != NULL)
        describe (session, builder, user_data);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "counters");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "transfers_done");
  json_builder_add_int_value (builder, (gint64) self->done);
  json_builder_set_member_name (builder, "transfers_failed");
  json_builder_add_int_value (builder, (gint64) self->failed);
  json_builder_set_member_name (builder, "bytes_relayed");
  json_builder_add_int_value (builder, (gint64) self->bytes);
  json_builder_set_member_name (builder, "failed_by_reason");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->failures);
  while (g_hash_table_iter_next (&iter, (gpointer *) &reason, &count))
    {
      json_builder_set_member_name (builder, reason);
      json_builder_add_int_value (builder, GPOINTER_TO_UINT (count));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}
