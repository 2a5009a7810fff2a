/* pts-fixture.h — asserting shorthands over pts-test-util for the server tests
 *
 * Every function here fails the running test (g_assert_*) instead of
 * returning an error, so that test bodies read as the scenario they check.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <stdarg.h>

#include "pts-test-util.h"

G_BEGIN_DECLS

#define PTS_FIXTURE_PASSWORD "secret"
#define PTS_NS_BYTESTREAMS "http://jabber.org/protocol/bytestreams"
#define PTS_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define PTS_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

/* The server with the accounts alice, bob and carol (password "secret"),
 * then the given options; NULL-terminated. */
PtsTestServer *pts_fixture_server_start (const char *first_arg, ...);
/* Stops it, asserting exit status 0, and frees it. */
void pts_fixture_server_stop (PtsTestServer *server);

PtsTestClient *pts_fixture_login (PtsTestServer *server, const char *user, const char *resource);

/* Alice and Bob on a server of their own. */
typedef struct
{
  PtsTestServer *server;
  PtsTestClient *alice; /* the initiator, signed in as "sender" */
  PtsTestClient *bob;   /* the target, signed in as "receiver" */
} PtsFixturePair;

/* The server with the accounts alice and bob only, then the options given
 * (NULL-terminated); both signed in. */
void pts_fixture_pair_start (PtsFixturePair *pair, const char *first_option, ...);
/* The same with @options (NULL-terminated, may be NULL) before the ones
 * from @first_option on. */
void pts_fixture_pair_start_valist (PtsFixturePair *pair, const char *const *options,
                                    const char *first_option, va_list ap);
/* Signs Alice and Bob in to @pair->server, started by the caller. */
void pts_fixture_pair_login (PtsFixturePair *pair);
/* Signs them out, stops the server (asserting exit status 0), frees all. */
void pts_fixture_pair_stop (PtsFixturePair *pair);
void pts_fixture_send (PtsTestClient *client, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Sends an <iq> (no id; one is added) and returns the reply. */
PtsNode *pts_fixture_iq (PtsTestClient *client, const char *format, ...) G_GNUC_PRINTF (2, 3);
PtsNode *pts_fixture_wait (PtsTestClient *client, PtsTestStanzaFunc match, gpointer user_data);

/* Asserts that exactly @count lines of the server's log so far hold @needle. */
void pts_fixture_assert_log_count (PtsTestServer *server, const char *needle, guint count);

void pts_fixture_assert_result (const PtsNode *reply);
void pts_fixture_assert_error (const PtsNode *reply, const char *condition);

/* Match functions for pts_fixture_wait(). */
typedef struct
{
  const char *name;     /* element name, NULL: any */
  const char *from;     /* exact 'from', NULL: any */
  const char *type;     /* exact 'type'; "" means no type attribute; NULL: any */
  const char *child_ns; /* a child in that namespace, NULL: any */
} PtsFixtureMatch;
gboolean pts_fixture_match (const PtsNode *stanza, gpointer match);

/* One XEP-0065 bytestream through the proxy. */
typedef struct
{
  char *sid;
  char *hash;
  GSocketConnection *target;
  GSocketConnection *initiator;
} PtsFixtureStream;

/* A SOCKS5 connection to @server's streamhost asking for @hash, from the
 * local address @local (NULL: any); asserts it was accepted. */
GSocketConnection *pts_fixture_socks5 (PtsTestServer *server, const char *local, const char *hash);

/* The SIDHASH of @sid from @initiator to @target (their full JIDs). */
char *pts_fixture_sidhash (const char *sid, PtsTestClient *initiator, PtsTestClient *target);
/* Connects the target, then the initiator, by SOCKS5 with the stream's
 * SIDHASH; asserts both are accepted. */
void pts_fixture_stream_connect (PtsFixtureStream *stream, PtsTestServer *server,
                                 PtsTestClient *initiator, PtsTestClient *target, const char *sid);
/* Sends the activation for @sid to @target's JID and returns the reply. */
PtsNode *pts_fixture_activate (PtsTestClient *initiator, PtsTestServer *server, const char *sid,
                               const char *target_jid);
/* Moves @size bytes initiator → target and asserts both SHA-256 match. */
void pts_fixture_assert_transfer (PtsFixtureStream *stream, guint64 size, guint64 seed);
void pts_fixture_stream_clear (PtsFixtureStream *stream);

/* A full good round trip with @sid: connect both, activate, move @size
 * bytes, check them. */
void pts_fixture_assert_good_stream (PtsTestServer *server, PtsTestClient *initiator,
                                     PtsTestClient *target, const char *sid, guint64 size);

/* The server process's open descriptors now. */
guint pts_fixture_count_fds (GPid pid);
/* The descriptor count once connections still closing (an answer's short
 * drain) are gone: the lowest seen until it holds for 200 ms, or until it
 * reaches @target (bounded: 10 s). */
guint pts_fixture_count_fds_settled (GPid pid, guint target);
/* Its resident memory in KiB. */
guint64 pts_fixture_rss_kib (GPid pid);

G_END_DECLS
