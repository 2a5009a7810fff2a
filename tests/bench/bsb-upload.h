/* bsb-upload.h — XEP-0363 HTTP File Upload, timed: the alternative to a bytestream
 *
 * Finds the upload service in the server's disco#items (the item whose
 * disco#info has the feature urn:xmpp:http:upload:0), asks it for a slot,
 * PUTs the file to the slot's PUT URL with the headers the slot names, then
 * GETs it from the GET URL, checking every byte. The clock runs from the
 * slot request to the download's last byte: the time a receiver waits for a
 * delivered file, as with a bytestream.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include <glib.h>

#include "bsb-xmpp.h"

G_BEGIN_DECLS

typedef struct
{
  double seconds;     /* slot request → last byte downloaded */
  double put_seconds; /* of which the upload (slot granted → 201) */
  guint64 bytes;      /* verified bytes */
} BsbUploadResult;

gboolean bsb_upload_run (BsbXmpp *xmpp, const char *domain, guint64 size, guint64 seed,
                         gsize buf_size, int timeout_s, BsbUploadResult *result, GError **error);

G_END_DECLS
