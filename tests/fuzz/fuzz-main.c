/* fuzz-main.c — replays a fuzz corpus once, for builds without libFuzzer
 *
 * Linked with any fuzz target in place of libFuzzer's main (). Every file
 * named on the command line, and every file in every directory named there,
 * goes through LLVMFuzzerTestOneInput () once, in sorted order, in a buffer
 * of exactly its size (so that sanitizers see over-reads). The result is
 * TAP: a crash or an abort () in the target fails the test.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
fuzz_main_compare (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Adds @path, or the regular files directly inside it, to @files. */
static gboolean
fuzz_main_collect (const char *path, GPtrArray *files, GError **error)
{
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) found = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return TRUE;
    }

  dir = g_dir_open (path, 0, error);
  if (dir == NULL)
    return FALSE;
  found = g_ptr_array_new ();
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *file = g_build_filename (path, name, NULL);

      if (name[0] != '.' && g_file_test (file, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (found, file);
      else
        g_free (file);
    }
  g_ptr_array_sort (found, fuzz_main_compare);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (files, found->pdata[i]);
  return TRUE;
}

int
main (int argc, char *argv[])
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  guint failed = 0;

  if (argc < 2)
    {
      fprintf (stderr,
               "Usage: %s CORPUS-DIR-OR-FILE...\n"
               "Runs every input once through the fuzz target; prints TAP.\n",
               argv[0]);
      return 2;
    }

  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!fuzz_main_collect (argv[i], files, &error))
        {
          printf ("Bail out! %s\n", error->message);
          return 1;
        }
    }

  if (files->len == 0)
    {
      printf ("1..0 # SKIP no corpus files\n");
      return 0;
    }

  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *file = files->pdata[i];
      g_autofree char *base = g_path_get_basename (file);
      g_autoptr (GError) error = NULL;
      g_autofree char *contents = NULL;
      g_autofree guint8 *exact = NULL;
      gsize len = 0;

      if (!g_file_get_contents (file, &contents, &len, &error))
        {
          printf ("not ok %u - %s # %s\n", i + 1, base, error->message);
          failed++;
          continue;
        }
      /* Say what runs before running it: a crash ends the output here. */
      printf ("# %s (%" G_GSIZE_FORMAT " bytes)\n", file, len);
      fflush (stdout);

      exact = g_memdup2 (contents, len);
      LLVMFuzzerTestOneInput (exact, len);
      printf ("ok %u - %s\n", i + 1, base);
      fflush (stdout);
    }
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
