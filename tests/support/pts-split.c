/* pts-split.c — a parser's outcome does not depend on how its input is split
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-split.h"

/* How many cut positions a failure message lists. */
#define PTS_SPLIT_CUTS_SHOWN 16

PtsSplitOutcome *
pts_split_outcome_new (GPtrArray *events, guint n_items, GError *error)
{
  PtsSplitOutcome *outcome = g_new0 (PtsSplitOutcome, 1);

  if (events->len == 0 || g_ptr_array_index (events, events->len - 1) != NULL)
    g_ptr_array_add (events, NULL);
  outcome->events = g_strjoinv ("\n", (char **) events->pdata);
  outcome->n_items = n_items;
  outcome->error = error;
  g_ptr_array_unref (events);
  return outcome;
}

void
pts_split_outcome_free (PtsSplitOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_free (outcome->events);
  g_clear_error (&outcome->error);
  g_free (outcome);
}

gboolean
pts_split_outcome_equal (const PtsSplitOutcome *a, const PtsSplitOutcome *b)
{
  if (g_strcmp0 (a->events, b->events) != 0 || a->n_items != b->n_items)
    return FALSE;
  if (a->error == NULL || b->error == NULL)
    return a->error == b->error;
  return a->error->domain == b->error->domain && a->error->code == b->error->code;
}

void
pts_split_outcome_assert_same (const PtsSplitOutcome *expected, const PtsSplitOutcome *got)
{
  g_assert_cmpstr (got->events, ==, expected->events);
  g_assert_cmpuint (got->n_items, ==, expected->n_items);
  if (expected->error == NULL)
    g_assert_no_error (got->error);
  else
    g_assert_error (got->error, expected->error->domain, expected->error->code);
}

PtsSplitOutcome *
pts_split_run_whole (PtsSplitRunFunc run, const guint8 *input, gsize len, gpointer user_data)
{
  return run (input, len, &len, 1, user_data);
}

static void
pts_split_check (PtsSplitRunFunc run, const guint8 *input, gsize len, const gsize *cuts,
                 gsize n_cuts, const PtsSplitOutcome *whole, gpointer user_data)
{
  g_autoptr (PtsSplitOutcome) split = run (input, len, cuts, n_cuts, user_data);

  if (!pts_split_outcome_equal (whole, split))
    {
      g_autoptr (GString) where = g_string_new ("fed in pieces ending at");

      for (gsize i = 0; i < n_cuts && i < PTS_SPLIT_CUTS_SHOWN; i++)
        g_string_append_printf (where, " %" G_GSIZE_FORMAT, cuts[i]);
      if (n_cuts > PTS_SPLIT_CUTS_SHOWN)
        g_string_append (where, " …");
      g_test_message ("%s", where->str);
      pts_split_outcome_assert_same (whole, split);
    }
}

void
pts_split_assert_invariant (PtsSplitRunFunc run, const guint8 *input, gsize len, gsize every_up_to,
                            PtsSplitFlags flags, const PtsSplitOutcome *whole, gpointer user_data)
{
  gsize step = len <= every_up_to ? 1 : len / 64;
  g_autofree gsize *bytewise = g_new (gsize, MAX (len, 1));

  for (gsize at = 0; at <= len; at += step)
    {
      gsize cuts[2] = { at, len };

      pts_split_check (run, input, len, cuts, 2, whole, user_data);
    }

  if (flags & PTS_SPLIT_THREE_PIECES)
    for (gsize i = 0; i <= len; i++)
      for (gsize j = i; j <= len; j++)
        {
          gsize cuts[3] = { i, j, len };

          pts_split_check (run, input, len, cuts, 3, whole, user_data);
        }

  for (gsize i = 0; i < len; i++)
    bytewise[i] = i + 1;
  pts_split_check (run, input, len, bytewise, len, whole, user_data);
}

void
pts_split_append_escaped (GString *out, const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = data[i];

      if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c >= 0x20 && c < 0x7f)
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "\\x%02x", c);
    }
}

void
pts_split_add_table (const char *prefix, const char *group, gconstpointer cases, gsize n_cases,
                     gsize case_size, GTestDataFunc test)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      gconstpointer c = (const guint8 *) cases + i * case_size;
      const char *name = *(const char *const *) c;
      g_autofree char *path = g_strdup_printf ("%s/%s/%s", prefix, group, name);

      g_test_add_data_func (path, c, test);
    }
}
