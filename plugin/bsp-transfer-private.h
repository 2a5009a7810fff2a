/* bsp-transfer-private.h — what the transfer table, the receiver and the
 * sender share
 *
 * One BspTransfer per PurpleXfer that the plugin may take over; the table
 * (bsp-transfer.c) owns them, the receiver (bsp-transfer-recv.c) and the
 * sender (bsp-transfer-send.c) drive them through their states, and
 * bsp-transfer-end.c says why one ended, to the proxy and to the user.
 * All of it runs on libpurple's main loop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "bsp-direct.h"
#include "bsp-http.h"
#include "bsp-transfer.h"

G_BEGIN_DECLS

#define BSP_NS_SI "http://jabber.org/protocol/si"
#define BSP_NS_SI_FT "http://jabber.org/protocol/si/profile/file-transfer"
/* How long a receiver waits for the sender to activate. */
#define BSP_ACTIVATION_WAIT 90
/* How long a transfer whose HTTP side broke waits for the proxy's
 * <ended/> (which comes after a grace of 1 s, PROTOCOL.md §5.7) before
 * it judges alone. */
#define BSP_ENDED_WAIT 3
/* A proxy's wait-type error to <connect/> or the activation is tried
 * again this many times, after 1 s, then 2 s, before falling back. */
#define BSP_WAIT_RETRIES 2
/* The receiver tries the sender's own streamhosts alone for this long
 * before the bs-proxy path starts beside them (plugin/bsp-transfer-recv.c). */
#define BSP_DIRECT_HEAD_START_MS 300

typedef enum
{
  BSP_ROLE_SEND,
  BSP_ROLE_RECV,
} BspRole;

typedef enum
{
  BSP_STATE_OFFERED,        /* SI negotiated; the bytestreams step is ahead */
  BSP_STATE_CONNECTING,     /* recv: choosing a proxy, <connect> sent; send: learning
                             * whether the chosen proxy can take an upload */
  BSP_STATE_WAIT_ACTIVATED, /* recv: streamhost-used sent, waiting for the push */
  BSP_STATE_ACTIVATING,     /* send: <activate/><x/> sent */
  BSP_STATE_TRANSFERRING,   /* HTTP under way */
  BSP_STATE_ENDED,
} BspState;

typedef struct _BspTransfer BspTransfer;

struct _BspTransfer
{
  gint ref_count;
  BspTransfers *owner; /* NULL once ended */
  PurpleXfer *xfer;    /* a reference is held */
  BspRole role;
  BspState state;
  char *sid;
  char *peer; /* full JID, normalised */
  char *sidhash;
  char *proxy;           /* the bs-proxy in use */
  char *http_base;       /* where that proxy's URLs must be (NULL: it said nothing) */
  char *offer_id;        /* send: id of our streamhost offer */
  GPtrArray *offered;    /* send: streamhost JIDs we offered */
  xmlnode *consumed;     /* the IQ taken from prpl-jabber, for the fallback */
  GPtrArray *candidates; /* recv: bs-proxy candidates from the offer */
  guint candidate;
  guint timer_id;
  gint64 last_progress;
  guint64 watched_bytes; /* the byte count the stall watchdog last saw */
  guint still_seconds;   /* how long it has not changed */
  GCancellable *cancellable;
  /* The IQs and the discovery it waits on (bsp_transfer_stop_waiting ()). */
  GCancellable *waits;
  BspHttpUpload *upload;     /* send: the POST's worker, while it runs */
  BspHttpDownload *download; /* recv: the GET's worker, while it runs */
  char *broke_off;           /* why the HTTP side broke, while the proxy is asked */
  char *http_blocked;        /* why a bs-proxy's HTTP side can't be used from here (the
                              * network's proxy refused it), for the path line */
  gboolean path_said;        /* the conversation was told which path it takes */
  gboolean told;             /* the proxy knows the session ended (its <ended/>, our
                              * <abort/>), or can't be told any more */
  gboolean writing;          /* recv: inside purple_xfer_write_file () */
  guint retries;             /* wait-type errors tried again so far */
  BspDirect *direct;         /* recv: the attempts at the sender's own streamhosts */
  guint head_start_id;       /* recv: until the bs-proxy path starts beside them */
  gboolean connect_pending;  /* recv: <connect/> sent, not answered yet */
  gboolean proxies_tried;    /* recv: no bs-proxy served; the direct attempts decide */
};

struct _BspTransfers
{
  PurpleConnection *gc;
  PurplePlugin *jabber;
  BspIqTracker *iq;
  BspDiscovery *discovery;
  SoupSession *http;
  GPtrArray *transfers; /* BspTransfer, one reference each */
  /* The latest incoming SI offer, bound in file-recv-request. */
  char *pending_sid;
  char *pending_from;
};

/* Why a transfer ended, and so how libpurple is told (libpurple's own
 * protocols do the same: a failure here is an error notice and a local
 * cancel, a stream the other side ended is a remote cancel). */
typedef enum
{
  BSP_CAUSE_USER,  /* this user's own act (signing off, unloading the plugin) */
  BSP_CAUSE_LOCAL, /* a failure on this side or on its path to the bs-proxy */
  BSP_CAUSE_PEER,  /* the other side ended its half of the stream */
} BspCause;

/* Life cycle: the table holds one reference per transfer; detaching
 * drops it and stops everything pending. */
BspTransfer *bsp_transfer_ref (BspTransfer *t);
void bsp_transfer_unref (BspTransfer *t);
BspTransfer *bsp_transfer_new (BspTransfers *owner, PurpleXfer *xfer, BspRole role, const char *sid,
                               const char *peer);
void bsp_transfer_detach (BspTransfer *t);
/* Drops the IQs and the discovery @t waits on: their answers, if they
 * come, are not wanted; what it waits on later is not affected. */
void bsp_transfer_stop_waiting (BspTransfer *t);
const char *bsp_transfer_filename (BspTransfer *t);

/* Ends: a failure with its cause, the path said once, a fallback to
 * libpurple's own transfer while no byte has moved. */
void bsp_transfer_fail (BspTransfer *t, const char *reason, BspCause cause);
/* Tells the proxy (once, and only while it knows the session) that this
 * side ends it: @failed or cancelled, with @text for the peer
 * (PROTOCOL.md §5.6). */
void bsp_transfer_abort (BspTransfer *t, gboolean failed, const char *text);
/* The proxy's <ended/> for @t (PROTOCOL.md §5.7): ends it with the cause
 * it names. */
void bsp_transfer_ended (BspTransfer *t, xmlnode *ended);
/* A wait-type error from the proxy (BSP_IQ_ERROR_WAIT in @error): schedules
 * @retry in 1 s, then 2 s, and returns TRUE; FALSE for any other error and
 * once the retries are spent. */
gboolean bsp_transfer_retry_later (BspTransfer *t, const GError *error, GSourceFunc retry);
void bsp_transfer_say_path (BspTransfer *t, gboolean http, const char *proxy, gboolean direct);
void bsp_transfer_fall_back (BspTransfer *t, const char *why);

/* The network's proxy's refusal in the user's words, or NULL. */
char *bsp_transfer_office_reason (const GError *error, const char *proxy);
/* Notes why @info's HTTP side is not used (only the network proxy's
 * refusal is worth telling the user). */
void bsp_transfer_note_blocked (BspTransfer *t, const BspProxyInfo *info);

/* Lookups in the table. */
BspTransfer *bsp_transfers_find (BspTransfers *self, BspRole role, const char *sid,
                                 const char *peer);
BspTransfer *bsp_transfers_find_xfer (BspTransfers *self, PurpleXfer *xfer);

/* While HTTP moves the file: progress, failure, the stall watchdog. */
void bsp_transfer_progress (BspTransfer *t);
void bsp_transfer_http_failed (BspTransfer *t, const GError *error);
/* The end of the HTTP side (the upload's or download's finish): @ok
 * completes the PurpleXfer, a failure goes to bsp_transfer_http_failed ();
 * cancelled, @t was detached (the upload or download freed) and may be
 * gone: nothing of it is touched. */
void bsp_transfer_http_done (BspTransfer *t, gboolean ok, const GError *error);
void bsp_transfer_watch_start (BspTransfer *t);

/* The receiver (bsp-transfer-recv.c). */
gboolean bsp_transfers_recv_offer (BspTransfers *self, const char *from, xmlnode *iq,
                                   xmlnode *query);
gboolean bsp_transfers_proxy_push (BspTransfers *self, const char *id, const char *from,
                                   xmlnode *child);

/* The sender (bsp-transfer-send.c). */
gboolean bsp_transfers_send_used (BspTransfers *self, const char *id, const char *from,
                                  xmlnode *iq);
void bsp_transfers_send_si (BspTransfers *self, const char *to, xmlnode *si);
void bsp_transfers_send_offer (BspTransfers *self, const char *to, xmlnode *iq, xmlnode *query);

G_END_DECLS
