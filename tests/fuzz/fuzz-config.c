/* fuzz-config.c — fuzz target for the JSON configuration reader
 *
 * The input is a configuration file. It is read into a fresh configuration
 * and the settings are checked (pts_config_finish()); checked: either
 * succeeds or fails with an error of the configuration's domain and a
 * message, never both, never neither; a configuration that passed has its
 * invariants (a domain, a proxy JID, ports in range).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "pts-config.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_config_fail (const char *what)
{
  fprintf (stderr, "fuzz-config: %s\n", what);
  abort ();
}

#define FUZZ_CONFIG_CHECK(cond)                                                                    \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (!(cond))                                                                                   \
      fuzz_config_fail (#cond);                                                                    \
  }                                                                                                \
  G_STMT_END

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (PtsConfig) config = pts_config_new ();
  g_autoptr (GError) error = NULL;
  gboolean ok;

  /* A user file or secret file named by the input is read like any file:
   * keep the fuzzer from reading the machine's. */
  ok = pts_config_load_json_data (config, (const char *) data, size, "fuzz.json", &error);
  if (ok)
    {
      g_clear_pointer (&config->user_file, g_free);
      g_clear_pointer (&config->component_secret_file, g_free);
      ok = pts_config_finish (config, &error);
    }
  FUZZ_CONFIG_CHECK (ok == (error == NULL));
  if (!ok)
    {
      FUZZ_CONFIG_CHECK (error->message != NULL && *error->message != '\0');
      return 0;
    }
  FUZZ_CONFIG_CHECK (config->domain != NULL && config->proxy_jid != NULL);
  FUZZ_CONFIG_CHECK (config->c2s_port >= 0 && config->c2s_port <= 65535);
  FUZZ_CONFIG_CHECK (config->http_port >= -1 && config->http_port <= 65535);
  FUZZ_CONFIG_CHECK (config->buffer_size >= 4096);
  return 0;
}
