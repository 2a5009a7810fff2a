/* test-pairing.c — which SOCKS5 connections of a stream are its parties
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "pts-pairing.h"

/* A candidate in a case: 'I' from the sender's address, 'T' from the
 * receiver's, 'B' from both (one host), '.' from neither. */
typedef struct
{
  const char *name;
  const char *candidates;
  gboolean want_initiator;
  gboolean want_target;
  PtsPairingResult result;
  int initiator;
  int target;
} PairingCase;

static const PairingCase pairing_cases[] = {
  /* Nothing known of addresses (a component): arrival order, unique or nothing. */
  { "socks5/two", "..", TRUE, TRUE, PTS_PAIRING_OK, 1, 0 },
  { "socks5/one", ".", TRUE, TRUE, PTS_PAIRING_MISSING, -1, -1 },
  { "socks5/none", "", TRUE, TRUE, PTS_PAIRING_MISSING, -1, -1 },
  { "socks5/three", "...", TRUE, TRUE, PTS_PAIRING_AMBIGUOUS, -1, -1 },
  /* Both parties on one host, a stranger elsewhere, at any place. */
  { "socks5/stranger-first", ".BB", TRUE, TRUE, PTS_PAIRING_OK, 2, 1 },
  { "socks5/stranger-between", "B.B", TRUE, TRUE, PTS_PAIRING_OK, 2, 0 },
  { "socks5/stranger-last", "BB.", TRUE, TRUE, PTS_PAIRING_OK, 1, 0 },
  { "socks5/two-strangers", ".B.B", TRUE, TRUE, PTS_PAIRING_OK, 3, 1 },
  /* A stranger on the parties' host can't be told apart. */
  { "socks5/stranger-same-host", "BBB", TRUE, TRUE, PTS_PAIRING_AMBIGUOUS, -1, -1 },
  /* Parties on two hosts: each from its own, whatever the order. */
  { "socks5/two-hosts", "TI", TRUE, TRUE, PTS_PAIRING_OK, 1, 0 },
  { "socks5/two-hosts-stranger", "T.I", TRUE, TRUE, PTS_PAIRING_OK, 2, 0 },
  /* The sender connected before the receiver: not how XEP-0065 goes. */
  { "socks5/sender-first", "IT", TRUE, TRUE, PTS_PAIRING_MISSING, -1, -1 },
  { "socks5/two-receivers", "TTI", TRUE, TRUE, PTS_PAIRING_AMBIGUOUS, -1, -1 },
  /* The receiver on HTTP: only the sender is chosen. */
  { "http-target/one", ".", TRUE, FALSE, PTS_PAIRING_OK, 0, -1 },
  { "http-target/none", "", TRUE, FALSE, PTS_PAIRING_MISSING, -1, -1 },
  { "http-target/two", "..", TRUE, FALSE, PTS_PAIRING_AMBIGUOUS, -1, -1 },
  { "http-target/stranger", ".I", TRUE, FALSE, PTS_PAIRING_OK, 1, -1 },
  { "http-target/stranger-after", "I.", TRUE, FALSE, PTS_PAIRING_OK, 0, -1 },
  /* The sender on HTTP: only the receiver is chosen. */
  { "http-sender/one", ".", FALSE, TRUE, PTS_PAIRING_OK, -1, 0 },
  { "http-sender/stranger", ".T", FALSE, TRUE, PTS_PAIRING_OK, -1, 1 },
  { "http-sender/two", "..", FALSE, TRUE, PTS_PAIRING_AMBIGUOUS, -1, -1 },
  /* Both on HTTP: nothing to choose, strangers are simply dropped. */
  { "http-both/strangers", "..", FALSE, FALSE, PTS_PAIRING_OK, -1, -1 },
};

static void
test_pairing (gconstpointer data)
{
  const PairingCase *tc = data;
  guint n = (guint) strlen (tc->candidates);
  g_autofree PtsPairingCandidate *c = g_new0 (PtsPairingCandidate, MAX (n, 1));
  int initiator = 99, target = 99;

  for (guint k = 0; k < n; k++)
    {
      char m = tc->candidates[k];
      c[k].near_initiator = m == 'I' || m == 'B';
      c[k].near_target = m == 'T' || m == 'B';
    }
  g_assert_cmpint (
      pts_pairing_choose (c, n, tc->want_initiator, tc->want_target, &initiator, &target), ==,
      tc->result);
  g_assert_cmpint (initiator, ==, tc->initiator);
  g_assert_cmpint (target, ==, tc->target);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (pairing_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/unit/pairing/%s", pairing_cases[i].name);
      g_test_add_data_func (path, &pairing_cases[i], test_pairing);
    }
  return g_test_run ();
}
