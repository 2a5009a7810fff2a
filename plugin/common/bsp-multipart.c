/* bsp-multipart.c — the upload's framing and a file's name on the wire
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include "bsp-multipart.h"

char *
bsp_disposition_filename (const char *name)
{
  g_autofree char *escaped = g_uri_escape_string (name, NULL, FALSE);
  g_autoptr (GString) ascii = g_string_new (NULL);

  for (const char *p = name; *p; p++)
    g_string_append_c (
        ascii, (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '/') ? *p : '_');
  return g_strdup_printf ("filename=\"%s\"; filename*=UTF-8''%s", ascii->str, escaped);
}

char *
bsp_multipart_head (const char *boundary, const char *sidhash, const char *filename, guint64 size)
{
  g_autofree char *names = bsp_disposition_filename (filename);

  return g_strdup_printf ("--%s\r\n"
                          "Content-Disposition: form-data; name=\"SIDHASH\"\r\n"
                          "\r\n"
                          "%s\r\n"
                          "--%s\r\n"
                          "Content-Disposition: form-data; name=\"FILE\"; %s\r\n"
                          "Content-Type: application/octet-stream\r\n"
                          "Content-Length: %" G_GUINT64_FORMAT "\r\n"
                          "\r\n",
                          boundary, sidhash, boundary, names, size);
}

char *
bsp_multipart_tail (const char *boundary)
{
  return g_strdup_printf ("\r\n--%s--\r\n", boundary);
}
