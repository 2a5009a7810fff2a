/* pts-config-options.h — the table of the proxy's settings (private to pts-config*.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "pts-config.h"

G_BEGIN_DECLS

typedef enum
{
  PTS_OPT_STRING,
  PTS_OPT_FILENAME,
  PTS_OPT_STRV, /* repeatable on the command line, an array in JSON */
  PTS_OPT_INT,
  PTS_OPT_INT64,
  PTS_OPT_BOOL, /* a flag on the command line */
} PtsOptType;

typedef struct
{
  const char *name; /* --name, and the JSON key (unless json_key) */
  char short_name;
  PtsOptType type;
  gsize offset;    /* of the field in PtsConfig */
  const char *def; /* the default as text (NULL: none), shown in --help */
  gint64 min, max; /* for numbers */
  const char *arg; /* the argument's name in --help */
  const char *help;
  const char *json_key; /* when the JSON key differs from the option */
} PtsOption;

extern const PtsOption pts_options[];
extern const gsize pts_n_options;

G_END_DECLS
