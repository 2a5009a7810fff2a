/* bsb-upload.c — XEP-0363 HTTP File Upload, timed
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"

#include <string.h>

#include "bsb-http.h"
#include "bsb-net.h"
#include "bsb-upload.h"
#include "bsb-xml.h"

#define BSB_NS_UPLOAD "urn:xmpp:http:upload:0"
#define BSB_IQ_TIMEOUT_MS 30000

/* Whether the disco#info result @info lists the feature @var. */
static gboolean
bsb_upload_has_feature (const char *info, const char *var)
{
  for (const char *f = bsb_xml_find (info, "feature"); f != NULL;
       f = bsb_xml_find (f + 1, "feature"))
    {
      g_autofree char *v = bsb_xml_attr (f, "var");
      if (g_strcmp0 (v, var) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The JID of @domain's upload service, from disco#items and disco#info. */
static char *
bsb_upload_discover (BsbXmpp *xmpp, const char *domain, GError **error)
{
  g_autofree char *edomain = bsb_xml_escape (domain);
  g_autofree char *iq
      = g_strdup_printf ("<iq type='get' to='%s' id='u-items'>"
                         "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
                         edomain);
  g_autofree char *items = bsb_xmpp_iq (xmpp, iq, "u-items", BSB_IQ_TIMEOUT_MS, error);
  guint n = 0;

  if (items == NULL)
    return NULL;
  for (const char *it = bsb_xml_find (items, "item"); it != NULL && n < 64;
       it = bsb_xml_find (it + 1, "item"), n++)
    {
      g_autofree char *jid = bsb_xml_attr (it, "jid");
      g_autofree char *ejid = NULL;
      g_autofree char *req = NULL;
      g_autofree char *info = NULL;

      if (jid == NULL)
        continue;
      ejid = bsb_xml_escape (jid);
      req = g_strdup_printf ("<iq type='get' to='%s' id='u-info'>"
                             "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                             ejid);
      info = bsb_xmpp_iq (xmpp, req, "u-info", BSB_IQ_TIMEOUT_MS, NULL);
      if (info != NULL && bsb_upload_has_feature (info, BSB_NS_UPLOAD))
        return g_steal_pointer (&jid);
    }
  g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL,
               "no item of %s's disco#items offers " BSB_NS_UPLOAD, domain);
  return NULL;
}

/* The <header/>s of the slot's <put/> that XEP-0363 lets through, as
 * request header lines. */
static char *
bsb_upload_put_headers (const char *put, GError **error)
{
  g_autoptr (GString) lines = g_string_new (NULL);
  const char *end = strstr (put, "</put>");

  for (const char *h = bsb_xml_find (put, "header"); h != NULL && (end == NULL || h < end);
       h = bsb_xml_find (h + 1, "header"))
    {
      g_autofree char *name = bsb_xml_attr (h, "name");
      g_autofree char *value = bsb_xml_text (h);

      if (name == NULL || value == NULL || strpbrk (value, "\r\n") != NULL)
        {
          g_set_error_literal (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "a bad slot <header/>");
          return NULL;
        }
      /* XEP-0363 §5: only these may be set; anything else is dropped. */
      if (g_ascii_strcasecmp (name, "Authorization") != 0
          && g_ascii_strcasecmp (name, "Cookie") != 0 && g_ascii_strcasecmp (name, "Expires") != 0)
        continue;
      g_string_append_printf (lines, "%s: %s\r\n", name, value);
    }
  return g_string_free (g_steal_pointer (&lines), FALSE);
}

gboolean
bsb_upload_run (BsbXmpp *xmpp, const char *domain, guint64 size, guint64 seed, gsize buf_size,
                int timeout_s, BsbUploadResult *result, GError **error)
{
  g_autofree char *service = NULL;
  g_autofree char *eservice = NULL;
  g_autofree char *req = NULL;
  g_autofree char *slot = NULL;
  g_autofree char *put_url = NULL;
  g_autofree char *get_url = NULL;
  g_autofree char *headers = NULL;
  BsbSocketSlot sock;
  const char *put, *get;
  gint64 t0, t1, last_byte_us = 0;
  gboolean ok;

  memset (result, 0, sizeof *result);
  service = bsb_upload_discover (xmpp, domain, error);
  if (service == NULL)
    return FALSE;
  eservice = bsb_xml_escape (service);
  req = g_strdup_printf ("<iq type='get' to='%s' id='u-slot'>"
                         "<request xmlns='" BSB_NS_UPLOAD
                         "' filename='bench.bin' size='%" G_GUINT64_FORMAT
                         "' content-type='application/octet-stream'/></iq>",
                         eservice, size);

  t0 = g_get_monotonic_time ();
  slot = bsb_xmpp_iq (xmpp, req, "u-slot", BSB_IQ_TIMEOUT_MS, error);
  if (slot == NULL)
    {
      g_prefix_error (error, "slot request to %s: ", service);
      return FALSE;
    }
  put = bsb_xml_find (slot, "put");
  get = bsb_xml_find (slot, "get");
  put_url = put ? bsb_xml_attr (put, "url") : NULL;
  get_url = get ? bsb_xml_attr (get, "url") : NULL;
  if (put_url == NULL || get_url == NULL)
    {
      g_set_error (error, BSB_ERROR, BSB_ERROR_PROTOCOL, "a slot without PUT and GET URLs: %s",
                   slot);
      return FALSE;
    }
  headers = bsb_upload_put_headers (put, error);
  if (headers == NULL)
    return FALSE;

  bsb_socket_slot_init (&sock);
  t1 = g_get_monotonic_time ();
  ok = bsb_http_put (put_url, headers, seed, size, buf_size, timeout_s, &sock, error);
  result->put_seconds = (g_get_monotonic_time () - t1) / 1e6;
  if (!ok)
    g_prefix_error (error, "PUT %s: ", put_url);
  else if (!bsb_http_download (get_url, seed, size, buf_size, timeout_s, &sock, &last_byte_us,
                               error))
    {
      g_prefix_error (error, "GET %s: ", get_url);
      ok = FALSE;
    }
  bsb_socket_slot_clear (&sock);
  if (!ok)
    return FALSE;
  result->seconds = (last_byte_us - t0) / 1e6;
  result->bytes = size;
  return TRUE;
}
