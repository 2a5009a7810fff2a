/* bsp-purple-driver-xfer.c — the driver's file transfers: --send-file
 * once the peer and the proxy are there, --accept-dir and --decline,
 * progress (and --progress-bar), the --cancel-at, --unload-at and
 * --signoff-at triggers, and each step as an xfer-* event
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-protocol.h"
#include "bsp-purple-driver.h"

/* ------------------------------------------------------------------ */
/* File transfers                                                      */

static void
driver_xfer_event (const char *event, PurpleXfer *xfer, const char *extra_name,
                   const char *extra_value)
{
  g_autoptr (JsonBuilder) builder = driver_event_begin (event);

  json_builder_set_member_name (builder, "direction");
  json_builder_add_string_value (
      builder, purple_xfer_get_type (xfer) == PURPLE_XFER_SEND ? "send" : "receive");
  json_builder_set_member_name (builder, "peer");
  json_builder_add_string_value (builder, purple_xfer_get_remote_user (xfer));
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (
      builder, purple_xfer_get_filename (xfer) ? purple_xfer_get_filename (xfer) : "");
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64) purple_xfer_get_size (xfer));
  json_builder_set_member_name (builder, "bytes");
  json_builder_add_int_value (builder, (gint64) purple_xfer_get_bytes_sent (xfer));
  if (purple_xfer_get_local_filename (xfer) != NULL)
    {
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, purple_xfer_get_local_filename (xfer));
    }
  if (extra_name != NULL)
    {
      json_builder_set_member_name (builder, extra_name);
      json_builder_add_string_value (builder, extra_value);
    }
  driver_event_emit (builder);
}

static void
driver_xfer_ended (Driver *self, gboolean ok)
{
  self->xfers_ended++;
  if (!ok)
    self->xfers_failed++;
  if (self->progress_bar)
    g_printerr ("\n");
  driver_check_goal (self);
}

void
driver_maybe_send (Driver *self)
{
  DriverAccount *da;
  g_autofree char *bare = NULL;

  if (self->send_file == NULL || self->send_started || self->finished || !self->proxy_ready
      || (self->send_after != NULL && !self->send_after_seen))
    return;
  da = g_ptr_array_index (self->accounts, 0);
  bare = bsp_jid_bare (self->send_to);
  if (!da->signed_on || !PURPLE_BUDDY_IS_ONLINE (purple_find_buddy (da->account, bare)))
    return;
  self->send_started = TRUE;
  /* As a user would, from an open conversation: reasons show up there. */
  purple_conversation_new (PURPLE_CONV_TYPE_IM, da->account, self->send_to);
  serv_send_file (purple_account_get_connection (da->account), self->send_to, self->send_file);
}

/* A file name from the network, made safe to use inside --accept-dir. */
static char *
driver_safe_name (const char *name)
{
  g_autofree char *base = g_path_get_basename (name && *name ? name : "file");

  if (g_strcmp0 (base, "..") == 0 || g_strcmp0 (base, ".") == 0 || g_strcmp0 (base, "/") == 0)
    return g_strdup ("file");
  return g_steal_pointer (&base);
}

static void
driver_file_recv_request_cb (PurpleXfer *xfer, gpointer user_data)
{
  Driver *self = user_data;

  driver_xfer_event ("xfer-offered", xfer, NULL, NULL);
  purple_conversation_new (PURPLE_CONV_TYPE_IM, purple_xfer_get_account (xfer),
                           purple_xfer_get_remote_user (xfer));
  /* --decline: no file name is set, so libpurple asks the user, and
   * driver_request_action answers Cancel, as a user would. */
  if (self->accept_dir != NULL)
    {
      g_autofree char *name = driver_safe_name (purple_xfer_get_filename (xfer));
      g_autofree char *path = g_build_filename (self->accept_dir, name, NULL);
      purple_xfer_request_accepted (xfer, path);
    }
}

static gboolean
driver_fire_trigger (gpointer user_data)
{
  PurpleXfer *xfer = user_data;
  Driver *self = driver_global;
  gint64 bytes = (gint64) purple_xfer_get_bytes_sent (xfer);

  if (!purple_xfer_is_canceled (xfer) && !purple_xfer_is_completed (xfer))
    {
      if (self->cancel_at >= 0 && bytes >= self->cancel_at)
        {
          driver_xfer_event ("xfer-cancelling", xfer, NULL, NULL);
          purple_xfer_cancel_local (xfer);
        }
      else if (self->unload_at >= 0 && bytes >= self->unload_at && self->plugin != NULL)
        {
          driver_event ("plugin-unloading", "id", purple_plugin_get_id (self->plugin), NULL);
          purple_plugin_unload (self->plugin);
        }
      else if (self->signoff_at >= 0 && bytes >= self->signoff_at)
        {
          driver_event ("signing-off", "account",
                        purple_account_get_username (purple_xfer_get_account (xfer)), NULL);
          purple_account_disconnect (purple_xfer_get_account (xfer));
        }
    }
  purple_xfer_unref (xfer);
  return G_SOURCE_REMOVE;
}

static void
driver_xfer_update_progress (PurpleXfer *xfer, double percent)
{
  Driver *self = driver_global;
  gint64 now = g_get_monotonic_time ();
  gint64 bytes = (gint64) purple_xfer_get_bytes_sent (xfer);
  gint64 size = (gint64) purple_xfer_get_size (xfer);
  gint64 trigger = MAX (self->cancel_at, MAX (self->unload_at, self->signoff_at));

  if (!self->trigger_fired && trigger >= 0 && bytes >= trigger)
    {
      /* Not from inside libpurple's own progress path; at the default
       * priority, so that a busy transfer (all default-priority I/O) can't
       * starve it until the end. */
      self->trigger_fired = TRUE;
      purple_xfer_ref (xfer);
      g_idle_add_full (G_PRIORITY_DEFAULT, driver_fire_trigger, xfer, NULL);
    }
  if (now - self->last_progress < 200000 && bytes != size)
    return;
  self->last_progress = now;
  driver_xfer_event ("xfer-progress", xfer, NULL, NULL);
  if (self->progress_bar && size > 0)
    {
      int width = 40, filled = (int) (width * (double) bytes / size);
      double secs = (now - (gint64) purple_xfer_get_start_time (xfer) * G_USEC_PER_SEC)
                    / (double) G_USEC_PER_SEC;
      g_printerr ("\r  [%.*s%*s] %5.1f%%  %.1f/%.1f MiB", filled,
                  "########################################", width - filled, "",
                  100.0 * bytes / size, bytes / 1048576.0, size / 1048576.0);
      (void) secs;
    }
}

static PurpleXferUiOps driver_xfer_ops = {
  .update_progress = driver_xfer_update_progress,
};

static void
driver_file_start_cb (PurpleXfer *xfer, gpointer user_data)
{
  driver_xfer_event ("xfer-started", xfer, NULL, NULL);
}

static void
driver_file_complete_cb (PurpleXfer *xfer, gpointer user_data)
{
  driver_xfer_event ("xfer-completed", xfer, NULL, NULL);
  driver_xfer_ended (user_data, TRUE);
}

static void
driver_file_cancel_cb (PurpleXfer *xfer, gpointer user_data)
{
  driver_xfer_event ("xfer-cancelled", xfer, "status",
                     purple_xfer_get_status (xfer) == PURPLE_XFER_STATUS_CANCEL_REMOTE
                         ? "cancel-remote"
                         : "cancel-local");
  driver_xfer_ended (user_data, FALSE);
}

void
driver_connect_xfer_signals (Driver *self)
{
  void *xfers = purple_xfers_get_handle ();

  purple_xfers_set_ui_ops (&driver_xfer_ops);
  driver_set_dialog_ui_ops ();
  purple_signal_connect (xfers, "file-recv-request", self,
                         PURPLE_CALLBACK (driver_file_recv_request_cb), self);
  purple_signal_connect (xfers, "file-send-start", self, PURPLE_CALLBACK (driver_file_start_cb),
                         self);
  purple_signal_connect (xfers, "file-recv-start", self, PURPLE_CALLBACK (driver_file_start_cb),
                         self);
  purple_signal_connect (xfers, "file-send-complete", self,
                         PURPLE_CALLBACK (driver_file_complete_cb), self);
  purple_signal_connect (xfers, "file-recv-complete", self,
                         PURPLE_CALLBACK (driver_file_complete_cb), self);
  purple_signal_connect (xfers, "file-send-cancel", self, PURPLE_CALLBACK (driver_file_cancel_cb),
                         self);
  purple_signal_connect (xfers, "file-recv-cancel", self, PURPLE_CALLBACK (driver_file_cancel_cb),
                         self);
  driver_connect_offer_signals (self);
}
