/* test-faults-harness.h — what the fault tests share: a server with its
 * HTTP side and Alice (the sender) and Bob (the receiver) signed in, raw
 * data connections opened for one session by HTTP or SOCKS5 at each end,
 * bytes sent, connections ended by FIN or RST, sessions awaited gone.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-fixture.h"
#include "pts-http-client.h"

#define NS_BSPROXY "http://oneteam.im/bs-proxy"
#define MIB (1024 * 1024)
#define FILE_SIZE (4 * MIB)
#define BOUNDARY "faultfaultfault"

typedef enum
{
  VICTIM_SENDER,
  VICTIM_RECEIVER,
} Victim;

typedef enum
{
  END_FIN,
  END_RST,
} EndHow;

typedef enum
{
  PHASE_ACTIVATED, /* right after the activation, before any byte */
  PHASE_MID,       /* 1 MiB into the file */
} Phase;

typedef struct
{
  PtsTestServer *server;
  PtsTestClient *alice;
  PtsTestClient *bob;
  GUri *http;
} Fixture;

/* One session's data connections, as a party's client would have them. */
typedef struct
{
  char *hash;
  GSocketConnection *sender;
  GSocketConnection *receiver;
  guint64 state; /* the sender's stream */
} FaultStream;

/* @max_per_initiator, @idle_timeout: the server's options, as text. */
void fixture_start_limited (Fixture *f, const char *max_per_initiator, const char *idle_timeout);

void fixture_start (Fixture *f);

void fixture_stop (Fixture *f);

/* Ends @conn as @how says: a FIN after what was sent, or a reset. */
void end_connection (GSocketConnection *conn, EndHow how);

/* Sends what it can of @len bytes of @seed's stream; FALSE once the peer
 * is gone (a write fails). */
gboolean send_stream (GSocketConnection *conn, guint64 *state, gsize len);

/* What a receiver got until the proxy closed: the raw bytes. */
GBytes *read_all (GSocketConnection *conn);

/* Whether raw HTTP response bytes are a complete 200 with a body of
 * @size bytes, framed as its head says. */
gboolean http_complete (GBytes *raw, gsize size);

/* The receiver registers, the sender connects and activates, each by
 * HTTP or SOCKS5; an HTTP sender has sent its request's head (its FILE
 * part declares its length to an HTTP receiver only), an HTTP receiver
 * its GET. */
void fault_stream_open (Fixture *f, gboolean http_sender, gboolean http_receiver, const char *sid,
                        FaultStream *s);

/* 1 MiB goes in, and the receiver takes half of it: the relay's buffer
 * alone can't hold 1 MiB, so bytes really flow end to end. */
void fault_stream_flow (FaultStream *s);

/* Polls /status until no session is left (bounded). */
void assert_sessions_freed (Fixture *f);

/* Bob registers by <connect/> as the HTTP receiver of Alice's stream @sid,
 * announcing @size unless NULL; returns the proxy's answer. */
PtsNode *receiver_connect (Fixture *f, const char *sid, const char *size);
/* Alice activates @sid for an HTTP upload; returns the proxy's answer. */
PtsNode *sender_activate_http (Fixture *f, const char *sid);

void fault_stream_clear (FaultStream *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FaultStream, fault_stream_clear)

/* The cases of test-faults-ended.c. */
void test_faults_add_ended (void);
