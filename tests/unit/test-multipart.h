/* test-multipart.h — what the multipart tests share: the bodies' pieces,
 * a table case, and a recorder of what the parser hands out (test-multipart.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "pts-multipart.h"

#define HASH "1eedb3f3f84f19cee0fa2c277a00c652e5890dc3"
#define B "AaB03x"
#define OPEN "--" B "\r\n"
#define NEXT "\r\n--" B "\r\n"
#define CLOSE "\r\n--" B "--\r\n"
#define CD(params) "Content-Disposition: form-data; " params "\r\n"
#define SIDHASH_PART OPEN CD ("name=\"SIDHASH\"") "\r\n" HASH
#define FILE_HEAD CD ("name=\"FILE\"; filename=\"a.txt\"") "\r\n"
/* What the recorder writes for SIDHASH_PART. */
#define SIDHASH_BEGIN "begin(SIDHASH,-,-,-)@60"
#define SIDHASH_EVENTS SIDHASH_BEGIN, "data(" HASH ")", "end"

#define NO_ERROR (-1)
#define CALLBACK_ERROR (-2) /* the error a recorder callback returned */
#define LONG_DATA 64        /* longer data is logged by its length */

typedef enum
{
  FAIL_NONE,
  FAIL_BEGIN, /* part_begin of the part named fail_part */
  FAIL_DATA,  /* its first part_data */
  FAIL_END,   /* its part_end */
} FailAt;

typedef struct
{
  const char *name;
  const char *body;
  gint error;             /* a PtsMultipartError, NO_ERROR or CALLBACK_ERROR */
  const char *events[12]; /* everything handed out, in order; NULL-terminated */
  const char *boundary;   /* NULL: B */
  gsize len;              /* 0: strlen (body) */
  FailAt fail_at;
  const char *fail_part;
  GString *(*build) (void); /* builds a long body instead of @body */
  gboolean three_pieces;    /* also split in three at every pair of positions */
} MultipartCase;

typedef struct
{
  const MultipartCase *c;
  const guint8 *body; /* the whole input, to check slices and offsets against */
  gsize len;
  const char *delim; /* CRLF "--" boundary */
  GPtrArray *events;
  GString *data; /* the data of the open part so far */
  gboolean in_part;
  char *part; /* the name of the last part begun */
  guint64 part_offset;
} Recorder;

/* The recorder's callbacks: each part's begin, its data (checked against
 * the body at the part's offset) and its end, as text in Recorder.events. */
extern const PtsMultipartCallbacks recorder_callbacks;

/* Runs a MultipartCase (@data) whole, then split at every position. */
void test_multipart_case (gconstpointer data);

/* The cases of test-multipart-limits.c. */
void test_multipart_add_limits (void);
