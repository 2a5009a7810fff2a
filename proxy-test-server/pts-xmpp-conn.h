/* pts-xmpp-conn.h — one XMPP stream over a GIOStream: parse in, queue out
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "pts-xml.h"

G_BEGIN_DECLS

typedef struct _PtsXmppConn PtsXmppConn;

typedef struct
{
  void (*stream_start) (PtsXmppConn *conn, const PtsNode *root, gpointer user_data);
  /* @stanza is owned by the callee. */
  void (*stanza) (PtsXmppConn *conn, PtsNode *stanza, gpointer user_data);
  /* Called once, from the main loop, when the connection is gone; @error is
   * NULL for an orderly close. No callback follows. */
  void (*closed) (PtsXmppConn *conn, const GError *error, gpointer user_data);
} PtsXmppConnCallbacks;

PtsXmppConn *pts_xmpp_conn_new (GIOStream *stream, const PtsXmppConnCallbacks *callbacks,
                                gpointer user_data, gsize max_stanza);
PtsXmppConn *pts_xmpp_conn_ref (PtsXmppConn *conn);
void pts_xmpp_conn_unref (PtsXmppConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtsXmppConn, pts_xmpp_conn_unref)

void pts_xmpp_conn_start (PtsXmppConn *conn);
void pts_xmpp_conn_send_raw (PtsXmppConn *conn, const char *data, gssize len);
/* Writes @node; its xmlns is left out when equal to @stream_ns. */
void pts_xmpp_conn_send (PtsXmppConn *conn, const PtsNode *node, const char *stream_ns);
/* Sends a stream error with @condition (if not NULL) and the closing tag,
 * flushes, and closes. */
void pts_xmpp_conn_close (PtsXmppConn *conn, const char *condition, const char *text);
/* Drops the connection at once, with no further callback: for owners that
 * are going away. */
void pts_xmpp_conn_abort (PtsXmppConn *conn);
void pts_xmpp_conn_restart (PtsXmppConn *conn);
void pts_xmpp_conn_set_keepalive (PtsXmppConn *conn, guint seconds);
gboolean pts_xmpp_conn_is_closing (PtsXmppConn *conn);
/* STARTTLS, server side: reads nothing more in clear, writes what is queued
 * (the caller's <proceed/>), then does the TLS handshake with @certificate
 * and goes on reading a fresh stream over TLS. A stanza after the request,
 * or a failed handshake, ends this connection (the closed callback says why). */
void pts_xmpp_conn_start_tls (PtsXmppConn *conn, GTlsCertificate *certificate);
/* TRUE once the handshake succeeded. */
gboolean pts_xmpp_conn_is_tls (PtsXmppConn *conn);

G_END_DECLS
