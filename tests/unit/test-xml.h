/* test-xml.h — what the XML tests share: the stream of the test cases, a
 * recorder of what the stream parser hands out, a stream case run whole and
 * split at every byte (test-xml.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "pts-xml.h"

#define NS_STREAM_DECL "xmlns:stream='http://etherx.jabber.org/streams'"
#define STREAM_OPEN                                                                                \
  "<stream:stream xmlns='jabber:client' " NS_STREAM_DECL " to='example.com' version='1.0'>"
#define STREAM_CLOSE "</stream:stream>"
/* What the recorder writes for STREAM_OPEN. */
#define START "start <stream:stream to='example.com' version='1.0'/>"
#define SASL_SUCCESS "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"

#define NO_ERROR (-1)
#define DEFAULT_MAX_BYTES 4096
#define DEFAULT_MAX_DEPTH 8

typedef struct
{
  PtsXmlParser *parser;
  const char *restart_on; /* a stanza name that triggers a stream restart */
  GPtrArray *events;      /* "start <header/>", a stanza's XML, or "end" */
  guint n_stanzas;
} Recorder;

/* The recorder's callbacks: the stream's header, each stanza (checked to
 * serialise back to itself) and the end, as text in Recorder.events. */
extern const PtsXmlCallbacks recorder_callbacks;

/* The first stanza of @xml, parsed inside a stream that declares the stream
 * prefix and no default namespace. */
PtsNode *parse_in_stream (const char *xml, GError **error);

/* A long input: @head, @unit @times over, @tail. */
typedef struct
{
  const char *head;
  const char *unit;
  guint times;
  const char *tail;
} XmlLong;

typedef struct
{
  const char *name;
  const char *input;
  gint error;            /* a PtsXmlError, or NO_ERROR */
  guint n_stanzas;       /* stanzas handed out before the end or the error */
  const char *events[8]; /* everything handed out, in order; NULL-terminated */
  const char *restart_on;
  gsize max_bytes;           /* 0: DEFAULT_MAX_BYTES */
  guint max_depth;           /* 0: DEFAULT_MAX_DEPTH */
  const XmlLong *long_input; /* a long input instead of @input */
  gboolean any_events;       /* do not compare @events (too long to write down) */
} XmlCase;

/* Runs an XmlCase (@data) whole, then split at every position. */
void test_stream_case (gconstpointer data);

/* The cases of test-xml-limits.c and test-xml-tree.c. */
void test_xml_add_limits (void);
void test_xml_add_tree (void);
