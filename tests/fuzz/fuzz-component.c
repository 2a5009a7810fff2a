/* fuzz-component.c — fuzz target for the component link's reading of what
 * an XMPP server sends it (XEP-0114)
 *
 * The input is the server's side of the link: a stream header, then
 * stanzas. It goes through the stream parser with the proxy's limits, and
 * what comes out through pts_component_handshake () and
 * pts_component_classify () as pts-component.c uses them. Checked:
 *   - a handshake is produced exactly for a header with a usable id, and is
 *     "<handshake>" + the lower-case hex SHA-1 of id and secret + "</handshake>";
 *   - before the handshake is accepted nothing is delivered to the proxy;
 *     only <handshake/> accepts, only a stream error refuses;
 *   - afterwards only iq, message and presence are delivered, and a ping
 *     answer is exactly an iq result or error with the pending ping's id;
 *   - the verdicts do not depend on how the bytes were split.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pts-component-link.h"
#include "pts-xml.h"

#define FUZZ_COMPONENT_SECRET "s3cret"
#define FUZZ_COMPONENT_PING "pts-ping-1"
#define FUZZ_COMPONENT_MAX_LEN 65536

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  gboolean handshaken;
  GString *log;
} FuzzComponentRun;

static void
fuzz_component_fail (const char *what, const char *detail)
{
  fprintf (stderr, "fuzz-component: %s\n%s\n", what, detail ? detail : "");
  abort ();
}

static gboolean
fuzz_component_usable_id (const char *id)
{
  if (id == NULL || *id == '\0' || strlen (id) > PTS_COMPONENT_MAX_ID)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (*p < 0x21 || *p > 0x7e)
      return FALSE;
  return TRUE;
}

static void
fuzz_component_header (gpointer user_data, const PtsNode *root)
{
  FuzzComponentRun *run = user_data;
  const char *id = pts_node_get_attr (root, "id");
  const char *why = NULL;
  g_autofree char *xml = pts_component_handshake (root, FUZZ_COMPONENT_SECRET, &why);

  if (fuzz_component_usable_id (id))
    {
      g_autofree char *input = g_strconcat (id, FUZZ_COMPONENT_SECRET, NULL);
      g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
      g_autofree char *expected = g_strconcat ("<handshake>", sum, "</handshake>", NULL);

      if (g_strcmp0 (xml, expected) != 0)
        fuzz_component_fail ("wrong handshake", xml);
    }
  else if (xml != NULL || why == NULL)
    fuzz_component_fail ("a handshake for an unusable id", id);
  g_string_append_printf (run->log, "header(%s)\n", xml ? "answered" : why);
}

static void
fuzz_component_stanza (gpointer user_data, PtsNode *stanza)
{
  FuzzComponentRun *run = user_data;
  g_autoptr (PtsNode) owned = stanza;
  PtsComponentVerdict verdict
      = pts_component_classify (owned, run->handshaken, FUZZ_COMPONENT_PING);
  gboolean core = pts_node_is (owned, "iq", NULL) || pts_node_is (owned, "message", NULL)
                  || pts_node_is (owned, "presence", NULL);
  const char *type = pts_node_get_attr (owned, "type");

  switch (verdict)
    {
    case PTS_COMPONENT_ACCEPTED:
      if (run->handshaken || !pts_node_is (owned, "handshake", NULL))
        fuzz_component_fail ("accepted by something else than a first <handshake/>", NULL);
      run->handshaken = TRUE;
      break;
    case PTS_COMPONENT_REFUSED:
      if (run->handshaken || !pts_node_is (owned, "error", PTS_NS_STREAMS))
        fuzz_component_fail ("refused by something else than a stream error", NULL);
      break;
    case PTS_COMPONENT_DELIVER:
      if (!run->handshaken || !core)
        fuzz_component_fail ("delivered before the handshake, or not a stanza", NULL);
      break;
    case PTS_COMPONENT_PING_ANSWER:
      if (!run->handshaken || !pts_node_is (owned, "iq", NULL)
          || g_strcmp0 (pts_node_get_attr (owned, "id"), FUZZ_COMPONENT_PING) != 0
          || (g_strcmp0 (type, "result") != 0 && g_strcmp0 (type, "error") != 0))
        fuzz_component_fail ("a ping answer that is none", NULL);
      break;
    case PTS_COMPONENT_IGNORE:
      if (run->handshaken && core)
        fuzz_component_fail ("a stanza ignored after the handshake", NULL);
      break;
    default: fuzz_component_fail ("an unknown verdict", NULL);
    }
  g_string_append_printf (run->log, "stanza(%d)\n", (int) verdict);
}

/* Feeds @data in pieces of @step bytes (0: whole); returns the log. */
static char *
fuzz_component_run (const uint8_t *data, size_t size, size_t step)
{
  static const PtsXmlCallbacks callbacks = { fuzz_component_header, fuzz_component_stanza, NULL };
  FuzzComponentRun run = { FALSE, g_string_new (NULL) };
  /* The depth limit of the proxy's XMPP connections (pts-xmpp-conn.c); a
   * stanza limit small enough for the fuzzer to reach. */
  g_autoptr (PtsXmlParser) parser = pts_xml_parser_new (&callbacks, &run, 65536, 32);
  g_autoptr (GError) error = NULL;
  size_t off = 0;

  while (off < size)
    {
      size_t n = step == 0 ? size - off : MIN (step, size - off);
      if (!pts_xml_parser_feed (parser, (const char *) data + off, n, &error))
        {
          g_string_append (run.log, "error\n");
          break;
        }
      off += n;
    }
  return g_string_free (run.log, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *whole = NULL;
  g_autofree char *split = NULL;

  if (size > FUZZ_COMPONENT_MAX_LEN)
    return 0;
  whole = fuzz_component_run (data, size, 0);
  split = fuzz_component_run (data, size, size > 0 ? 1 + data[0] % 7 : 1);
  if (strcmp (whole, split) != 0)
    fuzz_component_fail ("the verdicts depend on the split", whole);
  return 0;
}
