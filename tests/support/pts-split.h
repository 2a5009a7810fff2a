/* pts-split.h — a parser's outcome does not depend on how its input is split
 *
 * The parser unit tests record what a parser hands out (its events, one a
 * line, and the error it ends with) as a PtsSplitOutcome, for the input fed
 * whole; pts_split_assert_invariant () then feeds the same input in two
 * pieces cut at every position, optionally in three pieces cut at every
 * pair of positions, and one byte at a time, and asserts the same outcome
 * each time.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *events;  /* what the parser handed out, joined with '\n' */
  guint n_items; /* a count the test keeps besides (stanzas, say) */
  GError *error; /* the error the parser ended with, or NULL */
} PtsSplitOutcome;

/* Takes @events (NULL-terminated or not; it is freed) and @error. */
PtsSplitOutcome *pts_split_outcome_new (GPtrArray *events, guint n_items, GError *error);
void pts_split_outcome_free (PtsSplitOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsSplitOutcome, pts_split_outcome_free)

gboolean pts_split_outcome_equal (const PtsSplitOutcome *a, const PtsSplitOutcome *b);
/* Asserts @got equal to @expected, printing both sides of what differs. */
void pts_split_outcome_assert_same (const PtsSplitOutcome *expected, const PtsSplitOutcome *got);

/* Feeds @input to a new parser in pieces that end at each offset of @cuts
 * (ascending, the last one @len) and returns what it handed out. */
typedef PtsSplitOutcome *(*PtsSplitRunFunc) (const guint8 *input, gsize len, const gsize *cuts,
                                             gsize n_cuts, gpointer user_data);

typedef enum
{
  PTS_SPLIT_DEFAULT = 0,
  PTS_SPLIT_THREE_PIECES = 1 << 0, /* also three pieces at every pair of positions */
} PtsSplitFlags;

/* Runs @run on @input fed whole and returns its outcome. */
PtsSplitOutcome *pts_split_run_whole (PtsSplitRunFunc run, const guint8 *input, gsize len,
                                      gpointer user_data);
/* Asserts that @run gives @whole however @input is split. Two-piece cuts
 * are at every position up to @every_up_to bytes of input, and at 64
 * evenly spaced ones for longer input. */
void pts_split_assert_invariant (PtsSplitRunFunc run, const guint8 *input, gsize len,
                                 gsize every_up_to, PtsSplitFlags flags,
                                 const PtsSplitOutcome *whole, gpointer user_data);

/* Appends @data to @out with CR, LF, backslash and bytes outside printable
 * ASCII escaped, so that binary data can be an event. */
void pts_split_append_escaped (GString *out, const guint8 *data, gsize len);

/* Adds one test of @test per case of a table, at @prefix/@group/<name>;
 * each case (@case_size bytes) starts with its name, a const char *. */
void pts_split_add_table (const char *prefix, const char *group, gconstpointer cases, gsize n_cases,
                          gsize case_size, GTestDataFunc test);
#define PTS_SPLIT_ADD_TABLE(prefix, group, cases, test)                                            \
  pts_split_add_table (prefix, group, cases, G_N_ELEMENTS (cases), sizeof (cases)[0], test)

G_END_DECLS
