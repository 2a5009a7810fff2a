/* bsb-batch.h — N simultaneous transfers through one bytestreams proxy, timed
 *
 * One sender thread and one receiver thread per transfer move and check
 * the bytes with blocking sockets (two cores: the kernel spreads them);
 * the calling thread does all the XMPP of both accounts: <connect> for HTTP
 * receivers, activations, and answering the proxy's pushes. The clock runs
 * from the first activation IQ to the last byte at the last receiver.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "bsb-xmpp.h"

G_BEGIN_DECLS

typedef enum
{
  BSB_SIDE_SOCKS5,
  BSB_SIDE_HTTP,
} BsbSide;

typedef struct
{
  const char *proxy_jid;
  const char *socks5_host;
  guint16 socks5_port;
  BsbSide initiator_side;
  BsbSide target_side;
  guint64 size;  /* bytes per transfer */
  guint streams; /* simultaneous transfers */
  guint64 seed;  /* transfer i sends the stream seed + i */
  gsize buf_size;
  gboolean part_length;
  int timeout_s;   /* the whole batch */
  const char *tag; /* makes SIDs unique between runs */
} BsbBatchConfig;

typedef struct
{
  double seconds; /* first activation → last byte received */
  guint64 bytes;  /* verified bytes, all transfers */
} BsbBatchResult;

gboolean bsb_batch_run (const BsbBatchConfig *config, BsbXmpp *initiator, BsbXmpp *target,
                        BsbBatchResult *result, GError **error);

G_END_DECLS
