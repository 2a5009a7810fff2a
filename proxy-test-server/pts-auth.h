/* pts-auth.h — the embedded server's logins: SASL PLAIN and the slowdown of guessing
 *
 * Pure logic, no I/O: the hub (pts-hub.c) feeds it what arrives and the
 * clock (PROTOCOL.md §8.5).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- SASL PLAIN (RFC 4616) ---------------------------------------------------- */

typedef enum
{
  PTS_AUTH_OK,
  PTS_AUTH_MALFORMED,      /* not authzid NUL authcid NUL password */
  PTS_AUTH_NOT_AUTHORIZED, /* unknown account, wrong password or authzid */
} PtsAuthResult;

/* Checks the base64 PLAIN response @b64 against @accounts (node, lower
 * case → password) for @domain. On PTS_AUTH_OK *@node is the account's
 * node; *@shown (if not NULL) is always a printable form of the
 * authentication identity, for the log (never the password). Passwords
 * are compared in constant time, unknown accounts included. */
PtsAuthResult pts_auth_plain (const char *b64, GHashTable *accounts, const char *domain,
                              char **node, char **shown);

/* ---- the slowdown ------------------------------------------------------------- */

/* Failed logins from one address that cost nothing (typos)... */
#define PTS_AUTH_FREE_FAILURES 3
/* ...after which attempts from it are spaced out: 0.5 s, doubling up to
 * this. */
#define PTS_AUTH_MAX_DELAY_MS 4000
/* An address's failures are forgotten this long after its last one. */
#define PTS_AUTH_FORGET_S (15 * 60)
/* Most addresses remembered at once. */
#define PTS_AUTH_MAX_ADDRESSES 16384

typedef struct _PtsAuthThrottle PtsAuthThrottle;

PtsAuthThrottle *pts_auth_throttle_new (void);
void pts_auth_throttle_free (PtsAuthThrottle *throttle);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsAuthThrottle, pts_auth_throttle_free)

/* How long (µs) a login attempt from @address must wait at @now before it
 * is checked: 0 when it may go at once. */
gint64 pts_auth_throttle_wait (PtsAuthThrottle *throttle, const char *address, gint64 now);
void pts_auth_throttle_failed (PtsAuthThrottle *throttle, const char *address, gint64 now);
void pts_auth_throttle_succeeded (PtsAuthThrottle *throttle, const char *address);

G_END_DECLS
