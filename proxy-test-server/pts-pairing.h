/* pts-pairing.h — which SOCKS5 connections of a stream are its sender and its receiver
 *
 * XEP-0065 gives a proxy nothing but DST.ADDR (the SIDHASH) to tell its
 * connections apart, and anyone who learnt a SIDHASH can connect with it.
 * So the proxy holds every connection that asks for a stream (a few at
 * most) until activation, and then picks the parties only when exactly one
 * choice fits: the receiver connected before the sender (it answered the
 * offer with <streamhost-used/> only after connecting), and where the
 * proxy knows the address each party's XMPP connection comes from, only
 * connections from that address are candidates for it. Two or more
 * choices: nobody is guessed, the activation is refused (PROTOCOL.md §8).
 *
 * Pure logic, no I/O.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gboolean near_initiator; /* from the address of the sender's XMPP connection */
  gboolean near_target;    /* from the address of the receiver's */
} PtsPairingCandidate;

typedef enum
{
  PTS_PAIRING_OK,
  PTS_PAIRING_MISSING,   /* too few connections for the parties */
  PTS_PAIRING_AMBIGUOUS, /* more than one way to choose */
} PtsPairingResult;

/* @candidates in arrival order. The sender is chosen when it comes by
 * SOCKS5 (@want_initiator), the receiver likewise (@want_target); the
 * other is -1. */
PtsPairingResult pts_pairing_choose (const PtsPairingCandidate *candidates, guint n,
                                     gboolean want_initiator, gboolean want_target, int *initiator,
                                     int *target);

G_END_DECLS
