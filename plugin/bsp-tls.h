/* bsp-tls.h — https certificates the system does not trust: libpurple's prompt, and the answer kept
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define BSP_TLS_ERROR (bsp_tls_error_quark ())
GQuark bsp_tls_error_quark (void);

typedef enum
{
  BSP_TLS_ERROR_NOT_TRUSTED, /* the message names the host and why, in the user's words */
} BspTlsError;

/* The certificates the user accepted in this sign-in, by host and port.
 * Shared with upload threads: every call is thread-safe. */
typedef struct _BspTlsTrust BspTlsTrust;

BspTlsTrust *bsp_tls_trust_new (void);
BspTlsTrust *bsp_tls_trust_ref (BspTlsTrust *trust);
void bsp_tls_trust_unref (BspTlsTrust *trust);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspTlsTrust, bsp_tls_trust_unref)

/* The trust that bsp_http_session_new () hung on @session (a new reference). */
BspTlsTrust *bsp_tls_trust_get (SoupSession *session);
void bsp_tls_trust_set (SoupSession *session, BspTlsTrust *trust);

/* Before @msg is sent, on the thread that sends it: a certificate the
 * system rejects is accepted when it is the one the user accepted for the
 * message's host and port; either way it is kept on @msg for
 * bsp_tls_ask_async (). */
void bsp_tls_watch (BspTlsTrust *trust, SoupMessage *msg);

/* Whether @error from sending @msg is a certificate that libpurple may
 * still be asked about (the system rejected it, nothing was sent). */
gboolean bsp_tls_can_ask (SoupMessage *msg, const GError *error);

typedef struct
{
  GUri *uri;
  GTlsCertificate *certificate;
  GTlsCertificateFlags errors;
} BspTlsPeer;

/* What bsp_tls_watch () saw on @msg, for another thread (NULL: nothing). */
BspTlsPeer *bsp_tls_peer_take (SoupMessage *msg);
void bsp_tls_peer_free (BspTlsPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BspTlsPeer, bsp_tls_peer_free)

/* On the main thread: asks libpurple's own verification (the x509 scheme,
 * the tls_cached verifier, which Pidgin's and Finch's users know from
 * their XMPP servers) about @peer: it checks its cache and CAs and, if
 * need be, asks the user "Accept certificate for HOST?". @callback runs
 * once, on this thread's main context, never before this returns. */
void bsp_tls_ask_async (BspTlsTrust *trust, const BspTlsPeer *peer, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data);
/* TRUE: accepted (and kept in @trust); else BSP_TLS_ERROR_NOT_TRUSTED, or
 * G_IO_ERROR_CANCELLED when @cancellable fired first or the plugin was
 * unloaded. */
gboolean bsp_tls_ask_finish (GAsyncResult *result, GError **error);

/* Whether a prompt waits for the user's answer about a transfer's
 * certificate (the transfers' stall watch waits too). */
gboolean bsp_tls_asking (void);

/* Closes the prompts still open (at unload): their answers go nowhere. */
void bsp_tls_shutdown (void);

G_END_DECLS
