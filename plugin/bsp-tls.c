/* bsp-tls.c — https certificates the system does not trust: libpurple's prompt, and the answer kept
 *
 * libsoup checks a proxy's certificate against the system's store, and its
 * SoupMessage::accept-certificate, the only way to overrule that, must
 * answer at once. So a request whose certificate the system rejects first
 * fails; the caller then asks libpurple (bsp_tls_ask_async ()), as prpl-jabber
 * does for XMPP servers: the chain goes into libpurple's x509 scheme (by
 * way of a PEM file, the scheme's only import), and the tls_cached
 * verifier checks its cache of accepted certificates and its CAs, or asks
 * the user. An accepted certificate is remembered for the host and port in
 * the account's BspTlsTrust, and accept-certificate takes exactly that one
 * when the caller sends the request again; tls_cached remembers it across
 * sign-ins (then the retry comes without a prompt).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <purple.h>
#include <string.h>
#include <unistd.h>

#include "bsp-log.h"
#include "bsp-tls.h"

G_DEFINE_QUARK (bsp - tls - error - quark, bsp_tls_error)

#define BSP_TLS_PEER_KEY "bsp-tls-peer"
#define BSP_TLS_TRUST_KEY "bsp-tls-trust"

struct _BspTlsTrust
{
  gint ref_count; /* atomic */
  GMutex lock;
  GHashTable *accepted; /* "host:port" → GTlsCertificate */
};

BspTlsTrust *
bsp_tls_trust_new (void)
{
  BspTlsTrust *trust = g_new0 (BspTlsTrust, 1);

  trust->ref_count = 1;
  g_mutex_init (&trust->lock);
  trust->accepted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  return trust;
}

BspTlsTrust *
bsp_tls_trust_ref (BspTlsTrust *trust)
{
  g_atomic_int_inc (&trust->ref_count);
  return trust;
}

void
bsp_tls_trust_unref (BspTlsTrust *trust)
{
  if (trust == NULL || !g_atomic_int_dec_and_test (&trust->ref_count))
    return;
  g_hash_table_unref (trust->accepted);
  g_mutex_clear (&trust->lock);
  g_free (trust);
}

BspTlsTrust *
bsp_tls_trust_get (SoupSession *session)
{
  BspTlsTrust *trust = g_object_get_data (G_OBJECT (session), BSP_TLS_TRUST_KEY);

  return trust != NULL ? bsp_tls_trust_ref (trust) : NULL;
}

void
bsp_tls_trust_set (SoupSession *session, BspTlsTrust *trust)
{
  g_object_set_data_full (G_OBJECT (session), BSP_TLS_TRUST_KEY, bsp_tls_trust_ref (trust),
                          (GDestroyNotify) bsp_tls_trust_unref);
}

/* "host:port", the port made explicit. */
static char *
bsp_tls_key (GUri *uri)
{
  int port = g_uri_get_port (uri);
  g_autofree char *host = g_ascii_strdown (g_uri_get_host (uri), -1);

  if (port < 0)
    port = g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
  return g_strdup_printf ("%s:%d", host, port);
}

void
bsp_tls_peer_free (BspTlsPeer *peer)
{
  if (peer == NULL)
    return;
  g_uri_unref (peer->uri);
  g_object_unref (peer->certificate);
  g_free (peer);
}

/* On the sending thread, during the handshake. */
static gboolean
bsp_tls_accept_cb (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                   gpointer user_data)
{
  BspTlsTrust *trust = user_data;
  BspTlsPeer *peer = g_new0 (BspTlsPeer, 1);
  g_autofree char *key = NULL;
  GTlsCertificate *accepted;
  gboolean same;

  peer->uri = g_uri_ref (soup_message_get_uri (msg));
  peer->certificate = g_object_ref (certificate);
  peer->errors = errors;
  key = bsp_tls_key (peer->uri);
  g_object_set_data_full (G_OBJECT (msg), BSP_TLS_PEER_KEY, peer,
                          (GDestroyNotify) bsp_tls_peer_free);
  g_mutex_lock (&trust->lock);
  accepted = g_hash_table_lookup (trust->accepted, key);
  same = accepted != NULL && g_tls_certificate_is_same (accepted, certificate);
  g_mutex_unlock (&trust->lock);
  return same;
}

static void
bsp_tls_trust_closure_notify (gpointer data, GClosure *closure)
{
  bsp_tls_trust_unref (data);
}

void
bsp_tls_watch (BspTlsTrust *trust, SoupMessage *msg)
{
  if (trust == NULL)
    return;
  g_signal_connect_data (msg, "accept-certificate", G_CALLBACK (bsp_tls_accept_cb),
                         bsp_tls_trust_ref (trust), bsp_tls_trust_closure_notify, 0);
}

gboolean
bsp_tls_can_ask (SoupMessage *msg, const GError *error)
{
  return g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
         && g_object_get_data (G_OBJECT (msg), BSP_TLS_PEER_KEY) != NULL;
}

BspTlsPeer *
bsp_tls_peer_take (SoupMessage *msg)
{
  return g_object_steal_data (G_OBJECT (msg), BSP_TLS_PEER_KEY);
}

/* ---- asking libpurple ------------------------------------------------------------- */

/* "the certificate of HOST is not trusted: it has expired; …" */
static GError *
bsp_tls_not_trusted (const BspTlsPeer *peer)
{
  static const struct
  {
    GTlsCertificateFlags flag;
    const char *why;
  } reasons[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, N_("it is not signed by an authority this system trusts") },
      { G_TLS_CERTIFICATE_BAD_IDENTITY, N_("it is made out for another host") },
        { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_("it is not valid yet") },
          { G_TLS_CERTIFICATE_EXPIRED, N_("it has expired") },
            { G_TLS_CERTIFICATE_REVOKED, N_("it has been revoked") },
              { G_TLS_CERTIFICATE_INSECURE, N_("it uses an insecure algorithm") },
            };
  GString *why = g_string_new (NULL);
  GError *error;

  for (gsize i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (peer->errors & reasons[i].flag)
      /* TRANSLATORS: between two reasons why a certificate is not trusted */
      g_string_append_printf (why, "%s%s", why->len > 0 ? _("; ") : "", _(reasons[i].why));
  if (why->len == 0)
    g_string_append (why, _("it is not valid"));
  error = g_error_new (BSP_TLS_ERROR, BSP_TLS_ERROR_NOT_TRUSTED,
                       _("the certificate of %s is not trusted: %s"), g_uri_get_host (peer->uri),
                          why->str);
  g_string_free (why, TRUE);
  return error;
}

/* @certificate and its issuers, as libpurple's own certificates. */
static GList *
bsp_tls_import (PurpleCertificateScheme *scheme, GTlsCertificate *certificate)
{
  g_autoptr (GString) pem = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  GSList *imported;
  GList *chain = NULL;
  int fd;

  for (GTlsCertificate *c = certificate; c != NULL; c = g_tls_certificate_get_issuer (c))
    {
      g_autofree char *one = NULL;
      g_object_get (c, "certificate-pem", &one, NULL);
      if (one != NULL)
        g_string_append (pem, one);
    }
  fd = g_file_open_tmp ("bsproxy-XXXXXX.pem", &path, &error);
  if (fd < 0)
    {
      bsp_log_warning ("cannot hand the certificate to libpurple: %s", error->message);
      return NULL;
    }
  close (fd);
  if (g_file_set_contents (path, pem->str, pem->len, &error))
    {
      imported = purple_certificates_import (scheme, path);
      for (GSList *l = imported; l != NULL; l = l->next)
        chain = g_list_append (chain, l->data);
      g_slist_free (imported);
    }
  else
    bsp_log_warning ("cannot hand the certificate to libpurple: %s", error->message);
  g_unlink (path);
  return chain;
}

typedef struct
{
  gint ref_count; /* libpurple's verification */
  BspTlsTrust *trust;
  BspTlsPeer *peer; /* a copy */
  GCancellable *cancellable;
  gulong cancel_id;
  GTask *task; /* NULL once answered: taken atomically (a cancel may come from any thread) */
} BspTlsAsk;

/* Main thread only: the verifications under way (their prompts may be open). */
static GList *bsp_tls_asks;

static void
bsp_tls_ask_unref (BspTlsAsk *ask)
{
  if (--ask->ref_count > 0)
    return;
  if (ask->cancel_id != 0)
    g_cancellable_disconnect (ask->cancellable, ask->cancel_id);
  g_clear_object (&ask->cancellable);
  bsp_tls_trust_unref (ask->trust);
  bsp_tls_peer_free (ask->peer);
  g_clear_object (&ask->task);
  g_free (ask);
}

/* Returns the verdict (@error taken; NULL: accepted), the first time only. */
static void
bsp_tls_ask_answer (BspTlsAsk *ask, GError *error)
{
  g_autoptr (GTask) task = g_atomic_pointer_exchange (&ask->task, NULL);

  if (task == NULL)
    g_clear_error (&error);
  else if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The transfer ended while the prompt is open: it answers nobody now.
 * GTask delivers a cancelled task's verdict from an idle, never from inside
 * the cancellable's emission (the callback may drop the cancellable). */
static void
bsp_tls_ask_cancelled (GCancellable *cancellable, gpointer data)
{
  bsp_tls_ask_answer (data, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "cancelled while the certificate was checked"));
}

static void
bsp_tls_verified (PurpleCertificateVerificationStatus status, gpointer data)
{
  BspTlsAsk *ask = data;

  bsp_tls_asks = g_list_remove (bsp_tls_asks, ask);
  if (status == PURPLE_CERTIFICATE_VALID)
    {
      g_autofree char *key = bsp_tls_key (ask->peer->uri);

      bsp_log_info ("the certificate of %s is accepted", key);
      g_mutex_lock (&ask->trust->lock);
      g_hash_table_replace (ask->trust->accepted, g_steal_pointer (&key),
                            g_object_ref (ask->peer->certificate));
      g_mutex_unlock (&ask->trust->lock);
      bsp_tls_ask_answer (ask, NULL);
    }
  else
    bsp_tls_ask_answer (ask, bsp_tls_not_trusted (ask->peer));
  bsp_tls_ask_unref (ask);
}

void
bsp_tls_ask_async (BspTlsTrust *trust, const BspTlsPeer *peer, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  PurpleCertificateScheme *scheme = purple_certificate_find_scheme ("x509");
  PurpleCertificateVerifier *verifier = purple_certificate_find_verifier ("x509", "tls_cached");
  GList *chain = scheme != NULL ? bsp_tls_import (scheme, peer->certificate) : NULL;
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  BspTlsAsk *ask;

  g_task_set_source_tag (task, bsp_tls_ask_async);
  if (verifier == NULL || chain == NULL)
    {
      /* No SSL plugin in libpurple: nobody to ask. */
      purple_certificate_destroy_list (chain);
      g_task_return_error (task, bsp_tls_not_trusted (peer));
      return;
    }
  ask = g_new0 (BspTlsAsk, 1);
  ask->ref_count = 1;
  ask->trust = bsp_tls_trust_ref (trust);
  ask->peer = g_new0 (BspTlsPeer, 1);
  ask->peer->uri = g_uri_ref (peer->uri);
  ask->peer->certificate = g_object_ref (peer->certificate);
  ask->peer->errors = peer->errors;
  ask->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      ask->cancellable = g_object_ref (cancellable);
      ask->cancel_id
          = g_cancellable_connect (cancellable, G_CALLBACK (bsp_tls_ask_cancelled), ask, NULL);
    }
  bsp_tls_asks = g_list_prepend (bsp_tls_asks, ask);
  /* @ask is also the prompt's handle (libpurple's request handle is the
   * verification's data), for bsp_tls_shutdown (). */
  purple_certificate_verify (verifier, g_uri_get_host (peer->uri), chain, bsp_tls_verified, ask);
  purple_certificate_destroy_list (chain);
}

gboolean
bsp_tls_ask_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bsp_tls_ask_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
bsp_tls_asking (void)
{
  for (GList *l = bsp_tls_asks; l != NULL; l = l->next)
    if (g_atomic_pointer_get (&((BspTlsAsk *) l->data)->task) != NULL)
      return TRUE;
  return FALSE;
}

void
bsp_tls_shutdown (void)
{
  while (bsp_tls_asks != NULL)
    {
      BspTlsAsk *ask = bsp_tls_asks->data;

      bsp_tls_asks = g_list_delete_link (bsp_tls_asks, bsp_tls_asks);
      /* The transfers have stopped (they hold what their callbacks need):
       * the verdict goes to them now or in the next iteration. */
      ask->ref_count++;
      bsp_tls_ask_answer (
          ask, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "the plugin was unloaded"));
      /* libpurple drops the verification with its prompt, unanswered. */
      purple_request_close_with_handle (ask);
      bsp_tls_ask_unref (ask); /* libpurple's */
      bsp_tls_ask_unref (ask);
    }
}
