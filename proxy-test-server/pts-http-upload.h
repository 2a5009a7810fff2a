/* pts-http-upload.h — the sender's HTTP upload as a relay source
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#pragma once

#include "pts-http-request.h"
#include "pts-relay.h"

G_BEGIN_DECLS

/* The upload of one session: a POST whose multipart/form-data body has
 * the SIDHASH part (equal to @sidhash) before the FILE part, which streams
 * into the relay. @max_size 0 = no limit. */
PtsEndpoint *pts_http_upload_new (const char *sidhash, gint64 max_size);
gboolean pts_http_endpoint_is_upload (PtsEndpoint *ep);

/* Whether a POST with this head may go to the upload: 0, or the status to
 * refuse it with. A refusal that is the session's own (413) ends the
 * session too; the others leave it to its rightful sender (PROTOCOL.md
 * §5.2). @boundary NULL: not multipart/form-data. */
guint pts_http_upload_check (PtsEndpoint *ep, const char *boundary, gint64 content_length);
/* Hands the upload its request (after pts_http_upload_check() said 0). */
void pts_http_upload_attach (PtsEndpoint *ep, PtsHttpRequest *request, const char *boundary);

/* The file's size as the upload shows it so far (for progress), or -1. */
gint64 pts_http_upload_get_total (PtsEndpoint *ep);

/* The status a failed transfer is answered with. */
guint pts_http_status_for_error (const GError *error);

G_END_DECLS
