/* test-secret.c — capability tokens and constant-time comparison
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-secret.h"

static void
test_token_shape (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint counts[256] = { 0 };
  guint total = 0;

  g_test_summary ("Tokens are 32 URL-safe characters (192 bits), all different, and their "
                  "characters spread over the whole alphabet.");
  for (guint i = 0; i < 4096; i++)
    {
      char *token = pts_secret_token_new ();

      g_assert_cmpuint (strlen (token), ==, 32);
      g_assert_cmpuint (strspn (token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_"),
                        ==, 32);
      for (const char *p = token; *p; p++, total++)
        counts[(guchar) *p]++;
      g_assert_true (g_hash_table_add (seen, token));
    }
  /* 131072 characters over 64 symbols: about 2048 each. A generator that
   * favoured or skipped symbols would show here. */
  for (guint c = 0; c < 256; c++)
    if (counts[c] > 0)
      {
        g_assert_cmpuint (counts[c], >, total / 64 / 2);
        g_assert_cmpuint (counts[c], <, total / 64 * 2);
      }
  g_assert_cmpuint (counts['-'] + counts['_'], >, 0);
}

static void
test_token_key (void)
{
  g_autofree char *a = pts_secret_token_key ("token");
  g_autofree char *b = pts_secret_token_key ("token");
  g_autofree char *c = pts_secret_token_key ("tokeN");

  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, !=, c);
  g_assert_cmpuint (strlen (a), ==, 64);
}

static void
test_equal (void)
{
  g_assert_true (pts_secret_equal ("secret", 6, "secret", 6));
  g_assert_false (pts_secret_equal ("secret", 6, "secreT", 6));
  g_assert_false (pts_secret_equal ("secret", 6, "secret2", 7));
  g_assert_false (pts_secret_equal ("secret", 6, "", 0));
  g_assert_true (pts_secret_equal ("", 0, "", 0));
  g_assert_false (pts_secret_equal ("a\0b", 3, "a\0c", 3));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unit/secret/token-shape", test_token_shape);
  g_test_add_func ("/unit/secret/token-key", test_token_key);
  g_test_add_func ("/unit/secret/equal", test_equal);
  return g_test_run ();
}
