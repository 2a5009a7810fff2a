/* pts-component-link.h — what the component link reads from the server,
 * decided without I/O (XEP-0114)
 *
 * pts-component.c owns the connection; these functions say what a stream
 * header and each stanza from the server mean, so that they can be tested
 * and fuzzed on their own (tests/fuzz/fuzz-component.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-xml.h"

G_BEGIN_DECLS

/* The longest stream id taken from a server (XEP-0114 ids are short). */
#define PTS_COMPONENT_MAX_ID 256

/* Our answer to the server's stream header: "<handshake>H</handshake>"
 * with H the lower-case hex SHA-1 of the stream id and @secret, or NULL
 * with *@why set when the header has no usable id (none, empty, longer
 * than PTS_COMPONENT_MAX_ID, or not printable ASCII). */
char *pts_component_handshake (const PtsNode *header, const char *secret, const char **why);

typedef enum
{
  PTS_COMPONENT_IGNORE,      /* nothing to do with it */
  PTS_COMPONENT_ACCEPTED,    /* the server took our handshake */
  PTS_COMPONENT_REFUSED,     /* a stream error before the handshake was taken */
  PTS_COMPONENT_PING_ANSWER, /* the answer (result or error) to our pending ping */
  PTS_COMPONENT_DELIVER,     /* a stanza for the proxy */
} PtsComponentVerdict;

/* What @stanza from the server means, with the link @handshaken or not
 * and @ping_id the id of the ping that waits for an answer (or NULL). */
PtsComponentVerdict pts_component_classify (const PtsNode *stanza, gboolean handshaken,
                                            const char *ping_id);

G_END_DECLS
