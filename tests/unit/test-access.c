/* test-access.c — who may read the status page and use the proxy
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "pts-config.h"

typedef struct
{
  const char *address;
  gboolean allowed;
} StatusCase;

static void
test_status_readers (void)
{
  static const StatusCase cases[] = {
    { "127.0.0.1", TRUE },    { "127.8.9.10", TRUE },    { "::1", TRUE },
    { "10.1.2.3", TRUE },     { "10.1.3.3", FALSE },     { "192.0.2.7", TRUE },
    { "192.0.2.8", FALSE },   { "198.51.100.1", FALSE }, { "2001:db8::1", TRUE },
    { "2001:db9::1", FALSE },
  };
  g_autoptr (PtsConfig) config = pts_config_new ();
  g_autoptr (PtsConfig) closed = pts_config_new ();

  g_test_summary ("GET /status is for loopback, and for the addresses and networks "
                  "--status-allow names; no one else.");
  config->status_allow = g_strsplit ("10.1.2.0/24,192.0.2.7,2001:db8::/32", ",", -1);
  g_assert_true (pts_config_finish (config, NULL));
  g_assert_true (pts_config_finish (closed, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GInetAddress) address = g_inet_address_new_from_string (cases[i].address);

      g_assert_nonnull (address);
      g_test_message ("%s", cases[i].address);
      g_assert_cmpint (pts_config_may_read_status (config, address), ==, cases[i].allowed);
      /* Without --status-allow: loopback only. */
      g_assert_cmpint (pts_config_may_read_status (closed, address), ==,
                       g_inet_address_get_is_loopback (address));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unit/access/status", test_status_readers);
  return g_test_run ();
}
