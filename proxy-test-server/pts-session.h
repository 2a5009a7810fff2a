/* pts-session.h — the proxy's session table: one session per stream, keyed by SIDHASH
 *
 * A session is registered by the first SOCKS5 connection or <connect/> for
 * its stream, found by SIDHASH (or by a capability token once active),
 * activated under the limits, and ended with a reason that is counted. The
 * table does no I/O: the proxy hangs its connections, relay and timers on
 * each session's glue, which the table frees with the session.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  PTS_SESSION_PENDING, /* waiting for its parties and the activation */
  PTS_SESSION_ACTIVE,  /* bytes flow */
} PtsSessionState;

typedef struct
{
  char *hash;
  PtsSessionState state;
  char *initiator; /* full JIDs, normalised, once known */
  char *target;
  char *initiator_bare; /* once active: for the per-sender limit */
  gboolean http_target; /* the target sent <connect/> and downloads over HTTP */
  gint64 expected_size; /* the size the target announced, or -1 */
  gint64 created;       /* monotonic µs */
  gint64 activated;
  gpointer glue; /* the proxy's: connections, relay, timers */
} PtsSession;

typedef struct
{
  guint max_sessions;      /* pending + active */
  guint max_transfers;     /* active */
  guint max_per_initiator; /* active, per sender's bare JID */
} PtsSessionLimits;

#define PTS_SESSION_ERROR (pts_session_error_quark ())
GQuark pts_session_error_quark (void);

typedef enum
{
  PTS_SESSION_ERROR_LIMIT, /* resource-constraint */
} PtsSessionError;

typedef struct _PtsSessionTable PtsSessionTable;

/* @free_glue frees a session's glue when the session goes. */
PtsSessionTable *pts_session_table_new (const PtsSessionLimits *limits, GDestroyNotify free_glue);
void pts_session_table_free (PtsSessionTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsSessionTable, pts_session_table_free)

PtsSession *pts_session_table_lookup (PtsSessionTable *table, const char *hash);
/* A new pending session for @hash (which must not have one), or NULL with
 * PTS_SESSION_ERROR_LIMIT when the table is full. */
PtsSession *pts_session_table_add (PtsSessionTable *table, const char *hash, gint64 now,
                                   GError **error);
guint pts_session_table_count (PtsSessionTable *table);

/* Whether @initiator_bare may start one more transfer. */
gboolean pts_session_table_may_activate (PtsSessionTable *table, const char *initiator_bare,
                                         GError **error);
/* The session becomes active between @initiator and @target (full JIDs).
 * For each side on HTTP it gets a capability token (PROTOCOL.md §8.1),
 * returned in *@upload_token / *@download_token (else NULL); the table
 * keeps only their keys. */
void pts_session_table_activate (PtsSessionTable *table, PtsSession *session, const char *initiator,
                                 const char *target, gboolean http_initiator, gint64 now,
                                 char **upload_token, char **download_token);
/* The active session that @token opens, or NULL. */
PtsSession *pts_session_table_find_upload (PtsSessionTable *table, const char *token);
PtsSession *pts_session_table_find_download (PtsSessionTable *table, const char *token);

/* Ends @session: counted as done (@failure NULL) or failed for @failure
 * ("receiver-gone"…), with @bytes relayed; then removed and freed. */
void pts_session_table_end (PtsSessionTable *table, PtsSession *session, const char *failure,
                            guint64 bytes);
/* Removes every session, uncounted (the proxy stops). */
void pts_session_table_clear (PtsSessionTable *table);

/* Writes the status document's "sessions" array and "counters" object
 * (PROTOCOL.md §8.2: no secret, a SIDHASH prefix only); @describe adds a
 * session's own members (sides, bytes) to its open object. */
typedef void (*PtsSessionDescribeFunc) (PtsSession *session, JsonBuilder *builder,
                                        gpointer user_data);
void pts_session_table_build_status (PtsSessionTable *table, JsonBuilder *builder, gint64 now,
                                     PtsSessionDescribeFunc describe, gpointer user_data);

G_END_DECLS
