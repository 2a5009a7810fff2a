/* bsp-probe.c — is a bs-proxy's HTTP side reachable from here?
 *
 * The plugin checks once per sign-in, when it learns a bs-proxy's
 * http-base, and again after a transfer could not reach it: a transfer is
 * offered to HTTP only when this says yes, so that an unreachable HTTP side
 * (a blocked port, a wrong base URL) costs nothing but libpurple's own
 * path, instead of a transfer that fails after it was committed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-http-proxy.h"
#include "bsp-probe.h"
#include "bsp-tls.h"

/* The task's data: its own cancellable (the caller's or the timeout
 * cancels it), and the peer of a certificate to ask about. */
typedef struct
{
  GCancellable *cancellable;
  gulong caller_handler;
  guint timeout_id;
  gboolean timed_out;
  BspTlsPeer *unverified;
} BspProbe;

static void
bsp_probe_free (BspProbe *probe)
{
  g_clear_handle_id (&probe->timeout_id, g_source_remove);
  g_clear_object (&probe->cancellable);
  g_clear_pointer (&probe->unverified, bsp_tls_peer_free);
  g_free (probe);
}

static gboolean
bsp_probe_timeout (gpointer user_data)
{
  BspProbe *probe = user_data;

  probe->timeout_id = 0;
  probe->timed_out = TRUE;
  g_cancellable_cancel (probe->cancellable);
  return G_SOURCE_REMOVE;
}

static void
bsp_probe_caller_cancelled (GCancellable *caller, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
bsp_probe_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BspProbe *probe = g_task_get_task_data (task);
  GCancellable *caller = g_task_get_cancellable (task);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  GError *why = NULL;

  g_clear_handle_id (&probe->timeout_id, g_source_remove);
  if (caller != NULL)
    {
      g_cancellable_disconnect (caller, probe->caller_handler);
      probe->caller_handler = 0;
    }
  if (body != NULL)
    {
      guint status = soup_message_get_status (msg);
      const char *mark
          = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Bs-Proxy");

      /* Only the bs-proxy's own answer counts: the network's proxy's
       * refusal is named as such, anything else by its status. */
      if (status != SOUP_STATUS_NO_CONTENT || g_strcmp0 (mark, "1") != 0)
        {
          why = bsp_http_proxy_status_error (msg);
          if (why == NULL)
            why = g_error_new (
                G_IO_ERROR, G_IO_ERROR_FAILED, "the answer was %u %s, not the bs-proxy's own",
                status,
                soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "");
        }
      /* Nothing of the body is wanted: closing drops the connection if
       * one came. */
      g_input_stream_close (body, NULL, NULL);
    }
  else if (caller != NULL && g_cancellable_is_cancelled (caller))
    why = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else if (bsp_tls_can_ask (msg, error))
    {
      /* The HTTP side answered with a certificate the system does not
       * trust: whether to trust it is the user's question, asked at the
       * first transfer (bsp-tls.c), not a blocked path. */
      probe->unverified = bsp_tls_peer_take (msg);
    }
  else if (probe->timed_out)
    why = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer within %d s",
                       BSP_PROBE_TIMEOUT_S);
  else
    why = g_steal_pointer (&error);
  if (why != NULL)
    g_task_return_error (task, why);
  else
    g_task_return_boolean (task, TRUE);
}

void
bsp_probe_http_async (SoupSession *session, const char *base, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, base);
  BspProbe *probe;

  g_task_set_source_tag (task, bsp_probe_http_async);
  if (msg == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "the advertised base is not a URL");
      return;
    }
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  /* The network's proxy may ask for the account's credentials. */
  if (bsp_http_proxy_from_session (session) != NULL)
    bsp_http_proxy_watch (bsp_http_proxy_from_session (session), msg);
  {
    g_autoptr (BspTlsTrust) trust = bsp_tls_trust_get (session);
    bsp_tls_watch (trust, msg); /* a certificate the user accepted counts */
  }
  probe = g_new0 (BspProbe, 1);
  probe->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, probe, (GDestroyNotify) bsp_probe_free);
  if (cancellable != NULL)
    probe->caller_handler
        = g_cancellable_connect (cancellable, G_CALLBACK (bsp_probe_caller_cancelled),
                                 g_object_ref (probe->cancellable), g_object_unref);
  probe->timeout_id = g_timeout_add_seconds (BSP_PROBE_TIMEOUT_S, bsp_probe_timeout, probe);
  soup_session_send_async (session, msg, G_PRIORITY_DEFAULT, probe->cancellable, bsp_probe_sent,
                           g_steal_pointer (&task));
}

gboolean
bsp_probe_http_finish (GAsyncResult *result, BspTlsPeer **unverified, GError **error)
{
  GTask *task = G_TASK (result);
  BspProbe *probe = g_task_get_task_data (task);
  gboolean reachable;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (task) == bsp_probe_http_async, FALSE);
  reachable = g_task_propagate_boolean (task, error);
  if (unverified != NULL)
    *unverified = reachable && probe != NULL ? g_steal_pointer (&probe->unverified) : NULL;
  return reachable;
}
