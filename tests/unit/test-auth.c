/* test-auth.c — SASL PLAIN checks and the login slowdown, with a fake clock
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-auth.h"

#define MS (G_GINT64_CONSTANT (1000))

typedef struct
{
  const char *name;
  const char *authzid;
  const char *authcid;
  const char *password;
  PtsAuthResult result;
} PlainCase;

static const PlainCase plain_cases[] = {
  { "ok", "", "alice", "secret", PTS_AUTH_OK },
  { "ok-upper-case-name", "", "ALICE", "secret", PTS_AUTH_OK },
  { "ok-authzid-node", "alice", "alice", "secret", PTS_AUTH_OK },
  { "ok-authzid-bare-jid", "alice@localhost", "alice", "secret", PTS_AUTH_OK },
  { "ok-authzid-case", "Alice@LocalHost", "alice", "secret", PTS_AUTH_OK },
  { "wrong-password", "", "alice", "secreT", PTS_AUTH_NOT_AUTHORIZED },
  { "longer-password", "", "alice", "secret2", PTS_AUTH_NOT_AUTHORIZED },
  { "password-prefix", "", "alice", "secre", PTS_AUTH_NOT_AUTHORIZED },
  { "empty-password", "", "alice", "", PTS_AUTH_NOT_AUTHORIZED },
  { "unknown-account", "", "mallory", "secret", PTS_AUTH_NOT_AUTHORIZED },
  { "authzid-prefix", "aliceXYZ@evil", "alice", "secret", PTS_AUTH_NOT_AUTHORIZED },
  { "authzid-other-domain", "alice@evil", "alice", "secret", PTS_AUTH_NOT_AUTHORIZED },
  { "authzid-other-account", "bob@localhost", "alice", "secret", PTS_AUTH_NOT_AUTHORIZED },
  { "authzid-shorter", "alic", "alice", "secret", PTS_AUTH_NOT_AUTHORIZED },
};

static char *
plain_b64 (const char *authzid, const char *authcid, const char *password)
{
  GString *raw = g_string_new (NULL);
  char *b64;

  g_string_append (raw, authzid);
  g_string_append_c (raw, '\0');
  g_string_append (raw, authcid);
  g_string_append_c (raw, '\0');
  g_string_append (raw, password);
  b64 = g_base64_encode ((const guchar *) raw->str, raw->len);
  g_string_free (raw, TRUE);
  return b64;
}

static GHashTable *
accounts_new (void)
{
  GHashTable *accounts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_hash_table_insert (accounts, g_strdup ("alice"), g_strdup ("secret"));
  g_hash_table_insert (accounts, g_strdup ("bob"), g_strdup ("other"));
  return accounts;
}

static void
test_plain (gconstpointer data)
{
  const PlainCase *tc = data;
  g_autoptr (GHashTable) accounts = accounts_new ();
  g_autofree char *b64 = plain_b64 (tc->authzid, tc->authcid, tc->password);
  g_autofree char *node = NULL, *shown = NULL;

  g_assert_cmpint (pts_auth_plain (b64, accounts, "localhost", &node, &shown), ==, tc->result);
  g_assert_cmpstr (shown, ==, tc->authcid);
  if (tc->result == PTS_AUTH_OK)
    g_assert_cmpstr (node, ==, "alice");
  else
    g_assert_null (node);
}

static void
test_plain_malformed (void)
{
  static const char *const inputs[]
      = { "", "!!!not base64", "YWxpY2U=" /* "alice" */, "AGFsaWNl" /* "\0alice" */,
          "AGFsaWNlAHNlY3JldABleHRyYQ==" /* a third NUL */ };
  g_autoptr (GHashTable) accounts = accounts_new ();

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autofree char *node = NULL, *shown = NULL;

      g_test_message ("%s", inputs[i]);
      g_assert_cmpint (pts_auth_plain (inputs[i], accounts, "localhost", &node, &shown), ==,
                       PTS_AUTH_MALFORMED);
      g_assert_null (node);
    }
}

static void
test_throttle (void)
{
  g_autoptr (PtsAuthThrottle) t = pts_auth_throttle_new ();
  gint64 now = 1000 * G_USEC_PER_SEC;

  g_test_summary ("Three failures from an address are free; then attempts from it wait 0.5 s, "
                  "1 s, 2 s, 4 s, 4 s… after the previous turn, another address is not "
                  "affected, a success clears the address, and failures are forgotten after "
                  "15 minutes.");
  for (guint i = 0; i < PTS_AUTH_FREE_FAILURES; i++)
    {
      g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 0);
      pts_auth_throttle_failed (t, "192.0.2.1", now);
    }
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 0);
  pts_auth_throttle_failed (t, "192.0.2.1", now); /* the fourth */
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 500 * MS);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.2", now), ==, 0);
  /* Failures made while waiting push the next turn further. */
  pts_auth_throttle_failed (t, "192.0.2.1", now);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 1500 * MS);
  pts_auth_throttle_failed (t, "192.0.2.1", now);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 3500 * MS);
  pts_auth_throttle_failed (t, "192.0.2.1", now);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 7500 * MS);
  pts_auth_throttle_failed (t, "192.0.2.1", now);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 11500 * MS);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now + 11500 * MS), ==, 0);

  pts_auth_throttle_succeeded (t, "192.0.2.1");
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.1", now), ==, 0);

  for (guint i = 0; i <= PTS_AUTH_FREE_FAILURES; i++)
    pts_auth_throttle_failed (t, "192.0.2.3", now);
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.3", now), ==, 500 * MS);
  now += (gint64) PTS_AUTH_FORGET_S * G_USEC_PER_SEC + 1;
  pts_auth_throttle_failed (t, "192.0.2.3", now); /* the first again */
  g_assert_cmpint (pts_auth_throttle_wait (t, "192.0.2.3", now), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (plain_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/unit/auth/plain/%s", plain_cases[i].name);
      g_test_add_data_func (path, &plain_cases[i], test_plain);
    }
  g_test_add_func ("/unit/auth/plain/malformed", test_plain_malformed);
  g_test_add_func ("/unit/auth/throttle", test_throttle);
  return g_test_run ();
}
