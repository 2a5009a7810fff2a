/* test-e2e-assert.c — what must have happened, on each side of an e2e
 * case: the events each driver's UI saw, the received file, and how the
 * proxy paired the two
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-e2e.h"

gint64
e2e_event_int (JsonObject *event, const char *name)
{
  JsonNode *node = json_object_get_member (event, name);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  return json_node_get_int (node);
}

const char *
e2e_direction (E2ePeer *peer)
{
  return g_str_equal (peer->role, "alice") ? "send" : "receive";
}

/* @peer's driver ended with @status; if not, the end of its log says why
 * (a sanitizer report, libpurple's last words). */
void
e2e_assert_status (E2ePeer *peer, int status)
{
  g_autofree char *log = NULL;
  const char *tail;
  guint lines = 0;

  if (peer->status != status && g_file_get_contents (peer->log_path, &log, NULL, NULL))
    {
      for (tail = log + strlen (log); tail > log && lines < 25; tail--)
        if (tail[-1] == '\n')
          lines++;
      g_test_message ("%s: the end of %s:\n%s", peer->role, peer->log_path, tail);
    }
  g_assert_cmpint (peer->status, ==, status);
}

/* Progress never goes back and never past the size. */
void
e2e_assert_progress_sane (E2ePeer *peer, gint64 size)
{
  gint64 last = 0;

  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      gint64 bytes;

      if (!g_str_equal (json_object_get_string_member (event, "event"), "xfer-progress"))
        continue;
      bytes = e2e_event_int (event, "bytes");
      g_assert_cmpint (e2e_event_int (event, "size"), ==, size);
      g_assert_cmpint (bytes, >=, last);
      g_assert_cmpint (bytes, <=, size);
      last = bytes;
    }
}

/* @peer's transfer of @file completed, and nothing failed on its side.
 * @exact: whether its last byte count must be the size (libpurple's own
 * transfers report completion one read early). */
void
e2e_assert_completed (E2ePeer *peer, const E2eFile *file, gboolean exact)
{
  const char *direction = e2e_direction (peer);
  JsonObject *done;

  e2e_assert_status (peer, 0);
  g_assert_nonnull (
      bsp_test_events_find (peer->events, "xfer-started", "direction", direction, NULL));
  done = bsp_test_events_find (peer->events, "xfer-completed", "direction", direction, NULL);
  g_assert_nonnull (done);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-completed", NULL), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (done, "file"), ==, file->name);
  g_assert_cmpint (e2e_event_int (done, "size"), ==, file->size);
  if (exact)
    g_assert_cmpint (e2e_event_int (done, "bytes"), ==, file->size);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-cancelled", NULL), ==, 0);
  g_assert_null (bsp_test_events_find (peer->events, "conversation", "kind", "error", NULL));
  g_assert_null (bsp_test_events_find (peer->events, "notify", NULL));
  g_assert_null (bsp_test_events_find (peer->events, "connection-error", NULL));
  g_assert_nonnull (bsp_test_events_find (peer->events, "done", NULL));
  e2e_assert_progress_sane (peer, file->size);
}

/* @peer's transfer ended cancelled (with @status when not NULL), was
 * never called complete, and the driver ended cleanly. */
void
e2e_assert_cancelled (E2ePeer *peer, const char *status)
{
  const char *direction = e2e_direction (peer);

  e2e_assert_status (peer, 0);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-completed", NULL), ==, 0);
  g_assert_cmpuint (bsp_test_events_count (peer->events, "xfer-cancelled", NULL), ==, 1);
  g_assert_nonnull (
      bsp_test_events_find (peer->events, "xfer-cancelled", "direction", direction, NULL));
  if (status != NULL)
    g_assert_nonnull (
        bsp_test_events_find (peer->events, "xfer-cancelled", "status", status, NULL));
  g_assert_nonnull (bsp_test_events_find (peer->events, "done", NULL));
}

/* The conversation shows why @peer's transfer of @file failed:
 * "Transfer of NAME failed: REASON" as an error. Returns the message. */
const char *
e2e_assert_reason (E2ePeer *peer, const E2eFile *file)
{
  g_autofree char *prefix = g_strdup_printf ("Transfer of %s failed: ", file->name);
  const char *found = NULL;

  for (guint i = 0; i < peer->events->len && found == NULL; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *message;

      if (!g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          || g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), "error")
                 != 0)
        continue;
      message = json_object_get_string_member (event, "message");
      if (g_str_has_prefix (message, prefix) && strlen (message) > strlen (prefix))
        found = message;
    }
  if (found == NULL)
    g_test_message ("%s: no conversation error \"%s…\"", peer->role, prefix);
  g_assert_nonnull (found);
  return found;
}

/* What @peer's user saw: every notice, conversation line and end, as
 * test messages (a failing case shows them). */
void
e2e_show_user_events (E2ePeer *peer)
{
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *name = json_object_get_string_member (event, "event");

      if (g_str_equal (name, "notify"))
        g_test_message ("%s: notice \"%s\" / \"%s\"", peer->role,
                        json_object_get_string_member_with_default (event, "primary", ""),
                        json_object_get_string_member_with_default (event, "secondary", ""));
      else if (g_str_equal (name, "conversation"))
        g_test_message ("%s: conversation (%s) \"%s\"", peer->role,
                        json_object_get_string_member_with_default (event, "kind", ""),
                        json_object_get_string_member_with_default (event, "message", ""));
      else if (g_str_equal (name, "xfer-cancelled"))
        g_test_message ("%s: transfer %s", peer->role,
                        json_object_get_string_member_with_default (event, "status", ""));
    }
}

/* @peer's user got exactly one error notice, @primary / @secondary
 * (libpurple's dialog in Pidgin, its window in Finch), or none when
 * @primary is NULL. */
void
e2e_assert_notice (E2ePeer *peer, const char *primary, const char *secondary)
{
  JsonObject *notice = bsp_test_events_find (peer->events, "notify", NULL);

  if (primary == NULL)
    {
      g_assert_null (notice);
      return;
    }
  g_assert_cmpuint (bsp_test_events_count (peer->events, "notify", NULL), ==, 1);
  g_assert_nonnull (notice);
  g_assert_cmpstr (json_object_get_string_member_with_default (notice, "primary", NULL), ==,
                   primary);
  g_assert_cmpstr (json_object_get_string_member_with_default (notice, "secondary", NULL), ==,
                   secondary);
}

/* @peer's conversation has exactly one line of @kind ("error" or
 * "system") that starts with @start; with @exact, it is that line. */
void
e2e_assert_line (E2ePeer *peer, const char *kind, const char *start, gboolean exact)
{
  guint found = 0;

  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *message;

      if (!g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          || g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), kind)
                 != 0)
        continue;
      message = json_object_get_string_member (event, "message");
      if (exact ? g_str_equal (message, start) : g_str_has_prefix (message, start))
        found++;
    }
  if (found != 1)
    g_test_message ("%s: %u %s line(s) \"%s\"", peer->role, found, kind, start);
  g_assert_cmpuint (found, ==, 1);
}

/* The conversation of @peer says once which path @file takes: @how is
 * the line after the file's name, up to its varying end (a JID). */
void
e2e_assert_path (E2ePeer *peer, const E2eFile *file, const char *how)
{
  g_autofree char *start = g_strdup_printf ("%s %s", file->name, how);
  guint lines = 0;

  e2e_assert_line (peer, "system", start, FALSE);
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);
      const char *message = json_object_get_string_member_with_default (event, "message", "");

      if (g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          && g_str_has_prefix (message, file->name) && strstr (message, " goes ") != NULL)
        lines++;
    }
  g_assert_cmpuint (lines, ==, 1);
}

/* The conversation of @peer has no error line at all but @except. */
void
e2e_assert_only_error_line (E2ePeer *peer, const char *except)
{
  for (guint i = 0; i < peer->events->len; i++)
    {
      JsonObject *event = g_ptr_array_index (peer->events, i);

      if (g_str_equal (json_object_get_string_member (event, "event"), "conversation")
          && g_strcmp0 (json_object_get_string_member_with_default (event, "kind", NULL), "error")
                 == 0)
        g_assert_cmpstr (json_object_get_string_member (event, "message"), ==, except);
    }
}

/* @peer's user cancelled: libpurple's own "You cancelled…" line, nothing
 * else; the other side, @other, sees libpurple's own remote cancel (the
 * same words libpurple uses for its own transfers) and no socket error. */
void
e2e_assert_user_cancel_seen (E2ePeer *peer, E2ePeer *other, const char *user, const E2eFile *file,
                             gboolean plugin)
{
  g_autofree char *mine = g_strdup_printf ("You cancelled the transfer of %s", file->name);
  g_autofree char *theirs = g_strdup_printf ("%s cancelled the transfer of %s", user, file->name);
  g_autofree char *heading
      = g_strdup_printf (g_str_equal (other->role, "alice") ? "File transfer to %s failed."
                                                            : "File transfer from %s failed.",
                         user);

  e2e_assert_cancelled (peer, "cancel-local");
  e2e_assert_notice (peer, NULL, NULL);
  e2e_assert_only_error_line (peer, NULL);
  e2e_assert_line (peer, "system", mine, TRUE);
  if (plugin)
    {
      e2e_assert_path (peer, file, E2E_PATH_HTTP);
      e2e_assert_path (other, file, E2E_PATH_HTTP);
      /* the other side learnt it from the proxy's <ended/>, not by guessing */
      g_assert_true (e2e_driver_log_contains (other, g_str_equal (user, "alice")
                                                         ? "says it ended: sender-cancelled"
                                                         : "says it ended: receiver-cancelled"));
    }

  e2e_assert_cancelled (other, "cancel-remote");
  e2e_assert_notice (other, heading, theirs);
  e2e_assert_only_error_line (other, theirs);
  e2e_assert_line (other, "error", theirs, TRUE);
}

/* bob's copy of @file is absent or shorter: never a whole file on a
 * failed path. */
void
e2e_assert_not_received (E2eFixture *fixture, const E2eFile *file)
{
  g_autofree char *path = g_build_filename (fixture->accept_dir, file->name, NULL);
  GStatBuf st;

  if (g_stat (path, &st) == 0)
    g_assert_cmpint (st.st_size, <, file->size);
  else
    g_assert_cmpint (errno, ==, ENOENT);
}

void
e2e_assert_received (E2eFixture *fixture, const E2eFile *file, E2ePeer *bob)
{
  g_autofree char *path = g_build_filename (fixture->accept_dir, file->name, NULL);
  g_autofree char *sha256 = NULL;
  JsonObject *done;
  goffset size;

  done = bsp_test_events_find (bob->events, "xfer-completed", NULL);
  g_assert_nonnull (done);
  g_assert_cmpstr (json_object_get_string_member_with_default (done, "path", NULL), ==, path);

  sha256 = e2e_sha256_file (path, &size);
  g_assert_nonnull (sha256);
  g_assert_cmpint (size, ==, file->size);
  g_assert_cmpstr (sha256, ==, file->sha256);
}

/* The server's log: exactly one session went active, and it paired
 * alice by @initiator_via with bob by @target_via. Its lines read
 * "session 0123abcd… active: I (HTTP) → T (SOCKS5)"; the ellipsis and
 * the arrow depend on the locale's charset, so only the ASCII parts are
 * compared. */
void
e2e_assert_session (E2eFixture *fixture, const char *initiator_via, const char *target_via)
{
  g_autofree char *log = NULL;
  g_autofree char *initiator = NULL;
  g_autofree char *target = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  const char *active = NULL;
  guint count = 0;

  g_file_get_contents (fixture->server_log, &log, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (log, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      const char *found = strstr (*line, " active: ");

      if (found == NULL)
        continue;
      count++;
      active = found + strlen (" active: ");
    }
  if (count != 1)
    g_test_message ("server log:\n%s", log);
  g_assert_cmpuint (count, ==, 1);

  initiator = g_strdup_printf (E2E_ALICE " (%s) ", initiator_via);
  target = g_strdup_printf (" " E2E_BOB " (%s)", target_via);
  g_test_message ("the proxy paired them: %s", active);
  g_assert_true (g_str_has_prefix (active, initiator));
  g_assert_true (g_str_has_suffix (active, target));
}

gboolean
e2e_driver_log_contains (E2ePeer *peer, const char *needle)
{
  g_autofree char *log = NULL;

  return g_file_get_contents (peer->log_path, &log, NULL, NULL) && strstr (log, needle) != NULL;
}
