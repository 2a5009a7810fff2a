/* pts-multipart.c — an incremental multipart/form-data parser (RFC 7578, RFC 2046 §5.1)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "pts-multipart.h"

G_DEFINE_QUARK (pts - multipart - error - quark, pts_multipart_error)

#define PTS_MULTIPART_MAX_HEADERS (16 * 1024)
#define PTS_MULTIPART_MAX_BOUNDARY 70

typedef enum
{
  PTS_MP_PREAMBLE,    /* discarding until the first delimiter */
  PTS_MP_AFTER_DELIM, /* "--" (close), or padding and a line end */
  PTS_MP_AFTER_DASH,  /* saw one '-' after a delimiter */
  PTS_MP_AFTER_CR,    /* saw CR after a delimiter */
  PTS_MP_HEADERS,
  PTS_MP_BODY,
  PTS_MP_EPILOGUE,
  PTS_MP_FAILED,
} PtsMultipartState;

struct _PtsMultipart
{
  PtsMultipartCallbacks callbacks;
  gpointer user_data;
  char *delim; /* CRLF "--" boundary */
  gsize delim_len;
  gsize boundary_len;
  PtsMultipartState state;
  guint8 carry[2 + 2 + PTS_MULTIPART_MAX_BOUNDARY]; /* a delimiter prefix held back */
  gsize carry_len;
  GString *headers;
  guint64 offset;    /* body bytes consumed */
  guint64 body_left; /* of a part that declared its Content-Length: not scanned */
};

PtsMultipart *
pts_multipart_new (const char *boundary, const PtsMultipartCallbacks *callbacks, gpointer user_data)
{
  PtsMultipart *self;
  gsize blen = boundary ? strlen (boundary) : 0;

  if (blen == 0 || blen > PTS_MULTIPART_MAX_BOUNDARY)
    return NULL;
  self = g_new0 (PtsMultipart, 1);
  self->callbacks = *callbacks;
  self->user_data = user_data;
  self->delim = g_strconcat ("\r\n--", boundary, NULL);
  self->delim_len = blen + 4;
  self->boundary_len = blen;
  self->headers = g_string_new (NULL);
  /* The first delimiter may open the body without a line end before it:
   * pretend one was there. */
  self->state = PTS_MP_PREAMBLE;
  memcpy (self->carry, "\r\n", 2);
  self->carry_len = 2;
  return self;
}

void
pts_multipart_free (PtsMultipart *self)
{
  if (self == NULL)
    return;
  g_free (self->delim);
  g_string_free (self->headers, TRUE);
  g_free (self);
}

gboolean
pts_multipart_is_done (PtsMultipart *self)
{
  return self->state == PTS_MP_EPILOGUE;
}

guint64
pts_multipart_declared_left (PtsMultipart *self)
{
  return self->state == PTS_MP_BODY ? self->body_left : 0;
}

void
pts_multipart_skip_declared (PtsMultipart *self, guint64 n)
{
  g_return_if_fail (self->state == PTS_MP_BODY && n <= self->body_left);
  self->body_left -= n;
  self->offset += n;
}

gsize
pts_multipart_trailer_length (PtsMultipart *self)
{
  return self->delim_len + 2 + 2;
}

static gboolean
pts_multipart_fail (PtsMultipart *self, GError **error, PtsMultipartError code, const char *message)
{
  self->state = PTS_MP_FAILED;
  g_set_error_literal (error, PTS_MULTIPART_ERROR, code, message);
  return FALSE;
}

/* Body bytes of the current part (or preamble, which is dropped). */
static gboolean
pts_multipart_emit (PtsMultipart *self, const guint8 *data, gsize len, GError **error)
{
  if (len == 0 || self->state != PTS_MP_BODY)
    return TRUE;
  if (self->callbacks.part_data != NULL
      && !self->callbacks.part_data (self->user_data, data, len, error))
    {
      self->state = PTS_MP_FAILED;
      return FALSE;
    }
  return TRUE;
}

static gboolean
pts_multipart_delimiter_found (PtsMultipart *self, GError **error)
{
  if (self->state == PTS_MP_BODY && self->callbacks.part_end != NULL
      && !self->callbacks.part_end (self->user_data, error))
    {
      self->state = PTS_MP_FAILED;
      return FALSE;
    }
  self->state = PTS_MP_AFTER_DELIM;
  return TRUE;
}

/* The length of the longest suffix of @data that is a proper prefix of the
 * delimiter: those bytes must wait for the next read. */
static gsize
pts_multipart_partial_suffix (PtsMultipart *self, const guint8 *data, gsize len)
{
  gsize max = MIN (len, self->delim_len - 1);

  for (gsize k = max; k > 0; k--)
    if (data[len - k] == '\r' && memcmp (data + len - k, self->delim, k) == 0)
      return k;
  return 0;
}

/* Scans body (or preamble) bytes for the delimiter. Returns the number of
 * input bytes consumed, or -1 on error. */
static gssize
pts_multipart_scan (PtsMultipart *self, const guint8 *data, gsize len, GError **error)
{
  const guint8 *hit;
  gsize keep;

  if (self->carry_len > 0)
    {
      /* Does a delimiter start inside the held-back bytes? */
      guint8 tmp[sizeof self->carry * 2];
      gsize take = MIN (len, self->delim_len);
      gsize tlen = self->carry_len + take;

      memcpy (tmp, self->carry, self->carry_len);
      memcpy (tmp + self->carry_len, data, take);
      for (gsize i = 0; i < self->carry_len; i++)
        {
          gsize m = MIN (self->delim_len, tlen - i);
          if (memcmp (tmp + i, self->delim, m) != 0)
            continue;
          if (m == self->delim_len)
            {
              gsize used = i + self->delim_len - self->carry_len;
              if (!pts_multipart_emit (self, tmp, i, error))
                return -1;
              self->carry_len = 0;
              if (!pts_multipart_delimiter_found (self, error))
                return -1;
              return (gssize) used;
            }
          /* Still a prefix, and the input is used up. */
          if (!pts_multipart_emit (self, tmp, i, error))
            return -1;
          memmove (self->carry, tmp + i, tlen - i);
          self->carry_len = tlen - i;
          return (gssize) len;
        }
      if (!pts_multipart_emit (self, self->carry, self->carry_len, error))
        return -1;
      self->carry_len = 0;
    }

  hit = memmem (data, len, self->delim, self->delim_len);
  if (hit != NULL)
    {
      gsize before = hit - data;
      if (!pts_multipart_emit (self, data, before, error))
        return -1;
      if (!pts_multipart_delimiter_found (self, error))
        return -1;
      return (gssize) (before + self->delim_len);
    }
  keep = pts_multipart_partial_suffix (self, data, len);
  if (!pts_multipart_emit (self, data, len - keep, error))
    return -1;
  memcpy (self->carry, data + len - keep, keep);
  self->carry_len = keep;
  return (gssize) len;
}

static gboolean
pts_multipart_parse_headers (PtsMultipart *self, GError **error)
{
  g_autoptr (SoupMessageHeaders) headers
      = soup_message_headers_new (SOUP_MESSAGE_HEADERS_MULTIPART);
  g_autoptr (GHashTable) params = NULL;
  g_autofree char *disposition = NULL;
  g_autofree char *raw = NULL;
  PtsMultipartPart part = { NULL, NULL, NULL, -1 };
  const char *cl;

  /* soup_headers_parse() would read only up to a NUL. */
  if (memchr (self->headers->str, '\0', self->headers->len) != NULL)
    return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED, "NUL in part headers");
  /* soup_headers_parse() skips a first (request or status) line, and takes
   * LF as the line end with CR as trailing space, so bare-LF parts work. */
  raw = g_strconcat ("\r\n", self->headers->str, NULL);
  if (!soup_headers_parse (raw, (int) strlen (raw), headers))
    return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                               "unreadable part headers");

  /* A disposition of parameters only ("name=x") comes back without a type. */
  if (!soup_message_headers_get_content_disposition (headers, &disposition, &params)
      || disposition == NULL || g_ascii_strcasecmp (disposition, "form-data") != 0)
    return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                               "part without Content-Disposition: form-data");
  part.name = g_hash_table_lookup (params, "name");
  if (part.name == NULL)
    return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                               "form-data part without a name");
  /* libsoup decodes filename* (RFC 5987) into "filename", preferring it. */
  part.filename = g_hash_table_lookup (params, "filename");
  part.content_type = soup_message_headers_get_one (headers, "Content-Type");
  cl = soup_message_headers_get_one (headers, "Content-Length");
  if (cl != NULL)
    {
      guint64 v;
      if (!g_ascii_string_to_unsigned (cl, 10, 0, G_MAXINT64, &v, NULL))
        return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                                   "bad Content-Length in a part");
      part.content_length = (gint64) v;
    }

  self->state = PTS_MP_BODY;
  if (self->callbacks.part_begin != NULL
      && !self->callbacks.part_begin (self->user_data, &part, self->offset, error))
    {
      self->state = PTS_MP_FAILED;
      return FALSE;
    }
  /* A part that says its length is taken at its word: its bytes are data,
   * not searched for the delimiter, which must then follow at once (any
   * byte before it is one more than declared: the owner's count sees it). */
  self->body_left = part.content_length > 0 ? (guint64) part.content_length : 0;
  return TRUE;
}

gboolean
pts_multipart_feed (PtsMultipart *self, const guint8 *data, gsize len, GError **error)
{
  if (self->state == PTS_MP_FAILED)
    return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                               "the body already failed to parse");
  while (len > 0)
    {
      gsize used = 0;

      switch (self->state)
        {
        case PTS_MP_PREAMBLE:
        case PTS_MP_BODY:
          {
            gssize n;

            if (self->body_left > 0)
              {
                used = (gsize) MIN ((guint64) len, self->body_left);
                if (!pts_multipart_emit (self, data, used, error))
                  return FALSE;
                self->body_left -= used;
                break;
              }
            n = pts_multipart_scan (self, data, len, error);
            if (n < 0)
              return FALSE;
            used = (gsize) n;
            break;
          }

        case PTS_MP_AFTER_DELIM:
          used = 1;
          if (data[0] == '-')
            self->state = PTS_MP_AFTER_DASH;
          else if (data[0] == '\r')
            self->state = PTS_MP_AFTER_CR;
          else if (data[0] == '\n')
            {
              g_string_truncate (self->headers, 0);
              self->state = PTS_MP_HEADERS;
            }
          else if (data[0] != ' ' && data[0] != '\t')
            return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                                       "garbage after a boundary");
          break;

        case PTS_MP_AFTER_DASH:
          if (data[0] != '-')
            return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                                       "garbage after a boundary");
          used = 1;
          self->state = PTS_MP_EPILOGUE;
          break;

        case PTS_MP_AFTER_CR:
          if (data[0] != '\n')
            return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                                       "CR without LF after a boundary");
          used = 1;
          g_string_truncate (self->headers, 0);
          self->state = PTS_MP_HEADERS;
          break;

        case PTS_MP_HEADERS:
          {
            /* Up to and including the empty line that ends the headers. */
            gsize i;
            for (i = 0; i < len; i++)
              {
                GString *h = self->headers;
                if (h->len >= PTS_MULTIPART_MAX_HEADERS)
                  return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_TOO_LARGE,
                                             "part headers too large");
                g_string_append_c (h, (char) data[i]);
                if (data[i] != '\n')
                  continue;
                /* An empty line: LF alone or CR LF, at the start or after
                 * a line end. */
                if (h->len == 1 || (h->len == 2 && h->str[0] == '\r')
                    || (h->len >= 2 && h->str[h->len - 2] == '\n')
                    || (h->len >= 3 && h->str[h->len - 2] == '\r' && h->str[h->len - 3] == '\n'))
                  break;
              }
            if (i == len)
              {
                used = len;
                break;
              }
            used = i + 1;
            self->offset += used;
            data += used;
            len -= used;
            if (!pts_multipart_parse_headers (self, error))
              return FALSE;
            continue;
          }

        case PTS_MP_EPILOGUE:
          used = len; /* ignored, as RFC 2046 says */
          break;

        case PTS_MP_FAILED:
          return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                                     "the body already failed to parse");
        }
      self->offset += used;
      data += used;
      len -= used;
    }
  return TRUE;
}

gboolean
pts_multipart_finish (PtsMultipart *self, GError **error)
{
  if (self->state == PTS_MP_EPILOGUE)
    return TRUE;
  if (self->state == PTS_MP_FAILED)
    return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_MALFORMED,
                               "the body already failed to parse");
  return pts_multipart_fail (self, error, PTS_MULTIPART_ERROR_TRUNCATED,
                             "the body ended before its closing boundary");
}
