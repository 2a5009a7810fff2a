/* bsb-http.c — the HTTP/1.1 clients of the benchmark, on raw sockets or TLS
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsb-conn.h"
#include "bsb-http.h"
#include "bsb-net.h"
#include "bsb-stream.h"

#define BSB_HTTP_MAX_HEAD 16384
#define BSB_HTTP_BOUNDARY "bsb-bench-7f3c2a91d04e6b58"

gboolean
bsb_http_parse_url (const char *url, gboolean *tls, char **host, guint16 *port, char **path,
                    GError **error)
{
  const char *rest, *slash;
  g_autofree char *authority = NULL;

  if (url != NULL && g_str_has_prefix (url, "http://"))
    *tls = FALSE;
  else if (url != NULL && g_str_has_prefix (url, "https://"))
    *tls = TRUE;
  else
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "not an http:// or https:// URL: %s",
                   url ? url : "(null)");
      return FALSE;
    }
  rest = strstr (url, "://") + 3;
  slash = strchr (rest, '/');
  authority = slash ? g_strndup (rest, slash - rest) : g_strdup (rest);
  if (strchr (authority, ':') == NULL)
    {
      *host = g_strdup (authority);
      *port = *tls ? 443 : 80;
    }
  else if (!bsb_net_parse_address (authority, host, port, error))
    return FALSE;
  *path = g_strdup (slash ? slash : "/");
  return TRUE;
}

/* Reads the response head into @buf; returns its length (through the empty
 * line) and the bytes read in *@filled, or 0 on error. */
static gsize
bsb_http_read_head (BsbConn *conn, char *buf, gsize cap, gsize *filled, GError **error)
{
  gsize len = 0;

  cap = MIN (cap, (gsize) BSB_HTTP_MAX_HEAD);
  while (len < cap)
    {
      gssize n = bsb_conn_read (conn, buf + len, cap - len, error);
      char *end;

      if (n < 0)
        return 0;
      if (n == 0)
        {
          g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                               "the HTTP server closed the connection before answering");
          return 0;
        }
      len += n;
      end = g_strstr_len (buf, len, "\r\n\r\n");
      if (end != NULL)
        {
          *filled = len;
          return (gsize) (end - buf) + 4;
        }
    }
  g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "HTTP response head too long");
  return 0;
}

static guint
bsb_http_status (const char *head)
{
  if (!g_str_has_prefix (head, "HTTP/1.1 ") && !g_str_has_prefix (head, "HTTP/1.0 "))
    return 0;
  return (guint) strtoul (head + 9, NULL, 10);
}

/* The value of header @name in @head (which ends with an empty line). */
static char *
bsb_http_header (const char *head, const char *name)
{
  gsize nlen = strlen (name);

  for (const char *line = strstr (head, "\r\n"); line != NULL; line = strstr (line, "\r\n"))
    {
      const char *eol;
      line += 2;
      eol = strstr (line, "\r\n");
      if (eol == NULL || eol == line)
        return NULL;
      if ((gsize) (eol - line) > nlen && line[nlen] == ':'
          && g_ascii_strncasecmp (line, name, nlen) == 0)
        return g_strstrip (g_strndup (line + nlen + 1, eol - line - nlen - 1));
    }
  return NULL;
}

/* Sends @head, then @size bytes of the stream @seed, then @trailer on a
 * new connection to @host:@port, and reads the answer's head: TRUE when
 * its status is @want. */
static gboolean
bsb_http_send (const char *what, gboolean tls, const char *host, guint16 port, const char *head,
               guint64 seed, guint64 size, const char *trailer, gsize buf_size, guint want,
               int timeout_s, BsbSocketSlot *slot, GError **error)
{
  g_autoptr (BsbConn) conn = NULL;
  g_autofree guint8 *buf = NULL;
  gsize head_len, filled = 0;
  guint status;
  gboolean ok = FALSE;

  conn = bsb_conn_open (host, port, tls, timeout_s, error);
  if (conn == NULL)
    return FALSE;
  buf = g_malloc (buf_size);
  if (!bsb_socket_slot_set (slot, bsb_conn_get_fd (conn), error))
    goto out;
  if (!bsb_conn_write_all (conn, head, strlen (head), error))
    goto out;
  for (guint64 off = 0; off < size;)
    {
      gsize n = (gsize) MIN ((guint64) buf_size, size - off);
      bsb_stream_fill (seed, off, buf, n);
      if (!bsb_conn_write_all (conn, buf, n, error))
        {
          g_prefix_error (error, "%s after %" G_GUINT64_FORMAT " bytes: ", what, off);
          goto out;
        }
      off += n;
    }
  if (!bsb_conn_write_all (conn, trailer, strlen (trailer), error))
    goto out;

  head_len = bsb_http_read_head (conn, (char *) buf, buf_size - 1, &filled, error);
  if (head_len == 0)
    goto out;
  buf[head_len] = '\0';
  status = bsb_http_status ((const char *) buf);
  if (status != want)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "%s answered %u: %.300s", what, status,
                   (const char *) buf);
      goto out;
    }
  ok = TRUE;

out:
  bsb_socket_slot_unset (slot);
  return ok;
}

gboolean
bsb_http_upload (const char *url, const char *sidhash, guint64 seed, guint64 size, gsize buf_size,
                 gboolean part_length, int timeout_s, BsbSocketSlot *slot, GError **error)
{
  g_autofree char *host = NULL;
  g_autofree char *path = NULL;
  g_autofree char *prefix = NULL;
  g_autofree char *head = NULL;
  g_autofree char *file_length = NULL;
  const char *trailer = "\r\n--" BSB_HTTP_BOUNDARY "--\r\n";
  gboolean tls;
  guint16 port;

  if (!bsb_http_parse_url (url, &tls, &host, &port, &path, error))
    return FALSE;
  if (part_length)
    file_length = g_strdup_printf ("Content-Length: %" G_GUINT64_FORMAT "\r\n", size);
  prefix = g_strdup_printf ("--" BSB_HTTP_BOUNDARY "\r\n"
                            "Content-Disposition: form-data; name=\"SIDHASH\"\r\n"
                            "\r\n"
                            "%s\r\n"
                            "--" BSB_HTTP_BOUNDARY "\r\n"
                            "Content-Disposition: form-data; name=\"FILE\"; filename=\"x\"\r\n"
                            "Content-Type: application/octet-stream\r\n"
                            "%s"
                            "\r\n",
                            sidhash, file_length ? file_length : "");
  head = g_strdup_printf ("POST %s HTTP/1.1\r\n"
                          "Host: %s:%u\r\n"
                          "Content-Type: multipart/form-data; boundary=" BSB_HTTP_BOUNDARY "\r\n"
                          "Content-Length: %" G_GUINT64_FORMAT "\r\n"
                          "Connection: close\r\n"
                          "\r\n"
                          "%s",
                          path, host, port, strlen (prefix) + size + strlen (trailer), prefix);
  /* The answer comes once the receiver has everything. */
  return bsb_http_send ("upload", tls, host, port, head, seed, size, trailer, buf_size, 200,
                        timeout_s, slot, error);
}

gboolean
bsb_http_put (const char *url, const char *extra_headers, guint64 seed, guint64 size,
              gsize buf_size, int timeout_s, BsbSocketSlot *slot, GError **error)
{
  g_autofree char *host = NULL;
  g_autofree char *path = NULL;
  g_autofree char *head = NULL;
  gboolean tls;
  guint16 port;

  if (!bsb_http_parse_url (url, &tls, &host, &port, &path, error))
    return FALSE;
  head = g_strdup_printf ("PUT %s HTTP/1.1\r\n"
                          "Host: %s:%u\r\n"
                          "Content-Type: application/octet-stream\r\n"
                          "Content-Length: %" G_GUINT64_FORMAT "\r\n"
                          "%s"
                          "Connection: close\r\n"
                          "\r\n",
                          path, host, port, size, extra_headers ? extra_headers : "");
  return bsb_http_send ("PUT", tls, host, port, head, seed, size, "", buf_size, 201, timeout_s,
                        slot, error);
}

typedef enum
{
  BSB_CHUNK_SIZE,
  BSB_CHUNK_DATA,
  BSB_CHUNK_DATA_END, /* the CRLF after a chunk's data */
  BSB_CHUNK_TRAILER,
  BSB_CHUNK_DONE,
} BsbChunkState;

typedef struct
{
  BsbChunkState state;
  char line[128];
  gsize line_len;
  guint64 left; /* of the current chunk */
} BsbChunked;

/* Feeds raw body bytes through the chunked decoder into @check. */
static gboolean
bsb_http_chunked_feed (BsbChunked *dec, BsbStreamCheck *check, const guint8 *data, gsize len,
                       guint64 size, gint64 *last_byte_us, GError **error)
{
  gsize i = 0;

  while (i < len && dec->state != BSB_CHUNK_DONE)
    {
      if (dec->state == BSB_CHUNK_DATA)
        {
          gsize n = (gsize) MIN ((guint64) (len - i), dec->left);
          bsb_stream_check_feed (check, data + i, n);
          if (check->offset > size)
            {
              g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                           "the download is longer than %" G_GUINT64_FORMAT " bytes", size);
              return FALSE;
            }
          if (check->offset == size)
            *last_byte_us = g_get_monotonic_time ();
          dec->left -= n;
          i += n;
          if (dec->left == 0)
            {
              dec->state = BSB_CHUNK_DATA_END;
              dec->line_len = 0;
            }
          continue;
        }
      /* Line-oriented states. */
      if (data[i] != '\n')
        {
          if (dec->line_len >= sizeof dec->line - 1)
            {
              g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                                   "chunk framing line too long");
              return FALSE;
            }
          dec->line[dec->line_len++] = (char) data[i++];
          continue;
        }
      i++;
      if (dec->line_len > 0 && dec->line[dec->line_len - 1] == '\r')
        dec->line_len--;
      dec->line[dec->line_len] = '\0';
      switch (dec->state)
        {
        case BSB_CHUNK_SIZE:
          {
            char *end = NULL;
            guint64 n = g_ascii_strtoull (dec->line, &end, 16);
            if (end == dec->line)
              {
                g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "bad chunk size line \"%s\"",
                             dec->line);
                return FALSE;
              }
            dec->left = n;
            dec->state = n == 0 ? BSB_CHUNK_TRAILER : BSB_CHUNK_DATA;
          }
          break;
        case BSB_CHUNK_DATA_END:
          if (dec->line_len != 0)
            {
              g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                                   "no line end after a chunk");
              return FALSE;
            }
          dec->state = BSB_CHUNK_SIZE;
          break;
        case BSB_CHUNK_TRAILER:
          if (dec->line_len == 0)
            dec->state = BSB_CHUNK_DONE;
          break;
        case BSB_CHUNK_DATA:
        case BSB_CHUNK_DONE: break;
        }
      dec->line_len = 0;
    }
  return TRUE;
}

gboolean
bsb_http_download (const char *url, guint64 seed, guint64 size, gsize buf_size, int timeout_s,
                   BsbSocketSlot *slot, gint64 *last_byte_us, GError **error)
{
  g_autofree char *host = NULL;
  g_autofree char *path = NULL;
  g_autofree char *request = NULL;
  g_autofree char *length = NULL;
  g_autofree char *coding = NULL;
  g_autofree guint8 *buf = NULL;
  BsbStreamCheck check;
  BsbChunked dec = { 0 };
  gboolean chunked;
  guint64 expected = 0;
  g_autoptr (BsbConn) conn = NULL;
  gboolean tls;
  guint16 port;
  gsize head_len, filled = 0;
  guint status;
  gboolean ok = FALSE;

  if (!bsb_http_parse_url (url, &tls, &host, &port, &path, error))
    return FALSE;
  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: %s:%u\r\n"
                             "Connection: close\r\n"
                             "\r\n",
                             path, host, port);
  conn = bsb_conn_open (host, port, tls, timeout_s, error);
  if (conn == NULL)
    return FALSE;
  buf = g_malloc (buf_size + 1);
  bsb_stream_check_init (&check, seed);
  *last_byte_us = 0;
  if (!bsb_socket_slot_set (slot, bsb_conn_get_fd (conn), error))
    goto out;
  if (!bsb_conn_write_all (conn, request, strlen (request), error))
    goto out;
  head_len = bsb_http_read_head (conn, (char *) buf, buf_size, &filled, error);
  if (head_len == 0)
    goto out;
  {
    char saved = (char) buf[head_len];
    buf[head_len] = '\0';
    status = bsb_http_status ((const char *) buf);
    length = bsb_http_header ((const char *) buf, "Content-Length");
    coding = bsb_http_header ((const char *) buf, "Transfer-Encoding");
    if (status != 200)
      {
        g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "download answered %u: %.300s", status,
                     (const char *) buf);
        goto out;
      }
    buf[head_len] = (guint8) saved;
  }
  chunked = coding != NULL && g_ascii_strcasecmp (coding, "chunked") == 0;
  if (!chunked)
    {
      if (length == NULL)
        {
          g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                               "download with neither Content-Length nor chunked coding");
          goto out;
        }
      expected = g_ascii_strtoull (length, NULL, 10);
      if (expected != size)
        {
          g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                       "download announces %" G_GUINT64_FORMAT " bytes, not %" G_GUINT64_FORMAT,
                       expected, size);
          goto out;
        }
    }

  /* The body: what came with the head, then the rest. */
  {
    const guint8 *data = buf + head_len;
    gsize n = filled - head_len;

    for (;;)
      {
        gssize r;

        if (chunked)
          {
            if (!bsb_http_chunked_feed (&dec, &check, data, n, size, last_byte_us, error))
              goto out;
            if (dec.state == BSB_CHUNK_DONE)
              break;
          }
        else
          {
            if (check.offset + n > size)
              {
                g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
                                     "more bytes than Content-Length");
                goto out;
              }
            bsb_stream_check_feed (&check, data, n);
            if (check.offset == size)
              {
                *last_byte_us = g_get_monotonic_time ();
                break;
              }
          }
        r = bsb_conn_read (conn, buf, buf_size, error);
        if (r < 0)
          goto out;
        if (r == 0)
          {
            g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                         "the download ended after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                         " bytes",
                         check.offset, size);
            goto out;
          }
        data = buf;
        n = (gsize) r;
      }
  }
  if (check.offset != size)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                   "downloaded %" G_GUINT64_FORMAT " bytes, expected %" G_GUINT64_FORMAT,
                   check.offset, size);
      goto out;
    }
  if (!check.ok)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_VERIFY,
                   "the download differs from what was sent at byte %" G_GUINT64_FORMAT,
                   check.bad_offset);
      goto out;
    }
  ok = TRUE;

out:
  bsb_socket_slot_unset (slot);
  return ok;
}
