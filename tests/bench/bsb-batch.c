/* bsb-batch.c — N simultaneous transfers through one bytestreams proxy, timed
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bsb-batch.h"
#include "bsb-http.h"
#include "bsb-net.h"
#include "bsb-pump.h"
#include "bsb-socks5.h"
#include "bsb-xml.h"

#define BSB_NS_BS "http://jabber.org/protocol/bytestreams"
#define BSB_NS_BSPROXY "http://oneteam.im/bs-proxy"

typedef struct _BsbBatch BsbBatch;

typedef struct
{
  BsbBatch *batch;
  guint index;
  char *sid;
  char *sidhash;
  guint64 seed;
  int initiator_fd; /* SOCKS5 sides; -1 otherwise */
  int target_fd;
  char *upload_url; /* HTTP sides, from the IQs */
  char *download_url;
  gboolean send_go; /* the activation was answered */
  gboolean recv_go; /* the download URL came */
  gboolean activated;
  gint64 last_byte_us;
  BsbSocketSlot upload_slot; /* the HTTP sockets, to break them off */
  BsbSocketSlot download_slot;
  GThread *sender;
  GThread *receiver;
} BsbTransfer;

struct _BsbBatch
{
  const BsbBatchConfig *config;
  GMutex lock;
  GCond cond;
  gboolean abort;
  GError *first_error;
  gint threads_left;
  gint64 deadline;
  BsbTransfer *transfers;
  GHashTable *by_sidhash; /* sidhash → BsbTransfer */
};

static void
bsb_transfer_fail (BsbTransfer *t, GError *error)
{
  BsbBatch *batch = t->batch;

  g_mutex_lock (&batch->lock);
  /* Once one transfer failed, the others break off as a consequence:
   * only the first failure says what went wrong. */
  if (batch->first_error == NULL && !batch->abort)
    batch->first_error = error;
  else
    g_error_free (error);
  batch->abort = TRUE;
  g_cond_broadcast (&batch->cond);
  g_mutex_unlock (&batch->lock);
}

/* Waits for @flag (under the lock); FALSE if the batch was aborted. */
static gboolean
bsb_batch_wait_for (BsbBatch *batch, const gboolean *flag)
{
  gboolean go;

  g_mutex_lock (&batch->lock);
  while (!*flag && !batch->abort)
    if (!g_cond_wait_until (&batch->cond, &batch->lock, batch->deadline))
      break;
  go = *flag && !batch->abort;
  g_mutex_unlock (&batch->lock);
  return go;
}

static void
bsb_batch_thread_done (BsbBatch *batch)
{
  g_mutex_lock (&batch->lock);
  batch->threads_left--;
  g_cond_broadcast (&batch->cond);
  g_mutex_unlock (&batch->lock);
}

/* ---- data threads --------------------------------------------------------- */

static gpointer
bsb_transfer_sender (gpointer data)
{
  BsbTransfer *t = data;
  BsbBatch *batch = t->batch;
  const BsbBatchConfig *config = batch->config;
  GError *error = NULL;
  gboolean ok;

  if (bsb_batch_wait_for (batch, &t->send_go))
    {
      if (config->initiator_side == BSB_SIDE_SOCKS5)
        ok = bsb_pump_send (t->initiator_fd, t->seed, config->size, config->buf_size, &error);
      else
        ok = bsb_http_upload (t->upload_url, t->sidhash, t->seed, config->size, config->buf_size,
                              config->part_length, config->timeout_s, &t->upload_slot, &error);
      if (!ok)
        {
          g_prefix_error (&error, "transfer %u, sender: ", t->index);
          bsb_transfer_fail (t, error);
        }
    }
  bsb_batch_thread_done (batch);
  return NULL;
}

static gpointer
bsb_transfer_receiver (gpointer data)
{
  BsbTransfer *t = data;
  BsbBatch *batch = t->batch;
  const BsbBatchConfig *config = batch->config;
  GError *error = NULL;
  gboolean ok;

  if (config->target_side == BSB_SIDE_SOCKS5)
    ok = bsb_pump_receive (t->target_fd, t->seed, config->size, config->buf_size, &t->last_byte_us,
                           &error);
  else if (!bsb_batch_wait_for (batch, &t->recv_go))
    ok = TRUE; /* aborted: someone else has the error */
  else
    ok = bsb_http_download (t->download_url, t->seed, config->size, config->buf_size,
                            config->timeout_s, &t->download_slot, &t->last_byte_us, &error);
  if (!ok)
    {
      g_prefix_error (&error, "transfer %u, receiver: ", t->index);
      bsb_transfer_fail (t, error);
    }
  bsb_batch_thread_done (batch);
  return NULL;
}

/* ---- XMPP ------------------------------------------------------------------- */

/* <connect/> for every HTTP receiver, pipelined, with the file's size as the
 * plugin's receiver gives it (it knows it from the offer). */
static gboolean
bsb_batch_connect_http_targets (BsbBatch *batch, BsbXmpp *initiator, BsbXmpp *target,
                                GError **error)
{
  const BsbBatchConfig *config = batch->config;
  g_autofree char *ijid = bsb_xml_escape (bsb_xmpp_get_jid (initiator));
  guint answered = 0;

  for (guint i = 0; i < config->streams; i++)
    {
      g_autofree char *iq
          = g_strdup_printf ("<iq type='set' to='%s' id='c%u'><connect xmlns='" BSB_NS_BSPROXY
                             "' sid='%s' jid='%s' size='%" G_GUINT64_FORMAT "'/></iq>",
                             config->proxy_jid, i, batch->transfers[i].sid, ijid, config->size);
      if (!bsb_xmpp_send (target, iq, error))
        return FALSE;
    }
  while (answered < config->streams)
    {
      gint64 left = (batch->deadline - g_get_monotonic_time ()) / 1000;
      g_autofree char *stanza = left > 0 ? bsb_xmpp_next (target, (int) left, error) : NULL;
      g_autofree char *type = NULL;
      g_autofree char *id = NULL;

      if (stanza == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error_literal (error, BSB_ERROR, BSB_ERROR_IO, "<connect/> not answered");
          return FALSE;
        }
      type = bsb_xml_attr (stanza, "type");
      id = bsb_xml_attr (stanza, "id");
      if (g_strcmp0 (type, "set") == 0 || g_strcmp0 (type, "get") == 0)
        {
          if (!bsb_xmpp_ack (target, stanza, error))
            return FALSE;
          continue;
        }
      if (id == NULL || id[0] != 'c')
        continue;
      if (g_strcmp0 (type, "result") != 0 || bsb_xml_find (stanza, "connected") == NULL)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "<connect/> refused: %s", stanza);
          return FALSE;
        }
      answered++;
    }
  return TRUE;
}

static void
bsb_batch_handle_initiator (BsbBatch *batch, BsbXmpp *xmpp, const char *stanza, guint *answered,
                            GError **error)
{
  const BsbBatchConfig *config = batch->config;
  g_autofree char *type = bsb_xml_attr (stanza, "type");
  g_autofree char *id = bsb_xml_attr (stanza, "id");
  g_autofree char *name = bsb_xml_name (stanza);
  BsbTransfer *t;
  guint64 index;

  if (g_strcmp0 (name, "iq") != 0)
    return;
  if (g_strcmp0 (type, "set") == 0 || g_strcmp0 (type, "get") == 0)
    {
      bsb_xmpp_ack (xmpp, stanza, error);
      return;
    }
  if (id == NULL || id[0] != 'a'
      || !g_ascii_string_to_unsigned (id + 1, 10, 0, config->streams - 1, &index, NULL))
    return;
  t = &batch->transfers[index];
  if (t->activated)
    return;
  t->activated = TRUE;
  (*answered)++;
  if (g_strcmp0 (type, "result") != 0)
    {
      bsb_transfer_fail (t, g_error_new (BSB_ERROR, BSB_ERROR_PROTOCOL,
                                         "transfer %u: activation refused: %s", t->index, stanza));
      return;
    }
  g_mutex_lock (&batch->lock);
  if (config->initiator_side == BSB_SIDE_HTTP)
    {
      const char *activated = bsb_xml_find (stanza, "activated");
      t->upload_url = activated ? bsb_xml_attr (activated, "url") : NULL;
    }
  t->send_go = TRUE;
  g_cond_broadcast (&batch->cond);
  g_mutex_unlock (&batch->lock);
  if (config->initiator_side == BSB_SIDE_HTTP && t->upload_url == NULL)
    bsb_transfer_fail (t, g_error_new (BSB_ERROR, BSB_ERROR_PROTOCOL,
                                       "transfer %u: activation gave no upload URL: %s", t->index,
                                       stanza));
}

static void
bsb_batch_handle_target (BsbBatch *batch, BsbXmpp *xmpp, const char *stanza, GError **error)
{
  g_autofree char *type = bsb_xml_attr (stanza, "type");
  g_autofree char *name = bsb_xml_name (stanza);
  const char *activated;
  g_autofree char *sidhash = NULL;
  g_autofree char *url = NULL;
  BsbTransfer *t;

  if (g_strcmp0 (name, "iq") != 0 || (g_strcmp0 (type, "set") != 0 && g_strcmp0 (type, "get") != 0))
    return;
  if (!bsb_xmpp_ack (xmpp, stanza, error))
    return;
  activated = bsb_xml_find (stanza, "activated");
  if (activated == NULL)
    return; /* <progress/> and the like */
  sidhash = bsb_xml_attr (activated, "sidhash");
  url = bsb_xml_attr (activated, "url");
  t = sidhash ? g_hash_table_lookup (batch->by_sidhash, sidhash) : NULL;
  if (t == NULL || url == NULL)
    return;
  g_mutex_lock (&batch->lock);
  g_free (t->download_url);
  t->download_url = g_steal_pointer (&url);
  t->recv_go = TRUE;
  g_cond_broadcast (&batch->cond);
  g_mutex_unlock (&batch->lock);
}

/* Drains both XMPP streams until every data thread ended. */
static gboolean
bsb_batch_serve (BsbBatch *batch, BsbXmpp *initiator, BsbXmpp *target, GError **error)
{
  guint answered = 0;

  for (;;)
    {
      struct pollfd pfd[2]
          = { { bsb_xmpp_get_fd (initiator), POLLIN, 0 }, { bsb_xmpp_get_fd (target), POLLIN, 0 } };
      gboolean finished, aborted;
      int rc;

      for (;;)
        {
          g_autofree char *stanza = bsb_xmpp_take (initiator, error);
          if (stanza == NULL)
            break;
          bsb_batch_handle_initiator (batch, initiator, stanza, &answered, error);
        }
      for (;;)
        {
          g_autofree char *stanza = bsb_xmpp_take (target, error);
          if (stanza == NULL)
            break;
          bsb_batch_handle_target (batch, target, stanza, error);
        }
      if (error != NULL && *error != NULL)
        return FALSE;

      g_mutex_lock (&batch->lock);
      finished = batch->threads_left == 0;
      aborted = batch->abort;
      g_mutex_unlock (&batch->lock);
      if (finished)
        return TRUE;
      if (aborted)
        return FALSE; /* a transfer failed: its error tells why */
      if (g_get_monotonic_time () > batch->deadline)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_IO,
                       "the batch did not finish within %d s (%u of %u activations answered)",
                       batch->config->timeout_s, answered, batch->config->streams);
          return FALSE;
        }
      rc = poll (pfd, 2, 20);
      if (rc < 0 && errno != EINTR)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_IO, "poll: %s", g_strerror (errno));
          return FALSE;
        }
      if (rc > 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
          && !bsb_xmpp_fill (initiator, error))
        return FALSE;
      if (rc > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
          && !bsb_xmpp_fill (target, error))
        return FALSE;
    }
}

/* Unblocks every data thread after a failure. */
static void
bsb_batch_abort (BsbBatch *batch)
{
  g_mutex_lock (&batch->lock);
  batch->abort = TRUE;
  g_cond_broadcast (&batch->cond);
  g_mutex_unlock (&batch->lock);
  for (guint i = 0; i < batch->config->streams; i++)
    {
      BsbTransfer *t = &batch->transfers[i];
      if (t->initiator_fd >= 0)
        shutdown (t->initiator_fd, SHUT_RDWR);
      if (t->target_fd >= 0)
        shutdown (t->target_fd, SHUT_RDWR);
      bsb_socket_slot_cancel (&t->upload_slot);
      bsb_socket_slot_cancel (&t->download_slot);
    }
}

gboolean
bsb_batch_run (const BsbBatchConfig *config, BsbXmpp *initiator, BsbXmpp *target,
               BsbBatchResult *result, GError **error)
{
  BsbBatch batch = { 0 };
  GError *local = NULL;
  gint64 start = 0, end = 0;
  gboolean ok = FALSE;
  gboolean served = FALSE;
  guint started = 0;

  batch.config = config;
  batch.deadline = g_get_monotonic_time () + (gint64) config->timeout_s * G_USEC_PER_SEC;
  g_mutex_init (&batch.lock);
  g_cond_init (&batch.cond);
  batch.by_sidhash = g_hash_table_new (g_str_hash, g_str_equal);
  batch.transfers = g_new0 (BsbTransfer, config->streams);

  for (guint i = 0; i < config->streams; i++)
    {
      BsbTransfer *t = &batch.transfers[i];
      t->batch = &batch;
      t->index = i;
      t->seed = config->seed + i;
      t->sid = g_strdup_printf ("bsb-%s-%u", config->tag, i);
      t->sidhash
          = bsb_xmpp_sidhash (t->sid, bsb_xmpp_get_jid (initiator), bsb_xmpp_get_jid (target));
      t->initiator_fd = -1;
      t->target_fd = -1;
      bsb_socket_slot_init (&t->upload_slot);
      bsb_socket_slot_init (&t->download_slot);
      g_hash_table_insert (batch.by_sidhash, t->sidhash, t);
    }

  /* Set-up: the target side registers first (XEP-0065: the target
   * connects before the initiator). */
  if (config->target_side == BSB_SIDE_HTTP)
    {
      if (!bsb_batch_connect_http_targets (&batch, initiator, target, &local))
        goto out;
    }
  else
    for (guint i = 0; i < config->streams; i++)
      {
        BsbTransfer *t = &batch.transfers[i];
        t->target_fd = bsb_socks5_connect (config->socks5_host, config->socks5_port, t->sidhash,
                                           config->timeout_s, &local);
        if (t->target_fd < 0)
          {
            g_prefix_error (&local, "transfer %u, target: ", i);
            goto out;
          }
      }
  if (config->initiator_side == BSB_SIDE_SOCKS5)
    for (guint i = 0; i < config->streams; i++)
      {
        BsbTransfer *t = &batch.transfers[i];
        t->initiator_fd = bsb_socks5_connect (config->socks5_host, config->socks5_port, t->sidhash,
                                              config->timeout_s, &local);
        if (t->initiator_fd < 0)
          {
            g_prefix_error (&local, "transfer %u, initiator: ", i);
            goto out;
          }
      }

  batch.threads_left = 2 * config->streams;
  for (guint i = 0; i < config->streams; i++)
    {
      BsbTransfer *t = &batch.transfers[i];
      t->receiver = g_thread_new ("bsb-recv", bsb_transfer_receiver, t);
      t->sender = g_thread_new ("bsb-send", bsb_transfer_sender, t);
      started++;
    }

  start = g_get_monotonic_time ();
  for (guint i = 0; i < config->streams && local == NULL; i++)
    {
      BsbTransfer *t = &batch.transfers[i];
      g_autofree char *tjid = bsb_xml_escape (bsb_xmpp_get_jid (target));
      g_autofree char *iq = g_strdup_printf (
          "<iq type='set' to='%s' id='a%u'><query xmlns='" BSB_NS_BS "' sid='%s'>"
          "<activate>%s</activate>%s</query></iq>",
          config->proxy_jid, i, t->sid, tjid,
          config->initiator_side == BSB_SIDE_HTTP ? "<x xmlns='" BSB_NS_BSPROXY "'/>" : "");
      bsb_xmpp_send (initiator, iq, &local);
    }
  if (local == NULL)
    served = bsb_batch_serve (&batch, initiator, target, &local);

out:
  if (!served)
    bsb_batch_abort (&batch);
  for (guint i = 0; i < started; i++)
    {
      g_thread_join (batch.transfers[i].receiver);
      g_thread_join (batch.transfers[i].sender);
    }
  if (batch.first_error != NULL)
    {
      /* The transfer's own failure comes first: an XMPP error after it
       * is a consequence. */
      g_clear_error (&local);
      local = g_steal_pointer (&batch.first_error);
    }
  for (guint i = 0; i < config->streams; i++)
    end = MAX (end, batch.transfers[i].last_byte_us);
  if (local == NULL)
    {
      result->seconds = (end - start) / (double) G_USEC_PER_SEC;
      result->bytes = config->size * config->streams;
      ok = TRUE;
    }
  else
    g_propagate_error (error, local);

  for (guint i = 0; i < config->streams; i++)
    {
      BsbTransfer *t = &batch.transfers[i];
      if (t->initiator_fd >= 0)
        close (t->initiator_fd);
      if (t->target_fd >= 0)
        close (t->target_fd);
      g_free (t->sid);
      g_free (t->sidhash);
      g_free (t->upload_url);
      g_free (t->download_url);
      bsb_socket_slot_clear (&t->upload_slot);
      bsb_socket_slot_clear (&t->download_slot);
    }
  g_free (batch.transfers);
  g_hash_table_unref (batch.by_sidhash);
  g_mutex_clear (&batch.lock);
  g_cond_clear (&batch.cond);
  return ok;
}
