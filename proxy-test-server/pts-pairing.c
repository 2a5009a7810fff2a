/* pts-pairing.c — which SOCKS5 connections of a stream are its sender and its receiver
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-pairing.h"

/* Whether candidate @k may be the sender (@initiator) or the receiver:
 * when any candidate comes from that party's address, only those may. */
static gboolean
pts_pairing_eligible (const PtsPairingCandidate *c, guint n, guint k, gboolean initiator)
{
  gboolean any = FALSE;

  for (guint j = 0; j < n; j++)
    any |= initiator ? c[j].near_initiator : c[j].near_target;
  if (!any)
    return TRUE;
  return initiator ? c[k].near_initiator : c[k].near_target;
}

PtsPairingResult
pts_pairing_choose (const PtsPairingCandidate *candidates, guint n, gboolean want_initiator,
                    gboolean want_target, int *initiator, int *target)
{
  guint choices = 0;

  *initiator = -1;
  *target = -1;
  if (want_initiator && want_target)
    {
      /* The receiver connected first: it said <streamhost-used/> only
       * after connecting, and the sender connects after hearing that. */
      for (guint t = 0; t < n; t++)
        for (guint i = t + 1; i < n; i++)
          if (pts_pairing_eligible (candidates, n, t, FALSE)
              && pts_pairing_eligible (candidates, n, i, TRUE) && choices++ == 0)
            {
              *target = (int) t;
              *initiator = (int) i;
            }
    }
  else if (want_initiator || want_target)
    {
      for (guint k = 0; k < n; k++)
        if (pts_pairing_eligible (candidates, n, k, want_initiator) && choices++ == 0)
          *(want_initiator ? initiator : target) = (int) k;
    }
  else
    return PTS_PAIRING_OK; /* both on HTTP */

  if (choices == 1)
    return PTS_PAIRING_OK;
  *initiator = -1;
  *target = -1;
  return choices == 0 ? PTS_PAIRING_MISSING : PTS_PAIRING_AMBIGUOUS;
}
