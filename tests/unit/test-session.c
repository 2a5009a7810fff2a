/* test-session.c — the session table: register, find, limits, activate, end, status
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-session.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C "cccccccccccccccccccccccccccccccccccccccc"

static guint glue_freed;

static void
count_glue (gpointer glue)
{
  glue_freed++;
  g_free (glue);
}

static PtsSessionTable *
table_new (guint sessions, guint transfers, guint per_initiator)
{
  PtsSessionLimits limits = { sessions, transfers, per_initiator };

  glue_freed = 0;
  return pts_session_table_new (&limits, count_glue);
}

static void
activate (PtsSessionTable *table, PtsSession *session, const char *initiator)
{
  g_autofree char *up = NULL, *down = NULL;

  pts_session_table_activate (table, session, initiator, "bob@b/r", FALSE, 0, &up, &down);
  g_assert_null (up);
  g_assert_null (down);
}

static void
test_register_find (void)
{
  g_autoptr (PtsSessionTable) table = table_new (2, 8, 8);
  g_autoptr (GError) error = NULL;
  PtsSession *a = pts_session_table_add (table, HASH_A, 10, &error);

  g_assert_no_error (error);
  g_assert_nonnull (a);
  g_assert_cmpstr (a->hash, ==, HASH_A);
  g_assert_cmpint (a->state, ==, PTS_SESSION_PENDING);
  g_assert_cmpint (a->expected_size, ==, -1);
  g_assert_cmpint (a->created, ==, 10);
  a->glue = g_new0 (int, 1);
  g_assert_true (pts_session_table_lookup (table, HASH_A) == a);
  g_assert_null (pts_session_table_lookup (table, HASH_B));
  g_assert_nonnull (pts_session_table_add (table, HASH_B, 11, &error));
  /* Full: the third is refused with the limit's error. */
  g_assert_null (pts_session_table_add (table, HASH_C, 12, &error));
  g_assert_error (error, PTS_SESSION_ERROR, PTS_SESSION_ERROR_LIMIT);
  g_assert_cmpuint (pts_session_table_count (table), ==, 2);
  pts_session_table_end (table, a, "activation-timeout", 0);
  g_assert_cmpuint (glue_freed, ==, 1);
  g_assert_null (pts_session_table_lookup (table, HASH_A));
  g_assert_cmpuint (pts_session_table_count (table), ==, 1);
}

static void
test_limits (void)
{
  g_autoptr (PtsSessionTable) table = table_new (16, 3, 2);
  g_autoptr (GError) error = NULL;
  PtsSession *s1 = pts_session_table_add (table, HASH_A, 0, NULL);
  PtsSession *s2 = pts_session_table_add (table, HASH_B, 0, NULL);
  PtsSession *s3 = pts_session_table_add (table, HASH_C, 0, NULL);

  g_test_summary ("Per-sender and global limits count active sessions only, by the sender's "
                  "bare JID, and free up when a session ends.");
  g_assert_true (pts_session_table_may_activate (table, "alice@a", &error));
  activate (table, s1, "alice@a/one");
  g_assert_true (pts_session_table_may_activate (table, "alice@a", &error));
  activate (table, s2, "alice@a/two");
  g_assert_false (pts_session_table_may_activate (table, "alice@a", &error));
  g_assert_error (error, PTS_SESSION_ERROR, PTS_SESSION_ERROR_LIMIT);
  g_clear_error (&error);
  g_assert_true (pts_session_table_may_activate (table, "carol@a", &error));
  activate (table, s3, "carol@a/x");
  /* Three active: the global limit. */
  g_assert_false (pts_session_table_may_activate (table, "dave@a", &error));
  g_clear_error (&error);
  pts_session_table_end (table, s1, NULL, 100);
  g_assert_true (pts_session_table_may_activate (table, "alice@a", &error));
  g_assert_no_error (error);
}

static void
test_tokens (void)
{
  g_autoptr (PtsSessionTable) table = table_new (4, 4, 4);
  PtsSession *s = pts_session_table_add (table, HASH_A, 0, NULL);
  g_autofree char *up = NULL, *down = NULL;
  g_autofree char *wrong = NULL;

  g_test_summary ("An activation with HTTP on both sides hands out two tokens that open "
                  "exactly this session, each for its own side, until it ends.");
  s->http_target = TRUE;
  pts_session_table_activate (table, s, "alice@a/r", "bob@b/r", TRUE, 5, &up, &down);
  g_assert_nonnull (up);
  g_assert_nonnull (down);
  g_assert_cmpstr (up, !=, down);
  g_assert_cmpint (s->state, ==, PTS_SESSION_ACTIVE);
  g_assert_cmpstr (s->initiator_bare, ==, "alice@a");
  g_assert_cmpint (s->activated, ==, 5);
  g_assert_true (pts_session_table_find_upload (table, up) == s);
  g_assert_true (pts_session_table_find_download (table, down) == s);
  g_assert_null (pts_session_table_find_upload (table, down));
  g_assert_null (pts_session_table_find_download (table, up));
  wrong = g_strdup (up);
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  g_assert_null (pts_session_table_find_upload (table, wrong));
  g_assert_null (pts_session_table_find_upload (table, ""));
  g_assert_null (pts_session_table_find_upload (table, NULL));
  pts_session_table_end (table, s, NULL, 1);
  g_assert_null (pts_session_table_find_upload (table, up));
  g_assert_null (pts_session_table_find_download (table, down));
}

static void
test_status (void)
{
  g_autoptr (PtsSessionTable) table = table_new (4, 4, 4);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  PtsSession *a = pts_session_table_add (table, HASH_A, 0, NULL);
  PtsSession *b = pts_session_table_add (table, HASH_B, 0, NULL);
  PtsSession *c = pts_session_table_add (table, HASH_C, 0, NULL);
  JsonObject *counters;

  g_test_summary ("The status shows each session by an 8-character SIDHASH prefix only, and "
                  "counts transfers done and failed by reason, with the bytes.");
  pts_session_table_end (table, a, NULL, 1000);
  pts_session_table_end (table, b, "receiver-gone", 10);
  json_builder_begin_object (builder);
  pts_session_table_build_status (table, builder, G_USEC_PER_SEC, NULL, NULL);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  g_assert_null (strstr (json, HASH_C));
  g_assert_nonnull (strstr (json, "\"cccccccc\""));
  counters = json_object_get_object_member (json_node_get_object (root), "counters");
  g_assert_cmpint (json_object_get_int_member (counters, "transfers_done"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (counters, "transfers_failed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (counters, "bytes_relayed"), ==, 1010);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (counters, "failed_by_reason"),
                                  "receiver-gone"),
      ==, 1);
  (void) c;
}

static void
test_clear (void)
{
  g_autoptr (PtsSessionTable) table = table_new (4, 4, 4);

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *hash = g_strdup_printf ("%040u", i);
      PtsSession *s = pts_session_table_add (table, hash, 0, NULL);
      s->glue = g_new0 (int, 1);
    }
  pts_session_table_clear (table);
  g_assert_cmpuint (glue_freed, ==, 3);
  g_assert_cmpuint (pts_session_table_count (table), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unit/session/register-find", test_register_find);
  g_test_add_func ("/unit/session/limits", test_limits);
  g_test_add_func ("/unit/session/tokens", test_tokens);
  g_test_add_func ("/unit/session/status", test_status);
  g_test_add_func ("/unit/session/clear", test_clear);
  return g_test_run ();
}
